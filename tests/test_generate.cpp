// Text in, text out through the C ABI: tokenizer functions, pull-style and streaming generation, determinism,
// stop strings, max_tokens, cancel during prefill, learn, memories and sleep.
#include <doctest/doctest.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "model_fixture.h"
#include "train/evaluate.h"

using namespace ttt_test;

namespace {

struct Generated {
    std::vector<int32_t> tokens;
    std::string text;
    int32_t reason = -1;
    ttt_status status = TTT_OK;
};

Generated pull(ttt_context* ctx, const std::string& prompt, const ttt_generate_params* p) {
    Generated g;
    g.status = ttt_generate_begin(ctx, prompt.data(), prompt.size(), p);
    if (g.status != TTT_OK) return g;
    for (int guard = 0; guard < 10000; ++guard) {
        int32_t tok = -1, reason = 0;
        const char* text = nullptr;
        size_t len = 0;
        g.status = ttt_generate_next(ctx, &tok, &text, &len, &reason);
        if (g.status != TTT_OK) return g;
        if (tok >= 0) g.tokens.push_back(tok);
        g.text.append(text, len);
        if (reason != TTT_STOP_NONE) {
            g.reason = reason;
            break;
        }
    }
    return g;
}

int32_t TTT_CALL collect(const char* text, size_t len, int32_t, void* user) {
    static_cast<std::string*>(user)->append(text, len);
    return 1;
}

// The status of one ttt_generate_next (its outputs are not needed).
ttt_status next_status(ttt_context* ctx) {
    int32_t tok = 0, reason = 0;
    const char* text = nullptr;
    size_t len = 0;
    return ttt_generate_next(ctx, &tok, &text, &len, &reason);
}

// A model with 1024 rows and the 1000-id test tokenizer: a padded vocab, as many models have.
std::string write_padded_text_model(const std::filesystem::path& dir) {
    FixtureSpec spec;
    spec.vocab = 1024;
    spec.dim = 16;
    spec.layers = 2;
    const std::string path = write_fixture_model(dir, spec);
    std::filesystem::copy_file(test_data_dir() / "tokenizer" / "ttt_bytelevel.json", dir / "tokenizer.json",
                               std::filesystem::copy_options::overwrite_existing);
    return path;
}

bool valid_utf8(const std::string& s) {
    size_t i = 0;
    while (i < s.size()) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (n == 0 || i + n > s.size()) return false;
        for (size_t k = 1; k < n; ++k)
            if ((static_cast<unsigned char>(s[i + k]) >> 6) != 2) return false;
        i += n;
    }
    return true;
}

}  // namespace

TEST_CASE("tokenize, detokenize and pieces through the C ABI, with the size-query protocol") {
    TempDir tmp;
    Model model(write_text_model(tmp.path / "m"));
    REQUIRE(model.m);
    const std::string text = "ROMEO: But soft, what light through yonder window breaks? 🌙 日本";
    size_t n = 0;
    CHECK(ttt_tokenize(model.m, text.data(), text.size(), 0, nullptr, 0, &n) == TTT_ERR_BUFFER_TOO_SMALL);
    REQUIRE(n > 5);
    std::vector<int32_t> ids(n);
    REQUIRE(ttt_tokenize(model.m, text.data(), text.size(), 0, ids.data(), ids.size(), &n) == TTT_OK);
    size_t len = 0;
    CHECK(ttt_detokenize(model.m, ids.data(), ids.size(), 0, nullptr, 0, &len) == TTT_ERR_BUFFER_TOO_SMALL);
    std::string back(len + 1, '\0');
    REQUIRE(ttt_detokenize(model.m, ids.data(), ids.size(), 0, back.data(), back.size(), &len) == TTT_OK);
    back.resize(len);
    CHECK(back == text);  // byte-level BPE is lossless
    // Pieces concatenate to the text.
    std::string joined;
    for (int32_t id : ids) {
        char buf[64];
        size_t plen = 0;
        REQUIRE(ttt_token_to_piece(model.m, id, buf, sizeof buf, &plen) == TTT_OK);
        joined.append(buf, plen);
    }
    CHECK(joined == text);
    // User text cannot inject a control token unless asked.
    const std::string inject = "<|endoftext|>";
    std::vector<int32_t> plain(64), special(64);
    size_t np = 0, ns = 0;
    REQUIRE(ttt_tokenize(model.m, inject.data(), inject.size(), 0, plain.data(), plain.size(), &np) == TTT_OK);
    REQUIRE(ttt_tokenize(model.m, inject.data(), inject.size(), TTT_TOKENIZE_PARSE_SPECIAL, special.data(), special.size(), &ns) == TTT_OK);
    CHECK(ns == 1);
    CHECK(np > 1);
    int32_t eog = 0;
    REQUIRE(ttt_token_is_eog(model.m, special[0], &eog) == TTT_OK);
    CHECK(eog == 1);
    REQUIRE(ttt_token_is_eog(model.m, ids[0], &eog) == TTT_OK);
    CHECK(eog == 0);
    CHECK(ttt_token_is_eog(model.m, 5000, &eog) == TTT_ERR_INVALID_ARGUMENT);
    CHECK(ttt_tokenize(model.m, text.data(), text.size(), 0x40, ids.data(), ids.size(), &n) == TTT_ERR_INVALID_ARGUMENT);
}

