// Upstream's stand-alone TTT layer (the legacy Bit_TTT.dll, upstream-spec §2.3.3 and §2.6.6), kept for its C API:
// random ternary projections (now from a seeded generator, so the same seed gives the same layer everywhere),
// per-vector int8 activations, and a residual inside the layer:
//   f = down(x); f̂ = f/‖f‖ if ‖f‖ > 1e-6 else f;  p = W f̂;  y = x + up(p);  W ← W − η (p − f̂) f̂ᵀ
// Every call starts from W = 0, as upstream's forward_sequence did. The projections run on the CPU's ternary int8
// kernels (kernels/cpu/ternary_kernels.h: exact integer sums, one division, so the same values as int8_linear, the
// reference) and the recurrence on its TTT kernel (kernels/cpu/ttt_kernels.h): at the scalar level the outputs are
// the reference's bits; at the SIMD levels the recurrence sums z in another order (within its kernel's bound), so
// outputs may differ in the last bits from the scalar level's, as the model's logits do.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "cpu/ternary_kernels.h"

namespace ttt {

class LegacyTttLayer {
public:
    // level: the kernels' instruction-set level (default: the CPU's, as TTT_CPU_LEVEL may lower it).
    LegacyTttLayer(size_t hidden_dim, float inner_lr, uint64_t seed, CpuLevel level = cpu_active_level());
    // The packed projections point into their own storage: moved, not copied.
    LegacyTttLayer(const LegacyTttLayer&) = delete;
    LegacyTttLayer& operator=(const LegacyTttLayer&) = delete;
    LegacyTttLayer(LegacyTttLayer&&) = default;
    LegacyTttLayer& operator=(LegacyTttLayer&&) = default;
    void forward(const float* input, size_t seq_len, float* output) const;

    size_t hidden_dim() const { return dim_; }
    size_t inner_dim() const { return inner_; }
    // Projections stored [in, out] as upstream: down (D, d), up (d, D); entries in {−1, 0, 1}.
    const std::vector<int8_t>& down() const { return down_; }
    const std::vector<int8_t>& up() const { return up_; }

    // y[out] = (Σ_i W[i, j] · xq_i) / a with xq the int8 absmax quantisation of x (clamped to ±127).
    static void int8_linear(const std::vector<int8_t>& w, size_t in, size_t out, const float* x, float* y);

private:
    // A projection in the kernels' layout (repacked from [out, in] codes).
    struct Packed {
        std::vector<uint8_t> storage;
        const uint8_t* data = nullptr;  // 64-byte aligned inside storage
        size_t rows = 0, cols = 0;      // out, in
    };
    Packed pack(const std::vector<int8_t>& w_in_out, size_t in, size_t out) const;
    // y = int8_linear(w, x) on the kernels; xq: scratch of w.cols bytes.
    void linear(const Packed& w, const float* x, std::vector<int8_t>& xq, float* y) const;

    size_t dim_, inner_;
    float lr_;
    std::vector<int8_t> down_, up_;
    const TernaryKernels* kernels_;
    CpuLevel level_;
    Packed down_packed_, up_packed_;
};

}  // namespace ttt
