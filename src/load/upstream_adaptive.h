// Upstream's converted Llama models (its convert_llama_v2.py; upstream-spec §1.4, §1.5, §2.4, §3.1): a directory
// with a config.json of "arch": "llama" and upstream's field names (n_heads, n_kv_heads, intermediate_dim ...) and
// one model.safetensors whose projections are in the "adaptive" multi-base form, `<name>.weight_packed` U8
// [out, in/4, NB] + `<name>.scales` F32 [NB], W = Σ_b scales[b]·Q_b. They load as our ternarised Llama
// (ModelConfig::attn.ternary_bases = NB): the same function (upstream reconstructed W in f32 and multiplied; we
// multiply each base and add), held packed instead of at 4 bytes per weight. Norms, embedding and LM head: any
// float dtype. Nothing is trusted: every tensor's presence, dtype, shape and code is checked, with the reason.
#pragma once

#include <string>

#include "load/model_files.h"

namespace ttt {

// Whether `dir/config.json` is upstream's llama config (arch "llama" with upstream's "n_heads", without our
// "num_attention_heads"); anything else with arch "llama" stays the config parser's to refuse.
bool is_upstream_adaptive_dir(const std::string& dir);

LoadedModel load_upstream_adaptive(const std::string& dir);

}  // namespace ttt
