// Data safety (issue 17): every byte that decides how a .bitt or a soul is read is covered by a checksum, so damage
// is an error and never a silently different model or soul; old files we wrote still load; integer fields outside
// int64 are refused without undefined behaviour; paths that are not regular files and files that are not souls get
// messages that say so; temp files of killed saves are cleaned by the next save.
#include <doctest/doctest.h>

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>

#include "load/bitt_model.h"
#include "load/config_json.h"
#include "load/model_files.h"
#include "io/safetensors.h"
#include "model_fixture.h"

using namespace ttt_test;

namespace {

const char* kTinyTokenizer =
    R"({"version":"1.0","model":{"type":"BPE","vocab":{"<unk>":0,"<s>":1,"</s>":2},"merges":[]}})";

std::string last_error() { return ttt_last_error(); }

// Replace the first occurrence of `from` (same length as `to`) in bytes; fails the test if absent.
void replace_once(std::vector<uint8_t>& bytes, const std::string& from, const std::string& to) {
    REQUIRE(from.size() == to.size());
    auto it = std::search(bytes.begin(), bytes.end(), from.begin(), from.end());
    REQUIRE(it != bytes.end());
    std::copy(to.begin(), to.end(), it);
}

std::vector<uint8_t> soul_bytes(ttt_context* c) {
    size_t size = 0;
    ttt_save_soul_buffer(c, nullptr, 0, &size);
    std::vector<uint8_t> out(size);
    REQUIRE(ttt_save_soul_buffer(c, out.data(), out.size(), &size) == TTT_OK);
    return out;
}

// A soul as this library wrote it before meta_crc32c existed (format_version 2), rebuilt from a current one.
std::vector<uint8_t> as_v2_soul(const std::vector<uint8_t>& v3, const std::map<std::string, std::string>& changes = {}) {
    ttt::SafetensorsView st = ttt::parse_safetensors(v3.data(), v3.size(), "soul");
    ttt::SafetensorsWriter w;
    for (const auto& t : st.tensors) w.add(t.name, t.dtype, t.shape, t.data, t.n_bytes);
    for (const auto& kv : st.metadata)
        if (kv.first != "meta_crc32c") w.set_metadata(kv.first, kv.first == "format_version" ? "2" : kv.second);
    for (const auto& kv : changes) w.set_metadata(kv.first, kv.second);
    return w.finish();
}

}  // namespace

TEST_CASE("an integer field outside int64 (\"ttt_chunk\": 2e19) is refused, naming the field, without UB") {
    TempDir tmp;
    FixtureSpec spec;
    const std::string dir = write_fixture_model(tmp.path / "m", spec);
    for (const char* value : {"2e19", "-1e300", "9.3e18"}) {
        CAPTURE(value);
        std::string cfg = "{\"vocab_size\":37,\"hidden_dim\":12,\"num_layers\":3,\"inner_lr\":0.5,\"ttt_chunk\":" +
                          std::string(value) + "}";
        write_bytes(tmp.path / "m" / "config.json", std::vector<uint8_t>(cfg.begin(), cfg.end()));
        ttt_model* m = nullptr;
        CHECK(ttt_load_model(dir.c_str(), nullptr, &m) == TTT_ERR_FORMAT);
        CHECK(m == nullptr);
        CHECK(last_error().find("\"ttt_chunk\" must be an integer in the 64-bit range") != std::string::npos);
    }
    // A float field beyond the float range: the double-to-float conversion would be undefined; refused by name.
    const std::string cfg = "{\"vocab_size\":37,\"hidden_dim\":12,\"num_layers\":3,\"inner_lr\":1e300}";
    write_bytes(tmp.path / "m" / "config.json", std::vector<uint8_t>(cfg.begin(), cfg.end()));
    ttt_model* m = nullptr;
    CHECK(ttt_load_model(dir.c_str(), nullptr, &m) == TTT_ERR_FORMAT);
    CHECK(last_error().find("\"inner_lr\" = ") != std::string::npos);
    CHECK(last_error().find("outside the float range") != std::string::npos);
}

