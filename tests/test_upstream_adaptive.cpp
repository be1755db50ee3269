// Upstream's converted Llama directories (its "adaptive" multi-base files, upstream-spec §1.4, §2.4, §3.1) load as
// our multi-base ternary Llama. The files are written here the way upstream's convert_llama_v2.py writes them
// (upstream's fit, its [out, in/4, NB] byte layout with (q + 3) mod 3 codes, FP16 norms / embedding / LM head,
// its config field names) from a tiny float checkpoint of tests/data/hf.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "backend/cpu_backend.h"
#include "common/error.h"
#include "cpu/ternary_ref.h"
#include "io/file.h"
#include "io/safetensors.h"
#include "load/bitt_model.h"
#include "load/hf_checkpoint.h"
#include "load/model_files.h"
#include "model/attention_weights.h"
#include "model/forward.h"
#include "model/ternarise.h"
#include "attention_prefill.h"
#include "test_util.h"

using namespace ttt;
namespace fs = std::filesystem;

namespace {

const char* const kProjections[] = {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
                                    "mlp.gate_proj",    "mlp.up_proj",      "mlp.down_proj"};

const Projection& projection(const AttentionLayerWeights& L, size_t i) {
    const Projection* all[] = {&L.q, &L.k, &L.v, &L.o, &L.gate, &L.up, &L.down};
    return *all[i];
}

// upstream's pack_2bit: [out, in/4, NB] bytes, column 4c+j of base b in bits 2j..2j+1 of byte (r, c, b).
std::vector<uint8_t> pack_upstream(const std::vector<std::vector<int8_t>>& bases, size_t rows, size_t cols) {
    const size_t nb = bases.size();
    std::vector<uint8_t> out(rows * (cols / 4) * nb, 0);
    for (size_t b = 0; b < nb; ++b)
        for (size_t r = 0; r < rows; ++r)
            for (size_t c = 0; c < cols; ++c) {
                const int code = (bases[b][r * cols + c] + 3) % 3;  // −1 → 2, 0 → 0, +1 → 1
                out[(r * (cols / 4) + c / 4) * nb + b] |= uint8_t(code << (2 * (c % 4)));
            }
    return out;
}

std::vector<uint16_t> to_f16(const float* v, size_t n) {
    std::vector<uint16_t> h(n);
    for (size_t i = 0; i < n; ++i) h[i] = float_to_half(v[i]);
    return h;
}

struct UpstreamFile {
    // Called with each tensor before it is added (name, dtype, shape, bytes) to break the file on purpose.
    std::function<void(std::string&, DType&, std::vector<int64_t>&, std::vector<uint8_t>&)> edit;
    std::string extra_config;
};

// Writes upstream's directory for the float checkpoint `w` with `nb` bases.
void write_upstream(const fs::path& dir, const ModelWeights& w, int64_t nb, const UpstreamFile& f = {}) {
    fs::create_directories(dir);
    const ModelConfig& c = w.config;
    std::ofstream(dir / "config.json", std::ios::trunc)
        << "{\"arch\":\"llama\",\"vocab_size\":" << c.vocab_size << ",\"hidden_dim\":" << c.hidden_dim
        << ",\"num_layers\":" << c.num_layers << ",\"n_heads\":" << c.attn.num_heads << ",\"n_kv_heads\":" << c.attn.num_kv_heads
        << ",\"intermediate_dim\":" << c.intermediate_dim << ",\"inner_lr\":0.0,\"n_gpu_layers\":0,\"rope_theta\":"
        << c.attn.rope_theta << ",\"max_position_embeddings\":" << c.attn.max_position << ",\"lm_head_cpu\":true,\"norm_eps\":"
        << c.norm_eps << f.extra_config << "}";
    SafetensorsWriter st;
    auto add = [&](std::string name, DType dtype, std::vector<int64_t> shape, std::vector<uint8_t> bytes) {
        if (f.edit) f.edit(name, dtype, shape, bytes);
        if (!name.empty()) st.add(name, dtype, shape, bytes.data(), bytes.size());
    };
    auto add_f16 = [&](const std::string& name, std::vector<int64_t> shape, const float* v, size_t n) {
        const std::vector<uint16_t> h = to_f16(v, n);
        const auto* p = reinterpret_cast<const uint8_t*>(h.data());
        add(name, DType::F16, std::move(shape), std::vector<uint8_t>(p, p + n * 2));
    };
    const int64_t V = c.vocab_size, D = c.hidden_dim;
    add_f16("model.embed_tokens.weight", {V, D}, w.embed.data(), w.embed.size());
    for (int32_t l = 0; l < c.num_layers; ++l) {
        const AttentionLayerWeights& L = w.attention->layers[size_t(l)];
        const std::string p = "model.layers." + std::to_string(l) + ".";
        add_f16(p + "input_layernorm.weight", {D}, L.input_norm.data(), L.input_norm.size());
        add_f16(p + "post_attention_layernorm.weight", {D}, L.post_norm.data(), L.post_norm.size());
        for (size_t i = 0; i < 7; ++i) {
            const Projection& pr = projection(L, i);
            const std::vector<TernaryMatrix> fit = ternarise_multibase(pr.dense.data(), pr.rows, pr.cols, int32_t(nb), MultiBaseFit::upstream);
            std::vector<std::vector<int8_t>> q;
            std::vector<float> scales;
            for (const TernaryMatrix& m : fit) {
                q.emplace_back(size_t(pr.rows) * size_t(pr.cols));
                unpack_ternary_ref(m.data(), size_t(pr.rows), size_t(pr.cols), q.back().data());
                scales.push_back(m.scale);
            }
            add(p + kProjections[i] + ".weight_packed", DType::U8, {pr.rows, pr.cols / 4, nb},
                pack_upstream(q, size_t(pr.rows), size_t(pr.cols)));
            const auto* s = reinterpret_cast<const uint8_t*>(scales.data());
            add(p + kProjections[i] + ".scales", DType::F32, {nb}, std::vector<uint8_t>(s, s + scales.size() * 4));
        }
    }
    add_f16("model.norm.weight", {D}, w.norm_f.data(), w.norm_f.size());
    add_f16("lm_head.weight", {V, D}, w.lm_head.data(), w.lm_head.size());
    const std::vector<uint8_t> bytes = st.finish();
    std::ofstream(dir / "model.safetensors", std::ios::binary | std::ios::trunc)
        .write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

std::string load_error(const fs::path& dir) {
    try {
        load_model_path(dir.string(), LoadOptions{});
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

std::vector<float> prefill(const ModelWeights& w, Backend& be) { return ttt_test::attention_prefill(w, be); }

}  // namespace

TEST_CASE("upstream adaptive files load as multi-base ternary Llama models with upstream's math") {
    const HfCheckpoint f = load_hf_checkpoint((ttt_test::test_data_dir() / "hf" / "llama_gqa2_untied").string());
    for (int64_t nb : {1, 3}) {
        CAPTURE(nb);
        ttt_test::TempDir tmp;
        write_upstream(tmp.path / "up", f.weights, nb);
        const LoadedModel m = load_model_path((tmp.path / "up").string(), LoadOptions{});
        const ModelConfig& c = m.weights.config;
        CHECK(c.arch == Architecture::llama);
        CHECK(c.attn.ternary_bases == nb);
        CHECK(c.attn.head_dim == f.weights.config.attn.head_dim);
        CHECK(!c.attn.tie_embeddings);
        // Every base is upstream's fit of the float weights, bit for bit.
        for (size_t l = 0; l < m.weights.attention->layers.size(); ++l)
            for (size_t i = 0; i < 7; ++i) {
                const Projection& got = projection(m.weights.attention->layers[l], i);
                const Projection& fl = projection(f.weights.attention->layers[l], i);
                const auto fit = ternarise_multibase(fl.dense.data(), fl.rows, fl.cols, int32_t(nb), MultiBaseFit::upstream);
                REQUIRE(got.bases() == size_t(nb));
                for (size_t b = 0; b < size_t(nb); ++b) {
                    CHECK(got.base(b).packed == fit[b].packed);
                    CHECK(got.base(b).scale == fit[b].scale);
                }
            }
        // The forward is upstream's: x·Wᵀ with W = Σ s_b·Q_b reconstructed in float (the same model with those
        // dense matrices), up to summation order.
        ModelWeights dense = m.weights;
        auto layers = std::make_shared<AttentionWeights>(*m.weights.attention);
        for (AttentionLayerWeights& L : layers->layers)
            for (Projection* p : {&L.q, &L.k, &L.v, &L.o, &L.gate, &L.up, &L.down}) {
                std::vector<TernaryMatrix> bases;
                for (size_t b = 0; b < p->bases(); ++b) bases.push_back(p->base(b));
                *p = Projection::from_dense(reconstruct_ternary(bases), p->rows, p->cols);
            }
        dense.attention = layers;
        dense.config.attn.ternary_bases = 0;
        dense.config.bitlinear_scale = false;
        for (int level = 0; level < 2; ++level) {
            auto be = level == 0 ? CpuBackend::reference(1) : CpuBackend::best(2);
            const std::vector<float> a = prefill(m.weights, *be), b = prefill(dense, *be);
            float d = 0.0f;
            for (size_t i = 0; i < a.size(); ++i) d = std::max(d, std::fabs(a[i] - b[i]));
            CHECK(d <= 2e-5f);
        }
        // It converts to .bitt (held packed, 2 bits per weight and base) and loads back as the same model.
        const std::string bitt = (tmp.path / "up.bitt").string();
        save_model_bitt(bitt, m.weights, m.tokenizer_json, m.tokenizer_config_json);
        CHECK(load_model_path(bitt, LoadOptions{}).fingerprint == m.fingerprint);
    }
}

TEST_CASE("upstream adaptive files: malformed ones are refused with the reason") {
    const HfCheckpoint f = load_hf_checkpoint((ttt_test::test_data_dir() / "hf" / "llama_gqa2_untied").string());
    ttt_test::TempDir tmp;
    int n = 0;
    auto error_of = [&](const UpstreamFile& file) {
        const fs::path dir = tmp.path / std::to_string(n++);
        write_upstream(dir, f.weights, 2, file);
        return load_error(dir);
    };
    auto on = [](const std::string& name, std::function<void(DType&, std::vector<int64_t>&, std::vector<uint8_t>&)> g) {
        UpstreamFile file;
        file.edit = [name, g](std::string& n, DType& d, std::vector<int64_t>& s, std::vector<uint8_t>& b) {
            if (n == name) g(d, s, b);
        };
        return file;
    };
    CHECK(error_of({}).empty());
    const std::string q0 = "model.layers.0.self_attn.q_proj";
    // The code 11, never written by upstream's converter.
    CHECK(error_of(on(q0 + ".weight_packed", [](DType&, std::vector<int64_t>&, std::vector<uint8_t>& b) { b[5] |= 0x0C; }))
              .find("invalid code 11") != std::string::npos);
    // A wrong shape (upstream's other converter wrote [out, in/4, NB, 4], which its own loader refused too).
    CHECK(error_of(on(q0 + ".weight_packed", [](DType&, std::vector<int64_t>& s, std::vector<uint8_t>&) {
              s.push_back(1);
          })).find("expected [32, 8, 2]") != std::string::npos);
    // Another projection with another base count.
    CHECK(error_of(on("model.layers.1.mlp.up_proj.scales", [](DType&, std::vector<int64_t>& s, std::vector<uint8_t>& b) {
              s = {1};
              b.resize(4);
          })).find("one base count per model") != std::string::npos);
    // A negative first scale, a missing scales tensor, a plain latent weight.
    CHECK(error_of(on(q0 + ".scales", [](DType&, std::vector<int64_t>&, std::vector<uint8_t>& b) {
              const float neg = -1.0f;
              std::memcpy(b.data(), &neg, 4);
          })).find("must be positive") != std::string::npos);
    UpstreamFile plain = on("model.layers.1.self_attn.k_proj.scales", [](DType&, std::vector<int64_t>&, std::vector<uint8_t>&) {});
    plain.edit = [](std::string& n, DType& d, std::vector<int64_t>& s, std::vector<uint8_t>& b) {
        if (n == "model.layers.1.self_attn.k_proj.scales") n.clear();  // dropped
        if (n == "model.layers.1.self_attn.k_proj.weight_packed") {
            n = "model.layers.1.self_attn.k_proj.weight";
            d = DType::F32;
            s = {s[0], s[1] * 4};
            b.assign(size_t(s[0] * s[1]) * 4, 0);
        }
    };
    CHECK(error_of(plain).find("plain BitLinear latent weight") != std::string::npos);
    CHECK(error_of(on("lm_head.weight", [](DType&, std::vector<int64_t>& s, std::vector<uint8_t>& b) {
              s = {s[0] - 1, s[1]};
              b.resize(b.size() - size_t(s[1]) * 2);
          })).find("'lm_head.weight' has shape") != std::string::npos);
    CHECK(error_of(on("model.norm.weight", [](DType&, std::vector<int64_t>&, std::vector<uint8_t>&) {})).empty());
    // The config: heads that do not divide hidden_dim, n_heads missing.
    const fs::path dir = tmp.path / "config";
    write_upstream(dir, f.weights, 2);
    std::ofstream(dir / "config.json", std::ios::trunc) << "{\"arch\":\"llama\",\"vocab_size\":64,\"hidden_dim\":32,\"num_layers\":2,\"n_heads\":5}";
    CHECK(load_error(dir).find("\"n_heads\" must divide hidden_dim") != std::string::npos);
    std::ofstream(dir / "config.json", std::ios::trunc) << "{\"arch\":\"llama\",\"vocab_size\":64,\"hidden_dim\":32,\"num_layers\":2,\"n_heads\":4}";
    CHECK(load_error(dir).find("'model.embed_tokens.weight' has shape") != std::string::npos);
}
