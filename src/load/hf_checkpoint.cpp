#include "load/hf_checkpoint.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <set>

#include "common/error.h"
#include "cpu/ternary_ref.h"
#include "io/file.h"
#include "io/json.h"
#include "io/mapped_file.h"
#include "io/safetensors.h"
#include "model/attention_weights.h"
#include "model/ternarise.h"

namespace ttt {

namespace {

std::string read_text(const std::string& path) {
    const std::vector<uint8_t> bytes = read_file(path);
    return std::string(bytes.begin(), bytes.end());
}

int32_t get_int(simdjson::dom::object o, const char* key, const std::string& what, bool required, int32_t fallback) {
    int64_t v = 0;
    if (!json_get_int_opt(o, key, what, &v)) {
        if (required) fail_format(what + ": required field \"" + key + "\" is missing");
        return fallback;
    }
    if (v < INT32_MIN || v > INT32_MAX) fail_format(what + ": \"" + key + "\" = " + std::to_string(v) + " is out of range");
    return int32_t(v);
}

// A token id given as a number or a list of numbers (the first is taken); -1 when absent or null.
int32_t get_token_id(simdjson::dom::object o, const char* key, const std::string& what) {
    simdjson::dom::element e;
    if (!json_find(o, key, &e) || e.is_null()) return -1;
    simdjson::dom::array list;
    if (e.get_array().get(list) == simdjson::SUCCESS) {
        for (simdjson::dom::element item : list) {
            int64_t v = 0;
            if (item.get_int64().get(v) != simdjson::SUCCESS) fail_format(what + ": \"" + key + "\" must hold integers");
            return v >= 0 && v <= INT32_MAX ? int32_t(v) : -1;
        }
        return -1;
    }
    return get_int(o, key, what, false, -1);
}

// Token ids given as a number or a list of numbers (generation_config.json lists several end tokens); ids outside
// the vocabulary are dropped with nothing else changed (a checkpoint may name a token its vocab lacks).
std::vector<int32_t> get_token_ids(simdjson::dom::object o, const char* key, const std::string& what, int32_t vocab) {
    simdjson::dom::element e;
    std::vector<int32_t> ids;
    if (!json_find(o, key, &e) || e.is_null()) return ids;
    auto take = [&](simdjson::dom::element item) {
        int64_t v = 0;
        if (item.get_int64().get(v) != simdjson::SUCCESS) fail_format(what + ": \"" + key + "\" must be a token id or a list of them");
        if (v >= 0 && v < vocab && std::find(ids.begin(), ids.end(), int32_t(v)) == ids.end()) ids.push_back(int32_t(v));
    };
    simdjson::dom::array list;
    if (e.get_array().get(list) == simdjson::SUCCESS) {
        for (simdjson::dom::element item : list) take(item);
    } else {
        take(e);
    }
    return ids;
}

// End tokens: the first id is eos_id, the others end_ids.
void set_end_tokens(ModelConfig& c, const std::vector<int32_t>& ids) {
    c.eos_id = ids.empty() ? -1 : ids[0];
    c.end_ids.assign(ids.begin() + (ids.empty() ? 0 : 1), ids.end());
}

// rope_theta and rope_scaling (transformers < 5) or rope_parameters (transformers 5).
void parse_rope(simdjson::dom::object o, const std::string& what, AttentionConfig* a) {
    simdjson::dom::element e;
    simdjson::dom::object scaling;
    bool have_scaling = false;
    if (json_find(o, "rope_parameters", &e) && !e.is_null()) {
        if (e.get_object().get(scaling) != simdjson::SUCCESS) fail_format(what + ": \"rope_parameters\" must be an object");
        have_scaling = true;
        json_get_float_opt(scaling, "rope_theta", what, &a->rope_theta);
    }
    json_get_float_opt(o, "rope_theta", what, &a->rope_theta);
    if (json_find(o, "rope_scaling", &e) && !e.is_null()) {
        if (e.get_object().get(scaling) != simdjson::SUCCESS) fail_format(what + ": \"rope_scaling\" must be an object or null");
        have_scaling = true;
    }
    if (!have_scaling) return;
    std::string type = "default";
    if (!json_get_string_opt(scaling, "rope_type", what, &type)) json_get_string_opt(scaling, "type", what, &type);
    if (type == "default") return;
    if (type != "llama3")
        fail_unsupported(what + ": rope scaling \"" + type + "\" is not supported (supported: default, llama3)");
    a->rope_llama3 = true;
    if (!json_get_float_opt(scaling, "factor", what, &a->rope_factor)) fail_format(what + ": llama3 rope scaling needs \"factor\"");
    json_get_float_opt(scaling, "low_freq_factor", what, &a->rope_low_freq_factor);
    json_get_float_opt(scaling, "high_freq_factor", what, &a->rope_high_freq_factor);
    a->rope_original_max_position = get_int(scaling, "original_max_position_embeddings", what, true, 0);
}

// The tensors of every file of the checkpoint, by name.
class TensorSource {
public:
    TensorSource(const std::string& dir) : dir_(dir) {
        const std::string index_path = dir + "/model.safetensors.index.json";
        if (file_exists(index_path)) open_index(index_path);
        else if (file_exists(dir + "/model.safetensors")) open_file("model.safetensors", nullptr);
        else fail_format(dir + ": no model.safetensors or model.safetensors.index.json");
    }

