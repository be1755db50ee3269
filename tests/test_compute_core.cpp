// The one batched forward (src/model/forward.h): the same token sequence through prefill in one call, token by
// token, random splits, batched beside other contexts (ttt_forward_batch), 1/2/3 threads, learn, and a layer
// placement split between two backends gives the same logits and the same soul, bit for bit (every path computes
// each row with the same operations in the same order). The training forward shares the TTT recurrence
// (kernels/cpu/ttt_ref.h); its logits are compared in test_train_grad.cpp (other sum order: tolerance there).
#include <doctest/doctest.h>

#include <random>

#include "backend/cpu_backend.h"
#include "cpu/ops_ref.h"
#include "cpu/ternary_kernels.h"
#include "cpu/ttt_ref.h"
#include "common/error.h"
#include "io/file.h"
#include "load/hf_checkpoint.h"
#include "load/kv_soul_file.h"
#include "load/model_files.h"
#include "model/forward.h"
#include "model_fixture.h"

using namespace ttt_test;

namespace {

struct OwnedContext {
    ttt_context* c = nullptr;
    OwnedContext(ttt_model* m, int32_t threads, int32_t n_batch) {
        ttt_context_params p;
        ttt_context_params_init(&p, sizeof p);
        p.n_threads = threads;
        p.n_batch = n_batch;
        REQUIRE(ttt_create(m, &p, &c) == TTT_OK);
    }
    ~OwnedContext() { ttt_destroy(c); }
    OwnedContext(const OwnedContext&) = delete;
    OwnedContext& operator=(const OwnedContext&) = delete;
};

std::vector<uint8_t> soul_bytes(ttt_context* c) {
    size_t size = 0;
    ttt_save_soul_buffer(c, nullptr, 0, &size);
    std::vector<uint8_t> out(size);
    REQUIRE(ttt_save_soul_buffer(c, out.data(), out.size(), &size) == TTT_OK);
    out.resize(size);
    return out;
}

// Logits after each piece (the last token of the piece), running the sequence in pieces of the given sizes.
std::vector<std::vector<float>> logits_after_pieces(ttt_context* c, const std::vector<int32_t>& tokens,
                                                    const std::vector<size_t>& cuts, size_t V) {
    std::vector<std::vector<float>> out;
    size_t pos = 0;
    for (size_t cut : cuts) {
        std::vector<float> l(V);
        REQUIRE(ttt_forward(c, tokens.data() + pos, cut - pos, l.data()) == TTT_OK);
        out.push_back(std::move(l));
        pos = cut;
    }
    return out;
}

// V 29, D 16, 3 layers, I 40, chunk 2: every op of a layer, small enough for exhaustive comparisons.
ttt::ModelWeights small_random_model(uint32_t seed) {
    using namespace ttt;
    ModelWeights w;
    w.config.vocab_size = 29, w.config.hidden_dim = 16, w.config.num_layers = 3, w.config.intermediate_dim = 40;
    w.config.inner_lr = 0.3f, w.config.ttt_chunk = 2;
    std::mt19937 rng(seed);
    const size_t V = 29, D = 16, d = 4, I = 40;
    auto mat = [&](size_t r, size_t c) {
        auto v = random_floats(rng, r * c, 0.0f, 1.0f);
        return TernaryMatrix::from_latent(v.data(), int32_t(r), int32_t(c));
    };
    w.embed = random_floats(rng, V * D, 0.0f, 1.0f);
    w.lm_head = random_floats(rng, V * D, 0.0f, 0.3f);
    w.norm_f = random_floats(rng, D, 1.0f, 0.1f);
    for (int l = 0; l < 3; ++l) {
        LayerWeights L;
        L.norm1 = random_floats(rng, D, 1.0f, 0.1f);
        L.norm2 = random_floats(rng, D, 1.0f, 0.1f);
        L.ttt_down = mat(d, D), L.ttt_up = mat(D, d), L.mlp_gate = mat(I, D), L.mlp_up = mat(I, D), L.mlp_down = mat(D, I);
        w.layers.push_back(std::move(L));
    }
    return w;
}

std::vector<float> row(const std::vector<float>& all, size_t t, size_t V) {
    return {all.begin() + long(t * V), all.begin() + long((t + 1) * V)};
}

}  // namespace

