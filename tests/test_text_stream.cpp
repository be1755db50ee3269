// Streaming text: partial UTF-8 held until complete, invalid bytes replaced at once, stop strings found across any
// split and never emitted, and the same result for every way of cutting the text into pieces.
#include <doctest/doctest.h>

#include <simdjson.h>

#include <random>
#include <string>
#include <vector>

#include "common/error.h"
#include "generate/text_stream.h"

using ttt::TextStream;

namespace {

const std::string kFFFD = "\xEF\xBF\xBD";

struct Result {
    std::string text;
    bool stopped = false;
    std::string matched;
};

// Feeds the pieces, checking after every push that what was emitted so far is valid UTF-8; then finish().
Result stream(const std::vector<std::string>& stops, const std::vector<std::string>& pieces) {
    TextStream ts(stops);
    Result r;
    for (const std::string& p : pieces) {
        r.text += ts.push(p);
        REQUIRE(simdjson::validate_utf8(r.text.data(), r.text.size()));
    }
    r.text += ts.finish();
    REQUIRE(simdjson::validate_utf8(r.text.data(), r.text.size()));
    r.stopped = ts.stopped();
    r.matched = ts.matched_stop();
    return r;
}

std::vector<std::string> bytes_of(const std::string& s) {
    std::vector<std::string> out;
    for (char c : s) out.emplace_back(1, c);
    return out;
}

// Every way to cut s into pieces (2^(n-1) of them), for short s.
std::vector<std::vector<std::string>> all_splits(const std::string& s) {
    std::vector<std::vector<std::string>> out;
    const size_t n = s.size();
    for (uint32_t mask = 0; mask < (1u << (n - 1)); ++mask) {
        std::vector<std::string> pieces;
        size_t start = 0;
        for (size_t i = 1; i < n; ++i)
            if (mask & (1u << (i - 1))) {
                pieces.push_back(s.substr(start, i - start));
                start = i;
            }
        pieces.push_back(s.substr(start));
        out.push_back(pieces);
    }
    return out;
}

}  // namespace

TEST_CASE("text stream: text that may become a stop string is held until decided") {
    TextStream a({"User:"});
    CHECK(a.push("Us") == "");
    CHECK(a.push("er:") == "");
    CHECK(a.stopped());
    CHECK(a.matched_stop() == "User:");
    CHECK(a.push("more") == "");  // nothing after a stop string
    CHECK(a.finish() == "");

    TextStream b({"User:"});
    CHECK(b.push("Us") == "");
    CHECK(b.push("ually") == "Usually");
    CHECK_FALSE(b.stopped());
    CHECK(b.matched_stop().empty());

    TextStream c({"User:"});
    CHECK(c.push("Hello, ") == "Hello, ");
    CHECK(c.push("dear U") == "dear ");
    CHECK(c.finish() == "U");  // the end decides: it was not a stop string
    CHECK_FALSE(c.stopped());
}

TEST_CASE("text stream: no stop strings passes text straight through") {
    TextStream ts({});
    CHECK(ts.push("abc") == "abc");
    CHECK(ts.push("") == "");
    CHECK(ts.push("日本") == "日本");
    CHECK(ts.finish() == "");
}

TEST_CASE("text stream: partial UTF-8 is held until the character is complete") {
    const std::string wave = "\xF0\x9F\x91\x8B";  // U+1F44B
    TextStream ts({});
    CHECK(ts.push(wave.substr(0, 1)) == "");
    CHECK(ts.push(wave.substr(1, 1)) == "");
    CHECK(ts.push(wave.substr(2, 1)) == "");
    CHECK(ts.push(wave.substr(3, 1) + "!") == wave + "!");
    CHECK(ts.push("\xE4\xB8") == "");  // 世 = E4 B8 96
    CHECK(ts.push("\x96") == "\xE4\xB8\x96");
}