TEST_CASE("a model without a tokenizer refuses text functions clearly") {
    TempDir tmp;
    FixtureSpec spec;
    Model model(write_fixture_model(tmp.path / "m", spec));
    size_t n = 0;
    CHECK(ttt_tokenize(model.m, "hi", 2, 0, nullptr, 0, &n) == TTT_ERR_UNSUPPORTED);
    CHECK(std::string(ttt_last_error()).find("no tokenizer") != std::string::npos);
    Context ctx(model.m);
    CHECK(ttt_generate_begin(ctx.c, "hi", 2, nullptr) == TTT_ERR_UNSUPPORTED);
}

TEST_CASE("generation: same model + soul + prompt + seed gives the same tokens; pull and streaming agree") {
    TempDir tmp;
    Model model(write_text_model(tmp.path / "m"));
    ttt_generate_params p;
    REQUIRE(ttt_generate_params_init(&p, sizeof p) == TTT_OK);
    p.max_tokens = 40;
    p.seed = 42;
    Context a(model.m), b(model.m), c(model.m);
    Generated ga = pull(a.c, "ROMEO:", &p), gb = pull(b.c, "ROMEO:", &p);
    REQUIRE(ga.status == TTT_OK);
    CHECK(ga.tokens == gb.tokens);
    CHECK(ga.text == gb.text);
    CHECK(valid_utf8(ga.text));
    CHECK((ga.reason == TTT_STOP_MAX_TOKENS || ga.reason == TTT_STOP_EOS));
    std::string streamed;
    int32_t reason = -1;
    REQUIRE(ttt_generate(c.c, "ROMEO:", 6, &p, collect, &streamed, &reason) == TTT_OK);
    CHECK(streamed == ga.text);
    CHECK(reason == ga.reason);
    // Another seed, another text.
    p.seed = 43;
    Context d(model.m);
    CHECK(pull(d.c, "ROMEO:", &p).tokens != ga.tokens);
    // The soul learned prompt and reply: generating again from the same context differs from a fresh context.
    p.seed = 42;
    Generated again = pull(a.c, "ROMEO:", &p);
    CHECK(again.tokens != ga.tokens);
    // Greedy is deterministic without a seed dependence.
    p.temperature = 0;
    Context e(model.m), f(model.m);
    p.seed = 1;
    Generated ge = pull(e.c, "ROMEO:", &p);
    p.seed = 2;
    CHECK(pull(f.c, "ROMEO:", &p).tokens == ge.tokens);
}

