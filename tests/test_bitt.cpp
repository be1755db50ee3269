// .bitt v1 → v2 → model directory round trips keep logits identical; checksums catch corruption; loading from
// memory; the bit-ttt info and convert commands.
#include <doctest/doctest.h>

#include <array>
#include <cstdio>

#include "common/error.h"
#include "io/bitt_file_writer.h"
#include "load/bitt_model.h"
#include "load/model_tensors.h"
#include "load/config_json.h"
#include "io/json.h"
#include "load/model_files.h"
#include <sys/wait.h>
#include "cli_util.h"
#include "model_fixture.h"

using namespace ttt_test;

namespace {

const char* kTinyTokenizer = R"({"version":"1.0","model":{"type":"BPE","vocab":{"<unk>":0,"<s>":1,"</s>":2},"merges":[]}})";

// An upstream v1 file: BITT | u64 N | {"config", "tokenizer"} | the latent safetensors file, unmodified.
std::vector<uint8_t> make_v1(const std::string& dir, bool tokenizer_as_string) {
    auto cfg = read_bytes(std::filesystem::path(dir) / "config.json");
    auto st = read_bytes(std::filesystem::path(dir) / "model.safetensors");
    std::string tok = tokenizer_as_string ? ttt::json_quote(kTinyTokenizer) : std::string(kTinyTokenizer);
    std::string header = "{\"config\":" + std::string(cfg.begin(), cfg.end()) + ",\"tokenizer\":" + tok + "}";
    std::vector<uint8_t> out = {'B', 'I', 'T', 'T'};
    for (int i = 0; i < 8; ++i) out.push_back(uint8_t(uint64_t(header.size()) >> (8 * i)));
    out.insert(out.end(), header.begin(), header.end());
    out.insert(out.end(), st.begin(), st.end());
    return out;
}

}  // namespace

TEST_CASE(".bitt v1 -> v2 -> directory round trips keep logits identical") {
    TempDir tmp;
    for (int variant = 0; variant < 3; ++variant) {
        FixtureSpec spec;
        spec.chunk = variant == 2 ? 3 : 1;
        spec.scale = variant >= 1;
        spec.act_bits = variant == 2 ? 8 : 0;
        spec.dim = variant == 1 ? 20 : 12;  // d = 5: rows of odd width exercise the row padding
        spec.intermediate = variant == 1 ? 30 : 0;
        const std::string src = write_fixture_model(tmp.path / ("src" + std::to_string(variant)), spec);
        const auto v1_path = tmp.path / ("m" + std::to_string(variant) + "_v1.bitt");
        write_bytes(v1_path, make_v1(src, variant == 1));
        const auto tokens = random_tokens(25, spec.vocab, 11);

        Model from_dir(src), from_v1(v1_path.string());
        REQUIRE(from_dir.m);
        REQUIRE(from_v1.m);
        const auto want = all_logits(from_dir.m, tokens);
        CHECK(max_abs_diff(all_logits(from_v1.m, tokens), want) == 0.0f);

        int rc = 0;
        const auto v2_path = tmp.path / ("m" + std::to_string(variant) + "_v2.bitt");
        std::string out = run_cli("convert " + v1_path.string() + " " + v2_path.string(), &rc);
        REQUIRE_MESSAGE(rc == 0, out);
        Model from_v2(v2_path.string());
        REQUIRE(from_v2.m);
        CHECK(max_abs_diff(all_logits(from_v2.m, tokens), want) == 0.0f);

        const auto dir2 = tmp.path / ("m" + std::to_string(variant) + "_dir");
        out = run_cli("convert " + v2_path.string() + " " + dir2.string(), &rc);
        REQUIRE_MESSAGE(rc == 0, out);
        CHECK(std::filesystem::exists(dir2 / "tokenizer.json"));
        Model from_dir2(dir2.string());
        REQUIRE(from_dir2.m);
        CHECK(max_abs_diff(all_logits(from_dir2.m, tokens), want) == 0.0f);

        // The fingerprint survives every conversion, so souls move between the formats.
        ttt_model_info a, b;
        a.struct_size = b.struct_size = sizeof a;
        ttt_model_get_info(from_dir.m, &a);
        ttt_model_get_info(from_dir2.m, &b);
        CHECK(a.fingerprint == b.fingerprint);

        // Loading the v2 image from memory gives the same model.
        const auto bytes = read_bytes(v2_path);
        ttt_model* mem = nullptr;
        REQUIRE(ttt_load_bitt_buffer(bytes.data(), bytes.size(), nullptr, &mem) == TTT_OK);
        CHECK(max_abs_diff(all_logits(mem, tokens), want) == 0.0f);
        ttt_model_free(mem);
    }
}