TEST_CASE("compute core: prefill, decode, splits, threads and batched contexts give the same logits and souls") {
    TempDir tmp;
    int index = 0;
    for (int chunk : {1, 3, 8}) {
        for (int act_bits : {0, 8}) {
            FixtureSpec spec;
            spec.chunk = chunk;
            spec.act_bits = act_bits;
            spec.scale = act_bits == 8;
            spec.dim = 16;
            spec.vocab = 41;
            Model model(write_fixture_model(tmp.path / ("m" + std::to_string(index++)), spec));
            REQUIRE(model.m != nullptr);
            const size_t V = size_t(spec.vocab), n = 45;
            const std::vector<int32_t> tokens = random_tokens(n, spec.vocab, 11 + uint32_t(index));
            CAPTURE(chunk);
            CAPTURE(act_bits);

            // The reference run: one call, one thread, every position's logits.
            OwnedContext ref(model.m, 1, 0);
            std::vector<float> want(n * V);
            REQUIRE(ttt_forward_all(ref.c, tokens.data(), n, want.data()) == TTT_OK);
            const std::vector<uint8_t> want_soul = soul_bytes(ref.c);

            // Token by token, 2 threads, a pass per token.
            {
                OwnedContext c(model.m, 2, 1);
                std::vector<size_t> cuts(n);
                for (size_t t = 0; t < n; ++t) cuts[t] = t + 1;
                const auto got = logits_after_pieces(c.c, tokens, cuts, V);
                for (size_t t = 0; t < n; ++t) CHECK(max_abs_diff(got[t], row(want, t, V)) == 0.0f);
                CHECK(soul_bytes(c.c) == want_soul);
            }
            // Random splits, 3 threads, passes of 4 rows (a call straddles passes).
            {
                OwnedContext c(model.m, 3, 4);
                std::mt19937 rng{uint32_t(index)};
                std::vector<size_t> cuts;
                for (size_t pos = 0; pos < n;) {
                    pos = std::min(n, pos + 1 + rng() % 9);
                    cuts.push_back(pos);
                }
                const auto got = logits_after_pieces(c.c, tokens, cuts, V);
                for (size_t i = 0; i < cuts.size(); ++i) CHECK(max_abs_diff(got[i], row(want, cuts[i] - 1, V)) == 0.0f);
                CHECK(soul_bytes(c.c) == want_soul);
            }
            // Batched beside two other contexts that run other tokens, in steps of varying sizes.
            {
                OwnedContext target(model.m, 2, 0), other1(model.m, 1, 0), other2(model.m, 1, 0);
                OwnedContext solo1(model.m, 1, 0), solo2(model.m, 1, 0);
                const std::vector<int32_t> t1 = random_tokens(3 * n, spec.vocab, 99), t2 = random_tokens(3 * n, spec.vocab, 98);
                std::mt19937 rng(7);
                size_t pos = 0, p1 = 0, p2 = 0;
                while (pos < n) {
                    const size_t k = std::min(n - pos, size_t(1 + rng() % 4));
                    const size_t k1 = 1 + rng() % 3, k2 = 1 + rng() % 2;
                    // Contexts in a shuffled order, the target's logits at its row.
                    ttt_context* ctxs[3] = {other1.c, target.c, other2.c};
                    std::vector<int32_t> all(tokens.begin() + long(pos), tokens.begin() + long(pos + k));
                    std::vector<int32_t> batch;
                    batch.insert(batch.end(), t1.begin() + long(p1), t1.begin() + long(p1 + k1));
                    batch.insert(batch.end(), all.begin(), all.end());
                    batch.insert(batch.end(), t2.begin() + long(p2), t2.begin() + long(p2 + k2));
                    const size_t counts[3] = {k1, k, k2};
                    std::vector<float> logits(3 * V);
                    REQUIRE(ttt_forward_batch(ctxs, 3, batch.data(), counts, logits.data()) == TTT_OK);
                    CHECK(max_abs_diff(row(logits, 1, V), row(want, pos + k - 1, V)) == 0.0f);
                    // The neighbours equal their own solo runs too.
                    std::vector<float> s1(V), s2(V);
                    REQUIRE(ttt_forward(solo1.c, t1.data() + p1, k1, s1.data()) == TTT_OK);
                    REQUIRE(ttt_forward(solo2.c, t2.data() + p2, k2, s2.data()) == TTT_OK);
                    CHECK(max_abs_diff(row(logits, 0, V), s1) == 0.0f);
                    CHECK(max_abs_diff(row(logits, 2, V), s2) == 0.0f);
                    pos += k, p1 += k1, p2 += k2;
                }
                CHECK(soul_bytes(target.c) == want_soul);
                CHECK(soul_bytes(other1.c) == soul_bytes(solo1.c));
                CHECK(soul_bytes(other2.c) == soul_bytes(solo2.c));
            }
        }
    }
}

