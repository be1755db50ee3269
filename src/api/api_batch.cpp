// C ABI: many contexts of one model stepped together (ttt_forward_batch).
#include <limits>
#include <memory>
#include <vector>

#include "api/guard.h"
#include "api/handles.h"

using namespace ttt;

namespace {
// A batch is one step, checked for cancel only before it runs: it is meant for a frame of many contexts, not for
// long prompts (ttt_forward runs those in cancellable passes).
constexpr size_t kMaxBatchTokens = size_t(1) << 16;
}  // namespace

extern "C" TTT_API ttt_status TTT_CALL ttt_forward_batch(ttt_context* const* contexts, size_t n_contexts,
                                                         const int32_t* tokens, const size_t* n_tokens, float* logits) {
    return guarded("ttt_forward_batch", [&] {
        require_pointer(contexts, "contexts");
        require_pointer(tokens, "tokens");
        require_pointer(n_tokens, "n_tokens");
        if (n_contexts == 0) throw Error(TTT_ERR_INVALID_ARGUMENT, "n_contexts is 0");
        if (n_contexts > 65536) throw Error(TTT_ERR_INVALID_ARGUMENT, "n_contexts must be at most 65536");
        std::vector<Session*> sessions(n_contexts);
        size_t total = 0;
        for (size_t i = 0; i < n_contexts; ++i) {
            if (!contexts[i]) throw Error(TTT_ERR_NULL_POINTER, "contexts[" + std::to_string(i) + "] is NULL");
            check_context(contexts[i]);
            if (contexts[i]->model != contexts[0]->model)
                throw Error(TTT_ERR_INVALID_ARGUMENT, "contexts[" + std::to_string(i) +
                                                          "] belongs to another model; a batch steps contexts of one model");
            if (n_tokens[i] == 0) throw Error(TTT_ERR_INVALID_ARGUMENT, "n_tokens[" + std::to_string(i) + "] is 0");
            if (n_tokens[i] > kMaxBatchTokens - total)
                throw Error(TTT_ERR_INVALID_ARGUMENT, "a batch holds at most " + std::to_string(kMaxBatchTokens) +
                                                          " tokens (it is one uncancellable step; run long prompts "
                                                          "with ttt_forward)");
            total += n_tokens[i];
            sessions[i] = &contexts[i]->session;
        }
        // Lock every context (a repeated context is busy by the time it comes up again).
        std::vector<std::unique_ptr<ContextLock>> locks;
        for (size_t i = 0; i < n_contexts; ++i) {
            try {
                locks.push_back(std::make_unique<ContextLock>(contexts[i]));
            } catch (const Error&) {
                for (size_t j = 0; j < i; ++j)
                    if (contexts[j] == contexts[i])
                        throw Error(TTT_ERR_INVALID_ARGUMENT, "contexts[" + std::to_string(i) + "] repeats contexts[" +
                                                                  std::to_string(j) + "]; each context may appear once");
                throw;
            }
        }
        Session::run_batch(sessions.data(), n_contexts, tokens, n_tokens, logits);
    });
}
