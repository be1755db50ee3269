#include "model/prepared_model.h"

namespace ttt {

namespace {

TernaryFileView view_of(const TernaryMatrix& m, const std::shared_ptr<const void>& owner) {
    TernaryFileView v;
    v.packed = m.data();
    v.rows = size_t(m.rows);
    v.cols = size_t(m.cols);
    v.scale = m.scale;
    v.owner = owner;
    return v;
}

}  // namespace

std::shared_ptr<const PreparedModel> PreparedModel::create(const ModelWeights& w, std::shared_ptr<const void> owner,
                                                           Backend& be) {
    auto p = std::make_shared<PreparedModel>();
    const ModelConfig& c = w.config;
    if (!owner) owner = w.storage;  // in-place weights keep the mapped file alive
    p->config = c;
    p->backend_name = be.name();
    const size_t V = size_t(c.vocab_size), D = size_t(c.hidden_dim);
    p->embed = be.prepare_dense(w.embed.data(), V, D, owner);
    p->norm_f = be.prepare_dense(w.norm_f.data(), 1, D, owner);
    p->lm_head = be.prepare_lm_head(w.lm_head.data(), V, D, owner);
    auto ternary = [&](const TernaryMatrix& m) { return be.prepare_ternary(view_of(m, owner), c.bitlinear_scale, c.act_bits); };
    for (const LayerWeights& L : w.layers) {
        PreparedLayer pl;
        pl.norm1 = be.prepare_dense(L.norm1.data(), 1, D, owner);
        pl.norm2 = be.prepare_dense(L.norm2.data(), 1, D, owner);
        pl.ttt_down = ternary(L.ttt_down);
        pl.ttt_up = ternary(L.ttt_up);
        pl.mlp_gate = ternary(L.mlp_gate);
        pl.mlp_up = ternary(L.mlp_up);
        pl.mlp_down = ternary(L.mlp_down);
        p->layers.push_back(std::move(pl));
    }
    return p;
}

}  // namespace ttt
