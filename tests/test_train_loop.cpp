// The training loop: schedule, AdamW, clipping, data files and preparation, checkpoints (format, corruption,
// rotation, crash-safe saves), the loop itself (resume is bit-identical, a tiny model memorises a text, clean stop,
// export) and evaluation through the C API.
#include <doctest/doctest.h>

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "bit_ttt.h"
#include "common/error.h"
#include "load/config_json.h"
#include "io/safetensors.h"
#include "test_util.h"
#include "tokenizer/tokenizer.h"
#include "train/adamw.h"
#include "train/checkpoint.h"
#include "train/data.h"
#include "train/evaluate.h"
#include "train/schedule.h"
#include "train/trainer.h"
#include "backend/thread_pool.h"

namespace fs = std::filesystem;
using ttt_test::TempDir;

namespace {

// Runs f and returns the ttt::Error it throws (fails the test if it throws nothing or something else).
template <typename F>
ttt::Error expect_error(F&& f) {
    try {
        f();
    } catch (const ttt::Error& e) {
        return e;
    } catch (const std::exception& e) {
        FAIL("expected ttt::Error, got std::exception: " << e.what());
    }
    FAIL("expected ttt::Error, nothing was thrown");
    return ttt::Error(TTT_OK, "");
}

void write_u32(const fs::path& p, const std::vector<uint32_t>& ids) {
    std::vector<uint8_t> b(ids.size() * 4);
    for (size_t i = 0; i < ids.size(); ++i)
        for (int k = 0; k < 4; ++k) b[4 * i + k] = uint8_t(ids[i] >> (8 * k));
    ttt_test::write_bytes(p, b);
}

std::vector<int32_t> read_u32(const fs::path& p) {
    std::vector<uint8_t> b = ttt_test::read_bytes(p);
    std::vector<int32_t> ids(b.size() / 4);
    for (size_t i = 0; i < ids.size(); ++i)
        ids[i] = int32_t(uint32_t(b[4 * i]) | uint32_t(b[4 * i + 1]) << 8 | uint32_t(b[4 * i + 2]) << 16 |
                         uint32_t(b[4 * i + 3]) << 24);
    return ids;
}

void write_text(const fs::path& p, const std::string& s) {
    std::ofstream f(p, std::ios::binary);
    f << s;
}

// A byte-level BPE tokenizer with <|endoftext|> = 0. vocab 257 = no merges: one token per byte.
std::string tiny_tokenizer_json(int32_t vocab = 257) {
    return ttt::train_bpe_texts({"hello world, hello tokens.\nthe quick brown fox\n"}, vocab, 2, {"<|endoftext|>"});
}

// A hand-made parameter arena (checkpoint tests need no model): three tensors, the middle one decayed.
ttt::TrainParams fake_params(int32_t dim = 8) {
    ttt::TrainParams p;
    p.config.vocab_size = 5;
    p.config.hidden_dim = dim;
    p.config.num_layers = 1;
    p.config.intermediate_dim = 4 * dim;
    p.config.inner_lr = 0.1f;
    auto add = [&](const std::string& name, std::vector<int64_t> shape, bool wd) {
        ttt::ParamTensor t;
        t.name = name;
        t.shape = shape;
        t.offset = p.values.size();
        t.size = 1;
        for (int64_t s : shape) t.size *= size_t(s);
        t.weight_decay = wd;
        p.tensors.push_back(t);
        p.values.resize(p.values.size() + t.size);
    };
    add("embed.weight", {5, dim}, false);
    add("layers.0.ttt.down.weight", {dim / 4, dim}, true);
    add("norm_f.weight", {dim}, false);
    for (size_t i = 0; i < p.values.size(); ++i) p.values[i] = float(std::sin(double(i) * 0.37));
    return p;
}

ttt::CheckpointInfo info_for(const ttt::TrainParams& p, int64_t step) {
    ttt::CheckpointInfo in;
    in.step = step;
    in.seed = 42;
    in.data_position = uint64_t(step) * 3;
    in.config = p.config;
    in.options_json = "{\"steps\":10}";
    in.train_tokens = 1234;
    in.tokenizer_fingerprint = "0123456789abcdef";
    return in;
}

// The data region (tensor bytes) of a checkpoint file.
std::vector<uint8_t> checkpoint_tensor_bytes(const std::string& path) {
    ttt::CheckpointFile f = ttt::read_checkpoint(path);
    std::vector<uint8_t> out;
    for (const ttt::TensorView& t : f.view.tensors) out.insert(out.end(), t.data, t.data + t.n_bytes);
    return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------------------- schedule

TEST_CASE("schedule: warm-up and cosine values at given steps (upstream-spec 6.3)") {
    ttt::LrSchedule s{1e-3, 1e-5, 100, 1100};
    CHECK(s.at(0) == 0.0);
    CHECK(s.at(50) == doctest::Approx(5e-4).epsilon(1e-12));
    CHECK(s.at(99) == doctest::Approx(9.9e-4).epsilon(1e-12));
    CHECK(s.at(100) == doctest::Approx(1e-3).epsilon(1e-12));                         // p = 0
    CHECK(s.at(600) == doctest::Approx(1e-5 + (1e-3 - 1e-5) * 0.5).epsilon(1e-12));  // p = 1/2
    CHECK(s.at(350) == doctest::Approx(1e-5 + (1e-3 - 1e-5) * 0.5 * (1 + std::cos(M_PI * 0.25))).epsilon(1e-12));
    CHECK(s.at(1100) == doctest::Approx(1e-5).epsilon(1e-12));  // p = 1
    CHECK(s.at(5000) == doctest::Approx(1e-5).epsilon(1e-12));  // clamped
    // No warm-up: the first update uses lr_max.
    ttt::LrSchedule nw{2e-3, 0.0, 0, 10};
    CHECK(nw.at(0) == doctest::Approx(2e-3));
    CHECK(nw.at(5) == doctest::Approx(1e-3));
    // total <= warmup: min_lr once warm-up is over.
    ttt::LrSchedule short_run{1e-3, 1e-4, 10, 10};
    CHECK(short_run.at(5) == doctest::Approx(5e-4));
    CHECK(short_run.at(10) == doctest::Approx(1e-4));
}

TEST_CASE("schedule: impossible values are refused with the option's name") {
    auto e = expect_error([] { ttt::validate_schedule({std::nan(""), 1e-5, 10, 100}); });
    CHECK(e.status() == TTT_ERR_INVALID_ARGUMENT);
    CHECK(std::string(e.what()).find("lr") != std::string::npos);
    CHECK(expect_error([] { ttt::validate_schedule({1e-3, 1e-2, 10, 100}); }).status() == TTT_ERR_INVALID_ARGUMENT);
    CHECK(expect_error([] { ttt::validate_schedule({1e-3, 1e-5, -1, 100}); }).status() == TTT_ERR_INVALID_ARGUMENT);
    CHECK(expect_error([] { ttt::validate_schedule({1e-3, 1e-5, 10, 0}); }).status() == TTT_ERR_INVALID_ARGUMENT);
}

// ---------------------------------------------------------------------------------------------------- AdamW

TEST_CASE("adamw: two steps against hand-computed values, decay only where flagged") {
    ttt::TrainParams p;
    ttt::ParamTensor a;
    a.name = "w";
    a.shape = {2};
    a.offset = 0;
    a.size = 2;
    a.weight_decay = true;
    ttt::ParamTensor b;
    b.name = "g";
    b.shape = {1};
    b.offset = 2;
    b.size = 1;
    b.weight_decay = false;
    p.tensors = {a, b};
    p.values = {1.0f, -2.0f, 0.5f};
    ttt::AdamW opt(p, ttt::AdamWOptions{0.9f, 0.95f, 1e-8f, 0.1f});
    const float g1[3] = {0.1f, -0.2f, 0.3f};
    opt.step(p, g1, 0.01);
    // Python, in double: m = 0.1·g, v = 0.05·g², m̂ = g, v̂ = g²; θ −= lr·wd·θ (flagged); θ −= lr·m̂/(√v̂+eps).
    CHECK(p.values[0] == doctest::Approx(0.9890000009999999).epsilon(1e-6));
    CHECK(p.values[1] == doctest::Approx(-1.9880000005).epsilon(1e-6));
    CHECK(p.values[2] == doctest::Approx(0.4900000003333333).epsilon(1e-6));
    CHECK(opt.m[1] == doctest::Approx(-0.02).epsilon(1e-6));
    CHECK(opt.v[2] == doctest::Approx(0.0045).epsilon(1e-5));
    const float g2[3] = {-0.05f, 0.4f, 0.3f};
    opt.step(p, g2, 0.01);
    CHECK(opt.t == 2);
    CHECK(p.values[0] == doctest::Approx(0.9853273068602668).epsilon(1e-6));
    CHECK(p.values[1] == doctest::Approx(-1.9896457398902383).epsilon(1e-6));
    CHECK(p.values[2] == doctest::Approx(0.48000000066666665).epsilon(1e-6));
}

TEST_CASE("adamw: the same result with and without a thread pool") {
    ttt::TrainParams p = fake_params(512);  // 68608 values: several chunks of the pool
    ttt::TrainParams q = p;
    std::vector<float> g(p.values.size());
    for (size_t i = 0; i < g.size(); ++i) g[i] = float(std::cos(double(i)));
    ttt::AdamW a(p, {}), b(q, {});
    ttt::ThreadPool pool(3);
    for (int s = 0; s < 3; ++s) {
        a.step(p, g.data(), 1e-3);
        b.step(q, g.data(), 1e-3, &pool);
    }
    CHECK(std::memcmp(p.values.data(), q.values.data(), p.values.size() * 4) == 0);
}

TEST_CASE("adamw: bad hyper-parameters are refused") {
    CHECK(expect_error([] { ttt::validate_adamw({1.0f, 0.95f, 1e-8f, 0.0f}); }).status() == TTT_ERR_INVALID_ARGUMENT);
    CHECK(expect_error([] { ttt::validate_adamw({0.9f, std::nanf(""), 1e-8f, 0.0f}); }).status() == TTT_ERR_INVALID_ARGUMENT);
    CHECK(expect_error([] { ttt::validate_adamw({0.9f, 0.95f, 0.0f, 0.0f}); }).status() == TTT_ERR_INVALID_ARGUMENT);
    CHECK(expect_error([] { ttt::validate_adamw({0.9f, 0.95f, 1e-8f, -1.0f}); }).status() == TTT_ERR_INVALID_ARGUMENT);
}

TEST_CASE("adamw: global-norm gradient clipping") {
    std::vector<float> g = {3.0f, 4.0f};
    CHECK(ttt::grad_global_norm(g.data(), 2) == doctest::Approx(5.0));
    CHECK(ttt::clip_grad_global_norm(g.data(), 2, 10.0) == doctest::Approx(5.0));
    CHECK(g[0] == 3.0f);  // within the limit: untouched
    CHECK(ttt::clip_grad_global_norm(g.data(), 2, 0.0) == doctest::Approx(5.0));
    CHECK(g[1] == 4.0f);  // 0 = off
    CHECK(ttt::clip_grad_global_norm(g.data(), 2, 1.0) == doctest::Approx(5.0));
    CHECK(g[0] == doctest::Approx(0.6).epsilon(1e-5));
    CHECK(g[1] == doctest::Approx(0.8).epsilon(1e-5));
    CHECK(ttt::grad_global_norm(g.data(), 2) == doctest::Approx(1.0).epsilon(1e-5));
    std::vector<float> bad = {1.0f, std::numeric_limits<float>::infinity()};
    CHECK(!std::isfinite(ttt::clip_grad_global_norm(bad.data(), 2, 1.0)));
}

// ---------------------------------------------------------------------------------------------------- data

TEST_CASE("data: token files are validated with errors naming the file and offset") {
    TempDir dir;
    const fs::path empty = dir.path / "empty.u32", odd = dir.path / "odd.u32", big = dir.path / "big.u32",
                   small = dir.path / "small.u32";
    write_u32(empty, {});
    ttt_test::write_bytes(odd, {1, 0, 0, 0, 2, 0});
    write_u32(big, {1, 2, 3, 70000, 4});
    write_u32(small, {1, 2, 3});

    auto e = expect_error([&] { ttt::TokenData::open(empty.string(), 100); });
    CHECK(e.status() == TTT_ERR_FORMAT);
    CHECK(std::string(e.what()).find("empty") != std::string::npos);

    e = expect_error([&] { ttt::TokenData::open(odd.string(), 100); });
    CHECK(e.status() == TTT_ERR_FORMAT);
    CHECK(std::string(e.what()).find("multiple of 4") != std::string::npos);
    CHECK(std::string(e.what()).find("odd.u32") != std::string::npos);

    e = expect_error([&] { ttt::TokenData::open(big.string(), 100); });
    CHECK(e.status() == TTT_ERR_FORMAT);
    CHECK(std::string(e.what()).find("70000") != std::string::npos);
    CHECK(std::string(e.what()).find("byte offset 12") != std::string::npos);

    ttt::TokenData d = ttt::TokenData::open(small.string(), 100);
    CHECK(d.size() == 3);
    CHECK(d.at(2) == 3);
    e = expect_error([&] { d.require_window(8); });
    CHECK(e.status() == TTT_ERR_FORMAT);
    CHECK(std::string(e.what()).find("fewer than one window") != std::string::npos);
    d.require_window(2);  // 3 tokens = one window of 2 + 1

    CHECK(expect_error([&] { ttt::TokenData::open((dir.path / "missing.u32").string(), 100); }).status() == TTT_ERR_IO);
}

TEST_CASE("data: the window sampler is deterministic, resumable and shifts targets by one") {
    TempDir dir;
    std::vector<uint32_t> ids(500);
    for (size_t i = 0; i < ids.size(); ++i) ids[i] = uint32_t(i);  // token = its position
    write_u32(dir.path / "t.u32", ids);
    ttt::TokenData d = ttt::TokenData::open((dir.path / "t.u32").string(), 1000);
    const int B = 4, T = 16;
    ttt::WindowSampler a(&d, B, T, 7), b(&d, B, T, 7), c(&d, B, T, 8);
    std::vector<int32_t> ia(B * T), ta(B * T), ib(B * T), tb(B * T), ic(B * T), tc(B * T);
    std::vector<std::vector<int32_t>> history;
    for (int k = 0; k < 5; ++k) {
        a.next(ia.data(), ta.data());
        history.push_back(ia);
        for (int r = 0; r < B; ++r)
            for (int t = 0; t < T; ++t) {
                CHECK(ta[r * T + t] == ia[r * T + t] + 1);
                if (t) CHECK(ia[r * T + t] == ia[r * T + t - 1] + 1);
                CHECK(ta[r * T + t] < 500);
            }
    }
    CHECK(a.position() == 5);
    b.set_position(3);  // resume: batch 3 without drawing 0..2
    b.next(ib.data(), tb.data());
    CHECK(ib == history[3]);
    c.next(ic.data(), tc.data());
    CHECK(ic != history[0]);  // another seed, other windows

    // Streams of 3 windows: the rows of batches 3k+1 and 3k+2 continue where the rows of the batch before stopped;
    // batch 3 starts new streams. J = 1 is the random-window sampler above, draw for draw.
    ttt::WindowSampler s3(&d, B, T, 7, 3), s1(&d, B, T, 7, 1);
    std::vector<std::vector<int32_t>> streams;
    for (int k = 0; k < 6; ++k) {
        CHECK(s3.stream_starts() == (k % 3 == 0));
        s3.next(ia.data(), ta.data());
        streams.push_back(ia);
        s1.next(ib.data(), tb.data());
        if (k < 5) CHECK(ib == history[size_t(k)]);
        for (int r = 0; r < B; ++r) {
            CHECK(ta[r * T + T - 1] == ia[r * T + T - 1] + 1);
            if (k % 3) CHECK(ia[r * T] == streams[size_t(k - 1)][size_t(r * T)] + T);
        }
    }
    CHECK(streams[3] != streams[0]);
    ttt::WindowSampler s3b(&d, B, T, 7, 3);
    s3b.set_position(4);  // resume inside a stream
    s3b.next(ib.data(), tb.data());
    CHECK(ib == streams[4]);
    // A stream must fit the data.
    CHECK(expect_error([&] { ttt::WindowSampler(&d, B, T, 7, 40); }).status() == TTT_ERR_FORMAT);

    std::vector<size_t> starts = ttt::eval_window_starts(500, T, 5);
    REQUIRE(starts.size() == 5);
    CHECK(starts.front() == 0);
    CHECK(starts.back() == 500 - T - 1);
    CHECK(ttt::eval_window_starts(10, T, 5).empty());
}

TEST_CASE("data: prepare_data round trip (blocks, line cuts, EOS, sidecars)") {
    TempDir dir;
    const std::string tok_json = ttt::train_bpe_texts(
        {"Der Hund läuft schnell.\nthe cat sat on the mat\n日本語のテキスト\n"}, 300, 1, {"<|endoftext|>"});
    auto tok = ttt::Tokenizer::from_json(tok_json);
    REQUIRE(tok->eos_id() == 0);
    std::string a;
    for (int i = 0; i < 40; ++i) a += "line " + std::to_string(i) + ": the cat sat on the mat, läuft 日本\n";
    const std::string b = "one single line without a newline at all, then some more words and ünïcödé 日本語";
    write_text(dir.path / "a.txt", a);
    write_text(dir.path / "b.txt", b);
    ttt::PrepareDataOptions po;
    po.val_fraction = 0.25;
    po.block_bytes = 70;  // many blocks: exercises the cuts at line boundaries
    const fs::path out = dir.path / "data";
    ttt::PrepareDataResult r = ttt::prepare_data(*tok, {(dir.path / "a.txt").string(), (dir.path / "b.txt").string()},
                                                 out.string(), po);
    std::vector<int32_t> train = read_u32(out / "train.u32"), val = read_u32(out / "val.u32");
    CHECK(r.train.tokens == train.size());
    CHECK(r.val.tokens == val.size());
    CHECK(r.train.bytes + r.val.bytes == a.size() + b.size());
    CHECK(r.train.documents == 2);
    CHECK(r.val.documents == 2);

    auto split_docs = [&](const std::vector<int32_t>& ids) {
        std::vector<std::string> docs;
        std::vector<int32_t> cur;
        for (int32_t id : ids) {
            if (id == 0) {
                docs.push_back(tok->decode(cur.data(), cur.size(), false));
                cur.clear();
            } else {
                cur.push_back(id);
            }
        }
        CHECK(cur.empty());  // the stream ends with EOS
        return docs;
    };
    std::vector<std::string> td = split_docs(train), vd = split_docs(val);
    REQUIRE(td.size() == 2);
    REQUIRE(vd.size() == 2);
    CHECK(td[0] + vd[0] == a);
    CHECK(td[1] + vd[1] == b);
    CHECK(td[0].back() == '\n');  // cut at a line boundary
    CHECK(vd[0].size() >= a.size() / 4 - 60);
    CHECK(vd[0].size() <= a.size() / 4 + 60);
    CHECK(!vd[1].empty());  // one line: cut at a character boundary

    ttt::DataMeta m;
    REQUIRE(ttt::read_data_meta((out / "train.meta.json").string(), &m));
    CHECK(m.tokens == train.size());
    CHECK(m.bytes == td[0].size() + td[1].size());
    CHECK(m.tokenizer_fingerprint == ttt::tokenizer_fingerprint(tok_json));
    REQUIRE(ttt::read_data_meta((out / "val.meta.json").string(), &m));
    CHECK(m.bytes == vd[0].size() + vd[1].size());
    CHECK(ttt_test::read_bytes(out / "tokenizer.json").size() == tok_json.size());
    // No temp files left behind.
    for (const auto& e : fs::directory_iterator(out)) CHECK(e.path().filename().string().find(".tmp.") == std::string::npos);

    // One long line of 2-byte characters: blocks and the held-out tail are cut at character boundaries.
    std::string c;
    for (int i = 0; i < 300; ++i) c += i % 7 ? "ü" : "x";
    write_text(dir.path / "c.txt", c);
    r = ttt::prepare_data(*tok, {(dir.path / "c.txt").string()}, out.string(), po);
    td = split_docs(read_u32(out / "train.u32"));
    vd = split_docs(read_u32(out / "val.u32"));
    REQUIRE(td.size() == 1);
    REQUIRE(vd.size() == 1);
    CHECK(td[0] + vd[0] == c);
    CHECK(vd[0].find("\xEF\xBF\xBD") == std::string::npos);  // no U+FFFD: no character was split
    CHECK(td[0].find("\xEF\xBF\xBD") == std::string::npos);

    // Val fraction 0: no val files (stale ones removed).
    po.val_fraction = 0.0;
    r = ttt::prepare_data(*tok, {(dir.path / "a.txt").string()}, out.string(), po);
    CHECK(r.val.tokens == 0);
    CHECK(!fs::exists(out / "val.u32"));
    CHECK(!fs::exists(out / "val.meta.json"));
    CHECK(tok->decode(read_u32(out / "train.u32").data() , read_u32(out / "train.u32").size() - 1, false) == a);
}

TEST_CASE("data: prepare_data refuses bad inputs") {
    TempDir dir;
    auto tok = ttt::Tokenizer::from_json(tiny_tokenizer_json());
    write_text(dir.path / "empty.txt", "");
    ttt::PrepareDataOptions po;
    CHECK(expect_error([&] { ttt::prepare_data(*tok, {}, (dir.path / "o").string(), po); }).status() == TTT_ERR_INVALID_ARGUMENT);
    CHECK(expect_error([&] { ttt::prepare_data(*tok, {(dir.path / "nope.txt").string()}, (dir.path / "o").string(), po); })
              .status() == TTT_ERR_IO);
    CHECK(expect_error([&] { ttt::prepare_data(*tok, {(dir.path / "empty.txt").string()}, (dir.path / "o").string(), po); })
              .status() == TTT_ERR_INVALID_ARGUMENT);
    po.val_fraction = 1.5;
    CHECK(expect_error([&] { ttt::prepare_data(*tok, {(dir.path / "empty.txt").string()}, (dir.path / "o").string(), po); })
              .status() == TTT_ERR_INVALID_ARGUMENT);
    CHECK(!fs::exists(dir.path / "o" / "train.u32"));
}

// ---------------------------------------------------------------------------------------------------- checkpoints

TEST_CASE("checkpoint: save, read and restore round trip") {
    TempDir dir;
    ttt::TrainParams p = fake_params();
    ttt::AdamW opt(p, {});
    std::vector<float> g(p.values.size(), 0.25f);
    opt.step(p, g.data(), 1e-2);
    ttt::CheckpointInfo in = info_for(p, 7);
    in.has_best_val_loss = true;
    in.best_val_loss = 2.5;
    const std::string path = ttt::checkpoint_file_path(dir.path.string(), 7);
    ttt::save_checkpoint(path, p, opt, in);
    CHECK(fs::path(path).filename() == "ckpt-00000007.safetensors");

    ttt::CheckpointFile f = ttt::read_checkpoint(path);
    CHECK(f.info.step == 7);
    CHECK(f.info.adamw_t == 1);
    CHECK(f.info.seed == 42);
    CHECK(f.info.data_position == 21);
    CHECK(f.info.has_best_val_loss);
    CHECK(f.info.best_val_loss == 2.5);
    CHECK(f.info.options_json == "{\"steps\":10}");
    CHECK(f.info.train_tokens == 1234);
    CHECK(f.view.metadata.at("format") == "bit_ttt.checkpoint");
    CHECK(f.view.find("embed.weight") != nullptr);
    CHECK(f.view.find("adamw.m.norm_f.weight") != nullptr);
    CHECK(f.view.find("adamw.v.layers.0.ttt.down.weight") != nullptr);

    ttt::TrainParams q = fake_params();
    std::fill(q.values.begin(), q.values.end(), 0.0f);
    ttt::AdamW opt2(q, {});
    ttt::restore_checkpoint(f, q, opt2);
    CHECK(q.values == p.values);
    CHECK(opt2.m == opt.m);
    CHECK(opt2.v == opt.v);
    CHECK(opt2.t == 1);
    // Deterministic bytes: the same state saved twice gives the same file.
    ttt::save_checkpoint(path + ".2", p, opt, in);
    CHECK(ttt_test::read_bytes(path) == ttt_test::read_bytes(path + ".2"));
}

TEST_CASE("checkpoint: corrupted, truncated, foreign and other-config files are refused clearly") {
    TempDir dir;
    ttt::TrainParams p = fake_params();
    ttt::AdamW opt(p, {});
    const std::string path = (dir.path / "c.safetensors").string();
    ttt::save_checkpoint(path, p, opt, info_for(p, 3));
    const std::vector<uint8_t> good = ttt_test::read_bytes(path);

    // A flipped bit in the tensor data.
    std::vector<uint8_t> bad = good;
    bad[bad.size() - 7] ^= 0x10;
    ttt_test::write_bytes(path, bad);
    auto e = expect_error([&] { ttt::read_checkpoint(path); });
    CHECK(e.status() == TTT_ERR_FORMAT);
    CHECK(std::string(e.what()).find("corrupted") != std::string::npos);

    // A changed digit in the header metadata ("step":"3" -> "step":"4").
    bad = good;
    const std::string header(good.begin(), good.begin() + 4096 < good.end() ? good.begin() + 4096 : good.end());
    size_t pos = header.find("\"step\":\"3\"");
    REQUIRE(pos != std::string::npos);
    bad[pos + 8] = '4';
    ttt_test::write_bytes(path, bad);
    e = expect_error([&] { ttt::read_checkpoint(path); });
    CHECK(e.status() == TTT_ERR_FORMAT);
    CHECK(std::string(e.what()).find("header checksum") != std::string::npos);

    // Truncated anywhere.
    for (size_t cut : {size_t(0), size_t(5), size_t(100), good.size() / 2, good.size() - 1}) {
        ttt_test::write_bytes(path, std::vector<uint8_t>(good.begin(), good.begin() + long(cut)));
        CAPTURE(cut);
        CHECK(expect_error([&] { ttt::read_checkpoint(path); }).status() == TTT_ERR_FORMAT);
    }

    // A plain safetensors file that is not a checkpoint.
    ttt::SafetensorsWriter w;
    w.add_f32("x", {2}, {1.0f, 2.0f});
    ttt_test::write_bytes(path, w.finish());
    e = expect_error([&] { ttt::read_checkpoint(path); });
    CHECK(e.status() == TTT_ERR_FORMAT);
    CHECK(std::string(e.what()).find("not a bit_ttt training checkpoint") != std::string::npos);

    // Another config: incompatible, nothing changed.
    ttt_test::write_bytes(path, good);
    ttt::CheckpointFile f = ttt::read_checkpoint(path);
    ttt::TrainParams other = fake_params(12);
    std::fill(other.values.begin(), other.values.end(), 9.0f);
    ttt::AdamW oopt(other, {});
    e = expect_error([&] { ttt::restore_checkpoint(f, other, oopt); });
    CHECK(e.status() == TTT_ERR_INCOMPATIBLE);
    CHECK(std::string(e.what()).find("hidden_dim: 8 vs 12") != std::string::npos);
    CHECK(other.values[0] == 9.0f);

    CHECK(expect_error([&] { ttt::read_checkpoint((dir.path / "missing").string()); }).status() == TTT_ERR_IO);
}

TEST_CASE("checkpoint: an existing checkpoint is never overwritten by a failed save") {
    TempDir dir;
    ttt::TrainParams p = fake_params();
    ttt::AdamW opt(p, {});
    const std::string path = ttt::checkpoint_file_path(dir.path.string(), 5);
    ttt::save_checkpoint(path, p, opt, info_for(p, 5));
    const std::vector<uint8_t> before = ttt_test::read_bytes(path);

    // The save fails midway: the kernel refuses writes past a file size limit (EFBIG once SIGXFSZ is ignored).
    ttt::TrainParams changed = p;
    std::fill(changed.values.begin(), changed.values.end(), 1.0f);
    struct sigaction ignore {}, old_action {};
    ignore.sa_handler = SIG_IGN;
    ::sigaction(SIGXFSZ, &ignore, &old_action);
    rlimit old_limit{};
    ::getrlimit(RLIMIT_FSIZE, &old_limit);
    rlimit limit = old_limit;
    limit.rlim_cur = 200;
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &limit) == 0);
    std::string message;
    ttt_status status = TTT_OK;
    try {
        ttt::save_checkpoint(path, changed, opt, info_for(changed, 5));
    } catch (const ttt::Error& e) {
        status = e.status();
        message = e.what();
    }
    ::setrlimit(RLIMIT_FSIZE, &old_limit);
    ::sigaction(SIGXFSZ, &old_action, nullptr);
    CHECK(status == TTT_ERR_IO);
    CHECK(message.find(path) != std::string::npos);
    CHECK(ttt_test::read_bytes(path) == before);
    ttt::read_checkpoint(path);  // still validates

