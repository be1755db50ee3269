#include "model/legacy_ttt_layer.h"

#include <algorithm>
#include <cmath>

#include "cpu/ops_ref.h"
#include "cpu/ternary_kernels.h"
#include "cpu/ternary_ref.h"
#include "ternary_format.h"
#include "cpu/ttt_kernels.h"

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

LegacyTttLayer::LegacyTttLayer(size_t hidden_dim, float inner_lr, uint64_t seed, CpuLevel level)
    : dim_(hidden_dim), inner_(hidden_dim / 4), lr_(inner_lr) {
    uint64_t state = seed;
    down_ = random_ternary(dim_ * inner_, state);
    up_ = random_ternary(inner_ * dim_, state);
    kernels_ = &ternary_kernels(level);
    level_ = kernels_->level;
    down_packed_ = pack(down_, dim_, inner_);
    up_packed_ = pack(up_, inner_, dim_);
}

LegacyTttLayer::Packed LegacyTttLayer::pack(const std::vector<int8_t>& w, size_t in, size_t out) const {
    std::vector<int8_t> rows(w.size());  // [out, in], the file layout's row order
    for (size_t i = 0; i < in; ++i)
        for (size_t j = 0; j < out; ++j) rows[j * in + i] = w[i * out + j];
    std::vector<uint8_t> file(ternary_file_bytes(out, in));
    pack_ternary_ref(rows.data(), out, in, file.data());
    Packed p;
    p.rows = out, p.cols = in;
    p.storage.resize(kernels_->packed_bytes(out, in) + 64);
    uint8_t* aligned = p.storage.data() + (64 - reinterpret_cast<uintptr_t>(p.storage.data()) % 64) % 64;
    kernels_->repack(file.data(), out, in, aligned);
    p.data = aligned;
    return p;
}

namespace {

// Upstream's activation quantisation: a = 127/max|x| (1 when the row is ~0), xq = clamp(round(x·a), ±127) with
// round half away from zero (std::round's value). Branch-free: the product is rounded in double, where adding ±½
// to a float is exact, so truncation gives the half-away rounding. Non-finite inputs are refused by the C ABI; the
// clamps only keep the conversion defined.
float quantize_legacy(const float* x, size_t n, int8_t* xq) {
    const float m = abs_max(x, n);
    const float a = m > 1e-9f ? 127.0f / m : 1.0f;
    for (size_t i = 0; i < n; ++i) {
        const double y = double(x[i] * a);
        double r = y + std::copysign(0.5, y);
        r = !(r >= -128.0) ? -128.0 : r > 128.0 ? 128.0 : r;
        xq[i] = int8_t(std::min(127, std::max(-127, int32_t(r))));
    }
    return a;
}

}  // namespace

void LegacyTttLayer::linear(const Packed& w, const float* x, std::vector<int8_t>& xq, float* y) const {
    const float a = quantize_legacy(x, w.cols, xq.data());
    kernels_->gemm_i8(w.data, w.rows, w.cols, xq.data(), w.cols, &a, 1, y, w.rows, 0, w.rows);  // float(Σ) / a
}

void LegacyTttLayer::int8_linear(const std::vector<int8_t>& w, size_t in, size_t out, const float* x, float* y) {
    std::vector<int8_t> xq(in);
    const float a = quantize_legacy(x, in, xq.data());
    std::vector<int32_t> acc(out, 0);
    for (size_t i = 0; i < in; ++i)
        for (size_t j = 0; j < out; ++j) acc[j] += int32_t(w[i * out + j]) * int32_t(xq[i]);
    for (size_t j = 0; j < out; ++j) y[j] = float(acc[j]) / a;
}

void LegacyTttLayer::forward(const float* input, size_t seq_len, float* output) const {
    const size_t D = dim_, d = inner_;
    std::vector<float> state(d * d, 0.0f), pending(d * d, 0.0f), f(d), p(d), up(D);
    std::vector<int8_t> xq(D);
    const TttChunkedFn recurrence = ttt_chunked_kernel(level_);
    for (size_t t = 0; t < seq_len; ++t) {
        const float* x = input + t * D;
        linear(down_packed_, x, xq, f.data());
        double ss = 0.0;
        for (float v : f) ss += double(v) * v;
        const double norm = std::sqrt(ss);
        if (norm > 1e-6)
            for (float& v : f) v = float(v / norm);
        // p = W f̂, then W ← W − η (p − f̂) f̂ᵀ: the shared recurrence with a chunk of one token.
        recurrence(f.data(), p.data(), 1, d, state.data(), pending.data(), t, 1, lr_, 0, d);
        linear(up_packed_, p.data(), xq, up.data());
        for (size_t i = 0; i < D; ++i) output[t * D + i] = x[i] + up[i];
    }
}

}  // namespace ttt
