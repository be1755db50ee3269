// A float Llama checkpoint in bf16 keeps its projections bf16 in memory (2 bytes per weight, the same values):
// the same fingerprint and the logits of the same model widened to f32; .bitt stores them BF16, used in place from
// the mapped file; f32 checkpoints stay f32. A bf16 embedding likewise stays bf16 (the lookup widens a row per token;
// a tied LM head reads the same table), and so does an untied bf16 LM head.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "backend/cpu_backend.h"
#include "common/error.h"
#include "io/safetensors.h"
#include "load/bitt_model.h"
#include "load/hf_checkpoint.h"
#include "load/hf_convert.h"
#include "load/model_files.h"
#include "model/attention_weights.h"
#include "model/forward.h"
#include "attention_prefill.h"
#include "test_util.h"

using namespace ttt;

namespace {

std::string case_dir(const std::string& name) { return (ttt_test::test_data_dir() / "hf" / name).string(); }

std::vector<float> prefill(const ModelWeights& w, Backend& be) { return ttt_test::attention_prefill(w, be); }

// The same model with its bf16 projections widened to f32 (what loading did before).
ModelWeights widened(const ModelWeights& w) {
    ModelWeights f = w;
    auto layers = std::make_shared<AttentionWeights>(*w.attention);
    for (AttentionLayerWeights& L : layers->layers)
        for (Projection* p : {&L.q, &L.k, &L.v, &L.o, &L.gate, &L.up, &L.down}) {
            std::vector<float> v(size_t(p->rows) * size_t(p->cols));
            for (size_t i = 0; i < v.size(); ++i) v[i] = bf16_to_float(p->bf16_data()[i]);
            *p = Projection::from_dense(std::move(v), p->rows, p->cols);
        }
    f.attention = layers;
    f.config.attn.bf16_projections = false;
    return f;
}

}  // namespace

TEST_CASE("bf16 Llama checkpoints keep their projections bf16: same values, fingerprint and logits") {
    for (const char* name : {"llama_headdim_mha", "llama_odd_heads_tied_llama3"}) {
        const std::string case_name = name;
        CAPTURE(case_name);
        const HfCheckpoint ck = load_hf_checkpoint(case_dir(name));
        CHECK(ck.weights.config.attn.bf16_projections);
        const Projection& q = ck.weights.attention->layers[0].q;
        CHECK(q.is_bf16());
        CHECK(q.dense.empty());
        CHECK(q.bf16.size() == size_t(q.rows) * size_t(q.cols));  // 2 bytes per weight
        const ModelWeights f32 = widened(ck.weights);
        CHECK(ck.weights.fingerprint() == f32.fingerprint());
        for (int level = 0; level < 2; ++level) {
            auto be = level == 0 ? CpuBackend::reference(1) : CpuBackend::best(2);
            const std::string backend = be->name();
            CAPTURE(backend);
            auto prepared = PreparedModel::create(ck.weights, nullptr, *be);
            CHECK(prepared->attn_layers[0].q.dense.storage == DenseStorage::bf16);
            const std::vector<float> a = prefill(ck.weights, *be), b = prefill(f32, *be);
            float d = 0.0f;
            for (size_t i = 0; i < a.size(); ++i) d = std::max(d, std::fabs(a[i] - b[i]));
            INFO("max |Δlogit| bf16 storage vs f32: " << d);
            CHECK(d <= 1e-5f);  // the same products, summed by the bf16 kernel (logits ≤ 3.3)
        }
        // .bitt: BF16 tensors, used in place from the mapped file, the same model.
        ttt_test::TempDir tmp;
        const std::string bitt = (tmp.path / "m.bitt").string();
        CHECK(convert_hf_to_bitt(case_dir(name), bitt) == ck.weights.fingerprint());
        const LoadedModel back = load_model_path(bitt, LoadOptions{});
        CHECK(back.weights.config.attn.bf16_projections);
        CHECK(back.weights.attention->layers[1].down.is_bf16());
        if (back.mapped) CHECK(back.weights.attention->layers[1].down.bf16_view != nullptr);
        auto be = CpuBackend::best(2);
        CHECK(prefill(back.weights, *be) == prefill(ck.weights, *be));
        const std::string dir = (tmp.path / "dir").string();
        write_model_directory(dir, ck.weights, "");
        CHECK(load_model_path(dir, LoadOptions{}).fingerprint == ck.weights.fingerprint());
    }
    // f32 checkpoints stay f32 (the goldens' own precision).
    const HfCheckpoint f = load_hf_checkpoint(case_dir("llama_gqa2_untied"));
    CHECK(!f.weights.config.attn.bf16_projections);
    CHECK(!f.weights.attention->layers[0].q.is_bf16());
}

