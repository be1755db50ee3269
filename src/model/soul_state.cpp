#include "model/soul_state.h"

#include "common/error.h"

namespace ttt {

void SoulState::resize(const ModelConfig& c) {
    num_layers = c.num_layers;
    dim = c.is_attention() ? 0 : c.ttt_dim();
    if (c.is_attention()) kv.configure(c, KvCacheType::f16, 0);
    const size_t n = static_cast<size_t>(dim) * static_cast<size_t>(dim);
    const size_t nw = c.is_delta() ? n / static_cast<size_t>(c.ttt_heads) : n;
    const size_t np = c.is_delta() ? 6 * static_cast<size_t>(dim) : n;  // kernels/cpu/ttt_delta_ref.h
    const size_t layers = static_cast<size_t>(num_layers);  // attention models: empty blocks (their state is kv)
    w.clear();
    pending.clear();
    for (size_t l = 0; l < layers; ++l) {
        w.emplace_back(nullptr, nw * sizeof(float));
        pending.emplace_back(nullptr, np * sizeof(float));
    }
    position = 0;
    level = 0;
}

void SoulState::reset() {
    for (auto& b : w) b.zero();
    for (auto& b : pending) b.zero();
    kv.clear();
    position = 0;
    level = 0;
}

void SoulState::place(const std::vector<Backend*>& layer_backends) {
    if (layer_backends.size() != size_t(num_layers))
        throw Error(TTT_ERR_PANIC, "a soul of " + std::to_string(num_layers) + " layers placed on " +
                                       std::to_string(layer_backends.size()) + " backends");
    for (size_t l = 0; l < w.size(); ++l) {
        w[l] = w[l].moved_to(layer_backends[l], w[l].bytes(), w[l].bytes());
        pending[l] = pending[l].moved_to(layer_backends[l], pending[l].bytes(), pending[l].bytes());
    }
    kv.place(layer_backends);
}

}  // namespace ttt
