/*
 * stream_cancel.c — stream text on a worker thread and stop it from another thread with ttt_cancel().
 *
 *     stream_cancel MODEL
 *
 * A game or a UI generates on a worker so the main thread never blocks; when the player walks away, the main thread
 * calls ttt_cancel(ctx) (the one function any thread may call on a busy context) and the worker's call returns
 * TTT_ERR_ABORTED at the next token. Cancel also reaches into a long prefill (ttt_learn, ttt_forward, the prompt of
 * ttt_generate): the soul keeps exactly the whole tokens learned before the stop.
 *
 * Checks (exit status 0 only when all hold):
 *   1. an endless stream (max_tokens huge) stops with TTT_ERR_ABORTED after the main thread cancels it;
 *   2. a long ttt_learn stops with TTT_ERR_ABORTED part-way, and the soul level equals the tokens it saw;
 *   3. the context works normally afterwards.
 */
#include <bit_ttt.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    ttt_context* ctx;
    pthread_mutex_t lock;
    int pieces;    /* pieces streamed so far */
    int finished;  /* the worker's call returned */
    ttt_status status;
    int32_t stop_reason;
    int started;     /* the worker is about to make its call */
    char* long_text; /* for the prefill case */
    size_t long_len;
    ttt_logit_bias* no_eog; /* bans the end-of-generation tokens */
    size_t n_no_eog;
} job;

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Streaming callback, on the worker thread. */
static int32_t TTT_CALL on_text(const char* text, size_t len, int32_t token, void* user_data) {
    job* j = (job*)user_data;
    (void)token;
    fwrite(text, 1, len, stdout);
    fflush(stdout);
    pthread_mutex_lock(&j->lock);
    j->pieces++;
    pthread_mutex_unlock(&j->lock);
    return 1; /* keep going: only the other thread stops us */
}

static void finish(job* j, ttt_status status) {
    pthread_mutex_lock(&j->lock);
    j->status = status;
    j->finished = 1;
    pthread_mutex_unlock(&j->lock);
}

static void* stream_worker(void* arg) {
    job* j = (job*)arg;
    ttt_generate_params gp;
    ttt_generate_params_init(&gp, (uint32_t)sizeof gp);
    gp.max_tokens = 1 << 30; /* "endless": */
    gp.logit_bias = j->no_eog; /* and no end-of-generation token either, so only the cancel can stop it */
    gp.n_logit_bias = j->n_no_eog;
    const char* prompt = "Tell me a story that never ends:";
    finish(j, ttt_generate(j->ctx, prompt, strlen(prompt), &gp, on_text, j, &j->stop_reason));
    return NULL;
}

static void* learn_worker(void* arg) {
    job* j = (job*)arg;
    pthread_mutex_lock(&j->lock);
    j->started = 1;
    pthread_mutex_unlock(&j->lock);
    finish(j, ttt_learn(j->ctx, j->long_text, j->long_len, 0, NULL));
    return NULL;
}

/* Waits (up to timeout_ms) until the worker has streamed min_pieces, or has started (min_pieces 0), or finished. */
static void wait_for(job* j, int min_pieces, long timeout_ms) {
    for (long waited = 0; waited < timeout_ms; waited += 2) {
        pthread_mutex_lock(&j->lock);
        int ready = j->finished || (min_pieces > 0 ? j->pieces >= min_pieces : j->started);
        pthread_mutex_unlock(&j->lock);
        if (ready) return;
        sleep_ms(2);
    }
}

/* Starts fn on a worker, waits until it is busy (and extra_ms more), then cancels it and joins it.
 *
 * Keep cancelling until the worker's call has returned: a cancel that lands just before the call starts is cleared
 * by the call itself (new work clears a cancel left over from earlier work, so a late cancel never stops future
 * work) — repeating it is harmless and closes that window. */