TEST_CASE("compute core: ttt_learn equals ttt_forward of the same tokens") {
    TempDir tmp;
    Model model(write_text_model(tmp.path / "m", 3, 4));
    REQUIRE(model.m != nullptr);
    const std::string text = "Learning is a forward pass whose logits nobody reads; the soul is what remains.";
    std::vector<int32_t> ids(256);
    size_t n = 0;
    REQUIRE(ttt_tokenize(model.m, text.data(), text.size(), 0, ids.data(), ids.size(), &n) == TTT_OK);
    ids.resize(n);
    OwnedContext learned(model.m, 2, 5), forwarded(model.m, 1, 0);
    size_t count = 0;
    REQUIRE(ttt_learn(learned.c, text.data(), text.size(), 0, &count) == TTT_OK);
    CHECK(count == n);
    REQUIRE(ttt_forward(forwarded.c, ids.data(), ids.size(), nullptr) == TTT_OK);
    CHECK(soul_bytes(learned.c) == soul_bytes(forwarded.c));
}

TEST_CASE("compute core: ttt_forward_batch refuses bad batches before any soul changes") {
    TempDir tmp;
    FixtureSpec spec;
    Model model(write_fixture_model(tmp.path / "a", spec));
    spec.seed = 2;
    Model other_model(write_fixture_model(tmp.path / "b", spec));
    Context a(model.m), b(model.m), foreign(other_model.m);
    const std::vector<uint8_t> soul_a = soul_bytes(a.c), soul_b = soul_bytes(b.c);
    const int32_t tokens[4] = {1, 2, 3, 4};
    const size_t counts[2] = {2, 2};
    ttt_context* pair[2] = {a.c, b.c};
    ttt_context* same[2] = {a.c, a.c};
    ttt_context* mixed[2] = {a.c, foreign.c};
    ttt_context* with_null[2] = {a.c, nullptr};
    const size_t zero[2] = {2, 0};

    CHECK(ttt_forward_batch(nullptr, 2, tokens, counts, nullptr) == TTT_ERR_NULL_POINTER);
    CHECK(ttt_forward_batch(pair, 2, nullptr, counts, nullptr) == TTT_ERR_NULL_POINTER);
    CHECK(ttt_forward_batch(pair, 2, tokens, nullptr, nullptr) == TTT_ERR_NULL_POINTER);
    CHECK(ttt_forward_batch(pair, 0, tokens, counts, nullptr) == TTT_ERR_INVALID_ARGUMENT);
    CHECK(ttt_forward_batch(with_null, 2, tokens, counts, nullptr) == TTT_ERR_NULL_POINTER);
    CHECK(ttt_forward_batch(pair, 2, tokens, zero, nullptr) == TTT_ERR_INVALID_ARGUMENT);
    CHECK(ttt_forward_batch(same, 2, tokens, counts, nullptr) == TTT_ERR_INVALID_ARGUMENT);
    CHECK(std::string(ttt_last_error()).find("repeats") != std::string::npos);
    CHECK(ttt_forward_batch(mixed, 2, tokens, counts, nullptr) == TTT_ERR_INVALID_ARGUMENT);
    CHECK(std::string(ttt_last_error()).find("another model") != std::string::npos);
    const int32_t bad[4] = {1, 2, 3, spec.vocab};  // b's second token is outside the vocabulary
    CHECK(ttt_forward_batch(pair, 2, bad, counts, nullptr) == TTT_ERR_INVALID_ARGUMENT);
    CHECK(soul_bytes(a.c) == soul_a);
    CHECK(soul_bytes(b.c) == soul_b);
    // And a good batch works, with the locks of the refused ones released.
    std::vector<float> logits(2 * size_t(spec.vocab));
    CHECK(ttt_forward_batch(pair, 2, tokens, counts, logits.data()) == TTT_OK);
    CHECK(soul_bytes(a.c) != soul_a);
}

