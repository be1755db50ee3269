#include "cpu/swiglu_kernels.h"

#include <cstring>

#include "cpu/cpu_features.h"
#include "cpu/ops_ref.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define TTT_SWIGLU_X86 1
#endif

namespace ttt {

namespace {

void swiglu_scalar(const float* gate, const float* up, size_t n, float* out) { swiglu_span(gate, up, n, out); }

#if TTT_SWIGLU_X86

#define TTT_AVX2_INLINE __attribute__((target("avx2,fma"), always_inline)) inline

// e^x for 8 lanes (Cephes' expf: the same reduction and polynomial). NaN stays NaN.
TTT_AVX2_INLINE __m256 exp8(__m256 x) {
    // min/max return their second operand when one is NaN: x second keeps a NaN.
    x = _mm256_min_ps(_mm256_set1_ps(88.7f), x);
    x = _mm256_max_ps(_mm256_set1_ps(-86.5f), x);  // n ≥ −125: 2^(n−1) below stays a normal float
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    // 2^n in the exponent bits, built as 2^(n−1)·2 (n ∈ [−125, 128] after the clamp; n = 128 only where p < 1, so
    // the product stays finite).
    const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(126)), 23);
    return _mm256_mul_ps(_mm256_mul_ps(p, _mm256_castsi256_ps(e)), _mm256_set1_ps(2.0f));
}

TTT_AVX2_INLINE __m256 swiglu8(__m256 g, __m256 u) {
    __m256 e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), g));
    // Where e^−g overflows in the oracle (g < −88.72), g / (1 + ∞) = −0 there: the same here, not g / e^88.7.
    e = _mm256_blendv_ps(e, _mm256_set1_ps(__builtin_inff()), _mm256_cmp_ps(g, _mm256_set1_ps(-88.72f), _CMP_LT_OQ));
    return _mm256_mul_ps(_mm256_div_ps(g, _mm256_add_ps(_mm256_set1_ps(1.0f), e)), u);
}

__attribute__((target("avx2,fma"))) void swiglu_avx2(const float* gate, const float* up, size_t n, float* out) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, swiglu8(_mm256_loadu_ps(gate + i), _mm256_loadu_ps(up + i)));
    if (i < n) {  // the same code on a padded copy
        float g[8] = {}, u[8] = {}, o[8];
        std::memcpy(g, gate + i, (n - i) * 4);
        std::memcpy(u, up + i, (n - i) * 4);
        _mm256_storeu_ps(o, swiglu8(_mm256_loadu_ps(g), _mm256_loadu_ps(u)));
        std::memcpy(out + i, o, (n - i) * 4);
    }
}

#endif

}  // namespace

SwigluFn swiglu_kernel(CpuLevel level) {
#if TTT_SWIGLU_X86
    if (level >= CpuLevel::avx2 && cpu_features().avx2) return swiglu_avx2;
#else
    (void)level;
#endif
    return swiglu_scalar;
}

}  // namespace ttt
