// Crash safety and corruption (issue 17): SIGKILL at random moments during soul saves, .bitt writes, checkpoint
// writes and memories appends leaves the old or the new complete file, never a torn one, and the next save removes
// the temp files the killed saves left; failing writes (a file size limit, a full file system where one can be
// mounted) give a clear error and leave the old file intact; thousands of random bit flips and byte-range overwrites
// of a .bitt v3 and a soul are each refused or provably harmless (same logits, same tokenization), never a crash.
#include <doctest/doctest.h>

#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <random>
#include <thread>

#include "common/error.h"
#include "load/bitt_model.h"
#include "io/file.h"
#include "load/model_files.h"
#include "memory/memories.h"
#include "model_fixture.h"
#include "train/adamw.h"
#include "train/checkpoint.h"

using namespace ttt_test;
namespace fs = std::filesystem;

namespace {

const char* kTinyTokenizer =
    R"({"version":"1.0","model":{"type":"BPE","vocab":{"<unk>":0,"<s>":1,"</s>":2,"a":3,"b":4,"ab":5},"merges":["a b"]}})";

size_t temp_files_in(const fs::path& dir) {
    size_t n = 0;
    for (auto& e : fs::directory_iterator(dir)) n += e.path().filename().string().find(".tmp.") != std::string::npos;
    return n;
}

// Runs `save(i)` for i = 0, 1, 2, ... in a child process until it is SIGKILLed after a random delay (0 to max_us
// microseconds, so kills land before, during and after saves), `kills` times. `check()` runs after each kill.
template <class Save, class Check>
void kill_during(int kills, int max_us, uint32_t seed, Save save, Check check) {
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> delay(0, max_us);
    for (int k = 0; k < kills; ++k) {
        const pid_t pid = ::fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            for (uint64_t i = 0;; ++i) save(i);
        }
        std::this_thread::sleep_for(std::chrono::microseconds(delay(rng)));
        ::kill(pid, SIGKILL);
        int status = 0;
        ::waitpid(pid, &status, 0);
        REQUIRE((WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL));
        check();
    }
}

std::vector<uint8_t> soul_bytes(ttt_context* c) {
    size_t n = 0;
    ttt_save_soul_buffer(c, nullptr, 0, &n);
    std::vector<uint8_t> out(n);
    REQUIRE(ttt_save_soul_buffer(c, out.data(), out.size(), &n) == TTT_OK);
    return out;
}

ttt::TrainParams small_params(float fill) {
    ttt::TrainParams p;
    p.config.vocab_size = 5;
    p.config.hidden_dim = 8;
    p.config.num_layers = 1;
    p.config.intermediate_dim = 32;
    p.config.inner_lr = 0.1f;
    ttt::ParamTensor t;
    t.name = "embed.weight";
    t.shape = {5, 8};
    t.size = 40;
    p.tensors.push_back(t);
    p.values.assign(40, fill);
    return p;
}

ttt::CheckpointInfo info_for(const ttt::TrainParams& p, int64_t step) {
    ttt::CheckpointInfo in;
    in.step = step;
    in.seed = 42;
    in.config = p.config;
    in.options_json = "{}";
    in.train_tokens = 100;
    return in;
}

}  // namespace

