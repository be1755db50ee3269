#include "train/ttt_delta_ops.h"

#include <algorithm>
#include <vector>

#include "backend/thread_pool.h"

namespace ttt {

namespace {

template <typename Fn>
void for_sequences(ThreadPool* pool, size_t B, const Fn& fn) {
    if (pool && pool->size() > 1) pool->parallel_for(B, fn, 1);
    else if (B) fn(size_t(0), B);
}

template <typename T>
TttDeltaTrace<T> trace_of(const TttDeltaSaved<T>& s, size_t row, size_t d, size_t H) {
    const size_t dh = d / H;
    return {s.kc + row * d,    s.qc + row * d,    s.khat + row * d, s.qhat + row * d, s.knorm + row * H,
            s.qnorm + row * H, s.eta + row * H,   s.alpha + row * H, s.states + row * d * dh};
}

}  // namespace

template <typename T>
void ttt_delta_forward(const TttDeltaParams<T>& p, const T* kr, const T* v, const T* qr, const T* gates, size_t B,
                       size_t Tn, const T* start, T* end, T* out, const TttDeltaSaved<T>& saved, ThreadPool* pool) {
    const size_t d = p.d, H = p.heads, S = ttt_delta_soul_size(d, H), nW = ttt_delta_state_size(d, H);
    for_sequences(pool, B, [&](size_t b0, size_t b1) {
        std::vector<T> soul(S);
        for (size_t b = b0; b < b1; ++b) {
            if (start) std::copy(start + b * S, start + (b + 1) * S, soul.begin());
            else std::fill(soul.begin(), soul.end(), T(0));
            const size_t r = b * Tn;
            const TttDeltaTrace<T> tr = trace_of(saved, r, d, H);
            ttt_delta_rows<T>(p, kr + r * d, v + r * d, qr + r * d, gates + r * 2 * H, Tn, soul.data(),
                              soul.data() + nW, out + r * d, &tr);
            if (end) std::copy(soul.begin(), soul.end(), end + b * S);
        }
    });
}

template <typename T>
void ttt_delta_backward(const TttDeltaParams<T>& p, const T* kr, const T* v, const T* qr,
                        const TttDeltaSaved<T>& saved, const T* start, const T* dout, size_t B, size_t Tn, T* dkr,
                        T* dv, T* dqr, T* dgates, T* dconv_k, T* dconv_q, T* dgate_bias, T* scratch, ThreadPool* pool) {
    const size_t d = p.d, H = p.heads, K = kDeltaConv, S = ttt_delta_soul_size(d, H), nW = ttt_delta_state_size(d, H);
    const size_t per_seq = ttt_delta_backward_scratch(d, H) + 2 * d * K + 2 * H;
    for_sequences(pool, B, [&](size_t b0, size_t b1) {
        for (size_t b = b0; b < b1; ++b) {
            T* s = scratch + b * per_seq;
            T* pck = s + ttt_delta_backward_scratch(d, H);
            T* pcq = pck + d * K;
            T* pb = pcq + d * K;
            std::fill(pck, pck + 2 * d * K + 2 * H, T(0));
            const size_t r = b * Tn;
            const T* tail = start ? start + b * S + nW : nullptr;
            ttt_delta_backward_rows<T>(p, kr + r * d, v + r * d, qr + r * d, trace_of(saved, r, d, H), tail,
                                       dout + r * d, Tn, dkr + r * d, dv + r * d, dqr + r * d, dgates + r * 2 * H, pck,
                                       pcq, pb, s);
        }
    });
    // Parameter gradients: the per-sequence parts summed in sequence order.
    for (size_t b = 0; b < B; ++b) {
        const T* pck = scratch + b * per_seq + ttt_delta_backward_scratch(d, H);
        for (size_t i = 0; i < d * K; ++i) dconv_k[i] += pck[i];
        for (size_t i = 0; i < d * K; ++i) dconv_q[i] += pck[d * K + i];
        for (size_t i = 0; i < 2 * H; ++i) dgate_bias[i] += pck[2 * d * K + i];
    }
}

#define TTT_DELTA_INSTANTIATE(T)                                                                                    \
    template void ttt_delta_forward<T>(const TttDeltaParams<T>&, const T*, const T*, const T*, const T*, size_t,   \
                                       size_t, const T*, T*, T*, const TttDeltaSaved<T>&, ThreadPool*);            \
    template void ttt_delta_backward<T>(const TttDeltaParams<T>&, const T*, const T*, const T*,                    \
                                        const TttDeltaSaved<T>&, const T*, const T*, size_t, size_t, T*, T*, T*,   \
                                        T*, T*, T*, T*, T*, ThreadPool*);
TTT_DELTA_INSTANTIATE(float)
TTT_DELTA_INSTANTIATE(double)
#undef TTT_DELTA_INSTANTIATE

}  // namespace ttt
