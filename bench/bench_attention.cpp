// Attention models (docs/models.md) through the one forward: a synthetic BitNet b1.58 model of the 2B4T shape
// (hidden 2560, 30 layers, MLP 6912, 20 query / 5 KV heads of 128, vocab 128,256, tied embedding) with random
// weights, decode and prefill tokens/s on the fastest CPU level. Decode is reported with logits, the LM head stored
// f32 (reads 1.31 GB per token), bf16 (0.66 GB) or int8 (0.33 GB; ttt_context_params.lm_head), and without (the
// ternary layers only, 0.55 GB per token), each with the bytes it reads per token as a GB/s counter to set beside
// the same run's bandwidth probe (bench_bandwidth.cpp): GB/s ÷ probe GB/s is the fraction of the bandwidth ceiling.
//   build/bench/ttt_bench --benchmark_filter='BitNet2B|MemoryReadBandwidth'
// (GB/s counts the weights only; the KV cache read adds ~2.5 MB per token per 512 cached tokens, f16.)
#include <benchmark/benchmark.h>

#include <memory>
#include <random>
#include <vector>

#include "backend/cpu_backend.h"
#include "cpu/ternary_ref.h"
#include "model/attention_weights.h"
#include "model/forward.h"

namespace {

struct Shape {
    int32_t V = 128256, D = 2560, L = 30, I = 6912, H = 20, Hk = 5, hd = 128;
};

// Random ternary codes straight into the packed layout (valid codes only), fast enough for 2.4 G weights.
ttt::TernaryMatrix random_ternary(int32_t rows, int32_t cols, std::mt19937& rng) {
    ttt::TernaryMatrix m;
    m.rows = rows;
    m.cols = cols;
    m.scale = 0.02f;
    m.packed.resize(size_t(rows) * ttt::ternary_row_bytes(size_t(cols)));
    static const uint8_t codes[3] = {0, 1, 2};
    for (uint8_t& b : m.packed) {
        const uint32_t r = rng();
        b = uint8_t(codes[r % 3] | codes[(r >> 8) % 3] << 2 | codes[(r >> 16) % 3] << 4 | codes[(r >> 24) % 3] << 6);
    }
    return m;
}

ttt::ModelWeights bitnet_2b_shape() {
    const Shape s;
    ttt::ModelWeights w;
    ttt::ModelConfig& c = w.config;
    c.arch = ttt::Architecture::bitnet;
    c.vocab_size = s.V;
    c.hidden_dim = s.D;
    c.num_layers = s.L;
    c.intermediate_dim = s.I;
    c.bitlinear_scale = true;
    c.act_bits = 8;
    c.norm_eps = 1e-5f;
    c.attn.num_heads = s.H;
    c.attn.num_kv_heads = s.Hk;
    c.attn.head_dim = s.hd;
    c.attn.rope_theta = 500000.0f;
    c.attn.max_position = 4096;
    c.attn.tie_embeddings = true;
    std::mt19937 rng(7);
    std::normal_distribution<float> normal(0.0f, 0.02f);
    std::vector<float> embed(size_t(s.V) * size_t(s.D));
    for (float& x : embed) x = normal(rng);
    w.embed = std::move(embed);
    w.norm_f.assign(size_t(s.D), 1.0f);
    auto attention = std::make_shared<ttt::AttentionWeights>();
    const int32_t Q = s.H * s.hd, KV = s.Hk * s.hd;
    for (int32_t l = 0; l < s.L; ++l) {
        ttt::AttentionLayerWeights L;
        L.input_norm.assign(size_t(s.D), 1.0f);
        L.post_norm.assign(size_t(s.D), 1.0f);
        L.attn_sub_norm.assign(size_t(Q), 1.0f);
        L.ffn_sub_norm.assign(size_t(s.I), 1.0f);
        L.q = ttt::Projection::from_ternary(random_ternary(Q, s.D, rng));
        L.k = ttt::Projection::from_ternary(random_ternary(KV, s.D, rng));
        L.v = ttt::Projection::from_ternary(random_ternary(KV, s.D, rng));
        L.o = ttt::Projection::from_ternary(random_ternary(s.D, Q, rng));
        L.gate = ttt::Projection::from_ternary(random_ternary(s.I, s.D, rng));
        L.up = ttt::Projection::from_ternary(random_ternary(s.I, s.D, rng));
        L.down = ttt::Projection::from_ternary(random_ternary(s.D, s.I, rng));
        attention->layers.push_back(std::move(L));
    }
    w.attention = std::move(attention);
    return w;
}

// One model for every benchmark of the run (it takes seconds to make), prepared per thread count.
const ttt::ModelWeights& model() {
    static const ttt::ModelWeights w = bitnet_2b_shape();
    return w;
}

double ternary_bytes(const ttt::ModelWeights& w) {
    double b = 0;
    for (const auto& L : w.attention->layers)
        for (const ttt::Projection* p : {&L.q, &L.k, &L.v, &L.o, &L.gate, &L.up, &L.down}) b += double(p->ternary.bytes());
    return b;
}

// Args: threads, logits (0: none, 1: the LM head f32, 2: bf16, 3: int8), context already in the cache.
void BM_BitNet2B_Decode(benchmark::State& state) {
    const ttt::ModelWeights& w = model();
    static const ttt::DenseStorage kHead[] = {ttt::DenseStorage::f32, ttt::DenseStorage::f32, ttt::DenseStorage::bf16,
                                              ttt::DenseStorage::i8};
    static const char* const kHeadName[] = {"", "f32", "bf16", "int8"};
    static const double kHeadBytes[] = {0.0, 4.0, 2.0, 1.0};  // per weight (int8: + one f32 scale per row, ignored)
    const int head = int(state.range(1));
    auto be = ttt::CpuBackend::best(int(state.range(0)), kHead[head]);
    auto prepared = ttt::PreparedModel::create(w, nullptr, *be);
    ttt::Forward fwd(w.config, ttt::all_layers_on(be.get(), prepared), 64);
    const bool logits = head != 0;
    const size_t context = size_t(state.range(2));
    std::vector<int32_t> prompt(context);
    for (size_t i = 0; i < context; ++i) prompt[i] = int32_t((i * 7919) % size_t(w.config.vocab_size));
    ttt::SoulState soul(w.config);
    soul.kv.configure(w.config, ttt::KvCacheType::f16, 0);
    ttt::SequenceInput pre{prompt.data(), prompt.size(), &soul, ttt::LogitRows::none, nullptr};
    fwd.run(&pre, 1);
    std::vector<float> out(size_t(w.config.vocab_size));
    int32_t token = 1;
    for (auto _ : state) {
        if (soul.position + 1 > soul.kv.capacity) state.SkipWithError("cache full");
        ttt::SequenceInput in{&token, 1, &soul, logits ? ttt::LogitRows::last : ttt::LogitRows::none, logits ? out.data() : nullptr};
        fwd.run(&in, 1);
        benchmark::DoNotOptimize(out.data());
    }
    const double bytes = ternary_bytes(w) + double(w.embed.size()) * kHeadBytes[head];
    state.counters["tok/s"] = benchmark::Counter(1.0, benchmark::Counter::kIsIterationInvariantRate);
    state.counters["GB/s"] = benchmark::Counter(bytes, benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
    state.SetLabel(std::string(be->name()) + (logits ? std::string(", with logits, LM head ") + kHeadName[head] : ", layers only"));
}
BENCHMARK(BM_BitNet2B_Decode)
    ->Args({1, 1, 32})->Args({2, 1, 32})->Args({2, 0, 32})->Args({2, 1, 512})->Args({2, 2, 32})->Args({2, 3, 32})
    ->UseRealTime()->Unit(benchmark::kMillisecond)->MinTime(2.0);

// Prefill of a 64-token prompt (logits of the last token). Args: threads.
void BM_BitNet2B_Prefill(benchmark::State& state) {
    const ttt::ModelWeights& w = model();
    auto be = ttt::CpuBackend::best(int(state.range(0)));
    auto prepared = ttt::PreparedModel::create(w, nullptr, *be);
    ttt::Forward fwd(w.config, ttt::all_layers_on(be.get(), prepared), 64);
    std::vector<int32_t> prompt(64);
    for (size_t i = 0; i < prompt.size(); ++i) prompt[i] = int32_t((i * 104729) % size_t(w.config.vocab_size));
    std::vector<float> out(size_t(w.config.vocab_size));
    for (auto _ : state) {
        ttt::SoulState soul(w.config);
        ttt::SequenceInput in{prompt.data(), prompt.size(), &soul, ttt::LogitRows::last, out.data()};
        fwd.run(&in, 1);
        benchmark::DoNotOptimize(out.data());
    }
    state.counters["tok/s"] = benchmark::Counter(double(prompt.size()), benchmark::Counter::kIsIterationInvariantRate);
    state.SetLabel(be->name());
}
BENCHMARK(BM_BitNet2B_Prefill)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond)->MinTime(2.0);

}  // namespace
