// The malformed-file corpus (tests/data/malformed, made by tests/malformed/make_corpus.py): every entry must load or
// fail exactly as manifest.json says, with a message that names the cause; nothing may crash.
#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>

#include "io/json.h"
#include "model_fixture.h"

using namespace ttt_test;

namespace {

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    return s;
}

}  // namespace

TEST_CASE("malformed models, .bitt files and souls each give their own clear error") {
    const auto dir = test_data_dir() / "malformed";
    const auto bytes = read_bytes(dir / "manifest.json");
    REQUIRE(!bytes.empty());
    auto doc = ttt::parse_json(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), "manifest.json");
    simdjson::dom::array entries;
    REQUIRE(!doc->root.get_array().get(entries));
    int bad = 0, good = 0;
    for (auto e : entries) {
        std::string_view name, path, load, keyword = "";
        int64_t expect = -1;
        REQUIRE(!e["name"].get_string().get(name));
        REQUIRE(!e["path"].get_string().get(path));
        REQUIRE(!e["load"].get_string().get(load));
        REQUIRE(!e["expect_status"].get_int64().get(expect));
        if (e["expect_in_message"].get_string().get(keyword)) keyword = "";
        CAPTURE(name);
        const std::string full = (dir / std::string(path)).string();
        ttt_status st = TTT_OK;
        std::string message;
        if (load == "model_dir" || load == "hf_dir" || load == "bitt") {  // hf_dir: a Hugging Face checkpoint
            ttt_model* m = nullptr;
            st = load == "bitt" ? ttt_load_bitt(full.c_str(), nullptr, &m) : ttt_load_model(full.c_str(), nullptr, &m);
            message = ttt_last_error();
            CHECK((st == TTT_OK) == (m != nullptr));
            ttt_model_free(m);
        } else if (load == "soul") {
            std::string_view model_path;
            REQUIRE(!e["model"].get_string().get(model_path));
            Model model((dir / std::string(model_path)).string());
            REQUIRE_MESSAGE(model.m != nullptr, ttt_last_error());
            Context ctx(model.m);
            st = ttt_load_soul(ctx.c, full.c_str(), 0);
            message = ttt_last_error();
            if (st != TTT_OK) {
                uint64_t level = 1;
                ttt_get_soul_level(ctx.c, &level);
                CHECK(level == 0);  // a failed load leaves the soul untouched
            }
        } else {
            FAIL("unknown load kind " << load);
        }
        CAPTURE(message);
        CHECK(st == expect);
        if (expect != TTT_OK) {
            ++bad;
            CHECK(message.size() > 10);
            CHECK(lower(message).find(lower(std::string(keyword))) != std::string::npos);
        } else {
            ++good;
        }
    }
    CHECK(bad >= 70);
    CHECK(good >= 1);
}
