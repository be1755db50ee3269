// bit-ttt with Hugging Face checkpoints (docs/models.md): info shows the architecture, convert streams a checkpoint
// to .bitt with its --ternary / --bf16 options (and refuses them where they do not apply), and generate / chat take
// the context options of attention models: --ctx (KV cache length), --kv-cache (its storage), --lm-head.
#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <vector>

#include "attention_fixture.h"
#include "cli_util.h"

using namespace ttt_test;
namespace fs = std::filesystem;

namespace {

bool has(const std::string& out, const std::string& what) { return out.find(what) != std::string::npos; }

std::string hf(const std::string& name) { return (test_data_dir() / "hf" / name).string(); }

// `bit-ttt ARGS` under a limit on its data segment (heap and private writable mappings; RLIMIT_DATA, `ulimit -d`):
// a mapped checkpoint (read-only, shared) does not count, what the program copies does.
std::string run_cli_limited(size_t data_kb, const std::string& args, int* exit_code) {
    const std::string cmd = "ulimit -d " + std::to_string(data_kb) + " && " + TTT_CLI_PATH + " " + args + " </dev/null 2>&1";
    FILE* p = popen(cmd.c_str(), "r");
    std::string out;
    std::array<char, 4096> buf{};
    while (p && fgets(buf.data(), int(buf.size()), p)) out += buf.data();
    const int status = p ? pclose(p) : -1;
    *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return out;
}

// A float Llama (f32) with weights from a cheap generator (values do not matter), untied when `untied`.
struct BigShape {
    int64_t V, D, L, I, H, Hk, hd;
    bool untied;
};

void write_big_llama(const fs::path& dir, const BigShape& s) {
    fs::create_directories(dir);
    uint32_t state = 12345;
    auto values = [&](int64_t n, float base) {
        std::vector<float> v(static_cast<size_t>(n));
        for (float& x : v) {
            state = state * 1664525u + 1013904223u;
            x = base + float(int32_t(state >> 8) - (1 << 23)) * (0.02f / float(1 << 23));
        }
        return v;
    };
    const int64_t Q = s.H * s.hd, KV = s.Hk * s.hd;
    ttt::SafetensorsWriter w;
    w.add_f32("model.embed_tokens.weight", {s.V, s.D}, values(s.V * s.D, 0.0f));
    for (int64_t l = 0; l < s.L; ++l) {
        const std::string p = "model.layers." + std::to_string(l) + ".";
        w.add_f32(p + "input_layernorm.weight", {s.D}, values(s.D, 1.0f));
        w.add_f32(p + "post_attention_layernorm.weight", {s.D}, values(s.D, 1.0f));
        w.add_f32(p + "self_attn.q_proj.weight", {Q, s.D}, values(Q * s.D, 0.0f));
        w.add_f32(p + "self_attn.k_proj.weight", {KV, s.D}, values(KV * s.D, 0.0f));
        w.add_f32(p + "self_attn.v_proj.weight", {KV, s.D}, values(KV * s.D, 0.0f));
        w.add_f32(p + "self_attn.o_proj.weight", {s.D, Q}, values(s.D * Q, 0.0f));
        w.add_f32(p + "mlp.gate_proj.weight", {s.I, s.D}, values(s.I * s.D, 0.0f));
        w.add_f32(p + "mlp.up_proj.weight", {s.I, s.D}, values(s.I * s.D, 0.0f));
        w.add_f32(p + "mlp.down_proj.weight", {s.D, s.I}, values(s.D * s.I, 0.0f));
    }
    w.add_f32("model.norm.weight", {s.D}, values(s.D, 1.0f));
    if (s.untied) w.add_f32("lm_head.weight", {s.V, s.D}, values(s.V * s.D, 0.0f));
    write_bytes(dir / "model.safetensors", w.finish());
    const std::string config = R"({"architectures": ["LlamaForCausalLM"], "vocab_size": )" + std::to_string(s.V) +
                               R"(, "hidden_size": )" + std::to_string(s.D) + R"(, "intermediate_size": )" +
                               std::to_string(s.I) + R"(, "num_hidden_layers": )" + std::to_string(s.L) +
                               R"(, "num_attention_heads": )" + std::to_string(s.H) + R"(, "num_key_value_heads": )" +
                               std::to_string(s.Hk) + R"(, "head_dim": )" + std::to_string(s.hd) +
                               R"(, "hidden_act": "silu", "rms_norm_eps": 1e-05, "rope_theta": 10000.0,
        "max_position_embeddings": 64, "tie_word_embeddings": )" + (s.untied ? "false" : "true") + "}";
    write_bytes(dir / "config.json", std::vector<uint8_t>(config.begin(), config.end()));
}

}  // namespace

