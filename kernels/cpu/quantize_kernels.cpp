#include "cpu/quantize_kernels.h"

#include <cmath>

#include "cpu/cpu_features.h"
#include "cpu/ops_ref.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define TTT_QUANT_X86 1
// GCC 12's 512-bit intrinsics start from a self-initialised "undefined" vector and then warn about it when inlined.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace ttt {

namespace {

#if TTT_QUANT_X86

// The row's factor a = 127 / max(max|x|, 1e-5), given max|x| over its first i columns from the vector loop: the
// remaining columns as the scalar abs_max does (NaN skipped).
inline float row_factor(const float* xm, size_t i, size_t K, float amax) {
    for (; i < K; ++i) {
        const float v = std::fabs(xm[i]);
        amax = v > amax ? v : amax;
    }
    return 127.0f / std::fmax(amax, 1e-5f);
}

// 8 floats of one row → 8 int8 codes, exactly as the scalar loop: v = x·a (float), round half away from zero,
// clamp to [−128, 127], NaN → 0.
__attribute__((target("avx2,fma"))) inline __m256i quantize8(__m256 x, __m256 a) {
    const __m256 v = _mm256_mul_ps(x, a);
    const __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __m256 frac = _mm256_sub_ps(v, t);
    const __m256 one = _mm256_set1_ps(1.0f), half = _mm256_set1_ps(0.5f), mhalf = _mm256_set1_ps(-0.5f);
    __m256 r = _mm256_add_ps(t, _mm256_and_ps(_mm256_cmp_ps(frac, half, _CMP_GE_OQ), one));
    r = _mm256_sub_ps(r, _mm256_and_ps(_mm256_cmp_ps(frac, mhalf, _CMP_LE_OQ), one));
    // Scalar: v > 127 ? 127 : v < −128 ? −128 : v — ordered compares leave NaN alone, then NaN → 0.
    r = _mm256_blendv_ps(r, _mm256_set1_ps(127.0f), _mm256_cmp_ps(r, _mm256_set1_ps(127.0f), _CMP_GT_OQ));
    r = _mm256_blendv_ps(r, _mm256_set1_ps(-128.0f), _mm256_cmp_ps(r, _mm256_set1_ps(-128.0f), _CMP_LT_OQ));
    r = _mm256_and_ps(r, _mm256_cmp_ps(r, r, _CMP_ORD_Q));
    return _mm256_cvttps_epi32(r);
}

__attribute__((target("avx2,fma"))) void quantize_avx2(const float* x, size_t ldx, size_t M, size_t K, int8_t* q,
                                                       size_t ldq, float* a) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    for (size_t m = 0; m < M; ++m) {
        const float* xm = x + m * ldx;
        int8_t* qm = q + m * ldq;
        // max|x|, NaN skipped: max_ps(v, acc) = v > acc ? v : acc, the scalar abs_max step lane by lane.
        __m256 acc = _mm256_setzero_ps();
        size_t i = 0;
        for (; i + 8 <= K; i += 8) acc = _mm256_max_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(xm + i)), acc);
        alignas(32) float lanes[8];
        _mm256_store_ps(lanes, acc);
        float amax = 0.0f;
        for (float v : lanes) amax = v > amax ? v : amax;
        const float am = row_factor(xm, i, K, amax);
        a[m] = am;
        const __m256 av = _mm256_set1_ps(am);
        i = 0;
        for (; i + 8 <= K; i += 8) {
            const __m256i q32 = quantize8(_mm256_loadu_ps(xm + i), av);
            const __m128i q16 = _mm_packs_epi32(_mm256_castsi256_si128(q32), _mm256_extracti128_si256(q32, 1));
            _mm_storel_epi64(reinterpret_cast<__m128i*>(qm + i), _mm_packs_epi16(q16, q16));
        }
        for (; i < K; ++i) {
            float v = round_half_away(xm[i] * am);
            v = v > 127.0f ? 127.0f : v < -128.0f ? -128.0f : v;
            qm[i] = v == v ? static_cast<int8_t>(v) : 0;
        }
    }
}

// The same function on 16 lanes with AVX-512 (F, BW, VL): the clamp by min/max (NaN lanes are zeroed by the mask
// of ordered values instead), the conversion to int8 by one saturating narrow store. A decode step quantises a
// few short rows per layer, where the avx2 loop's packing and 8-byte stores were most of the time.
__attribute__((target("avx2,fma,avx512f,avx512bw,avx512vl"))) void quantize_avx512(const float* x, size_t ldx,
                                                                                size_t M, size_t K, int8_t* q,
                                                                                size_t ldq, float* a) {
    const __m512 one = _mm512_set1_ps(1.0f), half = _mm512_set1_ps(0.5f), mhalf = _mm512_set1_ps(-0.5f);
    const __m512 hi = _mm512_set1_ps(127.0f), lo = _mm512_set1_ps(-128.0f);
    for (size_t m = 0; m < M; ++m) {
        const float* xm = x + m * ldx;
        int8_t* qm = q + m * ldq;
        __m512 acc = _mm512_setzero_ps();
        size_t i = 0;
        for (; i + 16 <= K; i += 16) acc = _mm512_max_ps(_mm512_abs_ps(_mm512_loadu_ps(xm + i)), acc);
        float amax = _mm512_reduce_max_ps(acc);  // max is exact: any order gives the scalar loop's value
        const float am = row_factor(xm, i, K, amax);
        a[m] = am;
        const __m512 av = _mm512_set1_ps(am);
        for (i = 0; i < K; i += 16) {
            const __mmask16 live = K - i >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (K - i)) - 1);
            const __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(live, xm + i), av);
            const __m512 t = _mm512_roundscale_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
            const __m512 frac = _mm512_sub_ps(v, t);
            __m512 r = _mm512_mask_add_ps(t, _mm512_cmp_ps_mask(frac, half, _CMP_GE_OQ), t, one);
            r = _mm512_mask_sub_ps(r, _mm512_cmp_ps_mask(frac, mhalf, _CMP_LE_OQ), r, one);
            r = _mm512_max_ps(_mm512_min_ps(r, hi), lo);
            const __m512i q32 = _mm512_maskz_cvttps_epi32(_mm512_cmp_ps_mask(v, v, _CMP_ORD_Q), r);
            _mm_mask_storeu_epi8(qm + i, live, _mm512_cvtsepi32_epi8(q32));
        }
    }
}

#endif

}  // namespace

QuantizeRowsFn quantize_rows_kernel(CpuLevel level) {
#if TTT_QUANT_X86
    if (level == CpuLevel::avx512 && cpu_features().avx512) return quantize_avx512;
    if (level != CpuLevel::scalar && cpu_features().avx2) return quantize_avx2;
#else
    (void)level;
#endif
    return quantize_rows_i8;
}

}  // namespace ttt
