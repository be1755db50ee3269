// Ternarising float Llama checkpoints (bit-ttt convert --ternary; model/ternarise.h): the least-squares bases are
// optimal, a multi-base projection computes exactly Σ_b s_b·Q_b·x (against the float forward of that matrix), the
// .bitt round trip keeps every bit, malformed multi-base files are refused with the reason, and the quality cost
// against the float model (the figures of docs/models.md, printed with -s).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "backend/cpu_backend.h"
#include "common/error.h"
#include "cpu/ternary_ref.h"
#include "io/safetensors.h"
#include "load/bitt_model.h"
#include "load/hf_checkpoint.h"
#include "load/hf_convert.h"
#include "load/model_files.h"
#include "model/attention_weights.h"
#include "model/forward.h"
#include "model/ternarise.h"
#include "test_util.h"

using namespace ttt;
namespace fs = std::filesystem;

namespace {

const char* const kLlamaCases[] = {"llama_gqa2_untied", "llama_odd_heads_tied_llama3", "llama_headdim_mha"};

std::string case_dir(const std::string& name) { return (ttt_test::test_data_dir() / "hf" / name).string(); }

const std::vector<int32_t> kTokens = {1, 7, 3, 12, 5, 9, 2, 11, 4, 8, 6, 10};

Ternarise multibase(int32_t k) {
    Ternarise t;
    t.method = Ternarise::Method::multibase;
    t.bases = k;
    return t;
}

Ternarise absmean() {
    Ternarise t;
    t.method = Ternarise::Method::absmean;
    return t;
}

// Prefill logits [T, V] with an f32 KV cache.
std::vector<float> logits(const ModelWeights& w, Backend& be) {
    auto prepared = PreparedModel::create(w, nullptr, be);
    Forward fwd(w.config, all_layers_on(&be, prepared), 5);
    std::vector<float> out(kTokens.size() * size_t(w.config.vocab_size));
    SoulState soul(w.config);
    soul.kv.configure(w.config, KvCacheType::f32, 0);
    SequenceInput in{kTokens.data(), kTokens.size(), &soul, LogitRows::all, out.data()};
    fwd.run(&in, 1);
    return out;
}

float max_diff(const std::vector<float>& a, const std::vector<float>& b) {
    REQUIRE(a.size() == b.size());
    float m = 0.0f;
    for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
    return m;
}

// Every projection of a model.
void for_each_projection(ModelWeights& w, const std::function<void(Projection&)>& f) {
    for (AttentionLayerWeights& L : std::const_pointer_cast<AttentionWeights>(w.attention)->layers)
        for (Projection* p : {&L.q, &L.k, &L.v, &L.o, &L.gate, &L.up, &L.down}) f(*p);
}

// The float model whose projections are the ternary model's Σ_b s_b·Q_b.
ModelWeights reconstructed(const ModelWeights& ternary) {
    ModelWeights w = ternary;
    w.attention = std::make_shared<AttentionWeights>(*ternary.attention);
    w.config.attn.ternary_bases = 0;
    w.config.bitlinear_scale = false;
    for_each_projection(w, [](Projection& p) {
        std::vector<TernaryMatrix> bases;
        for (size_t b = 0; b < p.bases(); ++b) bases.push_back(p.base(b));
        p = Projection::from_dense(reconstruct_ternary(bases), p.rows, p.cols);
    });
    return w;
}

// A float projection's values (f32, or bf16 widened).
std::vector<float> values(const Projection& p) {
    if (!p.is_bf16()) return p.dense;
    std::vector<float> v(size_t(p.rows) * size_t(p.cols));
    for (size_t i = 0; i < v.size(); ++i) v[i] = bf16_to_float(p.bf16_data()[i]);
    return v;
}

double sq_error(const std::vector<float>& w, const std::vector<float>& approx) {
    double e = 0.0;
    for (size_t i = 0; i < w.size(); ++i) e += (double(w[i]) - approx[i]) * (double(w[i]) - approx[i]);
    return e;
}

std::vector<float> random_matrix(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> d(0.0f, 0.02f);
    std::vector<float> w(n);
    for (float& x : w) x = d(rng);
    return w;
}

}  // namespace