    // The target directory is missing: an error, nothing written.
    CHECK(expect_error([&] { ttt::save_checkpoint((dir.path / "no" / "x").string(), p, opt, info_for(p, 5)); }).status() ==
          TTT_ERR_IO);

    // A temp file left by a killed save (its process is gone) does not block saving and is removed by it.
    const pid_t dead = ::fork();
    if (dead == 0) ::_exit(0);
    ::waitpid(dead, nullptr, 0);
    const fs::path stale = path + ".tmp." + std::to_string(dead) + ".0";
    ttt_test::write_bytes(stale, {1, 2, 3});
    ttt::save_checkpoint(path, changed, opt, info_for(changed, 5));
    CHECK(ttt_test::read_bytes(path) != before);
    CHECK(!fs::exists(stale));
}

TEST_CASE("checkpoint: rotation keeps the last K; resume picks the newest that validates") {
    TempDir dir;
    const std::string d = dir.path.string();
    ttt::TrainParams p = fake_params();
    ttt::AdamW opt(p, {});
    for (int64_t s : {10, 20, 30, 40}) {
        ttt::save_checkpoint(ttt::checkpoint_file_path(d, s), p, opt, info_for(p, s));
        ttt::rotate_checkpoints(d, 3);
    }
    std::vector<ttt::CheckpointEntry> all = ttt::list_checkpoints(d);
    REQUIRE(all.size() == 3);
    CHECK(all[0].step == 20);
    CHECK(all[2].step == 40);

    // Corrupt the newest: resume falls back to 30 and says why.
    std::vector<uint8_t> bytes = ttt_test::read_bytes(all[2].path);
    bytes.resize(bytes.size() - 3);
    ttt_test::write_bytes(all[2].path, bytes);
    ttt::CheckpointFile f;
    std::vector<std::string> skipped;
    REQUIRE(ttt::find_resume_checkpoint(d, &f, &skipped));
    CHECK(f.info.step == 30);
    REQUIRE(skipped.size() == 1);
    CHECK(skipped[0].find("ckpt-00000040") != std::string::npos);

    // None validates: a clear error listing them.
    for (const auto& c : ttt::list_checkpoints(d)) ttt_test::write_bytes(c.path, {1, 2, 3});
    auto e = expect_error([&] { ttt::find_resume_checkpoint(d, &f, nullptr); });
    CHECK(e.status() == TTT_ERR_FORMAT);
    CHECK(std::string(e.what()).find("no checkpoint") != std::string::npos);
    TempDir empty;
    CHECK(!ttt::find_resume_checkpoint(empty.path.string(), &f, nullptr));
}

