// C ABI: generation (pull-style and streaming), learning, memories and sleep.
#include <cmath>
#include <cstring>

#include "api/guard.h"
#include "api/handles.h"
#include "api/params.h"
#include "io/file.h"
#include "load/soul_file.h"
#include "memory/memories.h"

using namespace ttt;

namespace {

// Limits on what a caller may pass (docs/formats.md "Limits"): a hostile or buggy caller cannot make the library
// allocate without bound. Each refusal names the argument and the limit.
constexpr size_t kMaxPromptBytes = size_t(64) << 20;    // a prompt to ttt_generate / ttt_generate_begin
constexpr size_t kMaxMemoryBytes = size_t(16) << 20;    // one remembered turn
constexpr size_t kMaxStopStrings = 64;
constexpr size_t kMaxStopStringBytes = 4096;
constexpr size_t kMaxLogitBias = size_t(1) << 24;       // the largest vocabulary

void check_length(size_t len, size_t limit, const char* name) {
    if (len > limit)
        throw Error(TTT_ERR_INVALID_ARGUMENT, std::string(name) + " of " + std::to_string(len) + " bytes is over the " +
                                                  std::to_string(limit >> 20) + " MiB limit");
}

void generate_defaults(ttt_generate_params* p) {
    std::memset(p, 0, sizeof *p);
    p->struct_size = sizeof *p;
    p->max_tokens = 256;
    p->temperature = 0.8f;
    p->top_k = 40;
    p->top_p = 0.95f;
    p->min_p = 0.05f;
    p->repetition_penalty = 1.1f;
    p->penalty_window = 64;
    p->seed = 1;
    p->tokenize_flags = TTT_TOKENIZE_ADD_SPECIAL;
}

void sleep_defaults(ttt_sleep_params* p) {
    std::memset(p, 0, sizeof *p);
    p->struct_size = sizeof *p;
    p->max_days = 5;
    p->max_piece_chars = 500;
}

GenerateOptions generate_options(const ttt_generate_params& p) {
    GenerateOptions o;
    o.max_tokens = p.max_tokens;
    o.sampler.temperature = p.temperature;
    o.sampler.top_k = p.top_k;
    o.sampler.top_p = p.top_p;
    o.sampler.min_p = p.min_p;
    o.sampler.repetition_penalty = p.repetition_penalty;
    o.sampler.presence_penalty = p.presence_penalty;
    o.sampler.frequency_penalty = p.frequency_penalty;
    o.sampler.penalty_window = p.penalty_window;
    o.sampler.seed = p.seed;
    if (p.n_logit_bias > kMaxLogitBias)
        throw Error(TTT_ERR_INVALID_ARGUMENT, "params.n_logit_bias " + std::to_string(p.n_logit_bias) +
                                                  " is over the limit of " + std::to_string(kMaxLogitBias));
    if (p.n_stop_strings > kMaxStopStrings)
        throw Error(TTT_ERR_INVALID_ARGUMENT, "params.n_stop_strings " + std::to_string(p.n_stop_strings) +
                                                  " must be in [0, " + std::to_string(kMaxStopStrings) + "]");
    if (p.n_logit_bias) require_pointer(p.logit_bias, "params.logit_bias");
    for (size_t i = 0; i < p.n_logit_bias; ++i) o.sampler.logit_bias.emplace_back(p.logit_bias[i].token, p.logit_bias[i].bias);
    if (p.n_stop_strings) require_pointer(p.stop_strings, "params.stop_strings");
    for (size_t i = 0; i < p.n_stop_strings; ++i) {
        if (!p.stop_strings[i]) throw Error(TTT_ERR_NULL_POINTER, "params.stop_strings[" + std::to_string(i) + "] is NULL");
        const size_t len = strnlen(p.stop_strings[i], kMaxStopStringBytes + 1);  // never scans past the limit
        if (len > kMaxStopStringBytes)
            throw Error(TTT_ERR_INVALID_ARGUMENT, "params.stop_strings[" + std::to_string(i) + "] is longer than " +
                                                      std::to_string(kMaxStopStringBytes) + " bytes");
        o.stop_strings.emplace_back(p.stop_strings[i], len);
    }
    if (p.tokenize_flags & ~(TTT_TOKENIZE_ADD_SPECIAL | TTT_TOKENIZE_PARSE_SPECIAL))
        throw Error(TTT_ERR_INVALID_ARGUMENT, "params.tokenize_flags has unknown bits");
    o.add_special = p.tokenize_flags & TTT_TOKENIZE_ADD_SPECIAL;
    o.parse_special = p.tokenize_flags & TTT_TOKENIZE_PARSE_SPECIAL;
    return o;
}

std::string_view text_arg(const char* text, size_t len, const char* name) {
    if (len) require_pointer(text, name);
    return std::string_view(text ? text : "", len);
}

}  // namespace

