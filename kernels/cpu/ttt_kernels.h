// The TTT chunked recurrence (kernels/cpu/ttt_ref.h) by instruction-set level. The scalar level is ttt_chunked_rows
// itself. The AVX2 level (used at the AVX-512 level too) computes each z_i = W_i·f̂ with 8 lanes (lane l sums
// j ≡ l mod 8 in order with fused multiply-adds, then a fixed tree, then the tail), so z differs from the scalar
// order within 2·d·2⁻²⁴·Σ_j |W_ij·f̂_j|; the pending and state updates are element-wise and give the scalar bits for
// the same z. Rows stay independent, so any split of [0, d) between threads gives the same bits at a given level.
#pragma once

#include <cstddef>
#include <cstdint>

#include "cpu/ternary_kernels.h"

namespace ttt {

using TttChunkedFn = void (*)(const float* fhat, float* z, size_t n, size_t d, float* w, float* pending,
                              uint64_t position, size_t chunk, float lr, size_t i0, size_t i1);

TttChunkedFn ttt_chunked_kernel(CpuLevel level);

// The delta layer's recurrence (kernels/cpu/ttt_delta_ref.h: ttt_delta_rows<float> on one sequence's rows, its
// state W and tail) by instruction-set level: the one source compiled for AVX2 and for AVX-512 as well. Its sums run
// in a fixed order of interleaved lanes without fused multiply-adds (the build passes -ffp-contract=off), so every
// level gives the scalar level's bits (tested): the wider levels only run the same lanes in wider registers.
struct TttDeltaArgs {
    size_t d = 0, heads = 1;
    const float* conv_k = nullptr;     // (d, 4)
    const float* conv_q = nullptr;     // (d, 4)
    const float* gate_bias = nullptr;  // (2H)
    float lr = 0.0f;
};
// The oracle's parameters (TttDeltaParams<float> of ttt_delta_ref.h, in whichever namespace the including file
// compiled it: the ISA files compile their own copy) from the kernel's arguments.
template <class Params>
Params delta_params(const TttDeltaArgs& a) {
    Params p;
    p.d = a.d, p.heads = a.heads, p.conv_k = a.conv_k, p.conv_q = a.conv_q, p.gate_bias = a.gate_bias, p.lr = a.lr;
    return p;
}
// Runs the heads [h0, h1) (ttt_delta_rows_heads): disjoint ranges may run on different threads.
using TttDeltaFn = void (*)(const TttDeltaArgs& args, const float* kr, const float* v, const float* qr,
                            const float* gates, size_t n, float* W, float* tail, float* out, size_t h0, size_t h1);

TttDeltaFn ttt_delta_kernel(CpuLevel level);

}  // namespace ttt
