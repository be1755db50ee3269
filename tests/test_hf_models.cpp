// Attention models (arch llama, bitnet) from Hugging Face checkpoints against transformers' own forward: the tiny
// random checkpoints and golden logits of tests/data/hf (tests/reference/make_hf_golden.py) for prefill and
// token-by-token decode through our KV cache, on the reference backend and the fastest CPU level, with each KV
// cache type; and malformed checkpoints refused with a clear reason.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "backend/cpu_backend.h"
#include "common/error.h"
#include "io/mapped_file.h"
#include "io/safetensors.h"
#include "load/bitt_model.h"
#include "load/hf_checkpoint.h"
#include "load/hf_convert.h"
#include "load/model_files.h"
#include "model/attention_weights.h"
#include "model/forward.h"
#include "test_util.h"

using namespace ttt;
namespace fs = std::filesystem;

namespace {

const char* const kCases[] = {"llama_gqa2_untied", "llama_odd_heads_tied_llama3", "llama_headdim_mha",
                              "bitnet_gqa_tied", "bitnet_mha_untied", "bitnet_gqa_tied_packed",
                              "bitnet_mha_untied_autobitlinear"};

fs::path case_dir(const std::string& name) { return ttt_test::test_data_dir() / "hf" / name; }

struct Golden {
    std::vector<int32_t> tokens;
    std::vector<float> prefill, decode;  // [T, V]
};

Golden read_golden(const fs::path& dir) {
    const FileBytes bytes = map_file((dir / "golden.safetensors").string());
    const SafetensorsView v = parse_safetensors(bytes.data, bytes.size, "golden");
    Golden g;
    const TensorView* t = v.find("tokens");
    REQUIRE(t);
    g.tokens.resize(t->n_elements);
    std::memcpy(g.tokens.data(), t->data, t->n_bytes);
    g.prefill = tensor_to_f32(*v.find("prefill_logits"), "golden");
    g.decode = tensor_to_f32(*v.find("decode_logits"), "golden");
    return g;
}

// Mean |ours − golden| over all logits.
float mean_diff(const std::vector<float>& a, const std::vector<float>& b) {
    double s = 0.0;
    for (size_t i = 0; i < a.size(); ++i) s += std::fabs(double(a[i]) - double(b[i]));
    return float(s / double(a.size()));
}

// Largest |ours − golden| over all logits.
float max_diff(const std::vector<float>& a, const std::vector<float>& b) {
    REQUIRE(a.size() == b.size());
    float m = 0.0f;
    for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
    return m;
}

struct Run {
    std::vector<float> prefill, decode;
};

Run run_model(const ModelWeights& w, Backend& be, KvCacheType kv, const std::vector<int32_t>& tokens) {
    const size_t V = size_t(w.config.vocab_size), T = tokens.size();
    auto prepared = PreparedModel::create(w, nullptr, be);
    Forward fwd(w.config, all_layers_on(&be, prepared), 5);  // 5 rows per pass: the prompt straddles passes
    Run r;
    r.prefill.resize(T * V);
    SoulState soul(w.config);
    soul.kv.configure(w.config, kv, 0);
    SequenceInput in{tokens.data(), T, &soul, LogitRows::all, r.prefill.data()};
    fwd.run(&in, 1);
    CHECK(soul.position == T);
    SoulState step(w.config);
    step.kv.configure(w.config, kv, 0);
    r.decode.resize(T * V);
    for (size_t t = 0; t < T; ++t) {
        SequenceInput one{tokens.data() + t, 1, &step, LogitRows::last, r.decode.data() + t * V};
        fwd.run(&one, 1);
    }
    return r;
}

// Tolerances on logits of magnitude ≤ 3.3 (docs/models.md has the measured figures). Max |Δ|: a float32 cache
// differs from transformers' float32 forward in summation order only (≤ 2e-6 measured); an f16 cache rounds K and
// V to 11 bits (≤ 1.1e-3); int8 per token and head to 8 bits (≤ 4.1e-2). BitNet quantises every projection's input
// to int8 per token: where a value lies at a rounding boundary, a last-bit difference rounds it the other way, and
// the cache's rounding moves many values across boundaries (measured ≤ 7e-3 with an f32 cache, ≤ 6e-2 f16,
// ≤ 1.1e-1 int8). The mean |Δ| bound is tight enough that a systematic error (a wrong scale, norm, rotation or mask)
// fails it.
struct Tolerance {
    float max, mean;
};
Tolerance tolerance(bool bitnet, KvCacheType kv) {
    if (!bitnet) return kv == KvCacheType::f32 ? Tolerance{2e-5f, 2e-6f} : kv == KvCacheType::f16 ? Tolerance{4e-3f, 4e-4f} : Tolerance{8e-2f, 1.5e-2f};
    return kv == KvCacheType::f32 ? Tolerance{2e-2f, 1e-3f} : kv == KvCacheType::f16 ? Tolerance{1e-1f, 1e-2f} : Tolerance{2e-1f, 2e-2f};
}

void copy_case(const std::string& name, const fs::path& to) {
    fs::copy(case_dir(name), to, fs::copy_options::recursive);
}

void write_text(const fs::path& p, const std::string& s) {
    std::ofstream f(p, std::ios::binary | std::ios::trunc);
    f << s;
}

std::string read_text(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), {});
}