extern "C" {

TTT_API ttt_status TTT_CALL ttt_generate_params_init(ttt_generate_params* params, uint32_t struct_size) {
    return guarded("ttt_generate_params_init", [&] { init_params(params, struct_size, generate_defaults); });
}

TTT_API ttt_status TTT_CALL ttt_sleep_params_init(ttt_sleep_params* params, uint32_t struct_size) {
    return guarded("ttt_sleep_params_init", [&] { init_params(params, struct_size, sleep_defaults); });
}

TTT_API ttt_status TTT_CALL ttt_generate_begin(ttt_context* ctx, const char* prompt, size_t prompt_len,
                                               const ttt_generate_params* params) {
    return guarded("ttt_generate_begin", [&] {
        check_context(ctx);
        check_length(prompt_len, kMaxPromptBytes, "prompt");
        std::string_view text = text_arg(prompt, prompt_len, "prompt");
        GenerateOptions opt = generate_options(read_params(params, generate_defaults, "params"));
        ContextLock lock(ctx);
        ctx->session.begin(text, opt);
    });
}

TTT_API ttt_status TTT_CALL ttt_generate_next(ttt_context* ctx, int32_t* out_token, const char** out_text,
                                              size_t* out_text_len, int32_t* out_stop_reason) {
    return guarded("ttt_generate_next", [&] {
        check_context(ctx);
        require_pointer(out_token, "out_token");
        require_pointer(out_text, "out_text");
        require_pointer(out_text_len, "out_text_len");
        require_pointer(out_stop_reason, "out_stop_reason");
        *out_token = -1;
        *out_text = "";
        *out_text_len = 0;
        *out_stop_reason = TTT_STOP_NONE;
        ContextLock lock(ctx);
        GenerateStep step = ctx->session.next();
        ctx->last_text = std::move(step.text);
        *out_token = step.token;
        *out_text = ctx->last_text.c_str();
        *out_text_len = ctx->last_text.size();
        *out_stop_reason = static_cast<int32_t>(step.stop);
    });
}

TTT_API ttt_status TTT_CALL ttt_generate(ttt_context* ctx, const char* prompt, size_t prompt_len,
                                         const ttt_generate_params* params, ttt_text_callback callback,
                                         void* user_data, int32_t* out_stop_reason) {
    return guarded("ttt_generate", [&] {
        check_context(ctx);
        if (!callback) throw Error(TTT_ERR_NULL_POINTER, "argument 'callback' is NULL");
        if (out_stop_reason) *out_stop_reason = TTT_STOP_NONE;
        check_length(prompt_len, kMaxPromptBytes, "prompt");
        std::string_view text = text_arg(prompt, prompt_len, "prompt");
        ContextLock lock(ctx);
        // Whatever happens from here (bad params, a failed start, a throwing C++ callback), the generation is over
        // when ttt_generate returns.
        struct EndGeneration {
            Session& s;
            ~EndGeneration() { s.end_generation(); }
        } end_generation{ctx->session};
        GenerateOptions opt = generate_options(read_params(params, generate_defaults, "params"));
        ctx->session.begin(text, opt);
        for (;;) {
            GenerateStep step = ctx->session.next();
            if (!step.text.empty() && callback(step.text.data(), step.text.size(), step.token, user_data) == 0 &&
                step.stop == StopReason::None) {
                if (out_stop_reason) *out_stop_reason = TTT_STOP_CALLBACK;
                return;
            }
            if (step.stop != StopReason::None) {
                if (out_stop_reason) *out_stop_reason = static_cast<int32_t>(step.stop);
                return;
            }
        }
    });
}

TTT_API ttt_status TTT_CALL ttt_learn(ttt_context* ctx, const char* text, size_t text_len, uint32_t tokenize_flags,
                                      size_t* out_n_tokens) {
    return guarded("ttt_learn", [&] {
        check_context(ctx);
        if (out_n_tokens) *out_n_tokens = 0;
        std::string_view t = text_arg(text, text_len, "text");
        if (tokenize_flags & ~(TTT_TOKENIZE_ADD_SPECIAL | TTT_TOKENIZE_PARSE_SPECIAL))
            throw Error(TTT_ERR_INVALID_ARGUMENT, "unknown tokenize flags");
        ContextLock lock(ctx);
        size_t scratch = 0;
        ctx->session.learn(t, tokenize_flags & TTT_TOKENIZE_ADD_SPECIAL, tokenize_flags & TTT_TOKENIZE_PARSE_SPECIAL,
                           out_n_tokens ? out_n_tokens : &scratch);
    });
}

TTT_API ttt_status TTT_CALL ttt_remember(const char* memories_dir, const char* role, const char* text, size_t text_len) {
    return guarded("ttt_remember", [&] {
        require_pointer(memories_dir, "memories_dir");
        require_pointer(role, "role");
        check_length(text_len, kMaxMemoryBytes, "text");
        std::string_view t = text_arg(text, text_len, "text");
        if (!*role) throw Error(TTT_ERR_INVALID_ARGUMENT, "role is empty");
        append_memory(memories_dir, role, t);
    });
}

TTT_API ttt_status TTT_CALL ttt_sleep(ttt_context* ctx, const ttt_sleep_params* params, size_t* out_n_tokens) {
    return guarded("ttt_sleep", [&] {
        check_context(ctx);
        require_pointer(params, "params");
        if (out_n_tokens) *out_n_tokens = 0;
        ttt_sleep_params p = read_params(params, sleep_defaults, "params");
        require_pointer(p.memories_dir, "params.memories_dir");
        if (p.autosave_path && !*p.autosave_path)
            throw Error(TTT_ERR_INVALID_ARGUMENT, "params.autosave_path is empty (NULL means no autosave)");
        SleepOptions opt;
        opt.memories_dir = p.memories_dir;
        opt.max_days = p.max_days;
        opt.random_days = p.random_days != 0;
        opt.seed = p.seed;
        opt.max_piece_chars = p.max_piece_chars;
        if (p.progress_callback) {
            ttt_progress_callback cb = p.progress_callback;
            void* user = p.progress_user_data;
            opt.progress = [cb, user](float f) { return cb(f, user) != 0; };
        }
        ContextLock lock(ctx);
        size_t scratch = 0;
        ctx->session.sleep(opt, out_n_tokens ? out_n_tokens : &scratch);
        if (p.autosave_path) {
            const ttt_model& m = *ctx->model;
            write_file_atomic(p.autosave_path, soul_to_bytes(ctx->session.soul(), m.loaded.weights.config, m.fingerprint));
        }
    });
}

}  // extern "C"
