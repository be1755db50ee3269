// How well a model's soul remembers (docs/memory.md): six measurements on held-out tokens and on facts, all run
// through the one batched forward (what contexts run), each starting from a fresh soul unless it says otherwise.
//
//   positions    mean next-token loss by position bucket ([0,128), [128,256), [256,512), ... up to the window)
//                over long held-out windows: does more context help?
//   second_read  passages of passage_len tokens, each read twice in a row in one context: mean loss on the first
//                and on the second copy. A soul that remembers predicts the second copy better.
//   copy         the same with passages of copy_len tokens drawn at random from the held-out text (splitmix64 from
//                seed 20261205, token = data[next() mod size]):
//                nothing but copying predicts their second copy, so it isolates the memory from the language model.
//   recall       for each fact (prefix, answer): log p(answer | prefix) with a fresh soul, and after the soul learned
//                the sentence prefix + answer + "." k times (k in repeats). Higher after learning = remembered.
//   sleep        the facts written as one day of memories (user states the fact, assistant acknowledges), replayed
//                as ttt_sleep replays them (build_replay), then each asked: log p(answer | prefix) against fresh.
//   stability    mean loss on fresh held-out probes after the soul has read life_tokens other held-out tokens,
//                against the same probes with a fresh soul: a long life must not wreck the model.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ttt {

struct MemoryFact {
    std::string prefix;  // "My name is"
    std::string answer;  // " Zorbalind" (with its leading space)
};

// Five facts made of words no corpus holds (so a fresh model cannot know them).
std::vector<MemoryFact> default_memory_facts();

struct MemoryEvalOptions {
    std::vector<std::string> tests = {"positions", "second_read", "copy", "recall", "sleep", "stability"};
    int32_t threads = 0;
    int32_t window = 2048, windows = 0;               // positions (windows 0: every whole window the file holds)
    int32_t passages = 8, passage_len = 200;          // second_read
    int32_t copy_passages = 16, copy_len = 64;        // copy
    std::vector<MemoryFact> facts = default_memory_facts();
    std::vector<int32_t> repeats = {1, 3, 10};        // recall
    int64_t life_tokens = 50000;                      // stability
    int32_t probes = 4, probe_len = 256;
};

struct PositionBucket {
    int64_t begin = 0, end = 0;  // positions [begin, end)
    uint64_t count = 0;
    double mean_loss = 0.0;
};

struct FactResult {
    std::string prefix, answer;
    double fresh_logprob = 0.0;              // nats, summed over the answer's tokens
    std::vector<double> learned_logprob;     // after repeats[i] learnings
    double after_sleep_logprob = 0.0;
};

struct MemoryReport {
    std::vector<PositionBucket> positions;
    double second_read_first = 0.0, second_read_second = 0.0;
    uint64_t second_read_passages = 0;
    double copy_first = 0.0, copy_second = 0.0;
    uint64_t copy_passages = 0;
    std::vector<int32_t> repeats;
    std::vector<FactResult> facts;
    double stability_fresh_loss = 0.0, stability_after_loss = 0.0;
    uint64_t stability_life_tokens = 0;
    std::vector<std::string> ran;  // the tests that ran
    std::string to_json() const;
};

// data_path: a token file made with the model's tokenizer (bit-ttt data). Tests that need more tokens than the file
// holds use what there is and say so in the report's counts. Throws ttt::Error for bad options, model or data.
MemoryReport evaluate_memory(const std::string& model_path, const std::string& data_path, const MemoryEvalOptions& opt);

}  // namespace ttt
