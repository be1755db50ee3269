// Ternary weights: quantisation (absmean), 2-bit packing and the plain reference matrix-vector product.
// These are the oracle every optimised kernel is tested against. They know nothing of models or files.
// The packed layout is the file layout of kernels/ternary_format.h.
#pragma once

#include <cstddef>
#include <cstdint>

#include "ternary_format.h"

namespace ttt {

// s = mean|W| + 1e-6 (mean in double); the +1e-6 keeps an all-zero matrix finite (upstream divided by zero).
double ternary_scale_ref(const float* w, size_t n);

// Q = clamp(round_half_away(W / s), −1, 1) into q[n] ∈ {−1, 0, 1}.
void ternarize_ref(const float* w, size_t n, double scale, int8_t* q);

// Pack q[rows·cols] into out[rows·row_bytes(cols)].
void pack_ternary_ref(const int8_t* q, size_t rows, size_t cols, uint8_t* out);
// Unpack to q[rows·cols].
void unpack_ternary_ref(const uint8_t* packed, size_t rows, size_t cols, int8_t* q);
// True if every code is 00/01/10 and padding bits are zero; *bad_row receives the first bad row otherwise.
bool validate_packed_ternary(const uint8_t* packed, size_t rows, size_t cols, size_t* bad_row);

// y[r] = Σ_c Q[r, c] · x[c] (no scale). Plain scalar loop in float.
void ternary_matvec_ref(const uint8_t* packed, size_t rows, size_t cols, const float* x, float* y);

}  // namespace ttt
