// Test helper: the logits of every row of one fixed 8-token prompt through the one forward on `be`, from a fresh
// soul with an f32 KV cache — the quantity the attention-model tests compare between storages of the same values.
#pragma once

#include <vector>

#include "backend/backend.h"
#include "model/forward.h"
#include "model/prepared_model.h"
#include "model/soul_state.h"
#include "model/weights.h"

namespace ttt_test {

inline std::vector<float> attention_prefill(const ttt::ModelWeights& w, ttt::Backend& be) {
    using namespace ttt;
    const std::vector<int32_t> tokens = {1, 7, 3, 12, 5, 9, 2, 11};
    auto prepared = PreparedModel::create(w, nullptr, be);
    Forward fwd(w.config, all_layers_on(&be, prepared), 8);
    std::vector<float> out(tokens.size() * size_t(w.config.vocab_size));
    SoulState soul(w.config);
    soul.kv.configure(w.config, KvCacheType::f32, 0);
    SequenceInput in{tokens.data(), tokens.size(), &soul, LogitRows::all, out.data()};
    fwd.run(&in, 1);
    return out;
}

}  // namespace ttt_test
