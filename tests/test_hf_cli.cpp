// bit-ttt with Hugging Face checkpoints (docs/models.md): info shows the architecture, convert streams a checkpoint
// to .bitt with its --ternary / --bf16 options (and refuses them where they do not apply), and generate / chat take
// the context options of attention models: --ctx (KV cache length), --kv-cache (its storage), --lm-head.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "attention_fixture.h"
#include "cli_util.h"

using namespace ttt_test;
namespace fs = std::filesystem;

namespace {

bool has(const std::string& out, const std::string& what) { return out.find(what) != std::string::npos; }

std::string hf(const std::string& name) { return (test_data_dir() / "hf" / name).string(); }

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