TEST_CASE("compute core: a model split between two backends computes the same function") {
    using namespace ttt;
    ModelWeights w = small_random_model(5);
    const size_t V = 29;
    auto one = CpuBackend::reference(1), two = CpuBackend::reference(2);
    auto prep_one = PreparedModel::create(w, nullptr, *one), prep_two = PreparedModel::create(w, nullptr, *two);
    Forward whole(w.config, {{one.get(), prep_one}, {one.get(), prep_one}, {one.get(), prep_one}}, 8);
    // Layers 0 and 2 on one backend, layer 1 on the other: the residual rows cross twice per pass.
    Forward split(w.config, {{one.get(), prep_one}, {two.get(), prep_two}, {one.get(), prep_one}}, 8);
    const std::vector<int32_t> tokens = random_tokens(19, 29, 3);
    SoulState s1(w.config), s2(w.config);
    std::vector<float> l1(19 * V), l2(19 * V);
    SequenceInput a{tokens.data(), 19, &s1, LogitRows::all, l1.data()}, b{tokens.data(), 19, &s2, LogitRows::all, l2.data()};
    whole.run(&a, 1);
    split.run(&b, 1);
    CHECK(max_abs_diff(l1, l2) == 0.0f);
    for (int l = 0; l < 3; ++l) {
        CHECK(s1.w[size_t(l)].to_floats() == s2.w[size_t(l)].to_floats());
        CHECK(s1.pending[size_t(l)].to_floats() == s2.pending[size_t(l)].to_floats());
    }
    CHECK(s1.position == 19);
    CHECK(s2.position == 19);
    // A placement that does not cover the model is refused.
    CHECK_THROWS_AS(Forward(w.config, {{one.get(), prep_one}}, 8), ttt::Error);
}

namespace {

// A backend whose memory is not the host's, as a CUDA backend's is not: it runs the CPU kernels but owns its
// buffers, says its memory is its own, and counts every crossing to and from the host.
class DeviceLikeBackend final : public ttt::Backend {
public:
    DeviceLikeBackend() : cpu_(ttt::CpuBackend::reference(1)) {}
    size_t uploads = 0, downloads = 0;

