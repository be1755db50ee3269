#include "model/kv_cache.h"

#include "common/error.h"

namespace ttt {

void KvCache::configure(const ModelConfig& c, KvCacheType t, uint64_t capacity_positions) {
    type = t;
    capacity = capacity_positions ? capacity_positions : uint64_t(c.attn.max_position);
    kv_heads = size_t(c.attn.num_kv_heads);
    head_dim = size_t(c.attn.head_dim);
    const size_t L = size_t(c.num_layers);
    k.assign(L, {});
    v.assign(L, {});
    k_scale.assign(type == KvCacheType::i8 ? L : 0, {});
    v_scale.assign(type == KvCacheType::i8 ? L : 0, {});
}

size_t KvCache::row_bytes() const {
    return head_dim * (type == KvCacheType::f32 ? 4 : type == KvCacheType::f16 ? 2 : 1);
}

void KvCache::check_room(uint64_t position, uint64_t n) const {
    if (position + n > capacity)
        throw Error(TTT_ERR_INVALID_STATE, "KV cache full: the context holds " + std::to_string(position) +
                                               " tokens, " + std::to_string(n) + " more would exceed its length of " +
                                               std::to_string(capacity) + " (reset the context or create it longer)");
}

void KvCache::reserve(uint64_t n) {
    const size_t held = k.empty() ? 0 : k[0].size() / std::max<size_t>(1, kv_heads * row_bytes());
    if (n <= held) return;
    // Grow geometrically (amortised appends), never past the capacity.
    const uint64_t want = std::min<uint64_t>(capacity, std::max<uint64_t>(n, uint64_t(held) * 2 + 16));
    const size_t bytes = size_t(want) * kv_heads * row_bytes();
    for (size_t l = 0; l < k.size(); ++l) {
        k[l].resize(bytes);
        v[l].resize(bytes);
        if (type == KvCacheType::i8) {
            k_scale[l].resize(size_t(want) * kv_heads);
            v_scale[l].resize(size_t(want) * kv_heads);
        }
    }
}

KvCacheRef KvCache::layer(size_t l, uint64_t position) {
    KvCacheRef r;
    r.k = k[l].data();
    r.v = v[l].data();
    if (type == KvCacheType::i8) {
        r.k_scale = k_scale[l].data();
        r.v_scale = v_scale[l].data();
    }
    r.position = position;
    return r;
}

void KvCache::clear() {
    for (auto* per_layer : {&k, &v}) for (auto& b : *per_layer) std::vector<uint8_t>().swap(b);
    for (auto* per_layer : {&k_scale, &v_scale}) for (auto& b : *per_layer) std::vector<float>().swap(b);
}

const char* KvCache::type_name(KvCacheType t) {
    return t == KvCacheType::f32 ? "f32" : t == KvCacheType::f16 ? "f16" : "int8";
}

}  // namespace ttt
