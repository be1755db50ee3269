/*
 * simple_generate.c — load a model, stream a reply to a prompt, print it.
 *
 *     simple_generate MODEL [PROMPT]
 *
 * MODEL is a model directory, a .bitt file or a .safetensors file with config.json beside it.
 * The example checks what it shows: streaming (ttt_generate + callback) and pull-style generation
 * (ttt_generate_begin + ttt_generate_next) with the same seed on the same soul give the same text.
 * Exit status 0 only when that holds.
 */
#include <bit_ttt.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A growing byte buffer for the streamed text. */
typedef struct {
    char* data;
    size_t len, cap;
    int pieces;
} text_buf;

static int text_append(text_buf* b, const char* s, size_t n) {
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        while (cap < b->len + n + 1) cap *= 2;
        char* p = (char*)realloc(b->data, cap);
        if (!p) return 0;
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 1;
}

/* Streaming callback: called on this thread with each complete piece of UTF-8 text. Return 0 to stop. */
static int32_t TTT_CALL on_text(const char* text, size_t len, int32_t token, void* user_data) {
    text_buf* out = (text_buf*)user_data;
    (void)token;
    fwrite(text, 1, len, stdout);
    fflush(stdout);
    out->pieces++;
    return text_append(out, text, len);
}

static const char* stop_name(int32_t reason) {
    switch (reason) {
    case TTT_STOP_EOS: return "end of generation token";
    case TTT_STOP_MAX_TOKENS: return "max_tokens reached";
    case TTT_STOP_STRING: return "stop string";
    case TTT_STOP_CALLBACK: return "callback asked to stop";
    default: return "not ended";
    }
}

int main(int argc, char** argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s MODEL [PROMPT]\n", argv[0]);
        return 2;
    }
    const char* prompt = argc > 2 ? argv[2] : "Once upon a time";
    int ok = 0;
    ttt_model* model = NULL;
    ttt_context* ctx = NULL;
    text_buf streamed = {0}, pulled = {0};

    if (ttt_abi_version() != TTT_ABI_VERSION) {
        fprintf(stderr, "library ABI %u, header ABI %d\n", ttt_abi_version(), TTT_ABI_VERSION);
        return 1;
    }
    if (ttt_load_model(argv[1], NULL, &model) != TTT_OK || ttt_create(model, NULL, &ctx) != TTT_OK) {
        fprintf(stderr, "error: %s\n", ttt_last_error());
        goto done;
    }

    ttt_generate_params gp;
    ttt_generate_params_init(&gp, (uint32_t)sizeof gp);
    gp.max_tokens = 40;
    gp.seed = 42; /* same model + soul + prompt + seed => same text */

    /* 1. Streaming: the library calls on_text with each piece as it becomes complete UTF-8. */
    int32_t reason = TTT_STOP_NONE;
    printf("%s", prompt);
    if (ttt_generate(ctx, prompt, strlen(prompt), &gp, on_text, &streamed, &reason) != TTT_OK) {
        fprintf(stderr, "\nerror: %s\n", ttt_last_error());
        goto done;
    }
    printf("\n[%d pieces, %zu bytes; stopped: %s]\n", streamed.pieces, streamed.len, stop_name(reason));

    /* 2. Pull-style on a fresh soul: one token per call, the caller drives the loop (easy to interleave, to
     *    show in a UI, or to stop at any point). */
    ttt_reset(ctx);
    if (ttt_generate_begin(ctx, prompt, strlen(prompt), &gp) != TTT_OK) {
        fprintf(stderr, "error: %s\n", ttt_last_error());
        goto done;
    }
    int32_t token = -1, stop = TTT_STOP_NONE;
    while (stop == TTT_STOP_NONE) {
        const char* text = NULL;
        size_t len = 0;
        if (ttt_generate_next(ctx, &token, &text, &len, &stop) != TTT_OK) {
            fprintf(stderr, "error: %s\n", ttt_last_error());
            goto done;
        }
        if (!text_append(&pulled, text, len)) goto done;
    }

    ttt_perf perf;
    perf.struct_size = (uint32_t)sizeof perf;
    uint64_t level = 0;
    ttt_get_perf(ctx, &perf);
    ttt_get_soul_level(ctx, &level);
    printf("this context generated %llu tokens in both runs, %.0f tokens/s; soul level %llu\n", (unsigned long long)perf.generated_tokens,
           perf.generation_seconds > 0 ? (double)perf.generated_tokens / perf.generation_seconds : 0.0,
           (unsigned long long)level);

    if (streamed.len == 0) {
        fprintf(stderr, "FAIL: nothing was generated\n");
    } else if (streamed.len != pulled.len || memcmp(streamed.data, pulled.data, streamed.len) != 0) {
        fprintf(stderr, "FAIL: streaming and pull-style generation differ:\n  [%s]\n  [%s]\n", streamed.data, pulled.data);
    } else {
        printf("OK: streaming and pull-style generation gave the same %zu bytes\n", streamed.len);
        ok = 1;
    }

done:
    free(streamed.data);
    free(pulled.data);
    ttt_destroy(ctx);
    ttt_model_free(model);
    return ok ? 0 : 1;
}
