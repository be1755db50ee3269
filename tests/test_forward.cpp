// The forward pass through the C ABI: prefill ≡ token-by-token decode ≡ any split, for every chunk size;
// contexts are independent; reset; bad tokens; cancel; busy detection.
#include <doctest/doctest.h>

#include <atomic>
#include <thread>

#include "api/guard.h"
#include "model_fixture.h"

using namespace ttt_test;

namespace {

// Logits of each position computed by feeding the sequence in pieces of the given sizes (cycled).
std::vector<float> logits_in_pieces(ttt_model* m, const std::vector<int32_t>& tokens, std::vector<size_t> pieces) {
    Context ctx(m);
    ttt_model_info info;
    info.struct_size = sizeof info;
    ttt_model_get_info(m, &info);
    std::vector<float> out(tokens.size() * size_t(info.vocab_size));
    size_t pos = 0, k = 0;
    while (pos < tokens.size()) {
        size_t n = std::min(pieces[k++ % pieces.size()], tokens.size() - pos);
        REQUIRE(ttt_forward_all(ctx.c, tokens.data() + pos, n, out.data() + pos * size_t(info.vocab_size)) == TTT_OK);
        pos += n;
    }
    return out;
}

}  // namespace

TEST_CASE("prefill, decode and any split give the same logits for every ttt_chunk") {
    TempDir tmp;
    for (int chunk : {1, 3, 16}) {
        for (bool scale : {false, true}) {
            for (int act_bits : {0, 8}) {
                FixtureSpec spec;
                spec.chunk = chunk;
                spec.scale = scale;
                spec.act_bits = act_bits;
                const std::string dir = write_fixture_model(
                    tmp.path / ("m" + std::to_string(chunk) + std::to_string(scale) + std::to_string(act_bits)), spec);
                Model model(dir);
                REQUIRE(model.m != nullptr);
                const std::vector<int32_t> tokens = random_tokens(41, spec.vocab, 7);
                const std::vector<float> prefill = all_logits(model.m, tokens);
                REQUIRE(prefill.size() == tokens.size() * size_t(spec.vocab));
                CAPTURE(chunk);
                CAPTURE(scale);
                CAPTURE(act_bits);
                CHECK(max_abs_diff(prefill, logits_in_pieces(model.m, tokens, {1})) == 0.0f);
                CHECK(max_abs_diff(prefill, logits_in_pieces(model.m, tokens, {2, 5, 1, 7})) == 0.0f);
                CHECK(max_abs_diff(prefill, logits_in_pieces(model.m, tokens, {16})) == 0.0f);

                // ttt_forward's last-token logits equal ttt_forward_all's last row.
                Context ctx(model.m);
                std::vector<float> last(size_t(spec.vocab));
                REQUIRE(ttt_forward(ctx.c, tokens.data(), tokens.size(), last.data()) == TTT_OK);
                std::vector<float> want(prefill.end() - spec.vocab, prefill.end());
                CHECK(max_abs_diff(last, want) == 0.0f);
            }
        }
    }
}

TEST_CASE("the soul changes the logits, and ttt_chunk changes when it learns") {
    TempDir tmp;
    FixtureSpec spec;
    Model with_ttt(write_fixture_model(tmp.path / "a", spec));
    spec.inner_lr = 0.0f;
    Model without(write_fixture_model(tmp.path / "b", spec));
    spec.inner_lr = 0.5f;
    spec.chunk = 4;
    Model chunked(write_fixture_model(tmp.path / "c", spec));
    const std::vector<int32_t> tokens = random_tokens(12, spec.vocab, 3);
    auto a = all_logits(with_ttt.m, tokens), b = all_logits(without.m, tokens), c = all_logits(chunked.m, tokens);
    const size_t V = size_t(spec.vocab);
    // Token 0 predicts with a zero state in every model: identical.
    CHECK(max_abs_diff({a.begin(), a.begin() + long(V)}, {b.begin(), b.begin() + long(V)}) == 0.0f);
    // Later tokens see what the soul learned.
    CHECK(max_abs_diff(a, b) > 1e-3f);
    // With chunk 4 the first four tokens all see the zero state, like the TTT-off model.
    CHECK(max_abs_diff({c.begin(), c.begin() + long(4 * V)}, {b.begin(), b.begin() + long(4 * V)}) == 0.0f);
    CHECK(max_abs_diff({c.begin() + long(4 * V), c.end()}, {b.begin() + long(4 * V), b.end()}) > 1e-3f);
}

