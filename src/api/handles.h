// What the opaque C handles hold. Only src/api sees these definitions.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include <map>
#include <memory>
#include <mutex>

#include "backend/backend.h"
#include "chat/chat_template.h"
#include "model/prepared_model.h"
#include "generate/session.h"
#include "load/model_files.h"
#include "model/legacy_ttt_layer.h"
#include "tokenizer/tokenizer.h"

// Magic numbers catch a wrong or destroyed handle passed by mistake (best effort; a freed handle's memory is
// cleared of its magic before release).
constexpr uint32_t kModelMagic = 0x4d545454;    // "TTTM"
constexpr uint32_t kContextMagic = 0x43545454;  // "TTTC"
constexpr uint32_t kLayerMagic = 0x4c545454;    // "TTTL"

struct ttt_model {
    uint32_t magic = kModelMagic;
    ttt::LoadedModel loaded;
    std::unique_ptr<ttt::Tokenizer> tokenizer;  // null when the model has none
    ttt::chat::ChatConfig chat;                 // tokenizer_config.json's chat template and special tokens
    uint64_t fingerprint = 0;
    // The user's reference plus one per context: the model lives until the last of them is released.
    std::atomic<int64_t> refs{1};
    // Set by ttt_model_free: the handle stays valid for its contexts but refuses new use (and a second free).
    std::atomic<bool> released_by_user{false};
    // The weights prepared on each kind of backend, made by the first context that needs them, shared after.
    std::mutex prepared_mutex;
    std::map<std::string, std::shared_ptr<const ttt::PreparedModel>> prepared;
};

struct ttt_context {
    uint32_t magic = kContextMagic;
    ttt_model* model = nullptr;
    ttt::Session session;
    std::atomic<bool> busy{false};
    std::string last_text;  // what ttt_generate_next handed out; valid until the next call

    ttt_context(ttt_model* m, std::unique_ptr<ttt::Backend> be, std::shared_ptr<const ttt::PreparedModel> prepared,
                size_t rows_per_pass)
        : model(m), session(m->loaded.weights, m->tokenizer.get(), std::move(be), std::move(prepared), rows_per_pass) {}
};

struct ttt_layer {
    uint32_t magic = kLayerMagic;
    ttt::LegacyTttLayer layer;
    std::atomic<bool> busy{false};
    ttt_layer(size_t dim, float lr, uint64_t seed) : layer(dim, lr, seed) {}
};

namespace ttt {

void check_model(const ttt_model* m);
void check_context(const ttt_context* c);
void release_model(ttt_model* m);
// The model's weights prepared on `backend` (made once per backend kind, then shared).
std::shared_ptr<const PreparedModel> prepared_weights(ttt_model* m, Backend& backend);

// Marks a context busy for the duration of a call; a second thread gets TTT_ERR_BUSY.
class ContextLock {
public:
    explicit ContextLock(ttt_context* c);
    ~ContextLock();
    ContextLock(const ContextLock&) = delete;
    ContextLock& operator=(const ContextLock&) = delete;

private:
    ttt_context* ctx_;
};

}  // namespace ttt
