#include "cpu/swiglu_kernels.h"

#include <cstring>

#include "cpu/cpu_features.h"
#include "cpu/ops_ref.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#include "cpu/simd_x86.h"
#define TTT_SWIGLU_X86 1
#endif

namespace ttt {

namespace {

void swiglu_scalar(const float* gate, const float* up, size_t n, float* out) { swiglu_span(gate, up, n, out); }

#if TTT_SWIGLU_X86

#define TTT_AVX2_INLINE __attribute__((target("avx2,fma"), always_inline)) inline
#define TTT_EXP_TARGET __attribute__((target("avx2,fma"), always_inline))
#include "cpu/exp_lanes.h"

TTT_AVX2_INLINE __m256 swiglu8(__m256 g, __m256 u) {
    __m256 e = exp_lanes<Avx2Lanes>(_mm256_sub_ps(_mm256_setzero_ps(), g));
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
