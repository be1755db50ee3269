#include "cpu/ttt_kernels.h"

#include "cpu/cpu_features.h"
#include "cpu/ttt_ref.h"

#if defined(__x86_64__) || defined(__i386__)
#include "cpu/simd_x86.h"
#define TTT_TTT_X86 1
#endif

namespace ttt {

namespace {

void ttt_scalar(const float* fhat, float* z, size_t n, size_t d, float* w, float* pending, uint64_t position,
                size_t chunk, float lr, size_t i0, size_t i1) {
    ttt_chunked_rows<float>(fhat, z, n, d, w, pending, position, chunk, lr, i0, i1);
}

#if TTT_TTT_X86

// z_i = W_i·f̂ for one row: 8 lanes with FMA in index order, hsum8's tree, the tail after. Every row's sum takes this
// order whether it is computed alone or beside three others (dot4), so the grouping never changes a bit.
__attribute__((target("avx2,fma"))) inline float dot_row(const float* wr, const float* f, size_t d, size_t d8) {
    __m256 acc = _mm256_setzero_ps();
    for (size_t j = 0; j < d8; j += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(wr + j), _mm256_loadu_ps(f + j), acc);
    float s = hsum8(acc);
    for (size_t j = d8; j < d; ++j) s += wr[j] * f[j];
    return s;
}

// Four rows' dot products at once: four independent FMA chains share each load of f̂ (one chain alone waits on
// the FMA latency, d/8 times per row).
__attribute__((target("avx2,fma"))) inline void dot4(const float* w, size_t d, size_t d8, const float* f, float* s) {
    const float *w0 = w, *w1 = w + d, *w2 = w + 2 * d, *w3 = w + 3 * d;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (size_t j = 0; j < d8; j += 8) {
        const __m256 fv = _mm256_loadu_ps(f + j);
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w0 + j), fv, a0);
        a1 = _mm256_fmadd_ps(_mm256_loadu_ps(w1 + j), fv, a1);
        a2 = _mm256_fmadd_ps(_mm256_loadu_ps(w2 + j), fv, a2);
        a3 = _mm256_fmadd_ps(_mm256_loadu_ps(w3 + j), fv, a3);
    }
    s[0] = hsum8(a0), s[1] = hsum8(a1), s[2] = hsum8(a2), s[3] = hsum8(a3);
    for (size_t j = d8; j < d; ++j) {
        s[0] += w0[j] * f[j], s[1] += w1[j] * f[j], s[2] += w2[j] * f[j], s[3] += w3[j] * f[j];
    }
}

// pending += e·f̂ and, at a chunk's end, W −= lr·pending, for row i (e = z_i − f̂_i): element-wise, the scalar
// operations exactly (a multiply, then an add: no fusion).
__attribute__((target("avx2,fma"))) inline void update_row(float* wr, float* pr, const float* f, float e, size_t d,
                                                           size_t d8, bool closes, float lr) {
    const __m256 ev = _mm256_set1_ps(e), lrv = _mm256_set1_ps(lr);
    size_t j = 0;
    for (; j < d8; j += 8) {
        __m256 p = _mm256_add_ps(_mm256_loadu_ps(pr + j), _mm256_mul_ps(ev, _mm256_loadu_ps(f + j)));
        if (closes) {
            _mm256_storeu_ps(wr + j, _mm256_sub_ps(_mm256_loadu_ps(wr + j), _mm256_mul_ps(lrv, p)));
            p = _mm256_setzero_ps();
        }
        _mm256_storeu_ps(pr + j, p);
    }
    for (; j < d; ++j) {
        pr[j] += e * f[j];
        if (closes) {
            wr[j] -= lr * pr[j];
            pr[j] = 0.0f;
        }
    }
}

__attribute__((target("avx2,fma"))) void ttt_avx2(const float* fhat, float* z, size_t n, size_t d, float* w,
                                                  float* pending, uint64_t position, size_t chunk, float lr, size_t i0,
                                                  size_t i1) {
    const size_t d8 = d / 8 * 8;
    for (size_t t = 0; t < n; ++t) {
        const float* f = fhat + t * d;
        float* zt = z + t * d;
        const bool closes = (position + t + 1) % chunk == 0;
        // Rows four at a time: their dot products, then their updates while the rows are still in L1 (row i's
        // update touches only row i of W and pending, so the order between rows does not matter).
        size_t i = i0;
        for (; i + 4 <= i1; i += 4) {
            dot4(w + i * d, d, d8, f, zt + i);
            for (size_t r = i; r < i + 4; ++r) update_row(w + r * d, pending + r * d, f, zt[r] - f[r], d, d8, closes, lr);
        }
        for (; i < i1; ++i) {
            zt[i] = dot_row(w + i * d, f, d, d8);
            update_row(w + i * d, pending + i * d, f, zt[i] - f[i], d, d8, closes, lr);
        }
    }
}

#endif

}  // namespace

TttChunkedFn ttt_chunked_kernel(CpuLevel level) {
#if TTT_TTT_X86
    if (level != CpuLevel::scalar && cpu_features().avx2) return ttt_avx2;
#else
    (void)level;
#endif
    return ttt_scalar;
}

}  // namespace ttt
