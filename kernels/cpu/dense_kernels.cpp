#include "cpu/dense_kernels.h"

#include "cpu/cpu_features.h"
#include "cpu/ops_ref.h"

#if defined(__x86_64__) || defined(__i386__)
#include "cpu/simd_x86.h"
#define TTT_DENSE_X86 1
#endif

namespace ttt {

namespace {

void dense_scalar(const float* w, size_t K, const float* x, size_t M, float* y, size_t ldy, size_t r0, size_t r1) {
    matmul_rows<float>(w, K, x, M, y, ldy, r0, r1);
}

#if TTT_DENSE_X86


// Four weight rows against one activation row: each of the four sums in the order of the contract.
__attribute__((target("avx2,fma"))) void dot4(const float* w, size_t K, const float* x, float* out) {
    const float *w0 = w, *w1 = w + K, *w2 = w + 2 * K, *w3 = w + 3 * K;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    const size_t K8 = K / 8 * 8;
    for (size_t c = 0; c < K8; c += 8) {
        const __m256 xv = _mm256_loadu_ps(x + c);
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w0 + c), xv, a0);
        a1 = _mm256_fmadd_ps(_mm256_loadu_ps(w1 + c), xv, a1);
        a2 = _mm256_fmadd_ps(_mm256_loadu_ps(w2 + c), xv, a2);
        a3 = _mm256_fmadd_ps(_mm256_loadu_ps(w3 + c), xv, a3);
    }
    float s[4] = {hsum8(a0), hsum8(a1), hsum8(a2), hsum8(a3)};
    for (size_t c = K8; c < K; ++c) {
        s[0] += w0[c] * x[c];
        s[1] += w1[c] * x[c];
        s[2] += w2[c] * x[c];
        s[3] += w3[c] * x[c];
    }
    for (int i = 0; i < 4; ++i) out[i] = s[i];
}

// Four weight rows against two activation rows: eight independent chains (one per (row, activation) pair) keep
// both FMA units busy; each chain is exactly dot4's for its pair.
__attribute__((target("avx2,fma"))) void dot4x2(const float* w, size_t K, const float* x0, const float* x1,
                                                float* out0, float* out1) {
    const float *w0 = w, *w1 = w + K, *w2 = w + 2 * K, *w3 = w + 3 * K;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
    const size_t K8 = K / 8 * 8;
    for (size_t c = 0; c < K8; c += 8) {
        const __m256 xa = _mm256_loadu_ps(x0 + c), xb = _mm256_loadu_ps(x1 + c);
        const __m256 v0 = _mm256_loadu_ps(w0 + c), v1 = _mm256_loadu_ps(w1 + c);
        const __m256 v2 = _mm256_loadu_ps(w2 + c), v3 = _mm256_loadu_ps(w3 + c);
        a0 = _mm256_fmadd_ps(v0, xa, a0);
        a1 = _mm256_fmadd_ps(v1, xa, a1);
        a2 = _mm256_fmadd_ps(v2, xa, a2);
        a3 = _mm256_fmadd_ps(v3, xa, a3);
        b0 = _mm256_fmadd_ps(v0, xb, b0);
        b1 = _mm256_fmadd_ps(v1, xb, b1);
        b2 = _mm256_fmadd_ps(v2, xb, b2);
        b3 = _mm256_fmadd_ps(v3, xb, b3);
    }
    float s[4] = {hsum8(a0), hsum8(a1), hsum8(a2), hsum8(a3)};
    float t[4] = {hsum8(b0), hsum8(b1), hsum8(b2), hsum8(b3)};
    for (size_t c = K8; c < K; ++c) {
        s[0] += w0[c] * x0[c], s[1] += w1[c] * x0[c], s[2] += w2[c] * x0[c], s[3] += w3[c] * x0[c];
        t[0] += w0[c] * x1[c], t[1] += w1[c] * x1[c], t[2] += w2[c] * x1[c], t[3] += w3[c] * x1[c];
    }
    for (int i = 0; i < 4; ++i) out0[i] = s[i], out1[i] = t[i];
}

__attribute__((target("avx2,fma"))) float dot1(const float* w, size_t K, const float* x) {
    __m256 a = _mm256_setzero_ps();
    const size_t K8 = K / 8 * 8;
    for (size_t c = 0; c < K8; c += 8) a = _mm256_fmadd_ps(_mm256_loadu_ps(w + c), _mm256_loadu_ps(x + c), a);
    float s = hsum8(a);
    for (size_t c = K8; c < K; ++c) s += w[c] * x[c];
    return s;
}

__attribute__((target("avx2,fma"))) void dense_avx2(const float* w, size_t K, const float* x, size_t M, float* y,
                                                    size_t ldy, size_t r0, size_t r1) {
    // Blocks of 4 weight rows stay in L1 while every activation row meets them.
    size_t r = r0;
    for (; r + 4 <= r1; r += 4) {
        const float* wr = w + r * K;
        size_t m = 0;
        for (; m + 2 <= M; m += 2) {
            float o0[4], o1[4];
            dot4x2(wr, K, x + m * K, x + (m + 1) * K, o0, o1);
            for (int i = 0; i < 4; ++i) y[m * ldy + r + size_t(i)] = o0[i], y[(m + 1) * ldy + r + size_t(i)] = o1[i];
        }
        for (; m < M; ++m) {
            float out[4];
            dot4(wr, K, x + m * K, out);
            for (int i = 0; i < 4; ++i) y[m * ldy + r + size_t(i)] = out[i];
        }
    }
    for (; r < r1; ++r)
        for (size_t m = 0; m < M; ++m) y[m * ldy + r] = dot1(w + r * K, K, x + m * K);
}

#endif

}  // namespace

DenseMatmulFn dense_matmul_kernel(CpuLevel level) {
#if TTT_DENSE_X86
    if (level != CpuLevel::scalar && cpu_features().avx2) return dense_avx2;
#else
    (void)level;
#endif
    return dense_scalar;
}

}  // namespace ttt