TEST_CASE("SIGKILL during soul saves and .bitt writes: the file is always the old or the new one; the next save "
          "cleans the temp files") {
    TempDir tmp;
    FixtureSpec spec;
    const std::string dir = write_fixture_model(tmp.path / "m", spec);
    Model model(dir);
    Context a(model.m), b(model.m);
    const auto ta = random_tokens(5, spec.vocab, 1), tb = random_tokens(9, spec.vocab, 2);
    REQUIRE(ttt_forward(a.c, ta.data(), ta.size(), nullptr) == TTT_OK);
    REQUIRE(ttt_forward(b.c, tb.data(), tb.size(), nullptr) == TTT_OK);
    const std::vector<uint8_t> soul_a = soul_bytes(a.c), soul_b = soul_bytes(b.c);
    REQUIRE(soul_a != soul_b);

    const fs::path saves = tmp.path / "saves";
    fs::create_directories(saves);
    const std::string soul_path = (saves / "npc.soul").string();
    REQUIRE(ttt_save_soul(a.c, soul_path.c_str()) == TTT_OK);
    int kills = 0;
    kill_during(60, 3000, 7, [&](uint64_t i) { ttt_save_soul((i % 2 ? b.c : a.c), soul_path.c_str()); }, [&] {
        const std::vector<uint8_t> now = read_bytes(soul_path);
        CHECK((now == soul_a || now == soul_b));
        Context c(model.m);
        CHECK(ttt_load_soul(c.c, soul_path.c_str(), 0) == TTT_OK);
        ++kills;
    });
    REQUIRE(ttt_save_soul(a.c, soul_path.c_str()) == TTT_OK);
    CHECK(temp_files_in(saves) == 0);

    // .bitt images: the convert/train export path (write_file_atomic).
    ttt::LoadedModel lm = ttt::load_model_path(dir, {});
    const std::vector<uint8_t> bitt_a = ttt::write_bitt_v2(lm.weights, kTinyTokenizer);
    const std::vector<uint8_t> bitt_b = ttt::write_bitt_v2(lm.weights, "");
    const std::string bitt_path = (saves / "model.bitt").string();
    ttt::write_file_atomic(bitt_path, bitt_a);
    kill_during(60, 3000, 8, [&](uint64_t i) { ttt::write_file_atomic(bitt_path, i % 2 ? bitt_b : bitt_a); }, [&] {
        const std::vector<uint8_t> now = read_bytes(bitt_path);
        CHECK((now == bitt_a || now == bitt_b));
        ++kills;
    });
    ttt::write_file_atomic(bitt_path, bitt_a);
    CHECK(temp_files_in(saves) == 0);
    MESSAGE(kills << " SIGKILLs during soul and .bitt saves: every file was a complete old or new one");
}

TEST_CASE("SIGKILL during checkpoint writes and memories appends: checkpoints verify, memories keep whole turns") {
    TempDir tmp;
    ttt::TrainParams pa = small_params(0.25f), pb = small_params(-0.5f);
    ttt::AdamW oa(pa, {}), ob(pb, {});
    const std::string ckpt = (tmp.path / "ckpt-00000001.safetensors").string();
    ttt::save_checkpoint(ckpt, pa, oa, info_for(pa, 1));
    const std::vector<uint8_t> ck_a = read_bytes(ckpt);
    ttt::save_checkpoint(ckpt, pb, ob, info_for(pb, 1));
    const std::vector<uint8_t> ck_b = read_bytes(ckpt);
    kill_during(60, 3000, 9,
                [&](uint64_t i) { i % 2 ? ttt::save_checkpoint(ckpt, pa, oa, info_for(pa, 1))
                                        : ttt::save_checkpoint(ckpt, pb, ob, info_for(pb, 1)); },
                [&] {
                    const std::vector<uint8_t> now = read_bytes(ckpt);
                    CHECK((now == ck_a || now == ck_b));
                    CHECK_NOTHROW(ttt::read_checkpoint(ckpt));
                });
    ttt::save_checkpoint(ckpt, pa, oa, info_for(pa, 1));
    CHECK(temp_files_in(tmp.path) == 0);

    // Memories: appends are single O_APPEND writes; a kill loses at most the line being written, and a torn line is
    // skipped when reading and never glued to the next one.
    const std::string mem = (tmp.path / "mem").string();
    const std::time_t day = 1767225600;  // 2026-01-01 (UTC); one day file
    kill_during(60, 3000, 10, [&](uint64_t i) { ttt::append_memory(mem, i % 2 ? "assistant" : "user", "turn " + std::to_string(i), day); },
                [&] {});
    ttt::append_memory(mem, "user", "the last word", day);
    const auto days = ttt::read_memories(mem);
    REQUIRE(days.size() == 1);
    CHECK(days[0].skipped_lines <= 60);
    REQUIRE(!days[0].turns.empty());
    CHECK(days[0].turns.back().text == "the last word");
    for (const auto& t : days[0].turns) CHECK((t.text.rfind("turn ", 0) == 0 || t.text == "the last word"));
}