std::string load_error(const fs::path& dir) {
    try {
        load_hf_checkpoint(dir.string());
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("HF checkpoints: our logits match transformers for prefill and KV-cache decode") {
    for (const char* name : kCases) {
        const std::string case_name = name;
        CAPTURE(case_name);
        const HfCheckpoint ck = load_hf_checkpoint(case_dir(name).string());
        const Golden g = read_golden(case_dir(name));
        const bool bitnet = ck.weights.config.arch == Architecture::bitnet;
        CHECK(ck.weights.config.vocab_size * g.tokens.size() == g.prefill.size());
        for (int level = 0; level < 2; ++level) {
            auto be = level == 0 ? CpuBackend::reference(1) : CpuBackend::best(2);
            for (KvCacheType kv : {KvCacheType::f32, KvCacheType::f16, KvCacheType::i8}) {
                const std::string backend = be->name(), cache = KvCache::type_name(kv);
                CAPTURE(backend);
                CAPTURE(cache);
                const Run r = run_model(ck.weights, *be, kv, g.tokens);
                const Tolerance tol = tolerance(bitnet, kv);
                const float dp = max_diff(r.prefill, g.prefill), dd = max_diff(r.decode, g.decode);
                const float mp = mean_diff(r.prefill, g.prefill), md = mean_diff(r.decode, g.decode);
                INFO(case_name << " " << backend << " kv " << cache << ": max |Δ| prefill " << dp << ", decode "
                                  << dd << "; mean |Δ| prefill " << mp << ", decode " << md);
                CHECK(dp <= tol.max);
                CHECK(dd <= tol.max);
                CHECK(mp <= tol.mean);
                CHECK(md <= tol.mean);
                // Prefill (in passes of 5 rows) and decode compute every row alike: the same bits.
                CHECK(max_diff(r.prefill, r.decode) == 0.0f);
            }
        }
    }
}

TEST_CASE("HF checkpoints: config and weights are read as the checkpoint says") {
    const HfCheckpoint llama = load_hf_checkpoint(case_dir("llama_odd_heads_tied_llama3").string());
    const ModelConfig& c = llama.weights.config;
    CHECK(c.arch == Architecture::llama);
    CHECK(c.attn.num_heads == 3);
    CHECK(c.attn.num_kv_heads == 1);
    CHECK(c.attn.head_dim == 12);
    CHECK(c.attn.rope_llama3);
    CHECK(c.attn.rope_theta == 500000.0f);
    CHECK(c.attn.tie_embeddings);
    CHECK(llama.weights.lm_head.size() == 0);
    const HfCheckpoint bitnet = load_hf_checkpoint(case_dir("bitnet_gqa_tied").string());
    CHECK(bitnet.weights.config.arch == Architecture::bitnet);
    CHECK(bitnet.weights.attention->layers[0].q.is_ternary);
    CHECK(bitnet.weights.config.act_bits == 8);
    // The packed form (transformers' BitLinear, uint8 + weight_scale) holds the same ternary matrices.
    const HfCheckpoint packed = load_hf_checkpoint(case_dir("bitnet_gqa_tied_packed").string());
    CHECK(packed.bitnet_weights == BitNetWeights::bitlinear);
    const Projection& a = bitnet.weights.attention->layers[1].down;
    const Projection& b = packed.weights.attention->layers[1].down;
    CHECK(a.ternary.packed == b.ternary.packed);
    CHECK(std::fabs(a.ternary.scale - b.ternary.scale) <= 1e-2f * a.ternary.scale);  // weight_scale is stored bf16
    // And the offline AutoBitLinear form (weight_scale multiplies).
    const HfCheckpoint master = load_hf_checkpoint(case_dir("bitnet_mha_untied").string());
    const HfCheckpoint autobit = load_hf_checkpoint(case_dir("bitnet_mha_untied_autobitlinear").string());
    CHECK(autobit.bitnet_weights == BitNetWeights::autobitlinear);
    const Projection& m0 = master.weights.attention->layers[0].q;
    const Projection& a0 = autobit.weights.attention->layers[0].q;
    CHECK(m0.ternary.packed == a0.ternary.packed);
    CHECK(std::fabs(m0.ternary.scale - a0.ternary.scale) <= 1e-2f * m0.ternary.scale);
}

TEST_CASE("HF checkpoints: llama3 rope scaling in transformers 4's form (rope_scaling, top-level rope_theta)") {
    // The goldens were saved by transformers 5 ("rope_parameters"); published Llama 3.x configs carry
    // "rope_scaling" and a top-level "rope_theta", and older ones spell the kind "type". Each form is the same model.
    const HfCheckpoint v5 = load_hf_checkpoint(case_dir("llama_odd_heads_tied_llama3").string());
    for (const char* kind_key : {"rope_type", "type"}) {
        CAPTURE(kind_key);
        ttt_test::TempDir t;
        const fs::path d = t.path / "m";
        copy_case("llama_odd_heads_tied_llama3", d);
        std::string cfg = read_text(d / "config.json");
        const size_t begin = cfg.find("\"rope_parameters\"");
        const size_t end = cfg.find('}', begin);
        REQUIRE(begin != std::string::npos);
        REQUIRE(end != std::string::npos);
        cfg.replace(begin, end + 1 - begin,
                    std::string(R"("rope_theta": 500000.0, "rope_scaling": {"factor": 8.0, "high_freq_factor": 4.0,
                      "low_freq_factor": 1.0, "original_max_position_embeddings": 16, ")") + kind_key + R"(": "llama3"})");
        write_text(d / "config.json", cfg);
        const HfCheckpoint v4 = load_hf_checkpoint(d.string());
        const AttentionConfig &a = v4.weights.config.attn, &b = v5.weights.config.attn;
        CHECK(a.rope_llama3);
        CHECK(a.rope_theta == b.rope_theta);
        CHECK(a.rope_factor == b.rope_factor);
        CHECK(a.rope_low_freq_factor == b.rope_low_freq_factor);
        CHECK(a.rope_high_freq_factor == b.rope_high_freq_factor);
        CHECK(a.rope_original_max_position == b.rope_original_max_position);
        CHECK(v4.weights.fingerprint() == v5.weights.fingerprint());
        // And the golden logits through it.
        const Golden g = read_golden(case_dir("llama_odd_heads_tied_llama3"));
        auto be = CpuBackend::reference(1);
        const Run r = run_model(v4.weights, *be, KvCacheType::f32, g.tokens);
        CHECK(max_diff(r.prefill, g.prefill) <= tolerance(false, KvCacheType::f32).max);
    }
}

TEST_CASE("HF checkpoints: the KV cache length is set per context and a full cache is a clear error") {
    const HfCheckpoint ck = load_hf_checkpoint(case_dir("llama_gqa2_untied").string());
    auto be = CpuBackend::reference(1);
    auto prepared = PreparedModel::create(ck.weights, nullptr, *be);
    Forward fwd(ck.weights.config, all_layers_on(be.get(), prepared));
    SoulState soul(ck.weights.config);
    soul.kv.configure(ck.weights.config, KvCacheType::i8, 6);
    const std::vector<int32_t> tokens = {1, 2, 3, 4, 5};
    SequenceInput in{tokens.data(), tokens.size(), &soul, LogitRows::none, nullptr};
    fwd.run(&in, 1);
    try {
        fwd.run(&in, 1);
        FAIL("a full KV cache was accepted");
    } catch (const Error& e) {
        CHECK(e.status() == TTT_ERR_INVALID_STATE);
        CHECK(std::string(e.what()).find("KV cache full") != std::string::npos);
    }
    CHECK(soul.position == 5);  // nothing ran
    soul.reset();
    fwd.run(&in, 1);
    CHECK(soul.position == 5);
}

TEST_CASE("HF checkpoints: malformed checkpoints are refused with the reason") {
    SUBCASE("missing shard") {
        ttt_test::TempDir t;
        const fs::path d = t.path / "m";
        copy_case("llama_odd_heads_tied_llama3", d);
        fs::remove(d / "model-00002-of-00002.safetensors");
        const std::string e = load_error(d);
        CHECK(e.find("shard model-00002-of-00002.safetensors is missing") != std::string::npos);
    }
    SUBCASE("index naming a shard outside the directory") {
        ttt_test::TempDir t;
        const fs::path d = t.path / "m";
        copy_case("bitnet_mha_untied", d);
        std::string idx = read_text(d / "model.safetensors.index.json");
        const size_t at = idx.find("model-00002-of-00002.safetensors");
        idx.replace(at, std::string("model-00002-of-00002.safetensors").size(), "../model-00002-of-00002.safetensors");
        write_text(d / "model.safetensors.index.json", idx);
        CHECK(load_error(d).find("is not a plain file name") != std::string::npos);
    }
    SUBCASE("index listing a tensor in the wrong shard") {
        ttt_test::TempDir t;
        const fs::path d = t.path / "m";
        copy_case("bitnet_mha_untied", d);
        std::string idx = read_text(d / "model.safetensors.index.json");
        const std::string key = "\"model.norm.weight\": \"model-0000";
        const size_t at = idx.find(key);
        REQUIRE(at != std::string::npos);
        char& digit = idx[at + key.size()];
        digit = digit == '1' ? '2' : '1';
        write_text(d / "model.safetensors.index.json", idx);
        CHECK(load_error(d).find("which does not hold it") != std::string::npos);
    }
    SUBCASE("index that is not JSON") {
        ttt_test::TempDir t;
        const fs::path d = t.path / "m";
        copy_case("bitnet_mha_untied", d);
        write_text(d / "model.safetensors.index.json", "{\"weight_map\": {");
        CHECK(!load_error(d).empty());
    }
    SUBCASE("a shape that disagrees with the config") {
        ttt_test::TempDir t;
        const fs::path d = t.path / "m";
        copy_case("llama_gqa2_untied", d);
        std::string cfg = read_text(d / "config.json");
        const size_t at = cfg.find("\"intermediate_size\": 48");
        REQUIRE(at != std::string::npos);
        cfg.replace(at, std::string("\"intermediate_size\": 48").size(), "\"intermediate_size\": 40");
        write_text(d / "config.json", cfg);
        const std::string e = load_error(d);
        CHECK(e.find("has shape [48, 32], expected [40, 32]") != std::string::npos);
    }
    SUBCASE("no weights at all") {
        ttt_test::TempDir t;
        const fs::path d = t.path / "m";
        copy_case("llama_gqa2_untied", d);
        fs::remove(d / "model.safetensors");
        CHECK(load_error(d).find("no model.safetensors") != std::string::npos);
    }
    SUBCASE("untied config without lm_head") {
        ttt_test::TempDir t;
        const fs::path d = t.path / "m";
        copy_case("bitnet_gqa_tied", d);
        std::string cfg = read_text(d / "config.json");
        const size_t at = cfg.find("\"tie_word_embeddings\": true");
        cfg.replace(at, std::string("\"tie_word_embeddings\": true").size(), "\"tie_word_embeddings\": false");
        write_text(d / "config.json", cfg);
        CHECK(load_error(d).find("'lm_head.weight' is missing") != std::string::npos);
    }
    SUBCASE("unsupported architecture and rope scaling") {
        std::string arch;
        BitNetWeights packed = BitNetWeights::master;
        CHECK_THROWS_WITH_AS(parse_hf_config(R"({"architectures": ["MistralForCausalLM"]})", "c", &arch, &packed),
                             doctest::Contains("not supported"), Error);
        const std::string yarn = R"({"architectures": ["LlamaForCausalLM"], "vocab_size": 10, "hidden_size": 8,
            "num_hidden_layers": 1, "intermediate_size": 8, "num_attention_heads": 2,
            "rope_scaling": {"rope_type": "yarn", "factor": 4}})";
        CHECK_THROWS_WITH_AS(parse_hf_config(yarn, "c", &arch, &packed), doctest::Contains("\"yarn\" is not supported"), Error);
        const std::string bad_gqa = R"({"architectures": ["LlamaForCausalLM"], "vocab_size": 10, "hidden_size": 8,
            "num_hidden_layers": 1, "intermediate_size": 8, "num_attention_heads": 3, "num_key_value_heads": 2, "head_dim": 4})";
        CHECK_THROWS_WITH_AS(parse_hf_config(bad_gqa, "c", &arch, &packed), doctest::Contains("num_key_value_heads"), Error);
    }
}

