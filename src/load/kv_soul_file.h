// Souls of attention models (arch llama, bitnet): a context's KV cache and position, so an NPC on a real model
// is saved and resumed. A safetensors image (written crash-safely by the callers, like every soul):
//   k.{l}, v.{l}              [position, kv_heads, head_dim]  F32, F16 or I8: only the rows in use, in the cache's
//                                                             own type (an int8 cache stays 1 byte per value)
//   k_scale.{l}, v_scale.{l}  [position, kv_heads] F32        int8 caches only
//   metadata: format "bit_ttt.kv_soul", format_version 1, fingerprint, architecture, num_layers, kv_heads, head_dim,
//             kv_cache_type, position, soul_level, crc32c (over every metadata value but itself and every tensor's
//             name, dtype, shape and bytes).
// Loading checks everything: the fingerprint (another model's cache is meaningless; TTT_SOUL_FORCE does not
// override it: unlike a TTT state, keys of another model's weights are not a usable state), the shapes, the CRC,
// and that the position fits the context's cache length. Rows are converted to the context's cache type.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/config.h"
#include "model/soul_state.h"

namespace ttt {

std::vector<uint8_t> kv_soul_to_bytes(const SoulState& soul, const ModelConfig& config, uint64_t fingerprint);

// *out must hold the context's configured (empty) cache; on success it receives the saved state, on any error it is
// untouched.
void kv_soul_from_bytes(const uint8_t* data, size_t size, const ModelConfig& config, uint64_t fingerprint,
                        SoulState* out, const std::string& what);

}  // namespace ttt