    const char* name() const override { return "device-like"; }
    bool supports(ttt::Op op, ttt::ActType act) const override { return cpu_->supports(op, act); }
    std::unique_ptr<ttt::Buffer> alloc(size_t bytes) override { return cpu_->alloc(bytes); }
    void upload(const ttt::Tensor& dst, const void* host) override { ++uploads, cpu_->upload(dst, host); }
    void download(const ttt::Tensor& src, void* host) override { ++downloads, cpu_->download(src, host); }
    void sync() override {}
    ttt::TernaryWeight prepare_ternary(const ttt::TernaryFileView& w, bool apply_scale, int act_bits) override {
        return cpu_->prepare_ternary(w, apply_scale, act_bits);
    }
    ttt::DenseWeight prepare_dense(const float* host, size_t rows, size_t cols, std::shared_ptr<const void> owner) override {
        return cpu_->prepare_dense(host, rows, cols, std::move(owner));
    }
    bool same_memory_as(const ttt::Backend& other) const override { return &other == this; }
    bool memory_is_host() const override { return false; }
    void embed(const int32_t* t, const ttt::DenseWeight& e, const ttt::Tensor& o) override { cpu_->embed(t, e, o); }
    void rmsnorm(const ttt::Tensor& x, const ttt::DenseWeight& g, float eps, const ttt::Tensor& y) override { cpu_->rmsnorm(x, g, eps, y); }
    void fake_quant_i8(const ttt::Tensor& x, const ttt::Tensor& y) override { cpu_->fake_quant_i8(x, y); }
    void quantize_i8(const ttt::Tensor& x, const ttt::QuantTensor& o) override { cpu_->quantize_i8(x, o); }
    void ternary_matmul(const ttt::TernaryWeight& w, const ttt::Tensor& x, const ttt::Tensor& y) override { cpu_->ternary_matmul(w, x, y); }
    void ternary_matmul(const ttt::TernaryWeight& w, const ttt::QuantTensor& x, const ttt::Tensor& y) override { cpu_->ternary_matmul(w, x, y); }
    void dense_matmul(const ttt::DenseWeight& w, const ttt::Tensor& x, const ttt::Tensor& y) override { cpu_->dense_matmul(w, x, y); }
    void swiglu(const ttt::Tensor& g, const ttt::Tensor& u, const ttt::Tensor& o) override { cpu_->swiglu(g, u, o); }
    void add(const ttt::Tensor& a, const ttt::Tensor& b, const ttt::Tensor& o) override { cpu_->add(a, b, o); }
    void l2_normalize(const ttt::Tensor& x, const ttt::Tensor& y) override { cpu_->l2_normalize(x, y); }
    void ttt_chunked(const ttt::Tensor& f, const ttt::Tensor& z, const ttt::SequenceRows* s, ttt::TttStateRef* st,
                     size_t n, size_t chunk, float lr) override {
        cpu_->ttt_chunked(f, z, s, st, n, chunk, lr);
    }
    void ttt_delta(const ttt::Tensor& kr, const ttt::Tensor& v, const ttt::Tensor& qr, const ttt::Tensor& g,
                   const ttt::Tensor& out, const ttt::SequenceRows* s, ttt::TttStateRef* st, size_t n,
                   const ttt::DenseWeight& ck, const ttt::DenseWeight& cq, const ttt::DenseWeight& gb, size_t heads,
                   float lr) override {
        cpu_->ttt_delta(kr, v, qr, g, out, s, st, n, ck, cq, gb, heads, lr);
    }
    void gather_rows(const ttt::Tensor& x, const size_t* rows, size_t n, const ttt::Tensor& out) override {
        cpu_->gather_rows(x, rows, n, out);
    }
    void rope(const ttt::Tensor& x, size_t hd, const float* inv_freq, const ttt::SequenceRows* s, const uint64_t* pos,
              size_t n) override {
        cpu_->rope(x, hd, inv_freq, s, pos, n);
    }
    void attention(const ttt::Tensor& q, const ttt::Tensor& k, const ttt::Tensor& v, const ttt::SequenceRows* s,
                   const ttt::KvCacheRef* caches, size_t n, const ttt::AttentionShape& shape, const ttt::Tensor& out) override {
        cpu_->attention(q, k, v, s, caches, n, shape, out);
    }
    void relu2_gated(const ttt::Tensor& g, const ttt::Tensor& u, const ttt::Tensor& o) override { cpu_->relu2_gated(g, u, o); }

private:
    std::unique_ptr<ttt::CpuBackend> cpu_;
};

}  // namespace