TEST_CASE(".bitt v3: the header checksum covers the config, the tokenizer and every other header field") {
    TempDir tmp;
    FixtureSpec spec;
    write_fixture_model(tmp.path / "m", spec);
    ttt::LoadedModel lm = ttt::load_model_path((tmp.path / "m").string(), {});
    const std::vector<uint8_t> good = ttt::write_bitt_v2(lm.weights, kTinyTokenizer);
    ttt_model* m = nullptr;
    REQUIRE(ttt_load_bitt_buffer(good.data(), good.size(), nullptr, &m) == TTT_OK);
    ttt_model_free(m);
    CHECK(ttt::parse_bitt(ttt::own_bytes(good), "x", true).format_version == 3);

    struct Damage {
        const char* what;
        std::string from, to;
    };
    const Damage damages[] = {
        {"a vocabulary entry of the embedded tokenizer", "\"</s>\":2", "\"</t>\":2"},
        {"the tokenizer's model type", "\"BPE\"", "\"BQE\""},
        {"a config value", "\"inner_lr\":0.5", "\"inner_lr\":0.7"},
        {"the body checksum", "\"body_crc32c\":\"", "\"body_crc32x\":\""},
        {"the format version", "\"format_version\":3", "\"format_version\":2"},
        {"the header checksum's own key", "\"header_crc32c\"", "\"header_crc32d\""},
    };
    for (const Damage& d : damages) {
        CAPTURE(d.what);
        std::vector<uint8_t> bad = good;
        replace_once(bad, d.from, d.to);
        m = nullptr;
        CHECK(ttt_load_bitt_buffer(bad.data(), bad.size(), nullptr, &m) == TTT_ERR_FORMAT);
        CHECK(m == nullptr);
        CHECK(last_error().find("corrupted") != std::string::npos);
    }
    // Whitespace in the padding is JSON whitespace: harmless, and allowed.
    std::vector<uint8_t> padded = good;
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | padded[size_t(4 + i)];
    if (padded[12 + n - 1] == ' ') {
        padded[12 + n - 1] = '\n';
        REQUIRE(ttt_load_bitt_buffer(padded.data(), padded.size(), nullptr, &m) == TTT_OK);
        ttt_model_free(m);
    }
}

TEST_CASE(".bitt v2 files written before the header checksum still load (the upstream-form demo model)") {
    // The first demo model, kept as a fixture when the delta-layer model replaced it (models/README.md).
    const auto demo = std::filesystem::path(TTT_TEST_DATA_DIR) / "models" / "shakespeare-upstream.bitt";
    if (!std::filesystem::exists(demo)) return;
    const std::vector<uint8_t> bytes = read_bytes(demo);
    CHECK(ttt::parse_bitt(ttt::own_bytes(bytes), "demo", true).format_version == 2);
    Model m(demo.string());
    REQUIRE(m.m != nullptr);
}

TEST_CASE("soul metadata is covered: format key, position, chunk and level damage is refused") {
    TempDir tmp;
    FixtureSpec spec;
    spec.chunk = 3;
    Model model(write_fixture_model(tmp.path / "m", spec));
    Context ctx(model.m);
    const auto t = random_tokens(7, spec.vocab, 1);  // 7 tokens, chunk 3: an open chunk of one token
    REQUIRE(ttt_forward(ctx.c, t.data(), t.size(), nullptr) == TTT_OK);
    const std::vector<uint8_t> good = soul_bytes(ctx.c);
    {
        Context c2(model.m);
        REQUIRE(ttt_load_soul_buffer(c2.c, good.data(), good.size(), 0) == TTT_OK);
    }
    struct Damage {
        std::string what, from, to;
    };
    const Damage damages[] = {
        {"the format key (would load as an upstream soul)", "\"format\":", "\"formav\":"},
        {"the position (not in the state checksum)", "\"position\":\"7\"", "\"position\":\"6\""},
        {"the chunk (would drop the open chunk)", "\"ttt_chunk\":\"3\"", "\"ttt_chunk\":\"1\""},
        {"the level", "\"soul_level\":\"7\"", "\"soul_level\":\"5\""},
        {"the format version", "\"format_version\":\"3\"", "\"format_version\":\"2\""},
        {"meta_config's level", "\"meta_config\"", "\"meta_config\""},  // placeholder, replaced below
    };
    for (const Damage& d : damages) {
        CAPTURE(d.what);
        std::vector<uint8_t> bad = good;
        if (d.what == "meta_config's level") {
            bad[bad.size() - 1] ^= 2;  // meta_config is the last tensor: its last byte is level_lo's top byte
        } else {
            replace_once(bad, d.from, d.to);
        }
        Context c2(model.m);
        CHECK(ttt_load_soul_buffer(c2.c, bad.data(), bad.size(), 0) == TTT_ERR_FORMAT);
        CHECK((last_error().find("corrupted") != std::string::npos || last_error().find("damaged") != std::string::npos));
        uint64_t level = 99;
        ttt_get_soul_level(c2.c, &level);
        CHECK(level == 0);
    }
}