TEST_CASE("contexts on one model are independent; reset restores the fresh state") {
    TempDir tmp;
    FixtureSpec spec;
    Model model(write_fixture_model(tmp.path / "m", spec));
    const auto t1 = random_tokens(10, spec.vocab, 1), t2 = random_tokens(10, spec.vocab, 2);
    Context a(model.m), b(model.m);
    std::vector<float> la(size_t(spec.vocab)), lb(size_t(spec.vocab)), fresh(size_t(spec.vocab));
    REQUIRE(ttt_forward(a.c, t1.data(), t1.size(), la.data()) == TTT_OK);
    REQUIRE(ttt_forward(b.c, t2.data(), t2.size(), lb.data()) == TTT_OK);
    // b's history did not leak into a: a alone gives the same as a fresh context on t1.
    Context c(model.m);
    REQUIRE(ttt_forward(c.c, t1.data(), t1.size(), fresh.data()) == TTT_OK);
    CHECK(max_abs_diff(la, fresh) == 0.0f);

    uint64_t pos = 0, level = 0;
    REQUIRE(ttt_get_position(a.c, &pos) == TTT_OK);
    REQUIRE(ttt_get_soul_level(a.c, &level) == TTT_OK);
    CHECK(pos == 10);
    CHECK(level == 10);
    REQUIRE(ttt_reset(a.c) == TTT_OK);
    REQUIRE(ttt_get_position(a.c, &pos) == TTT_OK);
    CHECK(pos == 0);
    REQUIRE(ttt_forward(a.c, t1.data(), t1.size(), la.data()) == TTT_OK);
    CHECK(max_abs_diff(la, fresh) == 0.0f);
}

TEST_CASE("bad tokens are refused before the soul changes") {
    TempDir tmp;
    FixtureSpec spec;
    Model model(write_fixture_model(tmp.path / "m", spec));
    Context ctx(model.m);
    std::vector<int32_t> tokens = {1, 2, spec.vocab};
    CHECK(ttt_forward(ctx.c, tokens.data(), tokens.size(), nullptr) == TTT_ERR_INVALID_ARGUMENT);
    CHECK(std::string(ttt_last_error()).find("outside the vocabulary") != std::string::npos);
    tokens[2] = -1;
    CHECK(ttt_forward(ctx.c, tokens.data(), tokens.size(), nullptr) == TTT_ERR_INVALID_ARGUMENT);
    uint64_t pos = 99;
    ttt_get_position(ctx.c, &pos);
    CHECK(pos == 0);
    CHECK(ttt_forward(ctx.c, tokens.data(), 0, nullptr) == TTT_ERR_INVALID_ARGUMENT);
}

TEST_CASE("cancel: a cancel left over from earlier work never stops new work") {
    TempDir tmp;
    FixtureSpec spec;
    Model model(write_fixture_model(tmp.path / "m", spec));
    Context ctx(model.m);
    const auto tokens = random_tokens(8, spec.vocab, 4);
    REQUIRE(ttt_cancel(ctx.c) == TTT_OK);  // nothing running: the cancel finds no work
    CHECK(ttt_forward(ctx.c, tokens.data(), tokens.size(), nullptr) == TTT_OK);
    uint64_t pos = 0;
    ttt_get_position(ctx.c, &pos);
    CHECK(pos == 8);
}

TEST_CASE("cancel from another thread stops a long prefill at a token boundary") {
    TempDir tmp;
    FixtureSpec spec;
    spec.dim = 64;
    spec.vocab = 300;
    spec.layers = 2;
    Model model(write_fixture_model(tmp.path / "m", spec));
    Context ctx(model.m);
    const auto tokens = random_tokens(200000, spec.vocab, 5);
    std::atomic<bool> started{false};
    std::thread canceller([&] {
        while (!started.load()) std::this_thread::yield();
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        ttt_cancel(ctx.c);
    });
    started = true;
    ttt_status st = ttt_forward(ctx.c, tokens.data(), tokens.size(), nullptr);
    canceller.join();
    CHECK(st == TTT_ERR_ABORTED);
    uint64_t pos = 0;
    ttt_get_position(ctx.c, &pos);
    CHECK(pos > 0);
    CHECK(pos < tokens.size());
}