TEST_CASE("compute core: a soul lives in its backend's memory: passes move no soul, a soul elsewhere is refused") {
    using namespace ttt;
    ModelWeights w = small_random_model(17);
    DeviceLikeBackend device;
    auto cpu = CpuBackend::reference(1);
    auto prepared = PreparedModel::create(w, nullptr, device);
    Forward f(w.config, all_layers_on(&device, prepared), 8);
    Forward reference(w.config, all_layers_on(cpu.get(), PreparedModel::create(w, nullptr, *cpu)), 8);
    const std::vector<int32_t> tokens = random_tokens(12, 29, 4);

    // A soul still in host memory cannot run on a backend whose memory is its own: refused before anything runs.
    SoulState host_soul(w.config);
    std::vector<float> logits(29);
    SequenceInput in{tokens.data(), 1, &host_soul, LogitRows::last, logits.data()};
    CHECK_THROWS_WITH_AS(f.run(&in, 1), doctest::Contains("not in the memory of backend device-like"), Error);
    CHECK(host_soul.position == 0);

    // Placed, it runs where it is: twelve decode steps cross to the host only for their logits (one download
    // each), never for the soul; and it computes what the host soul on the CPU backend computes.
    SoulState soul(w.config), expected(w.config);
    soul.place(f.layer_backends());
    CHECK(soul.w[0].backend() == &device);
    device.uploads = device.downloads = 0;
    std::vector<float> want(29);
    for (size_t t = 0; t < tokens.size(); ++t) {
        SequenceInput a{tokens.data() + t, 1, &soul, LogitRows::last, logits.data()};
        SequenceInput b{tokens.data() + t, 1, &expected, LogitRows::last, want.data()};
        f.run(&a, 1);
        reference.run(&b, 1);
        CHECK(logits == want);
    }
    CHECK(device.uploads == 0);
    CHECK(device.downloads == tokens.size());
    // Copies stay in the same memory; reading a soul for a file crosses explicitly.
    SoulState copy = soul;
    CHECK(copy.w[1].backend() == &device);
    CHECK(copy.w == expected.w);
    CHECK(copy.pending == expected.pending);
}

TEST_CASE("compute core: an attention model's KV cache stays in its backend's memory through growth, reset and load") {
    using namespace ttt;
    const HfCheckpoint ck = load_hf_checkpoint((test_data_dir() / "hf" / "llama_gqa2_untied").string());
    const ModelConfig& c = ck.weights.config;
    DeviceLikeBackend device;
    auto cpu = CpuBackend::reference(1);
    Forward f(c, all_layers_on(&device, PreparedModel::create(ck.weights, nullptr, device)), 4);
    Forward reference(c, all_layers_on(cpu.get(), PreparedModel::create(ck.weights, nullptr, *cpu)), 4);
    const size_t V = size_t(c.vocab_size), T = 40;  // past the cache's first allocation (16 rows): it grows twice
    const std::vector<int32_t> tokens = random_tokens(T, c.vocab_size, 8);
    auto fresh = [&](Backend* where) {
        SoulState s(c);
        s.kv.configure(c, KvCacheType::f16, 0);
        if (where) s.place(std::vector<Backend*>(size_t(c.num_layers), where));
        return s;
    };
    auto on_device = [&](const SoulState& s) {
        bool all = true;
        for (const auto* blocks : {&s.kv.k, &s.kv.v})
            for (const StateBlock& b : *blocks) all = all && b.backend() == &device;
        return all;
    };
    SoulState soul = fresh(&device), expected = fresh(nullptr);
    std::vector<float> got(V), want(V);
    auto step = [&](SoulState& a, SoulState& b, int32_t token) {
        SequenceInput x{&token, 1, &a, LogitRows::last, got.data()}, y{&token, 1, &b, LogitRows::last, want.data()};
        f.run(&x, 1);
        reference.run(&y, 1);
        CHECK(got == want);
    };
    for (size_t t = 0; t < T; ++t) step(soul, expected, tokens[t]);
    CHECK(soul.kv.held() >= T);
    CHECK(on_device(soul));
    // A reset empties the cache where it lives; the context runs on from position 0.
    soul.reset();
    expected.reset();
    CHECK(on_device(soul));
    for (size_t t = 0; t < 5; ++t) step(soul, expected, tokens[t]);
    // Saved from the device, loaded into a fresh host soul, placed: it runs on as the soul it was saved from.
    const std::vector<uint8_t> bytes = kv_soul_to_bytes(soul, c, 42);
    SoulState loaded = fresh(nullptr);
    kv_soul_from_bytes(bytes.data(), bytes.size(), c, 42, &loaded, "test soul");
    loaded.place(f.layer_backends());
    CHECK(on_device(loaded));
    CHECK(loaded.position == 5);
    for (size_t t = 5; t < 9; ++t) step(loaded, expected, tokens[t]);
}