TEST_CASE("failing writes (file size limit): a clear error, the old file intact, no temp file") {
    TempDir tmp;
    FixtureSpec spec;
    Model model(write_fixture_model(tmp.path / "m", spec));
    Context ctx(model.m);
    const std::string soul = (tmp.path / "npc.soul").string();
    REQUIRE(ttt_save_soul(ctx.c, soul.c_str()) == TTT_OK);
    const auto before = read_bytes(soul);
    const auto t = random_tokens(5, spec.vocab, 1);
    REQUIRE(ttt_forward(ctx.c, t.data(), t.size(), nullptr) == TTT_OK);
    const std::string mem = (tmp.path / "mem").string();
    const std::time_t day = 1767225600;
    ttt::append_memory(mem, "user", "before the limit", day);
    const auto mem_file = fs::directory_iterator(mem)->path();
    const auto mem_before = read_bytes(mem_file);
    ttt::TrainParams p = small_params(1.0f);
    ttt::AdamW o(p, {});
    const std::string ckpt = (tmp.path / "ckpt-00000001.safetensors").string();
    ttt::save_checkpoint(ckpt, p, o, info_for(p, 1));
    const auto ck_before = read_bytes(ckpt);

    // The kernel refuses writes past RLIMIT_FSIZE (EFBIG once SIGXFSZ is ignored): a real write failure midway.
    struct sigaction ignore {}, old_action {};
    ignore.sa_handler = SIG_IGN;
    ::sigaction(SIGXFSZ, &ignore, &old_action);
    rlimit old_limit{};
    ::getrlimit(RLIMIT_FSIZE, &old_limit);
    rlimit limit = old_limit;
    limit.rlim_cur = 300;  // smaller than a soul, a checkpoint and a long memories line
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &limit) == 0);
    const ttt_status soul_status = ttt_save_soul(ctx.c, soul.c_str());
    const std::string soul_error = ttt_last_error();
    std::string ckpt_error, mem_error;
    try {
        ttt::save_checkpoint(ckpt, p, o, info_for(p, 2));
    } catch (const ttt::Error& e) {
        ckpt_error = e.what();
    }
    try {
        ttt::append_memory(mem, "user", std::string(400, 'x'), day);
    } catch (const ttt::Error& e) {
        mem_error = e.what();
    }
    ::setrlimit(RLIMIT_FSIZE, &old_limit);
    ::sigaction(SIGXFSZ, &old_action, nullptr);

    CHECK(soul_status == TTT_ERR_IO);
    CHECK(soul_error.find("the old file is intact") != std::string::npos);
    CHECK(read_bytes(soul) == before);
    CHECK(ckpt_error.find("the old file is intact") != std::string::npos);
    CHECK(read_bytes(ckpt) == ck_before);
    CHECK(mem_error.find("the file is as it was") != std::string::npos);
    CHECK(read_bytes(mem_file) == mem_before);
    CHECK(temp_files_in(tmp.path) == 0);
}

TEST_CASE("a full file system: saves fail clearly and keep the old file (runs where a tmpfs can be mounted)") {
    if (::geteuid() != 0) {
        MESSAGE("not root: the full-disk test needs a small tmpfs (CI runs as root); skipped");
        return;
    }
    TempDir tmp;
    const fs::path disk = tmp.path / "disk";
    fs::create_directories(disk);
    if (::mount("tmpfs", disk.c_str(), "tmpfs", 0, "size=64k") != 0) {
        MESSAGE("cannot mount a tmpfs here (" << std::strerror(errno) << "); full-disk test skipped");
        return;
    }
    struct Unmount {
        fs::path p;
        ~Unmount() { ::umount2(p.c_str(), MNT_DETACH); }
    } unmount{disk};
    const std::string path = (disk / "npc.soul").string();
    ttt::write_file_atomic(path, std::vector<uint8_t>(20000, 1));
    std::string error;
    try {
        ttt::write_file_atomic(path, std::vector<uint8_t>(60000, 2));  // old + temp exceed 64 KiB: ENOSPC
    } catch (const ttt::Error& e) {
        error = e.what();
    }
    CHECK(error.find("No space left") != std::string::npos);
    CHECK(error.find("the old file is intact") != std::string::npos);
    CHECK(read_bytes(path) == std::vector<uint8_t>(20000, 1));
    CHECK(temp_files_in(disk) == 0);
}

