// Malformed and unsupported tokenizer.json files: each one must throw ttt::Error with TTT_ERR_FORMAT or
// TTT_ERR_UNSUPPORTED and a message naming the cause — never crash, hang, or load with silently wrong ids.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "common/error.h"
#include "test_util.h"
#include "tokenizer/tokenizer.h"

namespace {

// A minimal valid tokenizer; cases below replace one part of it.
const std::string kModel = R"("model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]})";

std::string with_model(const std::string& model, const std::string& extra = "") {
    return "{" + (extra.empty() ? "" : extra + ", ") + model + "}";
}

struct BadCase {
    const char* what;
    std::string json;
    ttt_status status;
    const char* keyword;  // must appear in the message
};

std::vector<BadCase> bad_cases() {
    const ttt_status F = TTT_ERR_FORMAT, U = TTT_ERR_UNSUPPORTED;
    std::string ok = with_model(kModel);
    return {
        {"empty input", "", F, "invalid JSON"},
        {"invalid JSON", "{\"model\": ", F, "invalid JSON"},
        {"truncated JSON", ok.substr(0, ok.size() / 2), F, "invalid JSON"},
        {"trailing garbage", ok + "}", F, "invalid JSON"},
        {"not an object", "[1, 2, 3]", F, "expected an object"},
        {"missing model", "{\"normalizer\": null}", F, "model"},
        {"model not an object", "{\"model\": 3}", F, "model"},
        {"model type WordPiece", with_model(R"("model": {"type": "WordPiece", "vocab": {}})"), U, "WordPiece"},
        {"model type Unigram", with_model(R"("model": {"type": "Unigram", "vocab": []})"), U, "Unigram"},
        {"model type WordLevel", with_model(R"("model": {"type": "WordLevel", "vocab": {}})"), U, "WordLevel"},
        {"model type not a string", with_model(R"("model": {"type": 7, "vocab": {}})"), F, "model.type"},
        {"missing vocab", with_model(R"("model": {"type": "BPE", "merges": []})"), F, "vocab"},
        {"vocab not an object", with_model(R"("model": {"type": "BPE", "vocab": ["a", "b"]})"), F, "model.vocab"},
        {"vocab id not an integer", with_model(R"("model": {"type": "BPE", "vocab": {"a": "zero"}})"), F, "integer"},
        {"vocab id fractional", with_model(R"("model": {"type": "BPE", "vocab": {"a": 0.5}})"), F, "integer"},
        {"vocab id negative", with_model(R"("model": {"type": "BPE", "vocab": {"a": -1}})"), F, "out of range"},
        {"vocab id 2^31", with_model(R"("model": {"type": "BPE", "vocab": {"a": 2147483648}})"), F, "out of range"},
        {"vocab id 2^64-1", with_model(R"("model": {"type": "BPE", "vocab": {"a": 18446744073709551615}})"), F,
         "out of range"},
        {"vocab id 1e30", with_model(R"("model": {"type": "BPE", "vocab": {"a": 1e30}})"), F, "integer"},
        {"duplicate ids", with_model(R"("model": {"type": "BPE", "vocab": {"a": 0, "b": 0}})"), F, "duplicate id"},
        {"duplicate tokens", with_model(R"("model": {"type": "BPE", "vocab": {"a": 0, "a": 1}})"), F,
         "duplicate token"},
        {"bad UTF-8 in a token", with_model("\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\xC3\": 0}}"), F, "UTF-8"},
        {"merges not an array", with_model(R"("model": {"type": "BPE", "vocab": {"a": 0}, "merges": "a b"})"), F,
         "model.merges"},
        {"merge without a space", with_model(R"("model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["ab"]})"),
         F, "model.merges[0]"},
        {"merge with unknown token", with_model(R"("model": {"type": "BPE", "vocab": {"a": 0, "ab": 2}, "merges": ["a b"]})"),
         F, "not in the vocab"},
        {"merge result not in vocab", with_model(R"("model": {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": [["a", "b"]]})"),
         F, "merged token"},
        {"merge pair of three", with_model(R"("model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": [["a", "b", "c"]]})"),
         F, "pair"},
        {"merge of numbers", with_model(R"("model": {"type": "BPE", "vocab": {"a": 0}, "merges": [1]})"), F,
         "model.merges[0]"},
        {"unk token not in vocab", with_model(R"("model": {"type": "BPE", "vocab": {"a": 0}, "unk_token": "<unk>"})"),
         F, "unk_token"},
        {"boolean of wrong type", with_model(R"("model": {"type": "BPE", "vocab": {"a": 0}, "byte_fallback": "yes"})"),
         F, "byte_fallback"},
        {"added_tokens not an array", with_model(kModel, R"("added_tokens": {"id": 3})"), F, "added_tokens"},
        {"added token id not an integer", with_model(kModel, R"("added_tokens": [{"id": "3", "content": "<s>"}])"), F,
         "added_tokens[0].id"},
        {"added token without content", with_model(kModel, R"("added_tokens": [{"id": 3}])"), F, "content"},
        {"added token id clashes with vocab", with_model(kModel, R"("added_tokens": [{"id": 1, "content": "<s>"}])"),
         F, "model.vocab"},
        {"added token with another id in vocab", with_model(kModel, R"("added_tokens": [{"id": 7, "content": "ab"}])"),
         F, "model.vocab"},
        {"duplicate added tokens",
         with_model(kModel, R"("added_tokens": [{"id": 3, "content": "<s>"}, {"id": 4, "content": "<s>"}])"), F,
         "duplicate"},
        {"huge added token id", with_model(kModel, R"("added_tokens": [{"id": 4294967296, "content": "<s>"}])"), F,
         "out of range"},
        {"normalizer NFKC", with_model(kModel, R"("normalizer": {"type": "NFKC"})"), U, "NFKC"},
        {"normalizer without type", with_model(kModel, R"("normalizer": {"prepend": "x"})"), F, "type"},
        {"normalizer regex replace",
         with_model(kModel, R"("normalizer": {"type": "Replace", "pattern": {"Regex": " +"}, "content": " "})"), U,
         "regex"},
        {"pre_tokenizer Whitespace", with_model(kModel, R"("pre_tokenizer": {"type": "Whitespace"})"), U, "Whitespace"},
        {"split with an unknown regex",
         with_model(kModel, R"("pre_tokenizer": {"type": "Split", "pattern": {"Regex": "\\w+"}, "behavior": "Isolated"})"),
         U, "regex"},
        {"split with an unknown behavior",
         with_model(kModel, R"("pre_tokenizer": {"type": "Split", "pattern": {"String": " "}, "behavior": "Sideways"})"),
         F, "behavior"},
        {"metaspace replacement of two characters",
         with_model(kModel, R"("pre_tokenizer": {"type": "Metaspace", "replacement": "ab"})"), F, "one character"},
        {"decoder WordPiece", with_model(kModel, R"("decoder": {"type": "WordPiece", "prefix": "##"})"), U, "WordPiece"},
        {"decoder sequence not a list", with_model(kModel, R"("decoder": {"type": "Sequence", "decoders": {}})"), F,
         "decoders"},
        {"template with an unlisted special token",
         with_model(kModel, R"("post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}], "special_tokens": {}})"),
         F, "special_tokens"},
        {"template special id outside the vocab",
         with_model(kModel, R"("post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}], "special_tokens": {"<s>": {"id": "<s>", "ids": [99], "tokens": ["<s>"]}}})"),
         F, "not in the vocab"},
        {"template with sequence B",
         with_model(kModel, R"("post_processor": {"type": "TemplateProcessing", "single": [{"Sequence": {"id": "B", "type_id": 0}}], "special_tokens": {}})"),
         F, "sequence"},
        {"post_processor of unknown type", with_model(kModel, R"("post_processor": {"type": "Frobnicate"})"), U,
         "Frobnicate"},
        {"deep nesting", std::string(5000, '[') + std::string(5000, ']'), F, "invalid JSON"},
    };
}

}  // namespace

