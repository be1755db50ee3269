/*
 * test_portable.c: checks of the shared library that must hold on every platform. CTest runs it on Linux;
 * scripts/test-dist.sh runs the MinGW-w64 build under Wine. One program with many checks, because starting a
 * Windows program under Wine is slow.
 *
 *     test_portable MODEL.bitt WORK_DIR
 *
 * - the ABI handshake;
 * - UTF-8 paths with non-ASCII characters (accents, Cyrillic, CJK) for the model, the soul and the memories folder,
 *   which on Windows must reach the system as wide-character names;
 * - crash-safe soul files: saving over an existing soul replaces it whole and no temp file stays behind;
 * - bad input (missing file, garbage soul, missing folder) gives a status and a message, and the context stays usable;
 * - the model generates, and a soul saved to a file and loaded into a fresh context continues identically.
 *
 * Prints one line per check and "N passed, M failed"; exit status 0 only when none failed.
 */
#include <bit_ttt.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#include <direct.h>
#include <windows.h>
#else
#include <dirent.h>
#include <sys/stat.h>
#endif

static int passed = 0, failed = 0;

static void check(int ok, const char* what) {
    if (ok) {
        ++passed;
        printf("ok   %s\n", what);
    } else {
        ++failed;
        printf("FAIL %s (last error: %s)\n", what, ttt_last_error());
    }
    fflush(stdout);
}

/* ---- the test's own UTF-8 file helpers (the library has its own; these must not share its code) ---- */

#ifdef _WIN32
static wchar_t* wide(const char* utf8) {
    int n = MultiByteToWideChar(CP_UTF8, 0, utf8, -1, NULL, 0);
    wchar_t* w = (wchar_t*)malloc(sizeof(wchar_t) * (size_t)(n > 0 ? n : 1));
    if (n <= 0 || !w || !MultiByteToWideChar(CP_UTF8, 0, utf8, -1, w, n)) {
        if (w) w[0] = 0;
    }
    return w;
}
#endif

static FILE* open_utf8(const char* path, const char* mode) {
#ifdef _WIN32
    wchar_t *wp = wide(path), *wm = wide(mode);
    FILE* f = _wfopen(wp, wm);
    free(wp);
    free(wm);
    return f;
#else
    return fopen(path, mode);
#endif
}

static int make_dir(const char* path) {
#ifdef _WIN32
    wchar_t* wp = wide(path);
    int rc = _wmkdir(wp);
    free(wp);
    return rc == 0 || GetLastError() == ERROR_ALREADY_EXISTS;
#else
    struct stat st;
    return mkdir(path, 0755) == 0 || (stat(path, &st) == 0 && S_ISDIR(st.st_mode));
#endif
}

static int copy_file(const char* from, const char* to) {
    FILE *in = open_utf8(from, "rb"), *out = open_utf8(to, "wb");
    char buf[1 << 16];
    size_t n;
    int ok = in && out;
    while (ok && (n = fread(buf, 1, sizeof buf, in)) > 0) ok = fwrite(buf, 1, n, out) == n;
    if (in) fclose(in);
    if (out && fclose(out) != 0) ok = 0;
    return ok;
}

static int write_text(const char* path, const char* text) {
    FILE* f = open_utf8(path, "wb");
    if (!f) return 0;
    size_t n = strlen(text);
    int ok = fwrite(text, 1, n, f) == n;
    return fclose(f) == 0 && ok;
}

static int file_exists(const char* path) {
    FILE* f = open_utf8(path, "rb");
    if (f) fclose(f);
    return f != NULL;
}

/* How many entries of dir have ".tmp." in their name (left-over temp files of a crash-safe save). */
static int count_temp_files(const char* dir) {
    int count = 0;
#ifdef _WIN32
    char pattern[1024];
    snprintf(pattern, sizeof pattern, "%s\\*", dir);
    wchar_t* wp = wide(pattern);
    WIN32_FIND_DATAW fd;
    HANDLE h = FindFirstFileW(wp, &fd);
    free(wp);
    if (h == INVALID_HANDLE_VALUE) return -1;
    do {
        if (wcsstr(fd.cFileName, L".tmp.")) ++count;
    } while (FindNextFileW(h, &fd));
    FindClose(h);
#else
    DIR* d = opendir(dir);
    struct dirent* e;
    if (!d) return -1;
    while ((e = readdir(d)) != NULL)
        if (strstr(e->d_name, ".tmp.")) ++count;
    closedir(d);
#endif
    return count;
}

/* ---- library helpers ---- */

/* Greedy generation of up to max_tokens from prompt; returns a malloc'd string (NULL on failure). */
static char* generate(ttt_context* ctx, const char* prompt, int max_tokens) {
    ttt_generate_params gp;
    size_t cap = 4096, len = 0;
    char* out = (char*)calloc(cap, 1);
    ttt_generate_params_init(&gp, (uint32_t)sizeof gp);
    gp.max_tokens = max_tokens;
    gp.temperature = 0.0f;
    if (!out || ttt_generate_begin(ctx, prompt, strlen(prompt), &gp) != TTT_OK) {
        free(out);
        return NULL;
    }
    for (;;) {
        int32_t token, reason;
        const char* text;
        size_t n;
        if (ttt_generate_next(ctx, &token, &text, &n, &reason) != TTT_OK) {
            free(out);
            return NULL;
        }
        if (len + n + 1 > cap) n = cap - len - 1;
        memcpy(out + len, text, n);
        len += n;
        if (reason != TTT_STOP_NONE) break;
    }
    out[len] = '\0';
    return out;
}