// ---------------------------------------------------------------------------------------------------- options

TEST_CASE("train: impossible options and configs are clear errors") {
    ttt::TrainOptions o;
    o.data_dir = "d";
    o.out_dir = "o";
    ttt::validate_train_options(o);
    {
        ttt::TrainOptions b = o;
        b.context_len = 0;
        auto e = expect_error([&] { ttt::validate_train_options(b); });
        CHECK(e.status() == TTT_ERR_INVALID_ARGUMENT);
        CHECK(std::string(e.what()).find("context_len") != std::string::npos);
    }
    {
        ttt::TrainOptions b = o;
        b.lr = std::nan("");
        auto e = expect_error([&] { ttt::validate_train_options(b); });
        CHECK(e.status() == TTT_ERR_INVALID_ARGUMENT);
        CHECK(std::string(e.what()).find("lr") != std::string::npos);
    }
    {
        ttt::TrainOptions b = o;
        b.batch_size = -1;
        CHECK(expect_error([&] { ttt::validate_train_options(b); }).status() == TTT_ERR_INVALID_ARGUMENT);
        b = o;
        b.accum = 0;
        CHECK(expect_error([&] { ttt::validate_train_options(b); }).status() == TTT_ERR_INVALID_ARGUMENT);
        b = o;
        b.clip = -1;
        CHECK(expect_error([&] { ttt::validate_train_options(b); }).status() == TTT_ERR_INVALID_ARGUMENT);
    }
    {
        ttt::TrainOptions b = o;
        b.dim = 30;
        auto e = expect_error([&] { ttt::model_config_from_options(b, 100, -1, 0); });
        CHECK(e.status() == TTT_ERR_FORMAT);
        CHECK(std::string(e.what()).find("divisible by 4") != std::string::npos);
        b = o;
        b.layers = 0;
        CHECK(expect_error([&] { ttt::model_config_from_options(b, 100, -1, 0); }).status() == TTT_ERR_FORMAT);
        b = o;
        b.act_bits = 4;
        CHECK(expect_error([&] { ttt::model_config_from_options(b, 100, -1, 0); }).status() == TTT_ERR_FORMAT);
        b = o;
        b.inner_lr = std::nanf("");
        CHECK(expect_error([&] { ttt::model_config_from_options(b, 100, -1, 0); }).status() == TTT_ERR_FORMAT);
    }
    ttt::ModelConfig c = ttt::model_config_from_options(o, 100, -1, 0);
    CHECK(c.intermediate_dim == 4 * 256);
    CHECK(c.inner_lr == doctest::Approx(0.1));
    // Options survive a JSON round trip.
    ttt::TrainOptions x = o;
    x.seed = 18446744073709551615ull;
    x.lr = 1.2345e-4;
    x.accum = 3;
    x.bitlinear_scale = true;
    ttt::TrainOptions y;
    ttt::train_options_from_json(ttt::train_options_to_json(x), &y);
    CHECK(y.seed == x.seed);
    CHECK(y.lr == x.lr);
    CHECK(y.accum == 3);
    CHECK(y.bitlinear_scale);
    CHECK(ttt::train_options_to_json(y) == ttt::train_options_to_json(x));
}