TEST_CASE("HF checkpoints through the C ABI: ttt_load_model of the directory, context length and cache type") {
    const fs::path dir = case_dir("bitnet_mha_untied");
    const Golden g = read_golden(dir);
    ttt_model* model = nullptr;
    REQUIRE(ttt_load_model(dir.string().c_str(), nullptr, &model) == TTT_OK);
    ttt_model_info info;
    info.struct_size = sizeof info;
    REQUIRE(ttt_model_get_info(model, &info) == TTT_OK);
    CHECK(info.architecture == TTT_ARCH_BITNET);
    CHECK(info.n_heads == 3);
    CHECK(info.n_kv_heads == 3);
    CHECK(info.head_dim == 8);
    CHECK(info.ttt_dim == 0);
    CHECK(info.ttt_kind == TTT_KIND_UPSTREAM);  // no TTT layer: no heads
    CHECK(info.ttt_heads == 0);
    const size_t V = size_t(info.vocab_size), T = g.tokens.size();

    ttt_context_params p;
    REQUIRE(ttt_context_params_init(&p, sizeof p) == TTT_OK);
    p.n_threads = 2;
    p.kv_cache_type = TTT_KV_F32;
    p.n_ctx = int32_t(T);
    ttt_context* ctx = nullptr;
    REQUIRE(ttt_create(model, &p, &ctx) == TTT_OK);
    std::vector<float> all(T * V);
    REQUIRE(ttt_forward_all(ctx, g.tokens.data(), T, all.data()) == TTT_OK);
    CHECK(max_diff(all, g.prefill) <= tolerance(true, KvCacheType::f32).max);
    // The cache holds exactly n_ctx tokens: one more is refused, and nothing changes.
    std::vector<float> last(V);
    CHECK(ttt_forward(ctx, g.tokens.data(), 1, last.data()) == TTT_ERR_INVALID_STATE);
    CHECK(std::string(ttt_last_error()).find("KV cache full") != std::string::npos);
    // Reset empties the cache; decode token by token gives the golden decode logits.
    REQUIRE(ttt_reset(ctx) == TTT_OK);
    for (size_t i = 0; i < T; ++i) REQUIRE(ttt_forward(ctx, g.tokens.data() + i, 1, all.data() + i * V) == TTT_OK);
    CHECK(max_diff(all, g.decode) <= tolerance(true, KvCacheType::f32).max);
    ttt_destroy(ctx);

    p.kv_cache_type = 7;
    CHECK(ttt_create(model, &p, &ctx) == TTT_ERR_INVALID_ARGUMENT);
    ttt_model_free(model);
}

