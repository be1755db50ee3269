// The pieces of a model directory, each fuzzed on its own or together: config.json text, a safetensors weights
// image (structure, then the model tensors for a fixed valid config), and tokenizer.json (then encode/decode).
// The first byte picks the piece; the rest is its content.
#include <string_view>

#include "common/error.h"
#include "fuzz_common.h"
#include "load/config_json.h"
#include "load/model_tensors.h"
#include "io/safetensors.h"
#include "tokenizer/tokenizer.h"

namespace {

ttt::ModelConfig golden_config() {
    ttt::ModelConfig c;
    c.vocab_size = 37;
    c.hidden_dim = 12;
    c.num_layers = 3;
    c.intermediate_dim = 48;
    c.inner_lr = 0.5f;
    return c;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz::quiet_logs();
    if (size < 1) return 0;
    const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
    try {
        switch (data[0] % 3) {
            case 0:
                ttt::parse_config_json(text, "config.json");
                break;
            case 1: {
                ttt::SafetensorsView st = ttt::parse_safetensors(data + 1, size - 1, "model.safetensors");
                for (const auto& t : st.tensors)
                    if (t.dtype == ttt::DType::F32 || t.dtype == ttt::DType::F16 || t.dtype == ttt::DType::BF16)
                        ttt::tensor_to_f32(t, "model.safetensors");
                ttt::weights_from_safetensors(golden_config(), st, "model.safetensors", {});
                break;
            }
            case 2: {
                auto tok = ttt::Tokenizer::from_json(text);
                const std::string sample = "Hello, world! \xe2\x9c\x93 <s> 123";
                auto ids = tok->encode(sample, true, true);
                tok->decode(ids.data(), ids.size(), false);
                break;
            }
        }
    } catch (const ttt::Error&) {
        // a clear refusal: what we want for bad input
    }
    return 0;
}
