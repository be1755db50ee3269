// Souls: file and buffer round trips restore identical logits; the size-query protocol; another model's soul is
// refused; upstream V030 souls load; a failed save leaves the old file intact.
#include <doctest/doctest.h>

#include "io/safetensors.h"
#include "model_fixture.h"

using namespace ttt_test;

namespace {

// Run `first`, save, then check that continuing with `second` from the restored soul gives exactly what continuing
// the original context gives.
struct SoulScenario {
    Model& model;
    std::vector<int32_t> first, second;
    size_t V;
    std::vector<float> continue_logits(ttt_context* ctx) {
        std::vector<float> out(second.size() * V);
        REQUIRE(ttt_forward_all(ctx, second.data(), second.size(), out.data()) == TTT_OK);
        return out;
    }
};

}  // namespace

TEST_CASE("soul round trips through a file and a buffer, mid-chunk too") {
    TempDir tmp;
    for (int chunk : {1, 3}) {
        FixtureSpec spec;
        spec.chunk = chunk;
        Model model(write_fixture_model(tmp.path / ("m" + std::to_string(chunk)), spec));
        SoulScenario s{model, random_tokens(7, spec.vocab, 1), random_tokens(9, spec.vocab, 2), size_t(spec.vocab)};
        Context original(model.m);
        REQUIRE(ttt_forward(original.c, s.first.data(), s.first.size(), nullptr) == TTT_OK);
        const std::string path = (tmp.path / "npc.soul").string();
        REQUIRE(ttt_save_soul(original.c, path.c_str()) == TTT_OK);

        size_t size = 0;
        CHECK(ttt_save_soul_buffer(original.c, nullptr, 0, &size) == TTT_ERR_BUFFER_TOO_SMALL);
        REQUIRE(size > 0);
        std::vector<uint8_t> small(size - 1);
        size_t size2 = 0;
        CHECK(ttt_save_soul_buffer(original.c, small.data(), small.size(), &size2) == TTT_ERR_BUFFER_TOO_SMALL);
        CHECK(size2 == size);
        std::vector<uint8_t> buffer(size);
        REQUIRE(ttt_save_soul_buffer(original.c, buffer.data(), buffer.size(), &size2) == TTT_OK);
        CHECK(read_bytes(path) == buffer);  // the file and the buffer hold the same bytes

        const std::vector<float> want = s.continue_logits(original.c);

        Context from_file(model.m), from_buffer(model.m);
        REQUIRE(ttt_load_soul(from_file.c, path.c_str(), 0) == TTT_OK);
        REQUIRE(ttt_load_soul_buffer(from_buffer.c, buffer.data(), buffer.size(), 0) == TTT_OK);
        uint64_t level = 0, pos = 0;
        ttt_get_soul_level(from_file.c, &level);
        ttt_get_position(from_file.c, &pos);
        CHECK(level == 7);
        CHECK(pos == 7);
        CHECK(max_abs_diff(s.continue_logits(from_file.c), want) == 0.0f);
        CHECK(max_abs_diff(s.continue_logits(from_buffer.c), want) == 0.0f);

        // A fresh context differs (the soul mattered).
        Context fresh(model.m);
        CHECK(max_abs_diff(s.continue_logits(fresh.c), want) > 1e-4f);
    }
}

TEST_CASE("a soul of another model is refused; TTT_SOUL_FORCE applies it when the dimensions match") {
    TempDir tmp;
    FixtureSpec spec;
    Model a(write_fixture_model(tmp.path / "a", spec));
    spec.seed = 2;  // same dims, other weights
    Model b(write_fixture_model(tmp.path / "b", spec));
    spec.dim = 16;  // other dims
    Model c(write_fixture_model(tmp.path / "c", spec));
    Context ca(a.m), cb(b.m), cc(c.m);
    const auto t = random_tokens(5, spec.vocab, 3);
    REQUIRE(ttt_forward(ca.c, t.data(), t.size(), nullptr) == TTT_OK);
    const std::string path = (tmp.path / "a.soul").string();
    REQUIRE(ttt_save_soul(ca.c, path.c_str()) == TTT_OK);

    CHECK(ttt_load_soul(cb.c, path.c_str(), 0) == TTT_ERR_INCOMPATIBLE);
    CHECK(std::string(ttt_last_error()).find("another model") != std::string::npos);
    uint64_t level = 99;
    ttt_get_soul_level(cb.c, &level);
    CHECK(level == 0);  // unchanged on failure
    CHECK(ttt_load_soul(cb.c, path.c_str(), TTT_SOUL_FORCE) == TTT_OK);
    ttt_get_soul_level(cb.c, &level);
    CHECK(level == 5);

    CHECK(ttt_load_soul(cc.c, path.c_str(), TTT_SOUL_FORCE) == TTT_ERR_INCOMPATIBLE);
    CHECK(std::string(ttt_last_error()).find("hidden_dim") != std::string::npos);
    CHECK(ttt_load_soul(ca.c, path.c_str(), 0x80) == TTT_ERR_INVALID_ARGUMENT);
}

