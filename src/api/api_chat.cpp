// C ABI: chat templates. Checks and converts only; the interpreter is src/chat.
#include <cstring>

#include "api/guard.h"
#include "api/handles.h"
#include "api/params.h"
#include "chat/chat_template.h"

using namespace ttt;

namespace {

void chat_defaults(ttt_chat_params* p) {
    std::memset(p, 0, sizeof *p);
    p->struct_size = sizeof *p;
    p->add_generation_prompt = 1;
}

// Size-query protocol for text: report the size, copy when it fits, NUL-terminate when there is room.
void copy_text(const std::string& text, char* buf, size_t capacity, size_t* out_len) {
    *out_len = text.size();
    if (text.empty()) {
        if (buf && capacity > 0) buf[0] = '\0';
        return;
    }
    if (!buf || capacity < text.size())
        throw Error(TTT_ERR_BUFFER_TOO_SMALL, "the text needs " + std::to_string(text.size()) + " bytes, the buffer has " +
                                                  std::to_string(buf ? capacity : 0));
    std::memcpy(buf, text.data(), text.size());
    if (capacity > text.size()) buf[text.size()] = '\0';
}

}  // namespace

extern "C" {

TTT_API ttt_status TTT_CALL ttt_chat_params_init(ttt_chat_params* params, uint32_t struct_size) {
    return guarded("ttt_chat_params_init", [&] { init_params(params, struct_size, chat_defaults); });
}

TTT_API ttt_status TTT_CALL ttt_chat_apply_template(const ttt_model* model, const char* messages_json,
                                                    size_t messages_len, const ttt_chat_params* params, char* text,
                                                    size_t capacity, size_t* out_len) {
    return guarded("ttt_chat_apply_template", [&] {
        require_pointer(out_len, "out_len");
        *out_len = 0;
        require_pointer(messages_json, "messages_json");
        const ttt_chat_params p = read_params(params, chat_defaults, "params");
        if (p.add_generation_prompt != 0 && p.add_generation_prompt != 1)
            throw Error(TTT_ERR_INVALID_ARGUMENT, "params.add_generation_prompt must be 0 or 1");
        const chat::ChatConfig* own = nullptr;
        if (model) {
            check_model(model);
            own = &model->chat;
        }
        std::string template_text;
        if (p.chat_template) {
            template_text = p.chat_template;
        } else {
            if (!model) throw Error(TTT_ERR_NULL_POINTER, "argument 'model' is NULL and params.chat_template is not given");
            if (own->chat_template.empty())
                throw Error(TTT_ERR_UNSUPPORTED, "the model '" + model->loaded.source +
                                                     "' has no chat template (no tokenizer_config.json with \"chat_template\"); "
                                                     "pass one in params.chat_template");
            template_text = own->chat_template;
        }
        chat::ChatRequest r;
        r.messages_json = std::string_view(messages_json, messages_len);
        r.add_generation_prompt = p.add_generation_prompt != 0;
        r.bos_token = p.bos_token ? std::string(p.bos_token) : own ? own->bos_token : std::string();
        r.eos_token = p.eos_token ? std::string(p.eos_token) : own ? own->eos_token : std::string();
        if (p.extra_json) r.extra_json = p.extra_json;
        const chat::ChatTemplate tmpl(template_text);
        copy_text(tmpl.apply(r), text, capacity, out_len);
    });
}

TTT_API ttt_status TTT_CALL ttt_model_chat_template(const ttt_model* model, char* text, size_t capacity, size_t* out_len) {
    return guarded("ttt_model_chat_template", [&] {
        require_pointer(out_len, "out_len");
        *out_len = 0;
        check_model(model);
        copy_text(model->chat.chat_template, text, capacity, out_len);
    });
}

}  // extern "C"
