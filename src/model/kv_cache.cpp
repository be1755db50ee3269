#include "model/kv_cache.h"

#include <algorithm>

#include "common/error.h"

namespace ttt {

void KvCache::configure(const ModelConfig& c, KvCacheType t, uint64_t capacity_positions) {
    type = t;
    capacity = capacity_positions ? capacity_positions : uint64_t(c.attn.max_position);
    kv_heads = size_t(c.attn.num_kv_heads);
    head_dim = size_t(c.attn.head_dim);
    const size_t L = size_t(c.num_layers);
    if (where_.size() != L) where_.assign(L, nullptr);
    k.resize(L);
    v.resize(L);
    k_scale.resize(type == KvCacheType::i8 ? L : 0);
    v_scale.resize(type == KvCacheType::i8 ? L : 0);
    clear();
}

void KvCache::place(const std::vector<Backend*>& layer_backends) {
    where_ = layer_backends;
    for (auto* blocks : {&k, &v, &k_scale, &v_scale})
        for (size_t l = 0; l < blocks->size(); ++l) {
            StateBlock& b = (*blocks)[l];
            b = b.moved_to(backend_of(l), b.bytes(), b.bytes());
        }
}

uint64_t KvCache::held() const {
    return k.empty() ? 0 : k[0].bytes() / std::max<size_t>(1, kv_heads * row_bytes());
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
    const uint64_t have = held();
    if (n <= have) return;
    // Grow geometrically (amortised appends), never past the capacity; the rows held move to the larger block.
    const uint64_t want = std::min<uint64_t>(capacity, std::max<uint64_t>(n, have * 2 + 16));
    const size_t row = kv_heads * row_bytes(), scales = kv_heads * sizeof(float);
    for (size_t l = 0; l < k.size(); ++l) {
        k[l] = k[l].moved_to(backend_of(l), size_t(want) * row, size_t(have) * row);
        v[l] = v[l].moved_to(backend_of(l), size_t(want) * row, size_t(have) * row);
        if (type == KvCacheType::i8) {
            k_scale[l] = k_scale[l].moved_to(backend_of(l), size_t(want) * scales, size_t(have) * scales);
            v_scale[l] = v_scale[l].moved_to(backend_of(l), size_t(want) * scales, size_t(have) * scales);
        }
    }
}

KvCacheRef KvCache::layer(size_t l, uint64_t position) {
    KvCacheRef r;
    r.k = static_cast<uint8_t*>(k[l].data());
    r.v = static_cast<uint8_t*>(v[l].data());
    if (type == KvCacheType::i8) {
        r.k_scale = k_scale[l].floats();
        r.v_scale = v_scale[l].floats();
    }
    r.position = position;
    return r;
}

void KvCache::clear() {
    // Empty blocks that still belong where their layer runs (a soul on a device stays there across a reset).
    for (auto* per_layer : {&k, &v, &k_scale, &v_scale})
        for (size_t l = 0; l < per_layer->size(); ++l) (*per_layer)[l] = StateBlock(backend_of(l), 0);
}

const char* KvCache::type_name(KvCacheType t) {
    return t == KvCacheType::f32 ? "f32" : t == KvCacheType::f16 ? "f16" : "int8";
}

}  // namespace ttt
