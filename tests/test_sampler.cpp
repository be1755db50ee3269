// The sampler chain: every stage against hand-made logits and a brute-force reference, the draw's statistics,
// determinism, bad configs, banned and NaN logits, and a 128k vocabulary.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/rng.h"
#include "generate/sampler.h"

using ttt::Sampler;
using ttt::SamplerConfig;

namespace {

// Every stage off, temperature 1: the draw follows softmax(logits).
SamplerConfig plain(uint64_t seed = 1) {
    SamplerConfig c;
    c.temperature = 1.0f;
    c.top_k = 0;
    c.top_p = 1.0f;
    c.min_p = 0.0f;
    c.seed = seed;
    return c;
}

SamplerConfig greedy() {
    SamplerConfig c = plain();
    c.temperature = 0.0f;
    return c;
}

std::vector<float> log_probs(const std::vector<double>& p) {
    std::vector<float> l;
    for (double x : p) l.push_back(float(std::log(x)));
    return l;
}

// The set of tokens `draws` samples can produce. Every kept token in these tests has probability >= 5%, so 1000
// draws miss one with probability below 0.95^1000 ≈ 5e-23.
std::set<int32_t> reachable(const SamplerConfig& c, const std::vector<float>& logits, int draws = 1000) {
    Sampler s(c, int32_t(logits.size()));
    std::set<int32_t> seen;
    for (int i = 0; i < draws; ++i) seen.insert(s.sample(logits.data()));
    return seen;
}

int32_t greedy_pick(const std::vector<float>& logits, const std::vector<int32_t>& history, SamplerConfig c) {
    c.temperature = 0.0f;
    Sampler s(c, int32_t(logits.size()));
    for (int32_t t : history) s.accept(t);
    return s.sample(logits.data());
}

// The chain written out naively (full sort, maps), as the specification of what the sampler must compute.
std::vector<double> reference_distribution(const SamplerConfig& c, std::vector<float> l,
                                           const std::vector<int32_t>& history) {
    const size_t V = l.size();
    for (auto& [t, b] : c.logit_bias) l[size_t(t)] += b;
    std::map<int32_t, int> count;
    const size_t from = history.size() > size_t(c.penalty_window) ? history.size() - size_t(c.penalty_window) : 0;
    for (size_t i = from; i < history.size(); ++i) ++count[history[i]];
    for (auto& [t, n] : count) {
        float& x = l[size_t(t)];
        if (c.repetition_penalty != 1.0f) x = x > 0 ? x / c.repetition_penalty : x * c.repetition_penalty;
        x -= c.presence_penalty + float(n) * c.frequency_penalty;
    }
    std::vector<int32_t> order;
    for (size_t t = 0; t < V; ++t)
        if (!std::isnan(l[t]) && l[t] != -INFINITY) order.push_back(int32_t(t));
    std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return l[a] > l[b] || (l[a] == l[b] && a < b); });
    std::vector<double> out(V, 0.0);
    if (c.temperature <= 0) {
        out[size_t(order[0])] = 1;
        return out;
    }
    if (c.top_k > 0 && size_t(c.top_k) < order.size()) order.resize(size_t(c.top_k));
    std::vector<double> p;
    double z = 0;
    for (int32_t t : order) z += std::exp((double(l[t]) - l[order[0]]) / c.temperature);
    for (int32_t t : order) p.push_back(std::exp((double(l[t]) - l[order[0]]) / c.temperature) / z);
    size_t n = order.size();
    if (c.top_p < 1) {
        double cum = 0;
        for (size_t i = 0; i < n; ++i)
            if ((cum += p[i]) >= c.top_p) {
                n = i + 1;
                break;
            }
    }
    if (c.min_p > 0) {
        size_t keep = 1;
        while (keep < n && p[keep] >= c.min_p * p[0]) ++keep;
        n = keep;
    }
    double mass = 0;
    for (size_t i = 0; i < n; ++i) mass += p[i];
    for (size_t i = 0; i < n; ++i) out[size_t(order[i])] = p[i] / mass;
    return out;
}

