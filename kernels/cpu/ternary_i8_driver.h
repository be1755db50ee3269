// The int8 ternary GEMM's walk over the interleaved layout (ternary_interleaved.h), shared by the SIMD levels: they
// differ only in their group kernels, which multiply one group of kIlvRows weight rows by 1-4 activation rows.
// Group::run(mb, group, full_blocks, rows, out) is such a kernel (an always-inline function of the level's target).
// The including level defines TTT_I8_DRIVER_TARGET as its target attribute first, so the walk is compiled for that
// target and the group kernels inline into it (GCC and clang alike): on the tiny shapes (256×1024: 2 blocks a
// group) a call per group cost 15 %. One level per translation unit.
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <vector>

#include "cpu/ternary_interleaved.h"
#include "cpu/ternary_kernels_levels.h"

#ifndef TTT_I8_DRIVER_TARGET
#error "define TTT_I8_DRIVER_TARGET (the level's target attribute) before including cpu/ternary_i8_driver.h"
#endif

namespace ttt {

template <class Group>
TTT_I8_DRIVER_TARGET inline void interleaved_gemm_i8(const uint8_t* packed, size_t cols, const int8_t* q, size_t ldq, const float* a,
                                size_t M, float* y, size_t ldy, size_t r0, size_t r1) {
    const size_t gbytes = ilv_group_bytes(cols), full = cols / kIlvCols;
    const size_t g_begin = r0 / kIlvRows, g_end = (r1 + kIlvRows - 1) / kIlvRows;
    // Activation rows in groups of up to 4, their sums and padded tails prepared once per call.
    const size_t mgroups = (M + I8Rows::kMax - 1) / I8Rows::kMax;
    I8Rows one;
    std::vector<I8Rows> many(mgroups > 1 ? mgroups : 0);
    I8Rows* xrs = mgroups > 1 ? many.data() : &one;
    for (size_t mg = 0; mg < mgroups; ++mg)
        prepare_i8_rows(q + mg * I8Rows::kMax * ldq, ldq, std::min<size_t>(I8Rows::kMax, M - mg * I8Rows::kMax),
                        cols, xrs[mg]);
    // Prefill: weight rows in slabs of about kSlabBytes, each slab met by every activation group while it sits in
    // L2 (otherwise every group of 4 activation rows streams the whole matrix from L3 or DRAM again).
    const size_t slab = mgroups == 1 ? g_end - g_begin : std::max<size_t>(1, kSlabBytes / gbytes);
    for (size_t sg = g_begin; sg < g_end; sg += slab) {
        const size_t se = std::min(g_end, sg + slab);
        for (size_t mg = 0; mg < mgroups; ++mg) {
            const I8Rows& xr = xrs[mg];
            const size_t m0 = mg * I8Rows::kMax, mb = std::min<size_t>(I8Rows::kMax, M - m0);
            for (size_t g = sg; g < se; ++g) {
                int32_t out[I8Rows::kMax][4];
                Group::run(mb, packed + g * gbytes, full, xr, out);
                const size_t rn = std::min(kIlvRows, r1 - g * kIlvRows);
                for (size_t m = 0; m < mb; ++m) {
                    // (float)(Σ − Σx) / a, four rows at once: the same roundings as the scalar level's.
                    const __m128i s = _mm_sub_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(out[m])),
                                                    _mm_set1_epi32(xr.sum[m]));
                    const __m128 v = _mm_div_ps(_mm_cvtepi32_ps(s), _mm_set1_ps(a[m0 + m]));
                    float* ym = y + (m0 + m) * ldy + g * kIlvRows;
                    if (rn == kIlvRows) {
                        _mm_storeu_ps(ym, v);
                    } else {
                        alignas(16) float t[4];
                        _mm_store_ps(t, v);
                        for (size_t i = 0; i < rn; ++i) ym[i] = t[i];
                    }
                }
            }
        }
    }
}

}  // namespace ttt