TEST_CASE("compute core: the TTT recurrence split by fast-weight rows equals one pass") {
    std::mt19937 rng(9);
    for (size_t d : {1, 5, 16}) {
        for (size_t chunk : {1, 3}) {
            const size_t n = 11;
            const auto fhat = random_floats(rng, n * d, 0.0f, 0.5f);
            std::vector<float> w0 = random_floats(rng, d * d, 0.0f, 0.2f), p0 = random_floats(rng, d * d, 0.0f, 0.1f);
            std::vector<float> w1 = w0, p1 = p0, z1(n * d), w2 = w0, p2 = p0, z2(n * d);
            ttt::ttt_chunked_rows<float>(fhat.data(), z1.data(), n, d, w1.data(), p1.data(), 2, chunk, 0.4f, 0, d);
            const size_t mid = d / 2;
            ttt::ttt_chunked_rows<float>(fhat.data(), z2.data(), n, d, w2.data(), p2.data(), 2, chunk, 0.4f, mid, d);
            ttt::ttt_chunked_rows<float>(fhat.data(), z2.data(), n, d, w2.data(), p2.data(), 2, chunk, 0.4f, 0, mid);
            CHECK(z1 == z2);
            CHECK(w1 == w2);
            CHECK(p1 == p2);
        }
    }
}

TEST_CASE("compute core: a .bitt v2 is memory-mapped and its weights, packed and float, are used in place") {
    using namespace ttt;
    const std::string demo = std::string(TTT_TEST_DATA_DIR) + "/../../models/shakespeare-demo.bitt";
    LoadedModel m = load_model_bitt(demo, LoadOptions{});
    CHECK(m.mapped);
    REQUIRE(m.weights.storage != nullptr);
    const TernaryMatrix& down = m.weights.layers[0].ttt_down;
    CHECK(down.view != nullptr);
    CHECK(down.packed.empty());  // nothing copied
    // The scalar backend takes the file layout as it is: the prepared weight is the file's bytes.
    auto be = CpuBackend::reference(1);
    auto prepared = PreparedModel::create(m.weights, nullptr, *be);
    CHECK(prepared->layers[0].ttt_down.in_place);
    CHECK(prepared->layers[0].ttt_down.data == down.view);
    // Float tensors too: the embedding, the norms and the LM head are views into the mapped file.
    for (const FloatTensor* t : {&m.weights.embed, &m.weights.lm_head, &m.weights.norm_f, &m.weights.layers[0].norm1}) {
        CHECK(t->view != nullptr);
        CHECK(t->owned.empty());
    }
    CHECK(prepared->lm_head.data == m.weights.lm_head.view);
    CHECK(prepared->embed.data == m.weights.embed.view);
    // The same file from a memory buffer gives the same weights (views into the owned buffer).
    std::vector<uint8_t> bytes = read_file(demo);
    LoadedModel b = load_model_bitt_bytes(bytes, "buffer", LoadOptions{});
    CHECK_FALSE(b.mapped);
    CHECK(b.fingerprint == m.fingerprint);
}

TEST_CASE("compute core: at a size where every op splits across threads, 1, 2 and 3 threads give the same bits") {
    TempDir tmp;
    FixtureSpec spec;
    spec.dim = 256, spec.vocab = 1024, spec.layers = 2, spec.chunk = 4, spec.act_bits = 8, spec.scale = true;
    Model model(write_fixture_model(tmp.path / "m", spec));
    REQUIRE(model.m != nullptr);
    const size_t V = 1024, n = 150;
    const auto tokens = random_tokens(n, spec.vocab, 21);
    std::vector<std::vector<float>> logits;
    std::vector<std::vector<uint8_t>> souls;
    for (int32_t threads : {1, 2, 3}) {
        OwnedContext c(model.m, threads, 0);
        std::vector<float> all(n * V);
        REQUIRE(ttt_forward_all(c.c, tokens.data(), n, all.data()) == TTT_OK);
        logits.push_back(std::move(all));
        souls.push_back(soul_bytes(c.c));
    }
    CHECK(max_abs_diff(logits[0], logits[1]) == 0.0f);
    CHECK(max_abs_diff(logits[0], logits[2]) == 0.0f);
    CHECK(souls[0] == souls[1]);
    CHECK(souls[0] == souls[2]);
}

