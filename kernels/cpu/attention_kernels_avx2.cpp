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

// Avx2Lanes' arithmetic (simd_x86.h) plus the cache's loads and a max.
struct Avx2 : Avx2Lanes {
    static F load_f16(const uint16_t* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
    static F load_i8(const int8_t* p) {
        return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
    }
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
