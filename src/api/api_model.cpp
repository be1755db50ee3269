// C ABI: model loading, information, logging. Checks, converts, catches — the work happens in src/io and src/model.
#include <cstring>

#include "api/guard.h"
#include "api/handles.h"
#include "api/params.h"
#include "common/log.h"
#include "tokenizer/tokenizer.h"

namespace ttt {

void check_model(const ttt_model* m) {
    require_pointer(m, "model");
    if (m->magic != kModelMagic || m->released_by_user.load())
        throw Error(TTT_ERR_INVALID_ARGUMENT, "argument 'model' is not a live ttt_model handle (freed or never created)");
}

void release_model(ttt_model* m) {
    if (m->refs.fetch_sub(1) == 1) {
        m->magic = 0;
        delete m;
    }
}

namespace {

void model_defaults(ttt_model_params* p) {
    std::memset(p, 0, sizeof *p);
    p->struct_size = sizeof *p;
    p->backend = TTT_BACKEND_CPU;
    p->n_gpu_layers = -1;
    p->verify_checksum = 1;
}

LoadOptions load_options(const ttt_model_params& p) {
    if (p.backend != TTT_BACKEND_CPU && p.backend != TTT_BACKEND_CUDA)
        throw Error(TTT_ERR_INVALID_ARGUMENT, "params.backend " + std::to_string(p.backend) + " is unknown");
    if (p.backend == TTT_BACKEND_CUDA)
        throw Error(TTT_ERR_UNSUPPORTED, "the CUDA backend is not available in this version; use TTT_BACKEND_CPU");
    LoadOptions opt;
    opt.verify_checksum = p.verify_checksum != 0;
    if (p.progress_callback) {
        ttt_progress_callback cb = p.progress_callback;
        void* user = p.progress_user_data;
        opt.progress = [cb, user](float f) { return cb(f, user) != 0; };
    }
    return opt;
}

// The chat template and special tokens of tokenizer_config.json. Its eos_token is the model's end of turn (as in
// Hugging Face, e.g. <|eot_id|> for Llama 3 Instruct) unless the model config names an eos; special tokens it does
// not name come from the tokenizer.
void attach_chat_config(ttt_model& m, const LoadedModel& loaded) {
    if (!loaded.tokenizer_config_json.empty())
        m.chat = chat::read_chat_config(loaded.tokenizer_config_json, loaded.source + ": tokenizer_config.json");
    Tokenizer* tok = m.tokenizer.get();
    if (!tok) return;
    const int32_t eos = m.chat.eos_token.empty() ? -1 : tok->token_id(m.chat.eos_token);
    if (eos >= 0 && loaded.weights.config.eos_id < 0 && eos < loaded.weights.config.vocab_size) tok->set_bos_eos(tok->bos_id(), eos);
    if (m.chat.bos_token.empty() && tok->bos_id() >= 0) m.chat.bos_token = tok->token_text(tok->bos_id());
    if (m.chat.eos_token.empty() && tok->eos_id() >= 0) m.chat.eos_token = tok->token_text(tok->eos_id());
}

ttt_model* wrap(LoadedModel&& loaded) {
    auto m = std::make_unique<ttt_model>();
    m->fingerprint = loaded.fingerprint;
    if (!loaded.tokenizer_json.empty()) {
        const ModelConfig& c = loaded.weights.config;
        m->tokenizer = Tokenizer::for_model(loaded.tokenizer_json, c.vocab_size, c.bos_id, c.eos_id, loaded.source);
        for (int32_t id : c.end_ids) m->tokenizer->add_end_token(id);  // generation_config.json's other end tokens
    }
    attach_chat_config(*m, loaded);
    m->loaded = std::move(loaded);
    return m.release();
}

}  // namespace

}  // namespace ttt

using namespace ttt;

