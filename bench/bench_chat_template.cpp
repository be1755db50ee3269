// Chat templates: parsing a real template, and rendering a 10-turn conversation with it (the messages JSON parsed
// each time, as ttt_chat_apply_template does). Templates from tests/data/chat_templates (found through
// TTT_TEST_DATA_DIR or relative to this file). No main() here: link benchmark::benchmark_main.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "chat/chat_template.h"

namespace {

std::filesystem::path templates_dir() {
    if (const char* v = std::getenv("TTT_TEST_DATA_DIR")) return std::filesystem::path(v) / "chat_templates";
    return std::filesystem::path(__FILE__).parent_path().parent_path() / "tests" / "data" / "chat_templates";
}

ttt::chat::ChatConfig load(const std::string& name) {
    std::ifstream f(templates_dir() / (name + ".json"), std::ios::binary);
    const std::string text((std::istreambuf_iterator<char>(f)), {});
    return ttt::chat::read_chat_config(text, name);
}

std::string conversation(int turns) {
    std::string j = R"([{"role":"system","content":"You are a helpful pirate. Answer in one or two sentences."})";
    for (int i = 0; i < turns; ++i) {
        j += R"(,{"role":"user","content":"Question number )" + std::to_string(i) + R"( about the sea, the ship and the treasure?"})";
        j += R"(,{"role":"assistant","content":"Arr, answer number )" + std::to_string(i) + R"(: the treasure lies beyond the reef."})";
    }
    return j + R"(,{"role":"user","content":"And the last question?"}])";
}

void BM_ChatParse(benchmark::State& state, const char* name) {
    const auto cfg = load(name);
    for (auto _ : state) benchmark::DoNotOptimize(ttt::chat::ChatTemplate(cfg.chat_template));
}

void BM_ChatRender(benchmark::State& state, const char* name) {
    const auto cfg = load(name);
    const ttt::chat::ChatTemplate t(cfg.chat_template);
    const std::string messages = conversation(10);
    ttt::chat::ChatRequest r;
    r.messages_json = messages;
    r.bos_token = cfg.bos_token;
    r.eos_token = cfg.eos_token;
    size_t bytes = 0;
    for (auto _ : state) {
        const std::string out = t.apply(r);
        bytes = out.size();
        benchmark::DoNotOptimize(out.data());
    }
    state.counters["prompt_bytes"] = static_cast<double>(bytes);
}

BENCHMARK_CAPTURE(BM_ChatParse, llama3_1, "llama-3.1-8b-instruct")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_ChatParse, qwen2_5, "qwen2.5-3b-instruct")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_ChatRender, llama3_1, "llama-3.1-8b-instruct")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_ChatRender, qwen2_5, "qwen2.5-3b-instruct")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_ChatRender, mistral_v0_3, "mistral-7b-instruct-v0.3")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_ChatRender, tinyllama, "tinyllama-1.1b-chat-v1.0")->Unit(benchmark::kMicrosecond);

}  // namespace
