// The backend seam (DESIGN §1): the model composes these operations and never calls a kernel directly. The CPU
// reference backend is always present and is the oracle; SIMD variants and the CUDA backend plug in here, chosen
// at run time, and are tested against the reference on random and odd shapes.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ttt {

struct Backend {
    const char* name;
    // y[rows] = Q·x for a packed ternary matrix (layout in kernels/cpu/ternary_ref.h); unscaled.
    void (*ternary_matvec)(const uint8_t* packed, size_t rows, size_t cols, const float* x, float* y);
    // y[rows] = W·x for a dense row-major float matrix.
    void (*matvec_f32)(const float* w, size_t rows, size_t cols, const float* x, float* y);
    void (*rmsnorm)(const float* x, const float* g, size_t n, float eps, float* y);
    void (*fake_quant_int8)(const float* x, size_t n, float* y);
    void (*swiglu)(const float* gate, const float* up, size_t n, float* out);
    void (*l2_normalize)(const float* f, size_t n, float* fhat);
    void (*ttt_accumulate)(const float* z, const float* fhat, size_t d, float* pending);
    void (*ttt_apply)(float* w, float* pending, size_t d, float lr);
};

// The plain scalar reference backend.
const Backend& cpu_reference_backend();

// Whether a CUDA backend was compiled into this build (TTT_CUDA); running it comes with the CUDA backend issue.
bool cuda_backend_compiled();

}  // namespace ttt