TEST_CASE("tokenizer malformed: the minimal base tokenizer loads") {
    auto t = ttt::Tokenizer::from_json(with_model(kModel));
    CHECK(t->encode("ab", false, false) == std::vector<int32_t>{2});
}

TEST_CASE("tokenizer malformed: each bad file gives a clear error") {
    std::vector<BadCase> cases = bad_cases();
    CHECK(cases.size() >= 15);
    for (const BadCase& c : cases) {
        INFO("case: " << c.what);
        try {
            ttt::Tokenizer::from_json(c.json);
            FAIL_CHECK("loaded without error: " << c.what);
        } catch (const ttt::Error& e) {
            CHECK(e.status() == c.status);
            std::string msg = e.what();
            INFO("message: " << msg);
            CHECK(msg.find(c.keyword) != std::string::npos);
            CHECK(msg.find("tokenizer.json") != std::string::npos);
        }
    }
}

TEST_CASE("tokenizer malformed: truncations and byte flips of a real file never crash") {
    std::vector<uint8_t> bytes = ttt_test::read_bytes(ttt_test::test_data_dir() / "tokenizer" / "hf_spm_first.json");
    REQUIRE(!bytes.empty());
    const std::string good(bytes.begin(), bytes.end());
    uint64_t state = 7;
    auto next = [&state] {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        return static_cast<size_t>(state >> 33);
    };
    int loaded = 0, refused = 0;
    for (int k = 0; k < 300; ++k) {
        std::string s = good;
        if (k % 3 == 0) {
            s.resize(next() % s.size());  // truncated: always invalid JSON
        } else if (k % 3 == 1) {
            for (int f = 0; f < 1 + k % 4; ++f) s[next() % s.size()] = static_cast<char>(next() % 256);
        } else {
            // Letter for letter: the JSON stays valid, so the checks behind the parser are what is exercised
            // (merges naming tokens that no longer exist, changed type names, ids ...).
            for (int f = 0; f < 1 + k % 4; ++f) {
                size_t at = next() % s.size();
                while (at < s.size() && !((s[at] >= 'a' && s[at] <= 'z') || (s[at] >= '0' && s[at] <= '9'))) ++at;
                if (at < s.size()) s[at] = (s[at] >= 'a') ? static_cast<char>('a' + next() % 26) : static_cast<char>('0' + next() % 10);
            }
        }
        try {
            auto t = ttt::Tokenizer::from_json(s);
            t->encode("hello world \xE4\xB8\xAD\x80", true, true);  // whatever loaded must also run
            ++loaded;
        } catch (const ttt::Error& e) {
            CHECK((e.status() == TTT_ERR_FORMAT || e.status() == TTT_ERR_UNSUPPORTED));
            ++refused;
        }
    }
    MESSAGE("mutated files: " << refused << " refused, " << loaded << " loaded (a change that keeps the file valid)");
    CHECK(refused >= 100);
    CHECK(loaded > 0);
}
