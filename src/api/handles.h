// What the opaque C handles hold. Only src/api sees these definitions.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "io/model_files.h"
#include "model/bitllama.h"
#include "model/legacy_ttt_layer.h"
#include "model/soul_state.h"

// Magic numbers catch a wrong or destroyed handle passed by mistake (best effort; a freed handle's memory is
// cleared of its magic before release).
constexpr uint32_t kModelMagic = 0x4d545454;    // "TTTM"
constexpr uint32_t kContextMagic = 0x43545454;  // "TTTC"
constexpr uint32_t kLayerMagic = 0x4c545454;    // "TTTL"

struct ttt_model {
    uint32_t magic = kModelMagic;
    ttt::LoadedModel loaded;
    uint64_t fingerprint = 0;
    // The user's reference plus one per context: the model lives until the last of them is released.
    std::atomic<int64_t> refs{1};
};

struct ttt_context {
    uint32_t magic = kContextMagic;
    ttt_model* model = nullptr;
    const ttt::Backend* backend = nullptr;
    ttt::SoulState soul;
    ttt::ForwardScratch scratch;
    int32_t n_threads = 1;
    std::atomic<bool> busy{false};
    std::atomic<bool> cancel{false};

    ttt_context(ttt_model* m, const ttt::Backend* be)
        : model(m), backend(be), soul(m->loaded.weights.config), scratch(m->loaded.weights.config) {}
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