// ---------------------------------------------------------------------------------------------------- the loop

namespace {

// A data directory: a byte-level tokenizer without merges (token = byte + 1) and train/val files of `text`.
struct TinyData {
    TempDir dir;
    std::string tok_json = tiny_tokenizer_json();
    explicit TinyData(const std::string& text, const std::string& val_text = "") {
        auto tok = ttt::Tokenizer::from_json(tok_json);
        std::vector<std::string> inputs;
        write_text(dir.path / "text.txt", text);
        ttt::PrepareDataOptions po;
        po.val_fraction = 0.0;
        ttt::prepare_data(*tok, {(dir.path / "text.txt").string()}, data().string(), po);
        if (!val_text.empty()) {
            write_text(dir.path / "val.txt", val_text);
            TempDir tmp;
            ttt::prepare_data(*tok, {(dir.path / "val.txt").string()}, tmp.path.string(), po);
            fs::copy_file(tmp.path / "train.u32", data() / "val.u32");
            fs::copy_file(tmp.path / "train.meta.json", data() / "val.meta.json");
        }
    }
    fs::path data() const { return dir.path / "data"; }
};

ttt::TrainOptions tiny_options(const fs::path& data, const fs::path& out) {
    ttt::TrainOptions o;
    o.data_dir = data.string();
    o.out_dir = out.string();
    o.dim = 16;
    o.layers = 1;
    o.context_len = 16;
    o.batch_size = 4;
    o.steps = 12;
    o.warmup_steps = 3;
    o.lr = 3e-3;
    o.min_lr = 3e-4;
    o.threads = 2;
    o.eval_interval = 4;
    o.eval_batches = 2;
    o.save_interval = 0;
    o.keep_last = 2;
    o.handle_sigint = false;
    return o;
}

std::string alphabet_text(int repeats) {
    std::string s;
    for (int i = 0; i < repeats; ++i) s += "abcdefghijklmnopqrstuvwxyz\n";
    return s;
}

std::vector<std::string> log_lines(const fs::path& p) {
    std::ifstream f(p);
    std::vector<std::string> lines;
    for (std::string l; std::getline(f, l);) {
        // Drop the wall-clock field: everything else must repeat exactly.
        size_t a = l.find(",\"tokens_per_s\":");
        if (a != std::string::npos) {
            size_t b = l.find_first_of(",}", a + 1);
            l.erase(a, b - a);
        }
        lines.push_back(l);
    }
    return lines;
}

}  // namespace

