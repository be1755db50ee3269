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
// GEMM (2-4 activation rows): one accumulator per (activation row, weight row), the slices shifted and masked.
#include "cpu/ternary_kernels_levels.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

// GCC 12's 512-bit intrinsics start from a self-initialised "undefined" vector and then warn about it when inlined.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

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
// broadcast to both halves; acc_pk (pair p, slice k) are eight named accumulators so that nothing spills.
#define TTT_GEMV_BLOCK(W, X)                                                                                         \
    do {                                                                                                             \
        const __m512i x0 = _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(X)));       \
        const __m512i x1 = _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(X) + 1));   \
        const __m512i x2 = _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(X) + 2));   \
        const __m512i x3 = _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(X) + 3));   \
        const __m512i w0 = _mm512_loadu_si512(W), w1 = _mm512_loadu_si512((W) + 64);                            \
        a00 = dpbusd(a00, _mm512_and_si512(w0, k0), x0);                                            \
        a01 = dpbusd(a01, _mm512_and_si512(w0, k1), x1);                                            \
        a02 = dpbusd(a02, _mm512_and_si512(w0, k2), x2);                                            \
        a03 = dpbusd(a03, _mm512_and_si512(w0, k3), x3);                                            \
        a10 = dpbusd(a10, _mm512_and_si512(w1, k0), x0);                                            \
        a11 = dpbusd(a11, _mm512_and_si512(w1, k1), x1);                                            \
        a12 = dpbusd(a12, _mm512_and_si512(w1, k2), x2);                                            \
        a13 = dpbusd(a13, _mm512_and_si512(w1, k3), x3);                                            \
    } while (0)

TTT_AVX512 void group_gemv(const uint8_t* grp, size_t full_blocks, const I8Rows& xr, int32_t (&out)[I8Rows::kMax][4]) {
    const __m512i k0 = _mm512_set1_epi8(0x03), k1 = _mm512_set1_epi8(0x0C);
    const __m512i k2 = _mm512_set1_epi8(0x30), k3 = _mm512_set1_epi8(char(0xC0));
    __m512i a00 = _mm512_setzero_si512(), a01 = a00, a02 = a00, a03 = a00, a10 = a00, a11 = a00, a12 = a00, a13 = a00;
    const int8_t* xp = xr.x[0];
    const uint8_t* w = grp;
    // One loop body for the full blocks and the zero-padded tail (two copies of the body make GCC shuffle the
    // accumulators between registers on every iteration).
    const size_t blocks = full_blocks + (xr.tail[0] ? 1 : 0);
    for (size_t b = 0; b < blocks; ++b, xp += kIlvCols, w += kIlvBlockBytes) {
        const int8_t* xb = b < full_blocks ? xp : xr.tail[0];
        TTT_GEMV_BLOCK(w, xb);
    }
    const __m512i p0 = _mm512_add_epi32(_mm512_add_epi32(a00, _mm512_srai_epi32(a01, 2)),
                                        _mm512_add_epi32(_mm512_srai_epi32(a02, 4), _mm512_srai_epi32(a03, 6)));
    const __m512i p1 = _mm512_add_epi32(_mm512_add_epi32(a10, _mm512_srai_epi32(a11, 2)),
                                        _mm512_add_epi32(_mm512_srai_epi32(a12, 4), _mm512_srai_epi32(a13, 6)));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out[0]),
                     hsum4_epi32(_mm512_castsi512_si256(p0), _mm512_extracti64x4_epi64(p0, 1),
                                 _mm512_castsi512_si256(p1), _mm512_extracti64x4_epi64(p1, 1)));
}
#undef TTT_GEMV_BLOCK

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
