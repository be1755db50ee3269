#include "load/upstream_adaptive.h"

#include <cmath>

#include "common/error.h"
#include "cpu/ternary_ref.h"
#include "io/file.h"
#include "io/json.h"
#include "io/mapped_file.h"
#include "io/safetensors.h"
#include "model/attention_weights.h"

namespace ttt {

namespace {

std::string read_text(const std::string& path) {
    const std::vector<uint8_t> bytes = read_file(path);
    return std::string(bytes.begin(), bytes.end());
}

int32_t int_field(simdjson::dom::object o, const char* key, const std::string& what, bool required, int64_t fallback) {
    int64_t v = fallback;
    if (!json_get_int_opt(o, key, what, &v) && required) fail_format(what + ": required field \"" + key + "\" is missing");
    if (v < INT32_MIN || v > INT32_MAX) fail_format(what + ": \"" + key + "\" is out of range");
    return int32_t(v);
}

// Upstream's config (upstream-spec §1.4): hd = D / n_heads, no biases, default RoPE, an untied LM head. It fixed
// the RMSNorm epsilon at 1e-5 (a norm_eps / rms_norm_eps given in the file is used instead).
ModelConfig parse_upstream_config(const std::string& text, const std::string& what) {
    auto doc = parse_json(text, what);
    simdjson::dom::object o;
    if (doc->root.get_object().get(o) != simdjson::SUCCESS) fail_format(what + ": must be a JSON object");
    ModelConfig c;
    c.arch = Architecture::llama;
    c.vocab_size = int_field(o, "vocab_size", what, true, 0);
    c.hidden_dim = int_field(o, "hidden_dim", what, true, 0);
    c.num_layers = int_field(o, "num_layers", what, true, 0);
    c.intermediate_dim = int_field(o, "intermediate_dim", what, false, 4 * int64_t(c.hidden_dim));
    AttentionConfig& a = c.attn;
    a.num_heads = int_field(o, "n_heads", what, true, 0);
    a.num_kv_heads = int_field(o, "n_kv_heads", what, false, a.num_heads);
    if (a.num_heads <= 0 || c.hidden_dim % a.num_heads != 0)
        fail_format(what + ": \"n_heads\" must divide hidden_dim (upstream's head width is hidden_dim / n_heads)");
    a.head_dim = c.hidden_dim / a.num_heads;
    a.max_position = int_field(o, "max_position_embeddings", what, false, 2048);
    json_get_float_opt(o, "rope_theta", what, &a.rope_theta);
    c.norm_eps = 1e-5f;
    if (!json_get_float_opt(o, "norm_eps", what, &c.norm_eps)) json_get_float_opt(o, "rms_norm_eps", what, &c.norm_eps);
    for (const char* key : {"bos_token_id", "bos_id"}) {
        int64_t v = 0;
        if (json_get_int_opt(o, key, what, &v) && v >= 0 && v < c.vocab_size) c.bos_id = int32_t(v);
    }
    for (const char* key : {"eos_token_id", "eos_id"}) {
        int64_t v = 0;
        if (json_get_int_opt(o, key, what, &v) && v >= 0 && v < c.vocab_size) c.eos_id = int32_t(v);
    }
    c.bitlinear_scale = true;  // W = Σ s_b·Q_b: the scales are applied
    c.act_bits = 0;            // upstream's adaptive layers take float activations
    return c;
}

class AdaptiveReader {
public:
    AdaptiveReader(const std::string& path) : path_(path), bytes_(map_file(path)) {
        view_ = parse_safetensors(bytes_.data, bytes_.size, path);
    }

    const TensorView& get(const std::string& name) const {
        const TensorView* t = view_.find(name);
        if (!t) fail_format(path_ + ": tensor '" + name + "' is missing");
        return *t;
    }

