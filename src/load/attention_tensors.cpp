#include "load/attention_tensors.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <set>

#include "common/error.h"
#include "common/log.h"
#include "cpu/ternary_ref.h"

namespace ttt {

namespace {

std::string num(double v) {
    char b[64];
    std::snprintf(b, sizeof b, "%.9g", v);
    return b;
}

int32_t get_i32(simdjson::dom::object o, const char* key, const std::string& what) {
    int64_t v = 0;
    if (!json_get_int_opt(o, key, what, &v)) fail_format(what + ": required field \"" + key + "\" is missing");
    if (v < INT32_MIN || v > INT32_MAX) fail_format(what + ": \"" + key + "\" is out of range");
    return int32_t(v);
}

// One entry per tensor of the model, in the writers' order; `data` filled only when weights are given.
struct Entry {
    TensorSpec spec;
    const void* data = nullptr;
};

std::vector<Entry> entries(const ModelConfig& c, const ModelWeights* w) {
    const int64_t V = c.vocab_size, D = c.hidden_dim, I = c.intermediate_dim;
    const int64_t Q = int64_t(c.attn.num_heads) * c.attn.head_dim, KV = int64_t(c.attn.num_kv_heads) * c.attn.head_dim;
    const bool bitnet = c.arch == Architecture::bitnet;
    const int32_t bases = c.projection_bases();
    std::vector<Entry> out;
    auto floats = [&](const std::string& name, std::vector<int64_t> shape, const float* data) {
        size_t n = 1;
        for (int64_t s : shape) n *= size_t(s);
        out.push_back({TensorSpec{name, DType::F32, std::move(shape), n * 4}, data});
    };
    auto proj = [&](const std::string& base, int64_t rows, int64_t cols, const Projection* p) {
        if (bases == 0 && c.attn.bf16_projections)
            return out.push_back({TensorSpec{base + ".weight", DType::BF16, {rows, cols}, size_t(rows * cols) * 2},
                                  p ? p->bf16_data() : nullptr});
        if (bases == 0) return floats(base + ".weight", {rows, cols}, p ? p->dense.data() : nullptr);
        const int64_t rb = int64_t(ternary_row_bytes(size_t(cols)));
        for (int32_t b = 0; b < bases; ++b) {  // base b > 0 of a multi-base projection: names end in ".<b>"
            const std::string suffix = b == 0 ? std::string() : "." + std::to_string(b);
            const TernaryMatrix* m = p && size_t(b) < p->bases() ? &p->base(size_t(b)) : nullptr;
            out.push_back({TensorSpec{base + ".weight_ternary" + suffix, DType::U8, {rows, rb}, size_t(rows * rb)},
                           m ? m->data() : nullptr});
            out.push_back({TensorSpec{base + ".weight_scale" + suffix, DType::F32, {1}, 4}, m ? &m->scale : nullptr});
        }
    };
    if (c.attn.bf16_embedding)  // the checkpoint's bf16 bits, mapped and used in place when loaded
        out.push_back({TensorSpec{"model.embed_tokens.weight", DType::BF16, {V, D}, size_t(V * D) * 2},
                       w ? w->embed_bf16.data() : nullptr});
    else
        floats("model.embed_tokens.weight", {V, D}, w ? w->embed.data() : nullptr);
    for (int32_t l = 0; l < c.num_layers; ++l) {
        const AttentionLayerWeights* L = w ? &w->attention->layers[size_t(l)] : nullptr;
        const std::string p = "model.layers." + std::to_string(l) + ".";
        floats(p + "input_layernorm.weight", {D}, L ? L->input_norm.data() : nullptr);
        proj(p + "self_attn.q_proj", Q, D, L ? &L->q : nullptr);
        proj(p + "self_attn.k_proj", KV, D, L ? &L->k : nullptr);
        proj(p + "self_attn.v_proj", KV, D, L ? &L->v : nullptr);
        if (bitnet) floats(p + "self_attn.attn_sub_norm.weight", {Q}, L ? L->attn_sub_norm.data() : nullptr);
        proj(p + "self_attn.o_proj", D, Q, L ? &L->o : nullptr);
        floats(p + "post_attention_layernorm.weight", {D}, L ? L->post_norm.data() : nullptr);
        proj(p + "mlp.gate_proj", I, D, L ? &L->gate : nullptr);
        proj(p + "mlp.up_proj", I, D, L ? &L->up : nullptr);
        if (bitnet) floats(p + "mlp.ffn_sub_norm.weight", {I}, L ? L->ffn_sub_norm.data() : nullptr);
        proj(p + "mlp.down_proj", D, I, L ? &L->down : nullptr);
    }
    floats("model.norm.weight", {D}, w ? w->norm_f.data() : nullptr);
    if (!c.attn.tie_embeddings && c.attn.bf16_lm_head)
        out.push_back({TensorSpec{"lm_head.weight", DType::BF16, {V, D}, size_t(V * D) * 2},
                       w ? w->lm_head_bf16.data() : nullptr});
    else if (!c.attn.tie_embeddings)
        floats("lm_head.weight", {V, D}, w ? w->lm_head.data() : nullptr);
    return out;
}

}  // namespace

std::string attention_config_to_json(const ModelConfig& c) {
    const AttentionConfig& a = c.attn;
    std::string s = std::string("{\"arch\":\"") + architecture_name(c.arch) + "\",\"vocab_size\":" +
                    std::to_string(c.vocab_size) + ",\"hidden_dim\":" + std::to_string(c.hidden_dim) +
                    ",\"num_layers\":" + std::to_string(c.num_layers) + ",\"intermediate_dim\":" +
                    std::to_string(c.intermediate_dim) + ",\"norm_eps\":" + num(c.norm_eps) +
                    ",\"num_attention_heads\":" + std::to_string(a.num_heads) + ",\"num_key_value_heads\":" +
                    std::to_string(a.num_kv_heads) + ",\"head_dim\":" + std::to_string(a.head_dim) +
                    ",\"rope_theta\":" + num(a.rope_theta) + ",\"max_position_embeddings\":" +
                    std::to_string(a.max_position) + ",\"tie_word_embeddings\":" + (a.tie_embeddings ? "true" : "false");
    if (a.rope_llama3)
        s += ",\"rope_scaling\":{\"rope_type\":\"llama3\",\"factor\":" + num(a.rope_factor) + ",\"low_freq_factor\":" +
             num(a.rope_low_freq_factor) + ",\"high_freq_factor\":" + num(a.rope_high_freq_factor) +
             ",\"original_max_position_embeddings\":" + std::to_string(a.rope_original_max_position) + "}";
    if (a.ternary_bases > 0) s += ",\"ternary_bases\":" + std::to_string(a.ternary_bases);
    if (a.bf16_projections) s += ",\"projection_dtype\":\"bf16\"";
    if (a.bf16_embedding) s += ",\"embedding_dtype\":\"bf16\"";
    if (a.bf16_lm_head) s += ",\"lm_head_dtype\":\"bf16\"";
    if (c.bos_id >= 0) s += ",\"bos_id\":" + std::to_string(c.bos_id);
    if (c.eos_id >= 0) s += ",\"eos_id\":" + std::to_string(c.eos_id);
    if (!c.end_ids.empty()) {
        s += ",\"eos_ids\":[";
        for (size_t i = 0; i < c.end_ids.size(); ++i) s += (i ? "," : "") + std::to_string(c.end_ids[i]);
        s += "]";
    }
    return s + "}";
}

ModelConfig parse_attention_config_object(simdjson::dom::object o, const std::string& what) {
    std::string arch;
    json_get_string_opt(o, "arch", what, &arch);
    ModelConfig c;
    if (arch == "llama") c.arch = Architecture::llama;
    else if (arch == "bitnet") c.arch = Architecture::bitnet;
    else fail_unsupported(what + ": \"arch\" \"" + arch + "\" is not supported (ttt, llama, bitnet)");
    c.vocab_size = get_i32(o, "vocab_size", what);
    c.hidden_dim = get_i32(o, "hidden_dim", what);
    c.num_layers = get_i32(o, "num_layers", what);
    c.intermediate_dim = get_i32(o, "intermediate_dim", what);
    if (!json_get_float_opt(o, "norm_eps", what, &c.norm_eps)) fail_format(what + ": required field \"norm_eps\" is missing");
    AttentionConfig& a = c.attn;
    a.num_heads = get_i32(o, "num_attention_heads", what);
    a.num_kv_heads = get_i32(o, "num_key_value_heads", what);
    a.head_dim = get_i32(o, "head_dim", what);
    a.max_position = get_i32(o, "max_position_embeddings", what);
    if (!json_get_float_opt(o, "rope_theta", what, &a.rope_theta)) fail_format(what + ": required field \"rope_theta\" is missing");
    bool tie = false;
    if (!json_get_bool_opt(o, "tie_word_embeddings", what, &tie)) fail_format(what + ": required field \"tie_word_embeddings\" is missing");
    a.tie_embeddings = tie;
    simdjson::dom::element e;
    simdjson::dom::object rs;
    if (json_find(o, "rope_scaling", &e)) {
        std::string type;
        if (e.get_object().get(rs) != simdjson::SUCCESS || !json_get_string_opt(rs, "rope_type", what, &type) || type != "llama3")
            fail_format(what + ": \"rope_scaling\" must be {\"rope_type\": \"llama3\", ...}");
        a.rope_llama3 = true;
        if (!json_get_float_opt(rs, "factor", what, &a.rope_factor) ||
            !json_get_float_opt(rs, "low_freq_factor", what, &a.rope_low_freq_factor) ||
            !json_get_float_opt(rs, "high_freq_factor", what, &a.rope_high_freq_factor))
            fail_format(what + ": llama3 \"rope_scaling\" needs factor, low_freq_factor and high_freq_factor");
        a.rope_original_max_position = get_i32(rs, "original_max_position_embeddings", what);
    }
    int64_t v = 0;
    if (json_get_int_opt(o, "bos_id", what, &v)) c.bos_id = int32_t(std::max<int64_t>(-1, std::min<int64_t>(v, INT32_MAX)));
    if (json_get_int_opt(o, "eos_id", what, &v)) c.eos_id = int32_t(std::max<int64_t>(-1, std::min<int64_t>(v, INT32_MAX)));
    if (json_get_int_opt(o, "ternary_bases", what, &v)) {
        if (v < 1 || v > kMaxTernaryBases || c.arch != Architecture::llama)
            fail_format(what + ": \"ternary_bases\" must be 1.." + std::to_string(kMaxTernaryBases) + " in a llama config");
        a.ternary_bases = int32_t(v);
    }
    std::string projection_dtype = "f32";
    json_get_string_opt(o, "projection_dtype", what, &projection_dtype);
    if (projection_dtype != "f32" && (projection_dtype != "bf16" || c.arch != Architecture::llama || a.ternary_bases != 0))
        fail_format(what + ": \"projection_dtype\" must be \"f32\" or, for a float llama model, \"bf16\"");
    a.bf16_projections = projection_dtype == "bf16";
    std::string embedding_dtype = "f32";
    json_get_string_opt(o, "embedding_dtype", what, &embedding_dtype);
    if (embedding_dtype != "f32" && embedding_dtype != "bf16")
        fail_format(what + ": \"embedding_dtype\" must be \"f32\" or \"bf16\"");
    a.bf16_embedding = embedding_dtype == "bf16";
    std::string lm_head_dtype = "f32";
    json_get_string_opt(o, "lm_head_dtype", what, &lm_head_dtype);
    if (lm_head_dtype != "f32" && (lm_head_dtype != "bf16" || a.tie_embeddings))
        fail_format(what + ": \"lm_head_dtype\" must be \"f32\" or, for an untied model, \"bf16\"");
    a.bf16_lm_head = lm_head_dtype == "bf16";
    if (json_find(o, "eos_ids", &e)) {
        simdjson::dom::array ids;
        if (e.get_array().get(ids) != simdjson::SUCCESS) fail_format(what + ": \"eos_ids\" must be a list of token ids");
        for (simdjson::dom::element id : ids) {
            int64_t x = 0;
            if (id.get_int64().get(x) != simdjson::SUCCESS || x < 0 || x >= c.vocab_size)
                fail_format(what + ": \"eos_ids\" must hold token ids below vocab_size");
            c.end_ids.push_back(int32_t(x));
        }
    }
    // BitNet b1.58 and ternarised Llama projections apply their scales (y = s·Q·x); BitNet quantises activations.
    c.bitlinear_scale = c.projection_bases() > 0;
    c.act_bits = c.arch == Architecture::bitnet ? 8 : 0;
    validate_config(c, what);
    return c;
}

std::vector<WeightTensor> attention_weight_tensors(const ModelWeights& w) {
    std::vector<WeightTensor> out;
    for (Entry& e : entries(w.config, &w)) out.push_back({std::move(e.spec), e.data});
    return out;
}

std::vector<TensorSpec> attention_tensor_specs(const ModelConfig& c) {
    std::vector<TensorSpec> out;
    for (Entry& e : entries(c, nullptr)) out.push_back(std::move(e.spec));
    return out;
}

namespace {

// Reads the tensors of an attention model from a safetensors view, in the order of attention_tensor_specs, checking
// each one's dtype, shape and values. In place (views into the mapped file) where `in_place` and aligned, else copied.
class AttentionTensorReader {
public:
    AttentionTensorReader(const ModelConfig& c, const SafetensorsView& st, const std::string& what, bool in_place)
        : c_(c), st_(st), what_(what), in_place_(in_place), specs_(attention_tensor_specs(c)) {}

