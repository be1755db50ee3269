// A Session is everything one context owns: the soul, scratch buffers, the logits of the last token, the state of
// an ongoing generation, performance counters and the cancel flag. It runs tokens through the model, generates
// text, learns from text and sleeps on memories. The C ABI (src/api) only checks arguments and calls these.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "generate/sampler.h"
#include "generate/text_stream.h"
#include "model/bitllama.h"
#include "model/soul_state.h"
#include "model/weights.h"

namespace ttt {

class Tokenizer;

struct GenerateOptions {
    int32_t max_tokens = 256;
    SamplerConfig sampler;
    std::vector<std::string> stop_strings;
    bool add_special = true;    // BOS/EOS on the prompt as the tokenizer says
    bool parse_special = false; // user text never injects control tokens unless asked
};

enum class StopReason : int32_t { None = 0, Eos = 1, MaxTokens = 2, StopString = 3, Callback = 4 };

struct GenerateStep {
    int32_t token = -1;  // -1 when the step produced no token (the end)
    std::string text;    // text completed by this step (may be empty)
    StopReason stop = StopReason::None;
};

struct SleepOptions {
    std::string memories_dir;
    int32_t max_days = 5;        // 0 = all
    bool random_days = false;
    uint64_t seed = 0;
    int32_t max_piece_chars = 500;
    std::function<bool(float)> progress;  // false stops (TTT_ERR_ABORTED)
};

struct PerfCounters {
    uint64_t prompt_tokens = 0;
    double prompt_seconds = 0;
    uint64_t generated_tokens = 0;
    double generation_seconds = 0;
};

class Session {
public:
    Session(const ModelWeights& weights, const Tokenizer* tokenizer, const Backend& backend);

    // Run tokens (ids checked first: nothing changes on a bad id), cancellable at every token. Ends a generation
    // in progress (its logits would be stale). logits_at(i) says where token i's logits go (nullptr: not needed).
    // ran (optional) is increased by the tokens run, also when it throws.
    void run(const int32_t* tokens, size_t n, const std::function<float*(size_t)>& logits_at, size_t* ran = nullptr);
    void reset();
    void request_cancel() { cancel_.store(true); }
    // New work (forward, learn, sleep, a new generation) starts by clearing a cancel left over from earlier work;
    // ttt_generate_next does not, so a cancel between two steps of a generation stops it.
    void start_work() { cancel_.store(false); }

    void begin(std::string_view prompt, const GenerateOptions& opt);
    GenerateStep next();
    bool generating() const { return generating_; }
    // Ends a generation in progress (the next `next()` fails until a new begin).
    void end_generation() { generating_ = false; }

    // Both add the tokens learned to *learned as they go, so a caller sees the count also when they throw.
    void learn(std::string_view text, bool add_special, bool parse_special, size_t* learned);
    void sleep(const SleepOptions& opt, size_t* learned);

    const SoulState& soul() const { return soul_; }
    // Replace the soul (a loaded soul file); the counters other threads read follow.
    void set_soul(SoulState&& soul);
    // Readable from any thread while the session works (copies published after every token).
    uint64_t position() const { return published_position_.load(); }
    uint64_t level() const { return published_level_.load(); }
    // Polled before every token next to the cancel flag; returns true to stop. Runs on the working thread.
    void set_abort_check(std::function<bool()> check) { abort_check_ = std::move(check); }
    const PerfCounters& perf() const { return perf_; }
    const Tokenizer& tokenizer() const;  // throws TTT_ERR_UNSUPPORTED when the model has none

private:
    void check_cancel(size_t done, size_t total);
    GenerateStep step();
    void forward_one(int32_t token, float* logits);

    const ModelWeights& weights_;
    const Tokenizer* tokenizer_;
    const Backend& backend_;
    SoulState soul_;
    ForwardScratch scratch_;
    std::vector<float> logits_;  // (V) after the last token run for generation
    std::atomic<bool> cancel_{false};
    std::function<bool()> abort_check_;
    std::atomic<uint64_t> published_position_{0}, published_level_{0};
    void publish() {
        published_position_.store(soul_.position);
        published_level_.store(soul_.level);
    }
    PerfCounters perf_;

    // Generation in progress.
    bool generating_ = false;
    bool finished_ = false;
    StopReason finished_reason_ = StopReason::None;
    int32_t generated_ = 0;
    int32_t max_tokens_ = 0;
    std::unique_ptr<Sampler> sampler_;
    std::unique_ptr<TextStream> stream_;
};

}  // namespace ttt
