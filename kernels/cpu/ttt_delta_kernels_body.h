// The body of ttt_delta_kernels_avx2.cpp and ttt_delta_kernels_avx512.cpp: the delta recurrence's source
// (ttt_delta_ref.h) compiled once more, for the instruction set TTT_DELTA_TARGET names, and exported as
// TTT_DELTA_KERNEL_NAME (ttt_kernels.h, ttt_delta_kernel). No fused multiply-adds (the build passes
// -ffp-contract=off), so the bits are the scalar level's (tested).
//
// Every header with inline code comes before the target pragma, so only this file's own functions get the wider
// code; ttt_delta_ref.h, included after it, sits inside an anonymous namespace, so its templates and inline functions
// get internal linkage here and the linker can never hand this file's code to the portable build's callers (one
// definition rule). No include guard: each ISA file includes it once.
#if defined(__x86_64__) || defined(__i386__)

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <vector>

#include "cpu/ttt_kernels.h"

#define TTT_DELTA_STR(...) #__VA_ARGS__
#define TTT_DELTA_PRAGMA(...) _Pragma(TTT_DELTA_STR(__VA_ARGS__))

// gcc compiles the rest of the file for the target by the pragma; clang ignores `#pragma GCC target` and takes the
// attribute on every function declared up to the pop instead (the included templates too).
#if defined(__clang__)
TTT_DELTA_PRAGMA(clang attribute push(__attribute__((target(TTT_DELTA_TARGET))), apply_to = function))
#else
TTT_DELTA_PRAGMA(GCC push_options)
TTT_DELTA_PRAGMA(GCC target(TTT_DELTA_TARGET))
#endif

namespace ttt_delta_isa {
namespace {
#include "cpu/ttt_delta_ref.h"
}  // namespace
}  // namespace ttt_delta_isa

namespace ttt {

void TTT_DELTA_KERNEL_NAME(const TttDeltaArgs& a, const float* kr, const float* v, const float* qr, const float* gates,
                           size_t n, float* W, float* tail, float* out, size_t h0, size_t h1) {
    using Params = ttt_delta_isa::ttt::TttDeltaParams<float>;
    ttt_delta_isa::ttt::ttt_delta_rows_heads<float>(delta_params<Params>(a), kr, v, qr, gates, n, W, tail, out, h0, h1);
}

}  // namespace ttt

#if defined(__clang__)
TTT_DELTA_PRAGMA(clang attribute pop)
#else
TTT_DELTA_PRAGMA(GCC pop_options)
#endif

#endif