TEST_CASE("10,000+ random bit flips and byte-range overwrites of a .bitt v3 and a soul: refused or harmless") {
    TempDir tmp;
    FixtureSpec spec;
    spec.vocab = 6;
    spec.chunk = 3;
    const std::string dir = write_fixture_model(tmp.path / "m", spec);
    ttt::LoadedModel lm = ttt::load_model_path(dir, {});
    const std::vector<uint8_t> bitt = ttt::write_bitt_v2(lm.weights, kTinyTokenizer);
    ttt_model* original = nullptr;
    REQUIRE(ttt_load_bitt_buffer(bitt.data(), bitt.size(), nullptr, &original) == TTT_OK);
    Model keep;
    keep.m = original;
    const std::vector<int32_t> probe = {1, 3, 4, 5, 2, 0, 3};
    const std::vector<float> want = all_logits(original, probe);
    const std::string text = "abbaaba";
    auto tokens_of = [&](ttt_model* m) {
        std::vector<int32_t> ids(64);
        size_t n = 0;
        if (ttt_tokenize(m, text.data(), text.size(), 0, ids.data(), ids.size(), &n) != TTT_OK) return std::vector<int32_t>{-1};
        ids.resize(n);
        return ids;
    };
    const std::vector<int32_t> want_ids = tokens_of(original);

    // A soul with an open chunk (7 tokens, chunk 3), and what it gives.
    Context ctx(original);
    REQUIRE(ttt_forward(ctx.c, probe.data(), probe.size(), nullptr) == TTT_OK);
    const std::vector<uint8_t> soul = soul_bytes(ctx.c);
    const std::vector<int32_t> next = {4, 4, 1};
    std::vector<float> want_next(next.size() * size_t(spec.vocab));
    REQUIRE(ttt_forward_all(ctx.c, next.data(), next.size(), want_next.data()) == TTT_OK);

    std::mt19937 rng(12345);
    auto mutate = [&](std::vector<uint8_t> bytes, int i) {
        if (i % 2 == 0) {  // one bit
            const size_t at = std::uniform_int_distribution<size_t>(0, bytes.size() * 8 - 1)(rng);
            bytes[at / 8] ^= uint8_t(1u << (at % 8));
        } else {  // a range of 1..16 bytes overwritten with random bytes
            const size_t len = std::uniform_int_distribution<size_t>(1, 16)(rng);
            const size_t at = std::uniform_int_distribution<size_t>(0, bytes.size() - len)(rng);
            for (size_t k = 0; k < len; ++k) bytes[at + k] = uint8_t(rng());
        }
        return bytes;
    };
    size_t bitt_refused = 0, bitt_harmless = 0, soul_refused = 0, soul_harmless = 0;
    const int kEach = 5200;
    for (int i = 0; i < kEach; ++i) {
        const std::vector<uint8_t> bad = mutate(bitt, i);
        if (bad == bitt) continue;
        ttt_model* m = nullptr;
        const ttt_status s = ttt_load_bitt_buffer(bad.data(), bad.size(), nullptr, &m);
        CHECK(s != TTT_ERR_PANIC);
        if (s != TTT_OK) {
            ++bitt_refused;
            continue;
        }
        // Accepted: it must be the same model (the change was in padding whitespace, say).
        CAPTURE(i);
        CHECK(all_logits(m, probe) == want);
        CHECK(tokens_of(m) == want_ids);
        ++bitt_harmless;
        ttt_model_free(m);
    }
    for (int i = 0; i < kEach; ++i) {
        const std::vector<uint8_t> bad = mutate(soul, i);
        if (bad == soul) continue;
        Context c(original);
        const ttt_status s = ttt_load_soul_buffer(c.c, bad.data(), bad.size(), 0);
        CHECK(s != TTT_ERR_PANIC);
        if (s != TTT_OK) {
            ++soul_refused;
            uint64_t level = 1;
            ttt_get_soul_level(c.c, &level);
            CHECK(level == 0);  // a refused soul changes nothing
            continue;
        }
        CAPTURE(i);
        std::vector<float> got(want_next.size());
        REQUIRE(ttt_forward_all(c.c, next.data(), next.size(), got.data()) == TTT_OK);
        CHECK(got == want_next);
        ++soul_harmless;
    }
    MESSAGE(".bitt: " << bitt_refused << " refused, " << bitt_harmless << " harmless; soul: " << soul_refused
                      << " refused, " << soul_harmless << " harmless");
    CHECK(bitt_refused + bitt_harmless + soul_refused + soul_harmless >= 10000);
}