TEST_CASE("compute core: the int8 activation path (quantise once, exact integer sums) at the scalar level") {
    using namespace ttt;
    // quantize_rows_i8 gives exactly the fake-quantised values: q / a == fake_quant_row(x).
    std::mt19937 rng(13);
    for (size_t K : {size_t(1), size_t(7), size_t(64), size_t(130)}) {
        std::vector<float> x = random_floats(rng, 3 * K, 0.0f, 2.0f), fq(3 * K), a(3);
        x[0] = 0.0f;
        std::vector<int8_t> q(3 * K);
        quantize_rows_i8(x.data(), K, 3, K, q.data(), K, a.data());
        for (size_t m = 0; m < 3; ++m) {
            fake_quant_int8_ref(x.data() + m * K, K, fq.data() + m * K);
            for (size_t c = 0; c < K; ++c) CHECK(float(q[m * K + c]) / a[m] == fq[m * K + c]);
        }
    }
    // The model through the i8 path: prefill ≡ decode ≡ threads bit for bit; close to the float path.
    ModelWeights w;
    w.config.vocab_size = 37, w.config.hidden_dim = 32, w.config.num_layers = 2, w.config.intermediate_dim = 72;
    w.config.inner_lr = 0.4f, w.config.ttt_chunk = 3, w.config.act_bits = 8, w.config.bitlinear_scale = true;
    auto mat = [&](size_t r, size_t c) {
        auto v = random_floats(rng, r * c, 0.0f, 1.0f);
        return TernaryMatrix::from_latent(v.data(), int32_t(r), int32_t(c));
    };
    w.embed = random_floats(rng, 37 * 32, 0.0f, 1.0f);
    w.lm_head = random_floats(rng, 37 * 32, 0.0f, 0.3f);
    w.norm_f = random_floats(rng, 32, 1.0f, 0.1f);
    for (int l = 0; l < 2; ++l) {
        LayerWeights L;
        L.norm1 = random_floats(rng, 32, 1.0f, 0.1f);
        L.norm2 = random_floats(rng, 32, 1.0f, 0.1f);
        L.ttt_down = mat(8, 32), L.ttt_up = mat(32, 8), L.mlp_gate = mat(72, 32), L.mlp_up = mat(72, 32), L.mlp_down = mat(32, 72);
        w.layers.push_back(std::move(L));
    }
    const std::vector<int32_t> tokens = random_tokens(23, 37, 5);
    auto run = [&](Int8Activations int8, int threads, size_t pass) {
        CpuBackend be(CpuBackendOptions{threads, CpuLevel::scalar, int8});
        auto prep = PreparedModel::create(w, nullptr, be);
        Forward f(w.config, std::vector<LayerPlacement>(2, {&be, prep}), pass);
        SoulState soul(w.config);
        std::vector<float> logits(23 * 37);
        for (size_t at = 0; at < tokens.size(); at += pass) {
            const size_t k = std::min(pass, tokens.size() - at);
            SequenceInput in{tokens.data() + at, k, &soul, LogitRows::all, logits.data() + at * 37};
            f.run(&in, 1);
        }
        CHECK(prep->layers[0].mlp_gate.act == (int8 == Int8Activations::on ? ActType::i8 : ActType::f32_fake_i8));
        return logits;
    };
    const auto i8_prefill = run(Int8Activations::on, 1, 64), i8_decode = run(Int8Activations::on, 2, 1);
    const auto i8_split = run(Int8Activations::on, 3, 5), fp = run(Int8Activations::off, 1, 64);
    CHECK(max_abs_diff(i8_prefill, i8_decode) == 0.0f);
    CHECK(max_abs_diff(i8_prefill, i8_split) == 0.0f);
    // Against the float path: the same quantised inputs, products summed exactly instead of in float. The
    // difference is rounding only, amplified through 2 layers; bounded here by 1e-3 of the logits' scale.
    float scale = 0.0f;
    for (float v : fp) scale = std::max(scale, std::fabs(v));
    CHECK(max_abs_diff(i8_prefill, fp) <= 1e-3f * std::max(1.0f, scale));
    CHECK(max_abs_diff(i8_prefill, fp) > 0.0f);  // they are different paths
}
