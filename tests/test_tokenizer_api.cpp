// Tokenizer API behaviour beyond the golden ids: BOS/EOS/EOG, pieces, vocab size, special-token injection,
// invalid UTF-8, very long inputs, bounds, thread safety.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "common/error.h"
#include "test_util.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

namespace {

std::unique_ptr<ttt::Tokenizer> load(const std::filesystem::path& p) {
    std::vector<uint8_t> bytes = ttt_test::read_bytes(p);
    REQUIRE_MESSAGE(!bytes.empty(), "missing " << p.string());
    return ttt::Tokenizer::from_json(std::string(bytes.begin(), bytes.end()));
}
std::unique_ptr<ttt::Tokenizer> load_committed(const std::string& name) {
    return load(ttt_test::test_data_dir() / "tokenizer" / name);
}
std::unique_ptr<ttt::Tokenizer> load_tinyllama() {
    if (!ttt_test::have_shared_data()) return nullptr;
    return load(ttt_test::shared_data_dir() / "tokenizers" / "tinyllama-tokenizer.json");
}

std::string pieces_of(const ttt::Tokenizer& t, const std::vector<int32_t>& ids) {
    std::string s;
    for (int32_t id : ids) s += t.token_to_piece(id);
    return s;
}

// Deterministic byte soup: ASCII, UTF-8 fragments and invalid bytes.
std::string random_bytes(uint64_t& state, size_t max_len) {
    auto next = [&state] {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        return static_cast<uint32_t>(state >> 33);
    };
    static const char* const kFragments[] = {"\xE4\xB8\xAD", "\xE4\xB8", "\xF0\x9F\x98\x80", "\xF0\x9F", "\x80",
                                             "\xFF", "\xC0\xAF", "\xED\xA0\x80", " ", "\n", "a", "'s", "</s>",
                                             "<|eot_id|>", "\xE2\x96\x81", "\t"};
    std::string s;
    size_t len = next() % max_len;
    while (s.size() < len) {
        if (next() % 3 == 0) s += kFragments[next() % (sizeof kFragments / sizeof *kFragments)];
        else s.push_back(static_cast<char>(next() % 256));
    }
    return s;
}

// SentencePiece models read "▁" in the input as a space, so that is what their pieces give back. The prefix space
// is added always by TinyLlama's Prepend normalizer, but by the Metaspace pre-tokenizer only when the text does
// not start with one already.
std::string spm_expected(const std::string& s, bool always_prefix) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s.compare(i, 3, "\xE2\x96\x81") == 0) {
            out += ' ';
            i += 2;
        } else {
            out += s[i];
        }
    }
    return (always_prefix || out[0] != ' ') ? " " + out : out;
}

template <class F>
void check_status(F&& f, ttt_status status) {
    try {
        f();
        FAIL("expected ttt::Error");
    } catch (const ttt::Error& e) {
        CHECK(e.status() == status);
    }
}

}  // namespace

TEST_CASE("tokenizer api: TinyLlama ids, pieces, BOS/EOS/EOG") {
    auto t = load_tinyllama();
    if (!t) return;
    CHECK(t->vocab_size() == 32000);
    CHECK(t->bos_id() == 1);
    CHECK(t->eos_id() == 2);
    CHECK(t->is_eog(2));
    CHECK_FALSE(t->is_eog(1));
    CHECK_FALSE(t->is_eog(29871));
    CHECK(t->is_special(0));
    CHECK(t->is_special(1));
    CHECK(t->is_special(2));
    CHECK_FALSE(t->is_special(3));
    // Byte tokens are single raw bytes; "▁" pieces are spaces.
    CHECK(t->token_text(13) == "<0x0A>");
    CHECK(t->token_to_piece(13) == "\n");
    CHECK(t->token_to_piece(3 + 0xE4) == std::string("\xE4"));
    CHECK(t->token_to_piece(3 + 0x00) == std::string(1, '\0'));
    CHECK(t->token_to_piece(t->token_id("\xE2\x96\x81the")) == " the");
    CHECK(t->token_to_piece(1) == "<s>");
    CHECK(t->encode("", true, false) == std::vector<int32_t>{1});
    CHECK(t->encode("", false, false).empty());
    auto ids = t->encode("Hello world", true, false);
    REQUIRE(ids.size() >= 2);
    CHECK(ids.front() == 1);
    CHECK(t->decode(ids.data(), ids.size(), true) == "Hello world");
    CHECK(t->json().size() > 1000000);
}