TEST_CASE("train: resume after a stop continues bit-identically (accumulation, clipping, validation)") {
    TinyData data(alphabet_text(12), alphabet_text(3));
    TempDir out_a, out_b;
    ttt::TrainOptions o = tiny_options(data.data(), out_a.path);
    o.accum = 2;
    o.clip = 0.5;
    o.save_interval = 5;
    ttt::TrainResult ra = ttt::run_training(o);
    CHECK(!ra.stopped);
    CHECK(ra.step == 12);
    CHECK(ra.has_best_val_loss);

    ttt::TrainOptions ob = o;
    ob.out_dir = out_b.path.string();
    ttt::TrainCallbacks cb;
    cb.progress = [](const ttt::TrainProgress& p) { return p.step < 6; };  // stop after update 6
    ttt::TrainResult rb1 = ttt::run_training(ob, cb);
    CHECK(rb1.stopped);
    CHECK(rb1.step == 6);
    CHECK(!fs::exists(out_b.path / "model.bitt"));
    ob.resume = true;
    ttt::TrainResult rb2 = ttt::run_training(ob);
    CHECK(rb2.resumed);
    CHECK(!rb2.stopped);
    CHECK(rb2.step == 12);

    const std::string ca = ttt::checkpoint_file_path((out_a.path / "checkpoints").string(), 12);
    const std::string cb_ = ttt::checkpoint_file_path((out_b.path / "checkpoints").string(), 12);
    CHECK(checkpoint_tensor_bytes(ca) == checkpoint_tensor_bytes(cb_));  // params, m and v, byte for byte
    CHECK(ttt_test::read_bytes(out_a.path / "model.bitt") == ttt_test::read_bytes(out_b.path / "model.bitt"));
    CHECK(ra.best_val_loss == rb2.best_val_loss);
    const std::vector<std::string> la = log_lines(out_a.path / "train_log.jsonl");
    CHECK(la.size() == 12);
    CHECK(la == log_lines(out_b.path / "train_log.jsonl"));
    CHECK(la[3].find("val_loss") != std::string::npos);
    // keep_last 2: ckpt-10 and ckpt-12 remain (5 and 6 rotated away), plus model-best.
    std::vector<ttt::CheckpointEntry> kept = ttt::list_checkpoints((out_b.path / "checkpoints").string());
    REQUIRE(kept.size() == 2);
    CHECK(kept[0].step == 10);
    CHECK(fs::exists(out_b.path / "checkpoints" / "model-best.safetensors"));

    // Starting again in a directory with checkpoints needs --resume.
    ob.resume = false;
    CHECK(expect_error([&] { ttt::run_training(ob); }).status() == TTT_ERR_INVALID_ARGUMENT);
    // Resuming with another model config is refused.
    ob.resume = true;
    ob.dim = 32;
    ob.steps = 14;
    auto e = expect_error([&] { ttt::run_training(ob); });
    CHECK(e.status() == TTT_ERR_INCOMPATIBLE);
    CHECK(std::string(e.what()).find("hidden_dim") != std::string::npos);
}

