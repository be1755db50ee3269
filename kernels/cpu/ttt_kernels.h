// The TTT chunked recurrence (kernels/cpu/ttt_ref.h) by instruction-set level. The scalar level is ttt_chunked_rows
// itself. The AVX2 level (used at the AVX-512 level too) computes each z_i = W_i·f̂ with 8 lanes (lane l sums
// j ≡ l mod 8 in order with fused multiply-adds, then a fixed tree, then the tail), so z differs from the scalar
// order within 2·d·2⁻²⁴·Σ_j |W_ij·f̂_j|; the pending and state updates are element-wise and give the scalar bits for
// the same z. Rows stay independent, so any split of [0, d) between threads gives the same bits at a given level.
#pragma once

#include <cstddef>
#include <cstdint>

#include "cpu/ternary_kernels.h"

namespace ttt {

using TttChunkedFn = void (*)(const float* fhat, float* z, size_t n, size_t d, float* w, float* pending,
                              uint64_t position, size_t chunk, float lr, size_t i0, size_t i1);

TttChunkedFn ttt_chunked_kernel(CpuLevel level);

}  // namespace ttt
