/*
 * many_npcs.c — one model, many characters: each NPC is a ttt_context with its own soul.
 *
 *     many_npcs MODEL
 *
 * The model (weights + tokenizer, immutable) is loaded once and shared; every NPC learns its own backstory into
 * its own soul, then all NPCs answer the player at the same time, one token each in turn (what a game loop does
 * with a per-frame token budget). A game saves each NPC's soul as bytes in its save data.
 *
 * The example checks what it claims, exit status 0 only when all hold:
 *   - interleaving does not leak between characters: each NPC's reply equals the reply the same NPC gives when
 *     it runs alone on a fresh context;
 *   - every NPC has its own soul (the souls' bytes differ pairwise), and all contexts share one model;
 *   - a crowd stepped together (ttt_forward_batch: all NPCs hear an announcement, one token per frame, the weights
 *     read once per frame for all of them) gives each NPC the soul it gets hearing the announcement alone.
 */
#include <bit_ttt.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_NPCS 4
#define MAX_REPLY 4096

typedef struct {
    const char* name;
    const char* backstory;
    ttt_context* ctx;
    char reply[MAX_REPLY];
    size_t reply_len;
    int32_t stop;
    unsigned char* soul; /* the soul as bytes, as a game would keep it in its save data */
    size_t soul_size;
} npc;

static const char* const kPrompt = "Traveller: Any news from the road?\nYou:";

static int fail(const char* what) {
    fprintf(stderr, "FAIL: %s: %s\n", what, ttt_last_error());
    return 0;
}

static void params_for(const npc* n, int index, ttt_generate_params* gp) {
    (void)n;
    ttt_generate_params_init(gp, (uint32_t)sizeof *gp);
    gp->max_tokens = 24;
    gp->seed = 1000 + (uint64_t)index; /* each NPC samples with its own seed */
}

/* Appends text to the reply (truncating silently past MAX_REPLY, which these short replies never reach). */
static void add_text(npc* n, const char* text, size_t len) {
    if (n->reply_len + len >= MAX_REPLY) len = MAX_REPLY - 1 - n->reply_len;
    memcpy(n->reply + n->reply_len, text, len);
    n->reply_len += len;
    n->reply[n->reply_len] = '\0';
}

/* Runs one NPC start to finish on its own fresh context; the reference for the interleaved run. */
static int reply_alone(ttt_model* model, const npc* n, int index, char* out, size_t* out_len) {
    ttt_context* ctx = NULL;
    ttt_generate_params gp;
    params_for(n, index, &gp);
    int ok = ttt_create(model, NULL, &ctx) == TTT_OK &&
             ttt_learn(ctx, n->backstory, strlen(n->backstory), TTT_TOKENIZE_ADD_SPECIAL, NULL) == TTT_OK &&
             ttt_generate_begin(ctx, kPrompt, strlen(kPrompt), &gp) == TTT_OK;
    *out_len = 0;
    for (int32_t stop = TTT_STOP_NONE, token; ok && stop == TTT_STOP_NONE;) {
        const char* text;
        size_t len;
        ok = ttt_generate_next(ctx, &token, &text, &len, &stop) == TTT_OK;
        if (ok && *out_len + len < MAX_REPLY) {
            memcpy(out + *out_len, text, len);
            *out_len += len;
        }
    }
    if (!ok) fail("reply_alone");
    ttt_destroy(ctx);
    return ok;
}