TEST_CASE("HF checkpoints: an attention model's context (KV cache and position) saves and resumes as a soul") {
    const fs::path dir = case_dir("llama_gqa2_untied");
    const Golden g = read_golden(dir);
    ttt_model* model = nullptr;
    REQUIRE(ttt_load_model(dir.string().c_str(), nullptr, &model) == TTT_OK);
    ttt_model_info info;
    info.struct_size = sizeof info;
    REQUIRE(ttt_model_get_info(model, &info) == TTT_OK);
    const size_t V = size_t(info.vocab_size), T = g.tokens.size();
    ttt_test::TempDir t;
    for (int32_t type : {TTT_KV_F32, TTT_KV_F16, TTT_KV_INT8}) {
        CAPTURE(type);
        ttt_context_params p;
        REQUIRE(ttt_context_params_init(&p, sizeof p) == TTT_OK);
        p.kv_cache_type = type;
        p.n_ctx = int32_t(T);
        ttt_context *a = nullptr, *b = nullptr, *small = nullptr;
        REQUIRE(ttt_create(model, &p, &a) == TTT_OK);
        REQUIRE(ttt_create(model, &p, &b) == TTT_OK);
        p.n_ctx = int32_t(T) - 3;
        REQUIRE(ttt_create(model, &p, &small) == TTT_OK);
        // A fresh context's soul (nothing cached) round-trips too.
        const std::string empty = (t.path / ("empty" + std::to_string(type) + ".soul")).string();
        REQUIRE(ttt_save_soul(a, empty.c_str()) == TTT_OK);
        REQUIRE(ttt_load_soul(b, empty.c_str(), 0) == TTT_OK);
        REQUIRE(ttt_forward(a, g.tokens.data(), T - 1, nullptr) == TTT_OK);
        const std::string path = (t.path / ("npc" + std::to_string(type) + ".soul")).string();
        REQUIRE(ttt_save_soul(a, path.c_str()) == TTT_OK);
        // Compact: only the rows in use, in the cache's own type.
        const size_t row_values = size_t(info.num_layers) * 2 * (T - 1) * size_t(info.n_kv_heads * info.head_dim);
        const size_t elem = type == TTT_KV_F32 ? 4 : type == TTT_KV_F16 ? 2 : 1;
        CHECK(fs::file_size(path) < row_values * elem + 4096);
        REQUIRE(ttt_load_soul(b, path.c_str(), 0) == TTT_OK);
        uint64_t pos = 0;
        REQUIRE(ttt_get_position(b, &pos) == TTT_OK);
        CHECK(pos == T - 1);
        std::vector<float> la(V), lb(V);
        REQUIRE(ttt_forward(a, g.tokens.data() + T - 1, 1, la.data()) == TTT_OK);
        REQUIRE(ttt_forward(b, g.tokens.data() + T - 1, 1, lb.data()) == TTT_OK);
        CHECK(la == lb);  // resumed exactly
        // Too long for the smaller context: refused, the context unchanged.
        CHECK(ttt_load_soul(small, path.c_str(), 0) == TTT_ERR_INVALID_STATE);
        CHECK(std::string(ttt_last_error()).find("KV cache length") != std::string::npos);
        // A damaged byte is caught by the checksum.
        std::vector<uint8_t> bytes = ttt_test::read_bytes(path);
        bytes[bytes.size() - 3] ^= 0x40;
        CHECK(ttt_load_soul_buffer(b, bytes.data(), bytes.size(), 0) == TTT_ERR_FORMAT);
        ttt_destroy(a);
        ttt_destroy(b);
        ttt_destroy(small);
    }
    // Another model's cache is refused.
    ttt_model* other = nullptr;
    REQUIRE(ttt_load_model(case_dir("llama_headdim_mha").string().c_str(), nullptr, &other) == TTT_OK);
    ttt_context* c = nullptr;
    REQUIRE(ttt_create(other, nullptr, &c) == TTT_OK);
    CHECK(ttt_load_soul(c, (t.path / "npc0.soul").string().c_str(), TTT_SOUL_FORCE) == TTT_ERR_INCOMPATIBLE);
    ttt_destroy(c);
    ttt_model_free(other);
    ttt_model_free(model);
}

