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


__attribute__((target("avx2,fma"))) void ttt_avx2(const float* fhat, float* z, size_t n, size_t d, float* w,
                                                  float* pending, uint64_t position, size_t chunk, float lr, size_t i0,
                                                  size_t i1) {
    const size_t d8 = d / 8 * 8;
    const __m256 lrv = _mm256_set1_ps(lr);
    for (size_t t = 0; t < n; ++t) {
        const float* f = fhat + t * d;
        float* zt = z + t * d;
        const bool closes = (position + t + 1) % chunk == 0;
        for (size_t i = i0; i < i1; ++i) {
            float* wr = w + i * d;
            float* pr = pending + i * d;
            __m256 acc = _mm256_setzero_ps();
            for (size_t j = 0; j < d8; j += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(wr + j), _mm256_loadu_ps(f + j), acc);
            float s = hsum8(acc);
            for (size_t j = d8; j < d; ++j) s += wr[j] * f[j];
            zt[i] = s;
            // pending += e·f̂ and, at a chunk's end, W −= lr·pending: element-wise, the scalar operations exactly
            // (a multiply, then an add: no fusion).
            const float e = s - f[i];
            const __m256 ev = _mm256_set1_ps(e);
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
