#include "backend/parallel_gemm.h"

#include <algorithm>

#include "backend/thread_pool.h"

namespace ttt {

void gemm(bool trans_a, bool trans_b, size_t M, size_t N, size_t K, const float* A, const float* B, float* C,
          bool accumulate, ThreadPool* pool, GemmKernel kernel) {
    if (M == 0 || N == 0) return;
    const int threads = pool ? pool->size() : 1;
    // Below ~2^18 multiply-adds waking a thread costs more than it saves.
    if (threads <= 1 || kernel == GemmKernel::reference || double(M) * double(N) * double(K) < double(1 << 18)) {
        gemm_block(trans_a, trans_b, M, N, K, A, B, C, accumulate, kernel, 0, M, 0, N);
        return;
    }
    // Split the larger side of C into whole micro-tiles; each thread packs what it needs.
    const size_t units_m = (M + kGemmMR - 1) / kGemmMR, units_n = (N + kGemmNR - 1) / kGemmNR;
    if (units_m >= units_n) {
        pool->parallel_for(units_m, [&](size_t b, size_t e) {
            gemm_block(trans_a, trans_b, M, N, K, A, B, C, accumulate, kernel, b * kGemmMR, std::min(e * kGemmMR, M), 0, N);
        });
    } else {
        pool->parallel_for(units_n, [&](size_t b, size_t e) {
            gemm_block(trans_a, trans_b, M, N, K, A, B, C, accumulate, kernel, 0, M, b * kGemmNR, std::min(e * kGemmNR, N));
        });
    }
}

}  // namespace ttt