TEST_CASE("generation stops at max_tokens and at stop strings, which are never emitted") {
    TempDir tmp;
    Model model(write_text_model(tmp.path / "m"));
    ttt_generate_params p;
    ttt_generate_params_init(&p, sizeof p);
    p.max_tokens = 5;
    p.temperature = 0;
    Context a(model.m);
    Generated g = pull(a.c, "Hello", &p);
    CHECK(g.tokens.size() <= 5);
    CHECK(g.reason == TTT_STOP_MAX_TOKENS);
    // Greedy output of a longer run; pick a stop string from inside it.
    p.max_tokens = 60;
    Context b(model.m);
    Generated full = pull(b.c, "Hello", &p);
    REQUIRE(full.text.size() > 12);
    const std::string stop = full.text.substr(8, 3);
    const char* stops[] = {stop.c_str()};
    p.stop_strings = stops;
    p.n_stop_strings = 1;
    Context c(model.m);
    Generated cut = pull(c.c, "Hello", &p);
    CHECK(cut.reason == TTT_STOP_STRING);
    CHECK(cut.text == full.text.substr(0, full.text.find(stop)));
    CHECK(cut.text.find(stop) == std::string::npos);
    // After the end, next keeps answering with the reason and no text.
    int32_t tok = 0, reason = 0;
    const char* text = nullptr;
    size_t len = 9;
    REQUIRE(ttt_generate_next(c.c, &tok, &text, &len, &reason) == TTT_OK);
    CHECK(reason == TTT_STOP_STRING);
    CHECK(len == 0);
    CHECK(tok == -1);
    // next without begin
    Context d(model.m);
    CHECK(ttt_generate_next(d.c, &tok, &text, &len, &reason) == TTT_ERR_INVALID_STATE);
    // Bad params are refused before anything runs.
    p.temperature = std::nanf("");
    CHECK(ttt_generate_begin(d.c, "x", 1, &p) == TTT_ERR_INVALID_ARGUMENT);
    uint64_t pos = 1;
    ttt_get_position(d.c, &pos);
    CHECK(pos == 0);
}

TEST_CASE("a cancel between two steps of a generation ends it; the next generation is not affected") {
    TempDir tmp;
    Model model(write_text_model(tmp.path / "m"));
    Context ctx(model.m);
    REQUIRE(ttt_generate_begin(ctx.c, "Hi", 2, nullptr) == TTT_OK);
    int32_t tok = 0, reason = 0;
    const char* text = nullptr;
    size_t len = 0;
    REQUIRE(ttt_generate_next(ctx.c, &tok, &text, &len, &reason) == TTT_OK);
    REQUIRE(ttt_cancel(ctx.c) == TTT_OK);
    CHECK(ttt_generate_next(ctx.c, &tok, &text, &len, &reason) == TTT_ERR_ABORTED);
    CHECK(ttt_generate_next(ctx.c, &tok, &text, &len, &reason) == TTT_ERR_INVALID_STATE);
    REQUIRE(ttt_generate_begin(ctx.c, "Hi", 2, nullptr) == TTT_OK);
    CHECK(ttt_generate_next(ctx.c, &tok, &text, &len, &reason) == TTT_OK);
}

TEST_CASE("ttt_cancel from another thread stops a long prompt prefill") {
    TempDir tmp;
    Model model(write_text_model(tmp.path / "m"));
    Context ctx(model.m);
    std::string prompt;
    for (int i = 0; i < 20000; ++i) prompt += "To be, or not to be, that is the question. ";
    std::thread canceller([&] {
        // Cancel once the prefill has begun (the position moves after the first pass), whatever the machine's
        // speed: waiting on the condition, never on a clock.
        uint64_t seen = 0;
        while (ttt_get_position(ctx.c, &seen) == TTT_OK && seen == 0) std::this_thread::yield();
        ttt_cancel(ctx.c);
    });
    ttt_status st = ttt_generate_begin(ctx.c, prompt.data(), prompt.size(), nullptr);
    canceller.join();
    CHECK(st == TTT_ERR_ABORTED);
    uint64_t pos = 0;
    ttt_get_position(ctx.c, &pos);
    CHECK(pos > 0);  // the soul keeps what it learned before the cancel
    int32_t tok, reason;
    const char* text;
    size_t len;
    CHECK(ttt_generate_next(ctx.c, &tok, &text, &len, &reason) == TTT_ERR_INVALID_STATE);
}

