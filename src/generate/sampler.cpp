#include "generate/sampler.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <string>

#include "common/error.h"

namespace ttt {

namespace {

std::string num(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", v);
    return buf;
}

[[noreturn]] void bad_field(const std::string& field, const std::string& rule, double got) {
    fail_argument("sampler config: " + field + " " + rule + ", got " + num(got));
}

}  // namespace

Sampler::Sampler(const SamplerConfig& config, int32_t vocab_size, int32_t bias_id_limit)
    : config_(config), vocab_(vocab_size), rng_(config.seed) {
    const SamplerConfig& c = config_;
    if (vocab_size <= 0) bad_field("vocab_size", "must be positive", vocab_size);
    const int32_t id_limit = std::max(vocab_size, bias_id_limit);
    if (!std::isfinite(c.temperature)) bad_field("temperature", "must be a finite number (<= 0 means greedy)", c.temperature);
    if (std::isnan(c.top_p) || c.top_p <= 0) bad_field("top_p", "must be > 0 (>= 1 turns it off)", c.top_p);
    if (std::isnan(c.min_p) || c.min_p > 1) bad_field("min_p", "must be <= 1 (<= 0 turns it off)", c.min_p);
    if (!std::isfinite(c.repetition_penalty) || c.repetition_penalty <= 0)
        bad_field("repetition_penalty", "must be a finite number > 0 (1 turns it off)", c.repetition_penalty);
    if (!std::isfinite(c.presence_penalty)) bad_field("presence_penalty", "must be a finite number", c.presence_penalty);
    if (!std::isfinite(c.frequency_penalty))
        bad_field("frequency_penalty", "must be a finite number", c.frequency_penalty);
    if (c.penalty_window < 0) bad_field("penalty_window", "must be >= 0 (0 turns penalties off)", c.penalty_window);
    for (size_t i = 0; i < c.logit_bias.size(); ++i) {
        const std::string field = "logit_bias[" + std::to_string(i) + "]";
        const int32_t token = c.logit_bias[i].first;
        const float bias = c.logit_bias[i].second;
        if (token < 0 || token >= id_limit)
            bad_field(field, "token id must be in [0, " + std::to_string(id_limit) + ")", token);
        // +inf would turn the softmax into NaN; -inf is the documented way to ban a token.
        if (std::isnan(bias) || bias == INFINITY) bad_field(field, "bias must be finite or -INFINITY", bias);
    }
    auto& bias = config_.logit_bias;  // entries for ids that are never sampled change nothing
    bias.erase(std::remove_if(bias.begin(), bias.end(), [&](const auto& b) { return b.first >= vocab_size; }), bias.end());
    logits_.resize(size_t(vocab_size));
}

void Sampler::accept(int32_t token) {
    if (token < 0 || token >= vocab_)
        fail_argument("sampler: accepted token " + std::to_string(token) + " is outside the vocabulary [0, " +
                      std::to_string(vocab_) + ")");
    if (config_.penalty_window == 0) return;
    history_.push_back(token);
    while (history_.size() > size_t(config_.penalty_window)) history_.pop_front();
}

void Sampler::reset() {
    history_.clear();
    rng_.reseed(config_.seed);
}

void Sampler::apply_penalties() {
    const float rep = config_.repetition_penalty;
    const float presence = config_.presence_penalty;
    const float frequency = config_.frequency_penalty;
    if (history_.empty() || (rep == 1.0f && presence == 0.0f && frequency == 0.0f)) return;
    // Sorting a copy of the window groups equal tokens: each distinct token is penalised once, with its count.
    window_.assign(history_.begin(), history_.end());
    std::sort(window_.begin(), window_.end());
    for (size_t i = 0; i < window_.size();) {
        size_t j = i;
        while (j < window_.size() && window_[j] == window_[i]) ++j;
        float& l = logits_[size_t(window_[i])];
        if (rep != 1.0f) l = l > 0 ? l / rep : l * rep;
        l -= presence + float(j - i) * frequency;
        i = j;
    }
}

int32_t Sampler::argmax() const {
    int32_t best = -1;
    float best_logit = -INFINITY;
    for (int32_t t = 0; t < vocab_; ++t) {
        if (logits_[size_t(t)] > best_logit) {  // strict: the first (lowest) id wins a tie
            best = t;
            best_logit = logits_[size_t(t)];
        }
    }
    return best;
}

namespace {
// The total order used everywhere: higher logit first, then lower id, so ties are resolved the same way each time.
template <class C>
bool better(const C& a, const C& b) {
    return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
}
}  // namespace

void Sampler::collect_top_k(size_t k) {
    // A k-sized heap whose front is the worst kept candidate; most tokens lose one comparison against it.
    auto cmp = [](const Candidate& a, const Candidate& b) { return better(a, b); };
    candidates_.clear();
    for (int32_t t = 0; t < vocab_; ++t) {
        const float l = logits_[size_t(t)];
        if (l == -INFINITY) continue;
        const Candidate c{t, l, 0.0};
        if (candidates_.size() < k) {
            candidates_.push_back(c);
            std::push_heap(candidates_.begin(), candidates_.end(), cmp);
        } else if (better(c, candidates_.front())) {
            std::pop_heap(candidates_.begin(), candidates_.end(), cmp);
            candidates_.back() = c;
            std::push_heap(candidates_.begin(), candidates_.end(), cmp);
        }
    }
    std::sort(candidates_.begin(), candidates_.end(), cmp);
    if (candidates_.empty()) return;
    // Softmax over the kept k (the chain normalises after top-k).
    const double m = candidates_[0].logit, T = config_.temperature;
    total_mass_ = 0;
    for (Candidate& c : candidates_) total_mass_ += (c.p = std::exp((double(c.logit) - m) / T));
}

void Sampler::collect_all() {
    candidates_.clear();
    float mx = -INFINITY;
    for (float l : logits_) mx = std::max(mx, l);
    if (mx == -INFINITY) return;
    const double m = mx, T = config_.temperature;
    // Tokens that min-p will certainly drop need not be sorted. The exact min-p test runs later; this pre-filter
    // keeps a factor e of slack (ratio >= min_p / e) so rounding can never make it drop a token min-p would keep.
    // Dropped tokens still count in the softmax denominator, as the chain defines it over every allowed token.
    const double floor = config_.min_p > 0 ? std::log(double(config_.min_p)) - 1.0 : -INFINITY;
    total_mass_ = 0;
    for (int32_t t = 0; t < vocab_; ++t) {
        const float l = logits_[size_t(t)];
        if (l == -INFINITY) continue;
        const double z = (double(l) - m) / T;
        const double e = std::exp(z);
        total_mass_ += e;
        if (z >= floor) candidates_.push_back(Candidate{t, l, e});
    }
    std::sort(candidates_.begin(), candidates_.end(), [](const Candidate& a, const Candidate& b) { return better(a, b); });
}

int32_t Sampler::sample(const float* logits) {
    if (!logits) fail_argument("sampler: logits is NULL");
    logits_.assign(logits, logits + vocab_);
    for (const auto& b : config_.logit_bias) logits_[size_t(b.first)] += b.second;
    apply_penalties();
    // NaN (from the model, or +inf + -inf bias) bans the token; +inf becomes the largest finite value so the
    // softmax stays finite. Done after bias and penalties so no stage can reintroduce either.
    for (float& l : logits_) {
        if (std::isnan(l)) l = -INFINITY;
        else if (l == INFINITY) l = FLT_MAX;
    }
    auto nothing_left = [] {
        throw Error(TTT_ERR_INVALID_STATE,
                    "sampler: every token is banned (logit -inf or NaN after bias and penalties); nothing to sample");
    };

    if (config_.temperature <= 0) {
        const int32_t t = argmax();
        if (t < 0) nothing_left();
        return t;
    }

    const size_t k = config_.top_k > 0 ? size_t(config_.top_k) : 0;
    if (k > 0 && k < size_t(vocab_)) collect_top_k(k);
    else collect_all();
    if (candidates_.empty()) nothing_left();
    for (Candidate& c : candidates_) c.p /= total_mass_;

    // Candidates are sorted by probability (descending), so top-p and min-p each keep a prefix of length n.
    size_t n = candidates_.size();
    if (config_.top_p < 1.0f) {
        double cum = 0;
        for (size_t i = 0; i < n; ++i) {
            cum += candidates_[i].p;
            if (cum >= double(config_.top_p)) {
                n = i + 1;
                break;
            }
        }  // rounding may leave cum just short of p: then everything stays, which is what p ≈ 1 means
    }
    if (config_.min_p > 0.0f) {
        const double threshold = double(config_.min_p) * candidates_[0].p;
        size_t keep = 1;
        while (keep < n && candidates_[keep].p >= threshold) ++keep;
        n = keep;
    }

    double mass = 0;
    for (size_t i = 0; i < n; ++i) mass += candidates_[i].p;
    const double r = rng_.next_double() * mass;
    double cum = 0;
    size_t last_positive = 0;  // candidates_[0] has the largest probability, which is > 0
    for (size_t i = 0; i < n; ++i) {
        if (candidates_[i].p <= 0) continue;
        last_positive = i;
        cum += candidates_[i].p;
        if (r < cum) return candidates_[i].id;
    }
    return candidates_[last_positive].id;  // r landed on the rounding gap at the very top
}

}  // namespace ttt
