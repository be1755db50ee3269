// The KV cache of one context of an attention model (arch llama, bitnet): per layer the rotated keys and the values
// of every position seen, stored f32, f16 or int8 per token and head. Its length (capacity) is set per context;
// storage grows with use up to it, so a long capacity costs nothing until used.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "model/config.h"
#include "model/state_block.h"

namespace ttt {

struct KvCache {
    KvCacheType type = KvCacheType::f16;
    uint64_t capacity = 0;  // positions the cache may hold
    size_t kv_heads = 0, head_dim = 0;
    // Per layer, in the memory of the backend that runs the layer (place): [positions held, kv_heads, head_dim]
    // rows of `type`, and for i8 one float factor per [position, kv_head].
    std::vector<StateBlock> k, v, k_scale, v_scale;

    // Empty cache for `c` (nothing allocated yet). capacity 0: the model's max_position_embeddings. Keeps the
    // placement.
    void configure(const ModelConfig& c, KvCacheType t, uint64_t capacity_positions);
    // Layer l's rows go to layer_backends[l]'s memory (what is held moves there).
    void place(const std::vector<Backend*>& layer_backends);
    // Positions the storage holds now (≤ capacity).
    uint64_t held() const;
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

private:
    std::vector<Backend*> where_;  // per layer; empty or nullptr: host memory
    Backend* backend_of(size_t l) const { return l < where_.size() ? where_[l] : nullptr; }
};

}  // namespace ttt