TEST_CASE("text stream: invalid bytes become U+FFFD at once, one per maximal invalid subpart") {
    CHECK(TextStream({}).push("\xFF") == kFFFD);
    CHECK(TextStream({}).push("a\x80" "b") == "a" + kFFFD + "b");
    CHECK(TextStream({}).push("\xC0\xAF") == kFFFD + kFFFD);                // overlong '/'
    CHECK(TextStream({}).push("\xED\xA0\x80") == kFFFD + kFFFD + kFFFD);    // a surrogate
    CHECK(TextStream({}).push("\xF4\x90\x80\x80") == kFFFD + kFFFD + kFFFD + kFFFD);  // past U+10FFFF
    CHECK(TextStream({}).push("\xF5") == kFFFD);
    // A truncated character followed by something else: one U+FFFD for the truncated part, then the rest.
    TextStream ts({});
    CHECK(ts.push("\xE4\xBD") == "");
    CHECK(ts.push("x") == kFFFD + "x");
    CHECK(ts.push("\xF0\x9F\x91") == "");
    CHECK(ts.push("\xF0\x9F\x91\x8B") == kFFFD + "\xF0\x9F\x91\x8B");
    // At the end an incomplete tail is flushed as U+FFFD.
    TextStream end({});
    CHECK(end.push("ok\xF0\x9F") == "ok");
    CHECK(end.finish() == kFFFD);
    CHECK(end.push("late") == "");  // nothing after finish()
}

TEST_CASE("text stream: the UTF-8 boundaries of the Unicode standard, and any bytes at all") {
    // Overlong forms, surrogates and values past U+10FFFF are invalid from their second byte on.
    CHECK(TextStream({}).push("\xE0\x80\xAF") == kFFFD + kFFFD + kFFFD);
    CHECK(TextStream({}).push("\xF0\x80\x80\x80") == kFFFD + kFFFD + kFFFD + kFFFD);
    // The first and last characters of each length, and those next to the surrogates, are valid, in any split.
    const std::string edges = "\xC2\x80\xDF\xBF\xE0\xA0\x80\xED\x9F\xBF\xEE\x80\x80\xEF\xBF\xBF"
                              "\xF0\x90\x80\x80\xF4\x8F\xBF\xBF";
    CHECK(stream({}, {edges}).text == edges);
    CHECK(stream({}, bytes_of(edges)).text == edges);
    // Any byte string comes out as valid UTF-8 (checked inside stream()), the same whole or byte by byte, and
    // unchanged when it was valid: all strings of two bytes, and random strings of up to 6 bytes over the bytes
    // that matter (ASCII, continuation bytes, every kind of lead byte, never-valid bytes).
    auto check = [](const std::string& s) {
        const std::string whole = stream({}, {s}).text;
        CHECK(stream({}, bytes_of(s)).text == whole);
        if (simdjson::validate_utf8(s.data(), s.size())) CHECK(whole == s);
    };
    for (int a = 0; a < 256; ++a)
        for (int b = 0; b < 256; ++b) check(std::string{char(a), char(b)});
    const unsigned char alphabet[] = {0x41, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC2, 0xDF, 0xE0,
                                      0xE1, 0xED, 0xEE, 0xF0, 0xF1, 0xF4, 0xF5, 0xFF};
    std::mt19937 gen(3);
    for (int i = 0; i < 20000; ++i) {
        std::string s(gen() % 7, '\0');
        for (char& c : s) c = char(alphabet[gen() % sizeof alphabet]);
        check(s);
    }
}

TEST_CASE("text stream: a stop string split across any number of tokens is found and never emitted") {
    const std::string text = "Hello there\nUser: ignored";
    for (const auto& pieces : {bytes_of(text), std::vector<std::string>{text},
                               std::vector<std::string>{"Hello there\nU", "s", "e", "r", ": ignored"}}) {
        const Result r = stream({"User:"}, pieces);
        CHECK(r.text == "Hello there\n");
        CHECK(r.stopped);
        CHECK(r.matched == "User:");
    }
    // A stop string at the very start, and one that never completes.
    CHECK(stream({"###"}, bytes_of("###x")).text == "");
    const Result r = stream({"###"}, bytes_of("a##b##"));
    CHECK(r.text == "a##b##");
    CHECK_FALSE(r.stopped);
    // Self-overlapping stop string: "aab" inside "aaab".
    CHECK(stream({"aab"}, bytes_of("aaab")).text == "a");
}

