// generation_config.json of a Hugging Face directory: its eos_token_id (a number or a list) and bos_token_id are the
// model's end tokens and BOS, so generation stops on any of them; they travel into a converted .bitt. Checked with
// the tiny llama_gqa2_untied checkpoint and a 40-token hand tokenizer, through the C ABI.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "bit_ttt.h"
#include "common/error.h"
#include "load/hf_checkpoint.h"
#include "load/hf_convert.h"
#include "test_util.h"

namespace fs = std::filesystem;

namespace {

struct Generated {
    int32_t first_token = -1, stop = -1, steps = 0;
};

// Greedy generation of up to 3 tokens after "the"; the first token and why it ended.
Generated generate(const std::string& path, ttt_model_info* info = nullptr) {
    ttt_model* model = nullptr;
    REQUIRE(ttt_load_model(path.c_str(), nullptr, &model) == TTT_OK);
    if (info) {
        info->struct_size = sizeof *info;
        REQUIRE(ttt_model_get_info(model, info) == TTT_OK);
    }
    ttt_context* ctx = nullptr;
    REQUIRE(ttt_create(model, nullptr, &ctx) == TTT_OK);
    ttt_generate_params p;
    ttt_generate_params_init(&p, sizeof p);
    p.temperature = 0.0f;
    p.max_tokens = 3;
    p.repetition_penalty = 1.0f;
    const std::string prompt = "the";
    REQUIRE(ttt_generate_begin(ctx, prompt.data(), prompt.size(), &p) == TTT_OK);
    Generated g;
    for (int32_t reason = TTT_STOP_NONE; reason == TTT_STOP_NONE;) {
        int32_t token = -1;
        const char* text = nullptr;
        size_t len = 0;
        REQUIRE(ttt_generate_next(ctx, &token, &text, &len, &reason) == TTT_OK);
        if (g.steps++ == 0) g.first_token = token;
        g.stop = reason;
    }
    ttt_destroy(ctx);
    ttt_model_free(model);
    return g;
}

fs::path tiny_dir(const fs::path& to) {
    fs::copy(ttt_test::test_data_dir() / "hf" / "llama_gqa2_untied", to, fs::copy_options::recursive);
    fs::copy_file(ttt_test::test_data_dir() / "tokenizer" / "hand_merges.json", to / "tokenizer.json");
    return to;
}

}  // namespace

TEST_CASE("generation_config.json: its end tokens (number or list) stop generation, its bos is the model's") {
    ttt_test::TempDir tmp;
    const fs::path dir = tiny_dir(tmp.path / "m");
    const Generated free_run = generate(dir.string());
    REQUIRE(free_run.first_token >= 0);
    CHECK(free_run.stop == TTT_STOP_MAX_TOKENS);
    const int32_t x = free_run.first_token, other = x == 3 ? 4 : 3;

    // A list whose second id is what the model emits first: generation ends there, before emitting it.
    std::ofstream(dir / "generation_config.json", std::ios::trunc)
        << "{\"bos_token_id\": 5, \"eos_token_id\": [" << other << ", " << x << "], \"do_sample\": false}";
    ttt_model_info info;
    const Generated stopped = generate(dir.string(), &info);
    CHECK(stopped.first_token == x);
    CHECK(stopped.stop == TTT_STOP_EOS);
    CHECK(info.eos_id == other);
    CHECK(info.bos_id == 5);
    const ttt::HfCheckpoint ck = ttt::load_hf_checkpoint(dir.string());
    CHECK(ck.weights.config.eos_id == other);
    CHECK(ck.weights.config.end_ids == std::vector<int32_t>{x});

    // A single number; and the end tokens travel into a converted .bitt.
    std::ofstream(dir / "generation_config.json", std::ios::trunc) << "{\"eos_token_id\": " << x << "}";
    CHECK(generate(dir.string()).stop == TTT_STOP_EOS);
    std::ofstream(dir / "generation_config.json", std::ios::trunc) << "{\"eos_token_id\": [" << other << ", " << x << "]}";
    const std::string bitt = (tmp.path / "m.bitt").string();
    ttt::convert_hf_to_bitt(dir.string(), bitt);
    CHECK(generate(bitt).stop == TTT_STOP_EOS);

    // Without the file, config.json's list is used the same way.
    fs::remove(dir / "generation_config.json");
    std::ifstream in(dir / "config.json");
    std::string config((std::istreambuf_iterator<char>(in)), {});
    in.close();
    const size_t at = config.find("\"eos_token_id\"");
    REQUIRE(at != std::string::npos);
    config.replace(at, config.find_first_of(",}", at) - at, "\"eos_token_id\": [" + std::to_string(other) + ", " + std::to_string(x) + "]");
    std::ofstream(dir / "config.json", std::ios::trunc) << config;
    CHECK(generate(dir.string()).stop == TTT_STOP_EOS);

    // Malformed files are refused with the reason.
    std::ofstream(dir / "generation_config.json", std::ios::trunc) << "{\"eos_token_id\": \"</s>\"}";
    CHECK_THROWS_WITH_AS(ttt::load_hf_checkpoint(dir.string()), doctest::Contains("generation_config.json: \"eos_token_id\" must be a token id"),
                         ttt::Error);
    std::ofstream(dir / "generation_config.json", std::ios::trunc) << "[1, 2";
    CHECK_THROWS_WITH_AS(ttt::load_hf_checkpoint(dir.string()), doctest::Contains("generation_config.json"), ttt::Error);
}
