// The delta-rule TTT layer in training (docs/memory.md): B independent sequences of T tokens, each from a zero soul
// or from a soul carried over from the sequence's previous window (stream training, train/data.h), running the one
// recurrence of kernels/cpu/ttt_delta_ref.h forward and its backward. Templated on the scalar like train_ops.h
// (float trains, double checks).
#pragma once

#include <cstddef>

#include "cpu/ttt_delta_ref.h"

namespace ttt {

class ThreadPool;

// What the forward keeps per token for the backward, B·T rows each (see TttDeltaTrace).
template <typename T>
struct TttDeltaSaved {
    T *kc, *qc, *khat, *qhat;      // (N, d)
    T *knorm, *qnorm, *eta, *alpha;  // (N, H)
    T* states;                     // (N, d·dh)
};
// Values TttDeltaSaved needs, and the backward's scratch (per-sequence partial gradients, summed in order).
inline size_t ttt_delta_saved_size(size_t N, size_t d, size_t H) { return N * (4 * d + 4 * H + d * (d / H)); }
inline size_t ttt_delta_train_scratch(size_t B, size_t d, size_t H) {
    return B * (ttt_delta_backward_scratch(d, H) + 2 * d * kDeltaConv + 2 * H);
}
template <typename T>
TttDeltaSaved<T> ttt_delta_saved_at(T* base, size_t N, size_t d, size_t H) {
    TttDeltaSaved<T> s;
    s.kc = base, s.qc = s.kc + N * d, s.khat = s.qc + N * d, s.qhat = s.khat + N * d;
    s.knorm = s.qhat + N * d, s.qnorm = s.knorm + N * H, s.eta = s.qnorm + N * H, s.alpha = s.eta + N * H;
    s.states = s.alpha + N * H;
    return s;
}

// One sequence's soul in training: W (ttt_delta_state_size) followed by the tail (ttt_delta_tail_size).
inline size_t ttt_delta_soul_size(size_t d, size_t H) { return ttt_delta_state_size(d, H) + ttt_delta_tail_size(d); }

// out (B·T, d) from kr, v, qr (B·T, d) and gates (B·T, 2H). start (B souls, null: zero souls) is the soul each
// sequence starts from; end (B souls), if not null, receives the soul after its T tokens.
template <typename T>
void ttt_delta_forward(const TttDeltaParams<T>& p, const T* kr, const T* v, const T* qr, const T* gates, size_t B,
                       size_t Tn, const T* start, T* end, T* out, const TttDeltaSaved<T>& saved, ThreadPool* pool);
// dkr, dv, dqr (B·T, d) and dgates (B·T, 2H) written; dconv_k, dconv_q (d, 4) and dgate_bias (2H) accumulated
// (+=) in sequence order, so the result is the same for any thread count. start: the forward's (no gradient flows
// into it).
template <typename T>
void ttt_delta_backward(const TttDeltaParams<T>& p, const T* kr, const T* v, const T* qr,
                        const TttDeltaSaved<T>& saved, const T* start, const T* dout, size_t B, size_t Tn, T* dkr,
                        T* dv, T* dqr, T* dgates, T* dconv_k, T* dconv_q, T* dgate_bias, T* scratch, ThreadPool* pool);

}  // namespace ttt
