// The avx512 level of ternary_kernels.h (AVX-512 F/BW/VL + VNNI) on the interleaved layout of ternary_interleaved.h:
// the avx2 level's layout and f32 product (ilv_gemm_f32_avx2), with the i8 product on vpdpbusd (u8 × s8, four
// products summed into an int32 lane, no saturation). Zen 4 runs 512-bit work as two 256-bit halves, so 512-bit
// vectors pay only where they halve the instruction count (the GEMV); the GEMM tiles use 256-bit vectors and the 32
// registers of AVX-512 (16 accumulators). Compiled through target attributes only; ternary_kernels_dispatch.cpp
// hands this table out only when cpu_features().avx512.
//
// GEMV (one activation row): vpdpbusd latency (about 4-5 cycles) would serialise four slices on one accumulator, so
// each slice k gets its own: the code bits are masked in place (byte & (3 << 2k) = (w+1)·4^k, no shift), and the
// accumulator of slice k, an exact multiple of 4^k, is shifted back (>> 2k, exact) before the rows are summed.
// A lane of slice 3 gains at most 4·128·128 = 2^16 per block: exact for cols < 2^22 (any real layer).
// Decode walks the groups in pairs (pair_gemv: 8 rows share each activation broadcast and one reduction, conversion
// and division), 10-23 % faster than one group at a time on the hot shapes of bench/bench_ternary_kernels.cpp.
// GEMM (2-4 activation rows): one accumulator per (activation row, weight row), the slices shifted and masked.
#include "cpu/ternary_kernels_levels.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

// GCC 12's 512-bit intrinsics start from a self-initialised "undefined" vector and then warn about it when inlined.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

#include <algorithm>
#include <vector>

#include "cpu/ternary_interleaved.h"

#define TTT_AVX512 __attribute__((target("avx2,fma,avx512f,avx512bw,avx512vl,avx512vnni")))
#define TTT_AVX512_INLINE __attribute__((target("avx2,fma,avx512f,avx512bw,avx512vl,avx512vnni"), always_inline)) inline

// The shared int8 walk, compiled for this level (ternary_i8_driver.h).
#define TTT_I8_DRIVER_TARGET TTT_AVX512
#include "cpu/ternary_i8_driver.h"

namespace ttt {

namespace {

// acc += Σ4 u8(a) · s8(b) per int32 lane. Inline asm ties the accumulator to its register: with the intrinsic,
// GCC 12 copies every accumulator to a fresh register and back on each loop iteration (measured: 10-15 % slower).
TTT_AVX512_INLINE __m512i dpbusd(__m512i acc, __m512i a, __m512i b) {
    __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(a), "v"(b));
    return acc;
}
TTT_AVX512_INLINE __m256i dpbusd(__m256i acc, __m256i a, __m256i b) {
    __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(a), "v"(b));
    return acc;
}

TTT_AVX512_INLINE __m128i hsum4_epi32(__m256i a0, __m256i a1, __m256i a2, __m256i a3) {
    const __m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(a0, a1), _mm256_hadd_epi32(a2, a3));
    return _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
}

// GEMV on 512-bit vectors: one load holds a block's rows 2p and 2p+1 (64 bytes), the activations of a slice are
// broadcast to both halves. RowPair holds one such pair's four slice accumulators; kSlices < 4 leaves slices 2 and 3
// out (they stay zero).
struct RowPair {
    __m512i s0, s1, s2, s3;
};
struct BlockActs {
    __m512i x0, x1, x2, x3;  // a 128-column block's activations by slice, each 32 bytes broadcast to both halves
};

TTT_AVX512_INLINE BlockActs block_acts(const int8_t* xb) {
    const __m256i* x = reinterpret_cast<const __m256i*>(xb);
    return {_mm512_broadcast_i64x4(_mm256_loadu_si256(x)), _mm512_broadcast_i64x4(_mm256_loadu_si256(x + 1)),
            _mm512_broadcast_i64x4(_mm256_loadu_si256(x + 2)), _mm512_broadcast_i64x4(_mm256_loadu_si256(x + 3))};
}

template <int kSlices>
TTT_AVX512_INLINE void row_pair_block(RowPair& acc, const uint8_t* w, const BlockActs& x) {
    const __m512i codes = _mm512_loadu_si512(w);
    acc.s0 = dpbusd(acc.s0, _mm512_and_si512(codes, _mm512_set1_epi8(0x03)), x.x0);
    acc.s1 = dpbusd(acc.s1, _mm512_and_si512(codes, _mm512_set1_epi8(0x0C)), x.x1);
    if (kSlices == 4) {
        acc.s2 = dpbusd(acc.s2, _mm512_and_si512(codes, _mm512_set1_epi8(0x30)), x.x2);
        acc.s3 = dpbusd(acc.s3, _mm512_and_si512(codes, _mm512_set1_epi8(char(0xC0))), x.x3);
    }
}

