#include "model/weights.h"

#include "model/attention_weights.h"

#include "common/error.h"
#include "cpu/ternary_ref.h"
#include "common/fnv64.h"

namespace ttt {

TernaryMatrix TernaryMatrix::from_latent(const float* w, int32_t rows, int32_t cols) {
    const size_t n = static_cast<size_t>(rows) * static_cast<size_t>(cols);
    TernaryMatrix m;
    m.rows = rows;
    m.cols = cols;
    const double s = ternary_scale_ref(w, n);
    m.scale = static_cast<float>(s);
    std::vector<int8_t> q(n);
    ternarize_ref(w, n, s, q.data());
    m.packed.resize(static_cast<size_t>(rows) * ternary_row_bytes(static_cast<size_t>(cols)));
    pack_ternary_ref(q.data(), static_cast<size_t>(rows), static_cast<size_t>(cols), m.packed.data());
    return m;
}

size_t TernaryMatrix::bytes() const {
    return view ? size_t(rows) * ternary_row_bytes(size_t(cols)) : packed.size();
}

namespace {

void hash_floats(Fnv64& h, const FloatTensor& v) {
    h.add_u64(v.size());
    h.add(v.data(), v.size() * sizeof(float));
}

void hash_ternary(Fnv64& h, const TernaryMatrix& m) {
    h.add_u64(static_cast<uint64_t>(m.rows));
    h.add_u64(static_cast<uint64_t>(m.cols));
    h.add(&m.scale, sizeof m.scale);
    h.add(m.data(), m.bytes());
}

}  // namespace

uint64_t ModelWeights::fingerprint() const {
    if (config.is_attention())  // model/attention_weights.h: shared with the streaming converter
        return attention_fingerprint(*this);
    Fnv64 h;
    const ModelConfig& c = config;
    for (int64_t v : {int64_t(c.vocab_size), int64_t(c.hidden_dim), int64_t(c.num_layers), int64_t(c.intermediate_dim),
                      int64_t(c.bitlinear_scale), int64_t(c.act_bits), int64_t(c.ttt_chunk)})
        h.add_u64(static_cast<uint64_t>(v));
    h.add(&c.inner_lr, sizeof c.inner_lr);
    h.add(&c.norm_eps, sizeof c.norm_eps);
    if (c.is_delta()) {  // upstream models keep their fingerprints: the kind is hashed only when it is not upstream
        h.add_u64(uint64_t(c.ttt_kind));
        h.add_u64(uint64_t(c.ttt_heads));
        if (c.ttt_dim() != c.hidden_dim / 4) h.add_u64(uint64_t(c.ttt_dim()));  // default width: as before
    }
    hash_floats(h, embed);
    for (const LayerWeights& l : layers) {
        hash_floats(h, l.norm1);
        if (c.is_delta()) {
            for (const TernaryMatrix* m : {&l.ttt_key, &l.ttt_value, &l.ttt_query}) hash_ternary(h, *m);
            for (const FloatTensor* v : {&l.ttt_conv_k, &l.ttt_conv_q, &l.ttt_gate, &l.ttt_gate_bias}) hash_floats(h, *v);
        } else {
            hash_ternary(h, l.ttt_down);
        }
        hash_ternary(h, l.ttt_up);
        hash_floats(h, l.norm2);
        hash_ternary(h, l.mlp_gate);
        hash_ternary(h, l.mlp_up);
        hash_ternary(h, l.mlp_down);
    }
    hash_floats(h, norm_f);
    hash_floats(h, lm_head);
    return h.state;
}

uint64_t ModelWeights::parameter_count() const {
    uint64_t n = embed.size() + embed_bf16.size() + norm_f.size() + lm_head.size() + lm_head_bf16.size();
    if (config.is_attention()) return n + attention_parameter_count(*this);
    for (const LayerWeights& l : layers) {
        n += l.norm1.size() + l.norm2.size();
        for (const TernaryMatrix* m : {&l.ttt_down, &l.ttt_key, &l.ttt_value, &l.ttt_query, &l.ttt_up, &l.mlp_gate,
                                       &l.mlp_up, &l.mlp_down})
            n += static_cast<uint64_t>(m->rows) * static_cast<uint64_t>(m->cols);
        n += l.ttt_conv_k.size() + l.ttt_conv_q.size() + l.ttt_gate.size() + l.ttt_gate_bias.size();
    }
    return n;
}

void ModelWeights::check_shapes(const std::string& what) const {
    if (config.is_attention()) return check_attention_shapes(*this, what);
    const size_t V = static_cast<size_t>(config.vocab_size), D = static_cast<size_t>(config.hidden_dim);
    const int32_t d = config.ttt_dim(), I = config.intermediate_dim, Di = config.hidden_dim;
    auto vec = [&](const FloatTensor& v, size_t n, const std::string& name) {
        if (v.size() != n) fail_format(what + ": tensor '" + name + "' has " + std::to_string(v.size()) + " values, expected " + std::to_string(n));
    };
    auto mat = [&](const TernaryMatrix& m, int32_t rows, int32_t cols, const std::string& name) {
        if (m.rows != rows || m.cols != cols || m.bytes() != size_t(rows) * ternary_row_bytes(size_t(cols)))
            fail_format(what + ": tensor '" + name + "' has shape [" + std::to_string(m.rows) + ", " + std::to_string(m.cols) +
                        "], expected [" + std::to_string(rows) + ", " + std::to_string(cols) + "]");
    };
    vec(embed, V * D, "embed.weight");
    if (layers.size() != size_t(config.num_layers)) fail_format(what + ": wrong number of layers");
    for (size_t i = 0; i < layers.size(); ++i) {
        const std::string p = "layers." + std::to_string(i) + ".";
        vec(layers[i].norm1, D, p + "norm1.weight");
        vec(layers[i].norm2, D, p + "norm2.weight");
        if (config.is_delta()) {
            const size_t dd = size_t(d), H2 = 2 * size_t(config.ttt_heads);
            mat(layers[i].ttt_key, d, Di, p + "ttt.key.weight");
            mat(layers[i].ttt_value, d, Di, p + "ttt.value.weight");
            mat(layers[i].ttt_query, d, Di, p + "ttt.query.weight");
            vec(layers[i].ttt_conv_k, dd * 4, p + "ttt.conv_k.weight");
            vec(layers[i].ttt_conv_q, dd * 4, p + "ttt.conv_q.weight");
            vec(layers[i].ttt_gate, H2 * D, p + "ttt.gate.weight");
            vec(layers[i].ttt_gate_bias, H2, p + "ttt.gate.bias");
        } else {
            mat(layers[i].ttt_down, d, Di, p + "ttt.down.weight");
        }
        mat(layers[i].ttt_up, Di, d, p + "ttt.up.weight");
        mat(layers[i].mlp_gate, I, Di, p + "mlp.gate_proj.weight");
        mat(layers[i].mlp_up, I, Di, p + "mlp.up_proj.weight");
        mat(layers[i].mlp_down, Di, I, p + "mlp.down_proj.weight");
    }
    vec(norm_f, D, "norm_f.weight");
    vec(lm_head, V * D, "lm_head.weight");
}

}  // namespace ttt
