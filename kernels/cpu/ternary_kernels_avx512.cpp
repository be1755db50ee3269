// The avx512 level of ternary_kernels.h (AVX-512 F/BW/VL + VNNI) on the interleaved layout of ternary_interleaved.h:
// the avx2 level's layout and f32 product, with the i8 product on vpdpbusd (u8 × s8, four products summed into an
// int32 lane, no saturation). 256-bit vectors: Zen 4 runs 512-bit integer work on 256-bit units, and the 32
// registers of AVX-512 are what pays (the 16 accumulators below). Compiled through target attributes only;
// ternary_kernels_dispatch.cpp hands this table out only when cpu_features().avx512.
//
// GEMV (one activation row): vpdpbusd latency (about 4-5 cycles) would serialise four slices on one accumulator, so
// each slice k gets its own: the code bits are masked in place (byte & (3 << 2k) = (w+1)·4^k, no shift), and the
// accumulator of slice k, an exact multiple of 4^k, is shifted back (>> 2k, exact) before the rows are summed.
// GEMM (2-4 activation rows): one accumulator per (activation row, weight row), the slices shifted and masked.
#include "cpu/ternary_kernels_levels.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#include <algorithm>

#include "cpu/ternary_interleaved.h"

#define TTT_AVX512 __attribute__((target("avx2,fma,avx512f,avx512bw,avx512vl,avx512vnni")))
#define TTT_AVX512_INLINE __attribute__((target("avx2,fma,avx512f,avx512bw,avx512vl,avx512vnni"), always_inline)) inline

namespace ttt {

namespace {

TTT_AVX512_INLINE __m128i hsum4_epi32(__m256i a0, __m256i a1, __m256i a2, __m256i a3) {
    const __m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(a0, a1), _mm256_hadd_epi32(a2, a3));
    return _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
}

// GEMV: acc[r][k] += ((w_r & (3 << 2k)) · x[32k..32k+31]) over one 128-column block.
TTT_AVX512_INLINE void block_gemv(const uint8_t* w, const int8_t* xp, __m256i (&acc)[4][4]) {
    const __m256i x0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xp));
    const __m256i x1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xp + 32));
    const __m256i x2 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xp + 64));
    const __m256i x3 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xp + 96));
    const __m256i k0 = _mm256_set1_epi8(0x03), k1 = _mm256_set1_epi8(0x0C);
    const __m256i k2 = _mm256_set1_epi8(0x30), k3 = _mm256_set1_epi8(char(0xC0));
    for (int r = 0; r < 4; ++r) {
        const __m256i raw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + 32 * r));
        acc[r][0] = _mm256_dpbusd_epi32(acc[r][0], _mm256_and_si256(raw, k0), x0);
        acc[r][1] = _mm256_dpbusd_epi32(acc[r][1], _mm256_and_si256(raw, k1), x1);
        acc[r][2] = _mm256_dpbusd_epi32(acc[r][2], _mm256_and_si256(raw, k2), x2);
        acc[r][3] = _mm256_dpbusd_epi32(acc[r][3], _mm256_and_si256(raw, k3), x3);
    }
}

TTT_AVX512 void group_gemv(const uint8_t* grp, size_t full_blocks, const I8Rows& xr, int32_t (&out)[I8Rows::kMax][4]) {
    __m256i acc[4][4];
    for (int r = 0; r < 4; ++r)
        for (int k = 0; k < 4; ++k) acc[r][k] = _mm256_setzero_si256();
    const int8_t* xp = xr.x[0];
    for (size_t b = 0; b < full_blocks; ++b, xp += kIlvCols) block_gemv(grp + b * kIlvBlockBytes, xp, acc);
    if (xr.tail[0]) block_gemv(grp + full_blocks * kIlvBlockBytes, xr.tail[0], acc);
    __m256i row[4];
    for (int r = 0; r < 4; ++r)
        row[r] = _mm256_add_epi32(_mm256_add_epi32(acc[r][0], _mm256_srai_epi32(acc[r][1], 2)),
                                  _mm256_add_epi32(_mm256_srai_epi32(acc[r][2], 4), _mm256_srai_epi32(acc[r][3], 6)));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out[0]), hsum4_epi32(row[0], row[1], row[2], row[3]));
}

