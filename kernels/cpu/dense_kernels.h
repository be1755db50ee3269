// Dense float products for the LM head: Y[m, r] = Σ_c W[r, c]·X[m, c] for m < M, r0 ≤ r < r1 (W row-major [rows, K],
// X [M, K] contiguous, Y [M, ldy]). Like the ternary kernels they own no threads (the backend splits r) and know
// nothing of the model.
//
// Exactness contract: at a given level, each Y[m, r] is computed in one fixed order that depends only on K, never on
// M, the row range or the rows batched with it — so a batch of contexts, prefill and decode give every row the
// same bits. The scalar level is the oracle's order (matvec_rows, c ascending). The AVX2 level (also used at the
// AVX-512 level: the product is memory-bound, and 256-bit units run it as fast on the hosts we measured) keeps 8
// lanes, lane j summing c ≡ j (mod 8) in order with fused multiply-adds, adds the lanes in a fixed tree and then the
// tail; its difference from the oracle is bounded by 2·K·2⁻²⁴·Σ_c |W[r,c]·X[m,c]| (tested).
#pragma once

#include <cstddef>

#include "cpu/ternary_kernels.h"

namespace ttt {

using DenseMatmulFn = void (*)(const float* w, size_t K, const float* x, size_t M, float* y, size_t ldy, size_t r0,
                               size_t r1);

// The product of `level`, or of the highest level below it this CPU has.
DenseMatmulFn dense_matmul_kernel(CpuLevel level);

}  // namespace ttt
