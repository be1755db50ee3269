/*
 * bit_ttt.h — the C ABI of the bit_ttt SDK: BitLlama language models with 1.58-bit ternary weights and
 * Test-Time-Training (TTT) layers whose fast-weight state, the "soul", keeps learning while the model runs.
 *
 * This is the only public header. It is plain C99 and C++; every function uses fixed-width types and is
 * callable from C, C++, C# (P/Invoke, Cdecl) and Python (ctypes).
 *
 * Usage:
 *
 *     ttt_model* model = NULL;
 *     if (ttt_load_model("models/demo.bitt", NULL, &model) != TTT_OK) {
 *         fprintf(stderr, "load failed: %s\n", ttt_last_error());
 *         return 1;
 *     }
 *     ttt_context* ctx = NULL;
 *     ttt_create(model, NULL, &ctx);                        // one context = one conversation / character
 *     int32_t tokens[] = {1, 42, 7};
 *     float* logits = malloc(sizeof(float) * vocab_size);
 *     ttt_forward(ctx, tokens, 3, logits);                   // prefill; the soul learns from the tokens
 *     ttt_save_soul(ctx, "npc.soul");                        // crash-safe: temp file, fsync, rename
 *     ttt_destroy(ctx);
 *     ttt_model_free(model);
 *
 * Threads:
 *   - A ttt_model is immutable after loading. Any number of threads and contexts may share it.
 *   - A ttt_context is used by one thread at a time. A second thread entering a busy context gets
 *     TTT_ERR_BUSY (nothing is corrupted). The exception is ttt_cancel(), which any thread may call.
 *   - ttt_log_set() is global: call it before other threads use the library.
 *
 * Errors:
 *   - Every fallible function returns a ttt_status (0 = TTT_OK). ttt_last_error() returns a message for the
 *     last failure on the calling thread, naming the file, field and reason. No C++ exception, abort or
 *     assertion ever crosses this boundary: an internal failure returns TTT_ERR_PANIC (99) with a message.
 *   - Every *_free / *_destroy function accepts NULL.
 *
 * Memory: what the library allocates, the library frees (ttt_model_free, ttt_destroy, ttt_layer_destroy).
 * Caller buffers use the size-query protocol: pass NULL (or a too-small buffer) to learn the size needed.
 *
 * Text and paths are UTF-8. Versioning: TTT_ABI_VERSION changes only on a breaking change; fields are
 * only ever appended to params structs (each starts with struct_size); functions are only ever added.
 */
#ifndef BIT_TTT_H
#define BIT_TTT_H

#include <stddef.h>
#include <stdint.h>

#ifdef _WIN32
#define TTT_CALL __cdecl
#ifdef TTT_BUILD
#define TTT_API __declspec(dllexport)
#elif defined(TTT_SHARED)
#define TTT_API __declspec(dllimport)
#else
#define TTT_API
#endif
#else
#define TTT_CALL
#define TTT_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------------------------
 * Versions and status codes
 * ------------------------------------------------------------------------------------------------------- */

#define TTT_ABI_VERSION 1

typedef int32_t ttt_status;

/* Numbers are stable forever. 0..2 and 99 are upstream's; 10..49 caller errors; 50..89 resources and data. */
#define TTT_OK                        0
#define TTT_ERR_NULL_POINTER          1  /* a required pointer argument was NULL */
#define TTT_ERR_DIMENSION_MISMATCH    2  /* sizes do not fit each other (or would overflow) */
#define TTT_ERR_INVALID_ARGUMENT     10  /* a value is out of its allowed range */
#define TTT_ERR_BUFFER_TOO_SMALL     11  /* caller buffer too small; the needed size was written */
#define TTT_ERR_BUSY                 12  /* the context is in use by another thread */
#define TTT_ERR_INVALID_STATE        13  /* the call does not fit the object's state */
#define TTT_ERR_UNSUPPORTED          14  /* valid request this build or model does not support */
#define TTT_ERR_IO                   50  /* a file could not be opened, read or written */
#define TTT_ERR_FORMAT               51  /* malformed or corrupted data (file, buffer, JSON, UTF-8) */
#define TTT_ERR_INCOMPATIBLE         52  /* well-formed data that does not fit (soul of another model) */
#define TTT_ERR_OUT_OF_MEMORY        53
#define TTT_ERR_ABORTED              54  /* cancelled by ttt_cancel() or a callback */
#define TTT_ERR_BACKEND              55  /* the compute backend failed or is unavailable */
#define TTT_ERR_PANIC                99  /* an internal error was caught at the boundary */

