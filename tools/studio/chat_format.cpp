#include "chat_format.h"

#include "http_error.h"
#include "json_body.h"

namespace studio {

bool model_has_chat_template(const ttt_model* model) {
    size_t n = 0;  // a size query: TTT_ERR_BUFFER_TOO_SMALL with the length when there is a template, 0 when none
    const ttt_status s = ttt_model_chat_template(model, nullptr, 0, &n);
    return (s == TTT_OK || s == TTT_ERR_BUFFER_TOO_SMALL) && n > 0;
}

std::string TemplateConversation::prompt_for(const ttt_model* model, const std::string& message) {
    messages.emplace_back("user", message);
    std::string j = "[";
    for (const auto& m : messages)
        j += std::string(j.size() > 1 ? "," : "") + JsonOut().str("role", m.first).str("content", m.second).done();
    j += "]";
    size_t n = 0;
    std::string full;
    ttt_status s = ttt_chat_apply_template(model, j.data(), j.size(), nullptr, nullptr, 0, &n);
    if (s == TTT_ERR_BUFFER_TOO_SMALL) {
        full.resize(n + 1);
        s = ttt_chat_apply_template(model, j.data(), j.size(), nullptr, &full[0], full.size(), &n);
        full.resize(n);
    }
    if (s != TTT_OK) {
        messages.pop_back();
        throw HttpError(422, ttt_status_string(s), std::string("the model's chat template: ") + ttt_last_error());
    }
    size_t common = 0;
    while (common < consumed.size() && common < full.size() && consumed[common] == full[common]) ++common;
    consumed = full;
    return full.substr(common);
}

void TemplateConversation::replied(const std::string& reply) {
    messages.emplace_back("assistant", reply);
    consumed += reply;
}

void TemplateConversation::unread(const std::string& prompt) {
    if (!messages.empty()) messages.pop_back();
    consumed.resize(consumed.size() >= prompt.size() ? consumed.size() - prompt.size() : 0);
}

void TemplateConversation::reset() {
    messages.clear();
    consumed.clear();
}

}  // namespace studio
