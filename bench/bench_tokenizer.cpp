// Tokenizer throughput (MB/s of UTF-8 text) on tinyshakespeare: encode the whole corpus in one call, encode it
// line by line (the chat-sized case, where the word cache matters), and decode the ids of the whole corpus.
// Compare with tests/tokenizer/bench_hf.py (HF `tokenizers`, one thread) on the same machine.
//
// No main() here: link benchmark::benchmark_main. Data is found through TTT_SHARED_DATA_DIR / TTT_TEST_DATA_DIR
// (environment variables or compile definitions), else relative to this source file.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace {

namespace fs = std::filesystem;

fs::path data_dir(const char* env, const fs::path& fallback) {
    if (const char* v = std::getenv(env)) return v;
    return fallback;
}

fs::path shared_dir() {
#ifdef TTT_SHARED_DATA_DIR
    return data_dir("TTT_SHARED_DATA_DIR", TTT_SHARED_DATA_DIR);
#else
    return data_dir("TTT_SHARED_DATA_DIR", fs::path(__FILE__).parent_path().parent_path().parent_path() / "shared" / "data");
#endif
}

fs::path test_dir() {
#ifdef TTT_TEST_DATA_DIR
    return data_dir("TTT_TEST_DATA_DIR", TTT_TEST_DATA_DIR);
#else
    return data_dir("TTT_TEST_DATA_DIR", fs::path(__FILE__).parent_path().parent_path() / "tests" / "data");
#endif
}

bool read(const fs::path& p, std::string* out) {
    std::ifstream f(p, std::ios::binary);
    if (!f) return false;
    out->assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
    return true;
}

struct Fixture {
    std::unique_ptr<ttt::Tokenizer> tok;
    std::string corpus;
    std::vector<std::string> lines;
    std::vector<int32_t> ids;
    std::string error;
};

// Loaded once per tokenizer; error says what is missing.
const Fixture& fixture(const std::string& which) {
    static std::map<std::string, Fixture> cache;
    auto it = cache.find(which);
    if (it != cache.end()) return it->second;
    Fixture& f = cache[which];
    fs::path tok_path = which == "tinyllama" ? shared_dir() / "tokenizers" / "tinyllama-tokenizer.json"
                                             : test_dir() / "tokenizer" / (which + ".json");
    std::string json;
    if (!read(shared_dir() / "tinyshakespeare.txt", &f.corpus)) {
        f.error = "shared data absent: " + (shared_dir() / "tinyshakespeare.txt").string();
        return f;
    }
    if (!read(tok_path, &json)) {
        f.error = "tokenizer absent: " + tok_path.string();
        return f;
    }
    f.tok = ttt::Tokenizer::from_json(json);
    size_t start = 0;
    for (size_t k; (k = f.corpus.find('\n', start)) != std::string::npos; start = k + 1) {
        f.lines.push_back(f.corpus.substr(start, k + 1 - start));
    }
    f.ids = f.tok->encode(f.corpus, false, false);
    return f;
}

void BM_encode_whole(benchmark::State& state, const std::string& which) {
    const Fixture& f = fixture(which);
    if (!f.tok) {
        state.SkipWithError(f.error.c_str());
        return;
    }
    size_t n = 0;
    for (auto _ : state) {
        auto ids = f.tok->encode(f.corpus, false, false);
        n = ids.size();
        benchmark::DoNotOptimize(ids.data());
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * f.corpus.size()));
    state.counters["tokens"] = static_cast<double>(n);
}

void BM_encode_lines(benchmark::State& state, const std::string& which) {
    const Fixture& f = fixture(which);
    if (!f.tok) {
        state.SkipWithError(f.error.c_str());
        return;
    }
    for (auto _ : state) {
        for (const std::string& line : f.lines) {
            auto ids = f.tok->encode(line, false, false);
            benchmark::DoNotOptimize(ids.data());
        }
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * f.corpus.size()));
}

void BM_decode_whole(benchmark::State& state, const std::string& which) {
    const Fixture& f = fixture(which);
    if (!f.tok) {
        state.SkipWithError(f.error.c_str());
        return;
    }
    for (auto _ : state) {
        std::string text = f.tok->decode(f.ids.data(), f.ids.size(), false);
        benchmark::DoNotOptimize(text.data());
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * f.corpus.size()));
}

}  // namespace

BENCHMARK_CAPTURE(BM_encode_whole, tinyllama, std::string("tinyllama"))->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_encode_whole, bytelevel, std::string("ttt_bytelevel"))->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_encode_lines, tinyllama, std::string("tinyllama"))->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_encode_lines, bytelevel, std::string("ttt_bytelevel"))->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_decode_whole, tinyllama, std::string("tinyllama"))->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_decode_whole, bytelevel, std::string("ttt_bytelevel"))->Unit(benchmark::kMillisecond);
