// The AVX2 level of ternary_kernels.h on the interleaved layout (ternary_interleaved.h). Compiled for AVX2 through
// target attributes only (every function here, nothing inline from headers), so the rest of the library keeps the
// baseline ISA; ternary_kernels_dispatch.cpp hands this table out only when cpu_features().avx2.
//
// i8: per row and 128-column block, (bytes >> 2k) & 3 gives the offset codes w+1 ∈ {0,1,2} of 32 columns;
// vpmaddubsw(codes, x) sums pairs into int16 (|2·2·128| ≤ 512: no saturation, even for x = −128), the four slices
// add in int16 (≤ 2048), vpmaddwd widens to int32. The exact sum is Σ(w+1)x − Σx; one float division as the scalar
// level does, so the result is bit-identical to it.
// f32: the codes index a {−1, 0, +1} float table (vpermps); FMA into 8 lanes per (activation row, weight row).
#include "cpu/ternary_kernels_levels.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#include <algorithm>
#include <vector>

#include "cpu/ternary_interleaved.h"

#define TTT_AVX2 __attribute__((target("avx2,fma")))
#define TTT_AVX2_INLINE __attribute__((target("avx2,fma"), always_inline)) inline

// The shared int8 walk, compiled for this level (ternary_i8_driver.h).
#define TTT_I8_DRIVER_TARGET TTT_AVX2
#include "cpu/ternary_i8_driver.h"

namespace ttt {

namespace {

// 4 vectors of int32 lanes → their 4 horizontal sums.
TTT_AVX2_INLINE __m128i hsum4_epi32(__m256i a0, __m256i a1, __m256i a2, __m256i a3) {
    const __m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(a0, a1), _mm256_hadd_epi32(a2, a3));
    return _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
}

TTT_AVX2_INLINE __m128 hsum4_ps(__m256 a0, __m256 a1, __m256 a2, __m256 a3) {
    const __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3));
    return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}

// One 128-column block of a 4-row group against MB activation rows (xp[m] → 128 int8).
template <int MB>
TTT_AVX2_INLINE void block_i8(const uint8_t* w, const int8_t* const* xp, __m256i (&acc)[MB][4]) {
    const __m256i m3 = _mm256_set1_epi8(3), ones = _mm256_set1_epi16(1);
    for (int r = 0; r < 4; ++r) {
        const __m256i raw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + 32 * r));
        const __m256i d0 = _mm256_and_si256(raw, m3);
        const __m256i d1 = _mm256_and_si256(_mm256_srli_epi16(raw, 2), m3);
        const __m256i d2 = _mm256_and_si256(_mm256_srli_epi16(raw, 4), m3);
        const __m256i d3 = _mm256_and_si256(_mm256_srli_epi16(raw, 6), m3);
        for (int m = 0; m < MB; ++m) {
            const __m256i* x = reinterpret_cast<const __m256i*>(xp[m]);
            const __m256i s01 = _mm256_add_epi16(_mm256_maddubs_epi16(d0, _mm256_loadu_si256(x)),
                                                 _mm256_maddubs_epi16(d1, _mm256_loadu_si256(x + 1)));
            const __m256i s23 = _mm256_add_epi16(_mm256_maddubs_epi16(d2, _mm256_loadu_si256(x + 2)),
                                                 _mm256_maddubs_epi16(d3, _mm256_loadu_si256(x + 3)));
            acc[m][r] = _mm256_add_epi32(acc[m][r], _mm256_madd_epi16(_mm256_add_epi16(s01, s23), ones));
        }
    }
}

// Σ(w+1)·x of one 4-row group over all columns, for MB activation rows: out[m][i] for row i of the group.
template <int MB>
TTT_AVX2 void group_i8(const uint8_t* grp, size_t full_blocks, const I8Rows& xr, int32_t (&out)[I8Rows::kMax][4]) {
    __m256i acc[MB][4];
    for (int m = 0; m < MB; ++m)
        for (int r = 0; r < 4; ++r) acc[m][r] = _mm256_setzero_si256();
    const int8_t* xp[MB];
    for (int m = 0; m < MB; ++m) xp[m] = xr.x[m];
    for (size_t b = 0; b < full_blocks; ++b) {
        block_i8<MB>(grp + b * kIlvBlockBytes, xp, acc);
        for (int m = 0; m < MB; ++m) xp[m] += kIlvCols;
    }
    if (xr.tail[0]) block_i8<MB>(grp + full_blocks * kIlvBlockBytes, xr.tail, acc);
    for (int m = 0; m < MB; ++m)
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out[m]), hsum4_epi32(acc[m][0], acc[m][1], acc[m][2], acc[m][3]));
}

