// The soul: the TTT fast-weight state of one context. Per layer a d×d matrix W (starts at zero) and the running
// sum of the open chunk's inner gradients, which is applied when the chunk closes (DESIGN §2).
// The delta kind (docs/memory.md) keeps its H heads' fast weights (H × dh×dh) in w and its token-mixing tail, the
// raw key and query rows of the last 3 tokens (3 × 2d), in pending.
// Every block lives in the memory of the backend that runs its layer once the soul is placed (place): a context
// places its soul on its layers' backends, so passes work on it where it is; files and inspection copy to the host.
#pragma once

#include <cstdint>
#include <vector>

#include "model/config.h"
#include "model/kv_cache.h"
#include "model/state_block.h"

namespace ttt {

struct SoulState {
    int32_t num_layers = 0;
    int32_t dim = 0;                         // d
    std::vector<StateBlock> w;               // L × (d, d) floats: applied fast weights
    std::vector<StateBlock> pending;         // L × (d, d) floats: Σ (z − f̂) f̂ᵀ of the open chunk
    uint64_t position = 0;                   // tokens since reset; chunk boundaries count from here
    uint64_t level = 0;                      // tokens learned in total (survives save/load, cleared by reset)
    KvCache kv;                              // attention models: the context's KV cache (then w, pending are empty)

    explicit SoulState(const ModelConfig& c = ModelConfig{}) { resize(c); }
    // Zero state for `c`, in host memory (not placed).
    void resize(const ModelConfig& c);
    // Zero everything where it lives.
    void reset();
    // Move layer l's state (and KV cache) into the memory of layer_backends[l] (one entry per layer). Not atomic: an
    // allocation failure leaves the soul partly moved, so callers place new souls (at creation, before a load
    // replaces the context's soul), never one they must keep.
    void place(const std::vector<Backend*>& layer_backends);
};


}  // namespace ttt
