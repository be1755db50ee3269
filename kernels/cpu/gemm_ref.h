// Dense float GEMM for training: C[M,N] (+)= op(A)·op(B), every matrix row-major and contiguous.
//
//   op(A) is [M,K]: A is stored [M,K] (trans_a = false) or [K,M] (trans_a = true)
//   op(B) is [K,N]: B is stored [K,N] (trans_b = false) or [N,K] (trans_b = true)
//
// The three products a linear layer y = x·Wᵀ needs (x [rows,in], W [out,in]):
//   forward   Y[rows,out]  = X·Wᵀ     gemm(false, true,  rows, out, in,  X,  W,  Y, …)
//   input     dX[rows,in]  = dY·W     gemm(false, false, rows, in,  out, dY, W,  dX, …)
//   weight    dW[out,in]   = dYᵀ·X    gemm(true,  false, out,  in,  rows, dY, X, dW, …)
// accumulate = false overwrites C, true adds to it. K = 0 gives C = 0 (or leaves it, when accumulating).
//
// Kernels:
//   reference  plain triple loop, float accumulation in k order: the oracle (gemm_ref).
//   generic    the blocked algorithm below with a portable 6×16 micro-kernel (what compilers vectorise with the
//              baseline ISA); used where AVX2 is missing.
//   avx2       the same blocking with an AVX2+FMA 6×16 micro-kernel (kernels/cpu/gemm_avx2.cpp, compiled with
//              __attribute__((target)) and chosen at run time; the library itself is built without -march).
// Blocking (BLIS order): NC columns of op(B) × KC of K are packed into 16-wide panels, MC rows of op(A) × KC
// into 6-tall panels, and the micro-kernel computes a 6×16 tile of C over KC. Each element of C is therefore
// Σ over KC-blocks (in order) of an in-order k sum, whatever the tile position, so results do not depend on
// how C is split: gemm_block computes any block of C (rows × columns, never a part of K), and the threaded driver
// (src/backend/parallel_gemm.h) gives blocks to threads; the result is bit-identical for ANY thread count on a
// given kernel. Kernels own no threads.
//
// Tolerance against the reference (tests/test_train_grad.cpp): both are float sums of the same K products in a
// different order, so |C − C_ref| ≤ 2·γ_K·Σ_k |a_ik·b_kj| with γ_K = K·2⁻²⁴ (first-order rounding bound).
#pragma once

#include <cstddef>

namespace ttt {

enum class GemmKernel { best, reference, generic, avx2 };

// The oracle: single-threaded plain loops.
void gemm_ref(bool trans_a, bool trans_b, size_t M, size_t N, size_t K, const float* A, const float* B, float* C,
              bool accumulate);

// The fast path, blocked and vectorised, for the block C[m0:m1, n0:n1] of the product (the rest of C untouched).
// kernel = best picks avx2 when the CPU has AVX2 and FMA, else generic. Asking for avx2 on a CPU without it falls
// back to generic; reference runs gemm_ref's loops on the block.
void gemm_block(bool trans_a, bool trans_b, size_t M, size_t N, size_t K, const float* A, const float* B, float* C,
                bool accumulate, GemmKernel kernel, size_t m0, size_t m1, size_t n0, size_t n1);

bool gemm_avx2_supported();           // the CPU has AVX2 and FMA (and this build has the kernel)
const char* gemm_kernel_name(GemmKernel kernel);  // "reference", "generic", "avx2"; best resolved

// Micro-kernel contract (internal, shared by gemm_ref.cpp and gemm_avx2.cpp). a: kc×6 packed (a[k·6 + r]),
// b: kc×16 packed (b[k·16 + j]), both 32-byte aligned. Computes acc[r][j] = Σ_k a[k·6+r]·b[k·16+j] in k order,
// then c[r·ldc + j] = acc (accumulate false) or c[r·ldc + j] + acc (true), for the full 6×16 tile.
constexpr size_t kGemmMR = 6, kGemmNR = 16;
using GemmMicroKernel = void (*)(size_t kc, const float* a, const float* b, float* c, size_t ldc, bool accumulate);
GemmMicroKernel gemm_micro_kernel_avx2();  // nullptr when not compiled for this architecture

}  // namespace ttt