// GEMV (one activation row): the block sums of a row stay in int16 for up to 16 blocks (|sum| ≤ 16 · 4 · 512 =
// 32768, and only −32768 reaches the bound), then widen once: two instructions fewer per row and block than
// group_i8<1>, which matters because the GEMV is issue-bound (about 14 vector instructions per 128 weights).
TTT_AVX2_INLINE __m256i row_block_gemv(__m256i raw, __m256i x0, __m256i x1, __m256i x2, __m256i x3, __m256i m3) {
    const __m256i s01 = _mm256_add_epi16(_mm256_maddubs_epi16(_mm256_and_si256(raw, m3), x0),
                                         _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(raw, 2), m3), x1));
    const __m256i s23 = _mm256_add_epi16(_mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(raw, 4), m3), x2),
                                         _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(raw, 6), m3), x3));
    return _mm256_add_epi16(s01, s23);
}

TTT_AVX2_INLINE void block_gemv(const uint8_t* w, const int8_t* xp, __m256i& s0, __m256i& s1, __m256i& s2,
                                __m256i& s3) {
    const __m256i m3 = _mm256_set1_epi8(3);
    const __m256i* x = reinterpret_cast<const __m256i*>(xp);
    const __m256i x0 = _mm256_loadu_si256(x), x1 = _mm256_loadu_si256(x + 1);
    const __m256i x2 = _mm256_loadu_si256(x + 2), x3 = _mm256_loadu_si256(x + 3);
    const __m256i* wv = reinterpret_cast<const __m256i*>(w);
    s0 = _mm256_add_epi16(s0, row_block_gemv(_mm256_loadu_si256(wv), x0, x1, x2, x3, m3));
    s1 = _mm256_add_epi16(s1, row_block_gemv(_mm256_loadu_si256(wv + 1), x0, x1, x2, x3, m3));
    s2 = _mm256_add_epi16(s2, row_block_gemv(_mm256_loadu_si256(wv + 2), x0, x1, x2, x3, m3));
    s3 = _mm256_add_epi16(s3, row_block_gemv(_mm256_loadu_si256(wv + 3), x0, x1, x2, x3, m3));
}

TTT_AVX2 void group_gemv(const uint8_t* grp, size_t full_blocks, const I8Rows& xr, int32_t (&out)[I8Rows::kMax][4]) {
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
    const int8_t* xp = xr.x[0];
    const uint8_t* w = grp;
    const size_t blocks = full_blocks + (xr.tail[0] ? 1 : 0);
    for (size_t b0 = 0; b0 < blocks; b0 += 16) {
        __m256i s0 = _mm256_setzero_si256(), s1 = s0, s2 = s0, s3 = s0;
        const size_t b1 = std::min(blocks, b0 + 16);
        for (size_t b = b0; b < b1; ++b, xp += kIlvCols, w += kIlvBlockBytes)
            block_gemv(w, b < full_blocks ? xp : xr.tail[0], s0, s1, s2, s3);
        a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(s0, ones));
        a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(s1, ones));
        a2 = _mm256_add_epi32(a2, _mm256_madd_epi16(s2, ones));
        a3 = _mm256_add_epi32(a3, _mm256_madd_epi16(s3, ones));
    }
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out[0]), hsum4_epi32(a0, a1, a2, a3));
}

// The group kernels of this level, for the shared walk (ternary_i8_driver.h).
struct Avx2Groups {
    TTT_AVX2_INLINE static void run(size_t mb, const uint8_t* grp, size_t full, const I8Rows& xr, int32_t (&out)[I8Rows::kMax][4]) {
        switch (mb) {
            case 1: group_gemv(grp, full, xr, out); break;
            case 2: group_i8<2>(grp, full, xr, out); break;
            case 3: group_i8<3>(grp, full, xr, out); break;
            default: group_i8<4>(grp, full, xr, out); break;
        }
    }
};

TTT_AVX2 void avx2_gemm_i8(const uint8_t* packed, size_t rows, size_t cols, const int8_t* q, size_t ldq,
                        const float* a, size_t M, float* y, size_t ldy, size_t r0, size_t r1) {
    (void)rows;
    interleaved_gemm_i8<Avx2Groups>(packed, cols, q, ldq, a, M, y, ldy, r0, r1);
}

// f32: 8 code bytes widen to 8 int32 lanes (vpmovzxbd straight from memory), each lane holding the codes of 4
// slices; for slice k vpermps looks the float weight up with lane >> 2k as index (it reads only the low 3 bits:
// the code of slice k and one bit of slice k+1, so the table is {−1, 0, +1, 0} twice). The lookups are shared by
// the activation rows (at most 2 per pass); each activation row has one accumulator per slice, so every row is
// summed in the same order whatever M is and wherever the row sits in the batch (prefill and decode give the same
// bits, which the compute core's tests require).
template <int MB>
struct F32Acc {
    __m256 v[MB][4];
};

template <int MB>
TTT_AVX2_INLINE void row_block_f32(const uint8_t* w, const float* const* xp, F32Acc<MB>& acc) {
    const __m256 lut = _mm256_setr_ps(-1.0f, 0.0f, 1.0f, 0.0f, -1.0f, 0.0f, 1.0f, 0.0f);
    for (int q = 0; q < 4; ++q) {
        const __m256i e = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(w + 8 * q)));
        for (int k = 0; k < 4; ++k) {
            const __m256i idx = k == 0 ? e : _mm256_srl_epi32(e, _mm_cvtsi32_si128(2 * k));  // no immediate at -O0
            const __m256 wf = _mm256_permutevar8x32_ps(lut, idx);
            for (int m = 0; m < MB; ++m)
                acc.v[m][k] = _mm256_fmadd_ps(wf, _mm256_loadu_ps(xp[m] + 32 * k + 8 * q), acc.v[m][k]);
        }
    }
}