void check_error(const SamplerConfig& c, int32_t vocab, ttt_status status, const std::string& field) {
    try {
        Sampler s(c, vocab);
        FAIL("accepted a config with a bad " << field);
    } catch (const ttt::Error& e) {
        CHECK(e.status() == status);
        CHECK_MESSAGE(std::string(e.what()).find(field) != std::string::npos, e.what());
    }
}

}  // namespace

TEST_CASE("sampler: rng is the published xoshiro256** and its double is in [0, 1)") {
    // splitmix64 from seed 0 gives this first output (reference value from Vigna's splitmix64.c).
    uint64_t sm = 0;
    CHECK(ttt::splitmix64_next(sm) == 0xe220a8397b1dcdafull);
    // xoshiro256** from the state {1, 2, 3, 4}: the reference outputs of Vigna's xoshiro256starstar.c (as used in
    // the test vectors of Rust's rand_xoshiro).
    ttt::Rng v;
    const uint64_t state[4] = {1, 2, 3, 4};
    v.set_state(state);
    for (uint64_t want : {11520ull, 0ull, 1509978240ull, 1215971899390074240ull, 1216172134540287360ull,
                          607988272756665600ull, 16172922978634559625ull, 8476171486693032832ull,
                          10595114339597558777ull, 2904607092377533576ull})
        CHECK(v.next_u64() == want);
    ttt::Rng a(42), b(42), c(43);
    bool differs = false;
    for (int i = 0; i < 1000; ++i) {
        const uint64_t x = a.next_u64();
        CHECK(x == b.next_u64());
        differs |= x != c.next_u64();
    }
    CHECK(differs);
    ttt::Rng r(7);
    double lo = 1, hi = 0;
    for (int i = 0; i < 100000; ++i) {
        const double d = r.next_double();
        REQUIRE(d >= 0.0);
        REQUIRE(d < 1.0);
        lo = std::min(lo, d);
        hi = std::max(hi, d);
    }
    CHECK(lo < 1e-3);
    CHECK(hi > 1 - 1e-3);
    for (int i = 0; i < 1000; ++i) CHECK(r.below(3) < 3);
    CHECK(r.below(0) == 0);
}

TEST_CASE("sampler: greedy takes the argmax and breaks ties towards the lowest id") {
    CHECK(greedy_pick({1, 3, 3, 2}, {}, greedy()) == 1);
    CHECK(greedy_pick({-5, -1, -1, -2}, {}, greedy()) == 1);
    CHECK(greedy_pick({0, 0, 0}, {}, greedy()) == 0);
    SamplerConfig neg = greedy();
    neg.temperature = -1.0f;  // any temperature <= 0 is greedy
    CHECK(greedy_pick({0, 2, 1}, {}, neg) == 1);
    // Greedy ignores top-k/top-p/min-p and uses no randomness: always the same answer.
    Sampler s(greedy(), 3);
    const std::vector<float> l = {0.1f, 0.3f, 0.2f};
    for (int i = 0; i < 10; ++i) CHECK(s.sample(l.data()) == 1);
}

TEST_CASE("sampler: top-k keeps exactly the k largest, ties at the boundary to the lower id") {
    SamplerConfig c = plain();
    c.top_k = 3;
    CHECK(reachable(c, {1, 5, 3, 5, 2, 4}) == std::set<int32_t>{1, 3, 5});
    c.top_k = 1;
    CHECK(reachable(c, {1, 5, 3, 5, 2, 4}) == std::set<int32_t>{1});
    c.top_k = 2;
    CHECK(reachable(c, {1, 2, 2, 2}) == std::set<int32_t>{1, 2});
    c.top_k = 6;  // k >= vocab: off
    CHECK(reachable(c, {1, 1.5f, 1.2f, 1.1f, 1.3f, 1.4f}).size() == 6);
    c.top_k = 100;
    CHECK(reachable(c, {1, 1.5f, 1.2f}).size() == 3);
}