TEST_CASE("learn, remember and sleep on a memories folder with malformed lines") {
    TempDir tmp;
    Model model(write_text_model(tmp.path / "m"));
    Context ctx(model.m);
    size_t n = 0;
    const std::string text = "Good night, good night! Parting is such sweet sorrow.";
    REQUIRE(ttt_learn(ctx.c, text.data(), text.size(), 0, &n) == TTT_OK);
    uint64_t level = 0;
    ttt_get_soul_level(ctx.c, &level);
    CHECK(level == n);
    CHECK(n > 5);

    const auto mem = tmp.path / "memories";
    REQUIRE(ttt_remember(mem.string().c_str(), "user", "Who goes there?", 15) == TTT_OK);
    REQUIRE(ttt_remember(mem.string().c_str(), "assistant", "Nay, answer me: stand, and unfold yourself.", 43) == TTT_OK);
    // A second day with malformed lines: they are skipped, the good ones replayed, the file left as it was.
    const auto bad_day = mem / "2020-01-01.jsonl";
    {
        std::ofstream f(bad_day, std::ios::binary);
        f << "{\"role\":\"user\",\"text\":\"Long live the king!\",\"timestamp\":\"2020-01-01T10:00:00+00:00\"}\n";
        f << "not json at all\n{\"role\":\"user\"}\n{\"role\":\"user\",\"text\":42}\n\xff\xfe\n";
        f << "{\"role\":\"assistant\",\"text\":\"Bernardo?\",\"timestamp\":\"2020-01-01T10:00:01+00:00\"}\n{\"role\":\"us";
    }
    const auto before = read_bytes(bad_day);
    ttt_sleep_params sp;
    REQUIRE(ttt_sleep_params_init(&sp, sizeof sp) == TTT_OK);
    const std::string mem_dir = mem.string(), soul_path = (tmp.path / "auto.soul").string();
    sp.memories_dir = mem_dir.c_str();
    sp.autosave_path = soul_path.c_str();
    size_t learned = 0;
    REQUIRE(ttt_sleep(ctx.c, &sp, &learned) == TTT_OK);
    CHECK(learned > 10);
    uint64_t after = 0;
    ttt_get_soul_level(ctx.c, &after);
    CHECK(after == level + learned);
    CHECK(read_bytes(bad_day) == before);
    CHECK(std::filesystem::exists(soul_path));
    // The autosaved soul restores the same level.
    Context other(model.m);
    REQUIRE(ttt_load_soul(other.c, soul_path.c_str(), 0) == TTT_OK);
    uint64_t restored = 0;
    ttt_get_soul_level(other.c, &restored);
    CHECK(restored == after);
    // An empty folder: nothing to learn, not an error; a missing folder is an I/O error (a mistyped path).
    std::filesystem::create_directories(tmp.path / "empty");
    const std::string empty = (tmp.path / "empty").string(), missing = (tmp.path / "missing").string();
    sp.memories_dir = empty.c_str();
    sp.autosave_path = nullptr;
    CHECK(ttt_sleep(ctx.c, &sp, &learned) == TTT_OK);
    CHECK(learned == 0);
    sp.memories_dir = missing.c_str();
    CHECK(ttt_sleep(ctx.c, &sp, &learned) == TTT_ERR_IO);
    CHECK(std::string(ttt_last_error()).find("missing") != std::string::npos);
}

TEST_CASE("a cancelled sleep keeps what was learned") {
    TempDir tmp;
    Model model(write_text_model(tmp.path / "m"));
    Context ctx(model.m);
    const auto mem = tmp.path / "memories";
    std::string line(400, 'a');
    for (int i = 0; i < 200; ++i) REQUIRE(ttt_remember(mem.string().c_str(), "user", line.data(), line.size()) == TTT_OK);
    ttt_sleep_params sp;
    ttt_sleep_params_init(&sp, sizeof sp);
    const std::string dir = mem.string();
    sp.memories_dir = dir.c_str();
    struct Stop {
        static int32_t TTT_CALL at_third(float progress, void* user) {
            int& calls = *static_cast<int*>(user);
            (void)progress;
            return ++calls < 3 ? 1 : 0;
        }
    };
    int calls = 0;
    sp.progress_callback = Stop::at_third;
    sp.progress_user_data = &calls;
    size_t learned = 0;
    CHECK(ttt_sleep(ctx.c, &sp, &learned) == TTT_ERR_ABORTED);
    uint64_t level = 0;
    ttt_get_soul_level(ctx.c, &level);
    CHECK(level > 0);
    CHECK(learned == level);  // the count is reported also when the call stops part-way

    sp.progress_callback = nullptr;
    sp.autosave_path = "";
    CHECK(ttt_sleep(ctx.c, &sp, &learned) == TTT_ERR_INVALID_ARGUMENT);
    CHECK(std::string(ttt_last_error()).find("autosave_path") != std::string::npos);
    uint64_t level_after = 0;
    ttt_get_soul_level(ctx.c, &level_after);
    CHECK(level_after == level);  // refused before anything was learned
}