/* TTT_ABI_VERSION of the loaded library; bindings compare it with the header they were built against. */
TTT_API uint32_t TTT_CALL ttt_abi_version(void);
/* Release version, e.g. "0.1.0". Static string. */
TTT_API const char* TTT_CALL ttt_version_string(void);
/* Name and meaning of a status code, e.g. "TTT_ERR_FORMAT: malformed or corrupted data". Static string. */
TTT_API const char* TTT_CALL ttt_status_string(ttt_status status);
/* Message of the last failure on this thread ("" if none). Valid until the next ttt_* call on this thread. */
TTT_API const char* TTT_CALL ttt_last_error(void);

/* ---------------------------------------------------------------------------------------------------------
 * Logging
 * ------------------------------------------------------------------------------------------------------- */

#define TTT_LOG_DEBUG 0
#define TTT_LOG_INFO  1
#define TTT_LOG_WARN  2
#define TTT_LOG_ERROR 3

typedef void(TTT_CALL* ttt_log_callback)(int32_t level, const char* message, void* user_data);

/* Route library messages at or above min_level to callback (NULL restores the default: stderr, WARN and up).
 * The library never writes to stdout. Global: call before other threads use the library. */
TTT_API void TTT_CALL ttt_log_set(ttt_log_callback callback, int32_t min_level, void* user_data);

/* ---------------------------------------------------------------------------------------------------------
 * Models
 * ------------------------------------------------------------------------------------------------------- */

typedef struct ttt_model ttt_model;
typedef struct ttt_context ttt_context;

#define TTT_BACKEND_CPU  0
#define TTT_BACKEND_CUDA 1

/* Called during loading with progress in [0, 1]; return 0 to abort the load (TTT_ERR_ABORTED). */
typedef int32_t(TTT_CALL* ttt_progress_callback)(float progress, void* user_data);

typedef struct ttt_model_params {
    uint32_t struct_size;                 /* sizeof(ttt_model_params), set by ttt_model_params_init */
    int32_t backend;                      /* TTT_BACKEND_CPU (default) */
    int32_t n_gpu_layers;                 /* layers on the GPU; -1 = auto (unused by the CPU backend) */
    int32_t verify_checksum;              /* 1 (default): verify a .bitt v2 body checksum while loading */
    ttt_progress_callback progress_callback; /* optional */
    void* progress_user_data;
} ttt_model_params;

/* Fill params with defaults. struct_size = sizeof(ttt_model_params) as the caller compiled it. */
TTT_API ttt_status TTT_CALL ttt_model_params_init(ttt_model_params* params, uint32_t struct_size);

/* Load a model from a path: a model directory (config.json + model.safetensors [+ tokenizer.json]),
 * a .bitt file (v1 or v2), or a .safetensors file with config.json beside it. params may be NULL. */
TTT_API ttt_status TTT_CALL ttt_load_model(const char* path, const ttt_model_params* params, ttt_model** out_model);
/* Load a .bitt file (v1 or v2). */
TTT_API ttt_status TTT_CALL ttt_load_bitt(const char* path, const ttt_model_params* params, ttt_model** out_model);
/* Load a .bitt image (v1 or v2) from memory. The bytes are copied; the caller may free them afterwards. */
TTT_API ttt_status TTT_CALL ttt_load_bitt_buffer(const void* data, size_t size, const ttt_model_params* params,
                                                  ttt_model** out_model);
/* Free a model. NULL-safe. Contexts created on it must be destroyed first (otherwise the model stays
 * alive until its last context is destroyed). */
TTT_API void TTT_CALL ttt_model_free(ttt_model* model);

