// Small AVX2 helpers shared by the x86 kernels (compiled with target attributes, called only after dispatch).
#pragma once

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

namespace ttt {

// Lanes 0..7 added as ((0+4)+(2+6)) + ((1+5)+(3+7)): a fixed tree, the same for every call, so a sum's bits depend
// only on its inputs.
__attribute__((target("avx2,fma"))) inline float hsum8(__m256 v) {
    const __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
    const __m128 s4 = _mm_add_ps(lo, hi);                     // (0+4, 1+5, 2+6, 3+7)
    const __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));  // (0+4)+(2+6), (1+5)+(3+7)
    return _mm_cvtss_f32(_mm_add_ss(s2, _mm_shuffle_ps(s2, s2, 1)));
}

}  // namespace ttt
#endif