TEST_CASE("tokenizer api: byte-level BOS/EOS/EOG and pieces") {
    auto t = load_committed("hf_bytelevel_llama3.json");
    const int32_t bot = t->token_id("<|begin_of_text|>"), eot = t->token_id("<|end_of_text|>");
    const int32_t eot_id = t->token_id("<|eot_id|>");
    CHECK(t->vocab_size() == 1004);
    CHECK(t->bos_id() == bot);  // from the TemplateProcessing
    CHECK(t->eos_id() == eot);  // by name
    CHECK(t->is_eog(eot));
    CHECK(t->is_eog(eot_id));
    CHECK_FALSE(t->is_eog(bot));
    CHECK(t->is_special(t->token_id("<mask>")));
    CHECK_FALSE(t->is_special(t->token_id("verily")));  // an added token that is not special
    CHECK(t->token_to_piece(t->token_id("\xC4\x8A")) == "\n");       // "Ċ"
    CHECK(t->token_to_piece(t->token_id("\xC4\xA0")) == " ");        // "Ġ"
    CHECK(t->token_to_piece(t->token_id("\xC3\xA4")) == "\xE4");     // "ä" is byte 0xE4
    CHECK(t->token_to_piece(t->token_id(" thou art")) == " thou art");

    auto ours = load_committed("ttt_bytelevel.json");
    CHECK(ours->vocab_size() == 1000);
    CHECK(ours->bos_id() == -1);
    CHECK(ours->eos_id() == 0);
    CHECK(ours->is_eog(0));
    CHECK(ours->is_special(0));
    CHECK(ours->encode("hi", true, false) == ours->encode("hi", false, false));  // no template: nothing added

    auto spm = load_committed("hf_spm_split.json");  // "<s> $A </s>"
    CHECK(spm->bos_id() == 1);
    CHECK(spm->eos_id() == 2);
    auto ids = spm->encode("hi", true, false);
    CHECK(ids.front() == 1);
    CHECK(ids.back() == 2);
}

TEST_CASE("tokenizer api: every byte has a one-byte piece in byte-level and byte-fallback models") {
    auto bl = load_committed("ttt_bytelevel.json");
    for (int b = 0; b < 256; ++b) CHECK(bl->token_to_piece(1 + b) == std::string(1, static_cast<char>(b)));
    auto spm = load_committed("hf_spm_first.json");
    for (int b = 0; b < 256; ++b) CHECK(spm->token_to_piece(3 + b) == std::string(1, static_cast<char>(b)));
}

TEST_CASE("tokenizer api: special tokens typed by the user are text unless parse_special") {
    auto t = load_committed("hf_bytelevel_llama3.json");
    const int32_t eot_id = t->token_id("<|eot_id|>");
    const std::string text = "hello<|eot_id|> <|begin_of_text|>[SEP]<mask>";
    auto plain = t->encode(text, true, false);
    for (size_t k = 1; k < plain.size(); ++k) CHECK_FALSE(t->is_special(plain[k]));  // only the BOS is special
    CHECK(t->decode(plain.data(), plain.size(), true) == text);
    auto parsed = t->encode(text, false, true);
    CHECK(std::find(parsed.begin(), parsed.end(), eot_id) != parsed.end());
    // Non-special added tokens are matched either way (HF does the same).
    auto v = t->encode("a verily b", false, false);
    CHECK(std::find(v.begin(), v.end(), t->token_id("verily")) != v.end());

    auto tl = load_tinyllama();
    if (!tl) return;
    auto ids = tl->encode("</s><s><unk>", false, false);
    for (int32_t id : ids) CHECK(id > 2);
    CHECK(tl->encode("</s>", false, true) == std::vector<int32_t>{2});
}

TEST_CASE("tokenizer api: invalid UTF-8 is encoded losslessly and decoded to valid UTF-8") {
    uint64_t seed = 12345;
    auto bl = load_committed("ttt_bytelevel.json");
    auto llama3 = load_committed("hf_bytelevel_llama3.json");
    auto spm = load_committed("hf_spm_first.json");
    auto unk = load_committed("hf_spm_unk.json");
    auto tl = load_tinyllama();
    for (int iter = 0; iter < 300; ++iter) {
        std::string s = random_bytes(seed, 120);
        INFO("iteration " << iter);
        for (ttt::Tokenizer* t : {bl.get(), llama3.get()}) {
            auto ids = t->encode(s, false, false);
            CHECK(pieces_of(*t, ids) == s);  // byte-level: every byte survives
            std::string d = t->decode(ids.data(), ids.size(), false);
            CHECK(ttt::unicode::is_valid_utf8(d));
            CHECK(d == ttt::unicode::to_valid_utf8(s));  // lossy only where the input was invalid
        }
        // Byte fallback: bytes survive as <0xNN>; the Metaspace prefix adds one leading space.
        auto ids = spm->encode(s, false, false);
        if (!s.empty()) CHECK(pieces_of(*spm, ids) == spm_expected(s, false));
        CHECK(ttt::unicode::is_valid_utf8(spm->decode(ids.data(), ids.size(), false)));
        auto uids = unk->encode(s, false, false);  // no byte fallback: unk, never a crash
        CHECK(ttt::unicode::is_valid_utf8(unk->decode(uids.data(), uids.size(), false)));
        if (tl) {
            auto tids = tl->encode(s, false, false);
            if (!s.empty()) CHECK(pieces_of(*tl, tids) == spm_expected(s, true));
            CHECK(ttt::unicode::is_valid_utf8(tl->decode(tids.data(), tids.size(), false)));
        }
    }
}

