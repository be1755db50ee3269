// CUDA kernels of the ternary products, on the same contract as kernels/cpu/ternary_kernels.h (file layout,
// row ranges, exact int32 sums for int8 activations), for the CUDA backend of the next stage. Pointers are device
// memory; launches go on `stream`; nothing here allocates or synchronises.
#pragma once

#include <cstddef>
#include <cstdint>

#include <cuda_runtime.h>

namespace ttt {

// Y[m, r] = (Σ_c T[r, c]·Q[m, c]) / a[m] for m < M, r0 ≤ r < r1: bit-identical to the CPU levels (the int32 sum is
// exact in any order; one float division).
cudaError_t cuda_ternary_gemm_i8(const uint8_t* packed, size_t rows, size_t cols, const int8_t* q, size_t ldq,
                                 const float* a, size_t M, float* y, size_t ldy, size_t r0, size_t r1,
                                 cudaStream_t stream);

}  // namespace ttt