TEST_CASE("souls written before meta_crc32c (format_version 2) still load; a chunk that contradicts the fingerprint "
          "is refused") {
    TempDir tmp;
    FixtureSpec spec;
    spec.chunk = 3;
    Model model(write_fixture_model(tmp.path / "m", spec));
    Context ctx(model.m);
    const auto t = random_tokens(7, spec.vocab, 1);
    REQUIRE(ttt_forward(ctx.c, t.data(), t.size(), nullptr) == TTT_OK);
    const std::vector<uint8_t> v3 = soul_bytes(ctx.c);
    const auto next = random_tokens(4, spec.vocab, 2);
    std::vector<float> want(next.size() * size_t(spec.vocab)), got(want.size());
    const std::vector<uint8_t> v2 = as_v2_soul(v3);
    {
        Context c2(model.m);
        REQUIRE(ttt_load_soul_buffer(c2.c, v2.data(), v2.size(), 0) == TTT_OK);
        REQUIRE(ttt_forward_all(c2.c, next.data(), next.size(), got.data()) == TTT_OK);
        REQUIRE(ttt_forward_all(ctx.c, next.data(), next.size(), want.data()) == TTT_OK);
        CHECK(max_abs_diff(got, want) == 0.0f);
    }
    // Same fingerprint, other chunk: the file contradicts itself; without TTT_SOUL_FORCE the open chunk used to be
    // dropped silently. Now it is an error, forced or not.
    const std::vector<uint8_t> bad = as_v2_soul(v3, {{"ttt_chunk", "2"}});
    for (uint32_t flags : {0u, uint32_t(TTT_SOUL_FORCE)}) {
        Context c2(model.m);
        CHECK(ttt_load_soul_buffer(c2.c, bad.data(), bad.size(), flags) == TTT_ERR_FORMAT);
        CHECK(last_error().find("contradicts its fingerprint") != std::string::npos);
    }
    // A damaged format key in a v2 soul: metadata without our format is not read as an upstream soul.
    std::vector<uint8_t> renamed = v2;
    replace_once(renamed, "\"format\":", "\"formav\":");
    Context c3(model.m);
    CHECK(ttt_load_soul_buffer(c3.c, renamed.data(), renamed.size(), 0) == TTT_ERR_FORMAT);
    CHECK(last_error().find("not a soul file") != std::string::npos);
}