template <int MB>
TTT_AVX2_INLINE void group_f32(const uint8_t* grp, size_t full_blocks, const F32Rows& xr,
                               float (&out)[F32Rows::kMax][4]) {
    __m256 sums[MB][4];
    for (int r = 0; r < 4; ++r) {
        F32Acc<MB> acc;
        for (int m = 0; m < MB; ++m)
            for (int k = 0; k < 4; ++k) acc.v[m][k] = _mm256_setzero_ps();
        const float* xp[MB];
        for (int m = 0; m < MB; ++m) xp[m] = xr.x[m];
        for (size_t b = 0; b < full_blocks; ++b) {
            row_block_f32<MB>(grp + b * kIlvBlockBytes + 32 * r, xp, acc);
            for (int m = 0; m < MB; ++m) xp[m] += kIlvCols;
        }
        if (xr.tail[0]) row_block_f32<MB>(grp + full_blocks * kIlvBlockBytes + 32 * r, xr.tail, acc);
        for (int m = 0; m < MB; ++m) {
            sums[m][r] = _mm256_add_ps(_mm256_add_ps(acc.v[m][0], acc.v[m][1]),
                                       _mm256_add_ps(acc.v[m][2], acc.v[m][3]));
        }
    }
    for (int m = 0; m < MB; ++m) _mm_storeu_ps(out[m], hsum4_ps(sums[m][0], sums[m][1], sums[m][2], sums[m][3]));
}

}  // namespace

// Passes of up to MB_MAX activation rows share each weight lookup; a row's accumulators and their order are the
// same in every pass size, so its bits do not depend on MB_MAX or M.
template <int MB_MAX>
TTT_AVX2_INLINE void ilv_gemm_f32(const uint8_t* packed, size_t cols, const float* x, size_t ldx, size_t M, float* y,
                                  size_t ldy, size_t r0, size_t r1) {
    const size_t gbytes = ilv_group_bytes(cols), full = cols / kIlvCols;
    F32Rows xr;
    for (size_t m0 = 0; m0 < M; m0 += MB_MAX) {
        const size_t mb = std::min<size_t>(MB_MAX, M - m0);
        prepare_f32_rows(x + m0 * ldx, ldx, mb, cols, xr);
        for (size_t g = r0 / kIlvRows; g * kIlvRows < r1; ++g) {
            float out[F32Rows::kMax][4];
            const uint8_t* grp = packed + g * gbytes;
            if (mb == 1) group_f32<1>(grp, full, xr, out);
            else if (mb == 2 || MB_MAX == 2) group_f32<2>(grp, full, xr, out);
            else if (mb == 3) group_f32<3>(grp, full, xr, out);
            else group_f32<4>(grp, full, xr, out);
            const size_t rn = std::min(kIlvRows, r1 - g * kIlvRows);
            for (size_t m = 0; m < mb; ++m)
                for (size_t i = 0; i < rn; ++i) y[(m0 + m) * ldy + g * kIlvRows + i] = out[m][i];
        }
    }
}

// Passes of 2 rows: 8 accumulators, the lookups and the activations fill the 16 ymm registers.
TTT_AVX2 void ilv_gemm_f32_avx2(const uint8_t* packed, size_t rows, size_t cols, const float* x, size_t ldx, size_t M,
                                float* y, size_t ldy, size_t r0, size_t r1) {
    (void)rows;
    ilv_gemm_f32<2>(packed, cols, x, ldx, M, y, ldy, r0, r1);
}

// The same code with the 32 registers of AVX-512 VL (still 256-bit vectors: 512-bit ones ran no faster on Zen 4,
// whose 512-bit work runs on 256-bit units): passes of 4 rows share each lookup, so prefill spends one vpermps per
// 4 FMAs instead of 2. Same per-row order: bit-identical to the avx2 level.
__attribute__((target("avx2,fma,avx512f,avx512vl"))) void ilv_gemm_f32_avx512(const uint8_t* packed, size_t rows,
                                                                              size_t cols, const float* x, size_t ldx,
                                                                              size_t M, float* y, size_t ldy, size_t r0,
                                                                              size_t r1) {
    (void)rows;
    ilv_gemm_f32<4>(packed, cols, x, ldx, M, y, ldy, r0, r1);
}

const TernaryKernels* ternary_kernels_avx2() {
    static const TernaryKernels k = {"avx2", CpuLevel::avx2, kIlvRows, false, ilv_packed_bytes, ilv_repack,
                                     ilv_gemm_f32_avx2, avx2_gemm_i8};
    return &k;
}

}  // namespace ttt

#else

namespace ttt {
const TernaryKernels* ternary_kernels_avx2() { return nullptr; }
}  // namespace ttt

#endif
