// The training operations, one forward and one hand-written backward each (llm.c style), templated on the scalar
// type: float for training, double for the finite-difference checks in tests/test_train_grad.cpp. Every function
// works on N rows of a row-major matrix (one row per token) unless it says otherwise. For T = float the forward
// functions do the same float operations in the same order as the inference kernels (kernels/cpu/ops_ref.cpp), so
// training and inference compute the same function.
//
// Gradient convention: parameter gradients are always ADDED (+=). Input gradients are written (=) unless the
// comment says "+=" (rmsnorm_backward adds, so residual streams need no extra copy). Every output buffer may not
// alias an input unless the comment says so.
//
// Threading: `pool` may be nullptr. Row-parallel loops split rows statically; every reduction over rows (norm
// gains, embedding rows) runs sequentially in row order, so results are bit-identical for any thread count, and
// the float GEMMs are too (kernels/cpu/gemm_ref.h).
#pragma once

#include <cstddef>
#include <cstdint>

namespace ttt {

class ThreadPool;

// ---- dense products: float goes to the blocked GEMM, double to plain loops (checks only) --------------------------
// C[M,N] (+)= op(A)·op(B), conventions of kernels/cpu/gemm_ref.h.
void matmul(bool trans_a, bool trans_b, size_t M, size_t N, size_t K, const float* A, const float* B, float* C,
            bool accumulate, ThreadPool* pool);
void matmul(bool trans_a, bool trans_b, size_t M, size_t N, size_t K, const double* A, const double* B, double* C,
            bool accumulate, ThreadPool* pool);

// ---- embedding ------------------------------------------------------------------------------------------------
// out[n, :] = E[tokens[n], :]                 E (V, D), out (N, D)
template <typename T>
void embedding_forward(const int32_t* tokens, size_t N, const T* E, size_t D, T* out);
// dE[tokens[n], :] += dout[n, :], rows in order.
template <typename T>
void embedding_backward(const int32_t* tokens, size_t N, const T* dout, size_t D, T* dE);

// ---- RMSNorm: y = x / sqrt(mean(x²) + eps) · g ------------------------------------------------------------------
// x, y (N, D); g (D); rstd (N) keeps 1/sqrt(mean(x²) + eps) for the backward.
template <typename T>
void rmsnorm_forward(const T* x, const T* g, size_t N, size_t D, float eps, T* y, T* rstd, ThreadPool* pool);
// dx += r·(dy⊙g − x̂·mean(dy⊙g⊙x̂)) with x̂ = x·r;  dg += Σ_n dy⊙x̂.
template <typename T>
void rmsnorm_backward(const T* dy, const T* x, const T* g, const T* rstd, size_t N, size_t D, T* dx, T* dg,
                      ThreadPool* pool);

// ---- int8 activation fake quantisation (act_bits 8), per row -----------------------------------------------------
// a = 127 / max(max|x|, 1e-5);  y = clamp(round_half_away(x·a), −128, 127) / a.  y may alias x.
// Backward: the identity straight-through estimator (dx = dy), so there is no backward function; callers pass
// the gradient through unchanged.
template <typename T>
void fake_quant_forward(const T* x, size_t N, size_t D, T* y, ThreadPool* pool);

// ---- BitLinear weights ----------------------------------------------------------------------------------------
// s = mean|W| + 1e-6, the mean in double (the inference packer's scale, kernels/cpu/ternary_ref.h).
template <typename T>
double bitlinear_scale(const T* w, size_t n);
// The effective weight the forward multiplies by, materialised once per step:
//   exact:   we = Q (scaled = false)  or  we = s·Q (scaled = true),   Q = clamp(round_half_away(W/s), −1, 1)
//   relaxed: we = W·(1/s)            or  we = W                       (the quantiser replaced by the identity)
template <typename T>
void bitlinear_effective_weight(const T* w, size_t n, double s, bool scaled, bool relaxed, T* we);
// Straight-through estimator, the same in both modes:
//   unscaled: ∂L/∂W = (1/s)·∂L/∂Q       (upstream: W_ste = W/s + stopgrad(Q − W/s); s is a constant)
//   scaled:   ∂L/∂W = ∂L/∂(sQ)          (identity; s gets no gradient)
// dw += dwe·(1/s) or dw += dwe.
template <typename T>
void bitlinear_weight_backward(const T* dwe, size_t n, double s, bool scaled, T* dw);

// ---- SwiGLU: out = silu(g) ⊙ u, silu(g) = g / (1 + e^−g) --------------------------------------------------------
// n elements (N·I).
template <typename T>
void swiglu_forward(const T* g, const T* u, size_t n, T* out, ThreadPool* pool);
// dg = dout⊙u⊙silu'(g), du = dout⊙silu(g), silu'(g) = σ(g)(1 + g(1 − σ(g))). dg may alias dout.
template <typename T>
void swiglu_backward(const T* dout, const T* g, const T* u, size_t n, T* dg, T* du, ThreadPool* pool);

// ---- L2 normalisation of the TTT features: f̂ = f / (‖f‖₂ + 1e-6) ------------------------------------------------
// f, fhat (N, d); norm (N) keeps ‖f‖₂.
template <typename T>
void l2norm_forward(const T* f, size_t N, size_t d, T* fhat, T* norm, ThreadPool* pool);
// With q = 1/(‖f‖ + 1e-6): df = q·df̂ − (q²/‖f‖)·f·⟨df̂, f⟩ (the second term is 0 when f = 0).
template <typename T>
void l2norm_backward(const T* dfhat, const T* f, const T* norm, size_t N, size_t d, T* df, ThreadPool* pool);

// ---- TTT chunked fast weights (DESIGN §2), B independent sequences of T tokens ------------------------------------
// For each sequence: W₀ = 0; chunk c covers tokens [cC, min(cC + C, T)); every token of chunk c predicts with the
// chunk-start state, z_t = W_c f̂_t; then W_{c+1} = W_c − η Σ_{t∈c} (z_t − f̂_t) f̂_tᵀ.
//   fhat, z    (B·T, d)
//   states     (B, nC, d, d) with nC = ceil(T / C): W_c of every chunk, kept for the backward
inline size_t ttt_num_chunks(size_t T, size_t C) { return (T + C - 1) / C; }
template <typename T>
void ttt_forward(const T* fhat, size_t B, size_t Tn, size_t d, size_t C, float eta, T* z, T* states,
                 ThreadPool* pool);
// Backward through the whole recurrence (W is not detached): gradients reach f̂ through z = W f̂ and through
// the update terms of every earlier chunk. dz (B·T, d) in, dfhat (B·T, d) out (=). scratch: ttt_backward_scratch
// (B, T, d, C) values.
inline size_t ttt_backward_scratch(size_t B, size_t Tn, size_t d, size_t C) {
    const size_t len = C < Tn ? C : Tn;
    return B * (2 * d * d + len * 2 * d);
}
template <typename T>
void ttt_backward(const T* dz, const T* fhat, const T* z, const T* states, size_t B, size_t Tn, size_t d, size_t C,
                  float eta, T* dfhat, T* scratch, ThreadPool* pool);

// ---- cross-entropy --------------------------------------------------------------------------------------------
// losses[n] = logsumexp(logits[n, :]) − logits[n, targets[n]]; returns the mean over N (summed in row order in
// double). logits (N, V), losses (N). Targets must be in [0, V) (else Error TTT_ERR_INVALID_ARGUMENT).
template <typename T>
double cross_entropy_forward(const T* logits, const int32_t* targets, size_t N, size_t V, double* losses,
                             ThreadPool* pool);
// dlogits = scale·(softmax(logits) − onehot(target)); dlogits may alias logits. scale = 1/N for the mean.
template <typename T>
void cross_entropy_backward(const T* logits, const int32_t* targets, size_t N, size_t V, double scale, T* dlogits,
                            ThreadPool* pool);

}  // namespace ttt
