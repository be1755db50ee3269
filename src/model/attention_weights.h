// The weights of an attention model (arch llama or bitnet) in memory. A projection is either ternary (BitNet
// b1.58: packed 2-bit with its absmean scale, y = s·Q·x on int8 activations; a ternarised Llama: one or more bases,
// y = Σ_b s_b·Q_b·x on float activations) or dense float (Llama). Shapes are [out, in] row-major (y = W·x), as in
// Hugging Face checkpoints.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/fnv64.h"
#include "model/weights.h"

namespace ttt {

struct Projection {
    TernaryMatrix ternary;     // used when is_ternary: the first (or only) base
    // Multi-base projections (ModelConfig::projection_bases() > 1): bases 2..k, each with its own scale, so that
    // W ≈ ternary + Σ residual_bases (as s·Q). Empty for single-base and float projections.
    std::vector<TernaryMatrix> residual_bases;
    std::vector<float> dense;  // [rows·cols] otherwise (f32)
    // Or, for a float projection held as bfloat16 (ModelConfig::attn.bf16_projections): owned, or in place in the
    // model file (kept alive by ModelWeights::storage).
    std::vector<uint16_t> bf16;
    const uint16_t* bf16_view = nullptr;
    int32_t rows = 0, cols = 0;
    bool is_ternary = false;

    static Projection from_dense(std::vector<float> w, int32_t rows, int32_t cols);
    static Projection from_ternary(TernaryMatrix m);
    static Projection from_bf16(std::vector<uint16_t> w, int32_t rows, int32_t cols);
    bool is_bf16() const { return !is_ternary && (bf16_view || !bf16.empty()); }
    const uint16_t* bf16_data() const { return bf16_view ? bf16_view : bf16.data(); }
    static Projection from_bases(std::vector<TernaryMatrix> bases);  // at least one, all of one shape
    size_t bases() const { return is_ternary ? 1 + residual_bases.size() : 0; }
    const TernaryMatrix& base(size_t b) const { return b == 0 ? ternary : residual_bases[b - 1]; }
};

struct AttentionLayerWeights {
    std::vector<float> input_norm;     // (D)       RMSNorm before attention
    Projection q, k, v, o;             // (H·hd, D) (Hk·hd, D) (Hk·hd, D) (D, H·hd)
    std::vector<float> attn_sub_norm;  // (H·hd)    BitNet: RMSNorm of the attention output before o
    std::vector<float> post_norm;      // (D)       RMSNorm before the MLP
    Projection gate, up, down;         // (I, D) (I, D) (D, I)
    std::vector<float> ffn_sub_norm;   // (I)       BitNet: RMSNorm of the gated product before down
};

// The seven projections of a Llama / BitNet layer by their checkpoint names, each read by `read(name, rows, cols)`
// (Q = H·hd, KV = Hk·hd, D the model width, I the MLP width): one list for every loader.
template <typename Read>
void read_layer_projections(AttentionLayerWeights& L, int64_t Q, int64_t KV, int64_t D, int64_t I, Read&& read) {
    L.q = read("self_attn.q_proj", Q, D);
    L.k = read("self_attn.k_proj", KV, D);
    L.v = read("self_attn.v_proj", KV, D);
    L.o = read("self_attn.o_proj", D, Q);
    L.gate = read("mlp.gate_proj", I, D);
    L.up = read("mlp.up_proj", I, D);
    L.down = read("mlp.down_proj", D, I);
}

struct AttentionWeights {
    std::vector<AttentionLayerWeights> layers;
};

// Throws Error(TTT_ERR_FORMAT) naming the tensor if a shape disagrees with the config (arch llama / bitnet).
void check_attention_shapes(const ModelWeights& w, const std::string& what);
// The fingerprint of an attention model (ModelWeights::fingerprint dispatches here), from its float tensors and
// its layers one at a time, so a converter streaming a checkpoint computes the same value without holding it.
uint64_t attention_fingerprint(const ModelWeights& w);
// The same value with the float tensors fed by `float_tensors`, which calls its sink with the embedding, the final
// norm and the LM head, in that order: a streaming converter makes each on demand and drops it once hashed, so the
// embedding and an untied LM head (2·V·D floats) are never in memory together. A tensor comes as f32 values, or
// as bf16 bits (the other pointer null) hashed as the floats they stand for: a bf16 embedding or LM head has the
// fingerprint of the same values widened to f32.
using FloatSink = std::function<void(const float* f32, const uint16_t* bf16, size_t n)>;
uint64_t attention_fingerprint(const ModelConfig& c, const std::function<void(const FloatSink&)>& float_tensors,
                               const std::function<const AttentionLayerWeights&(size_t)>& layer);
uint64_t attention_parameter_count(const ModelWeights& w);

}  // namespace ttt
