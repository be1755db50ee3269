// The GEMM oracle (gemm_ref), the blocked driver shared by the generic and AVX2 micro-kernels, and the run-time
// dispatch. Layout, blocking and the determinism argument are in gemm_ref.h.
#include "cpu/gemm_ref.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>


namespace ttt {

// ----------------------------------------------------------------------------------------------------------------
// Reference

namespace {

// The plain triple loop over the block C[m0:m1, n0:n1].
void ref_block(bool trans_a, bool trans_b, size_t M, size_t N, size_t K, const float* A, const float* B, float* C,
               bool accumulate, size_t m0, size_t m1, size_t n0, size_t n1) {
    for (size_t i = m0; i < m1; ++i) {
        for (size_t j = n0; j < n1; ++j) {
            float acc = 0.0f;
            for (size_t k = 0; k < K; ++k) {
                const float a = trans_a ? A[k * M + i] : A[i * K + k];
                const float b = trans_b ? B[j * K + k] : B[k * N + j];
                acc += a * b;
            }
            C[i * N + j] = accumulate ? C[i * N + j] + acc : acc;
        }
    }
}

}  // namespace

void gemm_ref(bool trans_a, bool trans_b, size_t M, size_t N, size_t K, const float* A, const float* B, float* C,
              bool accumulate) {
    ref_block(trans_a, trans_b, M, N, K, A, B, C, accumulate, 0, M, 0, N);
}

// ----------------------------------------------------------------------------------------------------------------
// Blocked driver

namespace {

constexpr size_t MR = kGemmMR, NR = kGemmNR;
constexpr size_t KC = 256;   // depth of a packed block: a 16×KC B micro-panel is 16 KiB (L1)
constexpr size_t MC = 144;   // rows of A per packed block: 144×KC floats = 144 KiB (L2)
constexpr size_t NC = 2048;  // columns of B per packed block: KC×2048 floats = 2 MiB (L2/L3)

// The portable micro-kernel: the same contract as the AVX2 one. The tile is done in four passes of 4 columns so
// the 6×4 accumulators stay in registers (16 × 128-bit on baseline x86-64) and compilers vectorise each row; one
// 6×16 pass spills and runs ~10× slower.
void micro_6x16_generic(size_t kc, const float* a, const float* b, float* c, size_t ldc, bool accumulate) {
    constexpr size_t W = 4;
    for (size_t h = 0; h < NR; h += W) {
        float acc[MR][W];
        for (size_t r = 0; r < MR; ++r)
            for (size_t j = 0; j < W; ++j) acc[r][j] = 0.0f;
        for (size_t k = 0; k < kc; ++k) {
            const float* bk = b + k * NR + h;
            const float* ak = a + k * MR;
            for (size_t r = 0; r < MR; ++r) {
                const float ar = ak[r];
                for (size_t j = 0; j < W; ++j) acc[r][j] += ar * bk[j];
            }
        }
        for (size_t r = 0; r < MR; ++r)
            for (size_t j = 0; j < W; ++j)
                c[r * ldc + h + j] = accumulate ? c[r * ldc + h + j] + acc[r][j] : acc[r][j];
    }
}

// 64-byte aligned scratch that grows on demand; one per thread, kept between calls.
struct AlignedBuffer {
    std::unique_ptr<float[]> storage;
    size_t capacity = 0;
    float* data = nullptr;
    float* get(size_t n) {
        if (n > capacity) {
            storage.reset(new float[n + 16]);
            capacity = n;
            const uintptr_t p = reinterpret_cast<uintptr_t>(storage.get());
            data = reinterpret_cast<float*>((p + 63) & ~uintptr_t(63));
        }
        return data;
    }
};

struct PackBuffers {
    AlignedBuffer a, b;
};

PackBuffers& thread_buffers() {
    thread_local PackBuffers buffers;
    return buffers;
}

// op(A)[ic .. ic+mc, pc .. pc+kc] into 6-tall panels: panel p holds rows ic+6p .. ic+6p+5 as ap[p·6·kc + k·6 + r];
// rows past mc are zero.
void pack_a(bool trans_a, const float* A, size_t M, size_t K, size_t ic, size_t mc, size_t pc, size_t kc, float* ap) {
    for (size_t p = 0; p * MR < mc; ++p) {
        float* dst = ap + p * MR * kc;
        const size_t rows = std::min(MR, mc - p * MR);
        const size_t i0 = ic + p * MR;
        if (!trans_a) {
            for (size_t r = 0; r < rows; ++r) {
                const float* src = A + (i0 + r) * K + pc;
                for (size_t k = 0; k < kc; ++k) dst[k * MR + r] = src[k];
            }
        } else {
            for (size_t k = 0; k < kc; ++k) {
                const float* src = A + (pc + k) * M + i0;
                for (size_t r = 0; r < rows; ++r) dst[k * MR + r] = src[r];
            }
        }
        for (size_t r = rows; r < MR; ++r)
            for (size_t k = 0; k < kc; ++k) dst[k * MR + r] = 0.0f;
    }
}

// op(B)[pc .. pc+kc, jc .. jc+nc] into 16-wide panels: panel q holds columns jc+16q .. as bp[q·16·kc + k·16 + j];
// columns past nc are zero.
void pack_b(bool trans_b, const float* B, size_t N, size_t K, size_t pc, size_t kc, size_t jc, size_t nc, float* bp) {
    for (size_t q = 0; q * NR < nc; ++q) {
        float* dst = bp + q * NR * kc;
        const size_t cols = std::min(NR, nc - q * NR);
        const size_t j0 = jc + q * NR;
        if (!trans_b) {
            for (size_t k = 0; k < kc; ++k) {
                const float* src = B + (pc + k) * N + j0;
                float* d = dst + k * NR;
                for (size_t j = 0; j < cols; ++j) d[j] = src[j];
                for (size_t j = cols; j < NR; ++j) d[j] = 0.0f;
            }
        } else {
            for (size_t j = 0; j < cols; ++j) {
                const float* src = B + (j0 + j) * K + pc;
                for (size_t k = 0; k < kc; ++k) dst[k * NR + j] = src[k];
            }
            for (size_t j = cols; j < NR; ++j)
                for (size_t k = 0; k < kc; ++k) dst[k * NR + j] = 0.0f;
        }
    }
}

// C[m0..m1, n0..n1] of the full product, on this thread.
void gemm_blocked(bool trans_a, bool trans_b, size_t M, size_t N, size_t K, const float* A, const float* B, float* C,
                  bool accumulate, size_t m0, size_t m1, size_t n0, size_t n1, GemmMicroKernel micro) {
    if (m0 >= m1 || n0 >= n1) return;
    if (K == 0) {
        if (!accumulate)
            for (size_t i = m0; i < m1; ++i) std::memset(C + i * N + n0, 0, (n1 - n0) * sizeof(float));
        return;
    }
    PackBuffers& buf = thread_buffers();
    float* bp = buf.b.get(std::min(NC, (n1 - n0 + NR - 1) / NR * NR) * std::min(KC, K));
    float* ap = buf.a.get(std::min(MC, (m1 - m0 + MR - 1) / MR * MR) * std::min(KC, K));
    alignas(64) float tile[MR * NR];
    for (size_t jc = n0; jc < n1; jc += NC) {
        const size_t nc = std::min(NC, n1 - jc);
        for (size_t pc = 0; pc < K; pc += KC) {
            const size_t kc = std::min(KC, K - pc);
            const bool acc = accumulate || pc > 0;
            pack_b(trans_b, B, N, K, pc, kc, jc, nc, bp);
            for (size_t ic = m0; ic < m1; ic += MC) {
                const size_t mc = std::min(MC, m1 - ic);
                pack_a(trans_a, A, M, K, ic, mc, pc, kc, ap);
                for (size_t jr = 0; jr < nc; jr += NR) {
                    const size_t nr = std::min(NR, nc - jr);
                    for (size_t ir = 0; ir < mc; ir += MR) {
                        const size_t mr = std::min(MR, mc - ir);
                        float* c = C + (ic + ir) * N + jc + jr;
                        if (mr == MR && nr == NR) {
                            micro(kc, ap + ir * kc, bp + jr * kc, c, N, acc);
                        } else {
                            // Edge tile: the same k sums, then the same c (+)= acc for the valid part.
                            micro(kc, ap + ir * kc, bp + jr * kc, tile, NR, false);
                            for (size_t r = 0; r < mr; ++r)
                                for (size_t j = 0; j < nr; ++j)
                                    c[r * N + j] = acc ? c[r * N + j] + tile[r * NR + j] : tile[r * NR + j];
                        }
                    }
                }
            }
        }
    }
}

bool detect_avx2() {
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && gemm_micro_kernel_avx2() != nullptr;
#else
    return false;
#endif
}

}  // namespace

bool gemm_avx2_supported() {
    static const bool supported = detect_avx2();
    return supported;
}

const char* gemm_kernel_name(GemmKernel kernel) {
    switch (kernel) {
        case GemmKernel::reference: return "reference";
        case GemmKernel::generic: return "generic";
        case GemmKernel::avx2:
        case GemmKernel::best: return gemm_avx2_supported() ? "avx2" : "generic";
    }
    return "generic";
}

void gemm_block(bool trans_a, bool trans_b, size_t M, size_t N, size_t K, const float* A, const float* B, float* C,
                bool accumulate, GemmKernel kernel, size_t m0, size_t m1, size_t n0, size_t n1) {
    if (m0 >= m1 || n0 >= n1) return;
    if (kernel == GemmKernel::reference) {
        ref_block(trans_a, trans_b, M, N, K, A, B, C, accumulate, m0, m1, n0, n1);
        return;
    }
    const GemmMicroKernel micro =
        kernel != GemmKernel::generic && gemm_avx2_supported() ? gemm_micro_kernel_avx2() : micro_6x16_generic;
    gemm_blocked(trans_a, trans_b, M, N, K, A, B, C, accumulate, m0, m1, n0, n1, micro);
}

}  // namespace ttt
