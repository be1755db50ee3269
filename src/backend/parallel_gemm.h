// The threaded driver of the dense float GEMM (kernels/cpu/gemm_ref.h): the kernel computes blocks of C, this gives
// blocks to the pool's threads. The split is over whole micro-tiles of the larger side of C, never over K, so the
// result is bit-identical for any thread count on a given kernel.
#pragma once

#include <cstddef>

#include "cpu/gemm_ref.h"

namespace ttt {

class ThreadPool;

// C[M,N] (+)= op(A)·op(B) (conventions of kernels/cpu/gemm_ref.h), on `pool` (nullptr = this thread only).
void gemm(bool trans_a, bool trans_b, size_t M, size_t N, size_t K, const float* A, const float* B, float* C,
          bool accumulate, ThreadPool* pool, GemmKernel kernel = GemmKernel::best);

}  // namespace ttt
