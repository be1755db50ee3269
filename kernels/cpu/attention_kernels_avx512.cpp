// The avx512 level of attention_kernels.h: attention_kernels_body.h over 16-lane AVX-512 vectors (F for the
// arithmetic and conversions; Zen 4 runs them as two 256-bit halves, so the gain over avx2 is fewer instructions,
// not wider units). Compiled for that instruction set by the pragma below; attention_kernels.cpp hands it out only
// when cpu_features() says the CPU runs it.
#if defined(__x86_64__) || defined(__i386__)

// Every header with inline code comes before the target pragma, so only this file's own functions get AVX-512 code.
#include <cmath>
#include <cstdint>
#include <immintrin.h>

#include "cpu/attention_kernels.h"

// GCC 12's 512-bit intrinsics start from a self-initialised "undefined" vector and then warn about it when inlined.
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

// gcc compiles the rest of the file for the target by the pragma; clang ignores `#pragma GCC target` and takes the
// attribute on every function declared up to the pop instead (the struct's members and the body's templates too).
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c,avx512f,avx512bw,avx512vl")
#endif

namespace ttt {

namespace {

struct Avx512 {
    using F = __m512;
    static constexpr size_t W = 16;
    static F zero() { return _mm512_setzero_ps(); }
    static F set1(float x) { return _mm512_set1_ps(x); }
    static F load(const float* p) { return _mm512_loadu_ps(p); }
    static void store(float* p, F x) { _mm512_storeu_ps(p, x); }
    static F load_f16(const uint16_t* p) { return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))); }
    static F load_i8(const int8_t* p) {
        return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
    }
    static F add(F a, F b) { return _mm512_add_ps(a, b); }
    static F mul(F a, F b) { return _mm512_mul_ps(a, b); }
    static F fmadd(F a, F b, F c) { return _mm512_fmadd_ps(a, b, c); }
    static F fnmadd(F a, F b, F c) { return _mm512_fnmadd_ps(a, b, c); }
    static F min(F a, F b) { return _mm512_min_ps(a, b); }
    static F max(F a, F b) { return _mm512_max_ps(a, b); }
    static F round_nearest(F x) { return _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
    static F pow2m1(F n) {  // 2^(n−1) in the exponent bits
        return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(126)), 23));
    }
    // Fixed trees: the halves added (or maxed), then the 8-lane tree.
    static float hsum(F x) {
        const __m256 h = _mm256_add_ps(_mm512_castps512_ps256(x), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(x), 1)));
        const __m128 lo = _mm256_castps256_ps128(h), hi = _mm256_extractf128_ps(h, 1);
        const __m128 s4 = _mm_add_ps(lo, hi);
        const __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
        return _mm_cvtss_f32(_mm_add_ss(s2, _mm_shuffle_ps(s2, s2, 1)));
    }
    static float hmax(F x) { return _mm512_reduce_max_ps(x); }
};

#include "cpu/attention_kernels_body.h"

}  // namespace

void attention_chunk_avx512(const float* q, size_t n_q, const KvCacheView& c, size_t kvh, size_t j0, size_t j1,
                            const AttentionPartial& out, float* scratch) {
    attention_chunk_simd<Avx512>(q, n_q, c, kvh, j0, j1, out, scratch);
}

}  // namespace ttt

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

#endif