TEST_CASE(".bitt v2 layout: aligned body and tensors, checksum verified") {
    TempDir tmp;
    FixtureSpec spec;
    Model model(write_fixture_model(tmp.path / "m", spec));
    ttt::LoadedModel lm = ttt::load_model_path((tmp.path / "m").string(), {});
    std::vector<uint8_t> bytes = ttt::write_bitt_v2(lm.weights, kTinyTokenizer);
    ttt::BittFile f = ttt::parse_bitt(ttt::own_bytes(bytes), "v2", true);
    CHECK(f.format_version == 3);
    CHECK(f.checksum_verified);
    CHECK(f.tokenizer_json.find("<unk>") != std::string::npos);
    const uint8_t* base = f.bytes.data;
    for (const auto& t : f.body.tensors) {
        const size_t offset = size_t(t.data - base);
        CAPTURE(t.name);
        CHECK(offset % ttt::dtype_size(t.dtype) == 0);
    }
    // The first tensor starts at a multiple of 64 in the file.
    size_t first = SIZE_MAX;
    for (const auto& t : f.body.tensors) first = std::min(first, size_t(t.data - base));
    CHECK(first % 64 == 0);

    // One flipped bit in the body: refused with a checksum error (or verify off: loads, shown as unverified).
    std::vector<uint8_t> bad = bytes;
    bad[bad.size() - 3] ^= 1;
    ttt_model* m = nullptr;
    CHECK(ttt_load_bitt_buffer(bad.data(), bad.size(), nullptr, &m) == TTT_ERR_FORMAT);
    CHECK(std::string(ttt_last_error()).find("checksum") != std::string::npos);
    CHECK(m == nullptr);
    // Truncated by one byte: the header's body_bytes disagrees.
    CHECK(ttt_load_bitt_buffer(bytes.data(), bytes.size() - 1, nullptr, &m) == TTT_ERR_FORMAT);
    CHECK(std::string(ttt_last_error()).find("truncated") != std::string::npos);
}

TEST_CASE("every truncation of a .bitt v1 and v2 file is refused with a clear error") {
    TempDir tmp;
    FixtureSpec spec;
    spec.vocab = 11;
    spec.dim = 8;
    spec.layers = 1;
    const std::string dir = write_fixture_model(tmp.path / "m", spec);
    ttt::LoadedModel lm = ttt::load_model_path(dir, {});
    for (const auto& bytes : {make_v1(dir, false), ttt::write_bitt_v2(lm.weights, "")}) {
        for (size_t cut = 0; cut < bytes.size(); ++cut) {
            ttt_model* m = nullptr;
            ttt_status st = ttt_load_bitt_buffer(bytes.data(), cut, nullptr, &m);
            CAPTURE(cut);
            CHECK(st == TTT_ERR_FORMAT);
            CHECK(m == nullptr);
            CHECK(std::string(ttt_last_error()).size() > 20);
        }
    }
}

TEST_CASE("bit-ttt info prints config, tensors and checksum state") {
    TempDir tmp;
    FixtureSpec spec;
    const std::string dir = write_fixture_model(tmp.path / "m", spec);
    int rc = 0;
    std::string out = run_cli("info " + dir, &rc);
    CHECK(rc == 0);
    CHECK(out.find("hidden_dim 12") != std::string::npos);
    CHECK(out.find("layers.2.mlp.down_proj.weight") != std::string::npos);
    CHECK(out.find("checksum: none") != std::string::npos);
    const std::string v2 = (tmp.path / "m.bitt").string();
    REQUIRE(run_cli("convert " + dir + " " + v2, &rc).size() > 0);
    out = run_cli("info " + v2, &rc);
    CHECK(rc == 0);
    CHECK(out.find(".bitt v3") != std::string::npos);
    CHECK(out.find("verified") != std::string::npos);
    CHECK(out.find("weight_ternary") != std::string::npos);
    out = run_cli("info " + (tmp.path / "nope.bitt").string(), &rc);
    CHECK(rc == 1);
    CHECK(out.find("nope.bitt") != std::string::npos);
}

TEST_CASE(".bitt streamed save: the same bytes as the in-memory image, crash-safe, checked") {
    TempDir tmp;
    FixtureSpec spec;
    Model model(write_fixture_model(tmp.path / "m", spec));
    ttt::LoadedModel lm = ttt::load_model_path((tmp.path / "m").string(), {});
    const std::string path = (tmp.path / "streamed.bitt").string();
    ttt::save_model_bitt(path, lm.weights, kTinyTokenizer);
    CHECK(read_bytes(path) == ttt::write_bitt_v2(lm.weights, kTinyTokenizer));
    CHECK(ttt::load_model_path(path, {}).fingerprint == lm.fingerprint);

    // The writer refuses what would make a wrong file, and a writer dropped before commit leaves the old file.
    const std::vector<uint8_t> before = read_bytes(path);
    const std::vector<ttt::WeightTensor> tensors = ttt::weight_tensors(lm.weights);
    std::vector<ttt::TensorSpec> specs;
    for (const auto& t : tensors) specs.push_back(t.spec);
    ttt::BittContents c;
    c.config_json = ttt::config_to_json(lm.weights.config);
    c.weights_layout = ttt::kTernaryLayoutName;
    {
        ttt::BittFileWriter w(path, c, specs, ttt::weights_metadata());
        const size_t k = w.next_index();
        REQUIRE(k != ttt::BittFileWriter::kDone);
        std::vector<uint8_t> too_many(tensors[k].spec.n_bytes + 1, 0);
        CHECK_THROWS_WITH_AS(w.write(too_many.data(), too_many.size()), doctest::Contains("overrun"), ttt::Error);
        w.write(tensors[k].data, 4);  // a partial tensor
        CHECK_THROWS_WITH_AS(w.commit(lm.fingerprint), doctest::Contains("was not written"), ttt::Error);
    }
    CHECK(read_bytes(path) == before);
    for (const auto& e : std::filesystem::directory_iterator(tmp.path))
        CHECK(e.path().filename().string().find(".tmp.") == std::string::npos);  // no temp file left behind

    specs[0].n_bytes += 1;  // a directory whose sizes disagree with the shapes is refused before any byte
    CHECK_THROWS_WITH_AS(ttt::BittFileWriter(path, c, specs, {}), doctest::Contains("cannot hold"), ttt::Error);
    specs[0].n_bytes -= 1;
    specs.push_back(specs[0]);
    CHECK_THROWS_WITH_AS(ttt::BittFileWriter(path, c, specs, {}), doctest::Contains("written twice"), ttt::Error);
    CHECK(read_bytes(path) == before);
}
