// The inference executor of the layer program (model/layer_program.h): backend ops over the M rows of a pass, the
// recurrence on each sequence's soul. Used by Forward (model/forward.cpp); the training executor is
// TrainLayerExec (train/forward_backward.cpp).
#pragma once

#include <vector>

#include "backend/backend.h"
#include "common/error.h"
#include "model/config.h"
#include "model/layer_program.h"
#include "model/prepared_model.h"

namespace ttt {

// Runs the layer program (model/layer_program.h) on backend ops over the M rows of a pass. Intermediates share the
// workspace matrices (each is written only after its last reader): the normalised rows, the quantised rows and
// the branch outputs are reused by both halves of the layer, the features are normalised in place, and the
// layer's output replaces its input rows.
class BackendLayerExec {
public:
    using Rows = Tensor;
    struct Input {  // rows as the layer's BitLinears read them (one activation type per model)
        Tensor rows;
        QuantTensor quantised;
    };
    struct Slots {
        Tensor x, normed, h, branch, features, ttt_out, gate, up, act, fake_quantised, gates, key, value, query;
        QuantTensor quantised;
    };

    BackendLayerExec(Backend& be, const PreparedLayer& layer, const ModelConfig& config, const Slots& slots,
                     const std::vector<SequenceRows>& seqs, std::vector<TttStateRef>& states)
        : be_(be), L_(layer), c_(config), s_(slots), seqs_(seqs), states_(states), act_(layer.mlp_gate.act) {}

    bool delta() const { return c_.is_delta(); }

    Rows rmsnorm(const Rows& x, LayerNorm which, LayerSlot) {
        be_.rmsnorm(x, which == LayerNorm::norm1 ? L_.norm1 : L_.norm2, c_.norm_eps, s_.normed);
        return s_.normed;
    }
    Input bitlinear_input(const Rows& x, LayerSlot) {
        const size_t M = x.rows, K = x.cols;
        switch (act_) {
            case ActType::f32:
                return {x, {}};
            case ActType::f32_fake_i8: {
                const Tensor fq = s_.fake_quantised.reshape(M, K);
                be_.fake_quant_i8(x, fq);
                return {fq, {}};
            }
            case ActType::i8: {
                const QuantTensor q{s_.quantised.q.reshape(M, K), s_.quantised.a.reshape(M, 1)};
                be_.quantize_i8(x, q);
                return {x, q};
            }
        }
        return {x, {}};
    }
    Rows bitlinear(const Input& x, LayerLinear which, LayerSlot out) {
        const TernaryWeight& w = weight(which);
        const Tensor y = slot(out);
        if (act_ == ActType::i8) be_.ternary_matmul(w, x.quantised, y);
        else be_.ternary_matmul(w, x.rows, y);
        return y;
    }
    Rows l2_normalize(const Rows& f, LayerSlot) {
        be_.l2_normalize(f, f);  // in place: nothing else reads the raw features
        return f;
    }
    Rows ttt_chunked(const Rows& fhat, LayerSlot) {
        be_.ttt_chunked(fhat, s_.ttt_out, seqs_.data(), states_.data(), seqs_.size(), size_t(c_.ttt_chunk), c_.inner_lr);
        return s_.ttt_out;
    }
    Rows ttt_gate(const Rows& n, LayerSlot) {
        be_.dense_matmul(L_.ttt_gate, n, s_.gates);
        return s_.gates;
    }
    Rows ttt_delta(const Rows& k, const Rows& v, const Rows& q, const Rows& g, LayerSlot) {
        be_.ttt_delta(k, v, q, g, s_.ttt_out, seqs_.data(), states_.data(), seqs_.size(), L_.ttt_conv_k, L_.ttt_conv_q,
                      L_.ttt_gate_bias, size_t(c_.ttt_heads), c_.inner_lr);
        return s_.ttt_out;
    }
    Rows swiglu(const Rows& gate, const Rows& up, LayerSlot) {
        be_.swiglu(gate, up, s_.act);
        return s_.act;
    }
    Rows add(const Rows& a, const Rows& b, LayerSlot out) {
        const Tensor y = slot(out);
        be_.add(a, b, y);
        return y;
    }

private:
    const TernaryWeight& weight(LayerLinear which) const {
        switch (which) {
            case LayerLinear::ttt_down: return L_.ttt_down;
            case LayerLinear::ttt_key: return L_.ttt_key;
            case LayerLinear::ttt_value: return L_.ttt_value;
            case LayerLinear::ttt_query: return L_.ttt_query;
            case LayerLinear::ttt_up: return L_.ttt_up;
            case LayerLinear::mlp_gate: return L_.mlp_gate;
            case LayerLinear::mlp_up: return L_.mlp_up;
            case LayerLinear::mlp_down: return L_.mlp_down;
        }
        throw Error(TTT_ERR_PANIC, "unknown layer weight");
    }
    Tensor slot(LayerSlot which) const {
        switch (which) {
            case LayerSlot::key: return s_.key;
            case LayerSlot::value: return s_.value;
            case LayerSlot::query: return s_.query;
            case LayerSlot::features: return s_.features;
            case LayerSlot::ttt_branch:
            case LayerSlot::mlp_branch: return s_.branch;
            case LayerSlot::h: return s_.h;
            case LayerSlot::mlp_gate: return s_.gate;
            case LayerSlot::mlp_up: return s_.up;
            case LayerSlot::out: return s_.x;
            default: throw Error(TTT_ERR_PANIC, "layer slot without workspace rows");
        }
    }

    Backend& be_;
    const PreparedLayer& L_;
    const ModelConfig& c_;
    const Slots& s_;
    const std::vector<SequenceRows>& seqs_;
    std::vector<TttStateRef>& states_;
    ActType act_;
};

}  // namespace ttt