TEST_CASE("tokenizer api: 1 MB of one letter finishes quickly") {
    std::vector<std::unique_ptr<ttt::Tokenizer>> toks;
    toks.push_back(load_committed("ttt_bytelevel.json"));
    toks.push_back(load_committed("hf_bytelevel_llama3.json"));
    toks.push_back(load_committed("hf_spm_first.json"));
    if (auto tl = load_tinyllama()) toks.push_back(std::move(tl));
    // 1 MB of one letter (one word for the model), and shorter runs of the other character classes.
    const std::string inputs[] = {std::string(1 << 20, 'a'), std::string(1 << 18, ' '), std::string(1 << 18, '\n'),
                                  std::string(1 << 18, '9')};
    auto start = std::chrono::steady_clock::now();
    for (auto& t : toks) {
        for (const std::string& s : inputs) {
            auto ids = t->encode(s, false, false);
            CHECK(!ids.empty());
            CHECK(ids.size() <= s.size() + 1);
        }
    }
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    MESSAGE("long single-character inputs: " << secs << " s for " << toks.size() * 4 << " encodes");
    CHECK(secs < 60.0);  // generous for sanitizer builds; quadratic behaviour would take hours
    auto& bl = toks[0];
    auto ids = bl->encode(inputs[0], false, false);
    CHECK(bl->decode(ids.data(), ids.size(), false) == inputs[0]);
}

TEST_CASE("tokenizer api: ids out of range are refused, not read") {
    auto t = load_committed("ttt_bytelevel.json");
    const int32_t bad[] = {-1, 1000, INT32_MAX, INT32_MIN};
    for (int32_t id : bad) {
        check_status([&] { t->decode(&id, 1, false); }, TTT_ERR_INVALID_ARGUMENT);
        check_status([&] { t->token_to_piece(id); }, TTT_ERR_INVALID_ARGUMENT);
        CHECK_FALSE(t->is_eog(id));
        CHECK_FALSE(t->is_special(id));
    }
    CHECK(t->decode(nullptr, 0, false).empty());
    check_status([&] { t->decode(nullptr, 3, false); }, TTT_ERR_INVALID_ARGUMENT);
    check_status([&] { t->set_bos_eos(5000, 0); }, TTT_ERR_INVALID_ARGUMENT);
    t->set_bos_eos(-1, 7);
    CHECK(t->eos_id() == 7);
    CHECK(t->is_eog(7));
    CHECK(t->token_id("no such token") == -1);
}

TEST_CASE("tokenizer api: gaps in the id space decode to nothing") {
    // Ids 0, 1 and 5: 2..4 are gaps.
    auto t = ttt::Tokenizer::from_json(
        R"({"added_tokens": [{"id": 5, "content": "<eos>", "special": true}],
            "model": {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": []}, "decoder": {"type": "Fuse"}})");
    CHECK(t->vocab_size() == 6);
    const int32_t ids[] = {0, 3, 1, 5};
    CHECK(t->decode(ids, 4, false) == "ab<eos>");
    CHECK(t->decode(ids, 4, true) == "ab");
    CHECK(t->token_to_piece(3).empty());
    CHECK(t->eos_id() == 5);
}

TEST_CASE("tokenizer api: concurrent encodes give the same ids as one thread") {
    auto t = load_committed("hf_bytelevel_llama3.json");
    std::vector<std::string> texts;
    uint64_t seed = 99;
    for (int k = 0; k < 200; ++k) texts.push_back(random_bytes(seed, 200) + " the thou art verily " + std::to_string(k));
    std::vector<std::vector<int32_t>> want;
    for (const std::string& s : texts) want.push_back(t->encode(s, true, false));
    std::vector<int> mismatches(2, 0);
    std::vector<std::thread> threads;
    for (int th = 0; th < 2; ++th) {
        threads.emplace_back([&, th] {
            for (int rep = 0; rep < 5; ++rep) {
                for (size_t k = 0; k < texts.size(); ++k) {
                    if (t->encode(texts[k], true, false) != want[k]) ++mismatches[static_cast<size_t>(th)];
                }
            }
        });
    }
    for (auto& th : threads) th.join();
    CHECK(mismatches[0] == 0);
    CHECK(mismatches[1] == 0);
}
