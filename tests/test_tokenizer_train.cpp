// train_bpe: determinism (same input -> byte-identical JSON, equal to the committed ttt_bytelevel.json that the
// golden test checks against HF), lossless round trips, special tokens kept out of merges, argument errors.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "common/error.h"
#include "test_util.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/train_bpe.h"

namespace {

const std::vector<std::string> kCorpus = {
    "the cat sat on the mat. the cat ate the rat.<|endoftext|>the dog sat on the log.",
    "a a a a aaaa aaaa aaaa   \n\n\tthe the the 123 123 456\n",
    "caf\xC3\xA9 caf\xC3\xA9 \xE4\xBD\xA0\xE5\xA5\xBD \xE4\xBD\xA0\xE5\xA5\xBD \xF0\x9F\x98\x80\xF0\x9F\x98\x80 <|endoftext|>",
    "invalid \x80\xFF bytes are learned as bytes \x80\xFF",
};

template <class F>
void check_status(F&& f, ttt_status status, const char* keyword) {
    try {
        f();
        FAIL("expected ttt::Error");
    } catch (const ttt::Error& e) {
        CHECK(e.status() == status);
        CHECK(std::string(e.what()).find(keyword) != std::string::npos);
    }
}

}  // namespace

TEST_CASE("train_bpe: deterministic, loadable, lossless") {
    std::vector<double> progress;
    std::string a = ttt::train_bpe_texts(kCorpus, 300, 2, {"<|endoftext|>", "<pad>"},
                                         [&](double p) { progress.push_back(p); });
    std::string b = ttt::train_bpe_texts(kCorpus, 300, 2, {"<|endoftext|>", "<pad>"});
    CHECK(a == b);
    REQUIRE(!progress.empty());
    CHECK(progress.back() == 1.0);
    for (size_t k = 1; k < progress.size(); ++k) CHECK(progress[k] >= progress[k - 1]);

    auto t = ttt::Tokenizer::from_json(a);
    CHECK(t->vocab_size() > 258);
    CHECK(t->vocab_size() <= 300);
    CHECK(t->token_id("<|endoftext|>") == 0);
    CHECK(t->token_id("<pad>") == 1);
    CHECK(t->is_special(0));
    CHECK(t->is_eog(0));
    CHECK(t->eos_id() == 0);
    // Special tokens never take part in merges: no other token contains their text.
    for (int32_t id = 2; id < t->vocab_size(); ++id) {
        CHECK(t->token_text(id).find("endoftext") == std::string::npos);
    }
    for (const std::string& s : kCorpus) {
        auto ids = t->encode(s, false, true);
        std::string pieces;
        for (int32_t id : ids) pieces += t->token_to_piece(id);
        CHECK(pieces == s);
        CHECK(ids.size() < s.size());  // it did learn something
    }
    // Frequent words became single tokens.
    CHECK(t->encode(" the", false, false).size() == 1);
}

TEST_CASE("train_bpe: min_frequency stops merging early") {
    std::string json = ttt::train_bpe_texts(kCorpus, 5000, 1000, {});
    auto t = ttt::Tokenizer::from_json(json);
    CHECK(t->vocab_size() == 256);  // no pair is that frequent: only the byte alphabet
    CHECK(t->bos_id() == -1);
    CHECK(t->eos_id() == -1);
}

TEST_CASE("train_bpe: bad arguments") {
    check_status([] { ttt::train_bpe_texts(kCorpus, 200, 2, {}); }, TTT_ERR_INVALID_ARGUMENT, "vocab_size");
    check_status([] { ttt::train_bpe_texts(kCorpus, 257, 2, {"<a>", "<b>"}); }, TTT_ERR_INVALID_ARGUMENT, "vocab_size");
    check_status([] { ttt::train_bpe_texts(kCorpus, 300, -1, {}); }, TTT_ERR_INVALID_ARGUMENT, "min_frequency");
    check_status([] { ttt::train_bpe_texts(kCorpus, 300, 2, {"<a>", "<a>"}); }, TTT_ERR_INVALID_ARGUMENT, "duplicate");
    check_status([] { ttt::train_bpe_texts(kCorpus, 300, 2, {""}); }, TTT_ERR_INVALID_ARGUMENT, "empty");
    check_status([] { ttt::train_bpe_texts(kCorpus, 300, 2, {"\xFF"}); }, TTT_ERR_INVALID_ARGUMENT, "UTF-8");
    check_status([] { ttt::train_bpe({"/nonexistent/corpus.txt"}, 300, 2, {}); }, TTT_ERR_IO, "corpus.txt");
}

TEST_CASE("train_bpe: special tokens with JSON metacharacters are escaped") {
    std::string json = ttt::train_bpe_texts({"x y"}, 260, 1, {"<\"quote\">", "<back\\slash>", "<tab\t>"});
    auto t = ttt::Tokenizer::from_json(json);
    CHECK(t->token_id("<\"quote\">") == 0);
    CHECK(t->token_id("<back\\slash>") == 1);
    CHECK(t->token_id("<tab\t>") == 2);
}

TEST_CASE("train_bpe: tinyshakespeare reproduces the committed ttt_bytelevel.json") {
    if (!ttt_test::have_shared_data()) return;
    // The golden test checks that HF encodes this committed file exactly as we do; here we check that the trainer
    // still writes exactly that file (tests/tokenizer/make_golden.py --bit-ttt regenerates both after a change).
    std::string json = ttt::train_bpe({(ttt_test::shared_data_dir() / "tinyshakespeare.txt").string()}, 1000, 2,
                                      {"<|endoftext|>"});
    std::vector<uint8_t> committed = ttt_test::read_bytes(ttt_test::test_data_dir() / "tokenizer" / "ttt_bytelevel.json");
    CHECK(json == std::string(committed.begin(), committed.end()));
}

TEST_CASE("train_bpe: counting in parts (streamed files, long texts) gives the same tokenizer") {
    // Built from pieces that offer every kind of cut: spaces between letters, single newlines, special tokens,
    // runs of white space and text without spaces (where a part must be forced).
    std::string text;
    const char* const pieces[] = {"the cat sat ", "on the mat.\n", "A\nB ", "<|endoftext|>", "  \n\n\t ", "caf\xC3\xA9 ",
                                  "\xE4\xBD\xA0\xE5\xA5\xBD\xE4\xBD\xA0\xE5\xA5\xBD", "don't ", "123 4567 ", "x<|endoftext|>y ",
                                  "<my token>", "a<my token>b "};
    uint64_t state = 3;
    while (text.size() < 200000) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        text += pieces[(state >> 33) % (sizeof pieces / sizeof *pieces)];
    }
    const std::vector<std::string> specials = {"<|endoftext|>", "<my token>"};  // the second one could be cut
    std::vector<std::string> texts{text};
    std::string whole = ttt::train_bpe_parts(nullptr, &texts, 600, 2, specials, {}, size_t{1} << 30);
    CHECK(ttt::train_bpe_parts(nullptr, &texts, 600, 2, specials, {}, 4096) == whole);
    ttt_test::TempDir dir;
    std::string path = (dir.path / "corpus.txt").string();
    ttt_test::write_bytes(path, std::vector<uint8_t>(text.begin(), text.end()));
    std::vector<std::string> files{path};
    CHECK(ttt::train_bpe_parts(&files, nullptr, 600, 2, specials, {}, 4096) == whole);
    CHECK(ttt::train_bpe(files, 600, 2, specials) == whole);
}
