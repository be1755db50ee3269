// The TTT chunked fast-weight recurrence of DESIGN §2, written once: inference (prefill, decode, batched contexts),
// the training forward and every backend's test oracle use this function.
//
// One sequence of n tokens, starting from the state (W, pending, position):
//   for t in 0..n-1:  z_t = W·f̂_t;  pending += (z_t − f̂_t)·f̂_tᵀ;
//                     if (position + t + 1) % chunk == 0:  W ← W − lr·pending;  pending = 0
// so inside a chunk every token predicts with the chunk-start state, and any split of a sequence into calls gives
// the same result. Row i of z, W and pending depends only on row i of W and pending (and on all of f̂), so the
// recurrence separates by fast-weight row: the caller may give rows [i0, i1) to different threads and the result
// is the same bits as one pass over all rows. Each element is computed in one fixed order (j ascending), the order
// of matvec_f32_ref, ttt_accumulate_ref and ttt_apply_ref.
//
// chunk_states, if not null, receives W (rows i0..i1) at the start of every chunk that begins inside the call
// (slot k for the k-th such chunk, d×d each): the training backward needs them.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ttt {

template <typename T>
void ttt_chunked_rows(const T* fhat, T* z, size_t n, size_t d, T* w, T* pending, uint64_t position, size_t chunk,
                      T lr, size_t i0, size_t i1, T* chunk_states = nullptr) {
    size_t states_written = 0;
    for (size_t t = 0; t < n; ++t) {
        const T* f = fhat + t * d;
        T* zt = z + t * d;
        const uint64_t pos = position + t;
        if (chunk_states && pos % chunk == 0) {
            T* slot = chunk_states + states_written++ * d * d;
            for (size_t i = i0; i < i1; ++i)
                for (size_t j = 0; j < d; ++j) slot[i * d + j] = w[i * d + j];
        }
        const bool closes = (pos + 1) % chunk == 0;
        for (size_t i = i0; i < i1; ++i) {
            const T* wr = w + i * d;
            T acc = 0;
            for (size_t j = 0; j < d; ++j) acc += wr[j] * f[j];
            zt[i] = acc;
            const T e = acc - f[i];
            T* pr = pending + i * d;
            for (size_t j = 0; j < d; ++j) pr[j] += e * f[j];
            if (closes) {
                T* wrow = w + i * d;
                for (size_t j = 0; j < d; ++j) {
                    wrow[j] -= lr * pr[j];
                    pr[j] = T(0);
                }
            }
        }
    }
}

// The same step written token-wise, literally as DESIGN §2 states it, for tests that check ttt_chunked_rows (and the
// training forward built on it) against an independent statement: pending += (z − f̂)·f̂ᵀ; at chunk close
// W −= lr·pending, pending = 0.
inline void ttt_accumulate_ref(const float* z, const float* fhat, size_t d, float* pending) {
    for (size_t i = 0; i < d; ++i) {
        const float e = z[i] - fhat[i];
        for (size_t j = 0; j < d; ++j) pending[i * d + j] += e * fhat[j];
    }
}
inline void ttt_apply_ref(float* w, float* pending, size_t d, float lr) {
    for (size_t i = 0; i < d * d; ++i) {
        w[i] -= lr * pending[i];
        pending[i] = 0.0f;
    }
}

}  // namespace ttt