TEST_CASE("bf16 projections: malformed files are refused with the reason") {
    ttt_test::TempDir tmp;
    const HfCheckpoint ck = load_hf_checkpoint(case_dir("llama_headdim_mha"));
    ModelWeights bad = ck.weights;
    auto layers = std::make_shared<AttentionWeights>(*ck.weights.attention);
    layers->layers[2].up.bf16[7] = 0x7FC0;  // NaN
    bad.attention = layers;
    const std::string dir = (tmp.path / "nan").string();
    write_model_directory(dir, bad, "");
    CHECK_THROWS_WITH_AS(load_model_path(dir, LoadOptions{}),
                         doctest::Contains("'model.layers.2.mlp.up_proj.weight' holds NaN or Inf at element 7"), Error);
    ModelWeights bitnet_cfg = ck.weights;
    bitnet_cfg.config.attn.bf16_projections = true;
    CHECK_NOTHROW(bitnet_cfg.check_shapes("ok"));
    bitnet_cfg.config.attn.bf16_projections = false;  // says f32 but holds bf16
    CHECK_THROWS_WITH_AS(bitnet_cfg.check_shapes("m"), doctest::Contains("has shape"), Error);
}

TEST_CASE("bf16 projections on request: an f32 checkpoint rounded to bf16 (bit-ttt convert --bf16)") {
    const HfCheckpoint f = load_hf_checkpoint(case_dir("llama_gqa2_untied"));
    const HfCheckpoint b = load_hf_checkpoint(case_dir("llama_gqa2_untied"), {}, FloatProjections::bf16);
    CHECK(b.weights.config.attn.bf16_projections);
    const Projection& fp = f.weights.attention->layers[1].gate;
    const Projection& bp = b.weights.attention->layers[1].gate;
    REQUIRE(bp.is_bf16());
    for (size_t i = 0; i < fp.dense.size(); ++i) CHECK(bp.bf16[i] == float_to_bf16(fp.dense[i]));
    // Another model (rounded weights): another fingerprint, logits close to the f32 model's.
    CHECK(b.weights.fingerprint() != f.weights.fingerprint());
    auto be = CpuBackend::best(2);
    const std::vector<float> x = prefill(f.weights, *be), y = prefill(b.weights, *be);
    float d = 0.0f;
    for (size_t i = 0; i < x.size(); ++i) d = std::max(d, std::fabs(x[i] - y[i]));
    MESSAGE("llama_gqa2_untied, f32 vs projections rounded to bf16: max |Δlogit| " << d);
    CHECK(d > 0.0f);
    CHECK(d < 5e-2f);
    ttt_test::TempDir tmp;
    const std::string bitt = (tmp.path / "m.bitt").string();
    CHECK(convert_hf_to_bitt(case_dir("llama_gqa2_untied"), bitt, {}, FloatProjections::bf16) == b.weights.fingerprint());
    CHECK(load_model_path(bitt, LoadOptions{}).weights.config.attn.bf16_projections);
    // Only for float Llama projections.
    CHECK_THROWS_WITH_AS(load_hf_checkpoint(case_dir("bitnet_gqa_tied"), {}, FloatProjections::bf16),
                         doctest::Contains("bf16 projections are for float Llama checkpoints"), Error);
    Ternarise t;
    t.method = Ternarise::Method::absmean;
    CHECK_THROWS_WITH_AS(load_hf_checkpoint(case_dir("llama_gqa2_untied"), t, FloatProjections::bf16),
                         doctest::Contains("not ternarised ones"), Error);
}

