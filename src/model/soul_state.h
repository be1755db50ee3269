// The soul: the TTT fast-weight state of one context. Per layer a d×d matrix W (starts at zero) and the running
// sum of the open chunk's inner gradients, which is applied when the chunk closes (DESIGN §2).
// The delta kind (docs/memory.md) keeps its H heads' fast weights (H × dh×dh) in w and its token-mixing tail, the
// raw key and query rows of the last 3 tokens (3 × 2d), in pending.
#pragma once

#include <cstdint>
#include <vector>

#include "model/config.h"
#include "model/kv_cache.h"

namespace ttt {

struct SoulState {
    int32_t num_layers = 0;
    int32_t dim = 0;                         // d
    std::vector<std::vector<float>> w;       // L × (d, d) applied fast weights
    std::vector<std::vector<float>> pending; // L × (d, d) Σ (z − f̂) f̂ᵀ of the open chunk
    uint64_t position = 0;                   // tokens since reset; chunk boundaries count from here
    uint64_t level = 0;                      // tokens learned in total (survives save/load, cleared by reset)
    KvCache kv;                              // attention models: the context's KV cache (then w, pending are empty)

    explicit SoulState(const ModelConfig& c = ModelConfig{}) { resize(c); }
    void resize(const ModelConfig& c) {
        num_layers = c.num_layers;
        dim = c.is_attention() ? 0 : c.ttt_dim();
        if (c.is_attention()) kv.configure(c, KvCacheType::f16, 0);
        const size_t n = static_cast<size_t>(dim) * static_cast<size_t>(dim);
        const size_t nw = c.is_delta() ? n / static_cast<size_t>(c.ttt_heads) : n;
        const size_t np = c.is_delta() ? 6 * static_cast<size_t>(dim) : n;  // kernels/cpu/ttt_delta_ref.h
        w.assign(static_cast<size_t>(num_layers), std::vector<float>(nw, 0.0f));
        pending.assign(static_cast<size_t>(num_layers), std::vector<float>(np, 0.0f));
        position = 0;
        level = 0;
    }
    void reset() {
        for (auto& m : w) std::fill(m.begin(), m.end(), 0.0f);
        for (auto& m : pending) std::fill(m.begin(), m.end(), 0.0f);
        kv.clear();
        position = 0;
        level = 0;
    }
};

}  // namespace ttt