    const TensorSpec& next() { return specs_.at(k_++); }

    std::vector<float> floats() { return tensor_to_f32(get(next()), what_); }

    FloatTensor float_tensor() {
        const TensorSpec& spec = next();
        const TensorView& t = get(spec);
        if (in_place_ && reinterpret_cast<uintptr_t>(t.data) % alignof(float) == 0) {
            const float* p = reinterpret_cast<const float*>(t.data);
            for (size_t i = 0; i < t.n_elements; ++i)
                if (!std::isfinite(p[i]))
                    fail_format(what_ + ": tensor '" + spec.name + "' holds NaN or Inf at element " + std::to_string(i));
            return FloatTensor::in_place(p, t.n_elements);
        }
        return tensor_to_f32(t, what_);
    }

    // A [V, D] bf16 table (embedding or LM head): in place or copied.
    Bf16Tensor bf16_table() {
        const uint16_t* view = nullptr;
        std::vector<uint16_t> copy;
        bf16_bits(next(), &view, &copy);
        return view ? Bf16Tensor::in_place(view, size_t(c_.vocab_size) * size_t(c_.hidden_dim))
                    : Bf16Tensor(std::move(copy));
    }

    // A projection of rows × cols: dense f32, bf16, or the model's ternary bases (packed codes and a scale each).
    Projection projection(int32_t rows, int32_t cols) {
        if (c_.projection_bases() == 0 && c_.attn.bf16_projections) {
            Projection p = Projection::from_bf16({}, rows, cols);
            bf16_bits(next(), &p.bf16_view, &p.bf16);
            return p;
        }
        if (c_.projection_bases() == 0) return Projection::from_dense(floats(), rows, cols);
        std::vector<TernaryMatrix> bases;
        for (int32_t b = 0; b < c_.projection_bases(); ++b) bases.push_back(ternary_base(b, rows, cols));
        return Projection::from_bases(std::move(bases));
    }