TEST_CASE("sampler: top-p keeps the smallest prefix whose mass reaches p") {
    const std::vector<float> l = log_probs({0.4, 0.3, 0.2, 0.1});
    SamplerConfig c = plain();
    c.top_p = 0.3f;
    CHECK(reachable(c, l) == std::set<int32_t>{0});
    c.top_p = 0.65f;
    CHECK(reachable(c, l) == std::set<int32_t>{0, 1});
    c.top_p = 0.75f;
    CHECK(reachable(c, l) == std::set<int32_t>{0, 1, 2});
    c.top_p = 0.95f;
    CHECK(reachable(c, l) == std::set<int32_t>{0, 1, 2, 3});
    // After top-k the mass is that of the k kept tokens: {0.4, 0.3} renormalised is {0.571, 0.429}.
    c.top_k = 2;
    c.top_p = 0.55f;
    CHECK(reachable(c, l) == std::set<int32_t>{0});
    c.top_p = 0.6f;
    CHECK(reachable(c, l) == std::set<int32_t>{0, 1});
}

TEST_CASE("sampler: min-p keeps tokens with p >= min_p * p_max") {
    const std::vector<float> l = log_probs({0.5, 0.25, 0.15, 0.1});
    SamplerConfig c = plain();
    c.min_p = 0.25f;  // threshold 0.125
    CHECK(reachable(c, l) == std::set<int32_t>{0, 1, 2});
    c.min_p = 0.45f;  // threshold 0.225
    CHECK(reachable(c, l) == std::set<int32_t>{0, 1});
    c.min_p = 1.0f;  // only the most likely token(s)
    CHECK(reachable(c, l) == std::set<int32_t>{0});
    c.min_p = 0.1f;  // threshold 0.05: everything
    CHECK(reachable(c, l) == std::set<int32_t>{0, 1, 2, 3});
}

TEST_CASE("sampler: temperature sharpens and flattens") {
    const std::vector<float> l = log_probs({0.6, 0.3, 0.1});
    auto freq0 = [&](float t) {
        SamplerConfig c = plain(3);
        c.temperature = t;
        Sampler s(c, 3);
        int n = 0;
        for (int i = 0; i < 10000; ++i) n += s.sample(l.data()) == 0;
        return n / 10000.0;
    };
    // T = 0.5 squares the probabilities: 0.36/0.46 = 0.783; T = 2 takes square roots: 0.775/1.639 = 0.473.
    // With 10^4 draws the sd of a frequency is <= 0.005; the tolerances are >= 4 sd.
    CHECK(freq0(0.5f) == doctest::Approx(0.7826).epsilon(0.04));
    CHECK(freq0(1.0f) == doctest::Approx(0.6).epsilon(0.04));
    CHECK(freq0(2.0f) == doctest::Approx(0.4729).epsilon(0.05));
}

TEST_CASE("sampler: repetition penalty divides positive logits, multiplies negative ones, once per token") {
    SamplerConfig c = greedy();
    c.repetition_penalty = 1.05f;  // 2 / 1.05 = 1.905 > 1.9
    CHECK(greedy_pick({2.0f, 1.9f}, {0}, c) == 0);
    c.repetition_penalty = 1.1f;  // 2 / 1.1 = 1.818 < 1.9
    CHECK(greedy_pick({2.0f, 1.9f}, {0}, c) == 1);
    // Three repeats still count once: 2 / 1.1 = 1.818 > 1.8 (three times would give 1.503).
    CHECK(greedy_pick({2.0f, 1.8f}, {0, 0, 0}, c) == 0);
    // Negative logits are multiplied (dividing would move them up, not down).
    c.repetition_penalty = 1.04f;  // -1 * 1.04 = -1.04 > -1.05
    CHECK(greedy_pick({-1.0f, -1.05f}, {0}, c) == 0);
    c.repetition_penalty = 1.06f;  // -1.06 < -1.05
    CHECK(greedy_pick({-1.0f, -1.05f}, {0}, c) == 1);
    // Only tokens in the history are touched.
    c.repetition_penalty = 10.0f;
    CHECK(greedy_pick({2.0f, 1.9f}, {1}, c) == 0);
}

