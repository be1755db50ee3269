#include "load/model_files.h"

#include <cerrno>
#include <cstring>

#include "common/error.h"
#include "load/bitt_model.h"
#include "load/config_json.h"
#include "load/upstream_adaptive.h"
#include "load/hf_checkpoint.h"
#include "io/file.h"
#include "io/mapped_file.h"
#include "load/model_tensors.h"
#include "io/safetensors.h"

namespace ttt {

namespace {

std::string join(const std::string& dir, const std::string& name) {
    return (!dir.empty() && dir.back() == '/') ? dir + name : dir + "/" + name;
}

std::string directory_of(const std::string& path) {
    size_t slash = path.find_last_of('/');
    return slash == std::string::npos ? "." : path.substr(0, slash == 0 ? 1 : slash);
}

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// config.json + a safetensors weights file (+ tokenizer.json when present) in `dir`.
LoadedModel load_from_parts(const std::string& dir, const std::string& weights_path, const LoadOptions& opt) {
    const std::string config_path = join(dir, "config.json");
    if (!file_exists(config_path)) fail_io("model directory '" + dir + "' has no config.json");
    if (!file_exists(weights_path)) fail_io("missing weights file '" + weights_path + "'");
    std::vector<uint8_t> cfg = read_file(config_path);
    LoadedModel m;
    ModelConfig config = parse_config_json(std::string_view(reinterpret_cast<const char*>(cfg.data()), cfg.size()), config_path);
    std::vector<uint8_t> bytes = read_file(weights_path);
    SafetensorsView st = parse_safetensors(bytes.data(), bytes.size(), weights_path);
    m.weights = weights_from_safetensors(config, st, weights_path, opt.progress);
    m.fingerprint = m.weights.fingerprint();
    const std::string tok = join(dir, "tokenizer.json");
    if (file_exists(tok)) {
        std::vector<uint8_t> t = read_file(tok);
        m.tokenizer_json.assign(t.begin(), t.end());
    }
    const std::string tok_config = join(dir, "tokenizer_config.json");  // the chat template, as Hugging Face ships it
    if (file_exists(tok_config)) {
        std::vector<uint8_t> t = read_file(tok_config);
        m.tokenizer_config_json.assign(t.begin(), t.end());
    }
    m.source = dir;
    return m;
}

}  // namespace

namespace {

// Packed ternary weights of a .bitt v2 are used where they lie in the file bytes (mapped: zero copy, shared pages).
LoadedModel load_bitt(FileBytes bytes, const std::string& what, const LoadOptions& opt) {
    BittFile f = parse_bitt(std::move(bytes), what, opt.verify_checksum);
    LoadedModel m;
    m.weights = weights_from_safetensors(bitt_model_config(f, what), f.body, what, opt.progress, f.bytes.owner);
    m.mapped = f.bytes.mapped;
    m.fingerprint = m.weights.fingerprint();
    if (f.format_version >= 2 && f.stored_fingerprint != 0 && f.stored_fingerprint != m.fingerprint)
        fail_format(what + ": the stored fingerprint does not match the weights (the file is corrupted)");
    m.tokenizer_json = std::move(f.tokenizer_json);
    m.tokenizer_config_json = std::move(f.tokenizer_config_json);
    m.source = what;
    m.bitt_version = f.format_version;
    m.checksum_verified = f.checksum_verified;
    return m;
}

}  // namespace

LoadedModel load_model_bitt_bytes(std::vector<uint8_t> bytes, const std::string& what, const LoadOptions& opt) {
    return load_bitt(own_bytes(std::move(bytes)), what, opt);
}

LoadedModel load_model_bitt(const std::string& path, const LoadOptions& opt) { return load_bitt(map_file(path), path, opt); }

LoadedModel load_model_path(const std::string& path, const LoadOptions& opt) {
    if (path.empty()) fail_argument("empty model path");
    if (is_directory(path)) {
        if (is_hf_checkpoint_dir(path)) return load_model_hf(path);  // Llama / BitNet from Hugging Face
        if (is_upstream_adaptive_dir(path)) return load_upstream_adaptive(path);  // upstream's converted Llama
        std::string weights = join(path, "model.safetensors");
        if (!file_exists(weights) && file_exists(join(path, "weight.safetensors"))) weights = join(path, "weight.safetensors");
        return load_from_parts(path, weights, opt);
    }
    const std::string odd = not_a_regular_file(path);
    if (!odd.empty()) fail_io(odd + ": a model is a directory, a .bitt file or a .safetensors file");
    if (!file_exists(path)) fail_io("no model at '" + path + "': " + std::strerror(ENOENT));
    if (ends_with(path, ".safetensors")) return load_from_parts(directory_of(path), path, opt);
    FileBytes bytes = map_file(path);
    if (looks_like_bitt(bytes.data, bytes.size) || ends_with(path, ".bitt")) return load_bitt(std::move(bytes), path, opt);
    fail_format("'" + path + "' is neither a model directory, a .bitt file nor a .safetensors file");
}

void write_model_directory(const std::string& dir, const ModelWeights& w, const std::string& tokenizer_json,
                           const std::string& tokenizer_config_json) {
    make_directory(dir);
    write_file_atomic(join(dir, "model.safetensors"), weights_to_safetensors(w));
    write_file_atomic(join(dir, "config.json"), config_to_json(w.config) + "\n");
    if (!tokenizer_json.empty()) write_file_atomic(join(dir, "tokenizer.json"), tokenizer_json);
    if (!tokenizer_config_json.empty()) write_file_atomic(join(dir, "tokenizer_config.json"), tokenizer_config_json);
}

}  // namespace ttt