    // Warns about every tensor of the file that no spec named.
    void warn_unused() const {
        for (const auto& t : st_.tensors)
            if (!used_.count(t.name)) log_warn(what_ + ": ignoring unused tensor '" + t.name + "'");
    }

private:
    const TensorView& get(const TensorSpec& spec) {
        const TensorView* t = st_.find(spec.name);
        if (!t) fail_format(what_ + ": missing tensor '" + spec.name + "'");
        if (t->dtype != spec.dtype || t->shape != spec.shape)
            fail_format(what_ + ": tensor '" + spec.name + "' is " + dtype_name(t->dtype) + " " +
                        shape_string(t->shape) + ", expected " + dtype_name(spec.dtype) + " " + shape_string(spec.shape));
        used_.insert(spec.name);
        return *t;
    }

    // BF16 bits: NaN and Inf refused; in place when mapped and aligned, else copied.
    void bf16_bits(const TensorSpec& spec, const uint16_t** view, std::vector<uint16_t>* copy) {
        const TensorView& t = get(spec);
        const auto* v = reinterpret_cast<const uint16_t*>(t.data);
        for (size_t i = 0; i < t.n_elements; ++i)
            if ((v[i] & 0x7F80) == 0x7F80)
                fail_format(what_ + ": tensor '" + t.name + "' holds NaN or Inf at element " + std::to_string(i));
        if (in_place_ && reinterpret_cast<uintptr_t>(t.data) % alignof(uint16_t) == 0) {
            *view = v;
            return;
        }
        copy->resize(t.n_elements);
        std::memcpy(copy->data(), t.data, t.n_bytes);
    }