TEST_CASE("train: stream training carries the delta souls between batches and resumes bit-identically inside a stream") {
    TinyData data(alphabet_text(24), alphabet_text(3));
    TempDir out_a, out_b, out_c;
    ttt::TrainOptions o = tiny_options(data.data(), out_a.path);
    o.ttt_kind = "delta";
    o.ttt_heads = 2;
    o.inner_lr = 1.0f;
    o.bitlinear_scale = true;
    o.stream_windows = 4;
    o.save_interval = 5;
    ttt::TrainResult ra = ttt::run_training(o);
    CHECK(ra.step == 12);

    // Stopped after update 6, inside the second stream (batches 4..7): the checkpoint carries the souls.
    ttt::TrainOptions ob = o;
    ob.out_dir = out_b.path.string();
    ttt::TrainCallbacks cb;
    cb.progress = [](const ttt::TrainProgress& p) { return p.step < 6; };
    CHECK(ttt::run_training(ob, cb).step == 6);
    const ttt::CheckpointFile mid =
        ttt::read_checkpoint(ttt::checkpoint_file_path((out_b.path / "checkpoints").string(), 6));
    std::vector<float> souls;
    REQUIRE(ttt::restore_stream_souls(mid, size_t(o.layers * o.batch_size) * ttt::train_soul_size(mid.info.config), &souls));
    CHECK(std::any_of(souls.begin(), souls.end(), [](float x) { return x != 0.0f; }));
    CHECK(expect_error([&] { ttt::restore_stream_souls(mid, 3, &souls); }).status() == TTT_ERR_INCOMPATIBLE);
    ob.resume = true;
    CHECK(ttt::run_training(ob).step == 12);
    CHECK(ttt_test::read_bytes(out_a.path / "model.bitt") == ttt_test::read_bytes(out_b.path / "model.bitt"));
    CHECK(log_lines(out_a.path / "train_log.jsonl") == log_lines(out_b.path / "train_log.jsonl"));
    // After update 12 the sampler stands at a stream boundary: that checkpoint needs and holds no souls.
    const ttt::CheckpointFile end =
        ttt::read_checkpoint(ttt::checkpoint_file_path((out_b.path / "checkpoints").string(), 12));
    CHECK(!ttt::restore_stream_souls(end, souls.size(), &souls));
    // Changing the stream length on resume is refused.
    ob.stream_windows = 2;
    ob.steps = 14;
    CHECK(expect_error([&] { ttt::run_training(ob); }).status() == TTT_ERR_INCOMPATIBLE);

    // Carrying the souls changes the model (the same run with fresh souls per window differs).
    ttt::TrainOptions oc = o;
    oc.out_dir = out_c.path.string();
    oc.stream_windows = 1;
    ttt::run_training(oc);
    CHECK(ttt_test::read_bytes(out_a.path / "model.bitt") != ttt_test::read_bytes(out_c.path / "model.bitt"));
    // Streams need the delta layer.
    ttt::TrainOptions ou = tiny_options(data.data(), out_c.path / "up");
    ou.stream_windows = 2;
    auto e = expect_error([&] { ttt::run_training(ou); });
    CHECK(e.status() == TTT_ERR_INVALID_ARGUMENT);
    CHECK(std::string(e.what()).find("stream_windows") != std::string::npos);
}

TEST_CASE("train: a stop file checkpoints and stops; a corrupt newest checkpoint is skipped on resume") {
    TinyData data(alphabet_text(8));
    TempDir out;
    ttt::TrainOptions o = tiny_options(data.data(), out.path);
    o.save_interval = 2;
    o.keep_last = 0;
    ttt::TrainCallbacks cb;
    cb.progress = [&](const ttt::TrainProgress& p) {
        if (p.step == 5) write_text(out.path / "stop_signal", "");
        return true;
    };
    ttt::TrainResult r = ttt::run_training(o, cb);
    CHECK(r.stopped);
    CHECK(r.step == 5);
    CHECK(!fs::exists(out.path / "stop_signal"));
    CHECK(ttt::list_checkpoints((out.path / "checkpoints").string()).back().step == 5);
    // Damage ckpt-5: resume continues from ckpt-4 and still reaches the end.
    const std::string c5 = ttt::checkpoint_file_path((out.path / "checkpoints").string(), 5);
    std::vector<uint8_t> b = ttt_test::read_bytes(c5);
    b[b.size() / 2] ^= 1;
    ttt_test::write_bytes(c5, b);
    o.resume = true;
    std::vector<std::string> messages;
    ttt::TrainCallbacks cb2;
    cb2.message = [&](const std::string& m) { messages.push_back(m); };
    r = ttt::run_training(o, cb2);
    CHECK(r.step == 12);
    bool mentioned = false;
    for (const std::string& m : messages) mentioned = mentioned || m.find("resumed from") != std::string::npos;
    CHECK(mentioned);
    CHECK(log_lines(out.path / "train_log.jsonl").size() == 12);
}

