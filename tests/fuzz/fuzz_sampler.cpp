// Generation with fuzzed sampler parameters, logit bias and stop strings, through the C API on the committed golden
// model (a real tokenizer, a real forward pass): ttt_generate_begin/next must end with a stop reason or a clear
// error. The prompt and the stop strings come from the input too.
#include <cstring>
#include <string>
#include <vector>

#include <fuzzer/FuzzedDataProvider.h>

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
    FuzzedDataProvider in(data, size);
    ttt_generate_params p;
    ttt_generate_params_init(&p, sizeof p);
    p.max_tokens = in.ConsumeIntegralInRange<int32_t>(-2, 24);
    p.temperature = in.ConsumeFloatingPoint<float>();
    p.top_k = in.ConsumeIntegral<int32_t>();
    p.top_p = in.ConsumeFloatingPoint<float>();
    p.min_p = in.ConsumeFloatingPoint<float>();
    p.repetition_penalty = in.ConsumeFloatingPoint<float>();
    p.presence_penalty = in.ConsumeFloatingPoint<float>();
    p.frequency_penalty = in.ConsumeFloatingPoint<float>();
    p.penalty_window = in.ConsumeIntegralInRange<int32_t>(-1, 200);
    p.seed = in.ConsumeIntegral<uint64_t>();
    p.tokenize_flags = in.ConsumeIntegralInRange<uint32_t>(0, 4);
    std::vector<ttt_logit_bias> bias(in.ConsumeIntegralInRange<size_t>(0, 4));
    for (auto& b : bias) b = {in.ConsumeIntegralInRange<int32_t>(-2, 40), in.ConsumeFloatingPoint<float>()};
    p.logit_bias = bias.data();
    p.n_logit_bias = bias.size();
    std::vector<std::string> stops(in.ConsumeIntegralInRange<size_t>(0, 3));
    for (auto& s : stops) s = in.ConsumeRandomLengthString(16);
    std::vector<const char*> stop_ptrs;
    for (auto& s : stops) stop_ptrs.push_back(s.c_str());
    p.stop_strings = stop_ptrs.data();
    p.n_stop_strings = stop_ptrs.size();
    const std::string prompt = in.ConsumeRemainingBytesAsString();
    ttt_reset(g.ctx);
    ttt_status s = ttt_generate_begin(g.ctx, prompt.data(), prompt.size(), &p);
    fuzz::check_status(s);
    int32_t reason = TTT_STOP_NONE, token = 0;
    for (int steps = 0; s == TTT_OK && reason == TTT_STOP_NONE; ++steps) {
        if (steps > 64) __builtin_trap();  // max_tokens <= 24: the generation must have ended
        const char* text = nullptr;
        size_t len = 0;
        s = ttt_generate_next(g.ctx, &token, &text, &len, &reason);
        fuzz::check_status(s);
        if (s == TTT_OK && len > 0 && !text) __builtin_trap();
    }
    return 0;
}
