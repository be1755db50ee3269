// Small AVX2 helpers shared by the x86 kernels (compiled with target attributes, called only after dispatch).
#pragma once

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#include <cstddef>

namespace ttt {

// Lanes 0..7 added as ((0+4)+(2+6)) + ((1+5)+(3+7)): a fixed tree, the same for every call, so a sum's bits depend
// only on its inputs.
__attribute__((target("avx2,fma"))) inline float hsum8(__m256 v) {
    const __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
    const __m128 s4 = _mm_add_ps(lo, hi);                     // (0+4, 1+5, 2+6, 3+7)
    const __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));  // (0+4)+(2+6), (1+5)+(3+7)
    return _mm_cvtss_f32(_mm_add_ss(s2, _mm_shuffle_ps(s2, s2, 1)));
}

#define TTT_AVX2_FMA __attribute__((target("avx2,fma")))

// 8 float lanes of AVX2 + FMA: the vector type V of exp_lanes.h, and the arithmetic of the attention kernels' avx2
// level (which adds its loads).
struct Avx2Lanes {
    using F = __m256;
    static constexpr size_t W = 8;
    TTT_AVX2_FMA static F zero() { return _mm256_setzero_ps(); }
    TTT_AVX2_FMA static F set1(float x) { return _mm256_set1_ps(x); }
    TTT_AVX2_FMA static F load(const float* p) { return _mm256_loadu_ps(p); }
    TTT_AVX2_FMA static void store(float* p, F x) { _mm256_storeu_ps(p, x); }
    TTT_AVX2_FMA static F add(F a, F b) { return _mm256_add_ps(a, b); }
    TTT_AVX2_FMA static F mul(F a, F b) { return _mm256_mul_ps(a, b); }
    TTT_AVX2_FMA static F fmadd(F a, F b, F c) { return _mm256_fmadd_ps(a, b, c); }
    TTT_AVX2_FMA static F fnmadd(F a, F b, F c) { return _mm256_fnmadd_ps(a, b, c); }
    TTT_AVX2_FMA static F min(F a, F b) { return _mm256_min_ps(a, b); }
    TTT_AVX2_FMA static F max(F a, F b) { return _mm256_max_ps(a, b); }
    TTT_AVX2_FMA static F round_nearest(F x) { return _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
    TTT_AVX2_FMA static F pow2m1(F n) {  // 2^(n−1) in the exponent bits
        return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(126)), 23));
    }
    TTT_AVX2_FMA static float hsum(F x) { return hsum8(x); }
};

}  // namespace ttt
#endif