TEST_CASE("sampler: presence penalty once per distinct token, frequency penalty times the count") {
    SamplerConfig c = greedy();
    c.presence_penalty = 0.4f;  // 2 - 0.4 = 1.6 > 1.5, even after three repeats
    CHECK(greedy_pick({2.0f, 1.5f}, {0, 0, 0}, c) == 0);
    c.presence_penalty = 0.6f;  // 1.4 < 1.5
    CHECK(greedy_pick({2.0f, 1.5f}, {0}, c) == 1);
    c.presence_penalty = 0.0f;
    c.frequency_penalty = 0.15f;  // 2 - 3 * 0.15 = 1.55 > 1.5
    CHECK(greedy_pick({2.0f, 1.5f}, {0, 0, 0}, c) == 0);
    c.frequency_penalty = 0.2f;  // 2 - 3 * 0.2 = 1.4 < 1.5
    CHECK(greedy_pick({2.0f, 1.5f}, {0, 0, 0}, c) == 1);
    CHECK(greedy_pick({2.0f, 1.5f}, {0, 0}, c) == 0);  // 2 - 0.4 = 1.6
    // Negative values reward repetition.
    c.frequency_penalty = -0.3f;
    CHECK(greedy_pick({1.5f, 2.0f}, {0, 0}, c) == 0);  // 1.5 + 0.6 = 2.1
}

TEST_CASE("sampler: penalties look only at the last penalty_window accepted tokens") {
    SamplerConfig c = greedy();
    c.presence_penalty = 1.0f;
    c.penalty_window = 2;
    CHECK(greedy_pick({2.0f, 1.5f, 0.0f}, {0, 2, 2}, c) == 0);  // token 0 has left the window
    CHECK(greedy_pick({2.0f, 1.5f, 0.0f}, {2, 0, 2}, c) == 1);
    c.penalty_window = 0;  // off
    CHECK(greedy_pick({2.0f, 1.5f, 0.0f}, {0, 0}, c) == 0);
    // reset() clears the history.
    c.penalty_window = 8;
    Sampler s(c, 3);
    s.accept(0);
    const std::vector<float> l = {2.0f, 1.5f, 0.0f};
    CHECK(s.sample(l.data()) == 1);
    s.reset();
    CHECK(s.sample(l.data()) == 0);
}

TEST_CASE("sampler: logit bias is added first and -INFINITY bans a token") {
    SamplerConfig c = greedy();
    c.logit_bias = {{0, 2.0f}};
    CHECK(greedy_pick({0.0f, 0.5f, 1.0f}, {}, c) == 0);
    c.logit_bias = {{2, -INFINITY}};
    CHECK(greedy_pick({0.0f, 0.5f, 1.0f}, {}, c) == 1);
    c.logit_bias = {{0, 0.6f}, {0, 0.6f}};  // entries for the same token add up
    CHECK(greedy_pick({0.0f, 0.5f, 1.0f}, {}, c) == 0);
    // Bias comes before the penalties: 1 + 1 = 2, then / 2 = 1 < 1.5 (penalty first would give 0.5 + 1 = 1.5 → tie → 0).
    c.logit_bias = {{0, 1.0f}};
    c.repetition_penalty = 2.0f;
    CHECK(greedy_pick({1.0f, 1.5f}, {0}, c) == 1);

    SamplerConfig r = plain();
    r.logit_bias = {{1, -INFINITY}};
    CHECK(reachable(r, {0.0f, 5.0f, 0.0f}) == std::set<int32_t>{0, 2});
}

