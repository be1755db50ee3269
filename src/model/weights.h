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

struct LayerWeights {
    std::vector<float> norm1;      // (D)    RMSNorm gain before the TTT core
    TernaryMatrix ttt_down;        // (d, D) features for the fast weights (upstream kind)
    // The delta kind's TTT core (docs/memory.md) instead of ttt_down; empty in upstream models.
    TernaryMatrix ttt_key;         // (d, D)
    TernaryMatrix ttt_value;       // (d, D)
    TernaryMatrix ttt_query;       // (d, D)
    std::vector<float> ttt_conv_k; // (d, 4) causal token mixing of the raw keys (tap s: s tokens back)
    std::vector<float> ttt_conv_q; // (d, 4) and of the raw queries
    std::vector<float> ttt_gate;   // (2H, D) gate logits: rows 0..H−1 inner learning rate, H..2H−1 decay
    std::vector<float> ttt_gate_bias;  // (2H)
    TernaryMatrix ttt_up;          // (D, d) back to the residual stream
    std::vector<float> norm2;      // (D)    RMSNorm gain before the MLP
    TernaryMatrix mlp_gate;        // (I, D) w1
    TernaryMatrix mlp_up;          // (I, D) w3
    TernaryMatrix mlp_down;        // (D, I) w2
};

struct ModelWeights {
    ModelConfig config;
    std::shared_ptr<const void> storage;  // the file bytes that in-place ternary matrices point into (or null)
    std::vector<float> embed;      // (V, D)
    std::vector<LayerWeights> layers;
    std::vector<float> norm_f;     // (D)
    std::vector<float> lm_head;    // (V, D)

    // Hash of the config fields that change the computed function and of every weight. Souls carry it so that a
    // soul is never silently applied to another model.
    uint64_t fingerprint() const;
    uint64_t parameter_count() const;
    // Throws Error(TTT_ERR_FORMAT) naming the tensor if any shape disagrees with the config.
    void check_shapes(const std::string& what) const;
};

}  // namespace ttt
