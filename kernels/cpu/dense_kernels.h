// Dense products for the LM head: Y[m, r] = Σ_c W[r, c]·X[m, c] for m < M, r0 ≤ r < r1 (W row-major [rows, K],
// X [M, K] contiguous, Y [M, ldy]). Like the ternary kernels they own no threads (the backend splits r) and know
// nothing of the model.
//
// Storage formats of W (all row-major, row r at r·K elements):
//   f32   the float matrix as loaded (used in place: zero copy).
//   bf16  the upper 16 bits of each float, rounded to nearest even (to_bf16): half the bytes, a relative error of
//         at most 2⁻⁸ per weight (half a unit in the last place of an 8-bit significand).
//   i8    per-row absmax quantisation (quantize_dense_rows_i8): W[r, c] ≈ q[r, c]·s[r], s[r] = max_c |W[r, c]| / 127,
//         q = round_half_away(W / s): a quarter of the bytes, an error of at most s[r]/2 per weight.
// The products decode each stored weight to the float it stands for (exactly: bf16 and int8 are floats' subsets)
// and sum in float; i8 multiplies the finished sum by s[r] once. Activations stay float.
//
// Exactness contract, tested in tests/test_kernels.cpp at every level the CPU has:
//   - at a given level each Y[m, r] is computed in one fixed order that depends only on K, never on M, the row range
//     or the rows batched with it: a batch of contexts, prefill and decode give every row the same bits;
//   - every format gives the f32 product's bits on the decoded matrix (× s[r] after the sum for i8), so the formats
//     differ only by the weights they store;
//   - scalar level: the oracle's order (matvec_rows, c ascending). avx2 and avx512 levels: 8 lanes, lane j summing
//     c ≡ j (mod 8) in order with fused multiply-adds, the lanes added in hsum8's fixed tree, then the tail with fused
//     multiply-adds (the two levels give identical bits; avx512 only has more registers for wider tiles). Their
//     difference from the oracle on the same decoded matrix is bounded by 2·K·2⁻²⁴·Σ_c |W[r,c]·X[m,c]| (tested).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "cpu/ternary_kernels.h"

namespace ttt {

enum class DenseFormat : uint8_t { f32, bf16, i8 };

const char* dense_format_name(DenseFormat format);  // "f32", "bf16", "i8"

// A stored dense matrix as the products take it. scales: one per row for i8, unused otherwise.
struct DenseMatrixView {
    DenseFormat format = DenseFormat::f32;
    const void* data = nullptr;
    const float* scales = nullptr;
    size_t K = 0;
};

using DenseMatmulFn = void (*)(const float* w, size_t K, const float* x, size_t M, float* y, size_t ldy, size_t r0,
                               size_t r1);
using DenseStoredMatmulFn = void (*)(const DenseMatrixView& w, const float* x, size_t M, float* y, size_t ldy,
                                     size_t r0, size_t r1);

// The f32 product of `level`, or of the highest level below it this CPU has.
DenseMatmulFn dense_matmul_kernel(CpuLevel level);
// The product of `level` (or the highest below it this CPU has) for any format.
DenseStoredMatmulFn dense_stored_matmul_kernel(CpuLevel level);

// ---- conversion at load (scalar, once per model) ---------------------------------------------------------------
// float → bf16 bits, round to nearest even; NaN stays NaN (quiet), infinities stay infinite.
uint16_t to_bf16(float v);
inline float from_bf16(uint16_t b) {
    const uint32_t u = uint32_t(b) << 16;
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}
void convert_rows_bf16(const float* w, size_t n, uint16_t* out);
// Per-row absmax int8 (see above). A row of zeros gets s = 0 and q = 0. Non-finite weights are the caller's to
// reject (the model loader does); here they give s = inf or NaN and the row's products follow IEEE rules.
void quantize_dense_rows_i8(const float* w, size_t rows, size_t K, int8_t* q, float* scales);

}  // namespace ttt