TEST_CASE("sampler: NaN logits are treated as -inf, +inf as the largest value; all banned is an error") {
    const float nan = std::nanf("");
    CHECK(greedy_pick({nan, 1.0f, 2.0f}, {}, greedy()) == 2);
    CHECK(greedy_pick({nan, nan, -3.0f}, {}, greedy()) == 2);
    CHECK(reachable(plain(), {5.0f, nan, nan, 4.0f}) == std::set<int32_t>{0, 3});
    SamplerConfig topk = plain();
    topk.top_k = 2;
    CHECK(reachable(topk, {nan, nan, 0.0f, nan, 0.1f, nan}) == std::set<int32_t>{2, 4});
    CHECK(greedy_pick({INFINITY, 0.0f, INFINITY}, {}, greedy()) == 0);
    CHECK(reachable(plain(), {INFINITY, 0.0f, INFINITY}) == std::set<int32_t>{0, 2});
    // +inf plus a -inf bias is NaN: banned.
    SamplerConfig ban = greedy();
    ban.logit_bias = {{0, -INFINITY}};
    CHECK(greedy_pick({INFINITY, 1.0f}, {}, ban) == 1);

    for (SamplerConfig c : {greedy(), plain(), SamplerConfig{}}) {
        c.logit_bias = {{2, -INFINITY}};
        Sampler s(c, 3);
        const std::vector<float> l = {-INFINITY, nan, 7.0f};
        try {
            s.sample(l.data());
            FAIL("sampled from an all-banned row");
        } catch (const ttt::Error& e) {
            CHECK(e.status() == TTT_ERR_INVALID_STATE);
        }
    }
    Sampler s(plain(), 3);
    CHECK_THROWS_AS(s.sample(nullptr), ttt::Error);
}

TEST_CASE("sampler: the draw follows the distribution (10^4 draws of a 3-token distribution)") {
    // p = (0.5, 0.3, 0.2). A token's count is binomial with sd sqrt(N p (1-p)) ≈ 50, 46, 40 for N = 10^4, so each
    // frequency is held to 5 sd (a correct sampler exceeds that with probability ~6e-7), and Pearson's chi-square
    // with 2 degrees of freedom to 13.8 (its 0.999 quantile). The seed is fixed, so the test cannot flake; the bounds
    // say that the fixed outcome is an ordinary one for a correct sampler, and a biased draw (e.g. off by one
    // token in the CDF walk, or r in [0, 1] instead of [0, 1)) shifts frequencies by far more.
    const std::vector<double> p = {0.5, 0.3, 0.2};
    const int N = 10000;
    for (uint64_t seed : {1ull, 2ull, 12345ull}) {
        Sampler s(plain(seed), 3);
        const std::vector<float> l = log_probs(p);
        int count[3] = {0, 0, 0};
        for (int i = 0; i < N; ++i) ++count[s.sample(l.data())];
        double chi2 = 0;
        for (int t = 0; t < 3; ++t) {
            const double sd = std::sqrt(N * p[t] * (1 - p[t]));
            CHECK_MESSAGE(std::fabs(count[t] - N * p[t]) <= 5 * sd, "token " << t << " count " << count[t]);
            chi2 += (count[t] - N * p[t]) * (count[t] - N * p[t]) / (N * p[t]);
        }
        CHECK(chi2 < 13.8);
    }
}

