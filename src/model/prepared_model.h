// A model's weights prepared on one backend: uploaded, repacked into the layout its kernels take, or used in place
// (zero copy) when the stored layout is already that layout. Made once per model and backend kind, shared by every
// context whose layers run there. Read-only after creation, so any number of threads may use it.
#pragma once

#include <memory>
#include <vector>

#include "backend/backend.h"
#include "model/attention_block.h"
#include "model/weights.h"

namespace ttt {

struct PreparedLayer {
    DenseWeight norm1, norm2;  // [1, D]
    TernaryWeight ttt_down, ttt_up, mlp_gate, mlp_up, mlp_down;
    // Delta kind only (docs/memory.md): key/value/query projections, gate [2H, D], token mixing [d, 4], gate bias [1, 2H].
    TernaryWeight ttt_key, ttt_value, ttt_query;
    DenseWeight ttt_gate, ttt_conv_k, ttt_conv_q, ttt_gate_bias;
};

// A packed matrix as a backend's prepare_ternary takes it (owner keeps in-place bytes alive).
TernaryFileView ternary_file_view(const TernaryMatrix& m, const std::shared_ptr<const void>& owner);

struct PreparedModel {
    ModelConfig config;
    DenseWeight embed;    // [V, D]
    DenseWeight norm_f;   // [1, D]
    DenseWeight lm_head;  // [V, D] (the embedding table when tied)
    std::vector<PreparedLayer> layers;                   // arch ttt
    std::vector<PreparedAttentionLayer> attn_layers;     // arch llama / bitnet
    std::string backend_name;

    size_t num_layers() const { return config.is_attention() ? attn_layers.size() : layers.size(); }

    // `weights` must outlive the result unless the backend copies (the result keeps `owner` alive).
    static std::shared_ptr<const PreparedModel> create(const ModelWeights& weights, std::shared_ptr<const void> owner,
                                                       Backend& backend);
};

}  // namespace ttt
