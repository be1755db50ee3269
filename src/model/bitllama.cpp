#include "model/bitllama.h"

#include <algorithm>

namespace ttt {

ForwardScratch::ForwardScratch(const ModelConfig& c) {
    const size_t D = size_t(c.hidden_dim), d = size_t(c.ttt_dim()), I = size_t(c.intermediate_dim);
    x.resize(D);
    xn.resize(D);
    h.resize(D);
    f.resize(d);
    z.resize(d);
    branch.resize(D);
    gate.resize(I);
    up.resize(I);
    act.resize(I);
    quant.resize(std::max(D, I));
}

namespace {

// y = Q·x' (· s when bitlinear_scale), x' = x or its int8 fake quantisation (act_bits 8).
void bitlinear(const TernaryMatrix& w, const ModelConfig& c, const Backend& be, const float* x, float* y,
               float* quant_scratch) {
    const size_t rows = size_t(w.rows), cols = size_t(w.cols);
    if (c.act_bits == 8) {
        be.fake_quant_int8(x, cols, quant_scratch);
        x = quant_scratch;
    }
    be.ternary_matvec(w.packed.data(), rows, cols, x, y);
    if (c.bitlinear_scale)
        for (size_t r = 0; r < rows; ++r) y[r] *= w.scale;
}

}  // namespace

void forward_token(const ModelWeights& m, const Backend& be, SoulState& soul, ForwardScratch& s, int32_t token,
                   float* logits) {
    const ModelConfig& c = m.config;
    const size_t D = size_t(c.hidden_dim), d = size_t(c.ttt_dim()), I = size_t(c.intermediate_dim);
    // The chunk closes after this token when it is the C-th token since the chunk began.
    const bool chunk_closes = (soul.position + 1) % uint64_t(c.ttt_chunk) == 0;

    std::copy_n(m.embed.begin() + ptrdiff_t(size_t(token) * D), D, s.x.begin());
    for (size_t l = 0; l < m.layers.size(); ++l) {
        const LayerWeights& L = m.layers[l];
        // TTT core: predict with the chunk-start state, accumulate the inner gradient.
        be.rmsnorm(s.x.data(), L.norm1.data(), D, c.norm_eps, s.xn.data());
        bitlinear(L.ttt_down, c, be, s.xn.data(), s.f.data(), s.quant.data());
        be.l2_normalize(s.f.data(), d, s.f.data());
        be.matvec_f32(soul.w[l].data(), d, d, s.f.data(), s.z.data());
        be.ttt_accumulate(s.z.data(), s.f.data(), d, soul.pending[l].data());
        if (chunk_closes) be.ttt_apply(soul.w[l].data(), soul.pending[l].data(), d, c.inner_lr);
        bitlinear(L.ttt_up, c, be, s.z.data(), s.branch.data(), s.quant.data());
        for (size_t i = 0; i < D; ++i) s.h[i] = s.x[i] + s.branch[i];

        // SwiGLU MLP.
        be.rmsnorm(s.h.data(), L.norm2.data(), D, c.norm_eps, s.xn.data());
        bitlinear(L.mlp_gate, c, be, s.xn.data(), s.gate.data(), s.quant.data());
        bitlinear(L.mlp_up, c, be, s.xn.data(), s.up.data(), s.quant.data());
        be.swiglu(s.gate.data(), s.up.data(), I, s.act.data());
        bitlinear(L.mlp_down, c, be, s.act.data(), s.branch.data(), s.quant.data());
        for (size_t i = 0; i < D; ++i) s.x[i] = s.h[i] + s.branch[i];
    }
    soul.position += 1;
    soul.level += 1;
    if (logits) {
        be.rmsnorm(s.x.data(), m.norm_f.data(), D, c.norm_eps, s.xn.data());
        be.matvec_f32(m.lm_head.data(), size_t(c.vocab_size), D, s.xn.data(), logits);
    }
}

}  // namespace ttt
