// The memory measurements (src/train/memory_eval.h) against the same quantities computed independently through
// the C API (ttt_forward_all on fresh contexts, ttt_learn, ttt_tokenize), on a random model with a real tokenizer.
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>

#include "common/error.h"
#include "common/rng.h"
#include "model_fixture.h"
#include "tokenizer/tokenizer.h"
#include "train/data.h"
#include "train/memory_eval.h"

using namespace ttt_test;

namespace {

std::vector<float> forward_all(ttt_context* c, const std::vector<int32_t>& tokens, size_t V) {
    std::vector<float> out(tokens.size() * V);
    REQUIRE(ttt_forward_all(c, tokens.data(), tokens.size(), out.data()) == TTT_OK);
    return out;
}

double log_prob(const float* row, size_t V, int32_t target) {
    double mx = row[0];
    for (size_t v = 1; v < V; ++v) mx = std::max(mx, double(row[v]));
    double sum = 0.0;
    for (size_t v = 0; v < V; ++v) sum += std::exp(double(row[v]) - mx);
    return double(row[target]) - mx - std::log(sum);
}

std::vector<int32_t> tokenize(ttt_model* m, const std::string& text) {
    std::vector<int32_t> ids(text.size() + 8);
    size_t n = 0;
    REQUIRE(ttt_tokenize(m, text.data(), text.size(), 0, ids.data(), ids.size(), &n) == TTT_OK);
    ids.resize(n);
    return ids;
}

}  // namespace