TEST_CASE("ternarise: each least-squares base is the best ternary fit of its residual, and every base helps") {
    const int32_t rows = 7, cols = 13;  // 13: a padded last byte per row
    const std::vector<float> w = random_matrix(size_t(rows * cols), 5);
    // One base against every support size n (the n largest |w|, s their mean |w|): none fits better.
    const std::vector<TernaryMatrix> one = ternarise_multibase(w.data(), rows, cols, 1);
    const double fitted = sq_error(w, reconstruct_ternary(one));
    std::vector<float> mag(w.size());
    for (size_t i = 0; i < w.size(); ++i) mag[i] = std::fabs(w[i]);
    std::sort(mag.begin(), mag.end(), std::greater<float>());
    for (size_t n = 1; n <= w.size(); ++n) {
        double sum = 0.0;
        for (size_t i = 0; i < n; ++i) sum += mag[i];
        const float s = float(sum / double(n));
        std::vector<float> approx(w.size());
        for (size_t i = 0; i < w.size(); ++i) approx[i] = std::fabs(w[i]) >= mag[n - 1] ? (w[i] > 0 ? s : -s) : 0.0f;
        CHECK(fitted <= sq_error(w, approx) * (1 + 1e-9));
    }
    // Upstream's rule (s = mean|R|, threshold s/2) and BitNet's absmean never fit better; more bases always do.
    CHECK(fitted <= sq_error(w, reconstruct_ternary(ternarise_multibase(w.data(), rows, cols, 1, MultiBaseFit::upstream))));
    CHECK(fitted <= sq_error(w, reconstruct_ternary({ternarise_absmean(w.data(), rows, cols)})));
    double previous = sq_error(w, std::vector<float>(w.size(), 0.0f));
    for (int32_t k = 1; k <= kMaxTernaryBases; ++k) {
        const std::vector<TernaryMatrix> bases = ternarise_multibase(w.data(), rows, cols, k);
        REQUIRE(bases.size() == size_t(k));
        // Greedy: the first k−1 bases of a k-base fit are the (k−1)-base fit.
        if (k > 1) CHECK(bases[size_t(k) - 2].packed == ternarise_multibase(w.data(), rows, cols, k - 1).back().packed);
        const double e = sq_error(w, reconstruct_ternary(bases));
        CHECK(e < previous);
        previous = e;
        for (const TernaryMatrix& m : bases) {
            size_t bad = 0;
            CHECK(validate_packed_ternary(m.data(), size_t(rows), size_t(cols), &bad));
            CHECK(m.scale > 0.0f);
        }
    }
    // An all-zero matrix: valid bases that add nothing.
    const std::vector<float> zero(size_t(rows * cols), 0.0f);
    for (const TernaryMatrix& m : ternarise_multibase(zero.data(), rows, cols, 3)) CHECK(m.scale > 0.0f);
    CHECK(sq_error(zero, reconstruct_ternary(ternarise_multibase(zero.data(), rows, cols, 3))) == 0.0);
    CHECK_THROWS_WITH_AS(ternarise_multibase(w.data(), rows, cols, 0), doctest::Contains("1..8"), Error);
    CHECK_THROWS_WITH_AS(ternarise_multibase(w.data(), rows, cols, 9), doctest::Contains("1..8"), Error);
}

TEST_CASE("ternarised Llama: a multi-base projection computes the float forward of Σ s_b·Q_b") {
    for (const char* name : kLlamaCases) {
        for (int32_t k : {1, 2, 3}) {
            const std::string case_name = name;
            CAPTURE(case_name);
            CAPTURE(k);
            const HfCheckpoint ck = load_hf_checkpoint(case_dir(name), multibase(k));
            CHECK(ck.weights.config.attn.ternary_bases == k);
            CHECK(ck.weights.attention->layers[0].down.bases() == size_t(k));
            const ModelWeights plain = reconstructed(ck.weights);
            for (int level = 0; level < 2; ++level) {
                auto be = level == 0 ? CpuBackend::reference(1) : CpuBackend::best(2);
                const std::string backend = be->name();
                CAPTURE(backend);
                // Only the summation order differs (Σ_b s_b·(Q_b·x) against (Σ_b s_b·Q_b)·x): logits ≤ 3.3.
                CHECK(max_diff(logits(ck.weights, *be), logits(plain, *be)) <= 2e-5f);
            }
        }
    }
}

