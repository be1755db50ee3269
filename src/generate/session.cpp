#include "generate/session.h"

#include <algorithm>
#include <chrono>

#include "common/error.h"
#include "io/file.h"
#include "memory/memories.h"
#include "tokenizer/tokenizer.h"

namespace ttt {

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

Session::Session(const ModelWeights& weights, const Tokenizer* tokenizer, std::unique_ptr<Backend> backend,
                 std::shared_ptr<const PreparedModel> prepared, size_t rows_per_pass)
    : weights_(weights),
      tokenizer_(tokenizer),
      backend_(std::move(backend)),
      rows_per_pass_(std::max<size_t>(1, rows_per_pass)),
      forward_(weights.config, all_layers_on(backend_.get(), prepared), std::max(rows_per_pass_, kDefaultRowsPerPass)),
      soul_(weights.config),
      logits_(size_t(weights.config.vocab_size)) {
    soul_.place(forward_.layer_backends());  // the soul lives where its layers run
}

const Tokenizer& Session::tokenizer() const {
    if (!tokenizer_) throw Error(TTT_ERR_UNSUPPORTED, "this model has no tokenizer (a model directory needs tokenizer.json)");
    return *tokenizer_;
}

void Session::check_cancel(size_t done, size_t total) {
    // A cancel is consumed by the call that sees it.
    if (cancel_.exchange(false) || (abort_check_ && abort_check_()))
        throw Error(TTT_ERR_ABORTED, "cancelled after " + std::to_string(done) + " of " + std::to_string(total) + " tokens");
}

void Session::set_soul(SoulState&& soul) {
    generating_ = false;  // the logits of the old soul no longer apply
    soul.place(forward_.layer_backends());
    soul_ = std::move(soul);
    publish();
}

void Session::forward_one(int32_t token, float* logits) {
    SequenceInput in{&token, 1, &soul_, LogitRows::last, logits};
    forward_.run(&in, 1);
    publish();
}

void Session::check_tokens(const int32_t* tokens, size_t n) const {
    const int32_t V = weights_.config.vocab_size;
    for (size_t i = 0; i < n; ++i)
        if (tokens[i] < 0 || tokens[i] >= V)
            throw Error(TTT_ERR_INVALID_ARGUMENT, "token " + std::to_string(i) + " is " + std::to_string(tokens[i]) +
                                                      ", outside the vocabulary [0, " + std::to_string(V) + ")");
}

void Session::run(const int32_t* tokens, size_t n, LogitRows want, float* logits, size_t* ran) {
    check_tokens(tokens, n);
    generating_ = false;  // the soul is about to change: the generation's logits would be stale
    const auto t0 = std::chrono::steady_clock::now();
    const size_t V = size_t(weights_.config.vocab_size);
    size_t done = 0;
    try {
        while (done < n) {
            check_cancel(done, n);
            // One layer-major pass over the next tokens; logits of its rows as asked.
            const size_t k = std::min(rows_per_pass_, n - done);
            SequenceInput in{tokens + done, k, &soul_, LogitRows::none, nullptr};
            if (logits && want == LogitRows::all) {
                in.want = LogitRows::all;
                in.logits = logits + done * V;
            } else if (logits && want == LogitRows::last && done + k == n) {
                in.want = LogitRows::last;
                in.logits = logits;
            }
            forward_.run(&in, 1);
            done += k;
            publish();
        }
    } catch (...) {
        perf_.prompt_tokens += done;
        perf_.prompt_seconds += seconds_since(t0);
        if (ran) *ran += done;
        throw;
    }
    if (ran) *ran += n;
    perf_.prompt_tokens += n;
    perf_.prompt_seconds += seconds_since(t0);
}

void Session::run_batch(Session* const* sessions, size_t n, const int32_t* tokens, const size_t* counts,
                        float* logits) {
    // Everything is checked before any soul changes.
    size_t offset = 0;
    for (size_t i = 0; i < n; ++i) {
        sessions[i]->check_tokens(tokens + offset, counts[i]);
        offset += counts[i];
    }
    for (size_t i = 0; i < n; ++i) {
        sessions[i]->start_work();
        if (sessions[i]->abort_check_ && sessions[i]->abort_check_())
            throw Error(TTT_ERR_ABORTED, "context " + std::to_string(i) + "'s abort callback stopped the batch before it ran");
    }
    const auto t0 = std::chrono::steady_clock::now();
    const size_t V = size_t(sessions[0]->weights_.config.vocab_size);
    std::vector<SequenceInput> in(n);
    offset = 0;
    for (size_t i = 0; i < n; ++i) {
        sessions[i]->generating_ = false;
        in[i] = {tokens + offset, counts[i], &sessions[i]->soul_, logits ? LogitRows::last : LogitRows::none,
                 logits ? logits + i * V : nullptr};
        offset += counts[i];
    }
    sessions[0]->forward_.run(in.data(), n);
    const double seconds = seconds_since(t0);
    for (size_t i = 0; i < n; ++i) {
        sessions[i]->publish();
        sessions[i]->perf_.prompt_tokens += counts[i];
        sessions[i]->perf_.prompt_seconds += seconds;
    }
}

void Session::reset() {
    soul_.reset();
    publish();
    cancel_.store(false);
    generating_ = false;
}

void Session::begin(std::string_view prompt, const GenerateOptions& opt) {
    start_work();
    generating_ = false;  // any earlier generation is discarded, also when this one fails to start
    const Tokenizer& tok = tokenizer();
    if (opt.max_tokens < 0) throw Error(TTT_ERR_INVALID_ARGUMENT, "max_tokens must be >= 0");
    // Validate everything before the soul changes. The sampler sees only ids below the tokenizer's vocab size: a
    // model whose vocab is larger than its tokenizer's (padding rows) never emits an id the tokenizer refuses.
    const int32_t sample_vocab = std::min(weights_.config.vocab_size, tok.vocab_size());
    auto sampler = std::make_unique<Sampler>(opt.sampler, sample_vocab, weights_.config.vocab_size);
    auto stream = std::make_unique<TextStream>(opt.stop_strings);
    std::vector<int32_t> ids = tok.encode(prompt, opt.add_special, opt.parse_special);
    if (ids.empty()) {
        // Nothing to condition on: start from BOS when there is one, else refuse (an empty prompt has no logits).
        if (tok.bos_id() < 0) throw Error(TTT_ERR_INVALID_ARGUMENT, "the prompt is empty and the tokenizer has no BOS token");
        ids.push_back(tok.bos_id());
    }
    const size_t n = ids.size();
    check_context_room(n, "the prompt", false);  // an attention model's prompt is read whole or not at all
    run(ids.data(), n, LogitRows::last, logits_.data());
    for (int32_t id : ids)
        if (id < sample_vocab) sampler->accept(id);  // penalties see the prompt too
    sampler_ = std::move(sampler);
    stream_ = std::move(stream);
    generated_ = 0;
    max_tokens_ = opt.max_tokens;
    finished_ = false;
    finished_reason_ = StopReason::None;
    generating_ = true;
}

GenerateStep Session::next() {
    if (!generating_) throw Error(TTT_ERR_INVALID_STATE, "no generation in progress: call ttt_generate_begin first");
    try {
        return step();
    } catch (...) {
        generating_ = false;  // a cancelled or failed generation ends; begin a new one
        throw;
    }
}

GenerateStep Session::step() {
    GenerateStep step;
    if (finished_) {
        step.stop = finished_reason_;
        return step;
    }
    auto finish = [&](StopReason why) {
        if (why != StopReason::StopString) step.text += stream_->finish();
        finished_ = true;
        finished_reason_ = why;
        step.stop = why;
    };
    if (generated_ >= max_tokens_) {
        finish(StopReason::MaxTokens);
        return step;
    }
    check_cancel(0, 1);
    const auto t0 = std::chrono::steady_clock::now();
    const Tokenizer& tok = tokenizer();
    const int32_t token = sampler_->sample(logits_.data());
    step.token = token;
    if (tok.is_eog(token)) {
        finish(StopReason::Eos);
        return step;
    }
    sampler_->accept(token);
    step.text = stream_->push(tok.token_to_piece(token));
    ++generated_;
    if (stream_->stopped()) {
        finish(StopReason::StopString);
        return step;
    }
    // The soul learns every emitted token; its logits drive the next step.
    forward_one(token, logits_.data());
    perf_.generated_tokens += 1;
    perf_.generation_seconds += seconds_since(t0);
    if (generated_ >= max_tokens_) finish(StopReason::MaxTokens);
    return step;
}

// An attention model has no fast weights: what it learns is what its context holds, its KV cache. Text that would
// not fit the room left is refused whole, before anything changes, rather than learned in part.
void Session::check_context_room(size_t n, const char* what, bool learning) const {
    if (weights_.config.arch == Architecture::ttt || soul_.position + n <= soul_.kv.capacity) return;
    // A prompt is not "learned" in the user's words: the remedy names what the caller can shorten.
    throw Error(TTT_ERR_INVALID_STATE,
                std::string(what) + " is " + std::to_string(n) + " tokens, but this attention model's context (its KV "
                "cache) holds " + std::to_string(soul_.position) + " of " + std::to_string(soul_.kv.capacity) +
                (learning ? " tokens: learning means reading into the context, and it does not fit (reset the "
                            "context, create it with a larger n_ctx, or learn less)"
                          : " tokens: it does not fit (reset the context, create it with a larger n_ctx, or shorten "
                            "the prompt)"));
}

void Session::learn(std::string_view text, bool add_special, bool parse_special, size_t* learned) {
    start_work();
    generating_ = false;
    std::vector<int32_t> ids = tokenizer().encode(text, add_special, parse_special);
    check_context_room(ids.size(), "the text to learn", true);
    run(ids.data(), ids.size(), LogitRows::none, nullptr, learned);
}

void Session::sleep(const SleepOptions& opt, size_t* learned) {
    start_work();
    generating_ = false;
    if (opt.memories_dir.empty()) throw Error(TTT_ERR_INVALID_ARGUMENT, "memories_dir is empty");
    if (opt.max_days < 0) throw Error(TTT_ERR_INVALID_ARGUMENT, "max_days must be >= 0");
    if (opt.max_piece_chars <= 0) throw Error(TTT_ERR_INVALID_ARGUMENT, "max_piece_chars must be > 0");
    tokenizer();
    // A mistyped folder should not look like "nothing to remember".
    if (!is_directory(opt.memories_dir)) throw Error(TTT_ERR_IO, "memories folder '" + opt.memories_dir + "' does not exist");
    std::vector<MemoryDay> days = read_memories(opt.memories_dir);
    ReplayOptions ro;
    ro.max_days = opt.max_days;
    ro.random_days = opt.random_days;
    ro.seed = opt.seed;
    ro.max_piece_chars = size_t(opt.max_piece_chars);
    std::vector<std::string> pieces = build_replay(days, ro);
    // Tokenised up front: an attention model's context must have room for all of it (check_context_room).
    std::vector<std::vector<int32_t>> ids(pieces.size());
    size_t total = 0;
    for (size_t i = 0; i < pieces.size(); ++i) total += (ids[i] = tokenizer().encode(pieces[i], false, false)).size();
    check_context_room(total, "the memories to replay", true);
    for (size_t i = 0; i < pieces.size(); ++i) {
        if (opt.progress && !opt.progress(float(i) / float(pieces.size())))
            throw Error(TTT_ERR_ABORTED, "sleep stopped by the progress callback after " + std::to_string(i) + " of " +
                                             std::to_string(pieces.size()) + " pieces");
        run(ids[i].data(), ids[i].size(), LogitRows::none, nullptr, learned);
    }
    if (opt.progress) opt.progress(1.0f);
}

}  // namespace ttt