/* The soul of ctx as bytes (malloc'd), via the size-query protocol. */
static unsigned char* soul_bytes(ttt_context* ctx, size_t* size) {
    unsigned char* data;
    if (ttt_save_soul_buffer(ctx, NULL, 0, size) != TTT_ERR_BUFFER_TOO_SMALL) return NULL;
    data = (unsigned char*)malloc(*size);
    if (data && ttt_save_soul_buffer(ctx, data, *size, size) != TTT_OK) {
        free(data);
        return NULL;
    }
    return data;
}

int main(int argc, char** argv) {
    char dir[1024], model_path[1200], soul_path[1200], bad_soul[1200], memories[1200], missing[1200];
    ttt_model* model = NULL;
    ttt_context *a = NULL, *b = NULL;
    if (argc != 3) {
        fprintf(stderr, "usage: %s MODEL.bitt WORK_DIR\n", argv[0]);
        return 2;
    }
    /* Non-ASCII names: Latin with accents, Cyrillic, CJK, and a space. */
    snprintf(dir, sizeof dir, "%s/Ünïcødé модель 漢字", argv[2]);
    snprintf(model_path, sizeof model_path, "%s/демо 模型.bitt", dir);
    snprintf(soul_path, sizeof soul_path, "%s/душа 魂.soul", dir);
    snprintf(bad_soul, sizeof bad_soul, "%s/плохо.soul", dir);
    snprintf(memories, sizeof memories, "%s/память 記憶", dir);
    snprintf(missing, sizeof missing, "%s/нет/душа.soul", dir);

    check(ttt_abi_version() == TTT_ABI_VERSION, "library ABI version equals the header's");
    check(make_dir(argv[2]) && make_dir(dir), "work folder with a non-ASCII name created");
    check(copy_file(argv[1], model_path), "demo model copied under a non-ASCII name");

    check(ttt_load_model(missing, NULL, &model) == TTT_ERR_IO && model == NULL, "a missing model is TTT_ERR_IO");
    check(strstr(ttt_last_error(), "нет/душа.soul") != NULL, "the error names the UTF-8 path unchanged");

    check(ttt_load_model(model_path, NULL, &model) == TTT_OK, "model loads from a non-ASCII path");
    if (!model) goto done;
    check(ttt_create(model, NULL, &a) == TTT_OK && ttt_create(model, NULL, &b) == TTT_OK, "two contexts");
    if (!a || !b) goto done;

    {
        char* first = generate(a, "ROMEO:", 24);
        check(first && strlen(first) > 0, "the model generates text");
        if (first) printf("     ROMEO:%s\n", first);
        free(first);
    }

    check(ttt_save_soul(a, soul_path) == TTT_OK && file_exists(soul_path), "soul saved to a non-ASCII path");
    {
        char* more = generate(a, "JULIET:", 8); /* the soul moves on */
        free(more);
    }
    check(ttt_save_soul(a, soul_path) == TTT_OK, "saving again replaces the existing soul file");
    check(count_temp_files(dir) == 0, "no temp file left beside the soul");
    check(ttt_load_soul(b, soul_path, 0) == TTT_OK, "the soul loads into a fresh context");
    {
        size_t na = 0, nb = 0;
        unsigned char *sa = soul_bytes(a, &na), *sb = soul_bytes(b, &nb);
        check(sa && sb && na == nb && memcmp(sa, sb, na) == 0, "the loaded soul equals the saved one");
        free(sa);
        free(sb);
    }
    {
        char *ta = generate(a, "HAMLET:", 16), *tb = generate(b, "HAMLET:", 16);
        check(ta && tb && strcmp(ta, tb) == 0, "both contexts continue identically");
        free(ta);
        free(tb);
    }

    check(write_text(bad_soul, "this is not a soul\n"), "garbage soul file written");
    check(ttt_load_soul(b, bad_soul, 0) != TTT_OK && strlen(ttt_last_error()) > 0, "a garbage soul is refused");
    check(ttt_save_soul(b, missing) == TTT_ERR_IO, "saving into a missing folder is TTT_ERR_IO");
    {
        char* t = generate(b, "ROMEO:", 4);
        check(t != NULL, "the context still works after refused files");
        free(t);
    }

    check(ttt_remember(memories, "user", "Good morrow, cousin.", 20) == TTT_OK &&
              ttt_remember(memories, "assistant", "Is the day so young?", 20) == TTT_OK,
          "memories appended under a non-ASCII folder");
    {
        ttt_sleep_params sp;
        size_t n_tokens = 0;
        ttt_sleep_params_init(&sp, (uint32_t)sizeof sp);
        sp.memories_dir = memories;
        check(ttt_sleep(b, &sp, &n_tokens) == TTT_OK && n_tokens > 0, "sleep replays those memories");
    }

done:
    ttt_destroy(a);
    ttt_destroy(b);
    ttt_model_free(model);
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 && passed > 0 ? 0 : 1;
}