// GEMM: acc[m][r] += Σ_k ((w_r >> 2k) & 3) · x_m[32k..32k+31] over one 128-column block.
template <int MB>
TTT_AVX512_INLINE void block_gemm(const uint8_t* w, const int8_t* const* xp, __m256i (&acc)[MB][4]) {
    const __m256i m3 = _mm256_set1_epi8(3);
    __m256i raw[4];
    for (int r = 0; r < 4; ++r) raw[r] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + 32 * r));
    for (int k = 0; k < 4; ++k) {
        __m256i d[4];
        for (int r = 0; r < 4; ++r) d[r] = _mm256_and_si256(_mm256_srl_epi16(raw[r], _mm_cvtsi32_si128(2 * k)), m3);
        for (int m = 0; m < MB; ++m) {
            const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xp[m] + 32 * k));
            for (int r = 0; r < 4; ++r) acc[m][r] = _mm256_dpbusd_epi32(acc[m][r], d[r], x);
        }
    }
}

template <int MB>
TTT_AVX512 void group_gemm(const uint8_t* grp, size_t full_blocks, const I8Rows& xr, int32_t (&out)[I8Rows::kMax][4]) {
    __m256i acc[MB][4];
    for (int m = 0; m < MB; ++m)
        for (int r = 0; r < 4; ++r) acc[m][r] = _mm256_setzero_si256();
    const int8_t* xp[MB];
    for (int m = 0; m < MB; ++m) xp[m] = xr.x[m];
    for (size_t b = 0; b < full_blocks; ++b) {
        block_gemm<MB>(grp + b * kIlvBlockBytes, xp, acc);
        for (int m = 0; m < MB; ++m) xp[m] += kIlvCols;
    }
    if (xr.tail[0]) block_gemm<MB>(grp + full_blocks * kIlvBlockBytes, xr.tail, acc);
    for (int m = 0; m < MB; ++m)
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out[m]), hsum4_epi32(acc[m][0], acc[m][1], acc[m][2], acc[m][3]));
}

TTT_AVX512 void avx512_gemm_i8(const uint8_t* packed, size_t rows, size_t cols, const int8_t* q, size_t ldq,
                               const float* a, size_t M, float* y, size_t ldy, size_t r0, size_t r1) {
    (void)rows;
    const size_t gbytes = ilv_group_bytes(cols), full = cols / kIlvCols;
    I8Rows xr;
    for (size_t m0 = 0; m0 < M; m0 += I8Rows::kMax) {
        const size_t mb = std::min<size_t>(I8Rows::kMax, M - m0);
        prepare_i8_rows(q + m0 * ldq, ldq, mb, cols, xr);
        for (size_t g = r0 / kIlvRows; g * kIlvRows < r1; ++g) {
            int32_t out[I8Rows::kMax][4];
            const uint8_t* grp = packed + g * gbytes;
            switch (mb) {
                case 1: group_gemv(grp, full, xr, out); break;
                case 2: group_gemm<2>(grp, full, xr, out); break;
                case 3: group_gemm<3>(grp, full, xr, out); break;
                default: group_gemm<4>(grp, full, xr, out); break;
            }
            const size_t rn = std::min(kIlvRows, r1 - g * kIlvRows);
            for (size_t m = 0; m < mb; ++m)
                for (size_t i = 0; i < rn; ++i)
                    y[(m0 + m) * ldy + g * kIlvRows + i] = static_cast<float>(out[m][i] - xr.sum[m]) / a[m0 + m];
        }
    }
}

}  // namespace

const TernaryKernels* ternary_kernels_avx512() {
    static const TernaryKernels k = {"avx512", CpuLevel::avx512, kIlvRows, false, ilv_packed_bytes, ilv_repack,
                                     ilv_gemm_f32_avx2, avx512_gemm_i8};
    return &k;
}

}  // namespace ttt

#else

namespace ttt {
const TernaryKernels* ternary_kernels_avx512() { return nullptr; }
}  // namespace ttt

#endif
