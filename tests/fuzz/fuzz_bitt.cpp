// A .bitt image from a buffer (ttt_load_bitt_buffer): framing, header JSON and checksum, config, tokenizer,
// safetensors body, tensors. A model that loads is also run for two tokens, so whatever was accepted is usable.
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz::quiet_logs();
    ttt_model_params params;
    ttt_model_params_init(&params, sizeof params);
    params.verify_checksum = size > 0 && (data[size - 1] & 1);  // both paths: with and without the body CRC
    ttt_model* m = nullptr;
    const ttt_status s = ttt_load_bitt_buffer(data, size, &params, &m);
    fuzz::check_status(s);
    if (s == TTT_OK) {
        ttt_context* c = nullptr;
        if (ttt_create(m, nullptr, &c) == TTT_OK) {
            const int32_t tokens[2] = {0, 1};
            fuzz::check_status(ttt_forward(c, tokens, 2, nullptr));
            ttt_destroy(c);
        }
        ttt_model_free(m);
    }
    return 0;
}
