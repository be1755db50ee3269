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
#include "model/forward.h"
#include "model/prepared_model.h"
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
    // The session runs every layer on `backend` with the model's weights prepared there (shared by contexts).
    // rows_per_pass: prompt tokens per layer-major pass (cancel and abort checks run between passes).
    Session(const ModelWeights& weights, const Tokenizer* tokenizer, std::unique_ptr<Backend> backend,
            std::shared_ptr<const PreparedModel> prepared, size_t rows_per_pass = kDefaultRowsPerPass);

    // Run tokens (ids checked first: nothing changes on a bad id) in passes of up to rows_per_pass tokens,
    // cancellable between passes. Ends a generation in progress (its logits would be stale). logits: room for V
    // floats (want last) or n·V (want all), or nullptr. ran (optional) is increased by the tokens run, also when
    // it throws.
    void run(const int32_t* tokens, size_t n, LogitRows want, float* logits, size_t* ran = nullptr);
    static constexpr size_t kDefaultRowsPerPass = 128;
    // Step several sessions of one model together, one pass per kDefaultRowsPerPass rows, on sessions[0]'s
    // backend. counts[i] tokens each (consecutive in tokens); logits: nullptr or n·V (last token of each).
    static void run_batch(Session* const* sessions, size_t n, const int32_t* tokens, const size_t* counts,
                          float* logits);
    // Validate ids against the vocabulary (what run checks first).
    void check_tokens(const int32_t* tokens, size_t n) const;
    Forward& forward() { return forward_; }
    SoulState& mutable_soul() { return soul_; }
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

    void check_context_room(size_t n, const char* what, bool learning) const;
    const ModelWeights& weights_;
    const Tokenizer* tokenizer_;
    std::unique_ptr<Backend> backend_;
    size_t rows_per_pass_;
    Forward forward_;
    SoulState soul_;
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
