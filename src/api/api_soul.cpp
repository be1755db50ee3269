// C ABI: souls to and from files and byte buffers.
#include <cstring>

#include "api/guard.h"
#include "api/handles.h"
#include "io/file.h"
#include "load/soul_file.h"

using namespace ttt;

namespace {

void check_flags(uint32_t flags) {
    if (flags & ~TTT_SOUL_FORCE) throw Error(TTT_ERR_INVALID_ARGUMENT, "unknown soul flags " + std::to_string(flags));
}

void load_soul_bytes(ttt_context* ctx, const uint8_t* data, size_t size, uint32_t flags, const std::string& what) {
    const ttt_model& m = *ctx->model;
    SoulState soul(m.loaded.weights.config);
    soul_from_bytes(data, size, m.loaded.weights.config, m.fingerprint, (flags & TTT_SOUL_FORCE) != 0, &soul, what);
    ctx->session.set_soul(std::move(soul));
}

}  // namespace

extern "C" {

TTT_API ttt_status TTT_CALL ttt_save_soul(ttt_context* ctx, const char* path) {
    return guarded("ttt_save_soul", [&] {
        check_context(ctx);
        require_pointer(path, "path");
        ContextLock lock(ctx);
        write_file_atomic(path, soul_to_bytes(ctx->session.soul(), ctx->model->loaded.weights.config, ctx->model->fingerprint));
    });
}

TTT_API ttt_status TTT_CALL ttt_load_soul(ttt_context* ctx, const char* path, uint32_t flags) {
    return guarded("ttt_load_soul", [&] {
        check_context(ctx);
        require_pointer(path, "path");
        check_flags(flags);
        ContextLock lock(ctx);
        std::vector<uint8_t> bytes = read_file(path);
        load_soul_bytes(ctx, bytes.data(), bytes.size(), flags, path);
    });
}

TTT_API ttt_status TTT_CALL ttt_save_soul_buffer(ttt_context* ctx, void* buffer, size_t capacity, size_t* out_size) {
    return guarded("ttt_save_soul_buffer", [&] {
        check_context(ctx);
        require_pointer(out_size, "out_size");
        ContextLock lock(ctx);
        std::vector<uint8_t> bytes = soul_to_bytes(ctx->session.soul(), ctx->model->loaded.weights.config, ctx->model->fingerprint);
        *out_size = bytes.size();
        if (!buffer || capacity < bytes.size())
            throw Error(TTT_ERR_BUFFER_TOO_SMALL, "the soul needs " + std::to_string(bytes.size()) + " bytes, the buffer has " +
                                                      std::to_string(buffer ? capacity : 0));
        std::memcpy(buffer, bytes.data(), bytes.size());
    });
}

TTT_API ttt_status TTT_CALL ttt_load_soul_buffer(ttt_context* ctx, const void* data, size_t size, uint32_t flags) {
    return guarded("ttt_load_soul_buffer", [&] {
        check_context(ctx);
        require_pointer(data, "data");
        check_flags(flags);
        ContextLock lock(ctx);
        load_soul_bytes(ctx, static_cast<const uint8_t*>(data), size, flags, "soul buffer");
    });
}

}  // extern "C"