    TernaryMatrix ternary_base(int32_t b, int32_t rows, int32_t cols) {
        const TensorSpec& packed_spec = next();
        const TensorView& p = get(packed_spec);
        size_t bad_row = 0;
        if (!validate_packed_ternary(p.data, size_t(rows), size_t(cols), &bad_row))
            fail_format(what_ + ": tensor '" + packed_spec.name + "' row " + std::to_string(bad_row) +
                        " holds an invalid ternary code (11) or non-zero padding bits");
        TernaryMatrix m;
        m.rows = rows;
        m.cols = cols;
        m.scale = floats()[0];
        // A later base of a multi-base fit may have scale 0 (nothing left to fit); the first must be positive.
        if (!std::isfinite(m.scale) || m.scale < 0.0f || (b == 0 && !(m.scale > 0.0f)))
            fail_format(what_ + ": the scale of '" + packed_spec.name + "' must be " + (b == 0 ? "positive" : "finite and ≥ 0"));
        if (in_place_) m.view = p.data;
        else m.packed.assign(p.data, p.data + p.n_bytes);
        return m;
    }

    const ModelConfig& c_;
    const SafetensorsView& st_;
    const std::string& what_;
    const bool in_place_;
    const std::vector<TensorSpec> specs_;
    size_t k_ = 0;
    std::set<std::string> used_;
};

}  // namespace

ModelWeights attention_weights_from_safetensors(const ModelConfig& c, const SafetensorsView& st, const std::string& what,
                                                std::shared_ptr<const void> storage) {
    AttentionTensorReader r(c, st, what, storage != nullptr);
    const int32_t D = c.hidden_dim, I = c.intermediate_dim;
    const int32_t Q = c.attn.num_heads * c.attn.head_dim, KV = c.attn.num_kv_heads * c.attn.head_dim;
    const bool bitnet = c.arch == Architecture::bitnet;
    ModelWeights w;
    w.config = c;
    w.storage = std::move(storage);
    if (c.attn.bf16_embedding) w.embed_bf16 = r.bf16_table();
    else w.embed = r.float_tensor();
    auto attention = std::make_shared<AttentionWeights>();
    for (int32_t l = 0; l < c.num_layers; ++l) {
        AttentionLayerWeights L;  // in the order of attention_tensor_specs
        L.input_norm = r.floats();
        L.q = r.projection(Q, D);
        L.k = r.projection(KV, D);
        L.v = r.projection(KV, D);
        if (bitnet) L.attn_sub_norm = r.floats();
        L.o = r.projection(D, Q);
        L.post_norm = r.floats();
        L.gate = r.projection(I, D);
        L.up = r.projection(I, D);
        if (bitnet) L.ffn_sub_norm = r.floats();
        L.down = r.projection(D, I);
        attention->layers.push_back(std::move(L));
    }
    w.attention = std::move(attention);
    w.norm_f = r.float_tensor();
    if (!c.attn.tie_embeddings && c.attn.bf16_lm_head) w.lm_head_bf16 = r.bf16_table();
    else if (!c.attn.tie_embeddings) w.lm_head = r.float_tensor();
    r.warn_unused();
    w.check_shapes(what);
    return w;
}

}  // namespace ttt
