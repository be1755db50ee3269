#include "load/config_json.h"

#include "load/attention_tensors.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <limits>

#include "common/error.h"
#include "io/json.h"

namespace ttt {

namespace {

// First present key among aliases; returns false if none.
bool get_int_alias(simdjson::dom::object obj, std::initializer_list<const char*> keys, const std::string& what,
                   int64_t* out, const char** found) {
    for (const char* k : keys)
        if (json_get_int_opt(obj, k, what, out)) {
            *found = k;
            return true;
        }
    return false;
}

int32_t to_i32(int64_t v, const char* field, const std::string& what) {
    if (v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max())
        fail_format(what + ": \"" + field + "\" = " + std::to_string(v) + " is out of range");
    return static_cast<int32_t>(v);
}

int32_t required_int(simdjson::dom::object obj, std::initializer_list<const char*> keys, const std::string& what) {
    int64_t v = 0;
    const char* found = nullptr;
    if (!get_int_alias(obj, keys, what, &v, &found))
        fail_format(what + ": required field \"" + *keys.begin() + "\" is missing");
    return to_i32(v, found, what);
}

}  // namespace

ModelConfig parse_config_object(simdjson::dom::object obj, const std::string& what) {
    std::string arch;
    // Our attention models (load/attention_tensors.h) carry num_attention_heads; upstream HEAD's "llama" configs
    // (its adaptive multi-base files) do not: a directory of those loads through load/upstream_adaptive.h, and
    // such a config anywhere else (a .bitt) is refused below.
    simdjson::dom::element heads;
    if (json_get_string_opt(obj, "arch", what, &arch) && (arch == "llama" || arch == "bitnet") &&
        json_find(obj, "num_attention_heads", &heads))
        return parse_attention_config_object(obj, what);
    if (!arch.empty() && arch != "ttt")
        fail_unsupported(what + ": \"arch\" is \"" + arch + "\" without our attention fields (num_attention_heads ...; "
                         "upstream's converted Llama directories, with n_heads, load as directories only); "
                         "this version runs TTT models (arch \"ttt\") and Llama / BitNet models from Hugging Face "
                         "directories or their .bitt conversions");

    ModelConfig c;
    c.vocab_size = required_int(obj, {"vocab_size"}, what);
    c.hidden_dim = required_int(obj, {"hidden_dim", "hidden_size", "dim"}, what);
    c.num_layers = required_int(obj, {"num_layers", "num_hidden_layers", "n_layers"}, what);
    // Upstream silently defaulted inner_lr to 0 (TTT off, upstream-spec W16); we require it.
    if (!json_get_float_opt(obj, "inner_lr", what, &c.inner_lr)) fail_format(what + ": required field \"inner_lr\" is missing");

    int64_t v = 0;
    const char* found = nullptr;
    // 4·D computed in 64 bits: validate_config rejects it if D is absurd.
    c.intermediate_dim = to_i32(std::min<int64_t>(4 * int64_t(c.hidden_dim), INT32_MAX), "hidden_dim", what);
    if (get_int_alias(obj, {"intermediate_dim", "intermediate_size"}, what, &v, &found)) c.intermediate_dim = to_i32(v, found, what);
    bool b = false;
    if (json_get_bool_opt(obj, "bitlinear_scale", what, &b)) c.bitlinear_scale = b;
    if (json_get_int_opt(obj, "act_bits", what, &v)) c.act_bits = to_i32(v, "act_bits", what);
    if (json_get_int_opt(obj, "ttt_chunk", what, &v)) c.ttt_chunk = to_i32(v, "ttt_chunk", what);
    std::string kind;
    if (json_get_string_opt(obj, "ttt_kind", what, &kind)) {
        if (kind == "delta") c.ttt_kind = TttKind::delta;
        else if (kind != "upstream") fail_format(what + ": \"ttt_kind\" is \"" + kind + "\"; known kinds are \"upstream\" and \"delta\"");
    }
    if (json_get_int_opt(obj, "ttt_heads", what, &v)) c.ttt_heads = to_i32(v, "ttt_heads", what);
    if (json_get_int_opt(obj, "ttt_dim", what, &v)) {
        c.ttt_width = to_i32(v, "ttt_dim", what);
        if (c.ttt_width == 0) fail_format(what + ": \"ttt_dim\" must be in 1..65536, is 0");
    }
    if (!json_get_float_opt(obj, "norm_eps", what, &c.norm_eps)) json_get_float_opt(obj, "rms_norm_eps", what, &c.norm_eps);
    if (get_int_alias(obj, {"bos_id", "bos_token_id"}, what, &v, &found)) c.bos_id = to_i32(v, found, what);
    if (get_int_alias(obj, {"eos_id", "eos_token_id"}, what, &v, &found)) c.eos_id = to_i32(v, found, what);
    validate_config(c, what);
    return c;
}

ModelConfig parse_config_json(std::string_view text, const std::string& what) {
    auto doc = parse_json(text, what);
    simdjson::dom::object obj;
    if (doc->root.get_object().get(obj)) fail_format(what + ": the config must be a JSON object");
    return parse_config_object(obj, what);
}

std::string config_to_json(const ModelConfig& c) {
    if (c.is_attention()) return attention_config_to_json(c);
    char lr[64], eps[64];
    std::snprintf(lr, sizeof lr, "%.9g", static_cast<double>(c.inner_lr));
    std::snprintf(eps, sizeof eps, "%.9g", static_cast<double>(c.norm_eps));
    std::string s = "{\"vocab_size\":" + std::to_string(c.vocab_size) + ",\"hidden_dim\":" + std::to_string(c.hidden_dim) +
                    ",\"num_layers\":" + std::to_string(c.num_layers) + ",\"inner_lr\":" + lr +
                    ",\"arch\":\"ttt\",\"intermediate_dim\":" + std::to_string(c.intermediate_dim) +
                    ",\"bitlinear_scale\":" + (c.bitlinear_scale ? "true" : "false") +
                    ",\"act_bits\":" + std::to_string(c.act_bits) + ",\"ttt_chunk\":" + std::to_string(c.ttt_chunk) +
                    ",\"norm_eps\":" + eps;
    if (c.is_delta()) s += ",\"ttt_kind\":\"delta\",\"ttt_heads\":" + std::to_string(c.ttt_heads);
    // Written only where it differs from the default, so files of the default width stay byte-identical.
    if (c.is_delta() && c.ttt_dim() != c.hidden_dim / 4) s += ",\"ttt_dim\":" + std::to_string(c.ttt_dim());
    if (c.bos_id >= 0) s += ",\"bos_id\":" + std::to_string(c.bos_id);
    if (c.eos_id >= 0) s += ",\"eos_id\":" + std::to_string(c.eos_id);
    return s + "}";
}

}  // namespace ttt
