// C ABI: contexts, the forward pass, reset and cancel.
#include <cstring>
#include <limits>

#include "api/guard.h"
#include "api/handles.h"
#include "api/params.h"
#include "backend/cpu_backend.h"
#include "common/log.h"

namespace ttt {

void check_context(const ttt_context* c) {
    require_pointer(c, "ctx");
    if (c->magic != kContextMagic) throw Error(TTT_ERR_INVALID_ARGUMENT, "argument 'ctx' is not a live ttt_context handle");
}

ContextLock::ContextLock(ttt_context* c) : ctx_(c) {
    if (ctx_->busy.exchange(true))
        throw Error(TTT_ERR_BUSY, "the context is in use by another thread (a context serves one thread at a time)");
}

ContextLock::~ContextLock() { ctx_->busy.store(false); }

std::shared_ptr<const PreparedModel> prepared_weights(ttt_model* m, Backend& backend) {
    std::lock_guard<std::mutex> lock(m->prepared_mutex);
    auto& slot = m->prepared[backend.name()];
    // The weights live as long as the model handle, which outlives its contexts: no ownership to share.
    if (!slot) slot = PreparedModel::create(m->loaded.weights, std::shared_ptr<const void>(), backend);
    return slot;
}

namespace {

// TTT_LM_HEAD_* → the storage; DEFAULT leaves the choice to CpuBackend::best (f32 unless TTT_LM_HEAD says).
std::optional<DenseStorage> lm_head_storage_of(int32_t v) {
    if (v == TTT_LM_HEAD_F32) return DenseStorage::f32;
    if (v == TTT_LM_HEAD_BF16) return DenseStorage::bf16;
    if (v == TTT_LM_HEAD_I8) return DenseStorage::i8;
    return std::nullopt;
}

void context_defaults(ttt_context_params* p) {
    std::memset(p, 0, sizeof *p);
    p->struct_size = sizeof *p;
    p->n_threads = 0;
    p->backend = TTT_BACKEND_CPU;
    p->n_batch = 0;
}

}  // namespace

}  // namespace ttt

using namespace ttt;