    bool has(const std::string& name) const { return tensors_.count(name) != 0; }

    const TensorView& get(const std::string& name) const {
        auto it = tensors_.find(name);
        if (it == tensors_.end()) fail_format(dir_ + ": tensor '" + name + "' is missing");
        return *it->second.view;
    }

    std::string where(const std::string& name) const { return dir_ + "/" + tensors_.at(name).file; }

    // A float tensor of the given shape, as f32.
    std::vector<float> floats(const std::string& name, std::vector<int64_t> shape) const {
        const TensorView& t = get(name);
        if (t.shape != shape)
            fail_format(where(name) + ": tensor '" + name + "' has shape " + shape_string(t.shape) + ", expected " +
                        shape_string(shape));
        if (t.dtype != DType::F32 && t.dtype != DType::F16 && t.dtype != DType::BF16)
            fail_format(where(name) + ": tensor '" + name + "' has dtype " + dtype_name(t.dtype) + ", expected a float type");
        return tensor_to_f32(t, where(name));
    }

    // A BF16 tensor of the given shape, its bits as they are (NaN and Inf refused).
    std::vector<uint16_t> bf16(const std::string& name, std::vector<int64_t> shape) const {
        const TensorView& t = get(name);
        if (t.shape != shape || t.dtype != DType::BF16)
            fail_format(where(name) + ": tensor '" + name + "' is " + dtype_name(t.dtype) + " " + shape_string(t.shape) +
                        ", expected BF16 " + shape_string(shape));
        std::vector<uint16_t> v(t.n_elements);
        std::memcpy(v.data(), t.data, t.n_bytes);
        for (size_t i = 0; i < v.size(); ++i)
            if ((v[i] & 0x7F80) == 0x7F80) fail_format(where(name) + ": tensor '" + name + "' holds NaN or Inf at element " + std::to_string(i));
        return v;
    }

private:
    struct Entry {
        const TensorView* view;
        std::string file;
    };

    void open_index(const std::string& path) {
        const std::string what = path;
        auto doc = parse_json(read_text(path), what);
        simdjson::dom::object root, map;
        if (doc->root.get_object().get(root) != simdjson::SUCCESS) fail_format(what + ": must be a JSON object");
        simdjson::dom::element e;
        if (!json_find(root, "weight_map", &e) || e.get_object().get(map) != simdjson::SUCCESS)
            fail_format(what + ": \"weight_map\" (an object of tensor name to shard file) is missing");
        std::map<std::string, std::string> listed;
        for (auto field : map) {
            std::string_view file;
            if (field.value.get_string().get(file) != simdjson::SUCCESS)
                fail_format(what + ": the shard of '" + std::string(field.key) + "' must be a file name");
            listed[std::string(field.key)] = std::string(file);
        }
        if (listed.empty()) fail_format(what + ": \"weight_map\" is empty");
        std::set<std::string> files;
        for (const auto& [name, file] : listed) files.insert(file);
        for (const std::string& file : files) open_file(file, &what);
        for (const auto& [name, file] : listed) {
            auto it = tensors_.find(name);
            if (it == tensors_.end() || it->second.file != file)
                fail_format(what + ": lists tensor '" + name + "' in " + file + ", which does not hold it");
        }
    }