TEST_CASE("train: bad data and impossible configs are refused before training") {
    TinyData data(alphabet_text(4));
    TempDir out;
    ttt::TrainOptions o = tiny_options(data.data(), out.path);
    {
        ttt::TrainOptions b = o;
        b.dim = 18;
        CHECK(expect_error([&] { ttt::run_training(b); }).status() == TTT_ERR_FORMAT);
        b = o;
        b.context_len = 0;
        CHECK(expect_error([&] { ttt::run_training(b); }).status() == TTT_ERR_INVALID_ARGUMENT);
        b = o;
        b.lr = std::nan("");
        CHECK(expect_error([&] { ttt::run_training(b); }).status() == TTT_ERR_INVALID_ARGUMENT);
        b = o;
        b.context_len = 1000;  // more than the data holds
        auto e = expect_error([&] { ttt::run_training(b); });
        CHECK(e.status() == TTT_ERR_FORMAT);
        CHECK(std::string(e.what()).find("fewer than one window") != std::string::npos);
    }
    write_u32(data.data() / "train.u32", {1, 2, 999});
    auto e = expect_error([&] { ttt::run_training(o); });
    CHECK(e.status() == TTT_ERR_FORMAT);
    CHECK(std::string(e.what()).find("byte offset 8") != std::string::npos);
    write_u32(data.data() / "train.u32", {});
    CHECK(expect_error([&] { ttt::run_training(o); }).status() == TTT_ERR_FORMAT);
    fs::remove(data.data() / "tokenizer.json");
    CHECK(expect_error([&] { ttt::run_training(o); }).status() == TTT_ERR_IO);
}

TEST_CASE("train: a tiny model memorises a short text; the export loads and evaluates through the C API") {
    // Every byte of the text has one successor, so a perfect model exists at any context length.
    TinyData data(alphabet_text(20), alphabet_text(4));
    TempDir out;
    ttt::TrainOptions o = tiny_options(data.data(), out.path);
    o.dim = 32;
    o.batch_size = 8;
    o.steps = 150;
    o.warmup_steps = 10;
    o.lr = 1e-2;
    o.min_lr = 1e-3;
    o.weight_decay = 0.0f;
    o.eval_interval = 100;
    ttt::TrainResult r = ttt::run_training(o);
    CHECK(r.last_loss < 0.05);
    REQUIRE(fs::exists(r.model_path));

    ttt::EvalOptions eo;
    eo.context_len = 16;
    ttt::EvalResult ev = ttt::evaluate_model(r.model_path, (data.data() / "val.u32").string(), eo);
    CHECK(ev.bytes_source == "meta");
    CHECK(ev.targets == read_u32(data.data() / "val.u32").size() - 1);
    CHECK(ev.mean_loss < 0.3);  // nearly all of it is the one unpredictable EOS at the end (ln 257 / 108 ≈ 0.05+)
    CHECK(ev.perplexity == doctest::Approx(std::exp(ev.mean_loss)));
    // One token per byte and EOS once: bytes ≈ targets; bits/byte = nats/token / ln 2 (within the EOS share).
    CHECK(ev.bits_per_byte == doctest::Approx(ev.total_nll / std::log(2.0) / ev.bytes));
    CHECK(ev.bytes == doctest::Approx(double(ev.targets) * 108.0 / 109.0).epsilon(1e-9));

    // The trained parameters give the same loss in the training forward as the exported model through the C API.
    ttt::CheckpointFile ck = ttt::read_checkpoint(r.last_checkpoint);
    ttt::TrainParams params = ttt::TrainParams::create(ck.info.config);
    ttt::AdamW adamw(params, {});
    ttt::restore_checkpoint(ck, params, adamw);
    std::vector<int32_t> ids = read_u32(data.data() / "val.u32");
    const int T = 16;
    std::vector<int32_t> in(ids.begin(), ids.begin() + T), tg(ids.begin() + 1, ids.begin() + T + 1);
    ttt::ThreadPool pool(1);
    auto ws = ttt::make_workspace(params.config, 1, T);
    const double train_loss = ttt::train_forward_backward(params, ttt::Batch{1, T, in.data(), tg.data()}, nullptr, pool, *ws);
    write_u32(out.path / "one.u32", std::vector<uint32_t>(ids.begin(), ids.begin() + T + 1));
    eo.meta_path = (out.path / "none.json").string();
    ttt::EvalResult one = ttt::evaluate_model(r.model_path, (out.path / "one.u32").string(), eo);
    CHECK(one.bytes_source == "pieces");
    CHECK(one.windows == 1);
    CHECK(one.mean_loss == doctest::Approx(train_loss).epsilon(1e-3));
    CHECK(one.bytes == T);  // each target is one byte, none is EOS
}

TEST_CASE("train: evaluate refuses data that does not fit the model") {
    TinyData data(alphabet_text(4));
    TempDir out;
    ttt::TrainOptions o = tiny_options(data.data(), out.path);
    o.steps = 1;
    o.eval_interval = 0;
    ttt::TrainResult r = ttt::run_training(o);
    write_u32(out.path / "bad.u32", {1, 2, 5000});
    auto e = expect_error([&] { ttt::evaluate_model(r.model_path, (out.path / "bad.u32").string(), {}); });
    CHECK(e.status() == TTT_ERR_FORMAT);
    CHECK(std::string(e.what()).find("5000") != std::string::npos);
    CHECK(expect_error([&] { ttt::evaluate_model((out.path / "missing.bitt").string(), (out.path / "bad.u32").string(), {}); })
              .status() != TTT_OK);
}

TEST_CASE("train: evaluation gives the same figures for any thread count") {
    TinyData data(alphabet_text(10), alphabet_text(6));
    TempDir out;
    ttt::TrainOptions o = tiny_options(data.data(), out.path);
    o.steps = 3;
    o.eval_interval = 0;
    ttt::TrainResult r = ttt::run_training(o);
    ttt::EvalOptions eo;
    eo.context_len = 7;  // windows that do not divide the file
    eo.threads = 1;
    const ttt::EvalResult one = ttt::evaluate_model(r.model_path, (data.data() / "val.u32").string(), eo);
    eo.threads = 3;
    const ttt::EvalResult three = ttt::evaluate_model(r.model_path, (data.data() / "val.u32").string(), eo);
    CHECK(one.windows > 3);
    CHECK(three.windows == one.windows);
    CHECK(three.targets == one.targets);
    CHECK(three.total_nll == one.total_nll);  // bit for bit: the sums are formed in window order
    CHECK(three.bits_per_byte == one.bits_per_byte);
}

TEST_CASE("train: the float-weights ablation trains without ternarisation and exports nothing") {
    TinyData data(alphabet_text(20), alphabet_text(4));
    TempDir ternary_out, float_out;
    ttt::TrainOptions o = tiny_options(data.data(), ternary_out.path);
    o.steps = 20;
    o.eval_interval = 20;
    const ttt::TrainResult ternary = ttt::run_training(o);
    o.out_dir = float_out.path.string();
    o.float_weights = true;
    const ttt::TrainResult floats = ttt::run_training(o);
    CHECK(fs::exists(ternary.model_path));
    CHECK(floats.model_path.empty());
    CHECK(!fs::exists(float_out.path / "model.bitt"));
    REQUIRE(floats.has_best_val_loss);
    CHECK(std::isfinite(floats.best_val_loss));
    CHECK(floats.last_loss != ternary.last_loss);  // a different forward, from the same initial weights and batches
    // The option is kept with the checkpoint, so --resume continues the same ablation.
    ttt::CheckpointFile ck = ttt::read_checkpoint(floats.last_checkpoint);
    ttt::TrainOptions back;
    ttt::train_options_from_json(ck.info.options_json, &back);
    CHECK(back.float_weights);
}

