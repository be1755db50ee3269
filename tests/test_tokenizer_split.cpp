// The hand-written GPT-2 / Llama-3 / Qwen2 split matchers against the cuts HF's Split pre-tokenizer (Oniguruma)
// makes on the golden texts (tests/data/tokenizer/golden_splits.json), independent of any vocab; plus inputs HF
// cannot take (invalid UTF-8) and sizes that would expose quadratic behaviour.
#include <doctest/doctest.h>
#include <simdjson.h>

#include <chrono>
#include <string>
#include <vector>

#include "golden_text.h"
#include "test_util.h"
#include "tokenizer/split_patterns.h"

namespace {

std::vector<size_t> ends_of(ttt::split::Pattern p, std::string_view text) {
    std::vector<std::pair<size_t, size_t>> ranges;
    ttt::split::find_matches(p, text, ranges);
    std::vector<size_t> ends;
    size_t expect_begin = 0;
    for (auto& r : ranges) {
        REQUIRE(r.first == expect_begin);  // contiguous, no gaps
        REQUIRE(r.second > r.first);       // never empty
        ends.push_back(r.second);
        expect_begin = r.second;
    }
    REQUIRE(expect_begin == text.size());
    return ends;
}

}  // namespace

TEST_CASE("split patterns: equal to HF's regex splits on the golden texts") {
    simdjson::dom::parser parser;
    auto path = ttt_test::test_data_dir() / "tokenizer" / "golden_splits.json";
    simdjson::dom::element root = parser.load(path.string()).value();
    struct Named {
        const char* name;
        ttt::split::Pattern pattern;
    };
    const Named patterns[] = {{"gpt2", ttt::split::Pattern::Gpt2},
                              {"llama3", ttt::split::Pattern::Llama3},
                              {"qwen2", ttt::split::Pattern::Qwen2}};
    for (const Named& n : patterns) {
        // The regex strings HF used are the ones we recognise in tokenizer.json.
        ttt::split::Pattern recognised;
        std::string_view regex = root["patterns"][n.name].get_string().value();
        REQUIRE(ttt::split::pattern_from_regex(regex, &recognised));
        CHECK(recognised == n.pattern);
    }
    simdjson::dom::array cases = root["cases"].get_array().value();
    int failures = 0, total = 0;
    for (simdjson::dom::element c : cases) {
        std::string text;
        if (!ttt_test::golden_case_text(c, &text)) continue;  // a corpus excerpt without the shared data
        for (const Named& n : patterns) {
            std::vector<size_t> want;
            simdjson::dom::array arr = c[n.name].get_array().value();
            for (simdjson::dom::element e : arr) want.push_back(static_cast<size_t>(e.get_int64().value()));
            ++total;
            if (ends_of(n.pattern, text) != want && ++failures <= 5) {
                MESSAGE(n.name << " split differs for \"" << std::string(text.substr(0, 80)) << "\"");
            }
        }
    }
    MESSAGE("split golden: " << total << " (text, pattern) pairs, " << failures << " differences");
    CHECK(total >= 900);
    CHECK(failures == 0);
}

TEST_CASE("split patterns: invalid UTF-8 bytes are 'other' characters, never errors") {
    using ttt::split::Pattern;
    // A stray continuation byte, a truncated 3-byte sequence, an overlong encoding, a surrogate, 0xFF.
    const std::string bad[] = {"a\x80" "b", "x\xE4\xB8", "\xC0\xAF", "\xED\xA0\x80", "\xFF\xFE", " \x80\x80 a"};
    for (const std::string& s : bad) {
        for (Pattern p : {Pattern::Gpt2, Pattern::Llama3, Pattern::Qwen2}) ends_of(p, s);  // covers, no gaps
    }
    // Invalid bytes group with punctuation, as a symbol would: " \x80\x80" is one piece before " a".
    CHECK(ends_of(Pattern::Gpt2, " \x80\x80 a") == std::vector<size_t>{3, 5});
}

TEST_CASE("split patterns: linear time on long runs") {
    using ttt::split::Pattern;
    const std::string inputs[] = {std::string(1 << 20, 'a'), std::string(1 << 20, ' '), std::string(1 << 20, '\n'),
                                  std::string(1 << 20, '7'), std::string(1 << 20, '!')};
    auto start = std::chrono::steady_clock::now();
    for (const std::string& s : inputs) {
        for (Pattern p : {Pattern::Gpt2, Pattern::Llama3}) ends_of(p, s);
    }
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    // Generous bound (sanitizer builds are slow); a quadratic matcher would take hours here.
    CHECK(secs < 20.0);
}
