// The avx2 level of attention_kernels.h: attention_kernels_body.h over 8-lane AVX2 vectors (FMA, F16C for the f16
// cache). Compiled for that instruction set by the pragma below; attention_kernels.cpp hands it out only when
// cpu_features() says the CPU runs it.
#if defined(__x86_64__) || defined(__i386__)

// Every header with inline code comes before the target pragma, so only this file's own functions get AVX2 code.
#include <cmath>
#include <cstdint>
#include <immintrin.h>

#include "cpu/attention_kernels.h"
#include "cpu/simd_x86.h"

// gcc compiles the rest of the file for the target by the pragma; clang ignores `#pragma GCC target` and takes the
// attribute on every function declared up to the pop instead (the struct's members and the body's templates too).
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c")
#endif

namespace ttt {

namespace {

struct Avx2 {
    using F = __m256;
    static constexpr size_t W = 8;
    static F zero() { return _mm256_setzero_ps(); }
    static F set1(float x) { return _mm256_set1_ps(x); }
    static F load(const float* p) { return _mm256_loadu_ps(p); }
    static void store(float* p, F x) { _mm256_storeu_ps(p, x); }
    static F load_f16(const uint16_t* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
    static F load_i8(const int8_t* p) {
        return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
    }
    static F add(F a, F b) { return _mm256_add_ps(a, b); }
    static F mul(F a, F b) { return _mm256_mul_ps(a, b); }
    static F fmadd(F a, F b, F c) { return _mm256_fmadd_ps(a, b, c); }
    static F fnmadd(F a, F b, F c) { return _mm256_fnmadd_ps(a, b, c); }
    static F max(F a, F b) { return _mm256_max_ps(a, b); }
    static F round_nearest(F x) { return _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
    static F pow2(F n) {
        const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(126)), 23);
        return _mm256_mul_ps(_mm256_castsi256_ps(e), _mm256_set1_ps(2.0f));
    }
    static float hsum(F x) { return hsum8(x); }
    static float hmax(F x) {
        __m128 m = _mm_max_ps(_mm256_castps256_ps128(x), _mm256_extractf128_ps(x, 1));
        m = _mm_max_ps(m, _mm_movehl_ps(m, m));
        return _mm_cvtss_f32(_mm_max_ss(m, _mm_shuffle_ps(m, m, 1)));
    }
};

#include "cpu/attention_kernels_body.h"

}  // namespace

void attention_chunk_avx2(const float* q, size_t n_q, const KvCacheView& c, size_t kvh, size_t j0, size_t j1,
                          const AttentionPartial& out, float* scratch) {
    attention_chunk_simd<Avx2>(q, n_q, c, kvh, j0, j1, out, scratch);
}

}  // namespace ttt

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

#endif