TEST_CASE("upstream V030 souls load (w_state [1,d,d] + meta_config)") {
    TempDir tmp;
    FixtureSpec spec;  // D = 12, d = 3, L = 3
    Model model(write_fixture_model(tmp.path / "m", spec));
    ttt::SafetensorsWriter w;
    std::vector<float> state(9);
    for (size_t i = 0; i < 9; ++i) state[i] = 0.1f * float(i);
    for (int l = 0; l < 3; ++l) w.add_f32("w_state." + std::to_string(l), {1, 3, 3}, state);
    const uint32_t meta[4] = {12, 3, 0, 1234};
    w.add("meta_config", ttt::DType::U32, {4}, meta, sizeof meta);
    const auto bytes = w.finish();
    Context ctx(model.m);
    REQUIRE(ttt_load_soul_buffer(ctx.c, bytes.data(), bytes.size(), 0) == TTT_OK);
    uint64_t level = 0;
    ttt_get_soul_level(ctx.c, &level);
    CHECK(level == 1234);
    // The loaded state is in effect: the logits differ from a fresh context's at the first token.
    Context fresh(model.m);
    std::vector<float> a(size_t(spec.vocab)), b(size_t(spec.vocab));
    const int32_t tok = 3;
    REQUIRE(ttt_forward(ctx.c, &tok, 1, a.data()) == TTT_OK);
    REQUIRE(ttt_forward(fresh.c, &tok, 1, b.data()) == TTT_OK);
    CHECK(max_abs_diff(a, b) > 1e-4f);

    // Our soul, read back by an upstream-style reader, has w_state.{i} of shape [1, d, d] and meta_config.
    size_t size = 0;
    ttt_save_soul_buffer(ctx.c, nullptr, 0, &size);
    std::vector<uint8_t> ours(size);
    REQUIRE(ttt_save_soul_buffer(ctx.c, ours.data(), ours.size(), &size) == TTT_OK);
    ttt::SafetensorsView st = ttt::parse_safetensors(ours.data(), ours.size(), "soul");
    REQUIRE(st.find("w_state.0") != nullptr);
    CHECK(st.find("w_state.0")->shape == std::vector<int64_t>{1, 3, 3});
    CHECK(st.find("meta_config")->n_elements == 4);
}

TEST_CASE("a failed soul save leaves the existing file intact and no temp file behind") {
    TempDir tmp;
    FixtureSpec spec;
    Model model(write_fixture_model(tmp.path / "m", spec));
    Context ctx(model.m);
    const std::string good = (tmp.path / "good.soul").string();
    REQUIRE(ttt_save_soul(ctx.c, good.c_str()) == TTT_OK);
    const auto before = read_bytes(good);
    // Saving onto a path that is a directory fails at the rename; the directory and its content survive.
    std::filesystem::create_directories(tmp.path / "taken.soul");
    write_bytes(tmp.path / "taken.soul" / "keep", {1, 2, 3});
    const int32_t tok = 1;
    REQUIRE(ttt_forward(ctx.c, &tok, 1, nullptr) == TTT_OK);
    CHECK(ttt_save_soul(ctx.c, (tmp.path / "taken.soul").string().c_str()) == TTT_ERR_IO);
    CHECK(std::string(ttt_last_error()).find("taken.soul") != std::string::npos);
    CHECK(read_bytes(tmp.path / "taken.soul" / "keep") == std::vector<uint8_t>{1, 2, 3});
    // A save into a missing directory fails cleanly too.
    CHECK(ttt_save_soul(ctx.c, (tmp.path / "missing" / "x.soul").string().c_str()) == TTT_ERR_IO);
    size_t files = 0;
    for (auto& e : std::filesystem::directory_iterator(tmp.path)) files += e.path().string().find(".tmp.") != std::string::npos;
    CHECK(files == 0);
    CHECK(read_bytes(good) == before);
}

TEST_CASE("corrupted soul bytes are refused and leave the soul unchanged") {
    TempDir tmp;
    FixtureSpec spec;
    Model model(write_fixture_model(tmp.path / "m", spec));
    Context ctx(model.m);
    const auto t = random_tokens(4, spec.vocab, 1);
    REQUIRE(ttt_forward(ctx.c, t.data(), t.size(), nullptr) == TTT_OK);
    size_t size = 0;
    ttt_save_soul_buffer(ctx.c, nullptr, 0, &size);
    std::vector<uint8_t> bytes(size);
    REQUIRE(ttt_save_soul_buffer(ctx.c, bytes.data(), bytes.size(), &size) == TTT_OK);
    Context other(model.m);
    // Every truncation fails with a format error.
    for (size_t cut = 0; cut < bytes.size(); cut += 7)
        CHECK(ttt_load_soul_buffer(other.c, bytes.data(), cut, 0) == TTT_ERR_FORMAT);
    // A flipped bit in the state is caught by the checksum.
    for (size_t at : {bytes.size() - 5, bytes.size() - 40, bytes.size() / 2 + 3}) {
        std::vector<uint8_t> flipped = bytes;
        flipped[at] ^= 0x10;
        CAPTURE(at);
        CHECK(ttt_load_soul_buffer(other.c, flipped.data(), flipped.size(), 0) == TTT_ERR_FORMAT);
    }
    uint64_t level = 99;
    ttt_get_soul_level(other.c, &level);
    CHECK(level == 0);
}