TEST_CASE("bit-ttt info and convert of Hugging Face checkpoints, with --ternary and --bf16") {
    TempDir tmp;
    int rc = 0;
    std::string out = run_cli("info " + hf("bitnet_gqa_tied_packed"), &rc);
    CAPTURE(out);
    CHECK(rc == 0);
    CHECK(has(out, "architecture: bitnet"));
    CHECK(has(out, "attention: 4 query heads, 1 key/value heads, head width 8"));

    const std::string tern = (tmp.path / "t.bitt").string();
    out = run_cli("convert --ternary multibase:2 " + hf("llama_gqa2_untied") + " " + tern, &rc);
    CHECK(rc == 0);
    CHECK(has(out, "wrote " + tern));
    out = run_cli("info " + tern, &rc);
    CHECK(rc == 0);
    CHECK(has(out, "architecture: llama"));
    const std::string bf16 = (tmp.path / "b.bitt").string();
    run_cli("convert --bf16 " + hf("llama_gqa2_untied") + " " + bf16, &rc);
    CHECK(rc == 0);
    CHECK(fs::file_size(bf16) < fs::file_size(tern) * 4);  // made, and loads:
    CHECK(has(run_cli("info " + bf16, &rc), "architecture: llama"));

    // Refusals: an unknown method, two options that exclude each other, ternarising a model that is ternary already.
    out = run_cli("convert --ternary trinary " + hf("llama_gqa2_untied") + " " + tern, &rc);
    CHECK(rc == 2);
    CHECK(has(out, "--ternary takes absmean, multibase or multibase:K"));
    out = run_cli("convert --ternary absmean --bf16 " + hf("llama_gqa2_untied") + " " + tern, &rc);
    CHECK(rc == 2);
    CHECK(has(out, "exclude each other"));
    out = run_cli("convert --ternary absmean " + hf("bitnet_gqa_tied") + " " + tern, &rc);
    CHECK(rc == 1);
    CHECK(has(out, "already ternary"));
}

TEST_CASE("bit-ttt convert streams a checkpoint larger than the memory it may use, and says so when memory runs out") {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    MESSAGE("skipped: a sanitizer's shadow memory does not run under a data-segment limit");
#else
    TempDir tmp;
    int rc = 0;
    std::string out;
    // Many layers (12 of 4.2 MB, 50 MB): a limit of 16 MB has room for a layer or two, not for the model; and a
    // large untied vocabulary (embedding and LM head 12 MB each, one 3 MB layer, 27 MB): 24 MB has room for one of
    // them at a time with the layer (the converter once held both, and copied each tensor it wrote: ~40 MB).
    const BigShape deep{256, 256, 12, 1024, 4, 4, 64, false}, wide{6144, 512, 1, 128, 8, 1, 64, true};
    for (const auto& run : {std::pair{deep, size_t(16)}, std::pair{wide, size_t(24)}}) {
        const BigShape& shape = run.first;  // not a structured binding: CAPTURE's lambda cannot name one (clang)
        const size_t limit_mb = run.second;
        CAPTURE(shape.V);
        const fs::path ck = tmp.path / ("big" + std::to_string(shape.V));
        write_big_llama(ck, shape);
        const size_t limit_kb = limit_mb << 10;
        REQUIRE(fs::file_size(ck / "model.safetensors") > limit_kb * 1024);
        // Loading the model (all of it in memory) does not fit under the limit: the limit bites.
        out = run_cli_limited(limit_kb, "forward -m " + ck.string() + " --tokens 1,2", &rc);
        CHECK(rc == 1);
        CHECK(has(out, "out of memory"));
        // Converting it does: one tensor or layer at a time, float and ternarised.
        for (const std::string opts : {"", "--ternary absmean "}) {
            CAPTURE(opts);
            const std::string bitt = (tmp.path / "big.bitt").string();
            out = run_cli_limited(limit_kb, "convert " + opts + ck.string() + " " + bitt, &rc);
            CAPTURE(out);
            CHECK(rc == 0);
            CHECK(has(out, "wrote " + bitt));
            CHECK(has(run_cli("info " + bitt, &rc), "architecture: llama"));
            CHECK(rc == 0);
        }
    }
    const fs::path ck = tmp.path / "big256";
    // Under a limit too small for even a layer: a clear error, exit status 1, no file and no temp file left.
    const std::string none = (tmp.path / "none.bitt").string();
    out = run_cli_limited(4 << 10, "convert " + ck.string() + " " + none, &rc);
    CHECK(rc == 1);
    CHECK(has(out, "out of memory"));
    CHECK(!fs::exists(none));
    size_t entries = 0;
    for (const auto& e : fs::directory_iterator(tmp.path)) entries += e.path().filename().string().find("none") != std::string::npos;
    CHECK(entries == 0);
#endif
}

