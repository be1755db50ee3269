// Golden tests: our encoder/decoder against ids and text recorded from Hugging Face `tokenizers`
// (tests/tokenizer/make_golden.py) for ~390 varied texts per tokenizer, in all four add_special / parse_special
// combinations, plus decode with and without skip_special and lossless round trips.
#include <doctest/doctest.h>
#include <simdjson.h>

#include <cstdio>
#include <string>
#include <vector>

#include "golden_text.h"
#include "test_util.h"
#include "tokenizer/tokenizer.h"

namespace {

struct GoldenCase {
    std::string text;
    std::vector<int32_t> ids, ids_special, ids_noparse, ids_noparse_special;
    // The expected decodes; for corpus excerpts that decode to something else, only their hashes are recorded.
    std::string decoded, decoded_skip, decoded_hash, decoded_skip_hash;
};

struct DecodeCase {
    std::vector<int32_t> ids;
    std::string decoded, decoded_skip;
};

struct Golden {
    std::string tokenizer;  // file under tests/data/tokenizer, or "shared:<path under shared data>"
    bool lossless = false;
    std::vector<GoldenCase> cases;
    std::vector<DecodeCase> decode_cases;  // random id sequences: decoder behaviour beyond round trips
    size_t skipped = 0;                    // corpus excerpts, without the shared data
};

uint64_t poly_hash_ids(const std::vector<int32_t>& ids) {
    uint64_t h = 0;
    for (int32_t v : ids) h = h * 1000003u + static_cast<uint64_t>(v) + 1u;
    return h;
}
std::string poly_hash_text(const std::string& s) {
    uint64_t h = 0;
    for (unsigned char c : s) h = h * 1000003u + c + 1u;
    return std::to_string(h);
}

std::vector<int32_t> ids_of(simdjson::dom::element e) {
    std::vector<int32_t> v;
    // Keep the array in a named variable: value() of a temporary result would dangle inside a range-for.
    simdjson::dom::array arr = e.get_array().value();
    for (simdjson::dom::element x : arr) v.push_back(static_cast<int32_t>(x.get_int64().value()));
    return v;
}

Golden load_golden(const std::string& name) {
    Golden g;
    simdjson::dom::parser parser;
    auto path = ttt_test::test_data_dir() / "tokenizer" / ("golden_" + name + ".json");
    simdjson::dom::element root = parser.load(path.string()).value();
    g.tokenizer = std::string(root["tokenizer"].get_string().value());
    g.lossless = root["lossless"].get_bool().value();
    simdjson::dom::array cases = root["cases"].get_array().value();
    for (simdjson::dom::element c : cases) {
        GoldenCase gc;
        if (!ttt_test::golden_case_text(c, &gc.text)) {
            ++g.skipped;
            continue;
        }
        gc.ids = ids_of(c["ids"].value());
        gc.ids_special = ids_of(c["ids_special"].value());
        simdjson::dom::element e;
        gc.ids_noparse = c["ids_noparse"].get(e) ? gc.ids : ids_of(e);
        gc.ids_noparse_special = c["ids_noparse_special"].get(e) ? gc.ids_special : ids_of(e);
        std::string_view s;
        if (!c["decoded"].get_string().get(s)) gc.decoded = std::string(s);
        else if (!c["decoded_hash"].get_string().get(s)) gc.decoded_hash = std::string(s);
        else gc.decoded = gc.text;
        if (!c["decoded_skip"].get_string().get(s)) gc.decoded_skip = std::string(s);
        else if (!c["decoded_skip_hash"].get_string().get(s)) gc.decoded_skip_hash = std::string(s);
        else gc.decoded_skip = gc.decoded, gc.decoded_skip_hash = gc.decoded_hash;
        g.cases.push_back(std::move(gc));
    }
    simdjson::dom::array decode_cases = root["decode_cases"].get_array().value();
    for (simdjson::dom::element c : decode_cases) {
        DecodeCase dc;
        dc.ids = ids_of(c["ids"].value());
        dc.decoded = std::string(c["decoded"].get_string().value());
        dc.decoded_skip = std::string(c["decoded_skip"].get_string().value());
        g.decode_cases.push_back(std::move(dc));
    }
    return g;
}

std::string show(const std::string& s) {
    std::string out;
    for (unsigned char c : s.substr(0, 120)) {
        if (c < 0x20 || c == 0x7F) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02X", c);
            out += buf;
        } else {
            out.push_back(static_cast<char>(c));
        }
    }
    return s.size() > 120 ? out + "..." : out;
}

