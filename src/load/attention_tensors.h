// Attention models (arch llama, bitnet) in our own files (.bitt, model directories): the config object and the
// tensors. Tensor names are the Hugging Face ones; a ternary projection is stored in our packed form
// (`<base>.weight_ternary` U8 [rows, ceil(cols/4)] in the file layout + `<base>.weight_scale` F32 [1], used in place
// when mapped), a dense one as `<base>.weight` F32 (BF16 under "projection_dtype": "bf16"); norms F32; the
// embedding F32, or BF16 under "embedding_dtype": "bf16"; the LM head (none when tied) F32, or BF16 under
// "lm_head_dtype": "bf16" (the BF16 tables used in place when mapped).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "io/json.h"
#include "load/model_tensors.h"
#include "model/attention_weights.h"

namespace ttt {

// The config object of an attention model ("arch": "llama" / "bitnet" plus the attention fields).
std::string attention_config_to_json(const ModelConfig& c);
ModelConfig parse_attention_config_object(simdjson::dom::object obj, const std::string& what);

// The tensors, in one fixed order: what the writers store (pointing into `w`, valid while it lives).
std::vector<WeightTensor> attention_weight_tensors(const ModelWeights& w);
// Only their names, types and shapes (a streaming writer fixes its directory before it has any weight).
std::vector<TensorSpec> attention_tensor_specs(const ModelConfig& c);

// Read them back (storage: as weights_from_safetensors; packed matrices and aligned F32 tensors used in place).
ModelWeights attention_weights_from_safetensors(const ModelConfig& c, const SafetensorsView& st, const std::string& what,
                                                std::shared_ptr<const void> storage);

}  // namespace ttt