TEST_CASE("sampler: random configs agree with the brute-force reference chain") {
    // Support must match exactly; frequencies within 5 sd of the reference probability (see the test above).
    std::mt19937 gen(2024);  // test inputs only; the sampler's own randomness is ttt::Rng
    std::uniform_real_distribution<float> logit(-3.0f, 3.0f);
    const int N = 3000;
    for (int round = 0; round < 40; ++round) {
        const int32_t V = 2 + int32_t(gen() % 12);
        std::vector<float> l(static_cast<size_t>(V));
        for (float& x : l) x = std::round(logit(gen) * 8) / 8;  // coarse values: ties happen
        SamplerConfig c = plain(round);
        c.temperature = std::vector<float>{0.0f, 0.5f, 1.0f, 1.7f}[gen() % 4];
        c.top_k = int32_t(gen() % 6);
        c.top_p = std::vector<float>{1.0f, 0.9f, 0.6f, 0.35f}[gen() % 4];
        c.min_p = std::vector<float>{0.0f, 0.05f, 0.2f}[gen() % 3];
        c.repetition_penalty = std::vector<float>{1.0f, 1.3f}[gen() % 2];
        c.presence_penalty = std::vector<float>{0.0f, 0.5f}[gen() % 2];
        c.frequency_penalty = std::vector<float>{0.0f, 0.25f}[gen() % 2];
        c.penalty_window = int32_t(gen() % 5);
        if (gen() % 2) c.logit_bias = {{int32_t(gen() % V), 1.0f}, {int32_t(gen() % V), -INFINITY}};
        std::vector<int32_t> history;
        for (int i = 0; i < 6; ++i) history.push_back(int32_t(gen() % V));
        const std::vector<double> want = reference_distribution(c, l, history);

        Sampler s(c, V);
        for (int32_t t : history) s.accept(t);
        std::vector<int> count(size_t(V), 0);
        for (int i = 0; i < N; ++i) ++count[size_t(s.sample(l.data()))];
        for (int32_t t = 0; t < V; ++t) {
            const double pt = want[size_t(t)];
            INFO("round " << round << " token " << t << " reference p " << pt << " count " << count[size_t(t)]);
            if (pt == 0) CHECK(count[size_t(t)] == 0);
            else CHECK(std::fabs(count[size_t(t)] - N * pt) <= 5 * std::sqrt(N * pt * (1 - pt)) + 1e-9);
        }
    }
}

TEST_CASE("sampler: a 128k vocabulary with top-k, and with top-k off (min-p pre-filter)") {
    const int32_t V = 128000;
    std::mt19937 gen(5);
    std::normal_distribution<float> dist(0.0f, 3.0f);
    std::vector<float> l(static_cast<size_t>(V));
    for (float& x : l) x = dist(gen);
    std::vector<int32_t> order(static_cast<size_t>(V));
    for (int32_t i = 0; i < V; ++i) order[size_t(i)] = i;
    std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return l[a] > l[b]; });
    const std::set<int32_t> top40(order.begin(), order.begin() + 40);

    SamplerConfig c;  // the defaults: T 0.8, top-k 40, top-p 0.95, min-p 0.05
    Sampler s(c, V);
    for (int i = 0; i < 300; ++i) CHECK(top40.count(s.sample(l.data())) == 1);

    SamplerConfig off = plain(9);
    off.min_p = 0.05f;
    const std::vector<double> want = reference_distribution(off, l, {});
    Sampler s2(off, V);
    for (int i = 0; i < 300; ++i) CHECK(want[size_t(s2.sample(l.data()))] > 0);
}

TEST_CASE("sampler: same seed gives the same sequence, another seed another one, reset() replays") {
    const std::vector<float> l(10, 0.0f);  // uniform over 10 tokens
    auto run = [&](Sampler& s) {
        std::vector<int32_t> out;
        for (int i = 0; i < 50; ++i) {
            out.push_back(s.sample(l.data()));
            s.accept(out.back());
        }
        return out;
    };
    SamplerConfig c = plain(77);
    c.presence_penalty = 0.3f;  // the history matters too
    Sampler a(c, 10), b(c, 10);
    const std::vector<int32_t> first = run(a);
    CHECK(first == run(b));
    a.reset();
    CHECK(first == run(a));
    c.seed = 78;
    Sampler other(c, 10);
    CHECK(first != run(other));  // equal by chance with probability ~10^-50
}

