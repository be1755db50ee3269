// The avx2 level of ttt_delta_kernel (ttt_kernels.h): ttt_delta_ref.h compiled for AVX2 by the pragma below
// (ttt_delta_kernels_body.h). No fused multiply-adds (-ffp-contract=off), so the bits are the scalar level's.
#if defined(__x86_64__) || defined(__i386__)

// Every header with inline code comes before the target pragma, so only this file's own functions get AVX2 code.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <vector>

#include "cpu/ttt_kernels.h"

// gcc compiles the rest of the file for the target by the pragma; clang ignores `#pragma GCC target` and takes the
// attribute on every function declared up to the pop instead (the included templates too).
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2")
#endif

#define TTT_DELTA_KERNEL_NAME ttt_delta_avx2
#include "cpu/ttt_delta_kernels_body.h"

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

#endif
