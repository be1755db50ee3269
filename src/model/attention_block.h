// The attention blocks of the one forward (arch llama and bitnet), over a batch of rows of many sequences, each with
// its own KV cache:
//
//   Llama:   h = x + o(Attn(RoPE(q(n)), RoPE(k(n)), v(n))),  n = RMSNorm_in(x)
//            y = h + down(silu(gate(m)) ⊙ up(m)),            m = RMSNorm_post(h)
//   BitNet:  h = x + o(RMSNorm_attn_sub(Attn(...)))           projections ternary, y = s·Q·x on int8 activations
//            y = h + down(RMSNorm_ffn_sub(relu(gate(m))² ⊙ up(m)))
//
// Attn is causal grouped-query attention over each sequence's cache (backend op attention). Like the TTT block it
// composes backend operations only, and every op computes a row as the token-at-a-time pass does.
#pragma once

#include <memory>
#include <utility>
#include <vector>

#include "backend/backend.h"
#include "model/attention_weights.h"
#include "model/config.h"

namespace ttt {

// A projection prepared on a backend: ternary (bitnet, ternarised llama) or dense float (llama). A multi-base
// projection adds the products of its residual bases: y = s_1·Q_1·x + s_2·Q_2·x + ... in that order.
struct PreparedProjection {
    TernaryWeight ternary;
    std::vector<TernaryWeight> residual;
    DenseWeight dense;
    bool is_ternary = false;
};

struct PreparedAttentionLayer {
    DenseWeight input_norm, post_norm, attn_sub_norm, ffn_sub_norm;  // sub-norms: bitnet only
    PreparedProjection q, k, v, o, gate, up, down;
};

PreparedAttentionLayer prepare_attention_layer(const AttentionLayerWeights& w, const ModelConfig& c,
                                               const std::shared_ptr<const void>& owner, Backend& be);

// The ops a layer needs (for Forward's check of its backend).
std::vector<std::pair<Op, ActType>> attention_ops_needed(const PreparedAttentionLayer& l);

// The frequencies of RoPE for the config (llama3 scaling applied), head_dim/2 floats.
std::vector<float> rope_frequencies(const ModelConfig& c);

// Activations of one pass of the attention block on one backend, sized for `rows` rows.
struct AttentionWorkspace {
    std::unique_ptr<Buffer> buffer;
    Tensor xn, h, branch, q, k, v, att, gate, up, act, fq;
    Tensor base_out;  // multi-base projections: one base's product before it is added (empty otherwise)
    QuantTensor quant;
    AttentionWorkspace(Backend& be, const ModelConfig& c, size_t rows);
};

struct AttentionPass {
    size_t M = 0;                          // rows
    const SequenceRows* rows = nullptr;    // per sequence
    const KvCacheRef* caches = nullptr;    // this layer's cache of each sequence (positions before the pass)
    const uint64_t* positions = nullptr;   // the same positions, for RoPE
    size_t n_seqs = 0;
    const float* inv_freq = nullptr;       // rope_frequencies
    KvCacheType cache_type = KvCacheType::f16;
};

// x [M, D] in, the layer's output out in place.
void run_attention_layer(Backend& be, AttentionWorkspace& ws, const ModelConfig& c, const PreparedAttentionLayer& L,
                         const Tensor& x, const AttentionPass& pass);

}  // namespace ttt
