#include "load/bitt_model.h"

#include "common/error.h"
#include "load/config_json.h"
#include "load/model_tensors.h"

namespace ttt {

ModelConfig bitt_model_config(const BittFile& f, const std::string& what) {
    if (f.format_version >= 2 && !f.weights_layout.empty() && f.weights_layout != kTernaryLayoutName)
        fail_unsupported(what + ": unknown weights_layout \"" + f.weights_layout + "\"");
    return parse_config_json(f.config_json, what + " config");
}

std::vector<uint8_t> write_bitt_v2(const ModelWeights& weights, const std::string& tokenizer_json,
                                   const std::string& tokenizer_config_json) {
    BittContents c;
    c.config_json = config_to_json(weights.config);
    c.weights_layout = kTernaryLayoutName;
    c.fingerprint = weights.fingerprint();
    c.tokenizer_json = tokenizer_json;
    c.tokenizer_config_json = tokenizer_config_json;
    return write_bitt(c, weights_to_safetensors(weights, 0));
}

}  // namespace ttt