TEST_CASE("memory evaluation: every figure equals the same quantity computed through the C API") {
    TempDir tmp;
    const std::string model_dir = write_text_model(tmp.path / "m", 4, 3);
    // Held-out tokens made with the model's tokenizer.
    std::string text;
    for (int i = 0; i < 60; ++i) text += "To be, or not to be, that is the question " + std::to_string(i) + ". ";
    {
        std::ofstream(tmp.path / "val.txt") << text;
        std::ifstream tj(tmp.path / "m" / "tokenizer.json");
        const std::string json((std::istreambuf_iterator<char>(tj)), std::istreambuf_iterator<char>());
        auto tok = ttt::Tokenizer::from_json(json);
        ttt::PrepareDataOptions po;
        po.val_fraction = 0.0;
        ttt::prepare_data(*tok, {(tmp.path / "val.txt").string()}, (tmp.path / "data").string(), po);
    }
    const std::string data = (tmp.path / "data" / "train.u32").string();
    ttt::MemoryEvalOptions o;
    o.threads = 2;
    o.window = 300, o.windows = 2;
    o.passages = 3, o.passage_len = 40;
    o.copy_passages = 2, o.copy_len = 20;
    o.repeats = {1, 2};
    o.facts.resize(2);
    o.life_tokens = 200, o.probes = 2, o.probe_len = 30;
    const ttt::MemoryReport r = ttt::evaluate_memory(model_dir, data, o);
    REQUIRE(r.ran.size() == 6);

    Model model(model_dir);
    REQUIRE(model.m != nullptr);
    const size_t V = size_t(model.vocab());
    ttt::TokenData tokens = ttt::TokenData::open(data, int32_t(V));
    auto slice = [&](size_t start, size_t n) {
        std::vector<int32_t> t(n);
        tokens.copy(start, n, t.data());
        return t;
    };
    REQUIRE(tokens.size() > 700);

    // positions: buckets [0,128), [128,256), [256,300) over two windows of 301 tokens.
    REQUIRE(r.positions.size() == 3);
    CHECK(r.positions[2].begin == 256);
    CHECK(r.positions[2].end == 300);
    std::vector<double> sums(3, 0.0);
    std::vector<uint64_t> counts(3, 0);
    for (size_t w = 0; w < 2; ++w) {
        const auto t = slice(w * 301, 301);
        Context c(model.m);
        const auto logits = forward_all(c.c, std::vector<int32_t>(t.begin(), t.end() - 1), V);
        for (size_t i = 0; i < 300; ++i) {
            const size_t k = i < 128 ? 0 : i < 256 ? 1 : 2;
            sums[k] += -log_prob(logits.data() + i * V, V, t[i + 1]);
            counts[k] += 1;
        }
    }
    for (size_t k = 0; k < 3; ++k) {
        CHECK(r.positions[k].count == counts[k]);
        CHECK(r.positions[k].mean_loss == doctest::Approx(sums[k] / double(counts[k])).epsilon(1e-12));
    }

    // windows 0 (the default): every whole window of the file, so the buckets count floor(n / 301) windows.
    ttt::MemoryEvalOptions all = o;
    all.tests = {"positions"}, all.windows = 0;
    const ttt::MemoryReport ra = ttt::evaluate_memory(model_dir, data, all);
    REQUIRE(ra.positions.size() == 3);
    CHECK(tokens.size() / 301 > 2);
    CHECK(ra.positions[0].count == 128 * (tokens.size() / 301));
    CHECK(ra.positions[2].count == 44 * (tokens.size() / 301));

    // second read: the first copy's targets 1..L−1, the second copy's L+1..2L−1.
    double first = 0, second = 0;
    for (size_t p = 0; p < 3; ++p) {
        auto t = slice(p * 40, 40);
        std::vector<int32_t> twice(t);
        twice.insert(twice.end(), t.begin(), t.end());
        Context c(model.m);
        const auto logits = forward_all(c.c, std::vector<int32_t>(twice.begin(), twice.end() - 1), V);
        for (size_t i = 0; i + 1 < 40; ++i) first -= log_prob(logits.data() + i * V, V, twice[i + 1]);
        for (size_t i = 40; i + 1 < 80; ++i) second -= log_prob(logits.data() + i * V, V, twice[i + 1]);
    }
    CHECK(r.second_read_passages == 3);
    CHECK(r.second_read_first == doctest::Approx(first / (3 * 39)).epsilon(1e-12));
    CHECK(r.second_read_second == doctest::Approx(second / (3 * 39)).epsilon(1e-12));

    // copy: passages of tokens drawn at random positions (the documented fixed generator), read twice.
    uint64_t state = 20261205;
    double cfirst = 0, csecond = 0;
    for (size_t p = 0; p < 2; ++p) {
        std::vector<int32_t> t(20);
        for (int32_t& id : t) id = slice(size_t(ttt::splitmix64_next(state) % tokens.size()), 1)[0];
        std::vector<int32_t> twice(t);
        twice.insert(twice.end(), t.begin(), t.end());
        Context c(model.m);
        const auto logits = forward_all(c.c, std::vector<int32_t>(twice.begin(), twice.end() - 1), V);
        for (size_t i = 0; i + 1 < 20; ++i) cfirst -= log_prob(logits.data() + i * V, V, twice[i + 1]);
        for (size_t i = 20; i + 1 < 40; ++i) csecond -= log_prob(logits.data() + i * V, V, twice[i + 1]);
    }
    CHECK(r.copy_passages == 2);
    CHECK(r.copy_first == doctest::Approx(cfirst / (2 * 19)).epsilon(1e-12));
    CHECK(r.copy_second == doctest::Approx(csecond / (2 * 19)).epsilon(1e-12));

    // recall: learn the sentence k times with ttt_learn, then log p(answer | prefix) on a fresh query.
    for (size_t f = 0; f < 2; ++f) {
        const ttt::MemoryFact& fact = o.facts[f];
        std::vector<int32_t> ids = tokenize(model.m, fact.prefix);
        const size_t start = ids.size();
        const auto answer = tokenize(model.m, fact.answer);
        ids.insert(ids.end(), answer.begin(), answer.end());
        auto answer_lp = [&](ttt_context* c) {
            const auto logits = forward_all(c, std::vector<int32_t>(ids.begin(), ids.end() - 1), V);
            double lp = 0;
            for (size_t t = start; t < ids.size(); ++t) lp += log_prob(logits.data() + (t - 1) * V, V, ids[t]);
            return lp;
        };
        Context fresh(model.m);
        CHECK(r.facts[f].fresh_logprob == doctest::Approx(answer_lp(fresh.c)).epsilon(1e-12));
        for (size_t k = 0; k < 2; ++k) {
            Context c(model.m);
            const std::string sentence = fact.prefix + fact.answer + ".";
            for (int32_t j = 0; j < o.repeats[k]; ++j)
                REQUIRE(ttt_learn(c.c, sentence.data(), sentence.size(), 0, nullptr) == TTT_OK);
            CHECK(r.facts[f].learned_logprob[k] == doctest::Approx(answer_lp(c.c)).epsilon(1e-12));
        }
        CHECK(std::isfinite(r.facts[f].after_sleep_logprob));
    }
    // The sleep actually changed the soul (the answer's probability moved).
    CHECK(r.facts[0].after_sleep_logprob != r.facts[0].fresh_logprob);

    // stability: the probes' loss with a fresh soul; the lived soul read the 200 tokens after the probes.
    double fresh_sum = 0;
    for (size_t p = 0; p < 2; ++p) {
        const auto t = slice(p * 30, 30);
        Context c(model.m);
        const auto logits = forward_all(c.c, std::vector<int32_t>(t.begin(), t.end() - 1), V);
        for (size_t i = 0; i + 1 < 30; ++i) fresh_sum -= log_prob(logits.data() + i * V, V, t[i + 1]);
    }
    CHECK(r.stability_life_tokens == 200);
    CHECK(r.stability_fresh_loss == doctest::Approx(fresh_sum / 58).epsilon(1e-12));
    CHECK(r.stability_after_loss != r.stability_fresh_loss);
    CHECK(r.to_json().find("\"stability\"") != std::string::npos);

    // Bad options are refused with the option's name.
    ttt::MemoryEvalOptions bad;
    bad.tests = {"nonsense"};
    CHECK_THROWS_WITH_AS(ttt::evaluate_memory(model_dir, data, bad), doctest::Contains("nonsense"), ttt::Error);
    bad = ttt::MemoryEvalOptions();
    bad.window = 1;
    CHECK_THROWS_WITH_AS(ttt::evaluate_memory(model_dir, data, bad), doctest::Contains("window"), ttt::Error);
}
