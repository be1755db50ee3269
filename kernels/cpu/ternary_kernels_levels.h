// The kernel tables of each level (internal to kernels/cpu; callers use ternary_kernels() of ternary_kernels.h).
// A table of a SIMD level may only be used after cpu_features() says the CPU runs it: ternary_kernels_dispatch.cpp
// is the one place that checks.
#pragma once

#include "cpu/ternary_kernels.h"

namespace ttt {

const TernaryKernels& ternary_kernels_scalar();
const TernaryKernels* ternary_kernels_avx2();    // nullptr where this build has no x86 SIMD code
const TernaryKernels* ternary_kernels_avx512();  // nullptr likewise

// The f32 product of the avx2 level, shared by the avx512 level (same layout). Needs AVX2 + FMA.
void ilv_gemm_f32_avx2(const uint8_t* packed, size_t rows, size_t cols, const float* x, size_t ldx, size_t M, float* y,
                       size_t ldy, size_t r0, size_t r1);
// The same product with AVX-512 VL's 32 registers (wider passes, identical bits). Needs AVX-512 F + VL.
void ilv_gemm_f32_avx512(const uint8_t* packed, size_t rows, size_t cols, const float* x, size_t ldx, size_t M,
                         float* y, size_t ldy, size_t r0, size_t r1);

// Shared by the SIMD levels: the activation rows' sums (Σ_c Q[m, c], the offset-form correction) and their last
// partial 128-column block copied into zero-padded buffers, so the kernels' loops read whole blocks only.
struct I8Rows {
    static constexpr int kMax = 4;
    const int8_t* x[kMax];     // row starts
    const int8_t* tail[kMax];  // zero-padded copy of columns [full_blocks·128, cols), or nullptr when none
    int32_t sum[kMax];
    alignas(64) int8_t tail_buf[kMax][128];
};
void prepare_i8_rows(const int8_t* q, size_t ldq, size_t mb, size_t cols, I8Rows& rows);

struct F32Rows {
    static constexpr int kMax = 4;
    const float* x[kMax];
    const float* tail[kMax];
    alignas(64) float tail_buf[kMax][128];
};
void prepare_f32_rows(const float* x, size_t ldx, size_t mb, size_t cols, F32Rows& rows);

}  // namespace ttt