    void open_file(const std::string& file, const std::string* index) {
        // Shard names come from the (untrusted) index: plain names inside the directory only.
        if (file.empty() || file.find('/') != std::string::npos || file.find('\\') != std::string::npos || file == "." ||
            file == "..")
            fail_format(*index + ": shard name '" + file + "' is not a plain file name in the directory");
        const std::string path = dir_ + "/" + file;
        if (!file_exists(path))
            fail_format((index ? *index + ": shard " : std::string("file ")) + file + " is missing from " + dir_);
        files_.push_back(std::make_unique<File>());
        File& f = *files_.back();
        f.bytes = map_file(path);
        f.view = parse_safetensors(f.bytes.data, f.bytes.size, path);
        for (const TensorView& t : f.view.tensors) {
            if (tensors_.count(t.name))
                fail_format(path + ": tensor '" + t.name + "' is also in " + tensors_[t.name].file);
            tensors_[t.name] = Entry{&t, file};
        }
    }

    struct File {
        FileBytes bytes;
        SafetensorsView view;
    };
    std::string dir_;
    std::vector<std::unique_ptr<File>> files_;
    std::map<std::string, Entry> tensors_;
};

// The packed forms (transformers' integrations/bitnet.py, pack_weights): uint8 [ceil(rows/4), cols], value + 1 in
// two bits, row r at byte row r mod R, bits 2·(r div R), R = ceil(rows/4). AutoBitLinear checkpoints may instead
// hold the ternary values themselves as floats [rows, cols]. BitLinear divides by weight_scale, AutoBitLinear
// multiplies.
TernaryMatrix read_packed(const TensorSource& src, const std::string& name, int32_t rows, int32_t cols, BitNetWeights form) {
    const TensorView& t = src.get(name);
    const int64_t R = (int64_t(rows) + 3) / 4;
    std::vector<int8_t> q(size_t(rows) * size_t(cols));
    if (t.dtype == DType::U8 && t.shape == std::vector<int64_t>{R, cols}) {
        for (int64_t r = 0; r < rows; ++r)
            for (int64_t c = 0; c < cols; ++c) {
                const int code = (t.data[size_t((r % R) * cols + c)] >> (2 * (r / R))) & 3;
                if (code == 3) fail_format(src.where(name) + ": packed tensor '" + name + "' holds the invalid code 3");
                q[size_t(r * cols + c)] = int8_t(code - 1);
            }
    } else if (form == BitNetWeights::autobitlinear && t.shape == std::vector<int64_t>{rows, cols}) {
        const std::vector<float> v = src.floats(name, {rows, cols});
        for (size_t i = 0; i < v.size(); ++i) {
            if (v[i] != -1.0f && v[i] != 0.0f && v[i] != 1.0f)
                fail_format(src.where(name) + ": tensor '" + name + "' of an offline AutoBitLinear checkpoint must hold "
                            "ternary values (-1, 0, 1), found " + std::to_string(v[i]));
            q[i] = int8_t(v[i]);
        }
    } else {
        fail_format(src.where(name) + ": packed tensor '" + name + "' is " + dtype_name(t.dtype) + " " +
                    shape_string(t.shape) + ", expected U8 " + shape_string({R, cols}) +
                    (form == BitNetWeights::autobitlinear ? " or ternary floats " + shape_string({rows, cols}) : std::string()));
    }
    const std::string scale_name = name.substr(0, name.size() - std::string("weight").size()) + "weight_scale";
    const std::vector<float> ws = src.floats(scale_name, {1});
    if (!(ws[0] > 0.0f) || !std::isfinite(ws[0])) fail_format(src.where(scale_name) + ": '" + scale_name + "' must be positive");
    TernaryMatrix m;
    m.rows = rows;
    m.cols = cols;
    m.scale = form == BitNetWeights::bitlinear ? 1.0f / ws[0] : ws[0];
    m.packed.resize(size_t(rows) * ternary_row_bytes(size_t(cols)));
    pack_ternary_ref(q.data(), size_t(rows), size_t(cols), m.packed.data());
    return m;
}

}  // namespace

bool is_hf_checkpoint_dir(const std::string& dir) {
    const std::string path = dir + "/config.json";
    if (!is_directory(dir) || !file_exists(path)) return false;
    try {
        auto doc = parse_json(read_text(path), path);
        simdjson::dom::object o;
        simdjson::dom::element e, unused;
        simdjson::dom::array archs;
        std::string_view first;
        if (doc->root.get_object().get(o) != simdjson::SUCCESS || json_find(o, "inner_lr", &unused)) return false;
        if (!json_find(o, "architectures", &e) || e.get_array().get(archs) != simdjson::SUCCESS || archs.size() == 0)
            return false;
        if (archs.at(0).get_string().get(first) != simdjson::SUCCESS) return false;
        const std::string_view suffix = "ForCausalLM";
        return first.size() > suffix.size() && first.substr(first.size() - suffix.size()) == suffix;
    } catch (const Error&) {
        return false;
    }
}

ModelConfig parse_hf_config(const std::string& text, const std::string& what, std::string* architecture,
                            BitNetWeights* bitnet_weights) {
    auto doc = parse_json(text, what);
    simdjson::dom::object o;
    if (doc->root.get_object().get(o) != simdjson::SUCCESS) fail_format(what + ": must be a JSON object");
    simdjson::dom::element e;
    simdjson::dom::array archs;
    std::string_view arch;
    if (!json_find(o, "architectures", &e) || e.get_array().get(archs) != simdjson::SUCCESS || archs.size() == 0 ||
        archs.at(0).get_string().get(arch) != simdjson::SUCCESS)
        fail_format(what + ": \"architectures\" must be a list naming the model class");
    *architecture = std::string(arch);
    ModelConfig c;
    if (arch == "LlamaForCausalLM") c.arch = Architecture::llama;
    else if (arch == "BitNetForCausalLM") c.arch = Architecture::bitnet;
    else fail_unsupported(what + ": architecture \"" + std::string(arch) + "\" is not supported (LlamaForCausalLM, BitNetForCausalLM)");
    const bool bitnet = c.arch == Architecture::bitnet;

    c.vocab_size = get_int(o, "vocab_size", what, true, 0);
    c.hidden_dim = get_int(o, "hidden_size", what, true, 0);
    c.num_layers = get_int(o, "num_hidden_layers", what, true, 0);
    c.intermediate_dim = get_int(o, "intermediate_size", what, true, 0);
    AttentionConfig& a = c.attn;
    a.num_heads = get_int(o, "num_attention_heads", what, true, 0);
    a.num_kv_heads = get_int(o, "num_key_value_heads", what, false, a.num_heads);
    a.head_dim = a.num_heads > 0 ? c.hidden_dim / a.num_heads : 0;
    simdjson::dom::element hd;
    if (json_find(o, "head_dim", &hd) && !hd.is_null()) a.head_dim = get_int(o, "head_dim", what, true, 0);
    a.max_position = get_int(o, "max_position_embeddings", what, false, 2048);
    float eps = 1e-6f;
    json_get_float_opt(o, "rms_norm_eps", what, &eps);
    c.norm_eps = eps;
    parse_rope(o, what, &a);
    bool tie = false;
    json_get_bool_opt(o, "tie_word_embeddings", what, &tie);
    a.tie_embeddings = tie;
    for (const char* key : {"attention_bias", "mlp_bias"}) {
        bool b = false;
        if (json_get_bool_opt(o, key, what, &b) && b) fail_unsupported(what + ": \"" + key + "\": true (biases) is not supported");
    }
    std::string act = bitnet ? "relu2" : "silu";
    json_get_string_opt(o, "hidden_act", what, &act);
    if (act != (bitnet ? "relu2" : "silu"))
        fail_unsupported(what + ": \"hidden_act\" \"" + act + "\" is not supported for " + std::string(arch) + " (" +
                         (bitnet ? "relu2" : "silu") + ")");
    if (bitnet && a.num_heads * a.head_dim != c.hidden_dim)
        fail_format(what + ": BitNet needs num_attention_heads · head_dim = hidden_size (its attn_sub_norm is hidden_size wide)");
    // BitNet b1.58: y = s·Q·x on per-token int8 activations.
    c.bitlinear_scale = bitnet;
    c.act_bits = bitnet ? 8 : 0;
    c.inner_lr = 0.0f;
    c.bos_id = get_token_id(o, "bos_token_id", what);
    if (c.bos_id >= c.vocab_size) c.bos_id = -1;
    set_end_tokens(c, get_token_ids(o, "eos_token_id", what, c.vocab_size));

    *bitnet_weights = BitNetWeights::master;
    simdjson::dom::element qe;
    simdjson::dom::object qc;
    if (json_find(o, "quantization_config", &qe) && qe.get_object().get(qc) == simdjson::SUCCESS) {
        std::string method, linear_class, mode = "offline";
        json_get_string_opt(qc, "quant_method", what, &method);
        json_get_string_opt(qc, "linear_class", what, &linear_class);
        json_get_string_opt(qc, "quantization_mode", what, &mode);
        if (method != "bitnet" || !bitnet)
            fail_unsupported(what + ": quantization \"" + method + "\" is not supported");
        if (linear_class == "autobitlinear" && mode == "online") *bitnet_weights = BitNetWeights::master;
        else if (linear_class == "autobitlinear" && mode == "offline") *bitnet_weights = BitNetWeights::autobitlinear;
        else if ((linear_class.empty() || linear_class == "bitlinear") && mode == "offline") *bitnet_weights = BitNetWeights::bitlinear;
        else fail_unsupported(what + ": BitNet linear_class \"" + linear_class + "\" / mode \"" + mode + "\" is not supported");
    }
    validate_config(c, what);
    return c;
}

struct HfReader::Impl {
    std::string dir;
    ModelConfig config;
    std::string architecture;
    BitNetWeights form = BitNetWeights::master;
    Ternarise ternarise;
    std::unique_ptr<TensorSource> src;
};

HfReader::HfReader(const std::string& dir, const Ternarise& ternarise, FloatProjections floats)
    : impl_(std::make_unique<Impl>()) {
    Impl& m = *impl_;
    m.dir = dir;
    m.ternarise = ternarise;
    const std::string config_path = dir + "/config.json";
    if (!file_exists(config_path)) fail_io(dir + ": config.json is missing");
    m.config = parse_hf_config(read_text(config_path), config_path, &m.architecture, &m.form);
    if (ternarise.method != Ternarise::Method::none) {
        if (m.config.arch != Architecture::llama)
            fail_argument(dir + ": ternarising applies to float LlamaForCausalLM checkpoints; this is " + m.architecture +
                          (m.config.arch == Architecture::bitnet ? " (already ternary)" : ""));
        if (ternarise.method == Ternarise::Method::multibase && (ternarise.bases < 1 || ternarise.bases > kMaxTernaryBases))
            fail_argument("multibase ternarisation takes 1.." + std::to_string(kMaxTernaryBases) + " bases, not " +
                          std::to_string(ternarise.bases));
        m.config.attn.ternary_bases = ternarise.method == Ternarise::Method::absmean ? 1 : ternarise.bases;
        m.config.bitlinear_scale = true;  // y = Σ_b s_b·Q_b·x, float activations (act_bits 0)
    }
    // generation_config.json (what transformers' generate uses): its bos and end tokens win where present.
    const std::string gen_path = dir + "/generation_config.json";
    if (file_exists(gen_path)) {
        auto doc = parse_json(read_text(gen_path), gen_path);
        simdjson::dom::object o;
        if (doc->root.get_object().get(o) != simdjson::SUCCESS) fail_format(gen_path + ": must be a JSON object");
        simdjson::dom::element e;
        if (json_find(o, "eos_token_id", &e) && !e.is_null())
            set_end_tokens(m.config, get_token_ids(o, "eos_token_id", gen_path, m.config.vocab_size));
        const std::vector<int32_t> bos = get_token_ids(o, "bos_token_id", gen_path, m.config.vocab_size);
        if (!bos.empty()) m.config.bos_id = bos[0];
    }
    m.src = std::make_unique<TensorSource>(dir);
    // Tied per config; an untied config without lm_head.weight is refused (a tied one that still ships it uses it).
    if (m.src->has("lm_head.weight")) m.config.attn.tie_embeddings = false;
    else if (!m.config.attn.tie_embeddings)
        fail_format(dir + ": tensor 'lm_head.weight' is missing (and tie_word_embeddings is false)");
    // A bf16 embedding stays bf16 (its bits: exact, 2 bytes per weight, and a tied LM head reads the same table);
    // f32 and f16 ones are held as f32 (narrowing f16 would change the model; an f32 one is the checkpoint's choice).
    m.config.attn.bf16_embedding =
        m.src->has("model.embed_tokens.weight") && m.src->get("model.embed_tokens.weight").dtype == DType::BF16;
    // So does an untied bf16 LM head.
    m.config.attn.bf16_lm_head = !m.config.attn.tie_embeddings && m.src->get("lm_head.weight").dtype == DType::BF16;
    // A float Llama whose projections are all bf16 keeps them bf16 (exact, 2 bytes per weight); f32 and f16 ones
    // are held as f32 (f16 has 3 more mantissa bits than bf16: narrowing would change the model).
    if (m.config.arch == Architecture::llama && m.config.attn.ternary_bases == 0) {
        bool all_bf16 = true;
        for (int32_t l = 0; l < m.config.num_layers && all_bf16; ++l)
            for (const char* name : {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
                                     "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"}) {
                const std::string full = "model.layers." + std::to_string(l) + "." + name + ".weight";
                all_bf16 = all_bf16 && m.src->has(full) && m.src->get(full).dtype == DType::BF16;
            }
        m.config.attn.bf16_projections = all_bf16 || floats == FloatProjections::bf16;
    } else if (floats == FloatProjections::bf16) {
        fail_argument(dir + ": bf16 projections are for float Llama checkpoints (not " +
                      (m.config.attn.ternary_bases ? std::string("ternarised ones") : m.architecture) + ")");
    }
}

HfReader::~HfReader() = default;
const ModelConfig& HfReader::config() const { return impl_->config; }
const std::string& HfReader::architecture() const { return impl_->architecture; }
BitNetWeights HfReader::bitnet_weights() const { return impl_->form; }

std::vector<float> HfReader::embed() const {
    return impl_->src->floats("model.embed_tokens.weight", {impl_->config.vocab_size, impl_->config.hidden_dim});
}
namespace {

// A BF16 [V, D] table: a copy, or a view into the mapped checkpoint (aligned); dtype, shape, NaN and Inf checked.
Bf16Tensor bf16_table(const TensorSource& src, const ModelConfig& c, const std::string& name, bool in_place) {
    const std::vector<int64_t> shape = {c.vocab_size, c.hidden_dim};
    const TensorView& t = src.get(name);
    if (!in_place || t.dtype != DType::BF16 || reinterpret_cast<uintptr_t>(t.data) % alignof(uint16_t) != 0)
        return src.bf16(name, shape);  // checks dtype, shape, NaN and Inf
    if (t.shape != shape)
        fail_format(src.where(name) + ": tensor '" + name + "' is BF16 " + shape_string(t.shape) + ", expected BF16 " +
                    shape_string(shape));
    const auto* v = reinterpret_cast<const uint16_t*>(t.data);
    for (size_t i = 0; i < t.n_elements; ++i)
        if ((v[i] & 0x7F80) == 0x7F80)
            fail_format(src.where(name) + ": tensor '" + name + "' holds NaN or Inf at element " + std::to_string(i));
    return Bf16Tensor::in_place(v, t.n_elements);
}

}  // namespace

Bf16Tensor HfReader::embed_bf16(bool in_place) const {
    return bf16_table(*impl_->src, impl_->config, "model.embed_tokens.weight", in_place);
}
Bf16Tensor HfReader::lm_head_bf16(bool in_place) const {
    return bf16_table(*impl_->src, impl_->config, "lm_head.weight", in_place);
}
std::vector<float> HfReader::norm_f() const { return impl_->src->floats("model.norm.weight", {impl_->config.hidden_dim}); }
std::vector<float> HfReader::lm_head() const {
    if (impl_->config.attn.tie_embeddings) return {};
    return impl_->src->floats("lm_head.weight", {impl_->config.vocab_size, impl_->config.hidden_dim});
}

AttentionLayerWeights HfReader::layer(int32_t l) const {
    const ModelConfig& c = impl_->config;
    const TensorSource& src = *impl_->src;
    const bool bitnet = c.arch == Architecture::bitnet;
    const BitNetWeights form = impl_->form;
    const int64_t D = c.hidden_dim, I = c.intermediate_dim;
    const int64_t Q = int64_t(c.attn.num_heads) * c.attn.head_dim, KV = int64_t(c.attn.num_kv_heads) * c.attn.head_dim;
    const std::string p = "model.layers." + std::to_string(l) + ".";
    // From the file's floats (or BitNet's packed form): ternary when the architecture or the converter says, else f32.
    auto from_floats = [&](const std::string& name, int64_t rows, int64_t cols) {
        const std::string full = p + name + ".weight";
        if (bitnet && form != BitNetWeights::master)
            return Projection::from_ternary(read_packed(src, full, int32_t(rows), int32_t(cols), form));
        std::vector<float> w = src.floats(full, {rows, cols});
        const Ternarise& t = impl_->ternarise;
        if (bitnet || t.method == Ternarise::Method::absmean)
            return Projection::from_ternary(ternarise_absmean(w.data(), int32_t(rows), int32_t(cols)));
        if (t.method == Ternarise::Method::multibase)
            return Projection::from_bases(ternarise_multibase(w.data(), int32_t(rows), int32_t(cols), t.bases));
        return Projection::from_dense(std::move(w), int32_t(rows), int32_t(cols));
    };
    // As held: bf16 when the config says (the file's bf16 bits, or f32 / f16 rounded on request), else from_floats.
    auto projection = [&](const std::string& name, int64_t rows, int64_t cols) {
        const std::string full = p + name + ".weight";
        if (c.attn.bf16_projections && src.get(full).dtype == DType::BF16)
            return Projection::from_bf16(src.bf16(full, {rows, cols}), int32_t(rows), int32_t(cols));
        if (c.attn.bf16_projections) {  // asked for: f32 / f16 rounded to bf16
            const std::vector<float> w = src.floats(full, {rows, cols});
            std::vector<uint16_t> b(w.size());
            for (size_t i = 0; i < w.size(); ++i) b[i] = float_to_bf16(w[i]);
            for (size_t i = 0; i < b.size(); ++i)
                if ((b[i] & 0x7F80) == 0x7F80)
                    fail_format(src.where(full) + ": tensor '" + full + "' overflows bfloat16 at element " + std::to_string(i));
            return Projection::from_bf16(std::move(b), int32_t(rows), int32_t(cols));
        }
        return from_floats(name, rows, cols);
    };
    AttentionLayerWeights L;
    L.input_norm = src.floats(p + "input_layernorm.weight", {D});
    L.post_norm = src.floats(p + "post_attention_layernorm.weight", {D});
    read_layer_projections(L, Q, KV, D, I, projection);
    if (bitnet) {
        L.attn_sub_norm = src.floats(p + "self_attn.attn_sub_norm.weight", {Q});
        L.ffn_sub_norm = src.floats(p + "mlp.ffn_sub_norm.weight", {I});
    }
    return L;
}

HfCheckpoint load_hf_checkpoint(const std::string& dir, const Ternarise& ternarise, FloatProjections floats) {
    HfCheckpoint out;
    const HfReader reader(dir, ternarise, floats);
    out.architecture = reader.architecture();
    out.bitnet_weights = reader.bitnet_weights();
    ModelWeights& w = out.weights;
    w.config = reader.config();
    if (w.config.attn.bf16_embedding) w.embed_bf16 = reader.embed_bf16();
    else w.embed = reader.embed();
    w.norm_f = reader.norm_f();
    if (w.config.attn.bf16_lm_head) w.lm_head_bf16 = reader.lm_head_bf16();
    else w.lm_head = reader.lm_head();
    auto attention = std::make_shared<AttentionWeights>();
    for (int32_t l = 0; l < w.config.num_layers; ++l) attention->layers.push_back(reader.layer(l));
    w.attention = std::move(attention);
    w.check_shapes(dir);
    if (file_exists(dir + "/tokenizer.json")) out.tokenizer_json = read_text(dir + "/tokenizer.json");
    if (file_exists(dir + "/tokenizer_config.json")) out.tokenizer_config_json = read_text(dir + "/tokenizer_config.json");
    return out;
}

LoadedModel load_model_hf(const std::string& dir) {
    HfCheckpoint ck = load_hf_checkpoint(dir);
    LoadedModel m;
    m.weights = std::move(ck.weights);
    m.tokenizer_json = std::move(ck.tokenizer_json);
    m.tokenizer_config_json = std::move(ck.tokenizer_config_json);  // the chat template and special tokens
    m.fingerprint = m.weights.fingerprint();
    m.source = dir;
    return m;
}

}  // namespace ttt