static int run_job(job* j, void* (*fn)(void*), int min_pieces, long extra_ms) {
    pthread_t worker;
    j->pieces = 0;
    j->started = 0;
    j->finished = 0;
    j->status = TTT_OK;
    if (pthread_create(&worker, NULL, fn, j) != 0) return 0;
    wait_for(j, min_pieces, 10000);
    sleep_ms(extra_ms);
    for (;;) {
        ttt_cancel(j->ctx); /* the one call any thread may make on a busy context */
        pthread_mutex_lock(&j->lock);
        int done = j->finished;
        pthread_mutex_unlock(&j->lock);
        if (done) break;
        sleep_ms(1);
    }
    pthread_join(worker, NULL);
    return 1;
}

int main(int argc, char** argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s MODEL\n", argv[0]);
        return 2;
    }
    int ok = 0;
    ttt_model* model = NULL;
    job j;
    memset(&j, 0, sizeof j);
    pthread_mutex_init(&j.lock, NULL);

    if (ttt_load_model(argv[1], NULL, &model) != TTT_OK || ttt_create(model, NULL, &j.ctx) != TTT_OK) {
        fprintf(stderr, "error: %s\n", ttt_last_error());
        goto done;
    }

    /* Ban every end-of-generation token (a logit bias of -INFINITY). */
    ttt_model_info info;
    info.struct_size = (uint32_t)sizeof info;
    ttt_model_get_info(model, &info);
    j.no_eog = (ttt_logit_bias*)malloc(sizeof(ttt_logit_bias) * (size_t)info.vocab_size);
    if (!j.no_eog) goto done;
    for (int32_t t = 0; t < info.vocab_size; ++t) {
        int32_t eog = 0;
        if (ttt_token_is_eog(model, t, &eog) == TTT_OK && eog) {
            j.no_eog[j.n_no_eog].token = t;
            j.no_eog[j.n_no_eog++].bias = -INFINITY;
        }
    }

    /* 1. Cancel a stream after a few pieces. */
    if (!run_job(&j, stream_worker, 8, 0)) goto done;
    printf("\n[stream: %d pieces, then: %s — %s]\n", j.pieces, ttt_status_string(j.status),
           j.status == TTT_ERR_ABORTED ? "cancelled from the main thread" : "?");
    if (j.status != TTT_ERR_ABORTED || j.pieces == 0) {
        fprintf(stderr, "FAIL: the stream was not cancelled (status %d, %d pieces)\n", j.status, j.pieces);
        goto done;
    }

    /* 2. Cancel a long prefill (a few hundred thousand tokens) shortly after it starts. */
    ttt_reset(j.ctx);
    j.long_len = 400000;
    j.long_text = (char*)malloc(j.long_len);
    if (!j.long_text) goto done;
    for (size_t i = 0; i < j.long_len; ++i) j.long_text[i] = "the quick brown fox jumps over the lazy dog. "[i % 45];
    if (!run_job(&j, learn_worker, 0, 30)) goto done;
    uint64_t position = 0, level = 0;
    ttt_get_position(j.ctx, &position);
    ttt_get_soul_level(j.ctx, &level);
    printf("[learn: %s after %llu tokens; soul level %llu]\n", ttt_status_string(j.status),
           (unsigned long long)position, (unsigned long long)level);
    if (j.status != TTT_ERR_ABORTED || level != position) {
        fprintf(stderr, "FAIL: the prefill was not cancelled cleanly (status %d, position %llu, level %llu)\n", j.status,
                (unsigned long long)position, (unsigned long long)level);
        goto done;
    }

    /* 3. The context carries on normally. */
    int32_t token = 1;
    if (ttt_forward(j.ctx, &token, 1, NULL) != TTT_OK) {
        fprintf(stderr, "FAIL: the context does not work after a cancel: %s\n", ttt_last_error());
        goto done;
    }
    ttt_get_position(j.ctx, &level);
    if (level != position + 1) {
        fprintf(stderr, "FAIL: position %llu after one more token, expected %llu\n", (unsigned long long)level,
                (unsigned long long)(position + 1));
        goto done;
    }
    printf("OK: cancelled a stream and a prefill from another thread; the context carried on\n");
    ok = 1;

done:
    ttt_destroy(j.ctx);
    ttt_model_free(model);
    free(j.long_text);
    free(j.no_eog);
    pthread_mutex_destroy(&j.lock);
    return ok ? 0 : 1;
}