extern "C" {

TTT_API ttt_status TTT_CALL ttt_context_params_init(ttt_context_params* params, uint32_t struct_size) {
    return guarded("ttt_context_params_init", [&] { init_params(params, struct_size, context_defaults); });
}

TTT_API ttt_status TTT_CALL ttt_create(ttt_model* model, const ttt_context_params* params, ttt_context** out_ctx) {
    return guarded("ttt_create", [&] {
        require_pointer(out_ctx, "out_ctx");
        *out_ctx = nullptr;
        check_model(model);
        ttt_context_params p = read_params(params, context_defaults, "params");
        if (p.n_threads < 0 || p.n_threads > 1024) throw Error(TTT_ERR_INVALID_ARGUMENT, "params.n_threads must be in 0..1024");
        if (p.backend == TTT_BACKEND_CUDA)
            throw Error(TTT_ERR_UNSUPPORTED, "the CUDA backend is not available in this version; use TTT_BACKEND_CPU");
        if (p.backend != TTT_BACKEND_CPU) throw Error(TTT_ERR_INVALID_ARGUMENT, "params.backend is unknown");
        if (p.n_batch < 0 || p.n_batch > 65536) throw Error(TTT_ERR_INVALID_ARGUMENT, "params.n_batch must be in 0..65536");
        if (p.lm_head < TTT_LM_HEAD_DEFAULT || p.lm_head > TTT_LM_HEAD_I8)
            throw Error(TTT_ERR_INVALID_ARGUMENT, "params.lm_head must be one of the TTT_LM_HEAD_* values (0..3)");
        if (p.activations < TTT_ACTIVATIONS_DEFAULT || p.activations > TTT_ACTIVATIONS_INT8)
            throw Error(TTT_ERR_INVALID_ARGUMENT, "params.activations must be one of the TTT_ACTIVATIONS_* values (0..2)");
        const std::optional<bool> int8_float = p.activations == TTT_ACTIVATIONS_DEFAULT
                                                   ? std::nullopt
                                                   : std::optional<bool>(p.activations == TTT_ACTIVATIONS_INT8);
        std::unique_ptr<Backend> backend = CpuBackend::best(p.n_threads, lm_head_storage_of(p.lm_head), int8_float);
        auto prepared = prepared_weights(model, *backend);
        const size_t rows_per_pass = p.n_batch == 0 ? Session::kDefaultRowsPerPass : size_t(p.n_batch);
        if (p.n_ctx < 0) throw Error(TTT_ERR_INVALID_ARGUMENT, "params.n_ctx must be >= 0");
        if (p.kv_cache_type < TTT_KV_F16 || p.kv_cache_type > TTT_KV_F32)
            throw Error(TTT_ERR_INVALID_ARGUMENT, "params.kv_cache_type must be TTT_KV_F16, TTT_KV_INT8 or TTT_KV_F32");
        auto holder = std::make_unique<ttt_context>(model, std::move(backend), std::move(prepared), rows_per_pass);
        ttt_context* ctx = holder.get();
        const ModelConfig& config = model->loaded.weights.config;
        if (config.is_attention()) {
            const KvCacheType kv = p.kv_cache_type == TTT_KV_INT8 ? KvCacheType::i8
                                   : p.kv_cache_type == TTT_KV_F32 ? KvCacheType::f32 : KvCacheType::f16;
            ctx->session.mutable_soul().kv.configure(config, kv, uint64_t(p.n_ctx));
        }
        holder.release();
        model->refs.fetch_add(1);
        *out_ctx = ctx;
    });
}

TTT_API void TTT_CALL ttt_destroy(ttt_context* ctx) {
    if (!ctx || ctx->magic != kContextMagic) return;
    // Freeing under a running call would be a use-after-free on that thread: refuse, loudly, and leave ctx usable.
    if (ctx->busy.exchange(true)) {
        log_message(TTT_LOG_ERROR, "ttt_destroy: the context is in use (another thread or its own callback); "
                                   "call ttt_cancel, wait for the call to return, then destroy; nothing was freed");
        return;
    }
    ttt_model* model = ctx->model;
    ctx->magic = 0;
    delete ctx;
    release_model(model);
}

TTT_API ttt_status TTT_CALL ttt_forward(ttt_context* ctx, const int32_t* tokens, size_t n_tokens, float* logits) {
    return guarded("ttt_forward", [&] {
        check_context(ctx);
        if (n_tokens == 0) throw Error(TTT_ERR_INVALID_ARGUMENT, "n_tokens is 0");
        require_pointer(tokens, "tokens");
        ContextLock lock(ctx);
        ctx->session.start_work();
        ctx->session.run(tokens, n_tokens, LogitRows::last, logits);
    });
}

TTT_API ttt_status TTT_CALL ttt_forward_all(ttt_context* ctx, const int32_t* tokens, size_t n_tokens,
                                            float* logits_all) {
    return guarded("ttt_forward_all", [&] {
        check_context(ctx);
        if (n_tokens == 0) throw Error(TTT_ERR_INVALID_ARGUMENT, "n_tokens is 0");
        require_pointer(tokens, "tokens");
        require_pointer(logits_all, "logits_all");
        const size_t V = size_t(ctx->model->loaded.weights.config.vocab_size);
        if (n_tokens > std::numeric_limits<size_t>::max() / sizeof(float) / V)
            throw Error(TTT_ERR_DIMENSION_MISMATCH, "n_tokens * vocab_size overflows");
        ContextLock lock(ctx);
        ctx->session.start_work();
        ctx->session.run(tokens, n_tokens, LogitRows::all, logits_all);
    });
}

TTT_API ttt_status TTT_CALL ttt_reset(ttt_context* ctx) {
    return guarded("ttt_reset", [&] {
        check_context(ctx);
        ContextLock lock(ctx);
        ctx->session.reset();
    });
}

TTT_API ttt_status TTT_CALL ttt_cancel(ttt_context* ctx) {
    return guarded("ttt_cancel", [&] {
        check_context(ctx);
        ctx->session.request_cancel();
    });
}

TTT_API ttt_status TTT_CALL ttt_get_position(const ttt_context* ctx, uint64_t* out_position) {
    return guarded("ttt_get_position", [&] {
        check_context(ctx);
        require_pointer(out_position, "out_position");
        *out_position = ctx->session.position();
    });
}

TTT_API ttt_status TTT_CALL ttt_get_soul_level(const ttt_context* ctx, uint64_t* out_level) {
    return guarded("ttt_get_soul_level", [&] {
        check_context(ctx);
        require_pointer(out_level, "out_level");
        *out_level = ctx->session.level();
    });
}

TTT_API ttt_status TTT_CALL ttt_get_model(const ttt_context* ctx, const ttt_model** out_model) {
    return guarded("ttt_get_model", [&] {
        check_context(ctx);
        require_pointer(out_model, "out_model");
        *out_model = ctx->model;
    });
}

}  // extern "C"

extern "C" TTT_API ttt_status TTT_CALL ttt_get_perf(const ttt_context* ctx, ttt_perf* out_perf) {
    return guarded("ttt_get_perf", [&] {
        check_context(ctx);
        require_pointer(out_perf, "out_perf");
        if (out_perf->struct_size < sizeof(uint32_t))
            throw Error(TTT_ERR_INVALID_ARGUMENT, "out_perf->struct_size must be set to sizeof(ttt_perf)");
        ContextLock lock(const_cast<ttt_context*>(ctx));
        const PerfCounters& p = ctx->session.perf();
        ttt_perf out;
        std::memset(&out, 0, sizeof out);
        out.struct_size = static_cast<uint32_t>(std::min<size_t>(out_perf->struct_size, sizeof out));
        out.prompt_tokens = p.prompt_tokens;
        out.prompt_seconds = p.prompt_seconds;
        out.generated_tokens = p.generated_tokens;
        out.generation_seconds = p.generation_seconds;
        std::memcpy(out_perf, &out, out.struct_size);
    });
}

extern "C" TTT_API ttt_status TTT_CALL ttt_set_abort_callback(ttt_context* ctx, ttt_abort_callback callback, void* user_data) {
    return guarded("ttt_set_abort_callback", [&] {
        check_context(ctx);
        ContextLock lock(ctx);
        if (callback) ctx->session.set_abort_check([callback, user_data] { return callback(user_data) != 0; });
        else ctx->session.set_abort_check({});
    });
}