typedef struct ttt_model_info {
    uint32_t struct_size;      /* set by the caller: sizeof(ttt_model_info) */
    int32_t vocab_size;        /* V */
    int32_t hidden_dim;        /* D */
    int32_t num_layers;        /* L */
    int32_t intermediate_dim;  /* I (MLP width) */
    int32_t ttt_dim;           /* d: D/4 (upstream; the soul is L matrices of d x d), or the delta kind's ttt_dim */
    int32_t ttt_chunk;         /* tokens per TTT update */
    int32_t bitlinear_scale;   /* 1: y = s * x Q^T (BitNet b1.58); 0: y = x Q^T (upstream) */
    int32_t act_bits;          /* 0: float activations; 8: per-token absmax int8 */
    float inner_lr;            /* TTT inner learning rate */
    float norm_eps;            /* RMSNorm epsilon */
    int32_t bos_id;            /* -1 if none */
    int32_t eos_id;            /* -1 if none */
    uint64_t fingerprint;      /* hash of config and weights; souls carry it */
    uint64_t n_params;         /* parameter count */
    int32_t has_tokenizer;     /* 1 if the model carries a tokenizer (text functions work) */
    int32_t architecture;      /* TTT_ARCH_TTT, TTT_ARCH_LLAMA or TTT_ARCH_BITNET (ttt_dim is 0 for attention models) */
    int32_t n_heads;           /* attention models: query heads, key/value heads, head width, default context length */
    int32_t n_kv_heads;
    int32_t head_dim;
    int32_t max_position;
    int32_t ttt_kind;          /* TTT layer of BitLlama models: TTT_KIND_UPSTREAM or TTT_KIND_DELTA (docs/memory.md);
                                  TTT_KIND_UPSTREAM for attention models */
    int32_t ttt_heads;         /* fast-weight heads per TTT layer (delta: H blocks of (d/H) x (d/H)); 1 for upstream,
                                  0 for attention models */
} ttt_model_info;

#define TTT_ARCH_TTT     0  /* BitLlama: TTT layers whose fast weights (the soul) learn while the model runs */
#define TTT_ARCH_LLAMA   1  /* Llama (Hugging Face LlamaForCausalLM): attention with RoPE and a KV cache, float weights */
#define TTT_ARCH_BITNET  2  /* BitNet b1.58 (BitNetForCausalLM): attention, ternary weights, int8 activations */

#define TTT_KIND_UPSTREAM 0  /* upstream's TTT layer: the fast weights reconstruct the feature from itself */
#define TTT_KIND_DELTA    1  /* the delta layer: key/value/query, token mixing, learned inner lr and decay */

/* Describe a model. info->struct_size must be set by the caller. */
TTT_API ttt_status TTT_CALL ttt_model_get_info(const ttt_model* model, ttt_model_info* info);

/* ---------------------------------------------------------------------------------------------------------
 * Contexts: one conversation, one game character, one soul
 * ------------------------------------------------------------------------------------------------------- */

typedef struct ttt_context_params {
    uint32_t struct_size;      /* sizeof(ttt_context_params), set by ttt_context_params_init */
    int32_t n_threads;         /* worker threads of this context, 0 = all cores; results are bit-identical for
                                  every thread count */
    int32_t backend;           /* TTT_BACKEND_CPU (default) */
    int32_t n_batch;           /* tokens per forward pass (layer-major prefill), 0 = default (128). Cancel and the
                                  abort callback are honoured between passes: 1 stops at any token, larger
                                  prefills faster */
    int32_t lm_head;           /* how the CPU backend stores the LM head: TTT_LM_HEAD_DEFAULT (0: f32, or what the
                                  environment variable TTT_LM_HEAD says), TTT_LM_HEAD_F32, TTT_LM_HEAD_BF16 (half the
                                  bytes) or TTT_LM_HEAD_I8 (a quarter: per-row absmax int8). Smaller heads decode
                                  faster where the head is read from memory; their logits differ from f32 by the
                                  rounding of the weights (docs/performance.md has the measured quality cost). A
                                  model whose head (or tied embedding) is bf16 already, from a bf16 checkpoint, is
                                  read in place by F32 and BF16 alike, with the f32 logits (nothing to round) */
    int32_t n_ctx;             /* attention models: KV cache length in tokens, 0 = the model's max_position_embeddings;
                                  a call that would pass it fails with TTT_ERR_INVALID_STATE (ttt_reset empties it) */
    int32_t kv_cache_type;     /* attention models: TTT_KV_F16 (default), TTT_KV_INT8 (per token and head), TTT_KV_F32 */
    int32_t activations;       /* the rows the ternary products read: TTT_ACTIVATIONS_DEFAULT (0: the model's, or
                                  what the environment variable TTT_ACTIVATIONS says), TTT_ACTIVATIONS_MODEL (as the
                                  model was trained: float for act_bits 0, int8 for act_bits 8) or TTT_ACTIVATIONS_INT8
                                  (int8 for every model: a float model prefills about twice as fast, its logits
                                  differ by the rounding of its activations; docs/performance.md has the measured
                                  quality cost). Souls stay compatible: the soul's format does not depend on it */
} ttt_context_params;

