// A model ⇄ a .bitt container: the config object is a ModelConfig (load/config_json.h), the body holds the
// weights in packed form (load/model_tensors.h), and the stored fingerprint must match the weights.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "io/bitt.h"
#include "model/config.h"
#include "model/weights.h"

namespace ttt {

// The model config a .bitt header holds, checked; and the packed layout it names must be ours (v2 and later).
ModelConfig bitt_model_config(const BittFile& f, const std::string& what);

// Serialise weights (+ optional tokenizer JSON text, + optional tokenizer_config.json text: the chat template) as a
// .bitt v3 image.
std::vector<uint8_t> write_bitt_v2(const ModelWeights& weights, const std::string& tokenizer_json,
                                   const std::string& tokenizer_config_json = {});

// The same bytes written to `path` tensor by tensor (no second copy of the model in memory), crash-safely.
// POSIX only (load/bitt_model_posix.cpp; the bit-ttt program).
void save_model_bitt(const std::string& path, const ModelWeights& weights, const std::string& tokenizer_json,
                     const std::string& tokenizer_config_json = {});

}  // namespace ttt