TEST_CASE("HF checkpoints: a batch of sequences gives each the bits it gets alone") {
    const HfCheckpoint ck = load_hf_checkpoint(case_dir("llama_odd_heads_tied_llama3").string());
    const ModelConfig& c = ck.weights.config;
    const size_t V = size_t(c.vocab_size);
    auto be = CpuBackend::best(2);
    auto prepared = PreparedModel::create(ck.weights, nullptr, *be);
    Forward fwd(c, all_layers_on(be.get(), prepared), 7);
    const std::vector<int32_t> a = {3, 1, 4, 1, 5, 9, 2, 6}, b = {2, 7, 1, 8, 2};
    auto alone = [&](const std::vector<int32_t>& t) {
        SoulState s(c);
        std::vector<float> out(t.size() * V);
        SequenceInput in{t.data(), t.size(), &s, LogitRows::all, out.data()};
        fwd.run(&in, 1);
        return out;
    };
    SoulState sa(c), sb(c);
    std::vector<float> la(a.size() * V), lb(b.size() * V);
    // b already holds 3 tokens: the batch mixes a prefill from position 0 and one from position 3.
    SequenceInput first{b.data(), 3, &sb, LogitRows::none, nullptr};
    fwd.run(&first, 1);
    SequenceInput batch[2] = {{a.data(), a.size(), &sa, LogitRows::all, la.data()},
                              {b.data() + 3, b.size() - 3, &sb, LogitRows::all, lb.data() + 3 * V}};
    fwd.run(batch, 2);
    const std::vector<float> ra = alone(a), rb = alone(b);
    CHECK(la == ra);
    CHECK(std::equal(lb.begin() + 3 * V, lb.end(), rb.begin() + 3 * V));
    // Contexts with different cache types cannot share a pass.
    SoulState si(c);
    si.kv.configure(c, KvCacheType::i8, 0);
    SequenceInput mixed[2] = {{a.data(), 1, &sa, LogitRows::none, nullptr}, {a.data(), 1, &si, LogitRows::none, nullptr}};
    CHECK_THROWS_WITH_AS(fwd.run(mixed, 2), doctest::Contains("different KV cache types"), Error);
}

