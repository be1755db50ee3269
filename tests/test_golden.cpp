// Golden tests: the C++ forward pass against the independent numpy implementation of DESIGN §2
// (tests/reference/bitllama_ref.py, float64). Each case in tests/data/golden/index.json holds a model, tokens, the
// logits at every position and the final soul. Tolerance (tests/data/golden/README.md):
//   logits: max |Δ| <= 1e-3 · max(1, max|golden|); soul state and pending sums: max |Δ| <= 1e-4 · max(1, max|golden|).
// The goldens keep every ternary and int8 rounding at least 1e-3 of a step from its boundary, so float32 cannot flip one.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "io/json.h"
#include "io/safetensors.h"
#include "model_fixture.h"

using namespace ttt_test;

namespace {

std::vector<float> tensor(const ttt::SafetensorsView& st, const std::string& name) {
    const ttt::TensorView* t = st.find(name);
    REQUIRE_MESSAGE(t != nullptr, name);
    return ttt::tensor_to_f32(*t, name);
}

float max_abs(const std::vector<float>& v) {
    float m = 0;
    for (float x : v) m = std::max(m, std::fabs(x));
    return m;
}

}  // namespace

TEST_CASE("golden logits and souls from the independent numpy reference") {
    const auto dir = test_data_dir() / "golden";
    const auto index_bytes = read_bytes(dir / "index.json");
    REQUIRE(!index_bytes.empty());
    auto doc = ttt::parse_json(std::string_view(reinterpret_cast<const char*>(index_bytes.data()), index_bytes.size()), "index.json");
    simdjson::dom::array cases;
    REQUIRE(!doc->root["cases"].get_array().get(cases));
    int n_cases = 0;
    for (auto c : cases) {
        std::string_view name_sv;
        REQUIRE(!c["name"].get_string().get(name_sv));
        const std::string name(name_sv);
        CAPTURE(name);
        const auto case_dir = dir / name;
        Model model(case_dir.string());
        REQUIRE_MESSAGE(model.m != nullptr, ttt_last_error());

        const auto golden_bytes = read_bytes(case_dir / "golden.safetensors");
        ttt::SafetensorsView golden = ttt::parse_safetensors(golden_bytes.data(), golden_bytes.size(), "golden");
        const ttt::TensorView* tok = golden.find("tokens");
        REQUIRE(tok != nullptr);
        REQUIRE(tok->dtype == ttt::DType::I32);
        std::vector<int32_t> tokens(tok->n_elements);
        std::memcpy(tokens.data(), tok->data, tok->n_bytes);
        const std::vector<float> want = tensor(golden, "logits");

        Context ctx(model.m);
        std::vector<float> got(want.size());
        REQUIRE(ttt_forward_all(ctx.c, tokens.data(), tokens.size(), got.data()) == TTT_OK);
        const float logit_tol = 1e-3f * std::max(1.0f, max_abs(want));
        CHECK(max_abs_diff(got, want) <= logit_tol);

        // The soul after the sequence: our soul bytes hold w_state.{i} [1, d, d] and pending.{i} [d, d] (delta
        // kind: w_state.{i} [H, dh, dh] and mix_tail.{i} [3, 2d]).
        size_t size = 0;
        ttt_save_soul_buffer(ctx.c, nullptr, 0, &size);
        std::vector<uint8_t> soul(size);
        REQUIRE(ttt_save_soul_buffer(ctx.c, soul.data(), soul.size(), &size) == TTT_OK);
        ttt::SafetensorsView ours = ttt::parse_safetensors(soul.data(), soul.size(), "soul");
        ttt_model_info info;
        info.struct_size = sizeof info;
        ttt_model_get_info(model.m, &info);
        // The model info names the layer kind and head count (the golden soul's w_state is [H, dh, dh]).
        const bool delta = golden.find("mix_tail.0") != nullptr;
        CHECK(info.ttt_kind == (delta ? TTT_KIND_DELTA : TTT_KIND_UPSTREAM));
        CHECK(info.ttt_heads == (delta ? int32_t(golden.find("w_state.0")->shape[0]) : 1));
        for (int l = 0; l < info.num_layers; ++l) {
            // The delta kind (docs/memory.md) keeps its token-mixing tail where the upstream kind has pending sums.
            const char* second = golden.find("mix_tail." + std::to_string(l)) ? "mix_tail." : "pending.";
            for (const char* kind : {"w_state.", second}) {
                const std::string t = kind + std::to_string(l);
                CAPTURE(t);
                const auto w_want = tensor(golden, t);
                CHECK(max_abs_diff(tensor(ours, t), w_want) <= 1e-4f * std::max(1.0f, max_abs(w_want)));
            }
        }
        ++n_cases;
    }
    CHECK(n_cases >= 14);
}