std::string show(const std::vector<int32_t>& v) {
    std::string out = "[";
    for (size_t k = 0; k < v.size() && k < 40; ++k) out += (k ? "," : "") + std::to_string(v[k]);
    return out + (v.size() > 40 ? ",...]" : "]");
}

// Runs every comparison, reports the first few differences, and checks that there were none.
void check_golden(const std::string& name) {
    Golden g = load_golden(name);
    std::filesystem::path tok_path;
    if (g.tokenizer.rfind("shared:", 0) == 0) {
        if (!ttt_test::have_shared_data()) {
            MESSAGE("skipping golden_" << name << ": shared data absent");
            return;
        }
        tok_path = ttt_test::shared_data_dir() / g.tokenizer.substr(7);
    } else {
        tok_path = ttt_test::test_data_dir() / "tokenizer" / g.tokenizer;
    }
    std::vector<uint8_t> bytes = ttt_test::read_bytes(tok_path);
    REQUIRE(!bytes.empty());
    auto tok = ttt::Tokenizer::from_json(std::string(bytes.begin(), bytes.end()));

    int failures = 0;
    size_t checks = 0;
    auto expect = [&](bool ok, const GoldenCase& c, const std::string& what, const std::string& got,
                      const std::string& want) {
        ++checks;
        if (ok) return;
        if (++failures <= 8) {
            MESSAGE(name << ": " << what << " differs for text \"" << show(c.text) << "\"\n  got  " << got
                         << "\n  want " << want);
        }
    };
    for (const GoldenCase& c : g.cases) {
        auto ids = tok->encode(c.text, false, true);
        expect(ids == c.ids, c, "encode(add_special=0, parse_special=1)", show(ids), show(c.ids));
        auto ids_sp = tok->encode(c.text, true, true);
        expect(ids_sp == c.ids_special, c, "encode(1, 1)", show(ids_sp), show(c.ids_special));
        auto ids_np = tok->encode(c.text, false, false);
        expect(ids_np == c.ids_noparse, c, "encode(0, 0)", show(ids_np), show(c.ids_noparse));
        auto ids_np_sp = tok->encode(c.text, true, false);
        expect(ids_np_sp == c.ids_noparse_special, c, "encode(1, 0)", show(ids_np_sp), show(c.ids_noparse_special));

        std::string dec = tok->decode(c.ids.data(), c.ids.size(), false);
        if (c.decoded_hash.empty()) expect(dec == c.decoded, c, "decode(ids)", show(dec), show(c.decoded));
        else expect(poly_hash_text(dec) == c.decoded_hash, c, "decode(ids) hash", poly_hash_text(dec), c.decoded_hash);
        std::string dec_skip = tok->decode(c.ids_special.data(), c.ids_special.size(), true);
        if (c.decoded_skip_hash.empty())
            expect(dec_skip == c.decoded_skip, c, "decode(ids_special, skip_special)", show(dec_skip), show(c.decoded_skip));
        else
            expect(poly_hash_text(dec_skip) == c.decoded_skip_hash, c, "decode(ids_special, skip_special) hash",
                   poly_hash_text(dec_skip), c.decoded_skip_hash);
        if (g.lossless) {
            // Byte-level: the text comes back exactly, through decode and through the concatenated pieces.
            std::string round = tok->decode(ids_np.data(), ids_np.size(), false);
            expect(round == c.text, c, "decode(encode(text))", show(round), show(c.text));
            std::string pieces;
            for (int32_t id : ids_np) pieces += tok->token_to_piece(id);
            expect(pieces == c.text, c, "concatenated pieces", show(pieces), show(c.text));
        }
    }
    for (const DecodeCase& d : g.decode_cases) {
        GoldenCase shown;
        shown.text = "<ids " + show(d.ids) + ">";
        std::string dec = tok->decode(d.ids.data(), d.ids.size(), false);
        expect(dec == d.decoded, shown, "decode(random ids)", show(dec), show(d.decoded));
        std::string dec_skip = tok->decode(d.ids.data(), d.ids.size(), true);
        expect(dec_skip == d.decoded_skip, shown, "decode(random ids, skip_special)", show(dec_skip),
               show(d.decoded_skip));
    }
    MESSAGE("golden_" << name << ": " << g.cases.size() << " texts, " << g.decode_cases.size()
                      << " id sequences, " << checks << " comparisons, " << failures << " differences"
                      << (g.skipped ? ", " + std::to_string(g.skipped) + " corpus excerpts skipped (no shared data)" : ""));
    CHECK(g.cases.size() >= 300);
    CHECK(failures == 0);
}

}  // namespace