int main(int argc, char** argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s MODEL\n", argv[0]);
        return 2;
    }
    npc npcs[N_NPCS] = {
        {"Ayla", "I am Ayla, the blacksmith of Oakvale. I forge swords and I distrust wizards.", NULL, {0}, 0, 0, NULL, 0},
        {"Borin", "I am Borin, a dwarf miner. Gold sings to me from under the mountain.", NULL, {0}, 0, 0, NULL, 0},
        {"Cyra", "Je suis Cyra, marchande d'épices venue du sud. 香辛料は高いよ!", NULL, {0}, 0, 0, NULL, 0},
        {"Dox", "Dox the bard. Every tavern knows my songs about the dragon of the lake.", NULL, {0}, 0, 0, NULL, 0},
    };
    int ok = 0;
    ttt_model* model = NULL;

    if (ttt_load_model(argv[1], NULL, &model) != TTT_OK) {
        fail("load");
        return 1;
    }

    /* One context per character on the shared model; each learns its backstory into its own soul. */
    for (int i = 0; i < N_NPCS; ++i) {
        size_t learned = 0;
        if (ttt_create(model, NULL, &npcs[i].ctx) != TTT_OK) goto done;
        if (ttt_learn(npcs[i].ctx, npcs[i].backstory, strlen(npcs[i].backstory), TTT_TOKENIZE_ADD_SPECIAL, &learned) !=
            TTT_OK) {
            fail("learn");
            goto done;
        }
        const ttt_model* m = NULL;
        ttt_get_model(npcs[i].ctx, &m);
        if (m != model) {
            fprintf(stderr, "FAIL: context %d does not run on the shared model\n", i);
            goto done;
        }
        printf("%-5s learned %zu tokens of backstory\n", npcs[i].name, learned);
    }

    /* Everyone starts answering, then the "game loop" gives each unfinished NPC one token per turn. */
    for (int i = 0; i < N_NPCS; ++i) {
        ttt_generate_params gp;
        params_for(&npcs[i], i, &gp);
        if (ttt_generate_begin(npcs[i].ctx, kPrompt, strlen(kPrompt), &gp) != TTT_OK) {
            fail("generate_begin");
            goto done;
        }
    }
    int running = N_NPCS, turns = 0;
    while (running > 0) {
        ++turns;
        for (int i = 0; i < N_NPCS; ++i) {
            if (npcs[i].stop != TTT_STOP_NONE) continue;
            int32_t token;
            const char* text;
            size_t len;
            if (ttt_generate_next(npcs[i].ctx, &token, &text, &len, &npcs[i].stop) != TTT_OK) {
                fail("generate_next");
                goto done;
            }
            add_text(&npcs[i], text, len);
            if (npcs[i].stop != TTT_STOP_NONE) --running;
        }
    }
    printf("all %d NPCs answered in %d interleaved turns\n", N_NPCS, turns);

    /* Save every soul as bytes (size query first, then the real call). */
    for (int i = 0; i < N_NPCS; ++i) {
        uint64_t level = 0;
        ttt_save_soul_buffer(npcs[i].ctx, NULL, 0, &npcs[i].soul_size); /* TTT_ERR_BUFFER_TOO_SMALL: the size */
        npcs[i].soul = (unsigned char*)malloc(npcs[i].soul_size);
        if (!npcs[i].soul ||
            ttt_save_soul_buffer(npcs[i].ctx, npcs[i].soul, npcs[i].soul_size, &npcs[i].soul_size) != TTT_OK) {
            fail("save_soul_buffer");
            goto done;
        }
        ttt_get_soul_level(npcs[i].ctx, &level);
        printf("%-5s (soul level %llu, %zu bytes saved): %s\n", npcs[i].name, (unsigned long long)level,
               npcs[i].soul_size, npcs[i].reply);
    }

    /* Check 1: each NPC alone says exactly what it said while interleaved with the others. */
    for (int i = 0; i < N_NPCS; ++i) {
        char alone[MAX_REPLY];
        size_t alone_len = 0;
        if (!reply_alone(model, &npcs[i], i, alone, &alone_len)) goto done;
        if (alone_len != npcs[i].reply_len || memcmp(alone, npcs[i].reply, alone_len) != 0) {
            fprintf(stderr, "FAIL: %s's interleaved reply differs from its reply alone\n", npcs[i].name);
            goto done;
        }
    }
    /* Check 2: every soul is its own. */
    for (int i = 0; i < N_NPCS; ++i)
        for (int j = i + 1; j < N_NPCS; ++j)
            if (npcs[i].soul_size == npcs[j].soul_size && memcmp(npcs[i].soul, npcs[j].soul, npcs[i].soul_size) == 0) {
                fprintf(stderr, "FAIL: %s and %s have the same soul\n", npcs[i].name, npcs[j].name);
                goto done;
            }
    /* Check 3: the crowd hears an announcement together, one token per frame for every NPC in one call. */
    {
        static const char kNews[] = "Herald: The king is dead! Long live the queen!";
        int32_t ids[256];
        size_t n_ids = 0;
        if (ttt_tokenize(model, kNews, strlen(kNews), 0, ids, 256, &n_ids) != TTT_OK) {
            fail("tokenize");
            goto done;
        }
        ttt_context* crowd[N_NPCS];
        size_t one[N_NPCS];
        for (int i = 0; i < N_NPCS; ++i) crowd[i] = npcs[i].ctx, one[i] = 1;
        for (size_t t = 0; t < n_ids; ++t) {
            int32_t frame[N_NPCS];
            for (int i = 0; i < N_NPCS; ++i) frame[i] = ids[t];
            if (ttt_forward_batch(crowd, N_NPCS, frame, one, NULL) != TTT_OK) {
                fail("forward_batch");
                goto done;
            }
        }
        for (int i = 0; i < N_NPCS; ++i) {
            /* The same NPC, restored from its saved soul, hears the announcement alone. */
            ttt_context* alone = NULL;
            unsigned char *a = NULL, *b = NULL;
            size_t na = 0, nb = 0;
            int same = ttt_create(model, NULL, &alone) == TTT_OK &&
                       ttt_load_soul_buffer(alone, npcs[i].soul, npcs[i].soul_size, 0) == TTT_OK &&
                       ttt_forward(alone, ids, n_ids, NULL) == TTT_OK;
            ttt_save_soul_buffer(alone, NULL, 0, &na);
            ttt_save_soul_buffer(npcs[i].ctx, NULL, 0, &nb);
            a = (unsigned char*)malloc(na);
            b = (unsigned char*)malloc(nb);
            same = same && a && b && na == nb && ttt_save_soul_buffer(alone, a, na, &na) == TTT_OK &&
                   ttt_save_soul_buffer(npcs[i].ctx, b, nb, &nb) == TTT_OK && memcmp(a, b, na) == 0;
            free(a);
            free(b);
            ttt_destroy(alone);
            if (!same) {
                fprintf(stderr, "FAIL: %s's soul after the crowd step differs from hearing it alone\n", npcs[i].name);
                goto done;
            }
        }
        printf("the crowd heard %zu tokens in %zu batched frames; every soul equals hearing them alone\n", n_ids, n_ids);
    }
    printf("OK: %d NPCs share one model, keep separate souls, and interleaving or batching changes nothing\n", N_NPCS);
    ok = 1;

done:
    for (int i = 0; i < N_NPCS; ++i) {
        ttt_destroy(npcs[i].ctx);
        free(npcs[i].soul);
    }
    ttt_model_free(model);
    return ok ? 0 : 1;
}