TEST_CASE("bit-ttt generate and chat on an attention model: --ctx, --kv-cache and --lm-head") {
    TempDir tmp;
    const std::string model = write_text_attention_model(tmp.path / "m");
    const std::string prompt = " -p 'Once upon a time there was a tiny model' --temp 0 -n 6 ";
    int rc = 0;

    // A context that fits changes nothing; the storage options are accepted (their logits differ by rounding only).
    const std::string plain = run_cli("generate -m " + model + prompt + "--kv-cache f32", &rc);
    CHECK(rc == 0);
    const std::string fits = run_cli("generate -m " + model + prompt + "--kv-cache f32 --ctx 200", &rc);
    CHECK(rc == 0);
    CHECK(plain.substr(0, plain.find("prefill:")) == fits.substr(0, fits.find("prefill:")));
    run_cli("generate -m " + model + prompt + "--kv-cache int8 --lm-head int8", &rc);
    CHECK(rc == 0);

    // --kv-cache reaches the context: the saved context (its KV cache) is 4 bytes per value in f32, 1 in int8.
    const std::string s32 = (tmp.path / "f32.soul").string(), s8 = (tmp.path / "i8.soul").string();
    run_cli("generate -m " + model + prompt + "--kv-cache f32 --soul " + s32 + " --save-soul", &rc);
    CHECK(rc == 0);
    run_cli("generate -m " + model + prompt + "--kv-cache int8 --soul " + s8 + " --save-soul", &rc);
    CHECK(rc == 0);
    REQUIRE(fs::exists(s32));
    REQUIRE(fs::exists(s8));
    CHECK(fs::file_size(s8) + 1024 < fs::file_size(s32));  // 2560 bytes of f32 rows, 640 + 320 of scales in int8

    // --ctx bounds the cache: a prompt longer than it is refused with the reason, before anything runs.
    std::string out = run_cli("generate -m " + model + prompt + "--ctx 3", &rc);
    CAPTURE(out);
    CHECK(rc == 1);
    CHECK(has(out, "the prompt is 14 tokens, but this attention model's context (its KV cache) holds 0 of 3 tokens: "
                   "it does not fit (reset the context, create it with a larger n_ctx, or shorten the prompt)"));
    // A prompt that fits and a reply that would pass the end: the reply stops there, saying why.
    out = run_cli("generate -m " + model + prompt + "--ctx 16", &rc);
    CHECK(rc == 1);
    CHECK(has(out, "KV cache full"));

    // Bad values are refused before anything loads, naming the option and what it takes.
    out = run_cli("generate -m " + model + prompt + "--kv-cache f8", &rc);
    CHECK(rc == 2);
    CHECK(has(out, "--kv-cache must be one of f16, int8, f32, got 'f8'"));
    out = run_cli("generate -m " + model + prompt + "--lm-head q4", &rc);
    CHECK(rc == 2);
    CHECK(has(out, "--lm-head must be one of f32, bf16, int8"));
    out = run_cli("generate -m " + model + prompt + "--ctx -1", &rc);
    CHECK(rc == 2);
    CHECK(has(out, "--ctx must be an integer in [0, 2147483647]"));

    // chat in the model's template with a short cache: the turn that does not fit says so, /reset makes room.
    const fs::path input = tmp.path / "input.txt";
    {
        std::ofstream f(input);
        f << "/len 2\nHello\nTell me a long story about a tiny model that ran out of room\n/reset\nHi\n/quit\n";
    }
    out = run_cli("chat -m " + model + " --ctx 40 --kv-cache int8 --temp 0 --memories " + (tmp.path / "mem").string(), &rc,
                  input.string());
    CHECK(rc == 0);
    CHECK(has(out, "chat template: the model's own"));
    CHECK(has(out, "it does not fit (reset the context"));
    CHECK(has(out, "soul reset"));
}