    std::vector<float> floats(const std::string& name, std::vector<int64_t> shape) const {
        const TensorView& t = get(name);
        if (t.shape != shape)
            fail_format(path_ + ": tensor '" + name + "' has shape " + shape_string(t.shape) + ", expected " + shape_string(shape));
        if (t.dtype != DType::F32 && t.dtype != DType::F16 && t.dtype != DType::BF16)
            fail_format(path_ + ": tensor '" + name + "' has dtype " + dtype_name(t.dtype) + ", expected a float type");
        std::vector<float> v = tensor_to_f32(t, path_);
        for (size_t i = 0; i < v.size(); ++i)
            if (!std::isfinite(v[i])) fail_format(path_ + ": tensor '" + name + "' holds NaN or Inf at element " + std::to_string(i));
        return v;
    }

    // How many bases `<base>.scales` says (its length), or a clear refusal of a plain (non-adaptive) weight.
    int64_t bases_of(const std::string& base) const {
        const TensorView* s = view_.find(base + ".scales");
        if (!s) {
            if (view_.find(base + ".weight"))
                fail_unsupported(path_ + ": '" + base + ".weight' is a plain BitLinear latent weight; only upstream's adaptive "
                                 "form (weight_packed + scales) is supported (convert the Hugging Face checkpoint instead)");
            fail_format(path_ + ": tensor '" + base + ".scales' is missing");
        }
        if (s->shape.size() != 1 || s->shape[0] < 1 || s->shape[0] > kMaxTernaryBases)
            fail_format(path_ + ": tensor '" + base + ".scales' has shape " + shape_string(s->shape) + ", expected [NB] with NB in 1..8");
        return s->shape[0];
    }

