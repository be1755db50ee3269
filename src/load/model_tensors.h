// Model weights ⇄ safetensors tensors with upstream's names (upstream-spec §1.5).
//
// Reading accepts, for each BitLinear, either the latent float weight `<base>.weight` (ternarised here) or our packed
// form `<base>.weight_ternary` (U8 [rows, ceil(cols/4)]) + `<base>.weight_scale` (F32 [1]); and the HEAD name variants
// (model.embed_tokens.weight, layers.{i}.norm1.model.norm.weight, model.norm.weight, model.layers.{i}.…).
// Writing produces the packed form with the plain upstream names.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "io/safetensors.h"
#include "model/weights.h"

namespace ttt {

// progress(fraction) returns false to abort (Error TTT_ERR_ABORTED). May be empty.
// storage: when not null, the owner of the bytes `st` points into; packed ternary matrices are then used in place
// (TernaryMatrix::view, zero copy) and the weights keep `storage` alive. When null, they are copied.
ModelWeights weights_from_safetensors(const ModelConfig& config, const SafetensorsView& st, const std::string& what,
                                      const std::function<bool(float)>& progress = {},
                                      std::shared_ptr<const void> storage = nullptr);

// The tensors of the weights in packed form, with upstream's names, pointing into `w` (valid while it lives).
struct WeightTensor {
    TensorSpec spec;
    const void* data;
};
std::vector<WeightTensor> weight_tensors(const ModelWeights& w);
std::map<std::string, std::string> weights_metadata();  // the safetensors metadata our weight files carry

// A safetensors image of the weights in packed form. file_offset: where the image starts in its file (alignment).
std::vector<uint8_t> weights_to_safetensors(const ModelWeights& w, size_t file_offset = 0);

extern const char* const kTernaryLayoutName;  // recorded in the metadata and in .bitt v2 headers

}  // namespace ttt