#define TTT_ACTIVATIONS_DEFAULT 0
#define TTT_ACTIVATIONS_MODEL   1
#define TTT_ACTIVATIONS_INT8    2

#define TTT_LM_HEAD_DEFAULT 0
#define TTT_LM_HEAD_F32     1
#define TTT_LM_HEAD_BF16    2
#define TTT_LM_HEAD_I8      3

#define TTT_KV_F16   0
#define TTT_KV_INT8  1
#define TTT_KV_F32   2

TTT_API ttt_status TTT_CALL ttt_context_params_init(ttt_context_params* params, uint32_t struct_size);

/* Create a context on a model with a fresh (zero) soul. params may be NULL. The context keeps the model
 * alive. Many contexts may share one model. */
TTT_API ttt_status TTT_CALL ttt_create(ttt_model* model, const ttt_context_params* params, ttt_context** out_ctx);
/* Destroy a context. NULL-safe. The caller makes sure no other thread is in, or entering, any call on ctx
 * (ttt_cancel and the ttt_get_* functions included): call ttt_cancel, wait for the call to return, then destroy.
 * As a best-effort guard, a destroy while a call on ctx is running (another thread, or from its own callback) is
 * refused with an error in the log and leaves ctx intact. */
TTT_API void TTT_CALL ttt_destroy(ttt_context* ctx);

/* Run tokens through the model (prefill when n_tokens > 1, decode when 1). The soul learns from every token.
 * logits: NULL or room for vocab_size floats; receives the logits after the last token.
 * Splitting a sequence into calls anywhere gives the same logits and the same soul. Ends a generation in progress
 * (as do ttt_forward_all, ttt_learn, ttt_sleep, ttt_reset and a successful soul load: the soul changes).
 * A token id outside [0, vocab_size) is refused (TTT_ERR_INVALID_ARGUMENT) before anything changes.
 * On TTT_ERR_ABORTED (ttt_cancel) the soul has learned the passes (n_batch tokens each) completed before the
 * cancel point, whole tokens only; ttt_get_position() tells how many tokens it has seen. */
TTT_API ttt_status TTT_CALL ttt_forward(ttt_context* ctx, const int32_t* tokens, size_t n_tokens, float* logits);
/* Like ttt_forward, but writes the logits of every position: room for n_tokens * vocab_size floats. */
TTT_API ttt_status TTT_CALL ttt_forward_all(ttt_context* ctx, const int32_t* tokens, size_t n_tokens,
                                            float* logits_all);
/* Step many contexts of ONE model together, reading the weights once for all of them (many NPCs per frame).
 * Context i runs n_tokens[i] >= 1 tokens, taken one context after the other from `tokens` (the first n_tokens[0]
 * are context 0's, ...). logits: NULL, or room for n_contexts * vocab_size floats that receive each context's
 * logits after its last token (row i for context i). The logits and souls are exactly those that ttt_forward on
 * each context alone gives. Runs on the threads of contexts[0]. Contexts must be distinct and idle (else
 * TTT_ERR_BUSY); at most 65536 tokens in all (a batch is one step: long prompts go through ttt_forward); every id
 * is checked and every context's abort callback is polled before
 * anything runs: on any error, no soul changes. Ends the generations in progress on these contexts. */
TTT_API ttt_status TTT_CALL ttt_forward_batch(ttt_context* const* contexts, size_t n_contexts, const int32_t* tokens,
                                              const size_t* n_tokens, float* logits);
