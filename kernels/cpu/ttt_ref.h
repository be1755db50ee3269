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
// (slot k for the k-th such chunk, d×d each): the training backward (ttt_chunked_backward_seq, below) needs them.
#pragma once

#include <algorithm>
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

// Backward of ttt_chunked_rows over one whole sequence of Tn tokens from a zero state (training; W is not detached):
// gradients reach f̂ through z = W f̂ and through the update terms of every earlier chunk. dz, fhat, z (Tn, d);
// states (nC, d, d) the chunk-start states the forward kept; dfhat (Tn, d) written; scratch
// ttt_chunked_backward_scratch(Tn, d, C) values.
inline size_t ttt_chunked_backward_scratch(size_t Tn, size_t d, size_t C) { return 2 * d * d + 2 * std::min(C, Tn) * d; }
template <typename T>
void ttt_chunked_backward_seq(const T* dz, const T* fhat, const T* z, const T* states, size_t Tn, size_t d, size_t C,
                              T lr, T* dfhat, T* scratch) {
    const size_t nC = (Tn + C - 1) / C, dd = d * d, len_max = std::min(C, Tn);
    T* dWn = scratch;                 // (d, d) ∂L/∂W_{c+1} while chunk c is processed
    T* dWc = dWn + dd;               // (d, d) ∂L/∂W_c being built
    T* de = dWc + dd;                // (len, d) ∂L/∂e_t from the update term
    T* dzt = de + len_max * d;       // (len, d) total ∂L/∂z_t
    std::fill(dWn, dWn + dd, T(0));
    for (size_t c = nC; c-- > 0;) {
        const size_t t0 = c * C, t1 = std::min(Tn, t0 + C);
        const T* W = states + c * dd;
        const bool has_next = c + 1 < nC;  // W_{c+1} feeds later chunks
        for (size_t t = t0; t < t1; ++t) {
            const size_t row = t * d;
            const T* f = fhat + row;
            const T* zr = z + row;
            const T* g = dz + row;
            T* df = dfhat + row;
            T* det = de + (t - t0) * d;
            T* dzr = dzt + (t - t0) * d;
            std::fill(df, df + d, T(0));
            if (has_next) {
                // W_{c+1} = W_c − η Σ e_t f̂_tᵀ, e_t = z_t − f̂_t:
                //   ∂L/∂e_t = −η·dWn·f̂_t,   ∂L/∂f̂_t (through f̂_tᵀ) = −η·dWnᵀ·e_t
                for (size_t i = 0; i < d; ++i) {
                    const T* r = dWn + i * d;
                    T acc = 0;
                    for (size_t j = 0; j < d; ++j) acc += r[j] * f[j];
                    det[i] = -lr * acc;
                }
                for (size_t i = 0; i < d; ++i) {
                    const T* r = dWn + i * d;
                    const T ei = -lr * (zr[i] - f[i]);
                    for (size_t j = 0; j < d; ++j) df[j] += r[j] * ei;
                }
            } else {
                std::fill(det, det + d, T(0));
            }
            // e_t = z_t − f̂_t: z gets +de, f̂ gets −de.
            for (size_t i = 0; i < d; ++i) {
                dzr[i] = g[i] + det[i];
                df[i] -= det[i];
            }
            // z_t = W_c f̂_t: ∂L/∂f̂_t += W_cᵀ·dz_t.
            for (size_t i = 0; i < d; ++i) {
                const T* r = W + i * d;
                const T gi = dzr[i];
                for (size_t j = 0; j < d; ++j) df[j] += r[j] * gi;
            }
        }
        if (c == 0) break;  // W_0 = 0 is a constant
        // ∂L/∂W_c = ∂L/∂W_{c+1} (identity part of the update) + Σ_t dz_t f̂_tᵀ.
        std::copy(dWn, dWn + dd, dWc);
        for (size_t t = t0; t < t1; ++t) {
            const T* f = fhat + t * d;
            const T* dzr = dzt + (t - t0) * d;
            for (size_t i = 0; i < d; ++i) {
                T* r = dWc + i * d;
                const T gi = dzr[i];
                for (size_t j = 0; j < d; ++j) r[j] += gi * f[j];
            }
        }
        std::swap_ranges(dWn, dWn + dd, dWc);
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
