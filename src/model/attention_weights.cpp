#include "model/attention_weights.h"

#include <algorithm>
#include <cstring>

#include "common/error.h"
#include "cpu/ternary_ref.h"

namespace ttt {

Projection Projection::from_dense(std::vector<float> w, int32_t rows, int32_t cols) {
    Projection p;
    p.dense = std::move(w);
    p.rows = rows;
    p.cols = cols;
    return p;
}

Projection Projection::from_bf16(std::vector<uint16_t> w, int32_t rows, int32_t cols) {
    Projection p;
    p.bf16 = std::move(w);
    p.rows = rows;
    p.cols = cols;
    return p;
}

Projection Projection::from_ternary(TernaryMatrix m) {
    Projection p;
    p.rows = m.rows;
    p.cols = m.cols;
    p.ternary = std::move(m);
    p.is_ternary = true;
    return p;
}

Projection Projection::from_bases(std::vector<TernaryMatrix> bases) {
    Projection p = from_ternary(std::move(bases.at(0)));
    for (size_t b = 1; b < bases.size(); ++b) p.residual_bases.push_back(std::move(bases[b]));
    return p;
}

namespace {

void hash_floats(Fnv64& h, const std::vector<float>& v) {
    h.add_u64(v.size());
    h.add(v.data(), v.size() * sizeof(float));
}

void hash_projection(Fnv64& h, const Projection& p) {
    h.add_u64(uint64_t(p.rows));
    h.add_u64(uint64_t(p.cols));
    h.add_u64(p.is_ternary);
    if (p.is_ternary) {
        h.add(&p.ternary.scale, sizeof p.ternary.scale);
        h.add(p.ternary.data(), p.ternary.bytes());
        for (const TernaryMatrix& m : p.residual_bases) {  // only multi-base models hash more (fingerprints stay)
            h.add(&m.scale, sizeof m.scale);
            h.add(m.data(), m.bytes());
        }
    } else if (p.is_bf16()) {
        // Hashed as the floats they are, so a bf16 checkpoint has one fingerprint however it is held.
        const size_t n = size_t(p.rows) * size_t(p.cols);
        h.add_u64(n);
        const uint16_t* src = p.bf16_data();
        float chunk[1024];
        for (size_t i = 0; i < n; i += 1024) {
            const size_t k = std::min<size_t>(1024, n - i);
            for (size_t j = 0; j < k; ++j) {
                const uint32_t bits = uint32_t(src[i + j]) << 16;
                std::memcpy(&chunk[j], &bits, 4);
            }
            h.add(chunk, k * sizeof(float));
        }
    } else {
        hash_floats(h, p.dense);
    }
}

}  // namespace

uint64_t attention_fingerprint(const ModelConfig& c, const float* embed, size_t embed_n, const float* norm_f,
                               size_t norm_f_n, const float* lm_head, size_t lm_head_n,
                               const std::function<const AttentionLayerWeights&(size_t)>& layer) {
    return attention_fingerprint(
        c,
        [&](const FloatSink& sink) {
            sink(embed, embed_n);
            sink(norm_f, norm_f_n);
            sink(lm_head, lm_head_n);
        },
        layer);
}

uint64_t attention_fingerprint(const ModelConfig& c, const std::function<void(const FloatSink&)>& float_tensors,
                               const std::function<const AttentionLayerWeights&(size_t)>& layer) {
    Fnv64 h;
    const AttentionConfig& a = c.attn;
    for (int64_t v : {int64_t(c.arch), int64_t(c.vocab_size), int64_t(c.hidden_dim), int64_t(c.num_layers),
                      int64_t(c.intermediate_dim), int64_t(c.bitlinear_scale), int64_t(c.act_bits), int64_t(a.num_heads),
                      int64_t(a.num_kv_heads), int64_t(a.head_dim), int64_t(a.rope_llama3),
                      int64_t(a.rope_original_max_position), int64_t(a.tie_embeddings)})
        h.add_u64(uint64_t(v));
    if (a.ternary_bases != 0) h.add_u64(uint64_t(a.ternary_bases));  // only ternarised Llama models (fingerprints stay)
    for (float f : {c.norm_eps, a.rope_theta, a.rope_factor, a.rope_low_freq_factor, a.rope_high_freq_factor})
        h.add(&f, sizeof f);
    auto floats = [&](const float* p, size_t n) {
        h.add_u64(n);
        h.add(p, n * sizeof(float));
    };
    float_tensors(floats);  // embedding, final norm, LM head
    for (size_t l = 0; l < size_t(c.num_layers); ++l) {
        const AttentionLayerWeights& L = layer(l);
        for (const auto* v : {&L.input_norm, &L.attn_sub_norm, &L.post_norm, &L.ffn_sub_norm}) hash_floats(h, *v);
        for (const Projection* p : {&L.q, &L.k, &L.v, &L.o, &L.gate, &L.up, &L.down}) hash_projection(h, *p);
    }
    return h.state;
}

uint64_t attention_parameter_count(const ModelWeights& w) {
    uint64_t n = 0;
    if (!w.attention) return n;
    for (const AttentionLayerWeights& L : w.attention->layers) {
        n += L.input_norm.size() + L.attn_sub_norm.size() + L.post_norm.size() + L.ffn_sub_norm.size();
        for (const Projection* p : {&L.q, &L.k, &L.v, &L.o, &L.gate, &L.up, &L.down})
            n += uint64_t(p->rows) * uint64_t(p->cols);
    }
    return n;
}

void check_attention_shapes(const ModelWeights& w, const std::string& what) {
    const ModelConfig& c = w.config;
    const size_t V = size_t(c.vocab_size), D = size_t(c.hidden_dim), I = size_t(c.intermediate_dim);
    const size_t Q = size_t(c.attn.num_heads) * size_t(c.attn.head_dim), KV = size_t(c.attn.num_kv_heads) * size_t(c.attn.head_dim);
    const bool bitnet = c.arch == Architecture::bitnet;
    const size_t bases = size_t(c.projection_bases());
    auto vec = [&](const auto& v, size_t n, const std::string& name) {
        if (v.size() != n)
            fail_format(what + ": tensor '" + name + "' has " + std::to_string(v.size()) + " values, expected " + std::to_string(n));
    };
    auto proj = [&](const Projection& p, size_t rows, size_t cols, const std::string& name) {
        bool ok = size_t(p.rows) == rows && size_t(p.cols) == cols &&
                  (p.is_ternary || (c.attn.bf16_projections ? p.is_bf16() && (p.bf16_view || p.bf16.size() == rows * cols)
                                                            : p.dense.size() == rows * cols));
        for (size_t b = 0; b < p.bases(); ++b)
            ok = ok && p.base(b).rows == p.rows && p.base(b).cols == p.cols &&
                 p.base(b).bytes() == rows * ternary_row_bytes(cols);
        if (!ok)
            fail_format(what + ": tensor '" + name + "' has shape [" + std::to_string(p.rows) + ", " + std::to_string(p.cols) +
                        "], expected [" + std::to_string(rows) + ", " + std::to_string(cols) + "]");
        if (p.bases() != bases)
            fail_format(what + ": tensor '" + name + "' has " + std::to_string(p.bases()) + " ternary bases (0: float) in a " +
                        architecture_name(c.arch) + " model of " + std::to_string(bases));
    };
    vec(w.embed, V * D, "model.embed_tokens.weight");
    if (!w.attention || w.attention->layers.size() != size_t(c.num_layers) || !w.layers.empty())
        fail_format(what + ": wrong number of layers");
    for (size_t i = 0; i < w.attention->layers.size(); ++i) {
        const AttentionLayerWeights& L = w.attention->layers[i];
        const std::string p = "model.layers." + std::to_string(i) + ".";
        vec(L.input_norm, D, p + "input_layernorm.weight");
        vec(L.post_norm, D, p + "post_attention_layernorm.weight");
        proj(L.q, Q, D, p + "self_attn.q_proj.weight");
        proj(L.k, KV, D, p + "self_attn.k_proj.weight");
        proj(L.v, KV, D, p + "self_attn.v_proj.weight");
        proj(L.o, D, Q, p + "self_attn.o_proj.weight");
        proj(L.gate, I, D, p + "mlp.gate_proj.weight");
        proj(L.up, I, D, p + "mlp.up_proj.weight");
        proj(L.down, D, I, p + "mlp.down_proj.weight");
        vec(L.attn_sub_norm, bitnet ? Q : 0, p + "self_attn.attn_sub_norm.weight");
        vec(L.ffn_sub_norm, bitnet ? I : 0, p + "mlp.ffn_sub_norm.weight");
    }
    vec(w.norm_f, D, "model.norm.weight");
    vec(w.lm_head, c.attn.tie_embeddings ? 0 : V * D, "lm_head.weight");
}

}  // namespace ttt
