// The AVX2+FMA 6×16 GEMM micro-kernel (contract in gemm_ref.h). Twelve ymm accumulators (6 rows × 2 halves of
// 16 columns), two B loads and one A broadcast per k: 15 of the 16 ymm registers. Compiled for AVX2 through the
// target attribute only, so the rest of the library keeps the baseline ISA; gemm() calls it only after
// __builtin_cpu_supports says the CPU has AVX2 and FMA.
#include "cpu/gemm_ref.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

namespace ttt {

namespace {

__attribute__((target("avx2,fma"))) void micro_6x16_avx2(size_t kc, const float* a, const float* b, float* c,
                                                          size_t ldc, bool accumulate) {
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
    __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
    __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
    __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
    __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
    for (size_t k = 0; k < kc; ++k) {
        const __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
        __m256 ak;
        ak = _mm256_broadcast_ss(a + 0); c00 = _mm256_fmadd_ps(ak, b0, c00); c01 = _mm256_fmadd_ps(ak, b1, c01);
        ak = _mm256_broadcast_ss(a + 1); c10 = _mm256_fmadd_ps(ak, b0, c10); c11 = _mm256_fmadd_ps(ak, b1, c11);
        ak = _mm256_broadcast_ss(a + 2); c20 = _mm256_fmadd_ps(ak, b0, c20); c21 = _mm256_fmadd_ps(ak, b1, c21);
        ak = _mm256_broadcast_ss(a + 3); c30 = _mm256_fmadd_ps(ak, b0, c30); c31 = _mm256_fmadd_ps(ak, b1, c31);
        ak = _mm256_broadcast_ss(a + 4); c40 = _mm256_fmadd_ps(ak, b0, c40); c41 = _mm256_fmadd_ps(ak, b1, c41);
        ak = _mm256_broadcast_ss(a + 5); c50 = _mm256_fmadd_ps(ak, b0, c50); c51 = _mm256_fmadd_ps(ak, b1, c51);
        a += kGemmMR;
        b += kGemmNR;
    }
    float* r0 = c;
    float* r1 = c + ldc;
    float* r2 = c + 2 * ldc;
    float* r3 = c + 3 * ldc;
    float* r4 = c + 4 * ldc;
    float* r5 = c + 5 * ldc;
    if (accumulate) {
        c00 = _mm256_add_ps(_mm256_loadu_ps(r0), c00); c01 = _mm256_add_ps(_mm256_loadu_ps(r0 + 8), c01);
        c10 = _mm256_add_ps(_mm256_loadu_ps(r1), c10); c11 = _mm256_add_ps(_mm256_loadu_ps(r1 + 8), c11);
        c20 = _mm256_add_ps(_mm256_loadu_ps(r2), c20); c21 = _mm256_add_ps(_mm256_loadu_ps(r2 + 8), c21);
        c30 = _mm256_add_ps(_mm256_loadu_ps(r3), c30); c31 = _mm256_add_ps(_mm256_loadu_ps(r3 + 8), c31);
        c40 = _mm256_add_ps(_mm256_loadu_ps(r4), c40); c41 = _mm256_add_ps(_mm256_loadu_ps(r4 + 8), c41);
        c50 = _mm256_add_ps(_mm256_loadu_ps(r5), c50); c51 = _mm256_add_ps(_mm256_loadu_ps(r5 + 8), c51);
    }
    _mm256_storeu_ps(r0, c00); _mm256_storeu_ps(r0 + 8, c01);
    _mm256_storeu_ps(r1, c10); _mm256_storeu_ps(r1 + 8, c11);
    _mm256_storeu_ps(r2, c20); _mm256_storeu_ps(r2 + 8, c21);
    _mm256_storeu_ps(r3, c30); _mm256_storeu_ps(r3 + 8, c31);
    _mm256_storeu_ps(r4, c40); _mm256_storeu_ps(r4 + 8, c41);
    _mm256_storeu_ps(r5, c50); _mm256_storeu_ps(r5 + 8, c51);
}

}  // namespace

GemmMicroKernel gemm_micro_kernel_avx2() { return micro_6x16_avx2; }

}  // namespace ttt

#else  // not x86

namespace ttt {
GemmMicroKernel gemm_micro_kernel_avx2() { return nullptr; }
}  // namespace ttt

#endif
