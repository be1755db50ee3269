// The C ABI contract: NULL for every pointer argument returns TTT_ERR_NULL_POINTER (1); the exception firewall
// turns any internal exception into TTT_ERR_PANIC (99) with a message; params structs are sized; versions; logging;
// progress callbacks; the legacy single-layer API.
#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <vector>

#include "api/guard.h"
#include "io/safetensors.h"
#include "model_fixture.h"

using namespace ttt_test;

TEST_CASE("NULL passed to every pointer argument of every function returns TTT_ERR_NULL_POINTER") {
    TempDir tmp;
    FixtureSpec spec;
    const std::string dir = write_fixture_model(tmp.path / "m", spec);
    Model model(dir);
    REQUIRE(model.m);
    Context ctx(model.m);
    REQUIRE(ctx.c);
    ttt_model* out_model = nullptr;
    ttt_context* out_ctx = nullptr;
    ttt_layer* layer = nullptr;
    REQUIRE(ttt_layer_create(8, 0.1f, &layer) == TTT_OK);
    ttt_model_info info;
    info.struct_size = sizeof info;
    int32_t tok = 1;
    float logits[64], x[8] = {1, 2, 3, 4, 5, 6, 7, 8}, y[8];
    uint64_t u64 = 0;
    size_t size = 0;
    const ttt_model* cm = nullptr;
    uint8_t byte = 0;
    const char* path = dir.c_str();

    const std::vector<std::pair<const char*, ttt_status>> calls = {
        {"ttt_model_params_init", ttt_model_params_init(nullptr, sizeof(ttt_model_params))},
        {"ttt_context_params_init", ttt_context_params_init(nullptr, sizeof(ttt_context_params))},
        {"ttt_load_model path", ttt_load_model(nullptr, nullptr, &out_model)},
        {"ttt_load_model out", ttt_load_model(path, nullptr, nullptr)},
        {"ttt_load_bitt path", ttt_load_bitt(nullptr, nullptr, &out_model)},
        {"ttt_load_bitt out", ttt_load_bitt(path, nullptr, nullptr)},
        {"ttt_load_bitt_buffer data", ttt_load_bitt_buffer(nullptr, 10, nullptr, &out_model)},
        {"ttt_load_bitt_buffer out", ttt_load_bitt_buffer(&byte, 1, nullptr, nullptr)},
        {"ttt_model_get_info model", ttt_model_get_info(nullptr, &info)},
        {"ttt_model_get_info info", ttt_model_get_info(model.m, nullptr)},
        {"ttt_create model", ttt_create(nullptr, nullptr, &out_ctx)},
        {"ttt_create out", ttt_create(model.m, nullptr, nullptr)},
        {"ttt_forward ctx", ttt_forward(nullptr, &tok, 1, logits)},
        {"ttt_forward tokens", ttt_forward(ctx.c, nullptr, 1, logits)},
        {"ttt_forward_all ctx", ttt_forward_all(nullptr, &tok, 1, logits)},
        {"ttt_forward_all tokens", ttt_forward_all(ctx.c, nullptr, 1, logits)},
        {"ttt_forward_all logits", ttt_forward_all(ctx.c, &tok, 1, nullptr)},
        {"ttt_reset", ttt_reset(nullptr)},
        {"ttt_cancel", ttt_cancel(nullptr)},
        {"ttt_get_position ctx", ttt_get_position(nullptr, &u64)},
        {"ttt_get_position out", ttt_get_position(ctx.c, nullptr)},
        {"ttt_get_soul_level ctx", ttt_get_soul_level(nullptr, &u64)},
        {"ttt_get_soul_level out", ttt_get_soul_level(ctx.c, nullptr)},
        {"ttt_get_model ctx", ttt_get_model(nullptr, &cm)},
        {"ttt_get_model out", ttt_get_model(ctx.c, nullptr)},
        {"ttt_save_soul ctx", ttt_save_soul(nullptr, "x.soul")},
        {"ttt_save_soul path", ttt_save_soul(ctx.c, nullptr)},
        {"ttt_load_soul ctx", ttt_load_soul(nullptr, "x.soul", 0)},
        {"ttt_load_soul path", ttt_load_soul(ctx.c, nullptr, 0)},
        {"ttt_save_soul_buffer ctx", ttt_save_soul_buffer(nullptr, &byte, 1, &size)},
        {"ttt_save_soul_buffer out_size", ttt_save_soul_buffer(ctx.c, &byte, 1, nullptr)},
        {"ttt_load_soul_buffer ctx", ttt_load_soul_buffer(nullptr, &byte, 1, 0)},
        {"ttt_load_soul_buffer data", ttt_load_soul_buffer(ctx.c, nullptr, 1, 0)},
        {"ttt_layer_create out", ttt_layer_create(8, 0.1f, nullptr)},
        {"ttt_layer_create_seeded out", ttt_layer_create_seeded(8, 0.1f, 1, nullptr)},
        {"ttt_layer_forward layer", ttt_layer_forward(nullptr, x, 1, y)},
        {"ttt_layer_forward input", ttt_layer_forward(layer, nullptr, 1, y)},
        {"ttt_layer_forward output", ttt_layer_forward(layer, x, 1, nullptr)},
    };
    for (const auto& call : calls) {  // not a structured binding: CAPTURE's lambda cannot name one before C++20 (clang)
        CAPTURE(call.first);
        CHECK(call.second == TTT_ERR_NULL_POINTER);
    }
    CHECK(out_model == nullptr);
    CHECK(out_ctx == nullptr);
    // Free functions accept NULL.
    ttt_model_free(nullptr);
    ttt_destroy(nullptr);
    ttt_layer_destroy(nullptr);
    ttt_layer_destroy(layer);
    // The message names the argument.
    CHECK(ttt_get_position(ctx.c, nullptr) == TTT_ERR_NULL_POINTER);
    CHECK(std::string(ttt_last_error()).find("out_position") != std::string::npos);
}