TEST_CASE("ternarised Llama: converted to .bitt, streamed, it loads back bit for bit") {
    for (const Ternarise& t : {absmean(), multibase(1), multibase(3)}) {
        const std::string dir = case_dir("llama_odd_heads_tied_llama3");
        ttt_test::TempDir tmp;
        const std::string bitt = (tmp.path / "m.bitt").string();
        const uint64_t fp = convert_hf_to_bitt(dir, bitt, t);
        const HfCheckpoint ck = load_hf_checkpoint(dir, t);
        CHECK(fp == ck.weights.fingerprint());
        CHECK(fp != load_hf_checkpoint(dir).weights.fingerprint());
        CHECK(ttt_test::read_bytes(bitt) == write_bitt_v2(ck.weights, ck.tokenizer_json));
        const LoadedModel back = load_model_path(bitt, LoadOptions{});
        CHECK(back.fingerprint == fp);
        CHECK(back.weights.config.attn.ternary_bases == ck.weights.config.attn.ternary_bases);
        auto be = CpuBackend::best(2);
        CHECK(logits(back.weights, *be) == logits(ck.weights, *be));
        // A model directory too.
        const std::string out_dir = (tmp.path / "dir").string();
        write_model_directory(out_dir, ck.weights, ck.tokenizer_json);
        CHECK(load_model_path(out_dir, LoadOptions{}).fingerprint == fp);
    }
    // absmean is BitNet's rule on the float weights (what a BitNet checkpoint's master weights get).
    const HfCheckpoint a = load_hf_checkpoint(case_dir("llama_gqa2_untied"), absmean());
    const HfCheckpoint f = load_hf_checkpoint(case_dir("llama_gqa2_untied"));
    const Projection& fq = f.weights.attention->layers[1].up;
    const TernaryMatrix expect = ternarise_absmean(fq.dense.data(), fq.rows, fq.cols);
    CHECK(a.weights.attention->layers[1].up.ternary.packed == expect.packed);
    CHECK(a.weights.attention->layers[1].up.ternary.scale == expect.scale);
}

TEST_CASE("ternarised Llama: malformed multi-base files and options are refused with the reason") {
    ttt_test::TempDir tmp;
    const HfCheckpoint ck = load_hf_checkpoint(case_dir("llama_gqa2_untied"), multibase(3));
    auto load_error = [&](const ModelWeights& w, const std::function<void(std::string&)>& edit_config) -> std::string {
        const fs::path dir = tmp.path / "m";
        fs::remove_all(dir);
        write_model_directory(dir.string(), w, "");
        if (edit_config) {
            std::ifstream in(dir / "config.json");
            std::string text((std::istreambuf_iterator<char>(in)), {});
            in.close();
            edit_config(text);
            std::ofstream(dir / "config.json", std::ios::trunc) << text;
        }
        try {
            load_model_path(dir.string(), LoadOptions{});
        } catch (const Error& e) {
            return e.what();
        }
        return "";
    };
    auto replace = [](std::string from, std::string to) {
        return [from, to](std::string& text) {
            const size_t at = text.find(from);
            REQUIRE(at != std::string::npos);
            text.replace(at, from.size(), to);
        };
    };
    CHECK(load_error(ck.weights, nullptr).empty());
    // More bases than the file holds, too many, or bases in a BitNet config.
    CHECK(load_error(ck.weights, replace("\"ternary_bases\":3", "\"ternary_bases\":4"))
              .find("missing tensor 'model.layers.0.self_attn.q_proj.weight_ternary.3'") != std::string::npos);
    CHECK(load_error(ck.weights, replace("\"ternary_bases\":3", "\"ternary_bases\":9")).find("ternary_bases") != std::string::npos);
    CHECK(load_error(ck.weights, replace("\"arch\":\"llama\"", "\"arch\":\"bitnet\"")).find("ternary_bases") != std::string::npos);
    // A negative scale, a NaN scale, an invalid code in a residual base.
    ModelWeights bad = ck.weights;
    bad.attention = std::make_shared<AttentionWeights>(*ck.weights.attention);
    auto& layers = std::const_pointer_cast<AttentionWeights>(bad.attention)->layers;
    layers[1].gate.residual_bases[1].scale = -0.5f;
    CHECK(load_error(bad, nullptr).find("the scale of 'model.layers.1.mlp.gate_proj.weight_ternary.2' must be finite and") !=
          std::string::npos);
    layers[1].gate.residual_bases[1].scale = std::nanf("");
    CHECK(load_error(bad, nullptr).find("weight_scale.2") != std::string::npos);
    layers[1].gate.residual_bases[1].scale = 0.01f;
    layers[0].o.residual_bases[0].packed[0] = 0xFF;
    CHECK(load_error(bad, nullptr).find("'model.layers.0.self_attn.o_proj.weight_ternary.1' row 0 holds an invalid ternary code") !=
          std::string::npos);
    // Options: ternarising is for float Llama checkpoints, with 1..8 bases.
    CHECK_THROWS_WITH_AS(load_hf_checkpoint(case_dir("bitnet_gqa_tied"), absmean()), doctest::Contains("already ternary"), Error);
    CHECK_THROWS_WITH_AS(load_hf_checkpoint(case_dir("llama_gqa2_untied"), multibase(0)), doctest::Contains("1..8"), Error);
    CHECK_THROWS_WITH_AS(load_hf_checkpoint(case_dir("llama_gqa2_untied"), multibase(9)), doctest::Contains("1..8"), Error);
}

