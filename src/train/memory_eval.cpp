#include "train/memory_eval.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>

#include "backend/cpu_backend.h"
#include "common/error.h"
#include "common/rng.h"
#include "io/json.h"
#include "load/model_files.h"
#include "memory/memories.h"
#include "model/forward.h"
#include "tokenizer/tokenizer.h"
#include "train/data.h"

namespace ttt {

std::vector<MemoryFact> default_memory_facts() {
    return {{"My name is", " Zorbalind"},
            {"The password of the vault is", " quelmarine"},
            {"The dragon of the lake is called", " Vashtorum"},
            {"My sister lives in the town of", " Brindlecombe"},
            {"The secret ingredient of the soup is", " glimmerroot"}};
}

namespace {

std::string num(double v) {
    if (!std::isfinite(v)) return "null";
    char b[32];
    std::snprintf(b, sizeof b, "%.6g", v);
    return b;
}

// Natural-log softmax probability of `target` under one row of logits.
double log_prob(const float* row, size_t V, int32_t target) {
    double mx = row[0];
    for (size_t v = 1; v < V; ++v) mx = std::max(mx, double(row[v]));
    double sum = 0.0;
    for (size_t v = 0; v < V; ++v) sum += std::exp(double(row[v]) - mx);
    return double(row[target]) - mx - std::log(sum);
}

// The model on one backend, with helpers that run token sequences on souls.
class Probe {
public:
    Probe(const std::string& model_path, int32_t threads)
        : model_(load_model_path(model_path, LoadOptions{})),
          backend_(CpuBackend::best(threads)),
          prepared_(PreparedModel::create(model_.weights, nullptr, *backend_)),
          forward_(model_.weights.config, all_layers_on(backend_.get(), prepared_), 256) {}

    const ModelConfig& config() const { return model_.weights.config; }
    size_t vocab() const { return size_t(config().vocab_size); }
    SoulState fresh_soul() const { return SoulState(config()); }

    const Tokenizer& tokenizer() {
        if (!tokenizer_) {
            if (model_.tokenizer_json.empty())
                throw Error(TTT_ERR_UNSUPPORTED, "memory evaluation: the model carries no tokenizer; the recall "
                                                 "and sleep tests need one");
            const ModelConfig& c = config();
            tokenizer_ = Tokenizer::for_model(model_.tokenizer_json, c.vocab_size, c.bos_id, c.eos_id, model_.source);
        }
        return *tokenizer_;
    }

    // Run tokens on a soul; the logits of every position into `logits` (n·V) when asked.
    void run(const std::vector<int32_t>& tokens, SoulState& soul, std::vector<float>* logits = nullptr) {
        if (tokens.empty()) return;
        SequenceInput in{tokens.data(), tokens.size(), &soul, LogitRows::none, nullptr};
        if (logits) {
            logits->resize(tokens.size() * vocab());
            in.want = LogitRows::all;
            in.logits = logits->data();
        }
        forward_.run(&in, 1);
    }

    // Next-token losses of a token sequence (n − 1 targets) read on `soul`.
    std::vector<double> losses(const std::vector<int32_t>& tokens, SoulState& soul) {
        std::vector<float> logits;
        std::vector<int32_t> inputs(tokens.begin(), tokens.end() - 1);
        run(inputs, soul, &logits);
        std::vector<double> out(inputs.size());
        for (size_t t = 0; t < inputs.size(); ++t) out[t] = -log_prob(logits.data() + t * vocab(), vocab(), tokens[t + 1]);
        return out;
    }

    // log p(answer | prefix) on a copy of `soul` (the query does not teach the soul).
    double answer_logprob(const MemoryFact& f, const SoulState& soul) {
        std::vector<int32_t> ids = tokenizer().encode(f.prefix, false, false);
        const std::vector<int32_t> answer = tokenizer().encode(f.answer, false, false);
        if (ids.empty() || answer.empty()) fail_argument("memory evaluation: a fact's prefix and answer must not be empty");
        const size_t start = ids.size();
        ids.insert(ids.end(), answer.begin(), answer.end());
        SoulState copy = soul;
        std::vector<float> logits;
        std::vector<int32_t> inputs(ids.begin(), ids.end() - 1);
        run(inputs, copy, &logits);
        double lp = 0.0;
        for (size_t t = start; t < ids.size(); ++t) lp += log_prob(logits.data() + (t - 1) * vocab(), vocab(), ids[t]);
        return lp;
    }

