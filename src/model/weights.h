// The weights of a BitLlama model in memory: ternary matrices packed 2 bits per weight with their absmean scale,
// float embedding, norms and LM head. Shapes are [out, in] row-major (y = W·x).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "model/config.h"

namespace ttt {

struct TernaryMatrix {
    int32_t rows = 0;             // out
    int32_t cols = 0;             // in
    float scale = 0.0f;           // s = mean|W| + 1e-6 of the latent weights
    // [rows, ternary_row_bytes(cols)] in the file layout (kernels/ternary_format.h): owned here, or, when `view`
    // is set, in place inside the model file's bytes (kept alive by ModelWeights::storage).
    std::vector<uint8_t> packed;
    const uint8_t* view = nullptr;

    const uint8_t* data() const { return view ? view : packed.data(); }
    size_t bytes() const;

    // Ternarise latent float weights w[rows·cols].
    static TernaryMatrix from_latent(const float* w, int32_t rows, int32_t cols);
};

// A host tensor of plain elements: owned, or, when `view` is set, in place inside the model file's bytes (kept
// alive by ModelWeights::storage), so a mapped model shares these pages between processes too.
template <typename T>
struct HostTensor {
    std::vector<T> owned;
    const T* view = nullptr;
    size_t count = 0;  // elements of the view (owned.size() otherwise)

    HostTensor() = default;
    HostTensor(std::vector<T> v) : owned(std::move(v)) {}  // NOLINT: a vector is a tensor
    static HostTensor in_place(const T* data, size_t n) {
        HostTensor t;
        t.view = data;
        t.count = n;
        return t;
    }
    const T* data() const { return view ? view : owned.data(); }
    size_t size() const { return view ? count : owned.size(); }
    T operator[](size_t i) const { return data()[i]; }
    const T* begin() const { return data(); }
    const T* end() const { return data() + size(); }
    void assign(size_t n, T v) {
        view = nullptr;
        owned.assign(n, v);
    }
};

// Float weights: the embedding, norms, LM head.
using FloatTensor = HostTensor<float>;
// bfloat16 bits as stored, 2 bytes per weight: an attention model's embedding or LM head from a bf16 checkpoint.
using Bf16Tensor = HostTensor<uint16_t>;

struct LayerWeights {
    FloatTensor norm1;             // (D)    RMSNorm gain before the TTT core
    TernaryMatrix ttt_down;        // (d, D) features for the fast weights (upstream kind)
    // The delta kind's TTT core (docs/memory.md) instead of ttt_down; empty in upstream models.
    TernaryMatrix ttt_key;         // (d, D)
    TernaryMatrix ttt_value;       // (d, D)
    TernaryMatrix ttt_query;       // (d, D)
    FloatTensor ttt_conv_k;        // (d, 4) causal token mixing of the raw keys (tap s: s tokens back)
    FloatTensor ttt_conv_q;        // (d, 4) and of the raw queries
    FloatTensor ttt_gate;          // (2H, D) gate logits: rows 0..H−1 inner learning rate, H..2H−1 decay
    FloatTensor ttt_gate_bias;     // (2H)
    TernaryMatrix ttt_up;          // (D, d) back to the residual stream
    FloatTensor norm2;             // (D)    RMSNorm gain before the MLP
    TernaryMatrix mlp_gate;        // (I, D) w1
    TernaryMatrix mlp_up;          // (I, D) w3
    TernaryMatrix mlp_down;        // (D, I) w2
};

struct AttentionWeights;  // model/attention_weights.h

struct ModelWeights {
    ModelConfig config;
    std::shared_ptr<const void> storage;  // the file bytes that in-place matrices and tensors point into (or null)
    FloatTensor embed;             // (V, D); empty when config.attn.bf16_embedding
    Bf16Tensor embed_bf16;         // (V, D) when config.attn.bf16_embedding (attention models), else empty
    std::vector<LayerWeights> layers;
    FloatTensor norm_f;            // (D)
    FloatTensor lm_head;           // (V, D); empty when an attention model ties it to the embedding or holds it bf16
    Bf16Tensor lm_head_bf16;       // (V, D) when config.attn.bf16_lm_head (an untied attention model), else empty
    // Arch llama / bitnet: the attention layers (then `layers` is empty). Immutable once loaded, so shared.
    std::shared_ptr<const AttentionWeights> attention;

    // Hash of the config fields that change the computed function and of every weight. Souls carry it so that a
    // soul is never silently applied to another model.
    uint64_t fingerprint() const;
    uint64_t parameter_count() const;
    // Bytes this process allocated for the embedding (heap: 4 per weight as f32, 2 as bf16; 0 when it is used in
    // place in a mapped file).
    size_t embedding_owned_bytes() const {
        return embed.owned.capacity() * sizeof(float) + embed_bf16.owned.capacity() * sizeof(uint16_t);
    }
    // The same for an untied LM head.
    size_t lm_head_owned_bytes() const {
        return lm_head.owned.capacity() * sizeof(float) + lm_head_bf16.owned.capacity() * sizeof(uint16_t);
    }
    // Throws Error(TTT_ERR_FORMAT) naming the tensor if any shape disagrees with the config.
    void check_shapes(const std::string& what) const;
};

}  // namespace ttt