/* Clear the soul (all TTT states and pending chunk sums to zero, soul level and position to 0). */
TTT_API ttt_status TTT_CALL ttt_reset(ttt_context* ctx);
/* Stop the work in progress on ctx at the next pass boundary (after n_batch prompt tokens, or one generated
 * token): a ttt_forward / ttt_learn / ttt_sleep / ttt_generate running now, or the generation begun by ttt_generate_begin (its next ttt_generate_next returns TTT_ERR_ABORTED and the
 * generation ends). Safe from any thread. Starting new work (ttt_forward, ttt_forward_all, ttt_learn, ttt_sleep,
 * ttt_generate_begin, ttt_generate) clears a cancel left over from earlier work, so a late cancel never stops
 * future work. */
TTT_API ttt_status TTT_CALL ttt_cancel(ttt_context* ctx);
/* An abort check polled before every forward pass (n_batch prompt tokens) and every generated token of every call
 * on ctx (forward, learn, sleep, generation), on the thread doing the work; returning non-zero stops the work with TTT_ERR_ABORTED. Unlike ttt_cancel, the caller
 * owns the condition, so nothing can be lost to timing (e.g. a game's "shutting down" flag). NULL removes it. */
typedef int32_t(TTT_CALL* ttt_abort_callback)(void* user_data);
TTT_API ttt_status TTT_CALL ttt_set_abort_callback(ttt_context* ctx, ttt_abort_callback callback, void* user_data);
/* Tokens seen since the last reset (chunk boundaries count from here). Like ttt_get_soul_level and ttt_cancel,
 * callable from any thread, also while another thread uses the context (the value is updated after each pass).
 * Every other context function returns TTT_ERR_BUSY while another thread uses the context. */
TTT_API ttt_status TTT_CALL ttt_get_position(const ttt_context* ctx, uint64_t* out_position);
/* Soul level: tokens the soul has learned in total (kept across save/load). */
TTT_API ttt_status TTT_CALL ttt_get_soul_level(const ttt_context* ctx, uint64_t* out_level);
/* The model a context runs on (borrowed pointer; callable from any thread, like ttt_get_position). */
TTT_API ttt_status TTT_CALL ttt_get_model(const ttt_context* ctx, const ttt_model** out_model);

/* ---------------------------------------------------------------------------------------------------------
 * Souls (the TTT fast-weight state): files and byte buffers
 * ------------------------------------------------------------------------------------------------------- */

/* ttt_load_soul flags */
#define TTT_SOUL_FORCE 1u /* accept a soul of a model with the same dimensions but other weights */

/* Save the soul to a file, crash-safely (temp file, fsync, rename): an existing file stays intact on failure. */
TTT_API ttt_status TTT_CALL ttt_save_soul(ttt_context* ctx, const char* path);
/* Load a soul file (ours, or an upstream V030 soul). A soul of another model is refused with
 * TTT_ERR_INCOMPATIBLE unless flags has TTT_SOUL_FORCE and the dimensions match. On failure the context's
 * soul is unchanged. */
TTT_API ttt_status TTT_CALL ttt_load_soul(ttt_context* ctx, const char* path, uint32_t flags);
/* Serialise the soul into buffer (size-query protocol): *out_size receives the size needed; if buffer is NULL
 * or capacity is too small, returns TTT_ERR_BUFFER_TOO_SMALL (with buffer NULL and capacity 0: a query). */
TTT_API ttt_status TTT_CALL ttt_save_soul_buffer(ttt_context* ctx, void* buffer, size_t capacity, size_t* out_size);
/* Restore a soul from bytes made by ttt_save_soul_buffer or read from a .soul file. Same rules as ttt_load_soul. */
TTT_API ttt_status TTT_CALL ttt_load_soul_buffer(ttt_context* ctx, const void* data, size_t size, uint32_t flags);

/* ---------------------------------------------------------------------------------------------------------
 * Tokenizer (from the model's tokenizer.json; the model-level functions are thread-safe)
 * ------------------------------------------------------------------------------------------------------- */

#define TTT_TOKENIZE_ADD_SPECIAL   1u /* add BOS/EOS as the tokenizer's post-processor says */
#define TTT_TOKENIZE_PARSE_SPECIAL 2u /* recognise special tokens written in the text. Off by default, so user text
                                         can never inject a control token such as "</s>" */
#define TTT_DETOKENIZE_SKIP_SPECIAL 1u

