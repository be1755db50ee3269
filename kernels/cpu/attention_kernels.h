// Fast causal grouped-query attention of one query row over a KV cache (f32, f16 or int8 rows, attention_ref.h's
// layout), by instruction-set level. attention_group_ref (attention_ref.h) is the oracle and stays what the scalar
// level of the CPU backend runs; these kernels serve the avx2 and avx512 levels. They know nothing of models.
//
// How (flash-decoding style, for one query row and the n_q query heads of one kv head):
//   - the cached positions [0, n_keys) are cut into chunks of kAttentionChunk positions at fixed absolute
//     boundaries (0, 256, 512, ...). A chunk gives a partial result (m, l, acc) per head: m the chunk's largest
//     score, l = Σ_j e^(s_j − m), acc = Σ_j e^(s_j − m)·v_j (unnormalised);
//   - in a chunk each K row and V row is read (and decoded from f16/int8) once for the whole GQA group: scores are
//     dot products of the decoded row with every head's query, 8 (avx2) or 16 (avx512) lanes with two chains per
//     head; e^x is a vector polynomial (Cephes' expf, exp_lanes.h, shared with swiglu_kernels.cpp), the sums
//     vector-wise in a fixed order;
//   - partials are merged in chunk order (attention_merge: online softmax, m = max, both sides rescaled by e^(m' −
//     m)), then divided once by l (attention_finish).
// A row's bits depend only on its query, the cache rows, n_keys and the level, never on the thread split: the
// backend may compute a row's chunks on different threads (attention_chunk_partials) or in one loop
// (attention_group); both merge the same partials in the same order (tested bit for bit).
//
// Accuracy against the oracle (tests/test_attention_kernels.cpp, every cache type and level), per output element i
// with p_j the oracle's softmax weights and u = 2⁻²⁴:
//     |out_i − ref_i| ≤ (2·E + (n_keys + hd + 32)·4u) · Σ_j p_j·|v_ji| + 1e-30,
//     E = 2·hd·u · max_j Σ_k |q_k·k_jk| / √hd  (both sides' dot products round; reordering is bounded by γ_hd)
// Why: a score error δ_j changes e^(s_j − m) by a factor e^δ_j, and normalisation divides numerator and denominator
// by the same sum, so every weight moves by at most a factor e^(2·max δ) ≈ 1 + 2E; the exp polynomial (2 ulp),
// the rescaling at merges (a few roundings per chunk) and the weighted sums over n_keys rows (γ_n) add the rest.
#pragma once

#include <cstddef>

#include "cpu/attention_ref.h"
#include "cpu/ternary_kernels.h"

namespace ttt {

constexpr size_t kAttentionChunk = 256;  // positions per partial (fixed boundaries: results never depend on threads)
constexpr size_t kAttentionSubBlock = 16;  // V rows decoded together in a chunk (accumulators stay in registers)

// One chunk's (or a merged run of chunks') unnormalised result for n_q heads: acc [n_q·hd], m [n_q], l [n_q].
struct AttentionPartial {
    float* acc = nullptr;
    float* m = nullptr;
    float* l = nullptr;
};

// Floats an AttentionPartial for n_q heads of head_dim hd takes (the three arrays back to back, acc first).
inline size_t attention_partial_floats(size_t n_q, size_t hd) { return n_q * hd + 2 * n_q; }
inline AttentionPartial attention_partial_at(float* p, size_t n_q, size_t hd) {
    return AttentionPartial{p, p + n_q * hd, p + n_q * hd + n_q};
}

// The partial of positions [j0, j1) (j1 − j0 ≤ kAttentionChunk, j0 < j1) for the n_q heads q[h·hd ...] that share
// kv head kvh. scratch: attention_scratch_floats(n_q, hd).
using AttentionChunkFn = void (*)(const float* q, size_t n_q, const KvCacheView& c, size_t kvh, size_t j0, size_t j1,
                                  const AttentionPartial& out, float* scratch);
size_t attention_scratch_floats(size_t n_q, size_t hd);

// The kernel of `level` (or the highest level below it this CPU runs); the scalar one (plain loops, same structure)
// where no SIMD level applies.
AttentionChunkFn attention_chunk_kernel(CpuLevel level);

// into ← into ⊕ p (online softmax merge; `into` must already hold a partial).
void attention_merge(const AttentionPartial& into, const AttentionPartial& p, size_t n_q, size_t hd);
// out[h·hd + i] = acc / l.
void attention_finish(const AttentionPartial& p, size_t n_q, size_t hd, float* out);

// Chunks of a query row over n_keys positions.
inline size_t attention_chunks(size_t n_keys) { return (n_keys + kAttentionChunk - 1) / kAttentionChunk; }

// The whole row in one loop: every chunk's partial merged in order, then finished. work:
// attention_group_work_floats(n_q, hd).
size_t attention_group_work_floats(size_t n_q, size_t hd);
void attention_group(AttentionChunkFn fn, const float* q, size_t n_q, const KvCacheView& c, size_t kvh, size_t n_keys,
                     float* out, float* work);

}  // namespace ttt
