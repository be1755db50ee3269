// Evaluation of a model file on a token file, through the one batched forward that contexts use (the same
// function and bits as ttt_forward_all on each window).
//
// The file is cut into windows of context_len + 1 tokens that overlap by one token (starts 0, T, 2T, …; the last
// window may be shorter), so every token but the first is a target exactly once. Each window starts from a fresh
// soul, runs the forward over its first tokens and scores the next-token log-probabilities.
//
//   mean_loss      = Σ NLL / targets            (natural log)
//   perplexity     = exp(mean_loss)
//   bits_per_byte  = Σ NLL / ln 2 / bytes
// bytes: from the token file's .meta.json sidecar (the UTF-8 text bytes the tokens were made from), scaled by
// targets / tokens in the file, when the sidecar exists and its token count matches the file — the exact text size
// of the data, independent of how the tokenizer splits it. Otherwise the sum of the byte lengths of the evaluated
// target tokens (their pieces), end-of-generation tokens counting 0 bytes. `bytes_source` says which.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace ttt {

struct EvalOptions {
    int32_t context_len = 128;
    uint64_t max_tokens = 0;  // evaluate at most this many target tokens; 0 = the whole file
    int32_t threads = 0;      // the backend's threads (0 = all hardware threads); the result is the same for any
    std::string meta_path;    // "" = the sidecar beside the data file (train.u32 -> train.meta.json)
    bool any_tokenizer = false;  // score a file whose sidecar names another tokenizer (refused by default, 52)
    // Ternary products on int8 activations even for a float model (CpuBackendOptions::int8_float_models); unset:
    // what the environment variable TTT_ACTIVATIONS says (the model's own activations by default).
    std::optional<bool> int8_activations;
    // Target tokens scored so far, growing; called on the calling thread after each group of windows.
    std::function<void(uint64_t done, uint64_t total)> progress;
};

struct EvalResult {
    uint64_t windows = 0;
    uint64_t targets = 0;       // tokens scored
    double total_nll = 0.0;     // nats
    double mean_loss = 0.0;
    double perplexity = 0.0;
    double bytes = 0.0;         // text bytes behind the scored tokens
    double bits_per_byte = 0.0; // 0 when bytes is 0
    std::string bytes_source;   // "meta" or "pieces"
};

// Throws ttt::Error: the C API's status and message for model problems, TTT_ERR_FORMAT for bad data (ids outside the
// model's vocab name the byte offset), TTT_ERR_INVALID_ARGUMENT for bad options.
EvalResult evaluate_model(const std::string& model_path, const std::string& data_path, const EvalOptions& options);

}  // namespace ttt