/* Text (UTF-8, text_len bytes; invalid UTF-8 is encoded losslessly through byte tokens) to token ids.
 * When nothing is produced (empty text), any buffer (NULL too) is fine and TTT_OK is returned.
 * Size-query protocol: *out_n_tokens receives the count; TTT_ERR_BUFFER_TOO_SMALL if tokens is NULL or capacity
 * is too small. A model without a tokenizer returns TTT_ERR_UNSUPPORTED. */
TTT_API ttt_status TTT_CALL ttt_tokenize(const ttt_model* model, const char* text, size_t text_len, uint32_t flags,
                                         int32_t* tokens, size_t capacity, size_t* out_n_tokens);
/* Token ids to UTF-8 text. Size-query protocol on text (bytes, not counting a terminator); a NUL terminator is
 * written too when capacity > *out_len. The text is always valid UTF-8: byte tokens that do not form a character
 * become U+FFFD, as in Hugging Face tokenizers (join ttt_token_to_piece bytes for the raw bytes). */
TTT_API ttt_status TTT_CALL ttt_detokenize(const ttt_model* model, const int32_t* tokens, size_t n_tokens,
                                           uint32_t flags, char* text, size_t capacity, size_t* out_len);
/* The raw bytes one token contributes to the text (may be an incomplete UTF-8 sequence: byte tokens).
 * Size-query protocol as ttt_detokenize. */
TTT_API ttt_status TTT_CALL ttt_token_to_piece(const ttt_model* model, int32_t token, char* buf, size_t capacity,
                                               size_t* out_len);
/* *out_is_eog = 1 if the token ends generation (EOS and other end-of-turn tokens), else 0. */
TTT_API ttt_status TTT_CALL ttt_token_is_eog(const ttt_model* model, int32_t token, int32_t* out_is_eog);

/* ---------------------------------------------------------------------------------------------------------
 * Chat templates: a conversation as the prompt text the model was trained on (thread-safe, model-level)
 * ------------------------------------------------------------------------------------------------------- */

typedef struct ttt_chat_params {
    uint32_t struct_size;          /* sizeof(ttt_chat_params), set by ttt_chat_params_init */
    const char* chat_template;     /* NULL (default): the model's own, from its tokenizer_config.json; else a Jinja
                                      chat template (NUL-terminated UTF-8), e.g. one read from a tokenizer_config.json */
    const char* bos_token;         /* NULL (default): the model's (tokenizer_config.json, else its tokenizer's) */
    const char* eos_token;         /* NULL (default): likewise */
    const char* extra_json;        /* NULL (default) or a JSON object of further template variables, e.g.
                                      {"tools": [...], "date_string": "26 Jul 2024"} */
    int32_t add_generation_prompt; /* 1 (default): end with the assistant's turn header, ready to generate */
} ttt_chat_params;

TTT_API ttt_status TTT_CALL ttt_chat_params_init(ttt_chat_params* params, uint32_t struct_size);

/* Render a conversation with a chat template, as Hugging Face's apply_chat_template(tokenize=False) does.
 * messages_json (messages_len bytes of UTF-8): a JSON array of {"role": "system"|"user"|"assistant"|...,
 * "content": "..."} objects (other keys, e.g. "tool_calls", reach the template as they are). model may be NULL when
 * params->chat_template is given. params may be NULL (defaults). Size-query protocol on text (bytes, not counting a
 * terminator; a NUL is written when capacity > *out_len). Tokenize the result with TTT_TOKENIZE_PARSE_SPECIAL so
 * its control tokens become token ids.
 * Errors: TTT_ERR_UNSUPPORTED when no template is given and the model has none; TTT_ERR_FORMAT for malformed
 * messages or extra JSON, and for a template that does not parse or fails (the message names its line and
 * column); TTT_ERR_INVALID_ARGUMENT when the template refuses the conversation (its raise_exception, e.g. roles
 * that do not alternate) or when rendering passes a limit (16 MiB of text, 1,000,000 loop iterations). */
TTT_API ttt_status TTT_CALL ttt_chat_apply_template(const ttt_model* model, const char* messages_json,
                                                    size_t messages_len, const ttt_chat_params* params, char* text,
                                                    size_t capacity, size_t* out_len);
/* The model's own chat template (size-query protocol as ttt_detokenize); *out_len = 0 when it has none. */
TTT_API ttt_status TTT_CALL ttt_model_chat_template(const ttt_model* model, char* text, size_t capacity,
                                                    size_t* out_len);