TEST_CASE("a cancelled learn reports the tokens it learned") {
    TempDir tmp;
    Model model(write_text_model(tmp.path / "m"));
    ttt_context_params params;
    ttt_context_params_init(&params, sizeof params);
    params.n_batch = 1;  // a pass per token, so the abort lands on a token boundary
    struct OwnContext {
        ttt_context* c = nullptr;
        ~OwnContext() { ttt_destroy(c); }
    } ctx;
    REQUIRE(ttt_create(model.m, &params, &ctx.c) == TTT_OK);
    struct Abort {
        static int32_t TTT_CALL after_ten(void* user) { return ++*static_cast<int*>(user) > 10 ? 1 : 0; }
    };
    int polls = 0;
    REQUIRE(ttt_set_abort_callback(ctx.c, Abort::after_ten, &polls) == TTT_OK);
    const std::string text(2000, 'x');
    size_t learned = 12345;
    CHECK(ttt_learn(ctx.c, text.data(), text.size(), 0, &learned) == TTT_ERR_ABORTED);
    CHECK(learned == 10);
    uint64_t pos = 0;
    ttt_get_position(ctx.c, &pos);
    CHECK(pos == learned);
}

TEST_CASE("work that changes the soul ends a generation in progress; so does a callback stop") {
    TempDir tmp;
    Model model(write_text_model(tmp.path / "m"));
    Context ctx(model.m);
    const int32_t one = 5;
    REQUIRE(ttt_generate_begin(ctx.c, "Hi", 2, nullptr) == TTT_OK);
    REQUIRE(ttt_forward(ctx.c, &one, 1, nullptr) == TTT_OK);
    CHECK(next_status(ctx.c) == TTT_ERR_INVALID_STATE);

    REQUIRE(ttt_generate_begin(ctx.c, "Hi", 2, nullptr) == TTT_OK);
    REQUIRE(ttt_learn(ctx.c, "more", 4, 0, nullptr) == TTT_OK);
    CHECK(next_status(ctx.c) == TTT_ERR_INVALID_STATE);

    std::vector<uint8_t> soul(1 << 20);
    size_t soul_size = 0;
    REQUIRE(ttt_save_soul_buffer(ctx.c, soul.data(), soul.size(), &soul_size) == TTT_OK);
    REQUIRE(ttt_generate_begin(ctx.c, "Hi", 2, nullptr) == TTT_OK);
    REQUIRE(ttt_load_soul_buffer(ctx.c, soul.data(), soul_size, 0) == TTT_OK);
    CHECK(next_status(ctx.c) == TTT_ERR_INVALID_STATE);

    struct First {
        static int32_t TTT_CALL stop(const char*, size_t, int32_t, void*) { return 0; }
    };
    ttt_generate_params p;
    ttt_generate_params_init(&p, sizeof p);
    p.max_tokens = 50;
    int32_t why = -1;
    REQUIRE(ttt_generate(ctx.c, "Hello there", 11, &p, First::stop, nullptr, &why) == TTT_OK);
    CHECK(why == TTT_STOP_CALLBACK);
    CHECK(next_status(ctx.c) == TTT_ERR_INVALID_STATE);
}

