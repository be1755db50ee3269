#include "model/attention_block.h"

#include <algorithm>

#include "cpu/attention_ref.h"
#include "model/prepared_model.h"

namespace ttt {

namespace {

size_t q_width(const ModelConfig& c) { return size_t(c.attn.num_heads) * size_t(c.attn.head_dim); }
size_t kv_width(const ModelConfig& c) { return size_t(c.attn.num_kv_heads) * size_t(c.attn.head_dim); }

// y = P·x. Ternary projections quantise x first (per token, int8) unless the caller already has (q, k, v and
// gate, up read the same rows: quantised once).
void project(Backend& be, AttentionWorkspace& ws, const PreparedProjection& p, const Tensor& x, const Tensor& y,
             bool x_already_quantised) {
    if (!p.is_ternary) {
        be.dense_matmul(p.dense, x, y);
        return;
    }
    const size_t M = x.rows, K = x.cols;
    // Each base's product: the first into y, the others into base_out and added (a multi-base projection).
    auto products = [&](const auto& input) {
        be.ternary_matmul(p.ternary, input, y);
        for (const TernaryWeight& r : p.residual) {
            const Tensor t = ws.base_out.reshape(M, y.cols);
            be.ternary_matmul(r, input, t);
            be.add(y, t, y);
        }
    };
    switch (p.ternary.act) {
        case ActType::f32:
            products(x);
            return;
        case ActType::f32_fake_i8: {
            const Tensor fq = ws.fq.reshape(M, K);
            if (!x_already_quantised) be.fake_quant_i8(x, fq);
            products(fq);
            return;
        }
        case ActType::i8: {
            const QuantTensor q{ws.quant.q.reshape(M, K), ws.quant.a.reshape(M, 1)};
            if (!x_already_quantised) be.quantize_i8(x, q);
            products(q);
            return;
        }
    }
}

}  // namespace

PreparedAttentionLayer prepare_attention_layer(const AttentionLayerWeights& w, const ModelConfig& c,
                                               const std::shared_ptr<const void>& owner, Backend& be) {
    auto norm = [&](const std::vector<float>& g) { return be.prepare_dense(g.data(), 1, g.size(), owner); };
    auto proj = [&](const Projection& p) {
        PreparedProjection r;
        r.is_ternary = p.is_ternary;
        if (p.is_ternary) {
            r.ternary = be.prepare_ternary(ternary_file_view(p.ternary, owner), c.bitlinear_scale, c.act_bits);
            for (const TernaryMatrix& m : p.residual_bases)
                r.residual.push_back(be.prepare_ternary(ternary_file_view(m, owner), c.bitlinear_scale, c.act_bits));
        } else if (p.is_bf16()) {
            r.dense = be.prepare_dense_bf16(p.bf16_data(), size_t(p.rows), size_t(p.cols), owner);
        } else {
            r.dense = be.prepare_dense(p.dense.data(), size_t(p.rows), size_t(p.cols), owner);
        }
        return r;
    };
    PreparedAttentionLayer L;
    L.input_norm = norm(w.input_norm);
    L.post_norm = norm(w.post_norm);
    if (!w.attn_sub_norm.empty()) L.attn_sub_norm = norm(w.attn_sub_norm);
    if (!w.ffn_sub_norm.empty()) L.ffn_sub_norm = norm(w.ffn_sub_norm);
    L.q = proj(w.q);
    L.k = proj(w.k);
    L.v = proj(w.v);
    L.o = proj(w.o);
    L.gate = proj(w.gate);
    L.up = proj(w.up);
    L.down = proj(w.down);
    return L;
}

std::vector<std::pair<Op, ActType>> attention_ops_needed(const PreparedAttentionLayer& l) {
    std::vector<std::pair<Op, ActType>> needed = {
        {Op::embed, ActType::f32}, {Op::rmsnorm, ActType::f32}, {Op::dense_matmul, ActType::f32},
        {Op::add, ActType::f32},   {Op::rope, ActType::f32},    {Op::attention, ActType::f32},
        {Op::gather_rows, ActType::f32}};
    // The MLP activation is the architecture's (a ternarised Llama keeps SwiGLU): BitNet alone has ffn_sub_norm.
    needed.push_back({l.ffn_sub_norm.cols > 0 ? Op::relu2_gated : Op::swiglu, ActType::f32});
    if (l.q.is_ternary) {
        const ActType act = l.q.ternary.act;
        if (act == ActType::i8) needed.insert(needed.end(), {{Op::quantize_i8, act}, {Op::ternary_i8, act}});
        else if (act == ActType::f32_fake_i8) needed.insert(needed.end(), {{Op::fake_quant_i8, act}, {Op::ternary_f32, act}});
        else needed.push_back({Op::ternary_f32, act});
    }
    return needed;
}

std::vector<float> rope_frequencies(const ModelConfig& c) {
    RopeScalingParams s;
    s.llama3 = c.attn.rope_llama3;
    s.factor = c.attn.rope_factor;
    s.low_freq_factor = c.attn.rope_low_freq_factor;
    s.high_freq_factor = c.attn.rope_high_freq_factor;
    s.original_max_position = c.attn.rope_original_max_position;
    return rope_inv_freq(size_t(c.attn.head_dim), c.attn.rope_theta, s);
}

AttentionWorkspace::AttentionWorkspace(Backend& be, const ModelConfig& c, size_t rows) {
    const size_t D = size_t(c.hidden_dim), I = size_t(c.intermediate_dim), Q = q_width(c), KV = kv_width(c);
    const size_t K = std::max({D, I, Q});
    struct Slot {
        Tensor* t;
        ElemType type;
        size_t cols;
    };
    const Slot slots[] = {{&xn, ElemType::f32, D},   {&h, ElemType::f32, D},    {&branch, ElemType::f32, D},
                          {&q, ElemType::f32, Q},    {&k, ElemType::f32, KV},   {&v, ElemType::f32, KV},
                          {&att, ElemType::f32, Q},  {&gate, ElemType::f32, I}, {&up, ElemType::f32, I},
                          {&act, ElemType::f32, I},  {&fq, ElemType::f32, K},   {&quant.q, ElemType::i8, K},
                          {&quant.a, ElemType::f32, 1},  {&base_out, ElemType::f32, c.projection_bases() > 1 ? K : 0}};
    auto bytes_of = [&](const Slot& s) { return (rows * s.cols * (s.type == ElemType::f32 ? 4 : 1) + 63) / 64 * 64; };
    size_t total = 0;
    for (const Slot& s : slots) total += bytes_of(s);
    buffer = be.alloc(total);
    char* p = static_cast<char*>(buffer->data());
    for (const Slot& s : slots) {
        *s.t = Tensor(p, s.type, rows, s.cols);
        p += bytes_of(s);
    }
}

void run_attention_layer(Backend& be, AttentionWorkspace& ws, const ModelConfig& c, const PreparedAttentionLayer& L,
                         const Tensor& x, const AttentionPass& pass) {
    const size_t M = pass.M, D = size_t(c.hidden_dim), I = size_t(c.intermediate_dim), Q = q_width(c), KV = kv_width(c);
    const size_t hd = size_t(c.attn.head_dim);
    const bool bitnet = c.arch == Architecture::bitnet;
    const Tensor xn = ws.xn.reshape(M, D), h = ws.h.reshape(M, D), br = ws.branch.reshape(M, D);
    const Tensor q = ws.q.reshape(M, Q), k = ws.k.reshape(M, KV), v = ws.v.reshape(M, KV), att = ws.att.reshape(M, Q);
    const Tensor gate = ws.gate.reshape(M, I), up = ws.up.reshape(M, I), act = ws.act.reshape(M, I);

    // Attention: q, k, v read the same normalised rows (quantised once for ternary projections).
    be.rmsnorm(x, L.input_norm, c.norm_eps, xn);
    project(be, ws, L.q, xn, q, false);
    project(be, ws, L.k, xn, k, true);
    project(be, ws, L.v, xn, v, true);
    be.rope(q, hd, pass.inv_freq, pass.rows, pass.positions, pass.n_seqs);
    be.rope(k, hd, pass.inv_freq, pass.rows, pass.positions, pass.n_seqs);
    const AttentionShape shape{size_t(c.attn.num_heads), size_t(c.attn.num_kv_heads), hd, pass.cache_type};
    be.attention(q, k, v, pass.rows, pass.caches, pass.n_seqs, shape, att);
    if (bitnet) be.rmsnorm(att, L.attn_sub_norm, c.norm_eps, att);
    project(be, ws, L.o, att, br, false);
    be.add(x, br, h);

    // Gated MLP: SwiGLU (llama) or squared ReLU with the sub-norm before down (bitnet).
    be.rmsnorm(h, L.post_norm, c.norm_eps, xn);
    project(be, ws, L.gate, xn, gate, false);
    project(be, ws, L.up, xn, up, true);
    if (bitnet) {
        be.relu2_gated(gate, up, act);
        be.rmsnorm(act, L.ffn_sub_norm, c.norm_eps, act);
    } else {
        be.swiglu(gate, up, act);
    }
    project(be, ws, L.down, act, br, false);
    be.add(h, br, x);
}

}  // namespace ttt