TEST_CASE("HF checkpoints convert to .bitt, streamed, and load back as the same model") {
    for (const char* name : kCases) {
        const std::string case_name = name;
        CAPTURE(case_name);
        ttt_test::TempDir t;
        const std::string bitt = (t.path / "m.bitt").string();
        const uint64_t fp = convert_hf_to_bitt(case_dir(name).string(), bitt);
        const LoadedModel hf = load_model_path(case_dir(name).string(), LoadOptions{});
        CHECK(fp == hf.fingerprint);
        // The streamed file is byte for byte what the in-memory writer makes of the loaded checkpoint.
        CHECK(ttt_test::read_bytes(bitt) == write_bitt_v2(hf.weights, hf.tokenizer_json));
        const LoadedModel back = load_model_path(bitt, LoadOptions{});
        CHECK(back.fingerprint == fp);
        CHECK(back.weights.config.arch == hf.weights.config.arch);
        // A bit_ttt model directory round-trips too.
        const std::string dir = (t.path / "dir").string();
        write_model_directory(dir, hf.weights, hf.tokenizer_json);
        CHECK(load_model_path(dir, LoadOptions{}).fingerprint == fp);
        // Same logits, bit for bit, from the mapped .bitt (packed matrices in place) and from the checkpoint.
        const Golden g = read_golden(case_dir(name));
        auto be = CpuBackend::reference(1);
        const Run a = run_model(hf.weights, *be, KvCacheType::f16, g.tokens);
        const Run b = run_model(back.weights, *be, KvCacheType::f16, g.tokens);
        CHECK(a.prefill == b.prefill);
    }
}
