// The body of ttt_delta_kernels_avx2.cpp and ttt_delta_kernels_avx512.cpp: the delta recurrence's source
// (ttt_delta_ref.h) compiled once more, for the instruction set of the including file's target pragma, and exported
// as TTT_DELTA_KERNEL_NAME (ttt_kernels.h, ttt_delta_kernel).
//
// ttt_delta_ref.h is included inside an anonymous namespace, so its templates and inline functions get internal
// linkage here: the linker can never hand this file's AVX code to the portable build's callers (one definition
// rule). Its standard headers come first, from the including file, so their guards keep them out of the namespace.
// No include guard: each ISA file includes it once.

namespace ttt_delta_isa {
namespace {
#include "cpu/ttt_delta_ref.h"
}  // namespace
}  // namespace ttt_delta_isa

namespace ttt {

void TTT_DELTA_KERNEL_NAME(const TttDeltaArgs& a, const float* kr, const float* v, const float* qr, const float* gates,
                           size_t n, float* W, float* tail, float* out) {
    ttt_delta_isa::ttt::TttDeltaParams<float> p;
    p.d = a.d, p.heads = a.heads, p.conv_k = a.conv_k, p.conv_q = a.conv_q, p.gate_bias = a.gate_bias, p.lr = a.lr;
    ttt_delta_isa::ttt::ttt_delta_rows<float>(p, kr, v, qr, gates, n, W, tail, out);
}

}  // namespace ttt