TEST_CASE("sampler: bad configs are refused, naming the field") {
    const float nan = std::nanf("");
    auto with = [](auto edit) {
        SamplerConfig c;
        edit(c);
        return c;
    };
    const ttt_status bad = TTT_ERR_INVALID_ARGUMENT;
    check_error(SamplerConfig{}, 0, bad, "vocab_size");
    check_error(with([&](SamplerConfig& c) { c.temperature = nan; }), 10, bad, "temperature");
    check_error(with([](SamplerConfig& c) { c.temperature = INFINITY; }), 10, bad, "temperature");
    check_error(with([](SamplerConfig& c) { c.top_p = 0.0f; }), 10, bad, "top_p");
    check_error(with([](SamplerConfig& c) { c.top_p = -0.5f; }), 10, bad, "top_p");
    check_error(with([&](SamplerConfig& c) { c.top_p = nan; }), 10, bad, "top_p");
    check_error(with([](SamplerConfig& c) { c.min_p = 1.5f; }), 10, bad, "min_p");
    check_error(with([&](SamplerConfig& c) { c.min_p = nan; }), 10, bad, "min_p");
    check_error(with([](SamplerConfig& c) { c.repetition_penalty = 0.0f; }), 10, bad, "repetition_penalty");
    check_error(with([](SamplerConfig& c) { c.repetition_penalty = -1.0f; }), 10, bad, "repetition_penalty");
    check_error(with([&](SamplerConfig& c) { c.repetition_penalty = nan; }), 10, bad, "repetition_penalty");
    check_error(with([&](SamplerConfig& c) { c.presence_penalty = nan; }), 10, bad, "presence_penalty");
    check_error(with([](SamplerConfig& c) { c.frequency_penalty = INFINITY; }), 10, bad, "frequency_penalty");
    check_error(with([](SamplerConfig& c) { c.penalty_window = -1; }), 10, bad, "penalty_window");
    check_error(with([](SamplerConfig& c) { c.logit_bias = {{10, 1.0f}}; }), 10, bad, "logit_bias[0]");
    check_error(with([](SamplerConfig& c) { c.logit_bias = {{1, 1.0f}, {-1, 1.0f}}; }), 10, bad, "logit_bias[1]");
    check_error(with([&](SamplerConfig& c) { c.logit_bias = {{1, nan}}; }), 10, bad, "logit_bias[0]");
    check_error(with([](SamplerConfig& c) { c.logit_bias = {{1, INFINITY}}; }), 10, bad, "logit_bias[0]");

    // The edges of the allowed ranges are accepted.
    CHECK_NOTHROW(Sampler(with([](SamplerConfig& c) { c.top_p = 5.0f; c.min_p = -1.0f; c.top_k = -3; }), 10));
    CHECK_NOTHROW(Sampler(with([](SamplerConfig& c) { c.min_p = 1.0f; c.presence_penalty = -2.0f; }), 10));
    CHECK_NOTHROW(Sampler(with([](SamplerConfig& c) { c.logit_bias = {{9, -INFINITY}}; }), 10));

    Sampler s(SamplerConfig{}, 10);
    CHECK_THROWS_AS(s.accept(10), ttt::Error);
    CHECK_THROWS_AS(s.accept(-1), ttt::Error);
}

TEST_CASE("sampler: with a bias id limit, ids past the sampled range are accepted in logit_bias and ignored") {
    SamplerConfig c = greedy();
    c.logit_bias = {{3, 100.0f}, {1, 2.0f}};  // id 3 is a padding row: never sampled
    Sampler s(c, 3, 5);
    const std::vector<float> row = {0.0f, 0.5f, 1.0f, 0.0f, 0.0f};  // the caller's longer row
    CHECK(s.sample(row.data()) == 1);
    CHECK(s.config().logit_bias.size() == 1);
    c.logit_bias = {{5, 1.0f}};
    CHECK_THROWS_WITH_AS(Sampler(c, 3, 5), doctest::Contains("[0, 5)"), ttt::Error);
    CHECK_THROWS_AS(Sampler(c, 3), ttt::Error);
}
