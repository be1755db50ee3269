#include "model/legacy_ttt_layer.h"

#include <cmath>

#include "cpu/ttt_ref.h"

namespace ttt {

namespace {

// splitmix64: tiny, well-distributed and identical on every platform.
uint64_t splitmix64(uint64_t& state) {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

// Upstream's distribution: r < 0.33 → −1, r < 0.66 → +1, else 0.
std::vector<int8_t> random_ternary(size_t n, uint64_t& state) {
    std::vector<int8_t> w(n);
    for (auto& v : w) {
        double r = double(splitmix64(state) >> 11) * 0x1.0p-53;
        v = r < 0.33 ? -1 : r < 0.66 ? 1 : 0;
    }
    return w;
}

}  // namespace

LegacyTttLayer::LegacyTttLayer(size_t hidden_dim, float inner_lr, uint64_t seed)
    : dim_(hidden_dim), inner_(hidden_dim / 4), lr_(inner_lr) {
    uint64_t state = seed;
    down_ = random_ternary(dim_ * inner_, state);
    up_ = random_ternary(inner_ * dim_, state);
}

void LegacyTttLayer::int8_linear(const std::vector<int8_t>& w, size_t in, size_t out, const float* x, float* y) {
    float m = 0.0f;
    for (size_t i = 0; i < in; ++i) m = std::fmax(m, std::fabs(x[i]));
    const float a = m > 1e-9f ? 127.0f / m : 1.0f;
    std::vector<int32_t> acc(out, 0);
    for (size_t i = 0; i < in; ++i) {
        float q = std::round(x[i] * a);
        const int32_t xq = int32_t(q > 127.0f ? 127.0f : q < -127.0f ? -127.0f : q);
        for (size_t j = 0; j < out; ++j) acc[j] += int32_t(w[i * out + j]) * xq;
    }
    for (size_t j = 0; j < out; ++j) y[j] = float(acc[j]) / a;
}

void LegacyTttLayer::forward(const float* input, size_t seq_len, float* output) const {
    const size_t D = dim_, d = inner_;
    std::vector<float> state(d * d, 0.0f), pending(d * d, 0.0f), f(d), p(d), up(D);
    for (size_t t = 0; t < seq_len; ++t) {
        const float* x = input + t * D;
        int8_linear(down_, D, d, x, f.data());
        double ss = 0.0;
        for (float v : f) ss += double(v) * v;
        const double norm = std::sqrt(ss);
        if (norm > 1e-6)
            for (float& v : f) v = float(v / norm);
        // p = W f̂, then W ← W − η (p − f̂) f̂ᵀ: the shared recurrence with a chunk of one token.
        ttt_chunked_rows<float>(f.data(), p.data(), 1, d, state.data(), pending.data(), t, 1, lr_, 0, d);
        int8_linear(up_, d, D, p.data(), up.data());
        for (size_t i = 0; i < D; ++i) output[t * D + i] = x[i] + up[i];
    }
}

}  // namespace ttt
