// .soul files (docs/formats.md): a safetensors image holding the TTT state.
// Ours (format_version 3; 2 is still read): w_state.{i} F32 [1, d, d] (upstream's shape, so V030 readers load it too), pending.{i}
// F32 [d, d] (the open chunk's running sum), meta_config U32 [4] = [hidden_dim, num_layers, level_hi, level_lo], and
// metadata: format "bit_ttt.soul", format_version, fingerprint, dims, ttt_chunk, position, soul_level, state_crc32c,
// and (v3) meta_crc32c over the metadata, the tensor directory and meta_config.
// Upstream V030 souls (w_state.{i} [1,d,d] or [d,d] + meta_config) are read too.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/config.h"
#include "model/soul_state.h"

namespace ttt {

std::vector<uint8_t> soul_to_bytes(const SoulState& soul, const ModelConfig& config, uint64_t fingerprint);

// Parse soul bytes for a model; on success *out is replaced, on any error *out is untouched.
// Another model's soul → Error(TTT_ERR_INCOMPATIBLE), unless `force` and the dimensions match.
void soul_from_bytes(const uint8_t* data, size_t size, const ModelConfig& config, uint64_t fingerprint, bool force,
                     SoulState* out, const std::string& what);

}  // namespace ttt
