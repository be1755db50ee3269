// Per-row absmax int8 quantisation (quantize_rows_i8 of ternary_kernels.h) by instruction-set level. Every level
// gives exactly the scalar level's bytes and factors (tested): the same float products, the same round-half-away,
// the same clamp, a NaN quantised to 0.
#pragma once

#include <cstddef>
#include <cstdint>

#include "cpu/ternary_kernels.h"

namespace ttt {

using QuantizeRowsFn = void (*)(const float* x, size_t ldx, size_t M, size_t K, int8_t* q, size_t ldq, float* a);

QuantizeRowsFn quantize_rows_kernel(CpuLevel level);

}  // namespace ttt
