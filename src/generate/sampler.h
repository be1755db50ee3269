// The sampler chain: picks the next token from a row of logits.
//
// Order of the stages (each one sees only what the previous one kept):
//   1. logit bias         logit[t] += bias  (-INFINITY bans t)
//   2. penalties          over the distinct tokens of the last `penalty_window` accepted tokens, each with its count c:
//                         repetition (CTRL): logit > 0 ? logit / r : logit * r; then logit -= presence + c · frequency
//   3. greedy             temperature <= 0: argmax, ties → lowest id; nothing below runs and no random number is used
//   4. temperature        logit / T
//   5. top-k              keep the k largest (ties at the boundary → lower ids); <= 0 or >= vocab: off
//   6. softmax            over what top-k kept (over every allowed token when top-k is off)
//   7. top-p              keep the smallest prefix (by probability, descending) whose mass ≥ p; >= 1: off
//   8. min-p              keep tokens with p ≥ min_p · p_max; <= 0: off
//   9. renormalise        and draw by inverse CDF with one uniform double from the RNG
// Top-p and min-p both keep a prefix of the same ordering and min-p is scale-free, so their order does not matter;
// it is fixed here to match llama.cpp's default chain. At least one token always survives.
//
// Bad numbers: a NaN logit (from the model or produced by +inf + -inf bias) is treated as -inf, i.e. banned; a +inf
// logit is treated as the largest finite float (it wins, ties with other +inf broken as usual). A token whose logit
// is -inf is never returned; when every token is, sample() throws Error(TTT_ERR_INVALID_STATE).
//
// Cost per call: O(V) for the copy, bias and the max, O(V log k) worst case (O(V) typical) for top-k with a k-sized
// heap, O(k log k) for the rest. With top-k off, tokens that min-p would drop anyway are filtered out in O(V) before
// the sort, so a full O(V log V) sort happens only with both top-k and min-p off.
//
// Determinism: given the config (seed included) and the accepted history, the same logits give the same token.
// Each non-greedy sample() consumes exactly one double from the RNG; greedy consumes none.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <utility>
#include <vector>

#include "common/rng.h"

namespace ttt {

struct SamplerConfig {
    float temperature = 0.8f;         // <= 0: greedy (argmax, ties → lowest id)
    int32_t top_k = 40;               // <= 0: off
    float top_p = 0.95f;              // >= 1: off; must be > 0
    float min_p = 0.05f;              // <= 0: off; must be <= 1 (keep tokens with p >= min_p * p_max)
    float repetition_penalty = 1.0f;  // 1: off; must be > 0; once per distinct token in the window
    float presence_penalty = 0.0f;    // subtracted once per distinct token in the window (negative encourages)
    float frequency_penalty = 0.0f;   // subtracted × count in the window (negative encourages)
    int32_t penalty_window = 64;      // last N accepted tokens; 0: off
    uint64_t seed = 0;
    std::vector<std::pair<int32_t, float>> logit_bias;  // added to logits first; -INFINITY bans a token
};

class Sampler {
public:
    // Validates the config; throws Error(TTT_ERR_INVALID_ARGUMENT) naming the offending field. Tokens are sampled
    // from [0, vocab_size). logit_bias ids must be below bias_id_limit (0: vocab_size): a caller that samples only
    // the first vocab_size ids of a longer row (a model with padding rows) passes the row length, and bias on ids
    // that are never sampled is accepted and has no effect.
    Sampler(const SamplerConfig& config, int32_t vocab_size, int32_t bias_id_limit = 0);

    // logits: [vocab_size]. Applies the chain above and returns a token id in [0, vocab_size).
    int32_t sample(const float* logits);
    // Adds a token to the penalty history (ids outside [0, vocab_size) are refused).
    void accept(int32_t token);
    // Clears the history and re-seeds the RNG with config.seed: the next samples repeat the first ones.
    void reset();

    const SamplerConfig& config() const { return config_; }
    int32_t vocab_size() const { return vocab_; }

private:
    struct Candidate {
        int32_t id;
        float logit;
        double p;
    };

    void apply_penalties();
    int32_t argmax() const;
    void collect_top_k(size_t k);
    void collect_all();

    SamplerConfig config_;
    int32_t vocab_;
    Rng rng_;
    std::deque<int32_t> history_;  // the last penalty_window accepted tokens, oldest first
    // Scratch reused between calls so sampling does not allocate after the first call.
    std::vector<float> logits_;          // (V) the working copy of the logits
    std::vector<Candidate> candidates_;  // the tokens still in play, sorted by logit descending, id ascending
    std::vector<int32_t> window_;        // the history, sorted, to count distinct tokens
    double total_mass_ = 0;              // softmax denominator of the candidate set (see collect_*)
};

}  // namespace ttt