TEST_CASE("the exception firewall turns any internal exception into TTT_ERR_PANIC with a message") {
    TempDir tmp;
    FixtureSpec spec;
    Model model(write_fixture_model(tmp.path / "m", spec));
    ttt_model_info info;
    info.struct_size = sizeof info;
    ttt::inject_fault_for_testing(1);  // std::runtime_error inside the next entry point
    CHECK(ttt_model_get_info(model.m, &info) == TTT_ERR_PANIC);
    CHECK(std::string(ttt_last_error()).find("ttt_model_get_info: internal error: injected fault") != std::string::npos);
    ttt::inject_fault_for_testing(2);  // an exception of no std type
    Context ctx(model.m);  // ttt_create catches it
    CHECK(ctx.c == nullptr);
    CHECK(std::string(ttt_last_error()).find("unknown exception") != std::string::npos);
    // The next call works again and clears the message.
    CHECK(ttt_model_get_info(model.m, &info) == TTT_OK);
    CHECK(std::string(ttt_last_error()).empty());
}

TEST_CASE("status strings and versions") {
    CHECK(ttt_abi_version() == TTT_ABI_VERSION);
    CHECK(std::string(ttt_version_string()) == TTT_VERSION_STRING);
    for (ttt_status s : {0, 1, 2, 10, 11, 12, 13, 14, 50, 51, 52, 53, 54, 55, 99}) {
        CAPTURE(s);
        CHECK(std::string(ttt_status_string(s)).rfind("TTT_", 0) == 0);
    }
    CHECK(std::string(ttt_status_string(12345)) == "unknown status code");
}

TEST_CASE("params structs are sized: an older, shorter struct keeps defaults for what it lacks") {
    ttt_model_params p;
    std::memset(&p, 0xab, sizeof p);
    REQUIRE(ttt_model_params_init(&p, sizeof p) == TTT_OK);
    CHECK(p.struct_size == sizeof p);
    CHECK(p.backend == TTT_BACKEND_CPU);
    CHECK(p.verify_checksum == 1);
    CHECK((p.progress_callback == nullptr));
    // A caller compiled when the struct ended after `backend`: only those bytes are written.
    ttt_model_params old;
    std::memset(&old, 0xab, sizeof old);
    const uint32_t old_size = offsetof(ttt_model_params, n_gpu_layers);
    REQUIRE(ttt_model_params_init(&old, old_size) == TTT_OK);
    CHECK(old.struct_size == old_size);
    uint8_t tail[sizeof old - offsetof(ttt_model_params, n_gpu_layers)];
    std::memcpy(tail, reinterpret_cast<uint8_t*>(&old) + old_size, sizeof tail);
    for (uint8_t b : tail) CHECK(b == 0xab);

    TempDir tmp;
    FixtureSpec spec;
    const std::string dir = write_fixture_model(tmp.path / "m", spec);
    ttt_model* m = nullptr;
    CHECK(ttt_load_model(dir.c_str(), &old, &m) == TTT_OK);  // the library fills the rest with defaults
    ttt_context_params cp;
    cp.struct_size = 0;
    ttt_context* c = nullptr;
    CHECK(ttt_create(m, &cp, &c) == TTT_ERR_INVALID_ARGUMENT);
    REQUIRE(ttt_context_params_init(&cp, sizeof cp) == TTT_OK);
    cp.backend = TTT_BACKEND_CUDA;
    CHECK(ttt_create(m, &cp, &c) == TTT_ERR_UNSUPPORTED);
    cp.backend = 7;
    CHECK(ttt_create(m, &cp, &c) == TTT_ERR_INVALID_ARGUMENT);
    CHECK(c == nullptr);
    ttt_model_free(m);
    ttt_model_info info;
    info.struct_size = 0;
    Model model(dir);
    CHECK(ttt_model_get_info(model.m, &info) == TTT_ERR_INVALID_ARGUMENT);
}