/* ---------------------------------------------------------------------------------------------------------
 * Generation: sampling, pull-style and streaming
 * ------------------------------------------------------------------------------------------------------- */

typedef struct ttt_logit_bias {
    int32_t token;
    float bias; /* added to the token's logit; -INFINITY bans it */
} ttt_logit_bias;

typedef struct ttt_generate_params {
    uint32_t struct_size;          /* sizeof(ttt_generate_params), set by ttt_generate_params_init */
    int32_t max_tokens;            /* tokens to generate at most (default 256) */
    float temperature;             /* <= 0: greedy (default 0.8) */
    int32_t top_k;                 /* 0: off (default 40) */
    float top_p;                   /* 1: off (default 0.95) */
    float min_p;                   /* 0: off (default 0.05) */
    float repetition_penalty;      /* 1: off (default 1.1) */
    float presence_penalty;        /* 0: off */
    float frequency_penalty;       /* 0: off */
    int32_t penalty_window;        /* penalties look at the last N tokens (default 64) */
    uint64_t seed;                 /* same model + soul + prompt + seed => same tokens (default 1) */
    const ttt_logit_bias* logit_bias; /* optional, n_logit_bias entries, copied at begin. Ids must be < vocab_size.
                                         Only ids the tokenizer knows are ever sampled: a model with more rows
                                         than its tokenizer has ids never emits the extra (padding) ids */
    size_t n_logit_bias;
    const char* const* stop_strings;  /* optional NUL-terminated UTF-8 strings, copied at begin; generation ends
                                         before a stop string, which is never emitted */
    size_t n_stop_strings;
    uint32_t tokenize_flags;       /* for the prompt (default TTT_TOKENIZE_ADD_SPECIAL) */
} ttt_generate_params;

TTT_API ttt_status TTT_CALL ttt_generate_params_init(ttt_generate_params* params, uint32_t struct_size);

/* Why generation ended. */
#define TTT_STOP_NONE       0 /* not ended: more tokens follow */
#define TTT_STOP_EOS        1 /* the model produced an end-of-generation token (not emitted, not learned) */
#define TTT_STOP_MAX_TOKENS 2
#define TTT_STOP_STRING     3 /* a stop string was produced */
#define TTT_STOP_CALLBACK   4 /* the streaming callback asked to stop */

/* Start generating: tokenize the prompt and run it through the model (the soul learns it). Cancellable.
 * params may be NULL (defaults). Any earlier generation on ctx is discarded. */
TTT_API ttt_status TTT_CALL ttt_generate_begin(ttt_context* ctx, const char* prompt, size_t prompt_len,
                                               const ttt_generate_params* params);
/* Produce one token. *out_text / *out_text_len receive the UTF-8 text that became complete with this token
 * (possibly empty: a character split over tokens or a possible stop string is held back until complete).
 * The text pointer is owned by ctx and valid until the next call on ctx. *out_stop_reason is TTT_STOP_NONE while
 * generation continues; once it ends, the call returns the last held text and the reason (and *out_token = -1 if no
 * token was produced). Calling again after the end returns the same reason with empty text.
 * out_token, out_text, out_text_len and out_stop_reason are required. */
TTT_API ttt_status TTT_CALL ttt_generate_next(ttt_context* ctx, int32_t* out_token, const char** out_text,
                                              size_t* out_text_len, int32_t* out_stop_reason);

/* Called with each piece of complete text (never empty) and the token that completed it; return 0 to stop. */
typedef int32_t(TTT_CALL* ttt_text_callback)(const char* text, size_t text_len, int32_t token, void* user_data);

/* begin + next until the end, calling callback on this thread. *out_stop_reason (optional) tells why it ended.
 * The generation is over when it returns, whatever the reason (ttt_generate_next then returns
 * TTT_ERR_INVALID_STATE until the next begin). */
TTT_API ttt_status TTT_CALL ttt_generate(ttt_context* ctx, const char* prompt, size_t prompt_len,
                                         const ttt_generate_params* params, ttt_text_callback callback,
                                         void* user_data, int32_t* out_stop_reason);

/* ---------------------------------------------------------------------------------------------------------
 * Learning, memories and sleep
 * ------------------------------------------------------------------------------------------------------- */