TEST_CASE("text stream: several and overlapping stop strings: the first to complete wins, then the longest") {
    Result r = stream({"abc", "b"}, {"xabc"});
    CHECK(r.text == "xa");
    CHECK(r.matched == "b");
    r = stream({"abcd", "bc"}, {"xabcd"});
    CHECK(r.matched == "bc");
    CHECK(r.text == "xa");
    r = stream({"bc", "abc"}, {"xabc"});  // both end at the same place: the longer one
    CHECK(r.matched == "abc");
    CHECK(r.text == "x");
    r = stream({"\n\n", "User:", "Assistant:"}, {"Sure.", " Assis", "tant: no"});
    CHECK(r.matched == "Assistant:");
    CHECK(r.text == "Sure. ");
    // The answer does not depend on how the text is cut.
    const std::vector<std::vector<std::string>> stop_sets = {
        {"abc", "b"}, {"abcd", "bc"}, {"bc", "abc"}, {"cab", "abca"}, {"aab", "ab"}};
    for (const std::vector<std::string>& stops : stop_sets) {
        const Result whole = stream(stops, {"xaabcabcd"});
        for (const auto& pieces : all_splits("xaabcabcd")) {
            const Result split = stream(stops, pieces);
            CHECK(split.text == whole.text);
            CHECK(split.matched == whole.matched);
        }
    }
}

TEST_CASE("text stream: every split of emoji and CJK text gives back the text up to the stop string") {
    const std::string before = "Hi \xF0\x9F\x91\x8B \xE4\xB8\x96\xE7\x95\x8C! caf\xC3\xA9 \xE7\xB5\x82";  // Hi 👋 世界! café 終
    const std::string stop = "\xE7\xB5\x82\xE3\x82\x8F\xE3\x82\x8A";  // 終わり (shares 終 with the text before it)
    const std::string text = before + stop + " after \xF0\x9F\x98\x80";

    SUBCASE("byte-sized pieces") {
        Result r = stream({stop}, bytes_of(text));
        CHECK(r.text == before);
        CHECK(r.matched == stop);
        r = stream({}, bytes_of(text));
        CHECK(r.text == text);
    }
    SUBCASE("every single split position, and every pair of them") {
        for (size_t i = 0; i <= text.size(); ++i) {
            const Result r = stream({stop, "zzz"}, {text.substr(0, i), text.substr(i)});
            CHECK_MESSAGE(r.text == before, "split at " << i);
            CHECK(r.stopped);
            CHECK(stream({}, {text.substr(0, i), text.substr(i)}).text == text);
        }
        for (size_t i = 0; i <= text.size(); ++i)
            for (size_t j = i; j <= text.size(); ++j) {
                const Result r = stream({stop}, {text.substr(0, i), text.substr(i, j - i), text.substr(j)});
                REQUIRE_MESSAGE(r.text == before, "split at " << i << ", " << j);
            }
    }
    SUBCASE("random pieces, some containing invalid bytes") {
        std::mt19937 gen(11);
        const std::string bad = before + "\xFF\xE4\xB8" + stop;
        const std::string bad_want = before + kFFFD + kFFFD;
        for (int round = 0; round < 300; ++round) {
            std::vector<std::string> pieces;
            for (size_t i = 0; i < bad.size();) {
                const size_t n = std::min<size_t>(bad.size() - i, gen() % 5);
                pieces.push_back(bad.substr(i, n));
                i += n;
            }
            CHECK(stream({stop}, pieces).text == bad_want);
        }
    }
}

TEST_CASE("text stream: bad stop strings are refused; reset() starts over") {
    CHECK_THROWS_AS(TextStream({"ok", ""}), ttt::Error);
    try {
        TextStream ts({"\xFF"});
        FAIL("accepted an invalid UTF-8 stop string");
    } catch (const ttt::Error& e) {
        CHECK(e.status() == TTT_ERR_INVALID_ARGUMENT);
    }
    TextStream ts({"END"});
    CHECK(ts.push("aEND") == "a");
    CHECK(ts.stopped());
    ts.reset();
    CHECK_FALSE(ts.stopped());
    CHECK(ts.matched_stop().empty());
    CHECK(ts.push("bE") == "b");
    CHECK(ts.finish() == "E");
}