TEST_CASE("a text file given as a soul is 'not a soul file'; /dev/null and a FIFO are named as what they are") {
    TempDir tmp;
    FixtureSpec spec;
    const std::string dir = write_fixture_model(tmp.path / "m", spec);
    Model model(dir);
    Context ctx(model.m);
    const std::string text = "Once upon a time there was a player who saved a text file as a soul.\n";
    write_bytes(tmp.path / "story.soul", std::vector<uint8_t>(text.begin(), text.end()));
    CHECK(ttt_load_soul(ctx.c, (tmp.path / "story.soul").c_str(), 0) == TTT_ERR_FORMAT);
    CHECK(last_error().find("not a soul file") != std::string::npos);
    CHECK(last_error().find("exceeds") == std::string::npos);

    ttt_model* m = nullptr;
    CHECK(ttt_load_model("/dev/null", nullptr, &m) == TTT_ERR_IO);
    CHECK(last_error().find("character device") != std::string::npos);
    CHECK(last_error().find("No such file") == std::string::npos);

    const std::string fifo = (tmp.path / "pipe.bitt").string();
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    CHECK(ttt_load_model(fifo.c_str(), nullptr, &m) == TTT_ERR_IO);
    CHECK(last_error().find("FIFO") != std::string::npos);
    // Reading a FIFO would wait for a writer forever; it is refused at once instead.
    CHECK(ttt_load_soul(ctx.c, fifo.c_str(), 0) == TTT_ERR_IO);
    CHECK(last_error().find("FIFO") != std::string::npos);
}

TEST_CASE("temp files of killed saves are removed by the next save to the same path; live ones are kept") {
    TempDir tmp;
    FixtureSpec spec;
    Model model(write_fixture_model(tmp.path / "m", spec));
    Context ctx(model.m);
    // A pid that surely is dead: a child that has exited and been reaped.
    pid_t dead = ::fork();
    if (dead == 0) ::_exit(0);
    REQUIRE(dead > 0);
    int status = 0;
    ::waitpid(dead, &status, 0);
    const auto stale = tmp.path / ("npc.soul.tmp." + std::to_string(dead) + ".0");
    const auto stale2 = tmp.path / ("npc.soul.tmp." + std::to_string(dead) + ".17");
    const auto live = tmp.path / ("npc.soul.tmp." + std::to_string(::getppid()) + ".0");  // our parent is alive
    const auto other = tmp.path / ("other.soul.tmp." + std::to_string(dead) + ".0");     // another target's
    for (const auto& p : {stale, stale2, live, other}) write_bytes(p, {1, 2, 3});
    const std::string path = (tmp.path / "npc.soul").string();
    REQUIRE(ttt_save_soul(ctx.c, path.c_str()) == TTT_OK);
    CHECK_FALSE(std::filesystem::exists(stale));
    CHECK_FALSE(std::filesystem::exists(stale2));
    CHECK(std::filesystem::exists(live));
    CHECK(std::filesystem::exists(other));
}

TEST_CASE("limits: prompt, stop strings and remembered text beyond their limits are refused before being read") {
    TempDir tmp;
    Model model(write_text_model(tmp.path / "m"));
    Context ctx(model.m);
    const char one = 'x';
    // The length is checked first: the 1-byte buffer is never read past its end.
    CHECK(ttt_generate_begin(ctx.c, &one, (size_t(64) << 20) + 1, nullptr) == TTT_ERR_INVALID_ARGUMENT);
    CHECK(last_error().find("prompt of 67108865 bytes is over the 64 MiB limit") != std::string::npos);
    CHECK(ttt_remember((tmp.path / "mem").c_str(), "user", &one, (size_t(16) << 20) + 1) == TTT_ERR_INVALID_ARGUMENT);
    ttt_generate_params p;
    ttt_generate_params_init(&p, sizeof p);
    std::vector<const char*> many(65, "stop");
    p.stop_strings = many.data();
    p.n_stop_strings = many.size();
    CHECK(ttt_generate_begin(ctx.c, "Hi", 2, &p) == TTT_ERR_INVALID_ARGUMENT);
    CHECK(last_error().find("n_stop_strings 65 must be in [0, 64]") != std::string::npos);
    const std::string long_stop(5000, 'a');
    const char* one_long[] = {long_stop.c_str()};
    p.stop_strings = one_long;
    p.n_stop_strings = 1;
    CHECK(ttt_generate_begin(ctx.c, "Hi", 2, &p) == TTT_ERR_INVALID_ARGUMENT);
    CHECK(last_error().find("longer than 4096 bytes") != std::string::npos);
    const std::string ok_stop(4096, 'a');
    const char* one_ok[] = {ok_stop.c_str()};
    p.stop_strings = one_ok;
    CHECK(ttt_generate_begin(ctx.c, "Hi", 2, &p) == TTT_OK);
}
