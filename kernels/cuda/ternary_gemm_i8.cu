// One warp per (output row, activation row): lanes stride over the row's packed bytes, decode four trits each,
// multiply-add against the int8 activations, and the warp reduces the int32 partial sums.
#include "cuda/ternary_cuda.h"

namespace ttt {

namespace {

constexpr int kWarpsPerBlock = 8;

__global__ void ternary_gemm_i8_kernel(const uint8_t* __restrict__ packed, size_t cols, size_t row_bytes,
                                       const int8_t* __restrict__ q, size_t ldq, const float* __restrict__ a,
                                       float* __restrict__ y, size_t ldy, size_t r0, size_t r1) {
    const size_t r = r0 + size_t(blockIdx.x) * kWarpsPerBlock + threadIdx.y;
    const size_t m = blockIdx.y;
    if (r >= r1) return;  // whole warps leave together (threadIdx.y is per warp)
    const uint8_t* row = packed + r * row_bytes;
    const int8_t* x = q + m * ldq;
    int32_t acc = 0;
    for (size_t b = threadIdx.x; b < row_bytes; b += 32) {
        const uint32_t byte = row[b];
        for (int k = 0; k < 4; ++k) {
            const size_t c = b * 4 + size_t(k);
            const uint32_t code = (byte >> (2 * k)) & 3u;  // 00 → 0, 01 → +1, 10 → −1 (padding codes are 0)
            if (c < cols) acc += (code == 1u) ? int32_t(x[c]) : (code == 2u) ? -int32_t(x[c]) : 0;
        }
    }
    for (int offset = 16; offset > 0; offset >>= 1) acc += __shfl_down_sync(0xffffffffu, acc, offset);
    if (threadIdx.x == 0) y[m * ldy + r] = float(acc) / a[m];
}

}  // namespace

cudaError_t cuda_ternary_gemm_i8(const uint8_t* packed, size_t rows, size_t cols, const int8_t* q, size_t ldq,
                                 const float* a, size_t M, float* y, size_t ldy, size_t r0, size_t r1,
                                 cudaStream_t stream) {
    (void)rows;
    if (r1 <= r0 || M == 0) return cudaSuccess;
    const dim3 block(32, kWarpsPerBlock);
    constexpr size_t kMaxGridY = 65535;  // activation rows per launch (gridDim.y's limit)
    for (size_t m0 = 0; m0 < M; m0 += kMaxGridY) {
        const size_t mt = M - m0 < kMaxGridY ? M - m0 : kMaxGridY;
        const dim3 grid(unsigned((r1 - r0 + kWarpsPerBlock - 1) / kWarpsPerBlock), unsigned(mt));
        ternary_gemm_i8_kernel<<<grid, block, 0, stream>>>(packed, cols, (cols + 3) / 4, q + m0 * ldq, ldq, a + m0,
                                                           y + m0 * ldy, ldy, r0, r1);
        const cudaError_t e = cudaGetLastError();
        if (e != cudaSuccess) return e;
    }
    return cudaSuccess;
}

}  // namespace ttt
