// The delta-rule TTT layer's recurrence ("ttt_kind": "delta", docs/memory.md §"The delta layer"), written once:
// inference (prefill, decode, batched contexts), the training forward and the training backward use these
// functions, templated on the scalar (float to run, double for finite-difference checks).
//
// One sequence of n tokens. Inputs per token t (rows of width d = H·dh, H heads of width dh):
//   kr_t, qr_t   raw key and query (ternary projections of the normed hidden state), before token mixing
//   v_t          value
//   g_t          2H gate logits (dense projection of the normed hidden state): g_t[h] for η, g_t[H + h] for α
// Per token, in this order:
//   token mixing, a causal depthwise convolution of width K = 4 per channel c (tap s looks s tokens back; tokens
//   before the soul's reset are zero, and the last K−1 raw rows of the previous call are the state `tail`):
//       kc_t[c] = Σ_{s=0..3} conv_k[c, s]·kr_{t−s}[c],      qc_t likewise with conv_q and qr
//   per head h (slices [h·dh, (h+1)·dh)):
//       k̂ = kc_h/(‖kc_h‖₂ + 1e-6),  q̂ = qc_h/(‖qc_h‖₂ + 1e-6)
//       η = lr·σ(g_t[h] + b[h]),  α = σ(g_t[H + h] + b[H + h])                  σ(a) = 1/(1 + e^−a)
//       e = W_h·k̂ − v_h;   W_h ← α·W_h − η·e·k̂ᵀ                                 (the delta rule with a forget gate)
//       o_t,h = W_h·q̂                                                            (read AFTER the update)
// Every token updates the state (no chunks): the function is the per-token recurrence, so any split of a sequence
// into calls gives the same bits. Each sum runs in one fixed order: a dot product of a row in kDotLanes interleaved
// partial sums (dot_lanes below), every other sum index ascending.
//
// State (the soul's part for one layer): W, H blocks of dh×dh (row-major, block h at h·dh²), and tail, the raw
// rows (kr, qr) of the last K−1 tokens, oldest first: tail[r] = [kr (d) | qr (d)], r = 0..K−2.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstring>
#include <vector>

