/*
 * soul_save_restore.c — save a character's soul to a file and to bytes, restore it, continue identically.
 *
 *     soul_save_restore MODEL [SOUL_FILE]
 *
 * SOUL_FILE defaults to "soul_save_restore.soul" in the current directory (written crash-safely: temp file, fsync,
 * rename). The example checks, exit status 0 only when all hold:
 *   - a soul restored from the file and one restored from bytes give logits bit-for-bit identical to the original
 *     context's on the next tokens, and the same generated text with the same seed; a fresh soul does not;
 *   - the soul level survives the round trip;
 *   - truncated soul bytes are refused (TTT_ERR_FORMAT) and leave the context's soul unchanged.
 */
#include <bit_ttt.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_CTX 4 /* original, from file, from bytes, fresh */

static int fail(const char* what) {
    fprintf(stderr, "FAIL: %s: %s\n", what, ttt_last_error());
    return 1;
}

/* Runs the same tokens through ctx and returns its logits (malloc'ed), or NULL. */
static float* next_logits(ttt_context* ctx, const int32_t* tokens, size_t n, int32_t vocab) {
    float* logits = (float*)malloc(sizeof(float) * (size_t)vocab);
    if (logits && ttt_forward(ctx, tokens, n, logits) != TTT_OK) {
        free(logits);
        return NULL;
    }
    return logits;
}

/* Generates with a fixed seed; returns the text in out (NUL-terminated, truncated to cap). */
static int generate(ttt_context* ctx, const char* prompt, char* out, size_t cap) {
    ttt_generate_params gp;
    ttt_generate_params_init(&gp, (uint32_t)sizeof gp);
    gp.max_tokens = 20;
    gp.seed = 7;
    size_t used = 0;
    if (ttt_generate_begin(ctx, prompt, strlen(prompt), &gp) != TTT_OK) return 0;
    for (int32_t stop = TTT_STOP_NONE, token; stop == TTT_STOP_NONE;) {
        const char* text;
        size_t len;
        if (ttt_generate_next(ctx, &token, &text, &len, &stop) != TTT_OK) return 0;
        if (used + len < cap) {
            memcpy(out + used, text, len);
            used += len;
        }
    }
    out[used] = '\0';
    return 1;
}

int main(int argc, char** argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s MODEL [SOUL_FILE]\n", argv[0]);
        return 2;
    }
    const char* soul_path = argc > 2 ? argv[2] : "soul_save_restore.soul";
    const char* memory = "The password of the castle gate is 'moonlight'. Never tell it to strangers.";
    int32_t probe[] = {17, 230, 5, 999, 42}; /* taken modulo the vocabulary size below */
    const size_t n_probe = sizeof probe / sizeof probe[0];
    int rc = 1;
    ttt_model* model = NULL;
    ttt_context* ctx[N_CTX] = {NULL, NULL, NULL, NULL};
    const char* names[N_CTX] = {"original", "from file", "from bytes", "fresh soul"};
    float* logits[N_CTX] = {NULL, NULL, NULL, NULL};
    unsigned char* soul = NULL;
    size_t soul_size = 0;
    char text[N_CTX][1024];

    if (ttt_load_model(argv[1], NULL, &model) != TTT_OK) return fail("load");
    ttt_model_info info;
    info.struct_size = (uint32_t)sizeof info;
    ttt_model_get_info(model, &info);
    for (size_t i = 0; i < n_probe; ++i) probe[i] %= info.vocab_size;
    for (int i = 0; i < N_CTX; ++i)
        if (ttt_create(model, NULL, &ctx[i]) != TTT_OK) {
            fail("create");
            goto done;
        }

    /* The original character learns something. */
    if (ttt_learn(ctx[0], memory, strlen(memory), TTT_TOKENIZE_ADD_SPECIAL, NULL) != TTT_OK) {
        fail("learn");
        goto done;
    }

    /* Save to a file (crash-safe) and to bytes (for a game's own save system). */
    if (ttt_save_soul(ctx[0], soul_path) != TTT_OK) {
        fail("save_soul");
        goto done;
    }
    if (ttt_save_soul_buffer(ctx[0], NULL, 0, &soul_size) != TTT_ERR_BUFFER_TOO_SMALL || soul_size == 0) {
        fail("size query");
        goto done;
    }
    soul = (unsigned char*)malloc(soul_size);
    if (!soul || ttt_save_soul_buffer(ctx[0], soul, soul_size, &soul_size) != TTT_OK) {
        fail("save_soul_buffer");
        goto done;
    }
    printf("soul saved: %s and %zu bytes in memory\n", soul_path, soul_size);

    /* Restore into two other contexts. */
    if (ttt_load_soul(ctx[1], soul_path, 0) != TTT_OK) {
        fail("load_soul");
        goto done;
    }
    if (ttt_load_soul_buffer(ctx[2], soul, soul_size, 0) != TTT_OK) {
        fail("load_soul_buffer");
        goto done;
    }

    /* Damaged save data is refused and changes nothing. */
    if (ttt_load_soul_buffer(ctx[2], soul, soul_size / 2, 0) != TTT_ERR_FORMAT) {
        fprintf(stderr, "FAIL: truncated soul bytes were not refused with TTT_ERR_FORMAT\n");
        goto done;
    }
    printf("truncated soul refused: %s\n", ttt_last_error());

    uint64_t level[N_CTX];
    for (int i = 0; i < N_CTX; ++i) ttt_get_soul_level(ctx[i], &level[i]);
    if (level[1] != level[0] || level[2] != level[0] || level[3] != 0) {
        fprintf(stderr, "FAIL: soul levels %llu %llu %llu %llu\n", (unsigned long long)level[0],
                (unsigned long long)level[1], (unsigned long long)level[2], (unsigned long long)level[3]);
        goto done;
    }

    /* Continue all four on the same tokens. */
    for (int i = 0; i < N_CTX; ++i)
        if (!(logits[i] = next_logits(ctx[i], probe, n_probe, info.vocab_size))) {
            fail("forward");
            goto done;
        }
    const size_t bytes = sizeof(float) * (size_t)info.vocab_size;
    for (int i = 1; i < 3; ++i)
        if (memcmp(logits[0], logits[i], bytes) != 0) {
            fprintf(stderr, "FAIL: logits of the soul %s differ from the original's\n", names[i]);
            goto done;
        }
    if (memcmp(logits[0], logits[3], bytes) == 0) {
        fprintf(stderr, "FAIL: a fresh soul gives the same logits: the soul made no difference\n");
        goto done;
    }
    printf("next-token logits: restored souls identical to the original (%d floats), fresh soul differs\n",
           info.vocab_size);

    /* And they keep talking the same way. */
    for (int i = 0; i < N_CTX; ++i)
        if (!generate(ctx[i], " Guard:", text[i], sizeof text[i])) {
            fail("generate");
            goto done;
        }
    for (int i = 0; i < N_CTX; ++i) printf("%-10s: %s\n", names[i], text[i]);
    if (strcmp(text[0], text[1]) != 0 || strcmp(text[0], text[2]) != 0) {
        fprintf(stderr, "FAIL: restored souls continued differently\n");
        goto done;
    }
    printf("OK: restored from file and from bytes, both continue exactly like the original\n");
    rc = 0;

done:
    for (int i = 0; i < N_CTX; ++i) {
        free(logits[i]);
        ttt_destroy(ctx[i]);
    }
    free(soul);
    ttt_model_free(model);
    return rc;
}
