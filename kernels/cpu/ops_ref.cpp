#include "cpu/ops_ref.h"

#include <cmath>

namespace ttt {

void matvec_f32_ref(const float* w, size_t rows, size_t cols, const float* x, float* y) {
    for (size_t r = 0; r < rows; ++r) {
        const float* row = w + r * cols;
        float acc = 0.0f;
        for (size_t c = 0; c < cols; ++c) acc += row[c] * x[c];
        y[r] = acc;
    }
}

void rmsnorm_ref(const float* x, const float* g, size_t n, float eps, float* y) {
    double ss = 0.0;
    for (size_t i = 0; i < n; ++i) ss += static_cast<double>(x[i]) * x[i];
    const float inv = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(n) + eps));
    for (size_t i = 0; i < n; ++i) y[i] = x[i] * inv * g[i];
}

void fake_quant_int8_ref(const float* x, size_t n, float* y) {
    float amax = 0.0f;
    for (size_t i = 0; i < n; ++i) amax = std::fmax(amax, std::fabs(x[i]));
    const float a = 127.0f / std::fmax(amax, 1e-5f);
    for (size_t i = 0; i < n; ++i) {
        float q = std::round(x[i] * a);
        q = q > 127.0f ? 127.0f : q < -128.0f ? -128.0f : q;
        y[i] = q / a;
    }
}

void swiglu_ref(const float* gate, const float* up, size_t n, float* out) {
    for (size_t i = 0; i < n; ++i) out[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

void l2_normalize_ref(const float* f, size_t n, float* fhat) {
    double ss = 0.0;
    for (size_t i = 0; i < n; ++i) ss += static_cast<double>(f[i]) * f[i];
    const float inv = static_cast<float>(1.0 / (std::sqrt(ss) + 1e-6));
    for (size_t i = 0; i < n; ++i) fhat[i] = f[i] * inv;
}

void ttt_accumulate_ref(const float* z, const float* fhat, size_t d, float* pending) {
    for (size_t i = 0; i < d; ++i) {
        const float e = z[i] - fhat[i];
        for (size_t j = 0; j < d; ++j) pending[i * d + j] += e * fhat[j];
    }
}

void ttt_apply_ref(float* w, float* pending, size_t d, float lr) {
    for (size_t i = 0; i < d * d; ++i) {
        w[i] -= lr * pending[i];
        pending[i] = 0.0f;
    }
}

}  // namespace ttt