/* Run text through the model so the soul learns it, without generating. tokenize_flags as ttt_tokenize.
 * *out_n_tokens (optional) receives the tokens learned, also when the call fails part-way (TTT_ERR_ABORTED: the
 * soul keeps those tokens). Any generation in progress on ctx ends. */
TTT_API ttt_status TTT_CALL ttt_learn(ttt_context* ctx, const char* text, size_t text_len, uint32_t tokenize_flags,
                                      size_t* out_n_tokens);

/* Append one chat turn to <memories_dir>/YYYY-MM-DD.jsonl (local date; upstream format
 * {"role","text","timestamp"}). role: "user" or "assistant" (anything else is TTT_ERR_INVALID_ARGUMENT). */
TTT_API ttt_status TTT_CALL ttt_remember(const char* memories_dir, const char* role, const char* text,
                                         size_t text_len);

typedef struct ttt_sleep_params {
    uint32_t struct_size;           /* sizeof(ttt_sleep_params), set by ttt_sleep_params_init */
    const char* memories_dir;       /* required: the folder of YYYY-MM-DD.jsonl files */
    int32_t max_days;               /* replay at most this many day files (default 5; 0 = all) */
    int32_t random_days;            /* 0 (default): the most recent days, oldest first; 1: a seeded random sample */
    uint64_t seed;                  /* for random_days */
    int32_t max_piece_chars;        /* text is learned in pieces of this many characters (default 500) */
    ttt_progress_callback progress_callback; /* optional: progress in [0, 1]; return 0 to stop (TTT_ERR_ABORTED) */
    void* progress_user_data;
    const char* autosave_path;      /* optional: save the soul here (crash-safely) when sleep completes */
} ttt_sleep_params;

TTT_API ttt_status TTT_CALL ttt_sleep_params_init(ttt_sleep_params* params, uint32_t struct_size);

/* Replay memories into the soul. Malformed memory lines are skipped with a warning (files are never modified).
 * Cancellable with ttt_cancel or the progress callback; the soul keeps what it learned before the stop.
 * *out_n_tokens (optional) receives the tokens learned, also when the call fails part-way. Any generation in
 * progress on ctx ends. */
TTT_API ttt_status TTT_CALL ttt_sleep(ttt_context* ctx, const ttt_sleep_params* params, size_t* out_n_tokens);

/* ---------------------------------------------------------------------------------------------------------
 * Performance counters
 * ------------------------------------------------------------------------------------------------------- */

typedef struct ttt_perf {
    uint32_t struct_size;           /* set by the caller: sizeof(ttt_perf) */
    uint64_t prompt_tokens;         /* tokens run as prompts / learned text since the context was created */
    double prompt_seconds;
    uint64_t generated_tokens;      /* tokens produced by generation */
    double generation_seconds;
} ttt_perf;

TTT_API ttt_status TTT_CALL ttt_get_perf(const ttt_context* ctx, ttt_perf* out_perf);

/* ---------------------------------------------------------------------------------------------------------
 * Upstream's single TTT layer (the legacy Bit_TTT.dll API), deterministic
 * ------------------------------------------------------------------------------------------------------- */

typedef struct ttt_layer ttt_layer;

/* A stand-alone TTT layer with random ternary projections (seed 0), as upstream's legacy DLL:
 * y_t = x_t + up(W_{t-1} f_t), f = normalised down(x) with int8 activations. hidden_dim >= 4. */
TTT_API ttt_status TTT_CALL ttt_layer_create(size_t hidden_dim, float inner_lr, ttt_layer** out_layer);
/* Same with an explicit seed for the projections (same seed => same layer on every machine). */
TTT_API ttt_status TTT_CALL ttt_layer_create_seeded(size_t hidden_dim, float inner_lr, uint64_t seed,
                                                    ttt_layer** out_layer);
/* input and output: seq_len x hidden_dim floats, row-major. Each call starts from a zero state (upstream). */
TTT_API ttt_status TTT_CALL ttt_layer_forward(ttt_layer* layer, const float* input, size_t seq_len, float* output);
/* NULL-safe. Not while another thread is in a call on layer (best-effort guard as ttt_destroy: refused and
 * logged). */
TTT_API void TTT_CALL ttt_layer_destroy(ttt_layer* layer);

#ifdef __cplusplus
}
#endif

#endif /* BIT_TTT_H */
