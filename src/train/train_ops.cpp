// Training operations over N rows: the row math (forward and backward) of kernels/cpu/ops_ref.h and ttt_ref.h,
// split between threads; the reductions over rows (gains, embedding rows) in row order. Conventions in train_ops.h.
#include "train/train_ops.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "backend/thread_pool.h"
#include "common/error.h"
#include "backend/parallel_gemm.h"
#include "cpu/ops_ref.h"
#include "cpu/ttt_ref.h"

namespace ttt {

namespace {

// Rows [0, n) in static chunks of at least `grain` rows (inline without a pool).
template <typename Fn>
void for_rows(ThreadPool* pool, size_t n, size_t grain, const Fn& fn) {
    if (pool && pool->size() > 1) pool->parallel_for(n, fn, grain);
    else if (n) fn(size_t(0), n);
}

// Rows per chunk so a chunk does at least ~16k element operations.
size_t grain_for(size_t row_len) { return std::max<size_t>(1, 16384 / std::max<size_t>(1, row_len)); }

}  // namespace

// ----------------------------------------------------------------------------------------------------------------
// Dense products

void matmul(bool trans_a, bool trans_b, size_t M, size_t N, size_t K, const float* A, const float* B, float* C,
            bool accumulate, ThreadPool* pool) {
    gemm(trans_a, trans_b, M, N, K, A, B, C, accumulate, pool);
}

void matmul(bool trans_a, bool trans_b, size_t M, size_t N, size_t K, const double* A, const double* B, double* C,
            bool accumulate, ThreadPool* /*pool*/) {
    for (size_t i = 0; i < M; ++i)
        for (size_t j = 0; j < N; ++j) {
            double acc = 0.0;
            for (size_t k = 0; k < K; ++k)
                acc += (trans_a ? A[k * M + i] : A[i * K + k]) * (trans_b ? B[j * K + k] : B[k * N + j]);
            C[i * N + j] = accumulate ? C[i * N + j] + acc : acc;
        }
}

// ----------------------------------------------------------------------------------------------------------------
// Embedding

template <typename T>
void embedding_forward(const int32_t* tokens, size_t N, const T* E, size_t D, T* out) {
    for (size_t n = 0; n < N; ++n) std::memcpy(out + n * D, E + size_t(tokens[n]) * D, D * sizeof(T));
}

template <typename T>
void embedding_backward(const int32_t* tokens, size_t N, const T* dout, size_t D, T* dE) {
    for (size_t n = 0; n < N; ++n) {
        T* row = dE + size_t(tokens[n]) * D;
        const T* g = dout + n * D;
        for (size_t i = 0; i < D; ++i) row[i] += g[i];
    }
}

// ----------------------------------------------------------------------------------------------------------------
// RMSNorm

template <typename T>
void rmsnorm_forward(const T* x, const T* g, size_t N, size_t D, float eps, T* y, T* rstd, ThreadPool* pool) {
    for_rows(pool, N, grain_for(D), [&](size_t b, size_t e) {
        for (size_t n = b; n < e; ++n) rstd[n] = rmsnorm_row<T>(x + n * D, g, D, eps, y + n * D);
    });
}

template <typename T>
void rmsnorm_backward(const T* dy, const T* x, const T* g, const T* rstd, size_t N, size_t D, T* dx, T* dg,
                      ThreadPool* pool) {
    for_rows(pool, N, grain_for(D), [&](size_t b, size_t e) {
        for (size_t n = b; n < e; ++n) rmsnorm_row_backward<T>(dy + n * D, x + n * D, g, rstd[n], D, dx + n * D);
    });
    // The gain gradient sums over rows: sequential, in row order.
    for (size_t n = 0; n < N; ++n) rmsnorm_gain_grad_row<T>(dy + n * D, x + n * D, rstd[n], D, dg);
}

// ----------------------------------------------------------------------------------------------------------------
// Activation fake quantisation

template <typename T>
void fake_quant_forward(const T* x, size_t N, size_t D, T* y, ThreadPool* pool) {
    for_rows(pool, N, grain_for(D), [&](size_t b, size_t e) {
        for (size_t n = b; n < e; ++n) fake_quant_row<T>(x + n * D, D, y + n * D);
    });
}

// ----------------------------------------------------------------------------------------------------------------
// BitLinear weights

template <typename T>
double bitlinear_scale(const T* w, size_t n) {
    double sum = 0.0;
    for (size_t i = 0; i < n; ++i) sum += std::fabs(static_cast<double>(w[i]));
    return (n ? sum / static_cast<double>(n) : 0.0) + 1e-6;
}

template <typename T>
void bitlinear_effective_weight(const T* w, size_t n, double s, bool scaled, bool relaxed, T* we) {
    if (relaxed) {
        const T inv = static_cast<T>(1.0 / s);
        for (size_t i = 0; i < n; ++i) we[i] = scaled ? w[i] : w[i] * inv;
        return;
    }
    // Q exactly as ternarize_ref (clamp(round_half_away(w/s), −1, 1) is +1 for w/s ≥ ½, −1 for w/s ≤ −½, else 0;
    // compared, not rounded, to avoid a libm call per weight); s·Q with s rounded to T as TernaryMatrix::scale is.
    const T sT = static_cast<T>(s);
    for (size_t i = 0; i < n; ++i) {
        const double v = static_cast<double>(w[i]) / s;
        const T q = v >= 0.5 ? T(1) : v <= -0.5 ? T(-1) : T(0);
        we[i] = scaled ? sT * q : q;
    }
}

template <typename T>
void bitlinear_weight_backward(const T* dwe, size_t n, double s, bool scaled, T* dw) {
    if (scaled) {
        for (size_t i = 0; i < n; ++i) dw[i] += dwe[i];
    } else {
        const T inv = static_cast<T>(1.0 / s);
        for (size_t i = 0; i < n; ++i) dw[i] += dwe[i] * inv;
    }
}

// ----------------------------------------------------------------------------------------------------------------
// SwiGLU

template <typename T>
void swiglu_forward(const T* g, const T* u, size_t n, T* out, ThreadPool* pool) {
    for_rows(pool, n, 16384, [&](size_t b, size_t e) { swiglu_span<T>(g + b, u + b, e - b, out + b); });
}

template <typename T>
void swiglu_backward(const T* dout, const T* g, const T* u, size_t n, T* dg, T* du, ThreadPool* pool) {
    for_rows(pool, n, 16384, [&](size_t b, size_t e) { swiglu_span_backward<T>(dout + b, g + b, u + b, e - b, dg + b, du + b); });
}

// ----------------------------------------------------------------------------------------------------------------
// L2 normalisation

template <typename T>
void l2norm_forward(const T* f, size_t N, size_t d, T* fhat, T* norm, ThreadPool* pool) {
    for_rows(pool, N, grain_for(d), [&](size_t b, size_t e) {
        for (size_t n = b; n < e; ++n) norm[n] = l2_normalize_row<T>(f + n * d, d, fhat + n * d);
    });
}

template <typename T>
void l2norm_backward(const T* dfhat, const T* f, const T* norm, size_t N, size_t d, T* df, ThreadPool* pool) {
    for_rows(pool, N, grain_for(d), [&](size_t b, size_t e) {
        for (size_t n = b; n < e; ++n) l2_normalize_row_backward<T>(dfhat + n * d, f + n * d, norm[n], d, df + n * d);
    });
}

// ----------------------------------------------------------------------------------------------------------------
// TTT

template <typename T>
void ttt_forward(const T* fhat, size_t B, size_t Tn, size_t d, size_t C, float eta, T* z, T* states,
                 ThreadPool* pool) {
    const size_t nC = ttt_num_chunks(Tn, C), dd = d * d;
    // Sequences are independent: one static chunk of sequences per thread. Each runs the recurrence of inference
    // (kernels/cpu/ttt_ref.h) from a zero state, keeping the state at every chunk start for the backward.
    for_rows(pool, B, 1, [&](size_t b0, size_t b1) {
        std::vector<T> w(dd), pending(dd);
        for (size_t b = b0; b < b1; ++b) {
            std::fill(w.begin(), w.end(), T(0));
            std::fill(pending.begin(), pending.end(), T(0));
            ttt_chunked_rows<T>(fhat + b * Tn * d, z + b * Tn * d, Tn, d, w.data(), pending.data(), 0, C,
                                static_cast<T>(eta), 0, d, states + b * nC * dd);
        }
    });
}

template <typename T>
void ttt_backward(const T* dz, const T* fhat, const T* z, const T* states, size_t B, size_t Tn, size_t d, size_t C,
                  float eta, T* dfhat, T* scratch, ThreadPool* pool) {
    const size_t nC = ttt_num_chunks(Tn, C), dd = d * d, per_seq = ttt_chunked_backward_scratch(Tn, d, C);
    for_rows(pool, B, 1, [&](size_t b0, size_t b1) {
        for (size_t b = b0; b < b1; ++b) {
            const size_t row = b * Tn * d;
            ttt_chunked_backward_seq<T>(dz + row, fhat + row, z + row, states + b * nC * dd, Tn, d, C,
                                        static_cast<T>(eta), dfhat + row, scratch + b * per_seq);
        }
    });
}

// ----------------------------------------------------------------------------------------------------------------
// Cross-entropy

namespace {
void check_targets(const int32_t* targets, size_t N, size_t V) {
    for (size_t n = 0; n < N; ++n)
        if (targets[n] < 0 || size_t(targets[n]) >= V)
            fail_argument("training target " + std::to_string(targets[n]) + " at position " + std::to_string(n) +
                          " is outside the vocabulary [0, " + std::to_string(V) + ")");
}
}  // namespace

template <typename T>
double cross_entropy_forward(const T* logits, const int32_t* targets, size_t N, size_t V, double* losses,
                             ThreadPool* pool) {
    check_targets(targets, N, V);
    for_rows(pool, N, grain_for(V), [&](size_t b, size_t e) {
        for (size_t n = b; n < e; ++n) {
            const T* l = logits + n * V;
            T mx = l[0];
            for (size_t j = 1; j < V; ++j) mx = std::max(mx, l[j]);
            double sum = 0.0;
            for (size_t j = 0; j < V; ++j) sum += static_cast<double>(std::exp(l[j] - mx));
            losses[n] = std::log(sum) + static_cast<double>(mx) - static_cast<double>(l[targets[n]]);
        }
    });
    double total = 0.0;
    for (size_t n = 0; n < N; ++n) total += losses[n];
    return N ? total / static_cast<double>(N) : 0.0;
}

template <typename T>
void cross_entropy_backward(const T* logits, const int32_t* targets, size_t N, size_t V, double scale, T* dlogits,
                            ThreadPool* pool) {
    check_targets(targets, N, V);
    for_rows(pool, N, grain_for(V), [&](size_t b, size_t e) {
        for (size_t n = b; n < e; ++n) {
            const T* l = logits + n * V;
            T* dl = dlogits + n * V;
            T mx = l[0];
            for (size_t j = 1; j < V; ++j) mx = std::max(mx, l[j]);
            double sum = 0.0;
            for (size_t j = 0; j < V; ++j) sum += static_cast<double>(std::exp(l[j] - mx));
            const T k = static_cast<T>(scale / sum);
            const T s = static_cast<T>(scale);
            const size_t t = size_t(targets[n]);
            for (size_t j = 0; j < V; ++j) dl[j] = std::exp(l[j] - mx) * k;  // l and dl may alias: read first
            dl[t] -= s;
        }
    });
}

// ----------------------------------------------------------------------------------------------------------------
// Instantiations: float (training) and double (checks).

#define TTT_TRAIN_OPS_INSTANTIATE(T)                                                                                \
    template void embedding_forward<T>(const int32_t*, size_t, const T*, size_t, T*);                              \
    template void embedding_backward<T>(const int32_t*, size_t, const T*, size_t, T*);                             \
    template void rmsnorm_forward<T>(const T*, const T*, size_t, size_t, float, T*, T*, ThreadPool*);              \
    template void rmsnorm_backward<T>(const T*, const T*, const T*, const T*, size_t, size_t, T*, T*, ThreadPool*); \
    template void fake_quant_forward<T>(const T*, size_t, size_t, T*, ThreadPool*);                                \
    template double bitlinear_scale<T>(const T*, size_t);                                                          \
    template void bitlinear_effective_weight<T>(const T*, size_t, double, bool, bool, T*);                         \
    template void bitlinear_weight_backward<T>(const T*, size_t, double, bool, T*);                                \
    template void swiglu_forward<T>(const T*, const T*, size_t, T*, ThreadPool*);                                 \
    template void swiglu_backward<T>(const T*, const T*, const T*, size_t, T*, T*, ThreadPool*);                   \
    template void l2norm_forward<T>(const T*, size_t, size_t, T*, T*, ThreadPool*);                                \
    template void l2norm_backward<T>(const T*, const T*, const T*, size_t, size_t, T*, ThreadPool*);               \
    template void ttt_forward<T>(const T*, size_t, size_t, size_t, size_t, float, T*, T*, ThreadPool*);            \
    template void ttt_backward<T>(const T*, const T*, const T*, const T*, size_t, size_t, size_t, size_t, float,   \
                                  T*, T*, ThreadPool*);                                                            \
    template double cross_entropy_forward<T>(const T*, const int32_t*, size_t, size_t, double*, ThreadPool*);      \
    template void cross_entropy_backward<T>(const T*, const int32_t*, size_t, size_t, double, T*, ThreadPool*);

TTT_TRAIN_OPS_INSTANTIATE(float)
TTT_TRAIN_OPS_INSTANTIATE(double)

#undef TTT_TRAIN_OPS_INSTANTIATE

}  // namespace ttt