    void learn_text(const std::string& text, SoulState& soul) { run(tokenizer().encode(text, false, false), soul); }

private:
    LoadedModel model_;
    std::unique_ptr<CpuBackend> backend_;
    std::shared_ptr<const PreparedModel> prepared_;
    Forward forward_;
    std::unique_ptr<Tokenizer> tokenizer_;
};

bool wants(const MemoryEvalOptions& o, const char* test) {
    return std::find(o.tests.begin(), o.tests.end(), std::string(test)) != o.tests.end();
}

void check_options(const MemoryEvalOptions& o) {
    static const char* const kTests[] = {"positions", "second_read", "copy", "recall", "sleep", "stability"};
    for (const std::string& t : o.tests)
        if (std::none_of(std::begin(kTests), std::end(kTests), [&](const char* k) { return t == k; }))
            fail_argument("memory evaluation: unknown test '" + t + "' (positions, second_read, copy, recall, sleep, stability)");
    auto in_range = [](int64_t v, int64_t lo, int64_t hi, const char* name) {
        if (v < lo || v > hi)
            fail_argument(std::string("memory evaluation: ") + name + " must be in " + std::to_string(lo) + ".." +
                          std::to_string(hi) + ", is " + std::to_string(v));
    };
    in_range(o.window, 2, 1 << 20, "window");
    in_range(o.windows, 0, 4096, "windows");
    in_range(o.passages, 1, 4096, "passages");
    in_range(o.passage_len, 2, 1 << 20, "passage_len");
    in_range(o.copy_passages, 1, 4096, "copy_passages");
    in_range(o.copy_len, 2, 1 << 20, "copy_len");
    in_range(int64_t(o.life_tokens), 0, int64_t(1) << 40, "life_tokens");
    in_range(o.probes, 1, 4096, "probes");
    in_range(o.probe_len, 2, 1 << 20, "probe_len");
    for (int32_t k : o.repeats) in_range(k, 1, 100000, "repeats");
}

// Tokens [start, start + n) of the data, clipped to what it holds.
std::vector<int32_t> slice(const TokenData& data, size_t start, size_t n) {
    if (start >= data.size()) return {};
    n = std::min(n, data.size() - start);
    std::vector<int32_t> out(n);
    data.copy(start, n, out.data());
    return out;
}

void run_positions(Probe& p, const TokenData& data, const MemoryEvalOptions& o, MemoryReport& r) {
    for (int64_t b = 0; b < o.window; b = b == 0 ? 128 : b * 2) r.positions.push_back({b, std::min<int64_t>(b == 0 ? 128 : 2 * b, o.window)});
    std::vector<double> sums(r.positions.size(), 0.0);
    const size_t W = size_t(o.window) + 1;
    // windows 0: every whole window of the file. Four windows of 2,048 (the first default) left the 0–128 bucket at
    // 512 targets, so which text happened to open each window decided the bucket.
    const size_t n_windows = o.windows > 0 ? size_t(o.windows) : std::max<size_t>(1, data.size() / W);
    for (size_t w = 0; w < n_windows; ++w) {
        const std::vector<int32_t> tokens = slice(data, size_t(w) * W, W);
        if (tokens.size() < 2) break;
        SoulState soul = p.fresh_soul();
        const std::vector<double> loss = p.losses(tokens, soul);
        for (size_t t = 0; t < loss.size(); ++t)
            for (size_t k = 0; k < r.positions.size(); ++k)
                if (int64_t(t) >= r.positions[k].begin && int64_t(t) < r.positions[k].end) {
                    sums[k] += loss[t];
                    r.positions[k].count += 1;
                }
    }
    for (size_t k = 0; k < r.positions.size(); ++k)
        r.positions[k].mean_loss = r.positions[k].count ? sums[k] / double(r.positions[k].count) : 0.0;
}

// Each passage read twice in a row from a fresh soul; the mean loss on the first and on the second copy.
struct TwiceResult {
    double first = 0.0, second = 0.0;
    uint64_t passages = 0;
};

template <typename NextPassage>
TwiceResult read_twice(Probe& p, int32_t passages, size_t L, NextPassage next) {
    TwiceResult out;
    for (int32_t i = 0; i < passages; ++i) {
        const std::vector<int32_t> passage = next(i);
        if (passage.size() < L) break;
        std::vector<int32_t> twice(passage);
        twice.insert(twice.end(), passage.begin(), passage.end());
        SoulState soul = p.fresh_soul();
        const std::vector<double> loss = p.losses(twice, soul);
        // Targets 1..L−1 are the first copy's own tokens; L+1..2L−1 the second copy's (target L, the second copy's
        // first token, follows the first copy's last and is left out of both, like target 0 of the first copy).
        for (size_t t = 0; t + 1 < L; ++t) out.first += loss[t];
        for (size_t t = L; t + 1 < 2 * L; ++t) out.second += loss[t];
        out.passages += 1;
    }
    if (out.passages) out.first /= double(out.passages * (L - 1)), out.second /= double(out.passages * (L - 1));
    return out;
}

void run_second_read(Probe& p, const TokenData& data, const MemoryEvalOptions& o, MemoryReport& r) {
    const size_t L = size_t(o.passage_len);
    const TwiceResult t = read_twice(p, o.passages, L, [&](int32_t i) { return slice(data, size_t(i) * L, L); });
    r.second_read_passages = t.passages, r.second_read_first = t.first, r.second_read_second = t.second;
}

void run_copy(Probe& p, const TokenData& data, const MemoryEvalOptions& o, MemoryReport& r) {
    const size_t L = size_t(o.copy_len);
    // Fixed: every model is asked the same passages; splitmix64, so that scripts/memory_eval.py draws them too.
    uint64_t state = 20261205;
    const TwiceResult t = read_twice(p, data.size() ? o.copy_passages : 0, L, [&](int32_t) {
        std::vector<int32_t> passage(L);
        for (int32_t& id : passage) data.copy(size_t(splitmix64_next(state) % data.size()), 1, &id);
        return passage;
    });
    r.copy_passages = t.passages, r.copy_first = t.first, r.copy_second = t.second;
}

void run_recall(Probe& p, const MemoryEvalOptions& o, MemoryReport& r) {
    r.repeats = o.repeats;
    for (size_t i = 0; i < o.facts.size(); ++i) {
        const MemoryFact& f = o.facts[i];
        FactResult& fr = r.facts[i];
        fr.fresh_logprob = p.answer_logprob(f, p.fresh_soul());
        for (int32_t k : o.repeats) {
            SoulState soul = p.fresh_soul();
            for (int32_t j = 0; j < k; ++j) p.learn_text(f.prefix + f.answer + ".", soul);
            fr.learned_logprob.push_back(p.answer_logprob(f, soul));
        }
    }
}

void run_sleep(Probe& p, const MemoryEvalOptions& o, MemoryReport& r) {
    MemoryDay day;
    day.date = "2026-01-01";
    for (const MemoryFact& f : o.facts) {
        day.turns.push_back({"user", f.prefix + f.answer + ".", ""});
        day.turns.push_back({"assistant", "I will remember that" + f.answer + ".", ""});
    }
    ReplayOptions ro;
    ro.max_days = 0;
    SoulState soul = p.fresh_soul();
    for (const std::string& piece : build_replay({day}, ro)) p.learn_text(piece, soul);
    for (size_t i = 0; i < o.facts.size(); ++i) {
        r.facts[i].fresh_logprob = p.answer_logprob(o.facts[i], p.fresh_soul());
        r.facts[i].after_sleep_logprob = p.answer_logprob(o.facts[i], soul);
    }
}

void run_stability(Probe& p, const TokenData& data, const MemoryEvalOptions& o, MemoryReport& r) {
    // Probes from the start of the data, the life from what follows them.
    const size_t L = size_t(o.probe_len), probe_tokens = size_t(o.probes) * L;
    std::vector<std::vector<int32_t>> probes;
    for (int32_t i = 0; i < o.probes; ++i) {
        std::vector<int32_t> t = slice(data, size_t(i) * L, L);
        if (t.size() == L) probes.push_back(std::move(t));
    }
    const std::vector<int32_t> life = slice(data, probe_tokens, size_t(o.life_tokens));
    SoulState lived = p.fresh_soul();
    for (size_t at = 0; at < life.size(); at += 4096) {
        std::vector<int32_t> part(life.begin() + long(at), life.begin() + long(std::min(life.size(), at + 4096)));
        p.run(part, lived);
    }
    r.stability_life_tokens = life.size();
    double fresh = 0.0, after = 0.0;
    size_t n = 0;
    for (const auto& probe : probes) {
        SoulState a = p.fresh_soul(), b = lived;
        for (double l : p.losses(probe, a)) fresh += l;
        for (double l : p.losses(probe, b)) after += l;
        n += probe.size() - 1;
    }
    r.stability_fresh_loss = n ? fresh / double(n) : 0.0;
    r.stability_after_loss = n ? after / double(n) : 0.0;
}

}  // namespace

MemoryReport evaluate_memory(const std::string& model_path, const std::string& data_path, const MemoryEvalOptions& o) {
    check_options(o);
    Probe probe(model_path, o.threads);
    MemoryReport r;
    r.facts.resize(o.facts.size());
    for (size_t i = 0; i < o.facts.size(); ++i) r.facts[i].prefix = o.facts[i].prefix, r.facts[i].answer = o.facts[i].answer;
    const bool needs_data = wants(o, "positions") || wants(o, "second_read") || wants(o, "copy") || wants(o, "stability");
    TokenData data;
    if (needs_data) data = TokenData::open(data_path, probe.config().vocab_size);
    if (wants(o, "positions")) run_positions(probe, data, o, r), r.ran.push_back("positions");
    if (wants(o, "second_read")) run_second_read(probe, data, o, r), r.ran.push_back("second_read");
    if (wants(o, "copy")) run_copy(probe, data, o, r), r.ran.push_back("copy");
    if (wants(o, "recall")) run_recall(probe, o, r), r.ran.push_back("recall");
    if (wants(o, "sleep")) run_sleep(probe, o, r), r.ran.push_back("sleep");
    if (wants(o, "stability")) run_stability(probe, data, o, r), r.ran.push_back("stability");
    return r;
}

std::string MemoryReport::to_json() const {
    std::string s = "{\"tests\":[";
    for (size_t i = 0; i < ran.size(); ++i) s += (i ? "," : "") + json_quote(ran[i]);
    s += "],\"positions\":[";
    for (size_t i = 0; i < positions.size(); ++i)
        s += std::string(i ? "," : "") + "{\"begin\":" + std::to_string(positions[i].begin) +
             ",\"end\":" + std::to_string(positions[i].end) + ",\"count\":" + std::to_string(positions[i].count) +
             ",\"mean_loss\":" + num(positions[i].mean_loss) + "}";
    s += "],\"second_read\":{\"passages\":" + std::to_string(second_read_passages) + ",\"first\":" +
         num(second_read_first) + ",\"second\":" + num(second_read_second) + "},\"copy\":{\"passages\":" +
         std::to_string(copy_passages) + ",\"first\":" + num(copy_first) + ",\"second\":" + num(copy_second) +
         "},\"repeats\":[";
    for (size_t i = 0; i < repeats.size(); ++i) s += (i ? "," : "") + std::to_string(repeats[i]);
    s += "],\"facts\":[";
    for (size_t i = 0; i < facts.size(); ++i) {
        const FactResult& f = facts[i];
        s += std::string(i ? "," : "") + "{\"prefix\":" + json_quote(f.prefix) + ",\"answer\":" + json_quote(f.answer) +
             ",\"fresh\":" + num(f.fresh_logprob) + ",\"learned\":[";
        for (size_t k = 0; k < f.learned_logprob.size(); ++k) s += (k ? "," : "") + num(f.learned_logprob[k]);
        s += "],\"after_sleep\":" + num(f.after_sleep_logprob) + "}";
    }
    s += "],\"stability\":{\"life_tokens\":" + std::to_string(stability_life_tokens) + ",\"fresh\":" +
         num(stability_fresh_loss) + ",\"after\":" + num(stability_after_loss) + "}}";
    return s;
}

}  // namespace ttt
