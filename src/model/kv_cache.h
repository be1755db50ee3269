// The KV cache of one context of an attention model (arch llama, bitnet): per layer the rotated keys and the values
// of every position seen, stored f32, f16 or int8 per token and head. Its length (capacity) is set per context;
// storage grows with use up to it, so a long capacity costs nothing until used.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "model/config.h"

namespace ttt {

struct KvCache {
    KvCacheType type = KvCacheType::f16;
    uint64_t capacity = 0;  // positions the cache may hold
    size_t kv_heads = 0, head_dim = 0;
    std::vector<std::vector<uint8_t>> k, v;       // per layer [positions held, kv_heads, head_dim]
    std::vector<std::vector<float>> k_scale, v_scale;  // per layer [positions held, kv_heads] (i8)

    // Empty cache for `c` (nothing allocated yet). capacity 0: the model's max_position_embeddings.
    void configure(const ModelConfig& c, KvCacheType t, uint64_t capacity_positions);
    bool configured() const { return !k.empty(); }
    size_t row_bytes() const;
    // Storage for positions [0, n) (n ≤ capacity: the caller checks, see check_room).
    void reserve(uint64_t n);
    // Throws Error(TTT_ERR_INVALID_STATE) when `position + n` exceeds the capacity.
    void check_room(uint64_t position, uint64_t n) const;
    KvCacheRef layer(size_t l, uint64_t position);
    // Drop the storage (positions restart at zero; the soul's position says how much is valid).
    void clear();
    static const char* type_name(KvCacheType t);
};

}  // namespace ttt
