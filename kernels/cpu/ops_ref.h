// Plain reference kernels for the float parts of the model, written once for inference, training and the tests:
// RMSNorm, the int8 activation fake quantisation, SiLU-gated products, the L2 normalisation of the TTT features,
// and the dense matrix-vector product, each with its backward next to it (training's hand-written gradients).
// Templated on the scalar so training's float64 gradient checks run the very same code. Each function works on one
// row (or one span); callers split rows between threads. The oracle for optimised kernels. The TTT recurrences and
// their backwards are in ttt_ref.h and ttt_delta_ref.h. (Fake quantisation's backward is the identity, the
// straight-through estimator: no function.)
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace ttt {

// round-half-away-from-zero (std::round) for |y| < 2^62, without the libm call baseline x86-64 makes for
// std::round: the fraction y − trunc(y) is exact in binary floating point, so this is the same value.
// Non-finite and huge values pass through unchanged (no undefined conversion).
template <typename T>
inline T round_half_away(T y) {
    if (!(std::fabs(y) < T(4.0e18))) return y;
    const T t = static_cast<T>(static_cast<int64_t>(y));
    const T frac = y - t;
    return frac >= T(0.5) ? t + T(1) : frac <= T(-0.5) ? t - T(1) : t;
}

// Σ x² in double, in one fixed order every caller shares: element i goes to lane i mod 8 (each lane summed in
// index order), then the lanes by a halving tree ((0+4)+(2+6))+((1+5)+(3+7)). A float's square is exact in double,
// so only the additions round. Why lanes: one chain of n dependent double additions cost a decode step's RMSNorm
// 4 cycles per element; eight independent chains vectorise and take an eighth of the latency.
template <typename T>
double sum_squares(const T* x, size_t n) {
    double lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (size_t j = 0; j < 8; ++j) lane[j] += static_cast<double>(x[i + j]) * static_cast<double>(x[i + j]);
    for (size_t j = 0; i + j < n; ++j) lane[j] += static_cast<double>(x[i + j]) * static_cast<double>(x[i + j]);
    for (size_t j = 0; j < 4; ++j) lane[j] += lane[j + 4];
    for (size_t j = 0; j < 2; ++j) lane[j] += lane[j + 2];
    return lane[0] + lane[1];
}

// y = x / sqrt(mean(x²) + eps) · g; returns r = 1/sqrt(mean(x²) + eps) (kept by training for the backward).
// The mean in double (sum_squares' order), the inverse rounded once to T, then x·r·g. y may alias x.
template <typename T>
T rmsnorm_row(const T* x, const T* g, size_t n, float eps, T* y) {
    const double ss = sum_squares(x, n);
    const T r = static_cast<T>(1.0 / std::sqrt(ss / static_cast<double>(n) + eps));
    for (size_t i = 0; i < n; ++i) y[i] = x[i] * r * g[i];
    return r;
}

// Backward of one row given r (rmsnorm_row's result): dx += r·(dy⊙g − x̂·mean(dy⊙g⊙x̂)) with x̂ = x·r, the mean in
// double. The gain's gradient Σ_rows dy⊙x̂ is summed over rows by the caller (rmsnorm_gain_grad_row, in row order).
template <typename T>
void rmsnorm_row_backward(const T* dy, const T* x, const T* g, T r, size_t n, T* dx) {
    double dot = 0.0;  // Σ dy⊙g⊙x̂
    for (size_t i = 0; i < n; ++i) dot += static_cast<double>(dy[i] * g[i]) * static_cast<double>(x[i] * r);
    const T m = static_cast<T>(dot / static_cast<double>(n));
    for (size_t i = 0; i < n; ++i) dx[i] += r * (dy[i] * g[i] - x[i] * r * m);
}
// dg += dy⊙x̂ for one row.
template <typename T>
void rmsnorm_gain_grad_row(const T* dy, const T* x, T r, size_t n, T* dg) {
    for (size_t i = 0; i < n; ++i) dg[i] += dy[i] * (x[i] * r);
}

// x' = clamp(round_half_away(x·a), −128, 127) / a with a = 127 / max(max|x|, 1e-5). y may alias x.
// max|x| that skips NaN, as std::fmax does, without its library call.
template <typename T>
inline T abs_max(const T* x, size_t n) {
    T amax = 0;
    for (size_t i = 0; i < n; ++i) {
        const T v = std::fabs(x[i]);
        amax = v > amax ? v : amax;
    }
    return amax;
}

template <typename T>
void fake_quant_row(const T* x, size_t n, T* y) {
    const T amax = abs_max(x, n);
    const T a = T(127) / std::fmax(amax, T(1e-5f));
    for (size_t i = 0; i < n; ++i) {
        T q = round_half_away(x[i] * a);  // |x·a| ≤ 127.5: in range
        q = q > T(127) ? T(127) : q < T(-128) ? T(-128) : q;
        y[i] = q / a;
    }
}

// out = silu(gate) ⊙ up = gate / (1 + e^−gate) · up.
template <typename T>
void swiglu_span(const T* gate, const T* up, size_t n, T* out) {
    for (size_t i = 0; i < n; ++i) out[i] = gate[i] / (T(1) + std::exp(-gate[i])) * up[i];
}

// Backward: dg = dout⊙u⊙silu'(g), du = dout⊙silu(g), silu'(g) = σ(g)(1 + g(1 − σ(g))). dg may alias dout.
template <typename T>
void swiglu_span_backward(const T* dout, const T* gate, const T* up, size_t n, T* dg, T* du) {
    for (size_t i = 0; i < n; ++i) {
        const T d = dout[i];
        const T sig = T(1) / (T(1) + std::exp(-gate[i]));
        const T silu = gate[i] * sig;
        du[i] = d * silu;
        dg[i] = d * up[i] * (sig * (T(1) + gate[i] * (T(1) - sig)));
    }
}

// fhat = f / (‖f‖₂ + 1e-6); returns ‖f‖₂ (kept by training). fhat may alias f.
template <typename T>
T l2_normalize_row(const T* f, size_t n, T* fhat) {
    const double norm = std::sqrt(sum_squares(f, n));
    const T inv = static_cast<T>(1.0 / (norm + 1e-6));
    for (size_t i = 0; i < n; ++i) fhat[i] = f[i] * inv;
    return static_cast<T>(norm);
}

// Backward given norm = ‖f‖₂ (l2_normalize_row's result), with q = 1/(‖f‖ + 1e-6):
// df = q·df̂ − (q²/‖f‖)·f·⟨df̂, f⟩ (the second term is 0 when f = 0).
template <typename T>
void l2_normalize_row_backward(const T* dfhat, const T* f, T norm, size_t n, T* df) {
    const double nrm = static_cast<double>(norm);
    const double q = 1.0 / (nrm + 1e-6);
    double dot = 0.0;
    for (size_t i = 0; i < n; ++i) dot += static_cast<double>(dfhat[i]) * f[i];
    const T a = static_cast<T>(q);
    const T c = nrm > 0.0 ? static_cast<T>(q * q / nrm * dot) : T(0);
    for (size_t i = 0; i < n; ++i) df[i] = a * dfhat[i] - c * f[i];
}

// y[rows] = W[rows, cols] · x[cols]; W row-major; each sum in column order.
template <typename T>
void matvec_rows(const T* w, size_t rows, size_t cols, const T* x, T* y) {
    for (size_t r = 0; r < rows; ++r) {
        const T* row = w + r * cols;
        T acc = 0;
        for (size_t c = 0; c < cols; ++c) acc += row[c] * x[c];
        y[r] = acc;
    }
}

// Y[m, r] = Σ_c W[r, c]·X[m, c] for m < M, r0 ≤ r < r1 (W row-major [rows, K], X [M, K], Y [M, ldy]): the same sums
// in the same order as matvec_rows on each row of X, so a row's result never depends on M or on the other rows
// (a batch of contexts gives each the bits it gets alone). Rows of X go through in tiles of 8, transposed so that
// each weight is loaded once per tile and multiplies 8 independent sums (compilers vectorise across the tile).
template <typename T>
void matmul_rows(const T* w, size_t K, const T* x, size_t M, T* y, size_t ldy, size_t r0, size_t r1) {
    constexpr size_t kTile = 8;
    if (M < kTile) {
        for (size_t m = 0; m < M; ++m) matvec_rows<T>(w + r0 * K, r1 - r0, K, x + m * K, y + m * ldy + r0);
        return;
    }
    std::vector<T> xt(K * kTile);
    for (size_t m0 = 0; m0 < M; m0 += kTile) {
        const size_t mt = std::min(kTile, M - m0);  // rows past M are zero; their sums are dropped
        for (size_t c = 0; c < K; ++c)
            for (size_t j = 0; j < kTile; ++j) xt[c * kTile + j] = j < mt ? x[(m0 + j) * K + c] : T(0);
        for (size_t r = r0; r < r1; ++r) {
            const T* row = w + r * K;
            T acc[kTile] = {};
            for (size_t c = 0; c < K; ++c) {
                const T wc = row[c];
                const T* xc = xt.data() + c * kTile;
                for (size_t j = 0; j < kTile; ++j) acc[j] += wc * xc[j];
            }
            for (size_t j = 0; j < mt; ++j) y[(m0 + j) * ldy + r] = acc[j];
        }
    }
}

// The float entry points the kernel tests and the CPU backend use.
inline void matvec_f32_ref(const float* w, size_t rows, size_t cols, const float* x, float* y) {
    matvec_rows<float>(w, rows, cols, x, y);
}
inline void rmsnorm_ref(const float* x, const float* g, size_t n, float eps, float* y) { rmsnorm_row<float>(x, g, n, eps, y); }
inline void fake_quant_int8_ref(const float* x, size_t n, float* y) { fake_quant_row<float>(x, n, y); }
inline void swiglu_ref(const float* gate, const float* up, size_t n, float* out) { swiglu_span<float>(gate, up, n, out); }
inline void l2_normalize_ref(const float* f, size_t n, float* fhat) { l2_normalize_row<float>(f, n, fhat); }

}  // namespace ttt