TEST_CASE("destroy from inside the context's own callback is refused and leaves the context usable") {
    TempDir tmp;
    Model model(write_text_model(tmp.path / "m"));
    ttt_context* ctx = nullptr;
    REQUIRE(ttt_create(model.m, nullptr, &ctx) == TTT_OK);
    struct Destroyer {
        static int32_t TTT_CALL call(const char*, size_t, int32_t, void* user) {
            ttt_destroy(static_cast<ttt_context*>(user));
            return 0;
        }
    };
    int32_t why = -1;
    CHECK(ttt_generate(ctx, "Hello", 5, nullptr, Destroyer::call, ctx, &why) == TTT_OK);
    uint64_t pos = 0;
    CHECK(ttt_get_position(ctx, &pos) == TTT_OK);
    CHECK(pos > 0);
    CHECK(ttt_learn(ctx, "still alive", 11, 0, nullptr) == TTT_OK);
    ttt_destroy(ctx);
}

TEST_CASE("a model with more rows than its tokenizer has ids never emits an id without text") {
    TempDir tmp;
    // The padding rows are biased up so an unguarded sampler would pick them.
    Model model(write_padded_text_model(tmp.path / "m"));
    int32_t tok_vocab = 0;  // the first id the tokenizer refuses
    char piece[64];
    size_t piece_len = 0;
    while (tok_vocab < 1024 && ttt_token_to_piece(model.m, tok_vocab, piece, sizeof piece, &piece_len) == TTT_OK) ++tok_vocab;
    REQUIRE(tok_vocab == 1000);
    std::vector<ttt_logit_bias> bias;
    for (int32_t t = tok_vocab; t < 1024; ++t) bias.push_back({t, 1000.0f});
    ttt_generate_params p;
    ttt_generate_params_init(&p, sizeof p);
    p.logit_bias = bias.data();
    p.n_logit_bias = bias.size();
    p.max_tokens = 8;
    Context ctx(model.m);
    Generated g = pull(ctx.c, "Hi", &p);
    REQUIRE(g.status == TTT_OK);
    CHECK(g.tokens.size() == 8);
    for (int32_t t : g.tokens) CHECK(t < tok_vocab);
}

TEST_CASE("evaluation of a padded-vocab model without a sidecar counts the bytes of the tokenizer's pieces") {
    TempDir tmp;
    const std::string dir = write_padded_text_model(tmp.path / "m");
    Model model(dir);
    int32_t ids[16];
    size_t n = 0;
    REQUIRE(ttt_tokenize(model.m, "To be, or not to be", 19, 0, ids, 16, &n) == TTT_OK);
    {
        std::ofstream f(tmp.path / "text.u32", std::ios::binary);
        for (size_t i = 0; i < n; ++i) f.write(reinterpret_cast<const char*>(&ids[i]), 4);
    }
    ttt::EvalOptions eo;
    eo.context_len = 4;
    const ttt::EvalResult r = ttt::evaluate_model(dir, (tmp.path / "text.u32").string(), eo);
    CHECK(r.bytes_source == "pieces");
    CHECK(r.targets == n - 1);
    size_t first_len = 0;
    REQUIRE(ttt_token_to_piece(model.m, ids[0], nullptr, 0, &first_len) == TTT_ERR_BUFFER_TOO_SMALL);
    CHECK(r.bytes == double(19 - first_len));  // every target's piece, once
    CHECK(r.bits_per_byte > 0.0);
}

TEST_CASE("ttt_generate that fails to start still ends an earlier generation") {
    TempDir tmp;
    Model model(write_text_model(tmp.path / "m"));
    Context ctx(model.m);
    REQUIRE(ttt_generate_begin(ctx.c, "Hi", 2, nullptr) == TTT_OK);
    ttt_generate_params p;
    ttt_generate_params_init(&p, sizeof p);
    p.max_tokens = -1;
    CHECK(ttt_generate(ctx.c, "x", 1, &p, collect, nullptr, nullptr) == TTT_ERR_INVALID_ARGUMENT);
    CHECK(next_status(ctx.c) == TTT_ERR_INVALID_STATE);

    REQUIRE(ttt_generate_begin(ctx.c, "Hi", 2, nullptr) == TTT_OK);
    const int32_t bad = 5000;
    CHECK(ttt_forward(ctx.c, &bad, 1, nullptr) == TTT_ERR_INVALID_ARGUMENT);  // refused before anything changes
    CHECK(next_status(ctx.c) == TTT_OK);
}
