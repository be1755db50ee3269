// ttt_learn and ttt_sleep on an attention model, through the C ABI. Such a model has no fast weights: learning means
// reading the text into the context (its KV cache), as a prompt is read, without generating. Text that does not fit
// the room left in the cache is refused whole, with the reason, before anything changes; what was learned saves and
// resumes with the soul (the KV cache and position).
#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <vector>

#include "attention_fixture.h"
#include "bit_ttt.h"

namespace {

struct Ctx {
    ttt_context* c = nullptr;
    Ctx(ttt_model* m, int32_t n_ctx) {
        ttt_context_params p;
        ttt_context_params_init(&p, sizeof p);
        p.n_threads = 2;
        p.n_ctx = n_ctx;
        REQUIRE(ttt_create(m, &p, &c) == TTT_OK);
    }
    ~Ctx() { ttt_destroy(c); }
    uint64_t position() const {
        uint64_t p = 0;
        ttt_get_position(c, &p);
        return p;
    }
};

std::vector<int32_t> tokenize(ttt_model* m, const std::string& text) {
    std::vector<int32_t> ids(4096);
    size_t n = 0;
    REQUIRE(ttt_tokenize(m, text.data(), text.size(), 0, ids.data(), ids.size(), &n) == TTT_OK);
    ids.resize(n);
    return ids;
}

}  // namespace

TEST_CASE("attention models: ttt_learn reads text into the context, ttt_sleep replays memories into it, souls keep it") {
    ttt_test::TempDir tmp;
    const std::string dir = ttt_test::write_text_attention_model(tmp.path / "llama");
    ttt_model* model = nullptr;
    REQUIRE(ttt_load_model(dir.c_str(), nullptr, &model) == TTT_OK);
    const int32_t V = 1000;
    const std::string text = "The keeper of the lighthouse is named Orla.";
    const std::vector<int32_t> ids = tokenize(model, text);
    REQUIRE(ids.size() > 3);
    const int32_t next = 42;

    SUBCASE("learning is reading: the next token sees what the text put in the cache, bit for bit") {
        Ctx learner(model, 64);
        size_t n = 0;
        REQUIRE(ttt_learn(learner.c, text.data(), text.size(), 0, &n) == TTT_OK);
        CHECK(n == ids.size());
        CHECK(learner.position() == ids.size());
        std::vector<float> after_learn(V);
        REQUIRE(ttt_forward(learner.c, &next, 1, after_learn.data()) == TTT_OK);

        Ctx reader(model, 64);
        std::vector<int32_t> all = ids;
        all.push_back(next);
        std::vector<float> every(all.size() * V);
        REQUIRE(ttt_forward_all(reader.c, all.data(), all.size(), every.data()) == TTT_OK);
        CHECK(std::memcmp(after_learn.data(), every.data() + (all.size() - 1) * V, V * 4) == 0);

        // Saved after learning, resumed in another context: the same next-token logits.
        const std::string soul = (tmp.path / "orla.soul").string();
        Ctx fresh(model, 64);
        Ctx learned_again(model, 64);
        REQUIRE(ttt_learn(learned_again.c, text.data(), text.size(), 0, nullptr) == TTT_OK);
        REQUIRE(ttt_save_soul(learned_again.c, soul.c_str()) == TTT_OK);
        REQUIRE(ttt_load_soul(fresh.c, soul.c_str(), 0) == TTT_OK);
        CHECK(fresh.position() == ids.size());
        std::vector<float> resumed(V);
        REQUIRE(ttt_forward(fresh.c, &next, 1, resumed.data()) == TTT_OK);
        CHECK(resumed == after_learn);
    }

    SUBCASE("text that does not fit the context is refused whole, with the reason, and nothing changes") {
        Ctx small(model, int32_t(ids.size() + 2));
        REQUIRE(ttt_learn(small.c, text.data(), text.size(), 0, nullptr) == TTT_OK);
        size_t n = 99;
        CHECK(ttt_learn(small.c, text.data(), text.size(), 0, &n) == TTT_ERR_INVALID_STATE);
        const std::string why = ttt_last_error();
        CHECK(why.find("KV") != std::string::npos);
        CHECK(why.find("n_ctx") != std::string::npos);
        CHECK(n == 0);
        CHECK(small.position() == ids.size());
        // A prompt likewise: generation does not begin on half of it.
        CHECK(ttt_generate_begin(small.c, text.data(), text.size(), nullptr) == TTT_ERR_INVALID_STATE);
        CHECK(std::string(ttt_last_error()).find("prompt") != std::string::npos);
        CHECK(small.position() == ids.size());
        CHECK(ttt_reset(small.c) == TTT_OK);
        CHECK(ttt_learn(small.c, text.data(), text.size(), 0, nullptr) == TTT_OK);  // room again after a reset
    }

    SUBCASE("sleep replays the memories into the context, autosaves it, and refuses memories that do not fit") {
        const std::string memories = (tmp.path / "memories").string();
        std::filesystem::create_directories(memories);
        REQUIRE(ttt_remember(memories.c_str(), "user", "Who keeps the light?", 20) == TTT_OK);
        REQUIRE(ttt_remember(memories.c_str(), "assistant", text.data(), text.size()) == TTT_OK);
        const std::string autosave = (tmp.path / "slept.soul").string();
        ttt_sleep_params sp;
        ttt_sleep_params_init(&sp, sizeof sp);
        sp.memories_dir = memories.c_str();
        sp.autosave_path = autosave.c_str();
        Ctx sleeper(model, 128);
        size_t n = 0;
        REQUIRE(ttt_sleep(sleeper.c, &sp, &n) == TTT_OK);
        CHECK(n > ids.size());
        CHECK(sleeper.position() == n);
        Ctx woken(model, 128);
        REQUIRE(ttt_load_soul(woken.c, autosave.c_str(), 0) == TTT_OK);
        CHECK(woken.position() == n);
        std::vector<float> a(V), b(V);
        REQUIRE(ttt_forward(sleeper.c, &next, 1, a.data()) == TTT_OK);
        REQUIRE(ttt_forward(woken.c, &next, 1, b.data()) == TTT_OK);
        CHECK(a == b);

        Ctx tiny(model, int32_t(n - 1));
        sp.autosave_path = nullptr;
        size_t m = 99;
        CHECK(ttt_sleep(tiny.c, &sp, &m) == TTT_ERR_INVALID_STATE);
        CHECK(std::string(ttt_last_error()).find("memories") != std::string::npos);
        CHECK(m == 0);
        CHECK(tiny.position() == 0);
    }
    ttt_model_free(model);
}
