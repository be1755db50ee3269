// Plain reference kernels for the float parts of the model: dense matrix-vector product, RMSNorm, SiLU, the int8
// activation fake quantisation, and the TTT fast-weight step. The oracle for optimised kernels.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ttt {

// y[rows] = W[rows, cols] · x[cols]; W row-major.
void matvec_f32_ref(const float* w, size_t rows, size_t cols, const float* x, float* y);

// y = x / sqrt(mean(x²) + eps) · g. y may alias x.
void rmsnorm_ref(const float* x, const float* g, size_t n, float eps, float* y);

// x' = clamp(round_half_away(x·a), −128, 127) / a with a = 127 / max(max|x|, 1e-5). y may alias x.
void fake_quant_int8_ref(const float* x, size_t n, float* y);

// silu(gate) ⊙ up into out.
void swiglu_ref(const float* gate, const float* up, size_t n, float* out);

// fhat = f / (‖f‖₂ + 1e-6). Returns nothing; fhat may alias f.
void l2_normalize_ref(const float* f, size_t n, float* fhat);

// pending[d, d] += (z − fhat) ⊗ fhat  (the TTT inner-loss gradient of one token).
void ttt_accumulate_ref(const float* z, const float* fhat, size_t d, float* pending);

// w[d, d] −= lr · pending; pending = 0.
void ttt_apply_ref(float* w, float* pending, size_t d, float lr);

}  // namespace ttt