// The quality cost of ternarising (docs/models.md): relative weight error ‖W − Ŵ‖/‖W‖ over all projections, and
// the logits against the float model's (cosine, KL(float ‖ ternary) per token, top-1 agreement) on the prefill
// of kTokens, reference backend, f32 cache. The assertion is only the order: more bases fit closer.
TEST_CASE("ternarised Llama: quality cost against the float model (figures with -s)") {
    struct Method {
        const char* name;
        std::function<std::vector<TernaryMatrix>(const std::vector<float>&, const Projection&)> fit;
    };
    const Method methods[] = {
        {"absmean (BitNet)", [](const std::vector<float>& v, const Projection& p) { return std::vector<TernaryMatrix>{ternarise_absmean(v.data(), p.rows, p.cols)}; }},
        {"upstream rule, 1 base", [](const std::vector<float>& v, const Projection& p) { return ternarise_multibase(v.data(), p.rows, p.cols, 1, MultiBaseFit::upstream); }},
        {"upstream rule, 2 bases", [](const std::vector<float>& v, const Projection& p) { return ternarise_multibase(v.data(), p.rows, p.cols, 2, MultiBaseFit::upstream); }},
        {"upstream rule, 3 bases", [](const std::vector<float>& v, const Projection& p) { return ternarise_multibase(v.data(), p.rows, p.cols, 3, MultiBaseFit::upstream); }},
        {"multibase:1", [](const std::vector<float>& v, const Projection& p) { return ternarise_multibase(v.data(), p.rows, p.cols, 1); }},
        {"multibase:2", [](const std::vector<float>& v, const Projection& p) { return ternarise_multibase(v.data(), p.rows, p.cols, 2); }},
        {"multibase:3", [](const std::vector<float>& v, const Projection& p) { return ternarise_multibase(v.data(), p.rows, p.cols, 3); }},
    };
    auto be = CpuBackend::reference(1);
    for (const char* name : kLlamaCases) {
        const HfCheckpoint f = load_hf_checkpoint(case_dir(name));
        const std::vector<float> ref = logits(f.weights, *be);
        const size_t V = size_t(f.weights.config.vocab_size), T = kTokens.size();
        double previous_kl = 1e30;
        for (const Method& m : methods) {
            ModelWeights w = f.weights;
            w.attention = std::make_shared<AttentionWeights>(*f.weights.attention);
            double err = 0.0, norm = 0.0;
            w.config.attn.bf16_projections = false;
            for_each_projection(w, [&](Projection& p) {
                const std::vector<float> v = values(p);
                std::vector<float> approx = reconstruct_ternary(m.fit(v, p));
                err += sq_error(v, approx);
                norm += sq_error(v, std::vector<float>(v.size(), 0.0f));
                p = Projection::from_dense(std::move(approx), p.rows, p.cols);
            });
            const std::vector<float> got = logits(w, *be);
            double cos = 0.0, kl = 0.0;
            int top1 = 0;
            for (size_t t = 0; t < T; ++t) {
                const float* a = ref.data() + t * V;
                const float* b = got.data() + t * V;
                double ab = 0, aa = 0, bb = 0, za = 0, zb = 0;
                const float ma = *std::max_element(a, a + V), mb = *std::max_element(b, b + V);
                for (size_t v = 0; v < V; ++v) {
                    ab += double(a[v]) * b[v], aa += double(a[v]) * a[v], bb += double(b[v]) * b[v];
                    za += std::exp(double(a[v] - ma)), zb += std::exp(double(b[v] - mb));
                }
                cos += ab / std::sqrt(aa * bb);
                for (size_t v = 0; v < V; ++v) {
                    const double lpa = double(a[v] - ma) - std::log(za), lpb = double(b[v] - mb) - std::log(zb);
                    kl += std::exp(lpa) * (lpa - lpb);
                }
                top1 += std::max_element(a, a + V) - a == std::max_element(b, b + V) - b;
            }
            MESSAGE(std::string(name) << " | " << std::string(m.name) << " | weight error " << std::sqrt(err / norm) << " | logits cosine "
                         << cos / double(T) << " | KL " << kl / double(T) << " | top-1 " << top1 << "/" << T);
            if (std::string(m.name).rfind("multibase", 0) == 0) {
                CHECK(kl / double(T) < previous_kl);
                previous_kl = kl / double(T);
            }
        }
    }
}