namespace ttt {

constexpr size_t kDeltaConv = 4;  // token-mixing width K

inline size_t ttt_delta_state_size(size_t d, size_t heads) { return d * (d / heads); }  // H·dh²
inline size_t ttt_delta_tail_size(size_t d) { return (kDeltaConv - 1) * 2 * d; }

template <typename T>
struct TttDeltaParams {
    size_t d = 0, heads = 1;
    const T* conv_k = nullptr;     // (d, K)
    const T* conv_q = nullptr;     // (d, K)
    const T* gate_bias = nullptr;  // (2H)
    T lr = T(0);                   // base inner learning rate (config inner_lr)
};

// Per-token values the training backward needs (each pointer n rows; any may be null in inference).
template <typename T>
struct TttDeltaTrace {
    T* kc = nullptr;      // (n, d)  convolved keys
    T* qc = nullptr;      // (n, d)  convolved queries
    T* khat = nullptr;    // (n, d)
    T* qhat = nullptr;    // (n, d)
    T* knorm = nullptr;   // (n, H)  ‖kc_h‖
    T* qnorm = nullptr;   // (n, H)  ‖qc_h‖
    T* eta = nullptr;     // (n, H)
    T* alpha = nullptr;   // (n, H)
    T* states = nullptr;  // (n, H·dh²) W before the token's update
};

namespace delta_detail {

// Σ_j a[j]·b[j] as kDotLanes interleaved partial sums (lane l adds the j ≡ l mod kDotLanes, ascending), then the
// lanes added pairwise, halves first (lane l += lane l + w for w = 8, 4, 2, 1). One running sum would be a chain of
// dependent adds, bound by the add latency at a quarter of the machine's add rate or less, and so would a sequential
// sum of the lanes (16 dependent adds per dot product, most of a head's time at dh = 128); interleaved lanes and a
// halving tree are a fixed order the compiler vectorises without -ffast-math, so every path (inference at every
// instruction-set level, training, the double-precision checks) still runs the same arithmetic.
constexpr size_t kDotLanes = 16;

template <typename T>
T dot_lanes(const T* a, const T* b, size_t n) {
    T acc[kDotLanes] = {};
    size_t j = 0;
    for (; j + kDotLanes <= n; j += kDotLanes)
        for (size_t l = 0; l < kDotLanes; ++l) acc[l] += a[j + l] * b[j + l];
    for (size_t l = 0; j < n; ++j, ++l) acc[l] += a[j] * b[j];
    for (size_t w = kDotLanes / 2; w > 0; w /= 2)
        for (size_t l = 0; l < w; ++l) acc[l] += acc[l + w];
    return acc[0];
}

template <typename T>
T sigmoid(T a) {
    return T(1) / (T(1) + std::exp(-a));
}

// y = x/(‖x‖ + 1e-6) over n values; returns ‖x‖.
template <typename T>
T l2_normalize(const T* x, size_t n, T* y) {
    T ss = 0;
    for (size_t j = 0; j < n; ++j) ss += x[j] * x[j];
    const T norm = std::sqrt(ss);
    const T inv = T(1) / (norm + T(1e-6));
    for (size_t j = 0; j < n; ++j) y[j] = x[j] * inv;
    return norm;
}

// Raw row (kr or qr, `which` 0 or 1) of token t − s, from this call's rows or the tail; nullptr before reset.
template <typename T>
const T* raw_row(const T* rows, const T* tail, size_t d, size_t t, size_t s, size_t which) {
    if (s <= t) return rows + (t - s) * d;
    const size_t back = s - t;  // 1..K−1 tokens before this call
    return tail + (kDeltaConv - 1 - back) * 2 * d + which * d;
}

}  // namespace delta_detail

// Runs n tokens on the heads [h0, h1) of the state (W, tail): their channels' token mixing, their fast-weight
// blocks, their slices of out (n, d) and their channels of the tail; other heads' values are neither read nor
// written. Heads share nothing, so disjoint ranges (on different threads) give together the bits of one call over
// all heads. trace, if not null, receives the per-token values of the range.
template <typename T>
void ttt_delta_rows_heads(const TttDeltaParams<T>& p, const T* kr, const T* v, const T* qr, const T* gates, size_t n,
                          T* W, T* tail, T* out, size_t h0, size_t h1, const TttDeltaTrace<T>* trace = nullptr) {
    using namespace delta_detail;
    const size_t d = p.d, H = p.heads, dh = d / H, K = kDeltaConv;
    const size_t c0 = h0 * dh, c1 = h1 * dh, width = c1 - c0;  // the range's channels
    std::vector<T> scratch(5 * d);  // kc, qc, k̂, q̂, e
    T *kc = scratch.data(), *qc = kc + d, *kh = qc + d, *qh = kh + d, *e = qh + d;
    for (size_t t = 0; t < n; ++t) {
        // Token mixing.
        for (size_t c = c0; c < c1; ++c) {
            T ak = 0, aq = 0;
            for (size_t s = 0; s < K; ++s) {
                ak += p.conv_k[c * K + s] * raw_row(kr, tail, d, t, s, 0)[c];
                aq += p.conv_q[c * K + s] * raw_row(qr, tail, d, t, s, 1)[c];
            }
            kc[c] = ak;
            qc[c] = aq;
        }
        const T* vt = v + t * d;
        const T* gt = gates + t * 2 * H;
        T* ot = out + t * d;
        for (size_t h = h0; h < h1; ++h) {
            const size_t o = h * dh;
            const T kn = l2_normalize(kc + o, dh, kh + o);
            const T qn = l2_normalize(qc + o, dh, qh + o);
            const T eta = p.lr * sigmoid(gt[h] + p.gate_bias[h]);
            const T alpha = sigmoid(gt[H + h] + p.gate_bias[H + h]);
            T* Wh = W + h * dh * dh;
            if (trace) {
                if (trace->knorm) trace->knorm[t * H + h] = kn;
                if (trace->qnorm) trace->qnorm[t * H + h] = qn;
                if (trace->eta) trace->eta[t * H + h] = eta;
                if (trace->alpha) trace->alpha[t * H + h] = alpha;
                if (trace->states) std::memcpy(trace->states + t * d * dh + h * dh * dh, Wh, dh * dh * sizeof(T));
            }
            for (size_t i = 0; i < dh; ++i) e[i] = dot_lanes(Wh + i * dh, kh + o, dh) - vt[o + i];
            for (size_t i = 0; i < dh; ++i)
                for (size_t j = 0; j < dh; ++j) Wh[i * dh + j] = alpha * Wh[i * dh + j] - eta * e[i] * kh[o + j];
            for (size_t i = 0; i < dh; ++i) ot[o + i] = dot_lanes(Wh + i * dh, qh + o, dh);
        }
        if (trace) {
            if (trace->kc) std::memcpy(trace->kc + t * d + c0, kc + c0, width * sizeof(T));
            if (trace->qc) std::memcpy(trace->qc + t * d + c0, qc + c0, width * sizeof(T));
            if (trace->khat) std::memcpy(trace->khat + t * d + c0, kh + c0, width * sizeof(T));
            if (trace->qhat) std::memcpy(trace->qhat + t * d + c0, qh + c0, width * sizeof(T));
        }
    }
    // The new tail, the range's channels: the last K−1 raw rows of (old tail, this call's rows). Slot r holds
    // [kr (d) | qr (d)]; `keep` is the old tail's part of the range, [slot][kr|qr][width].
    if (n > 0) {
        std::vector<T> keep((K - 1) * 2 * width);
        for (size_t r = 0; r < K - 1; ++r)
            for (size_t part = 0; part < 2; ++part)
                std::memcpy(keep.data() + (r * 2 + part) * width, tail + r * 2 * d + part * d + c0, width * sizeof(T));
        for (size_t r = 0; r < K - 1; ++r) {
            const size_t back = K - 1 - r;  // this slot holds the token `back` steps before the next one
            T* slot = tail + r * 2 * d;
            for (size_t part = 0; part < 2; ++part) {
                const T* src = back <= n ? (part ? qr : kr) + (n - back) * d + c0
                                         : keep.data() + ((r + n) * 2 + part) * width;
                std::memcpy(slot + part * d + c0, src, width * sizeof(T));
            }
        }
    }
}

// Runs n tokens on the state (W, tail); out (n, d). trace, if not null, receives the per-token values.
template <typename T>
void ttt_delta_rows(const TttDeltaParams<T>& p, const T* kr, const T* v, const T* qr, const T* gates, size_t n,
                    T* W, T* tail, T* out, const TttDeltaTrace<T>* trace = nullptr) {
    ttt_delta_rows_heads(p, kr, v, qr, gates, n, W, tail, out, 0, p.heads, trace);
}

// Backward of ttt_delta_rows given the trace of its forward (whose states hold the starting W, whatever it was) and
// the tail the sequence started with (null: a zero tail, as after a reset). The starting state is a constant: no
// gradient flows into W or the tail (training from a carried soul is truncated backpropagation through time).
// dout (n, d) in; dkr, dv, dqr (n, d) and dgates (n, 2H) written (=); dconv_k, dconv_q (d, K) and dgate_bias (2H)
// accumulated (+=). scratch: ttt_delta_backward_scratch(d, heads) values.
//
// Per token, backwards, per head, with P = W before and W' = W after the update and G = ∂L/∂W':
//   G += do·q̂ᵀ;  dq̂ = W'ᵀ·do
//   dα = Σ G⊙P;  dη = −eᵀ·G·k̂;  de = −η·G·k̂;  dv = −de;  dk̂ = −η·Gᵀ·e + Pᵀ·de;  then G ← α·G + de·k̂ᵀ (= ∂L/∂P)
//   the gates: ∂g_η = dη·η·(1 − η/lr),  ∂g_α = dα·α·(1 − α);  the norms and the convolution by the chain rule.
inline size_t ttt_delta_backward_scratch(size_t d, size_t heads) {
    const size_t dh = d / heads;
    return d * dh + dh * dh + 7 * d;
}

template <typename T>
void ttt_delta_backward_rows(const TttDeltaParams<T>& p, const T* kr, const T* v, const T* qr,
                             const TttDeltaTrace<T>& tr, const T* tail, const T* dout, size_t n, T* dkr, T* dv,
                             T* dqr, T* dgates, T* dconv_k, T* dconv_q, T* dgate_bias, T* scratch) {
    const size_t d = p.d, H = p.heads, dh = d / H, K = kDeltaConv;
    T* G = scratch;            // (H, dh, dh)
    T* Wn = G + d * dh;        // (dh, dh) W after the update, recomputed
    T* e = Wn + dh * dh;       // (d)
    T* Gk = e + d;             // (d)
    T* de = Gk + d;            // (d)
    T* dkh = de + d;           // (d)
    T* dqh = dkh + d;          // (d)
    T* dkc = dqh + d;          // (d)  (followed by dqc)
    T* dqc = dkc + d;
    std::fill(G, G + d * dh, T(0));
    std::fill(dkr, dkr + n * d, T(0));
    std::fill(dqr, dqr + n * d, T(0));
    for (size_t t = n; t-- > 0;) {
        const T* kh = tr.khat + t * d;
        const T* qh = tr.qhat + t * d;
        const T* vt = v + t * d;
        const T* dot = dout + t * d;
        for (size_t h = 0; h < H; ++h) {
            const size_t o = h * dh;
            const T* P = tr.states + t * d * dh + h * dh * dh;
            T* Gh = G + h * dh * dh;
            const T eta = tr.eta[t * H + h], alpha = tr.alpha[t * H + h];
            // Recompute e and W'.
            for (size_t i = 0; i < dh; ++i) e[o + i] = delta_detail::dot_lanes(P + i * dh, kh + o, dh) - vt[o + i];
            for (size_t i = 0; i < dh; ++i)
                for (size_t j = 0; j < dh; ++j) Wn[i * dh + j] = alpha * P[i * dh + j] - eta * e[o + i] * kh[o + j];
            // o = W'·q̂
            for (size_t j = 0; j < dh; ++j) dqh[o + j] = 0;
            for (size_t i = 0; i < dh; ++i) {
                const T g = dot[o + i];
                for (size_t j = 0; j < dh; ++j) {
                    Gh[i * dh + j] += g * qh[o + j];
                    dqh[o + j] += Wn[i * dh + j] * g;
                }
            }
            // W' = α·P − η·e·k̂ᵀ
            const T dalpha = delta_detail::dot_lanes(Gh, P, dh * dh);
            for (size_t i = 0; i < dh; ++i) Gk[o + i] = delta_detail::dot_lanes(Gh + i * dh, kh + o, dh);
            T deta = 0;
            for (size_t i = 0; i < dh; ++i) deta -= e[o + i] * Gk[o + i];
            for (size_t i = 0; i < dh; ++i) de[o + i] = -eta * Gk[o + i];
            for (size_t i = 0; i < dh; ++i) dv[t * d + o + i] = -de[o + i];
            // dk̂ = −η·Gᵀ·e + Pᵀ·de, accumulated row by row (i ascending for every j), so the inner loop runs along rows.
            for (size_t j = 0; j < dh; ++j) dkh[o + j] = 0;
            for (size_t i = 0; i < dh; ++i) {
                const T ge = -eta * e[o + i], pd = de[o + i];
                for (size_t j = 0; j < dh; ++j) dkh[o + j] += ge * Gh[i * dh + j] + pd * P[i * dh + j];
            }
            for (size_t i = 0; i < dh; ++i)
                for (size_t j = 0; j < dh; ++j) Gh[i * dh + j] = alpha * Gh[i * dh + j] + de[o + i] * kh[o + j];
            // Gates: η = lr·σ(a) → ∂a = dη·lr·σ(1 − σ) = dη·η·(1 − σ); α = σ(b) → ∂b = dα·α(1 − α).
            const T sig_eta = p.lr != T(0) ? eta / p.lr : delta_detail::sigmoid(T(0));  // σ(a) (lr 0: η ≡ 0)
            const T ga = p.lr != T(0) ? deta * eta * (T(1) - sig_eta) : T(0);
            const T gb = dalpha * alpha * (T(1) - alpha);
            dgates[t * 2 * H + h] = ga;
            dgates[t * 2 * H + H + h] = gb;
            dgate_bias[h] += ga;
            dgate_bias[H + h] += gb;
            // Norms: x̂ = x/(‖x‖ + 1e-6) → dx = q·dx̂ − (q²/‖x‖)·x·⟨dx̂, x⟩, q = 1/(‖x‖ + 1e-6).
            auto norm_back = [&](const T* x, T nrm, const T* dxh, T* dx) {
                const T q = T(1) / (nrm + T(1e-6));
                T dot_ = 0;
                for (size_t j = 0; j < dh; ++j) dot_ += dxh[j] * x[j];
                const T c = nrm > T(0) ? q * q / nrm * dot_ : T(0);
                for (size_t j = 0; j < dh; ++j) dx[j] = q * dxh[j] - c * x[j];
            };
            norm_back(tr.kc + t * d + o, tr.knorm[t * H + h], dkh + o, dkc + o);
            norm_back(tr.qc + t * d + o, tr.qnorm[t * H + h], dqh + o, dqc + o);
        }
        // Convolution: kc_t[c] = Σ_s conv_k[c, s]·kr_{t−s}[c]; rows before this call come from the tail (constants).
        for (size_t c = 0; c < d; ++c)
            for (size_t s = 0; s < K; ++s) {
                if (s <= t) {
                    dconv_k[c * K + s] += dkc[c] * kr[(t - s) * d + c];
                    dconv_q[c * K + s] += dqc[c] * qr[(t - s) * d + c];
                    dkr[(t - s) * d + c] += dkc[c] * p.conv_k[c * K + s];
                    dqr[(t - s) * d + c] += dqc[c] * p.conv_q[c * K + s];
                } else if (tail) {
                    dconv_k[c * K + s] += dkc[c] * delta_detail::raw_row(kr, tail, d, t, s, 0)[c];
                    dconv_q[c * K + s] += dqc[c] * delta_detail::raw_row(qr, tail, d, t, s, 1)[c];
                }
            }
    }
}

}  // namespace ttt
