// Float matrices to ternary ones, for converting float checkpoints (a Llama's projections; a BitNet's bf16 master
// weights). Pure math on [rows, cols] row-major floats: no files, no backends.
//
//   absmean (BitNet b1.58, transformers' WeightQuant): s = max(mean|W|, 1e-5), Q = clamp(round_half_even(W/s), ±1).
//   multi-base: W ≈ Σ_b s_b·Q_b, bases fitted greedily on the residual R_0 = W, R_{b+1} = R_b − s_b·Q_b.
//     least_squares (ours): each base is the best ternary approximation of its residual, min ‖R − s·Q‖² over
//       s > 0 and Q ∈ {−1, 0, 1}: Q keeps the signs of the n largest |R|, s is their mean |R|, and n maximises
//       (Σ of the n largest |R|)² / n (the error it removes), found exactly by sorting |R| once.
//     upstream (its convert_llama_v2.py, upstream-spec §2.4): s_b = mean|R_b| (1 when below 1e-9), Q_b =
//       clamp(round_half_even(R_b/s_b), ±1): the rounding threshold s/2 is fixed, not fitted. Kept to measure
//       what the fit gains (docs/models.md); the converter uses least_squares.
#pragma once

#include <cstdint>
#include <vector>

#include "model/weights.h"

namespace ttt {

TernaryMatrix ternarise_absmean(const float* w, int32_t rows, int32_t cols);

enum class MultiBaseFit { least_squares, upstream };

// `bases` in 1..kMaxTernaryBases; every base has w's shape.
std::vector<TernaryMatrix> ternarise_multibase(const float* w, int32_t rows, int32_t cols, int32_t bases,
                                               MultiBaseFit fit = MultiBaseFit::least_squares);

// Σ_b s_b·Q_b as floats [rows·cols] (for measuring the reconstruction error).
std::vector<float> reconstruct_ternary(const std::vector<TernaryMatrix>& bases);

}  // namespace ttt
