// Random BitLlama models written as real files (config.json + model.safetensors with latent weights and upstream
// names), for tests that need a model of a given shape.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "bit_ttt.h"
#include "load/config_json.h"
#include "io/file.h"
#include "io/safetensors.h"
#include "test_util.h"

namespace ttt_test {

struct FixtureSpec {
    int32_t vocab = 37, dim = 12, layers = 3, intermediate = 0, chunk = 1, act_bits = 0;
    bool scale = false;
    float inner_lr = 0.5f;
    uint32_t seed = 1;
};

inline std::vector<float> random_floats(std::mt19937& rng, size_t n, float mean, float stddev) {
    std::normal_distribution<float> dist(mean, stddev);
    std::vector<float> v(n);
    for (float& x : v) x = dist(rng);
    return v;
}

// Writes a model directory and returns its path.
inline std::string write_fixture_model(const std::filesystem::path& dir, const FixtureSpec& s) {
    std::filesystem::create_directories(dir);
    ttt::ModelConfig c;
    c.vocab_size = s.vocab;
    c.hidden_dim = s.dim;
    c.num_layers = s.layers;
    c.intermediate_dim = s.intermediate ? s.intermediate : 4 * s.dim;
    c.inner_lr = s.inner_lr;
    c.ttt_chunk = s.chunk;
    c.act_bits = s.act_bits;
    c.bitlinear_scale = s.scale;
    std::mt19937 rng(s.seed);
    const int64_t V = s.vocab, D = s.dim, d = s.dim / 4, I = c.intermediate_dim;
    ttt::SafetensorsWriter w;
    w.add_f32("embed.weight", {V, D}, random_floats(rng, size_t(V * D), 0, 1));
    for (int i = 0; i < s.layers; ++i) {
        const std::string p = "layers." + std::to_string(i) + ".";
        w.add_f32(p + "norm1.weight", {D}, random_floats(rng, size_t(D), 1, 0.1f));
        w.add_f32(p + "ttt.down.weight", {d, D}, random_floats(rng, size_t(d * D), 0, 0.5f));
        w.add_f32(p + "ttt.up.weight", {D, d}, random_floats(rng, size_t(D * d), 0, 0.5f));
        w.add_f32(p + "norm2.weight", {D}, random_floats(rng, size_t(D), 1, 0.1f));
        w.add_f32(p + "mlp.gate_proj.weight", {I, D}, random_floats(rng, size_t(I * D), 0, 0.5f));
        w.add_f32(p + "mlp.up_proj.weight", {I, D}, random_floats(rng, size_t(I * D), 0, 0.5f));
        w.add_f32(p + "mlp.down_proj.weight", {D, I}, random_floats(rng, size_t(D * I), 0, 0.5f));
    }
    w.add_f32("norm_f.weight", {D}, random_floats(rng, size_t(D), 1, 0.1f));
    w.add_f32("lm_head.weight", {V, D}, random_floats(rng, size_t(V * D), 0, 0.3f));
    std::vector<uint8_t> bytes = w.finish();
    write_bytes(dir / "model.safetensors", bytes);
    std::string cfg = ttt::config_to_json(c);
    write_bytes(dir / "config.json", std::vector<uint8_t>(cfg.begin(), cfg.end()));
    return dir.string();
}

// RAII holders so a failing CHECK never leaks handles.
struct Model {
    ttt_model* m = nullptr;
    Model() = default;
    explicit Model(const std::string& path) { ttt_load_model(path.c_str(), nullptr, &m); }
    ~Model() { ttt_model_free(m); }
    Model(const Model&) = delete;
    Model& operator=(const Model&) = delete;
    int32_t vocab() const {
        ttt_model_info info;
        info.struct_size = sizeof info;
        ttt_model_get_info(m, &info);
        return info.vocab_size;
    }
};

struct Context {
    ttt_context* c = nullptr;
    explicit Context(ttt_model* m) { ttt_create(m, nullptr, &c); }
    ~Context() { ttt_destroy(c); }
    Context(const Context&) = delete;
    Context& operator=(const Context&) = delete;
};

inline std::vector<int32_t> random_tokens(size_t n, int32_t vocab, uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int32_t> dist(0, vocab - 1);
    std::vector<int32_t> t(n);
    for (auto& x : t) x = dist(rng);
    return t;
}

// Logits at every position of one forward from a fresh soul.
inline std::vector<float> all_logits(ttt_model* m, const std::vector<int32_t>& tokens) {
    Context ctx(m);
    ttt_model_info info;
    info.struct_size = sizeof info;
    ttt_model_get_info(m, &info);
    std::vector<float> out(tokens.size() * size_t(info.vocab_size));
    if (ttt_forward_all(ctx.c, tokens.data(), tokens.size(), out.data()) != TTT_OK) out.clear();
    return out;
}

inline float max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
    if (a.size() != b.size()) return 1e30f;
    float m = 0;
    for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
    return m;
}

}  // namespace ttt_test

namespace ttt_test {

// A random model with a real byte-level BPE tokenizer (tests/data/tokenizer/ttt_bytelevel.json, 1000 tokens,
// trained by our own trainer on the corpus), for tests of text in and text out.
inline std::string write_text_model(const std::filesystem::path& dir, uint32_t seed = 1, int32_t chunk = 1) {
    FixtureSpec spec;
    spec.vocab = 1000;
    spec.dim = 16;
    spec.layers = 2;
    spec.seed = seed;
    spec.chunk = chunk;
    spec.inner_lr = 0.1f;
    const std::string path = write_fixture_model(dir, spec);
    std::filesystem::copy_file(test_data_dir() / "tokenizer" / "ttt_bytelevel.json", dir / "tokenizer.json",
                               std::filesystem::copy_options::overwrite_existing);
    return path;
}

}  // namespace ttt_test