namespace {

FloatTensor widen(const Bf16Tensor& t) {
    std::vector<float> v(t.size());
    for (size_t i = 0; i < v.size(); ++i) v[i] = bf16_to_float(t.data()[i]);
    return FloatTensor(std::move(v));
}

// The same model with its bf16 embedding and LM head widened to f32 (what loading did before).
ModelWeights tables_widened(const ModelWeights& w) {
    ModelWeights f = w;
    f.embed = widen(w.embed_bf16);
    f.embed_bf16 = Bf16Tensor{};
    f.config.attn.bf16_embedding = false;
    if (w.config.attn.bf16_lm_head) {
        f.lm_head = widen(w.lm_head_bf16);
        f.lm_head_bf16 = Bf16Tensor{};
        f.config.attn.bf16_lm_head = false;
    }
    return f;
}

std::string read_all(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_all(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

// `text` with its one occurrence of `from` replaced by `to`.
std::string replaced(std::string text, const std::string& from, const std::string& to) {
    const size_t at = text.find(from);
    REQUIRE(at != std::string::npos);
    return text.replace(at, from.size(), to);
}

}  // namespace

TEST_CASE("bf16 embeddings and LM heads stay bf16: 2 bytes per weight, the same fingerprint and logits bit for bit") {
    for (const char* name : {"llama_headdim_mha", "llama_odd_heads_tied_llama3", "bitnet_gqa_tied", "bitnet_mha_untied"}) {
        const std::string case_name = name;
        CAPTURE(case_name);
        const HfCheckpoint ck = load_hf_checkpoint(case_dir(name));
        const ModelWeights& w = ck.weights;
        const size_t n = size_t(w.config.vocab_size) * size_t(w.config.hidden_dim);
        CHECK(w.config.attn.bf16_embedding);
        CHECK(w.embed.size() == 0);
        CHECK(w.embed_bf16.size() == n);
        CHECK(w.embedding_owned_bytes() == 2 * n);  // was 4·n as f32
        const bool tied = w.config.attn.tie_embeddings;
        CHECK(w.config.attn.bf16_lm_head == !tied);  // the untied goldens' heads are bf16 too
        CHECK(w.lm_head.size() == 0);
        CHECK(w.lm_head_bf16.size() == (tied ? 0 : n));
        CHECK(w.lm_head_owned_bytes() == (tied ? 0 : 2 * n));
        const ModelWeights f32 = tables_widened(w);
        CHECK(f32.embedding_owned_bytes() == 4 * n);
        CHECK(w.fingerprint() == f32.fingerprint());  // hashed as the floats they are: unchanged
        CHECK(w.parameter_count() == f32.parameter_count());
        for (int variant = 0; variant < 4; ++variant) {
            // The reference, and the fastest level with each LM head storage.
            const std::optional<DenseStorage> heads[] = {DenseStorage::f32, DenseStorage::f32, DenseStorage::bf16, DenseStorage::i8};
            auto be = variant == 0 ? CpuBackend::reference(1) : CpuBackend::best(2, heads[variant]);
            const std::string backend = be->name();
            CAPTURE(backend);
            auto prepared = PreparedModel::create(w, nullptr, *be);
            CHECK(prepared->embed.storage == DenseStorage::bf16);  // the lookup reads the table in place
            CHECK(prepared->embed.stored == w.embed_bf16.data());
            if (variant < 3) {  // an f32 or bf16 head reads the bf16 table in place (the bf16 kernel)
                CHECK(prepared->lm_head.storage == DenseStorage::bf16);
                CHECK(prepared->lm_head.stored == (tied ? w.embed_bf16.data() : w.lm_head_bf16.data()));
            } else {
                CHECK(prepared->lm_head.storage == DenseStorage::i8);
            }
            // The bf16 kernel gives the f32 kernel's bits on the same values (kernels/cpu/dense_kernels.h).
            CHECK(prefill(w, *be) == prefill(f32, *be));
        }
        // .bitt: the embedding BF16, used in place from the mapped file; the same fingerprint and logits.
        ttt_test::TempDir tmp;
        const std::string bitt = (tmp.path / "m.bitt").string();
        CHECK(convert_hf_to_bitt(case_dir(name), bitt) == w.fingerprint());
        const LoadedModel back = load_model_path(bitt, LoadOptions{});
        CHECK(back.fingerprint == w.fingerprint());
        CHECK(back.weights.config.attn.bf16_embedding);
        CHECK(back.weights.config.attn.bf16_lm_head == !tied);
        CHECK(back.weights.embed_bf16.size() == n);
        CHECK(back.weights.lm_head_bf16.size() == (tied ? 0 : n));
        if (back.mapped) {
            CHECK(back.weights.embed_bf16.view != nullptr);
            CHECK(back.weights.embedding_owned_bytes() == 0);
            CHECK(back.weights.lm_head_owned_bytes() == 0);
        }
        auto be = CpuBackend::best(2);
        CHECK(prefill(back.weights, *be) == prefill(w, *be));
        const std::string dir = (tmp.path / "dir").string();
        write_model_directory(dir, w, "");
        const LoadedModel from_dir = load_model_path(dir, LoadOptions{});
        CHECK(from_dir.weights.config.attn.bf16_embedding);
        CHECK(from_dir.fingerprint == w.fingerprint());
    }
    // An f32 embedding and head stay f32 (the goldens' own precision).
    const HfCheckpoint f = load_hf_checkpoint(case_dir("llama_gqa2_untied"));
    CHECK(!f.weights.config.attn.bf16_embedding);
    CHECK(!f.weights.config.attn.bf16_lm_head);
    CHECK(f.weights.embedding_owned_bytes() == 4 * f.weights.embed.size());
    CHECK(f.weights.lm_head_owned_bytes() == 4 * f.weights.lm_head.size());
}

TEST_CASE("bf16 embeddings and LM heads: malformed files are refused with the reason") {
    ttt_test::TempDir tmp;
    const HfCheckpoint ck = load_hf_checkpoint(case_dir("llama_odd_heads_tied_llama3"));  // V 53, D 24, tied
    // In memory: a bf16 table of the wrong size, or none where the config says bf16.
    ModelWeights short_table = ck.weights;
    short_table.embed_bf16.owned.resize(52 * 24);
    CHECK_THROWS_WITH_AS(short_table.check_shapes("m"),
                         doctest::Contains("'model.embed_tokens.weight' has 1248 values, expected 1272"), Error);
    ModelWeights f32_flag = ck.weights;
    f32_flag.config.attn.bf16_embedding = false;  // says f32 but holds bf16
    CHECK_THROWS_WITH_AS(f32_flag.check_shapes("m"), doctest::Contains("'model.embed_tokens.weight' has 0 values"), Error);
    // Our files: a BF16 embedding of another shape than the config's, or where the config says f32.
    const std::string dir = (tmp.path / "dir").string();
    write_model_directory(dir, ck.weights, "");
    const std::string config = read_all(dir + "/config.json");
    write_all(dir + "/config.json", replaced(config, "\"vocab_size\":53", "\"vocab_size\":52"));
    CHECK_THROWS_WITH_AS(load_model_path(dir, LoadOptions{}),
                         doctest::Contains("tensor 'model.embed_tokens.weight' is BF16 [53, 24], expected BF16 [52, 24]"), Error);
    write_all(dir + "/config.json", replaced(config, ",\"embedding_dtype\":\"bf16\"", ""));
    CHECK_THROWS_WITH_AS(load_model_path(dir, LoadOptions{}),
                         doctest::Contains("tensor 'model.embed_tokens.weight' is BF16 [53, 24], expected F32 [53, 24]"), Error);
    write_all(dir + "/config.json", replaced(config, "\"embedding_dtype\":\"bf16\"", "\"embedding_dtype\":\"f16\""));
    CHECK_THROWS_WITH_AS(load_model_path(dir, LoadOptions{}),
                         doctest::Contains("\"embedding_dtype\" must be \"f32\" or \"bf16\""), Error);
    // An untied bf16 head: of the wrong shape, or declared bf16 in a tied model.
    const HfCheckpoint untied = load_hf_checkpoint(case_dir("llama_headdim_mha"));  // V 47, D 16
    const std::string udir = (tmp.path / "untied").string();
    write_model_directory(udir, untied.weights, "");
    const std::string uconfig = read_all(udir + "/config.json");
    write_all(udir + "/config.json", replaced(uconfig, ",\"lm_head_dtype\":\"bf16\"", ""));
    CHECK_THROWS_WITH_AS(load_model_path(udir, LoadOptions{}),
                         doctest::Contains("tensor 'lm_head.weight' is BF16 [47, 16], expected F32 [47, 16]"), Error);
    write_all(dir + "/config.json", replaced(config, "\"embedding_dtype\":\"bf16\"", "\"embedding_dtype\":\"bf16\",\"lm_head_dtype\":\"bf16\""));
    CHECK_THROWS_WITH_AS(load_model_path(dir, LoadOptions{}),
                         doctest::Contains("\"lm_head_dtype\" must be \"f32\" or, for an untied model, \"bf16\""), Error);
    ModelWeights short_head = untied.weights;
    short_head.lm_head_bf16.owned.pop_back();
    CHECK_THROWS_WITH_AS(short_head.check_shapes("m"), doctest::Contains("'lm_head.weight' has 751 values, expected 752"), Error);
    // A NaN in the table, mapped or copied.
    ModelWeights nan = ck.weights;
    nan.embed_bf16.owned[30] = 0x7F80;  // +Inf
    const std::string nan_dir = (tmp.path / "nan").string();
    write_model_directory(nan_dir, nan, "");
    CHECK_THROWS_WITH_AS(load_model_path(nan_dir, LoadOptions{}),
                         doctest::Contains("'model.embed_tokens.weight' holds NaN or Inf at element 30"), Error);
    // A Hugging Face checkpoint whose BF16 embedding disagrees with its config.
    const std::string hf = (tmp.path / "hf").string();
    std::filesystem::copy(case_dir("llama_odd_heads_tied_llama3"), hf);
    write_all(hf + "/config.json", replaced(read_all(hf + "/config.json"), "\"vocab_size\": 53", "\"vocab_size\": 54"));
    CHECK_THROWS_WITH_AS(load_hf_checkpoint(hf), doctest::Contains("'model.embed_tokens.weight' is BF16 [53, 24], expected BF16 [54, 24]"), Error);
    CHECK_THROWS_WITH_AS(convert_hf_to_bitt(hf, (tmp.path / "x.bitt").string()),
                         doctest::Contains("'model.embed_tokens.weight' is BF16 [53, 24], expected BF16 [54, 24]"), Error);
}