    // The NB bases of one projection [rows, cols] (upstream-spec §3.1): byte (r, c, b) holds base b's codes of
    // columns 4c..4c+3, column 4c+j in bits 2j..2j+1; 01 → +1, 10 → −1, 00 → 0 (11 is never written: refused).
    Projection projection(const std::string& base, int64_t rows, int64_t cols, int64_t nb) const {
        if (cols % 4 != 0) fail_format(path_ + ": '" + base + "': upstream's adaptive form needs in % 4 == 0, in is " + std::to_string(cols));
        const std::vector<float> scales = floats(base + ".scales", {nb});
        const std::string packed_name = base + ".weight_packed";
        const TensorView& t = get(packed_name);
        const std::vector<int64_t> shape{rows, cols / 4, nb};
        if (t.shape != shape)
            fail_format(path_ + ": tensor '" + packed_name + "' has shape " + shape_string(t.shape) + ", expected " + shape_string(shape));
        // Upstream's loader cast a float tensor to u8; any float tensor must then hold whole numbers 0..255.
        std::vector<uint8_t> bytes(size_t(rows * (cols / 4) * nb));
        if (t.dtype == DType::U8) {
            std::copy(t.data, t.data + bytes.size(), bytes.begin());
        } else if (t.dtype == DType::F32 || t.dtype == DType::F16 || t.dtype == DType::BF16) {
            const std::vector<float> v = tensor_to_f32(t, path_);
            for (size_t i = 0; i < v.size(); ++i) {
                if (!(v[i] >= 0.0f && v[i] <= 255.0f && v[i] == std::floor(v[i])))
                    fail_format(path_ + ": tensor '" + packed_name + "' holds " + std::to_string(v[i]) + " at element " +
                                std::to_string(i) + ", not a byte");
                bytes[i] = uint8_t(v[i]);
            }
        } else {
            fail_format(path_ + ": tensor '" + packed_name + "' has dtype " + dtype_name(t.dtype) + ", expected U8");
        }
        std::vector<TernaryMatrix> out;
        std::vector<int8_t> q(size_t(rows * cols));
        for (int64_t b = 0; b < nb; ++b) {
            if (!std::isfinite(scales[size_t(b)]) || scales[size_t(b)] < 0.0f || (b == 0 && !(scales[0] > 0.0f)))
                fail_format(path_ + ": '" + base + ".scales'[" + std::to_string(b) + "] = " + std::to_string(scales[size_t(b)]) +
                            (b == 0 ? " must be positive" : " must be finite and ≥ 0"));
            for (int64_t r = 0; r < rows; ++r)
                for (int64_t c = 0; c < cols; ++c) {
                    const uint8_t byte = bytes[size_t((r * (cols / 4) + c / 4) * nb + b)];
                    const int code = (byte >> (2 * (c % 4))) & 3;
                    if (code == 3)
                        fail_format(path_ + ": tensor '" + packed_name + "' holds the invalid code 11 (row " + std::to_string(r) +
                                    ", column " + std::to_string(c) + ", base " + std::to_string(b) + ")");
                    q[size_t(r * cols + c)] = int8_t(code == 1 ? 1 : code == 2 ? -1 : 0);
                }
            TernaryMatrix m;
            m.rows = int32_t(rows);
            m.cols = int32_t(cols);
            m.scale = scales[size_t(b)];
            m.packed.resize(size_t(rows) * ternary_row_bytes(size_t(cols)));
            pack_ternary_ref(q.data(), size_t(rows), size_t(cols), m.packed.data());
            out.push_back(std::move(m));
        }
        return Projection::from_bases(std::move(out));
    }

private:
    std::string path_;
    FileBytes bytes_;
    SafetensorsView view_;
};

}  // namespace

bool is_upstream_adaptive_dir(const std::string& dir) {
    const std::string path = dir + "/config.json";
    if (!is_directory(dir) || !file_exists(path)) return false;
    try {
        auto doc = parse_json(read_text(path), path);
        simdjson::dom::object o;
        simdjson::dom::element unused;
        std::string arch;
        return doc->root.get_object().get(o) == simdjson::SUCCESS && json_get_string_opt(o, "arch", path, &arch) &&
               arch == "llama" && json_find(o, "n_heads", &unused) && !json_find(o, "num_attention_heads", &unused);
    } catch (const Error&) {
        return false;
    }
}

LoadedModel load_upstream_adaptive(const std::string& dir) {
    const std::string config_path = dir + "/config.json";
    ModelConfig c = parse_upstream_config(read_text(config_path), config_path);
    const std::string weights_path = dir + "/model.safetensors";
    if (!file_exists(weights_path)) fail_io(dir + ": model.safetensors is missing");
    const AdaptiveReader src(weights_path);
    const int64_t V = c.vocab_size, D = c.hidden_dim, I = c.intermediate_dim;
    const int64_t Q = int64_t(c.attn.num_heads) * c.attn.head_dim, KV = int64_t(c.attn.num_kv_heads) * c.attn.head_dim;
    // One base count per model (our format's): the first projection's, and every other must agree.
    const int64_t nb = src.bases_of("model.layers.0.self_attn.q_proj");
    c.attn.ternary_bases = int32_t(nb);
    validate_config(c, config_path);
    ModelWeights w;
    w.config = c;
    w.embed = src.floats("model.embed_tokens.weight", {V, D});
    auto attention = std::make_shared<AttentionWeights>();
    for (int32_t l = 0; l < c.num_layers; ++l) {
        const std::string p = "model.layers." + std::to_string(l) + ".";
        auto proj = [&](const std::string& name, int64_t rows, int64_t cols) {
            const int64_t n = src.bases_of(p + name);
            if (n != nb)
                fail_unsupported(weights_path + ": '" + p + name + "' has " + std::to_string(n) + " bases and q_proj of layer 0 " +
                                 std::to_string(nb) + "; bit_ttt needs one base count per model");
            return src.projection(p + name, rows, cols, nb);
        };
        AttentionLayerWeights L;
        L.input_norm = src.floats(p + "input_layernorm.weight", {D});
        L.post_norm = src.floats(p + "post_attention_layernorm.weight", {D});
        read_layer_projections(L, Q, KV, D, I, proj);
        attention->layers.push_back(std::move(L));
    }
    w.attention = std::move(attention);
    w.norm_f = src.floats("model.norm.weight", {D});
    w.lm_head = src.floats("lm_head.weight", {V, D});  // upstream had no tied embeddings
    w.check_shapes(dir);
    LoadedModel m;
    m.weights = std::move(w);
    m.fingerprint = m.weights.fingerprint();
    if (file_exists(dir + "/tokenizer.json")) m.tokenizer_json = read_text(dir + "/tokenizer.json");
    if (file_exists(dir + "/tokenizer_config.json")) m.tokenizer_config_json = read_text(dir + "/tokenizer_config.json");
    m.source = dir;
    return m;
}

}  // namespace ttt