TEST_CASE("train: a config file sets options by name, accepts config.json names, and refuses unknown keys") {
    ttt::TrainOptions o;
    ttt::apply_train_config_file(R"({"dim": 64, "lr": 0.01, "steps": 7, "float_weights": true})", "a.json", &o);
    CHECK(o.dim == 64);
    CHECK(o.lr == 0.01);
    CHECK(o.steps == 7);
    CHECK(o.float_weights);
    CHECK(o.layers == 8);  // untouched
    ttt::apply_train_config_file(
        R"({"vocab_size": 300, "hidden_dim": 32, "num_layers": 2, "intermediate_size": 96, "rms_norm_eps": 1e-6,
            "arch": "ttt", "bos_id": 1, "eos_id": 2})",
        "config.json", &o);
    CHECK(o.dim == 32);
    CHECK(o.layers == 2);
    CHECK(o.intermediate_dim == 96);
    CHECK(o.norm_eps == doctest::Approx(1e-6));
    CHECK(o.vocab_size == 300);
    auto typo = expect_error([&] { ttt::apply_train_config_file(R"({"setps": 3})", "typo.json", &o); });
    CHECK(typo.status() == TTT_ERR_FORMAT);
    CHECK(std::string(typo.what()).find("\"setps\"") != std::string::npos);
    CHECK(o.steps == 7);
    CHECK(expect_error([&] { ttt::apply_train_config_file("[1]", "list.json", &o); }).status() == TTT_ERR_FORMAT);
    auto type = expect_error([&] { ttt::apply_train_config_file(R"({"lr": 0.5, "steps": "many"})", "type.json", &o); });
    CHECK(type.status() == TTT_ERR_FORMAT);
    CHECK(std::string(type.what()).find("type.json") != std::string::npos);
    CHECK(o.lr == 0.01);  // all or nothing
    auto twice = expect_error([&] { ttt::apply_train_config_file(R"({"dim": 64, "hidden_dim": 32})", "two.json", &o); });
    CHECK(std::string(twice.what()).find("twice") != std::string::npos);

    // Upstream's config.json carries keys the trainer has no use for; as config.json, they are ignored. Its arch
    // must still be one we train.
    ttt::apply_train_config_file(
        R"({"hidden_dim": 48, "num_layers": 3, "n_heads": 4, "n_kv_heads": 2, "rope_theta": 10000.0,
            "max_position_embeddings": 2048, "n_gpu_layers": 0, "lm_head_cpu": true})",
        "upstream_config.json", &o);
    CHECK(o.dim == 48);
    CHECK(o.layers == 3);
    CHECK(expect_error([&] { ttt::apply_train_config_file(R"({"arch": "llama", "hidden_dim": 64})", "c.json", &o); })
              .status() == TTT_ERR_UNSUPPORTED);
}

TEST_CASE("train: resuming a float-weights run as a ternary one (or the reverse) is refused") {
    TinyData data(alphabet_text(8));
    TempDir out;
    ttt::TrainOptions o = tiny_options(data.data(), out.path);
    o.steps = 4;
    o.eval_interval = 0;
    o.float_weights = true;
    ttt::run_training(o);
    o.steps = 8;
    o.resume = true;
    o.float_weights = false;
    auto e = expect_error([&] { ttt::run_training(o); });
    CHECK(e.status() == TTT_ERR_INCOMPATIBLE);
    CHECK(std::string(e.what()).find("--float-weights") != std::string::npos);
    o.float_weights = true;
    CHECK(ttt::run_training(o).step == 8);
}

TEST_CASE("train: the same model, bit for bit, for 1, 2 and 3 threads") {
    TinyData data(alphabet_text(12), alphabet_text(3));
    std::vector<std::vector<uint8_t>> models;
    for (int32_t threads : {1, 2, 3}) {
        TempDir out;
        ttt::TrainOptions o = tiny_options(data.data(), out.path);
        o.threads = threads;
        o.accum = 2;
        const ttt::TrainResult r = ttt::run_training(o);
        REQUIRE(!r.stopped);
        models.push_back(ttt_test::read_bytes(out.path / "model.bitt"));
    }
    CHECK(models[0] == models[1]);
    CHECK(models[0] == models[2]);
}

// ------------------------------------------------------------------------------------------------- data safety

TEST_CASE("eval refuses a token file made with another tokenizer (its .meta.json fingerprint); --any-tokenizer scores it") {
    TinyData data(alphabet_text(4));
    TempDir out;
    ttt::TrainOptions o = tiny_options(data.data(), out.path);
    o.steps = 1;
    o.eval_interval = 0;
    ttt::TrainResult r = ttt::run_training(o);
    // The model's own data: accepted (the .bitt holds the tokenizer minified; the data's copy is compared as JSON).
    CHECK_NOTHROW(ttt::evaluate_model(r.model_path, (data.data() / "train.u32").string(), {}));
    // The same text through another tokenizer (merges: other ids for the same bytes).
    auto other = ttt::Tokenizer::from_json(tiny_tokenizer_json(262));
    write_text(out.path / "text.txt", alphabet_text(4));
    ttt::PrepareDataOptions po;
    po.val_fraction = 0.0;
    ttt::prepare_data(*other, {(out.path / "text.txt").string()}, (out.path / "other").string(), po);
    const std::string file = (out.path / "other" / "train.u32").string();
    auto e = expect_error([&] { ttt::evaluate_model(r.model_path, file, {}); });
    CHECK(e.status() == TTT_ERR_INCOMPATIBLE);
    CHECK(std::string(e.what()).find("another tokenizer") != std::string::npos);
    ttt::EvalOptions any;
    any.any_tokenizer = true;
    auto ids = read_u32(out.path / "other" / "train.u32");
    if (*std::max_element(ids.begin(), ids.end()) < 257) CHECK_NOTHROW(ttt::evaluate_model(r.model_path, file, any));
}

TEST_CASE("train --resume of a finished run says so and reports the logged loss, not 0") {
    TinyData data(alphabet_text(4));
    TempDir out;
    ttt::TrainOptions o = tiny_options(data.data(), out.path);
    o.eval_interval = 0;
    o.save_interval = 0;
    ttt::TrainResult first = ttt::run_training(o);
    REQUIRE(first.step == o.steps);
    CHECK_FALSE(first.already_finished);
    o.resume = true;
    ttt::TrainResult again = ttt::run_training(o);
    CHECK(again.already_finished);
    CHECK(again.step == o.steps);
    CHECK(again.last_loss == doctest::Approx(first.last_loss).epsilon(1e-6));
    CHECK(again.last_loss > 0.0);
}

TEST_CASE("data: a failed run leaves no half-made output folder") {
    TempDir dir;
    auto tok = ttt::Tokenizer::from_json(tiny_tokenizer_json());
    write_text(dir.path / "empty.txt", "");
    ttt::PrepareDataOptions po;
    const auto out = dir.path / "made" / "deeper";
    CHECK(expect_error([&] { ttt::prepare_data(*tok, {(dir.path / "empty.txt").string()}, out.string(), po); })
              .status() == TTT_ERR_INVALID_ARGUMENT);
    CHECK_FALSE(fs::exists(dir.path / "made"));
    // An existing output folder is kept (it was not ours to remove), and holds nothing new.
    fs::create_directories(dir.path / "mine");
    write_text(dir.path / "mine" / "keep.txt", "x");
    CHECK(expect_error([&] { ttt::prepare_data(*tok, {(dir.path / "empty.txt").string()}, (dir.path / "mine").string(), po); })
              .status() == TTT_ERR_INVALID_ARGUMENT);
    CHECK(fs::exists(dir.path / "mine" / "keep.txt"));
    size_t n = 0;
    for (auto& e : fs::directory_iterator(dir.path / "mine")) n += e.path().filename() != "keep.txt";
    CHECK(n == 0);
}