TEST_CASE("tokenizer golden: TinyLlama (SentencePiece-style BPE, byte fallback)") { check_golden("tinyllama"); }
TEST_CASE("tokenizer golden: HF byte-level BPE, Llama-3 split, added tokens") { check_golden("hf_bytelevel_llama3"); }
TEST_CASE("tokenizer golden: HF byte-level BPE, GPT-2 ByteLevel with prefix space") { check_golden("hf_bytelevel_gpt2"); }
TEST_CASE("tokenizer golden: HF byte-level BPE, Qwen2 split") { check_golden("hf_bytelevel_qwen2"); }
TEST_CASE("tokenizer golden: HF SentencePiece-style, Metaspace first, no split") { check_golden("hf_spm_first"); }
TEST_CASE("tokenizer golden: HF SentencePiece-style, Metaspace split, Metaspace decoder") { check_golden("hf_spm_split"); }
TEST_CASE("tokenizer golden: HF SentencePiece-style without byte fallback (unk)") { check_golden("hf_spm_unk"); }
TEST_CASE("tokenizer golden: our train_bpe output, as HF encodes it") { check_golden("ttt_bytelevel"); }
TEST_CASE("tokenizer golden: hand-made merges (ignore_merges, repeated merge, literal splits, no decoder)") {
    check_golden("hand_merges");
}
TEST_CASE("tokenizer golden: hand-made SentencePiece vocab with merges across word boundaries") {
    check_golden("hand_spm_cross");
}
TEST_CASE("tokenizer golden: hand-made affixes (##, </w>, unk, Bert post-processor, single_word)") {
    check_golden("hand_affixes");
}

TEST_CASE("tokenizer golden: the whole tinyshakespeare corpus in one call (ids and decode hashes)") {
    if (!ttt_test::have_shared_data()) return;
    std::vector<uint8_t> corpus_bytes = ttt_test::read_bytes(ttt_test::shared_data_dir() / "tinyshakespeare.txt");
    const std::string corpus(corpus_bytes.begin(), corpus_bytes.end());
    simdjson::dom::parser parser;
    auto path = ttt_test::test_data_dir() / "tokenizer" / "golden_corpus.json";
    simdjson::dom::element root = parser.load(path.string()).value();
    simdjson::dom::array entries = root["entries"].get_array().value();
    size_t n = 0;
    for (simdjson::dom::element e : entries) {
        std::string name(e["name"].get_string().value());
        std::string ref(e["tokenizer"].get_string().value());
        auto tok_path = ref.rfind("shared:", 0) == 0 ? ttt_test::shared_data_dir() / ref.substr(7)
                                                     : ttt_test::test_data_dir() / "tokenizer" / ref;
        std::vector<uint8_t> bytes = ttt_test::read_bytes(tok_path);
        auto tok = ttt::Tokenizer::from_json(std::string(bytes.begin(), bytes.end()));
        auto ids = tok->encode(corpus, false, true);
        std::string decoded = tok->decode(ids.data(), ids.size(), false);
        INFO("tokenizer " << name);
        CHECK(ids.size() == static_cast<size_t>(e["n_ids"].get_int64().value()));
        CHECK(std::to_string(poly_hash_ids(ids)) == std::string(e["ids_hash"].get_string().value()));
        CHECK(poly_hash_text(decoded) == std::string(e["decoded_hash"].get_string().value()));
        ++n;
    }
    CHECK(n >= 11);
}
