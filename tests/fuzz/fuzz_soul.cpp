// Soul bytes (ttt_load_soul_buffer) for the committed golden model, with and without TTT_SOUL_FORCE, and for an
// attention model (a KV-cache soul, tests/data/hf). A soul that loads is saved again and reloaded: what was
// accepted must round-trip.
#include <vector>

#include "fuzz_common.h"

namespace {

struct Golden {
    ttt_model* model = nullptr;
    ttt_context* ctx = nullptr;
    explicit Golden(const char* path, int32_t kv_cache_type = TTT_KV_F16) {
        fuzz::quiet_logs();
        ttt_context_params p;
        ttt_context_params_init(&p, sizeof p);
        p.kv_cache_type = kv_cache_type;
        p.n_ctx = 16;
        if (ttt_load_model(fuzz::source_path(path).c_str(), nullptr, &model) != TTT_OK ||
            ttt_create(model, &p, &ctx) != TTT_OK)
            __builtin_trap();
    }
};

void try_soul(Golden& g, const uint8_t* data, size_t size, uint32_t flags) {
    const ttt_status s = ttt_load_soul_buffer(g.ctx, data, size, flags);
    fuzz::check_status(s);
    if (s == TTT_OK) {
        size_t n = 0;
        ttt_save_soul_buffer(g.ctx, nullptr, 0, &n);
        std::vector<uint8_t> again(n);
        if (ttt_save_soul_buffer(g.ctx, again.data(), again.size(), &n) != TTT_OK) __builtin_trap();
        if (ttt_load_soul_buffer(g.ctx, again.data(), again.size(), 0) != TTT_OK) __builtin_trap();
        ttt_reset(g.ctx);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static Golden ttt_model("tests/data/golden/d12_v37_l3");
    static Golden attention_model("tests/data/hf/llama_gqa2_untied", TTT_KV_INT8);
    const uint32_t flags = size > 0 && (data[0] & 0x80) ? TTT_SOUL_FORCE : 0;
    try_soul(ttt_model, data, size, flags);
    try_soul(attention_model, data, size, flags);
    return 0;
}
