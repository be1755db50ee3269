// SwiGLU, out = silu(gate) ⊙ up = gate / (1 + e^−gate) · up, by instruction-set level. The scalar level is the
// oracle (swiglu_span, ops_ref.h, libm's expf). The AVX2 level (also used at the avx512 level) computes e^x with a
// polynomial: x = n·ln2 + r (|r| ≤ ln2/2, ln2 in two parts), e^r by a degree-6 polynomial, times 2^n built in the
// exponent bits; x clamped to [−86.5, 88.7] where e^x stays a normal float (below it 1 + e^x rounds to 1 as in the
// oracle; above 88.72, where the oracle's e^−g overflows, the result is its g / ∞ = ∓0). Every element goes through the same vector code
// (the last < 8 through a padded copy), so an element's bits never depend on where it sits in the span, on M or on
// the thread split. Tolerance against the oracle (tests/test_kernels.cpp): |out − ref| ≤ 8·2⁻²⁴·|ref| + 1e-30:
// e^x's polynomial is within 2 ulp, the division and products add one rounding each.
#pragma once

#include <cstddef>

#include "cpu/ternary_kernels.h"

namespace ttt {

using SwigluFn = void (*)(const float* gate, const float* up, size_t n, float* out);

SwigluFn swiglu_kernel(CpuLevel level);

}  // namespace ttt
