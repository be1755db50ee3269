// ttt_context_params.activations: TTT_ACTIVATIONS_INT8 runs a float-activation model (act_bits 0) on int8
// activations. It must compute exactly the function of the same weights with act_bits 8 (the same quantisation
// points, the same kernels), change nothing for a model that is int8 already, leave float models untouched by
// default, and refuse values it does not know. The measured quality cost on the demo model is in
// docs/performance.md ("Int8 activations for a float model").
#include <doctest/doctest.h>

#include <cstddef>
#include <cstdlib>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <vector>

#include "bit_ttt.h"
#include "model_fixture.h"
#include "test_util.h"

namespace {

std::vector<float> logits_with(ttt_model* m, int32_t activations, const std::vector<int32_t>& tokens, int32_t threads) {
    ttt_context_params p;
    REQUIRE(ttt_context_params_init(&p, sizeof p) == TTT_OK);
    p.n_threads = threads;
    p.activations = activations;
    ttt_context* ctx = nullptr;
    REQUIRE(ttt_create(m, &p, &ctx) == TTT_OK);
    ttt_model_info info;
    info.struct_size = sizeof info;
    REQUIRE(ttt_model_get_info(m, &info) == TTT_OK);
    std::vector<float> out(tokens.size() * size_t(info.vocab_size));
    REQUIRE(ttt_forward_all(ctx, tokens.data(), tokens.size(), out.data()) == TTT_OK);
    ttt_destroy(ctx);
    return out;
}

ttt_model* load(const std::string& dir) {
    ttt_model* m = nullptr;
    REQUIRE(ttt_load_model(dir.c_str(), nullptr, &m) == TTT_OK);
    return m;
}

}  // namespace

TEST_CASE("ttt_context_params.activations: int8 on a float model computes the act_bits 8 function; bad values refused") {
    ttt_test::TempDir tmp;
    ttt_test::FixtureSpec spec;
    spec.vocab = 41, spec.dim = 32, spec.layers = 2, spec.scale = true, spec.seed = 9;
    ttt_model* float_model = load(ttt_test::write_fixture_model(tmp.path / "f32", spec));
    spec.act_bits = 8;
    ttt_model* int8_model = load(ttt_test::write_fixture_model(tmp.path / "i8", spec));  // the same weights
    const std::vector<int32_t> tokens = ttt_test::random_tokens(37, spec.vocab, 4);
    const size_t bytes = tokens.size() * size_t(spec.vocab) * sizeof(float);

    const std::vector<float> want = logits_with(int8_model, TTT_ACTIVATIONS_MODEL, tokens, 1);
    for (int32_t threads : {1, 2}) {
        const std::vector<float> got = logits_with(float_model, TTT_ACTIVATIONS_INT8, tokens, threads);
        CHECK(std::memcmp(got.data(), want.data(), bytes) == 0);
    }
    // An int8 model is int8 either way.
    CHECK(std::memcmp(logits_with(int8_model, TTT_ACTIVATIONS_INT8, tokens, 1).data(), want.data(), bytes) == 0);
    // The float model's own activations are another function, and the default unless TTT_ACTIVATIONS says int8.
    const std::vector<float> own = logits_with(float_model, TTT_ACTIVATIONS_MODEL, tokens, 1);
    CHECK(std::memcmp(own.data(), want.data(), bytes) != 0);
    if (!std::getenv("TTT_ACTIVATIONS"))
        CHECK(std::memcmp(logits_with(float_model, TTT_ACTIVATIONS_DEFAULT, tokens, 1).data(), own.data(), bytes) == 0);

    // Souls do not depend on the choice: a soul made on int8 activations loads into a context on the model's own.
    {
        ttt_context_params p8, pm;
        REQUIRE(ttt_context_params_init(&p8, sizeof p8) == TTT_OK);
        REQUIRE(ttt_context_params_init(&pm, sizeof pm) == TTT_OK);
        p8.activations = TTT_ACTIVATIONS_INT8, pm.activations = TTT_ACTIVATIONS_MODEL;
        ttt_context *a = nullptr, *b = nullptr;
        REQUIRE(ttt_create(float_model, &p8, &a) == TTT_OK);
        REQUIRE(ttt_create(float_model, &pm, &b) == TTT_OK);
        REQUIRE(ttt_forward(a, tokens.data(), tokens.size(), nullptr) == TTT_OK);
        size_t size = 0;
        CHECK(ttt_save_soul_buffer(a, nullptr, 0, &size) == TTT_ERR_BUFFER_TOO_SMALL);
        std::vector<uint8_t> soul(size);
        REQUIRE(ttt_save_soul_buffer(a, soul.data(), soul.size(), &size) == TTT_OK);
        CHECK(ttt_load_soul_buffer(b, soul.data(), size, 0) == TTT_OK);
        ttt_destroy(a);
        ttt_destroy(b);
    }

    ttt_context_params bad;
    REQUIRE(ttt_context_params_init(&bad, sizeof bad) == TTT_OK);
    CHECK(bad.activations == TTT_ACTIVATIONS_DEFAULT);
    for (int32_t v : {-1, 3}) {
        bad.activations = v;
        ttt_context* ctx = nullptr;
        CHECK(ttt_create(float_model, &bad, &ctx) == TTT_ERR_INVALID_ARGUMENT);
        CHECK(ctx == nullptr);
    }
    // A caller compiled before the field existed (a shorter struct) gets the default.
    ttt_context_params old;
    REQUIRE(ttt_context_params_init(&old, uint32_t(offsetof(ttt_context_params, activations))) == TTT_OK);
    ttt_context* ctx = nullptr;
    CHECK(ttt_create(float_model, &old, &ctx) == TTT_OK);
    ttt_destroy(ctx);
    ttt_model_free(float_model);
    ttt_model_free(int8_model);
}