TEST_CASE("a context entered by a second thread answers TTT_ERR_BUSY") {
    TempDir tmp;
    FixtureSpec spec;
    spec.dim = 64;
    spec.vocab = 300;
    Model model(write_fixture_model(tmp.path / "m", spec));
    Context ctx(model.m);
    const auto tokens = random_tokens(100000, spec.vocab, 6);
    std::atomic<bool> running{false};
    ttt_status long_status = TTT_OK;
    std::thread worker([&] {
        running = true;
        long_status = ttt_forward(ctx.c, tokens.data(), tokens.size(), nullptr);
    });
    while (!running.load()) std::this_thread::yield();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    int32_t one = 1;
    ttt_status st = ttt_forward(ctx.c, &one, 1, nullptr);
    ttt_cancel(ctx.c);
    worker.join();
    CHECK(st == TTT_ERR_BUSY);
    CHECK(long_status == TTT_ERR_ABORTED);
}

TEST_CASE("models and contexts on many threads") {
    TempDir tmp;
    FixtureSpec spec;
    Model model(write_fixture_model(tmp.path / "m", spec));
    const auto tokens = random_tokens(30, spec.vocab, 8);
    const auto want = all_logits(model.m, tokens);
    std::vector<std::thread> threads;
    std::atomic<int> ok{0};
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&] {
            if (max_abs_diff(all_logits(model.m, tokens), want) == 0.0f) ++ok;
        });
    for (auto& th : threads) th.join();
    CHECK(ok.load() == 4);
}

namespace {
int32_t TTT_CALL abort_after(void* user) {
    int& left = *static_cast<int*>(user);
    return --left < 0 ? 1 : 0;
}
}  // namespace

TEST_CASE("an abort callback stops work at a pass boundary (n_batch tokens); position and level are readable while busy") {
    TempDir tmp;
    FixtureSpec spec;
    Model model(write_fixture_model(tmp.path / "m", spec));
    const auto tokens = random_tokens(20, spec.vocab, 9);
    for (int32_t n_batch : {1, 3}) {
        CAPTURE(n_batch);
        ttt_context_params params;
        ttt_context_params_init(&params, sizeof params);
        params.n_batch = n_batch;
        ttt_context* raw = nullptr;
        REQUIRE(ttt_create(model.m, &params, &raw) == TTT_OK);
        int left = 5;
        REQUIRE(ttt_set_abort_callback(raw, abort_after, &left) == TTT_OK);
        CHECK(ttt_forward(raw, tokens.data(), tokens.size(), nullptr) == TTT_ERR_ABORTED);
        uint64_t pos = 0;
        REQUIRE(ttt_get_position(raw, &pos) == TTT_OK);
        CHECK(pos == uint64_t(5 * n_batch));  // five passes ran, the sixth poll stopped the work
        REQUIRE(ttt_set_abort_callback(raw, nullptr, nullptr) == TTT_OK);
        CHECK(ttt_forward(raw, tokens.data(), tokens.size(), nullptr) == TTT_OK);
        ttt_destroy(raw);
    }
    // With the default pass (128 tokens) a 20-token prompt is one pass: the callback is polled once and says go.
    Context ctx(model.m);
    int left = 1;
    REQUIRE(ttt_set_abort_callback(ctx.c, abort_after, &left) == TTT_OK);
    CHECK(ttt_forward(ctx.c, tokens.data(), tokens.size(), nullptr) == TTT_OK);
    REQUIRE(ttt_set_abort_callback(ctx.c, nullptr, nullptr) == TTT_OK);

    // A second thread reads the counters while the first works.
    spec.dim = 64;
    spec.vocab = 300;
    Model big(write_fixture_model(tmp.path / "big", spec));
    Context busy(big.m);
    const auto many = random_tokens(50000, spec.vocab, 10);
    std::atomic<bool> done{false};
    std::thread worker([&] {
        ttt_forward(busy.c, many.data(), many.size(), nullptr);
        done = true;
    });
    uint64_t seen = 0, level = 0;
    bool read_while_busy = false;
    while (!done.load()) {
        REQUIRE(ttt_get_position(busy.c, &seen) == TTT_OK);
        REQUIRE(ttt_get_soul_level(busy.c, &level) == TTT_OK);
        if (seen > 0 && seen < many.size()) {
            read_while_busy = true;
            ttt_cancel(busy.c);
        }
    }
    worker.join();
    CHECK(read_while_busy);
}