// Σ_k s_k >> 2k: a pair's four slice accumulators (slice k is an exact multiple of 4^k).
TTT_AVX512_INLINE __m512i slices(const RowPair& a) {
    return _mm512_add_epi32(_mm512_add_epi32(a.s0, _mm512_srai_epi32(a.s1, 2)),
                            _mm512_add_epi32(_mm512_srai_epi32(a.s2, 4), _mm512_srai_epi32(a.s3, 6)));
}

// One group (4 rows), for an odd last group and the GEMM's single leftover activation row. One loop body for the
// full blocks and the zero-padded tail (two copies of the body make GCC shuffle the accumulators between registers
// on every iteration).
TTT_AVX512 void group_gemv(const uint8_t* grp, size_t full_blocks, const I8Rows& xr, int32_t (&out)[I8Rows::kMax][4]) {
    const __m512i z = _mm512_setzero_si512();
    RowPair r01{z, z, z, z}, r23{z, z, z, z};
    const int8_t* xp = xr.x[0];
    const size_t blocks = full_blocks + (xr.tail[0] ? 1 : 0);
    for (size_t b = 0; b < blocks; ++b, xp += kIlvCols, grp += kIlvBlockBytes) {
        const BlockActs x = block_acts(b < full_blocks ? xp : xr.tail[0]);
        row_pair_block<4>(r01, grp, x);
        row_pair_block<4>(r23, grp + 64, x);
    }
    const __m512i p0 = slices(r01), p1 = slices(r23);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out[0]),
                     hsum4_epi32(_mm512_castsi512_si256(p0), _mm512_extracti64x4_epi64(p0, 1),
                                 _mm512_castsi512_si256(p1), _mm512_extracti64x4_epi64(p1, 1)));
}

// GEMV over two groups (8 rows) at once, for decode: the same per-block work as group_gemv, with each activation
// broadcast shared by twice the rows and one reduction, conversion and division per 8 rows instead of per 4 (on the
// small layers of a tiny model, K = 256, that per-group epilogue is a third of the time).
// kSlices < 4 serves matrices of at most 32·kSlices columns (one zero-padded block), whose other slices would only
// meet the tail's zero padding: a 64-column layer (the TTT up projection of D 256 / d 64) does half the work.
template <int kSlices>
TTT_AVX512 void pair_gemv(const uint8_t* ga, const uint8_t* gb, size_t full_blocks, const I8Rows& xr, const float a,
                          float* ya, float* yb) {
    static_assert(kSlices == 2 || kSlices == 4, "pair_gemv runs 2 or 4 slices");
    const __m512i z = _mm512_setzero_si512();
    RowPair r01{z, z, z, z}, r23{z, z, z, z}, r45{z, z, z, z}, r67{z, z, z, z};
    const int8_t* xp = xr.x[0];
    const size_t blocks = full_blocks + (xr.tail[0] ? 1 : 0);
    for (size_t b = 0; b < blocks; ++b, xp += kIlvCols, ga += kIlvBlockBytes, gb += kIlvBlockBytes) {
        const BlockActs x = block_acts(b < full_blocks ? xp : xr.tail[0]);
        row_pair_block<kSlices>(r01, ga, x);
        row_pair_block<kSlices>(r23, ga + 64, x);
        row_pair_block<kSlices>(r45, gb, x);
        row_pair_block<kSlices>(r67, gb + 64, x);
    }
    // Slices shifted back: p0 = rows 0 | 1, p1 = rows 2 | 3 (group a), p2 = rows 4 | 5, p3 = rows 6 | 7 (group b).
    const __m512i p0 = slices(r01), p1 = slices(r23), p2 = slices(r45), p3 = slices(r67);
    // Transposing reduction: within each 128-bit lane, t0 = [p0 0+2, p1 0+2, p0 1+3, p1 1+3], then u = the four
    // vectors' lane sums [p0, p1, p2, p3]; lanes 0-1 of u belong to rows 0, 2, 4, 6 and lanes 2-3 to rows 1, 3, 5, 7.
    const __m512i t0 = _mm512_add_epi32(_mm512_unpacklo_epi32(p0, p1), _mm512_unpackhi_epi32(p0, p1));
    const __m512i t1 = _mm512_add_epi32(_mm512_unpacklo_epi32(p2, p3), _mm512_unpackhi_epi32(p2, p3));
    const __m512i u = _mm512_add_epi32(_mm512_unpacklo_epi64(t0, t1), _mm512_unpackhi_epi64(t0, t1));
    const __m512i v = _mm512_add_epi32(u, _mm512_shuffle_i64x2(u, u, _MM_SHUFFLE(2, 3, 0, 1)));
    const __m128i even = _mm512_castsi512_si128(v), odd = _mm512_extracti32x4_epi32(v, 2);
    const __m256i sums = _mm256_set_m128i(_mm_unpackhi_epi32(even, odd), _mm_unpacklo_epi32(even, odd));
    // (float)(Σ − Σx) / a, the scalar level's roundings.
    const __m256 r = _mm256_div_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(sums, _mm256_set1_epi32(xr.sum[0]))),
                                   _mm256_set1_ps(a));
    _mm_storeu_ps(ya, _mm256_castps256_ps128(r));
    _mm_storeu_ps(yb, _mm256_extractf128_ps(r, 1));
}