extern "C" {

TTT_API void TTT_CALL ttt_log_set(ttt_log_callback callback, int32_t min_level, void* user_data) {
    set_log_callback(callback, min_level, user_data);
}

TTT_API ttt_status TTT_CALL ttt_model_params_init(ttt_model_params* params, uint32_t struct_size) {
    return guarded("ttt_model_params_init", [&] { init_params(params, struct_size, model_defaults); });
}

TTT_API ttt_status TTT_CALL ttt_load_model(const char* path, const ttt_model_params* params, ttt_model** out_model) {
    return guarded("ttt_load_model", [&] {
        require_pointer(out_model, "out_model");
        *out_model = nullptr;
        require_pointer(path, "path");
        ttt_model_params p = read_params(params, model_defaults, "params");
        *out_model = wrap(load_model_path(path, load_options(p)));
    });
}

TTT_API ttt_status TTT_CALL ttt_load_bitt(const char* path, const ttt_model_params* params, ttt_model** out_model) {
    return guarded("ttt_load_bitt", [&] {
        require_pointer(out_model, "out_model");
        *out_model = nullptr;
        require_pointer(path, "path");
        ttt_model_params p = read_params(params, model_defaults, "params");
        *out_model = wrap(load_model_bitt(path, load_options(p)));
    });
}

TTT_API ttt_status TTT_CALL ttt_load_bitt_buffer(const void* data, size_t size, const ttt_model_params* params,
                                                  ttt_model** out_model) {
    return guarded("ttt_load_bitt_buffer", [&] {
        require_pointer(out_model, "out_model");
        *out_model = nullptr;
        require_pointer(data, "data");
        ttt_model_params p = read_params(params, model_defaults, "params");
        const uint8_t* bytes = static_cast<const uint8_t*>(data);
        *out_model = wrap(load_model_bitt_bytes(std::vector<uint8_t>(bytes, bytes + size), "memory buffer", load_options(p)));
    });
}

TTT_API void TTT_CALL ttt_model_free(ttt_model* model) {
    if (!model || model->magic != kModelMagic) return;
    if (model->released_by_user.exchange(true)) return;  // freed twice while contexts keep it alive
    release_model(model);
}

TTT_API ttt_status TTT_CALL ttt_model_get_info(const ttt_model* model, ttt_model_info* info) {
    return guarded("ttt_model_get_info", [&] {
        check_model(model);
        require_pointer(info, "info");
        if (info->struct_size < sizeof(uint32_t))
            throw Error(TTT_ERR_INVALID_ARGUMENT, "info->struct_size must be set to sizeof(ttt_model_info)");
        const ModelConfig& c = model->loaded.weights.config;
        ttt_model_info out;
        std::memset(&out, 0, sizeof out);
        out.struct_size = static_cast<uint32_t>(std::min<size_t>(info->struct_size, sizeof out));
        out.vocab_size = c.vocab_size;
        out.hidden_dim = c.hidden_dim;
        out.num_layers = c.num_layers;
        out.intermediate_dim = c.intermediate_dim;
        out.ttt_dim = c.is_attention() ? 0 : c.ttt_dim();
        out.ttt_chunk = c.ttt_chunk;
        out.bitlinear_scale = c.bitlinear_scale ? 1 : 0;
        out.act_bits = c.act_bits;
        out.inner_lr = c.inner_lr;
        out.norm_eps = c.norm_eps;
        const Tokenizer* tok = model->tokenizer.get();
        out.bos_id = c.bos_id >= 0 ? c.bos_id : tok ? tok->bos_id() : -1;
        out.eos_id = c.eos_id >= 0 ? c.eos_id : tok ? tok->eos_id() : -1;
        out.has_tokenizer = tok ? 1 : 0;
        out.fingerprint = model->fingerprint;
        out.n_params = model->loaded.weights.parameter_count();
        out.architecture = c.arch == Architecture::llama ? TTT_ARCH_LLAMA : c.arch == Architecture::bitnet ? TTT_ARCH_BITNET : TTT_ARCH_TTT;
        if (c.is_attention()) {
            out.n_heads = c.attn.num_heads;
            out.n_kv_heads = c.attn.num_kv_heads;
            out.head_dim = c.attn.head_dim;
            out.max_position = c.attn.max_position;
        }
        out.ttt_kind = c.is_delta() ? TTT_KIND_DELTA : TTT_KIND_UPSTREAM;
        out.ttt_heads = c.is_attention() ? 0 : c.ttt_heads;
        std::memcpy(info, &out, out.struct_size);
    });
}

}  // extern "C"
