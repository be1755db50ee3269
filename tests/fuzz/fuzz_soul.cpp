// Soul bytes (ttt_load_soul_buffer) for the committed golden model, with and without TTT_SOUL_FORCE. A soul that
// loads is saved again and reloaded: what was accepted must round-trip.
#include <vector>

#include "fuzz_common.h"

namespace {

struct Golden {
    ttt_model* model = nullptr;
    ttt_context* ctx = nullptr;
    Golden() {
        fuzz::quiet_logs();
        if (ttt_load_model(fuzz::source_path("tests/data/golden/d12_v37_l3").c_str(), nullptr, &model) != TTT_OK ||
            ttt_create(model, nullptr, &ctx) != TTT_OK)
            __builtin_trap();
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static Golden g;
    const uint32_t flags = size > 0 && (data[0] & 0x80) ? TTT_SOUL_FORCE : 0;
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
    return 0;
}