// Decode (M = 1): the row range's groups in pairs through pair_gemv, group i of the first half with group i of the
// second, so the weights stream as two long sequential runs (pairing neighbours instead made two interleaved runs
// of one page each, which the hardware prefetcher lost at every page: half the DRAM rate on cold matrices); an odd
// last group through group_gemv.
TTT_AVX512 void gemv_i8(const uint8_t* packed, size_t cols, const int8_t* q, float a, float* y, size_t r0, size_t r1) {
    const size_t gbytes = ilv_group_bytes(cols), full = cols / kIlvCols;
    const size_t g_begin = r0 / kIlvRows, g_end = (r1 + kIlvRows - 1) / kIlvRows;
    I8Rows xr;
    prepare_i8_rows(q, cols, 1, cols, xr);
    const auto pair = cols <= 64 ? pair_gemv<2> : pair_gemv<4>;
    const size_t half = (g_end - g_begin) / 2;
    alignas(16) float part[kIlvRows];  // a partial last group's outputs
    const auto rows_out = [&](size_t g) { return g * kIlvRows + kIlvRows <= r1 ? y + g * kIlvRows : part; };
    const auto flush = [&](size_t g) {
        for (size_t i = 0; g * kIlvRows + i < r1; ++i) y[g * kIlvRows + i] = part[i];
    };
    for (size_t i = 0; i < half; ++i) {
        const size_t ga = g_begin + i, gb = g_begin + half + i;
        float* yb = rows_out(gb);
        pair(packed + ga * gbytes, packed + gb * gbytes, full, xr, a, y + ga * kIlvRows, yb);
        if (yb == part) flush(gb);
    }
    if (g_begin + 2 * half < g_end) {
        const size_t g = g_end - 1;
        int32_t out[I8Rows::kMax][4];
        group_gemv(packed + g * gbytes, full, xr, out);
        for (size_t i = 0; g * kIlvRows + i < r1; ++i) y[g * kIlvRows + i] = float(out[0][i] - xr.sum[0]) / a;
    }
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
            for (int r = 0; r < 4; ++r) acc[m][r] = dpbusd(acc[m][r], d[r], x);
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

// The group kernels of this level, for the shared walk (ternary_i8_driver.h).
struct Avx512Groups {
    TTT_AVX512_INLINE static void run(size_t mb, const uint8_t* grp, size_t full, const I8Rows& xr, int32_t (&out)[I8Rows::kMax][4]) {
        switch (mb) {
            case 1: group_gemv(grp, full, xr, out); break;
            case 2: group_gemm<2>(grp, full, xr, out); break;
            case 3: group_gemm<3>(grp, full, xr, out); break;
            default: group_gemm<4>(grp, full, xr, out); break;
        }
    }
};

TTT_AVX512 void avx512_gemm_i8(const uint8_t* packed, size_t rows, size_t cols, const int8_t* q, size_t ldq,
                        const float* a, size_t M, float* y, size_t ldy, size_t r0, size_t r1) {
    (void)rows;
    if (M == 1) return gemv_i8(packed, cols, q, a[0], y, r0, r1);
    interleaved_gemm_i8<Avx512Groups>(packed, cols, q, ldq, a, M, y, ldy, r0, r1);
}

}  // namespace

const TernaryKernels* ternary_kernels_avx512() {
    static const TernaryKernels k = {"avx512", CpuLevel::avx512, kIlvRows, false, ilv_packed_bytes, ilv_repack,
                                     ilv_gemm_f32_avx512, avx512_gemm_i8};
    return &k;
}

}  // namespace ttt

#else

namespace ttt {
const TernaryKernels* ternary_kernels_avx512() { return nullptr; }
}  // namespace ttt

#endif