TEST_CASE("a context keeps its model alive after ttt_model_free") {
    TempDir tmp;
    FixtureSpec spec;
    const std::string dir = write_fixture_model(tmp.path / "m", spec);
    ttt_model* m = nullptr;
    REQUIRE(ttt_load_model(dir.c_str(), nullptr, &m) == TTT_OK);
    ttt_context* c = nullptr;
    REQUIRE(ttt_create(m, nullptr, &c) == TTT_OK);
    ttt_model_free(m);
    int32_t tok = 2;
    std::vector<float> logits(size_t(spec.vocab));
    CHECK(ttt_forward(c, &tok, 1, logits.data()) == TTT_OK);
    ttt_destroy(c);
}

namespace {
struct LogSink {
    std::vector<std::string> messages;
};
void TTT_CALL collect_log(int32_t, const char* message, void* user) {
    static_cast<LogSink*>(user)->messages.emplace_back(message);
}
int32_t TTT_CALL stop_at_half(float progress, void* user) {
    *static_cast<float*>(user) = progress;
    return progress < 0.5f ? 1 : 0;
}
}  // namespace

TEST_CASE("log callback receives warnings; a progress callback can abort a load") {
    TempDir tmp;
    FixtureSpec spec;
    const std::string dir = write_fixture_model(tmp.path / "m", spec);
    // An extra tensor in the file is ignored with a warning that names it.
    auto bytes = read_bytes(tmp.path / "m" / "model.safetensors");
    ttt::SafetensorsView st = ttt::parse_safetensors(bytes.data(), bytes.size(), "x");
    ttt::SafetensorsWriter w;
    for (const auto& t : st.tensors) w.add(t.name, t.dtype, t.shape, t.data, t.n_bytes);
    const float extra = 1.0f;
    w.add("lm_head.bias", ttt::DType::F32, {1}, &extra, 4);
    write_bytes(tmp.path / "m" / "model.safetensors", w.finish());

    LogSink sink;
    ttt_log_set(collect_log, TTT_LOG_DEBUG, &sink);
    Model model(dir);
    ttt_log_set(nullptr, 0, nullptr);
    CHECK(model.m != nullptr);
    bool found = false;
    for (const auto& m : sink.messages) found |= m.find("lm_head.bias") != std::string::npos;
    CHECK(found);

    ttt_model_params p;
    ttt_model_params_init(&p, sizeof p);
    float last = -1;
    p.progress_callback = stop_at_half;
    p.progress_user_data = &last;
    ttt_model* m = nullptr;
    CHECK(ttt_load_model(dir.c_str(), &p, &m) == TTT_ERR_ABORTED);
    CHECK(m == nullptr);
    CHECK(last >= 0.5f);
}

TEST_CASE("legacy single-layer API: upstream semantics, seeded, checked") {
    ttt_layer* a = nullptr;
    ttt_layer* b = nullptr;
    REQUIRE(ttt_layer_create_seeded(64, 0.005f, 9, &a) == TTT_OK);
    REQUIRE(ttt_layer_create_seeded(64, 0.005f, 9, &b) == TTT_OK);
    // upstream's release benchmark: the sequence 0,1,2,0,1,2 of three random vectors; ‖y−x‖ = 0 at t = 0, > 0 later.
    std::mt19937 rng(1);
    std::vector<float> base = random_floats(rng, 3 * 64, 0, 1), x(6 * 64), ya(6 * 64), yb(6 * 64);
    for (size_t t = 0; t < 6; ++t) std::copy_n(base.begin() + long((t % 3) * 64), 64, x.begin() + long(t * 64));
    REQUIRE(ttt_layer_forward(a, x.data(), 6, ya.data()) == TTT_OK);
    REQUIRE(ttt_layer_forward(b, x.data(), 6, yb.data()) == TTT_OK);
    CHECK(ya == yb);  // deterministic
    for (size_t i = 0; i < 64; ++i) CHECK(ya[i] == x[i]);
    double diff = 0;
    for (size_t i = 64; i < 6 * 64; ++i) diff += std::fabs(ya[i] - x[i]);
    CHECK(diff > 0);
    // A non-finite input is refused with its index, before anything runs.
    for (float bad : {std::nanf(""), INFINITY, -INFINITY}) {
        std::vector<float> xb = x;
        xb[70] = bad;
        CHECK(ttt_layer_forward(a, xb.data(), 6, yb.data()) == TTT_ERR_INVALID_ARGUMENT);
        CHECK(std::string(ttt_last_error()).find("input[70] is not a finite number") != std::string::npos);
    }
    // Each call starts from a zero state, as upstream: the same input gives the same output twice.
    REQUIRE(ttt_layer_forward(a, x.data(), 6, yb.data()) == TTT_OK);
    CHECK(ya == yb);
    ttt_layer* bad = nullptr;
    CHECK(ttt_layer_create(3, 0.1f, &bad) == TTT_ERR_INVALID_ARGUMENT);
    CHECK(ttt_layer_create(64, std::nanf(""), &bad) == TTT_ERR_INVALID_ARGUMENT);
    CHECK(ttt_layer_forward(a, x.data(), SIZE_MAX / 8, yb.data()) == TTT_ERR_DIMENSION_MISMATCH);
    ttt_layer_destroy(a);
    ttt_layer_destroy(b);
}
