#include "model/prepared_model.h"

#include "model/attention_weights.h"

namespace ttt {

TernaryFileView ternary_file_view(const TernaryMatrix& m, const std::shared_ptr<const void>& owner) {
    TernaryFileView v;
    v.packed = m.data();
    v.rows = size_t(m.rows);
    v.cols = size_t(m.cols);
    v.scale = m.scale;
    v.owner = owner;
    return v;
}

std::shared_ptr<const PreparedModel> PreparedModel::create(const ModelWeights& w, std::shared_ptr<const void> owner,
                                                           Backend& be) {
    auto p = std::make_shared<PreparedModel>();
    const ModelConfig& c = w.config;
    if (!owner) owner = w.storage;  // in-place weights keep the mapped file alive
    p->config = c;
    p->backend_name = be.name();
    const size_t V = size_t(c.vocab_size), D = size_t(c.hidden_dim);
    const bool tied = c.is_attention() && c.attn.tie_embeddings;
    if (c.is_attention() && c.attn.bf16_embedding) {
        // The bf16 table itself, in place where the backend reads bf16 (the CPU does): 2 bytes per weight for the
        // lookup and, when tied, the LM head (the same values: the same logits as a widened copy would give).
        p->embed = be.prepare_dense_bf16(w.embed_bf16.data(), V, D, owner);
        if (tied) p->lm_head = be.prepare_lm_head_bf16(w.embed_bf16.data(), V, D, owner);
    } else {
        p->embed = be.prepare_dense(w.embed.data(), V, D, owner);
        if (tied) p->lm_head = be.prepare_lm_head(w.embed.data(), V, D, owner);
    }
    if (!tied && c.is_attention() && c.attn.bf16_lm_head)  // an untied bf16 head: the same, its own table
        p->lm_head = be.prepare_lm_head_bf16(w.lm_head_bf16.data(), V, D, owner);
    else if (!tied)
        p->lm_head = be.prepare_lm_head(w.lm_head.data(), V, D, owner);
    p->norm_f = be.prepare_dense(w.norm_f.data(), 1, D, owner);
    if (c.is_attention()) {
        for (const AttentionLayerWeights& L : w.attention->layers)
            p->attn_layers.push_back(prepare_attention_layer(L, c, owner, be));
        return p;
    }
    auto ternary = [&](const TernaryMatrix& m) { return be.prepare_ternary(ternary_file_view(m, owner), c.bitlinear_scale, c.act_bits); };
    for (const LayerWeights& L : w.layers) {
        PreparedLayer pl;
        pl.norm1 = be.prepare_dense(L.norm1.data(), 1, D, owner);
        pl.norm2 = be.prepare_dense(L.norm2.data(), 1, D, owner);
        if (c.is_delta()) {
            const size_t d = size_t(c.ttt_dim()), H2 = 2 * size_t(c.ttt_heads);
            pl.ttt_key = ternary(L.ttt_key);
            pl.ttt_value = ternary(L.ttt_value);
            pl.ttt_query = ternary(L.ttt_query);
            pl.ttt_gate = be.prepare_dense(L.ttt_gate.data(), H2, D, owner);
            pl.ttt_gate_bias = be.prepare_dense(L.ttt_gate_bias.data(), 1, H2, owner);
            pl.ttt_conv_k = be.prepare_dense(L.ttt_conv_k.data(), d, 4, owner);
            pl.ttt_conv_q = be.prepare_dense(L.ttt_conv_q.data(), d, 4, owner);
        } else {
            pl.ttt_down = ternary(L.ttt_down);
        }
        pl.ttt_up = ternary(L.ttt_up);
        pl.mlp_gate = ternary(L.mlp_gate);
        pl.mlp_up = ternary(L.mlp_up);
        pl.mlp_down = ternary(L.mlp_down);
        p->layers.push_back(std::move(pl));
    }
    return p;
}

}  // namespace ttt
