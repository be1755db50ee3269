// Inference speed through the one batched forward (src/model/forward.h) on random models: decode and prefill
// tokens/s at 1 and 2 threads, batched decode of many contexts, per kernel level (scalar = the reference backend,
// best = the fastest level this CPU has). Each figure is read beside the same run's bandwidth probe
// (bench_bandwidth.cpp); docs/performance.md has the tables.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <memory>
#include <random>
#include <vector>

#include "backend/cpu_backend.h"
#include "cpu/ternary_ref.h"
#include "ternary_format.h"
#include "load/bitt_model.h"
#include "io/file.h"
#include "load/model_files.h"
#include "model/forward.h"
#include "random_data.h"

namespace {

using ttt_bench::normal_floats;

void BM_TernaryMatvecRef(benchmark::State& state) {
    const size_t rows = size_t(state.range(0)), cols = size_t(state.range(1));
    const std::vector<float> w = normal_floats(rows * cols, 1), x = normal_floats(cols, 2);
    ttt::TernaryMatrix m = ttt::TernaryMatrix::from_latent(w.data(), int32_t(rows), int32_t(cols));
    std::vector<float> y(rows);
    for (auto _ : state) {
        ttt::ternary_matvec_ref(m.data(), rows, cols, x.data(), y.data());
        benchmark::DoNotOptimize(y.data());
    }
    state.counters["Gw/s"] = benchmark::Counter(double(rows * cols), benchmark::Counter::kIsIterationInvariantRate,
                                                benchmark::Counter::kIs1000);
    state.counters["GB/s"] = benchmark::Counter(double(m.bytes()), benchmark::Counter::kIsIterationInvariantRate,
                                                benchmark::Counter::kIs1000);
}
// Shapes: the demo model's MLP (1024×256, 256×1024) and a 2B-class layer (2560×6912).
BENCHMARK(BM_TernaryMatvecRef)->Args({1024, 256})->Args({256, 1024})->Args({6912, 2560})->Unit(benchmark::kMicrosecond);

ttt::ModelConfig bench_config(int32_t V, int32_t D, int32_t L, int32_t act_bits) {
    ttt::ModelConfig c;
    c.vocab_size = V;
    c.hidden_dim = D;
    c.num_layers = L;
    c.intermediate_dim = 4 * D;
    c.inner_lr = 0.1f;
    c.act_bits = act_bits;
    return c;
}

// Unit norms and the five ternary matrices of every layer from mat(rows, cols, seed).
template <class MakeMatrix>
void fill_layers(ttt::ModelWeights& w, MakeMatrix mat) {
    const int32_t D = w.config.hidden_dim, d = D / 4, I = w.config.intermediate_dim;
    w.norm_f.assign(size_t(D), 1.0f);
    for (int32_t l = 0; l < w.config.num_layers; ++l) {
        ttt::LayerWeights layer;
        layer.norm1.assign(size_t(D), 1.0f);
        layer.norm2.assign(size_t(D), 1.0f);
        layer.ttt_down = mat(d, D, 10 + uint32_t(l));
        layer.ttt_up = mat(D, d, 20 + uint32_t(l));
        layer.mlp_gate = mat(I, D, 30 + uint32_t(l));
        layer.mlp_up = mat(I, D, 40 + uint32_t(l));
        layer.mlp_down = mat(D, I, 50 + uint32_t(l));
        w.layers.push_back(std::move(layer));
    }
}

ttt::ModelWeights random_model(int32_t V, int32_t D, int32_t L, int32_t act_bits) {
    ttt::ModelWeights w;
    w.config = bench_config(V, D, L, act_bits);
    w.embed = normal_floats(size_t(V) * size_t(D), 3);
    w.lm_head = normal_floats(size_t(V) * size_t(D), 4);
    fill_layers(w, [](int32_t rows, int32_t cols, uint32_t seed) {
        auto v = normal_floats(size_t(rows) * size_t(cols), seed);
        return ttt::TernaryMatrix::from_latent(v.data(), rows, cols);
    });
    return w;
}

// Large shapes (hidden ≥ 1024): random codes and uniform floats straight from a fast generator (ternarising a
// billion latent floats takes minutes); a decode step's speed does not depend on the values. A code 3 (not a
// ternary code) becomes 1 (weight 0), so about half the weights are zero.
ttt::ModelWeights synthetic_model(int32_t V, int32_t D, int32_t L, int32_t act_bits) {
    ttt::ModelWeights w;
    w.config = bench_config(V, D, L, act_bits);
    uint64_t state = 0x9E3779B97F4A7C15ull;
    auto next = [&] {  // xorshift64
        state ^= state << 13, state ^= state >> 7, state ^= state << 17;
        return state;
    };
    auto floats = [&](size_t n) {
        std::vector<float> v(n);
        for (float& x : v) x = float(int64_t(next() >> 40) - (int64_t(1) << 23)) * (1.0f / float(1 << 23));
        return v;
    };
    w.embed = floats(size_t(V) * size_t(D));
    w.lm_head = floats(size_t(V) * size_t(D));
    fill_layers(w, [&](int32_t rows, int32_t cols, uint32_t) {
        ttt::TernaryMatrix m;
        m.rows = rows, m.cols = cols, m.scale = 1.0f;
        m.packed.resize(ttt::ternary_file_bytes(size_t(rows), size_t(cols)));
        for (uint8_t& b : m.packed) {
            uint8_t v = uint8_t(next() >> 56);
            for (int k = 0; k < 8; k += 2)
                if (((v >> k) & 3) == 3) v = uint8_t(v & ~(2 << k));  // 3 → 1
            b = v;
        }
        return m;
    });
    return w;
}

// The bytes one decode step must read: every packed ternary matrix, the LM head in its storage, one embedding row.
double weight_bytes_per_token(const ttt::ModelWeights& w, ttt::DenseStorage head) {
    double bytes = 0;
    for (const auto& l : w.layers)
        for (const auto* m : {&l.ttt_down, &l.ttt_up, &l.mlp_gate, &l.mlp_up, &l.mlp_down})
            bytes += double(ttt::ternary_file_bytes(size_t(m->rows), size_t(m->cols)));
    const double V = w.config.vocab_size, D = w.config.hidden_dim;
    bytes += head == ttt::DenseStorage::f32 ? 4 * V * D : head == ttt::DenseStorage::bf16 ? 2 * V * D : V * D + 4 * V;
    return bytes + 4 * D;
}

// A model, a backend and a forward, as a context has them.
struct Rig {
    ttt::ModelWeights weights;
    std::unique_ptr<ttt::CpuBackend> backend;
    std::shared_ptr<const ttt::PreparedModel> prepared;
    std::unique_ptr<ttt::Forward> forward;

    // head: the LM head's storage at the best level (the reference backend keeps f32).
    Rig(const benchmark::State& state, size_t max_rows, ttt::DenseStorage head = ttt::DenseStorage::f32) {
        const int32_t V = int32_t(state.range(0)), D = int32_t(state.range(1)), L = int32_t(state.range(2));
        weights = D >= 1024 ? synthetic_model(V, D, L, int32_t(state.range(5))) : random_model(V, D, L, int32_t(state.range(5)));
        const int threads = int(state.range(3));
        if (state.range(4)) {
            ttt::CpuBackendOptions options{threads, ttt::cpu_active_level()};
            options.lm_head = head;
            backend = std::make_unique<ttt::CpuBackend>(options);
        } else {
            backend = ttt::CpuBackend::reference(threads);
        }
        prepared = ttt::PreparedModel::create(weights, nullptr, *backend);
        std::vector<ttt::LayerPlacement> placement(weights.layers.size(), {backend.get(), prepared});
        forward = std::make_unique<ttt::Forward>(weights.config, placement, max_rows);
    }
};

void label(benchmark::State& state, const Rig& rig) { state.SetLabel(rig.backend->name()); }

// Args: V, D, L, threads, level (0 scalar reference, 1 best), act_bits.
void decode(benchmark::State& state, ttt::DenseStorage head) {
    Rig rig(state, 1, head);
    ttt::SoulState soul(rig.weights.config);
    std::vector<float> logits(size_t(rig.weights.config.vocab_size));
    int32_t token = 1;
    for (auto _ : state) {
        ttt::SequenceInput in{&token, 1, &soul, ttt::LogitRows::last, logits.data()};
        rig.forward->run(&in, 1);
        token = (token * 31 + 7) % rig.weights.config.vocab_size;
    }
    label(state, rig);
    state.counters["tokens/s"] = benchmark::Counter(1.0, benchmark::Counter::kIsIterationInvariantRate);
    // Weight bytes read per second: divided by the same run's probe, the fraction of the bandwidth ceiling.
    state.counters["weight GB/s"] = benchmark::Counter(weight_bytes_per_token(rig.weights, head),
                                                       benchmark::Counter::kIsIterationInvariantRate,
                                                       benchmark::Counter::kIs1000);
}
void BM_Decode(benchmark::State& state) { decode(state, ttt::DenseStorage::f32); }
// Args as BM_Decode, then the LM head storage (0 f32, 1 bf16, 2 i8).
void BM_DecodeHead(benchmark::State& state) { decode(state, ttt::DenseStorage(state.range(6))); }

// Workload B3: the latency of one whole layer (norms, five ternary products, the TTT step, SwiGLU, residuals) on
// the tiny shape D 256 / d 64 / I 1024: a decode step of 8 such layers with a 32-token vocabulary (a negligible
// head), divided by 8. Target (issue 14): ≤ 10 µs per layer on 1 thread. Args as BM_Decode.
void BM_LayerLatency(benchmark::State& state) {
    decode(state, ttt::DenseStorage::f32);
    state.counters["us/layer"] = benchmark::Counter(double(state.range(2)) * 1e-6,
                                                    benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_LayerLatency)
    ->Args({32, 256, 8, 1, 0, 0})
    ->Args({32, 256, 8, 1, 1, 0})
    ->Args({32, 256, 8, 1, 1, 8})
    ->Unit(benchmark::kMicrosecond);

// Prefill of a 1,000-token prompt, logits of the last token. Args as BM_Decode.
void BM_Prefill(benchmark::State& state) {
    constexpr size_t kPrompt = 1000;
    Rig rig(state, 128);
    std::vector<int32_t> tokens(kPrompt);
    for (size_t i = 0; i < kPrompt; ++i) tokens[i] = int32_t((i * 31 + 7) % size_t(rig.weights.config.vocab_size));
    std::vector<float> logits(size_t(rig.weights.config.vocab_size));
    for (auto _ : state) {
        ttt::SoulState soul(rig.weights.config);
        ttt::SequenceInput in{tokens.data(), kPrompt, &soul, ttt::LogitRows::last, logits.data()};
        rig.forward->run(&in, 1);
    }
    label(state, rig);
    state.counters["tokens/s"] = benchmark::Counter(double(kPrompt), benchmark::Counter::kIsIterationInvariantRate);
}

// N contexts stepped by one token each: together in one batch (range 6 = 1) or one after the other (0).
// Args: V, D, L, threads, level, act_bits, together, N, LM head storage (0 f32, 1 bf16, 2 i8).
void BM_BatchedDecode(benchmark::State& state) {
    const size_t N = size_t(state.range(7));
    const bool together = state.range(6) != 0;
    Rig rig(state, N, ttt::DenseStorage(state.range(8)));
    std::vector<ttt::SoulState> souls(N, ttt::SoulState(rig.weights.config));
    const size_t V = size_t(rig.weights.config.vocab_size);
    std::vector<float> logits(N * V);
    std::vector<int32_t> tokens(N);
    std::vector<ttt::SequenceInput> in(N);
    for (auto _ : state) {
        for (size_t i = 0; i < N; ++i) {
            tokens[i] = int32_t((tokens[i] * 31 + 7 + int32_t(i)) % int32_t(V));
            in[i] = {&tokens[i], 1, &souls[i], ttt::LogitRows::last, logits.data() + i * V};
        }
        if (together) rig.forward->run(in.data(), N);
        else
            for (size_t i = 0; i < N; ++i) rig.forward->run(&in[i], 1);
    }
    label(state, rig);
    state.counters["tokens/s"] = benchmark::Counter(double(N), benchmark::Counter::kIsIterationInvariantRate);
}

// Shapes: the demo model (V 1024, D 256, L 4) and upstream's Small preset (V 16384, D 256, L 8). Wall-clock rates
// (UseRealTime): with 2 threads the work runs on the pool too, which the main thread's CPU time does not count.
void decode_args(benchmark::internal::Benchmark* b) {
    for (int level : {0, 1})
        for (int threads : {1, 2}) {
            b->Args({1024, 256, 4, threads, level, 0});
            b->Args({16384, 256, 8, threads, level, 0});
            b->Args({16384, 256, 8, threads, level, 8});
        }
}
BENCHMARK(BM_Decode)->Apply(decode_args)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Prefill)->Apply(decode_args)->UseRealTime()->Unit(benchmark::kMillisecond);

void decode_head_args(benchmark::internal::Benchmark* b) {
    for (int head : {0, 1, 2})
        for (int threads : {1, 2}) {
            b->Args({16384, 256, 8, threads, 1, 8, head});
            b->Args({1024, 256, 4, threads, 1, 0, head});
        }
}
BENCHMARK(BM_DecodeHead)->Apply(decode_head_args)->UseRealTime()->Unit(benchmark::kMicrosecond);

// The hidden 2048 / 24-layer model (synthetic weights, V 16384, act_bits 8; 315 MB of packed ternary weights, a
// 128 MiB f32 head) at 2 threads: decode is a stream of ~450 MB per token, so "weight GB/s" ÷ the 2-thread probe
// is the fraction of the bandwidth ceiling (issue 14: ≥ 70 %). Also 1 thread and the int8 head (~335 MB).
void large_args(benchmark::internal::Benchmark* b) {
    for (int head : {0, 2})
        for (int threads : {2, 1}) b->Args({16384, 2048, 24, threads, 1, 8, head});
}
BENCHMARK(BM_DecodeHead)->Name("BM_DecodeLarge")->Apply(large_args)->UseRealTime()->Unit(benchmark::kMillisecond);

void batched_args(benchmark::internal::Benchmark* b) {
    for (int head : {0, 1, 2}) {
        for (int together : {0, 1})
            for (int n : {1, 4, 16, 64}) b->Args({16384, 256, 8, 1, 1, 8, together, n, head});
        b->Args({16384, 256, 8, 2, 1, 8, 1, 16, head});
        b->Args({16384, 256, 8, 2, 1, 8, 1, 64, head});
    }
}
BENCHMARK(BM_BatchedDecode)->Apply(batched_args)->UseRealTime()->Unit(benchmark::kMicrosecond);

}  // namespace

// ---- load time and resident memory --------------------------------------------------------------------------------

namespace {

// kB of resident anonymous (private) and file-backed (shared page cache) memory of this process.
void resident_kb(double* anon, double* file) {
    *anon = *file = 0;
    FILE* f = std::fopen("/proc/self/status", "r");
    if (!f) return;
    char line[256];
    while (std::fgets(line, sizeof line, f)) {
        std::sscanf(line, "RssAnon: %lf", anon);
        std::sscanf(line, "RssFile: %lf", file);
    }
    std::fclose(f);
}

// A .bitt v2 of a random model, written once per shape into the temp folder.
std::string synthetic_bitt(int32_t V, int32_t D, int32_t L) {
    const std::string path = "/tmp/ttt_bench_" + std::to_string(V) + "_" + std::to_string(D) + "_" + std::to_string(L) + ".bitt";
    if (FILE* f = std::fopen(path.c_str(), "rb")) {
        std::fclose(f);
        return path;
    }
    ttt::write_file_atomic(path, ttt::write_bitt_v2(random_model(V, D, L, 8), ""));
    return path;
}

// Load a model and prepare it for a context (what ttt_load_model + ttt_create do), from a warm page cache.
// Counters: the resident memory the loaded model adds, anonymous (private copies) and file-backed (mapped pages
// every process shares), in MB, and the file size. Args: V, D, L, level.
void BM_LoadModel(benchmark::State& state) {
    const std::string path = synthetic_bitt(int32_t(state.range(0)), int32_t(state.range(1)), int32_t(state.range(2)));
    auto backend = state.range(3) ? ttt::CpuBackend::best(1) : ttt::CpuBackend::reference(1);
    double anon0 = 0, file0 = 0, anon1 = 0, file1 = 0;
    for (auto _ : state) {
        state.PauseTiming();
        resident_kb(&anon0, &file0);
        state.ResumeTiming();
        ttt::LoadedModel m = ttt::load_model_path(path, ttt::LoadOptions{});
        auto prepared = ttt::PreparedModel::create(m.weights, nullptr, *backend);
        state.PauseTiming();
        resident_kb(&anon1, &file1);
        state.ResumeTiming();
        benchmark::DoNotOptimize(prepared.get());
    }
    FILE* f = std::fopen(path.c_str(), "rb");
    std::fseek(f, 0, SEEK_END);
    const double file_mb = double(std::ftell(f)) / 1e6;
    std::fclose(f);
    state.SetLabel(backend->name());
    state.counters["file_MB"] = file_mb;
    state.counters["anon_MB"] = (anon1 - anon0) / 1e3;
    state.counters["mapped_MB"] = (file1 - file0) / 1e3;
}
// The demo shape, upstream's Small preset, and a hidden-1024 / 8-layer model.
BENCHMARK(BM_LoadModel)
    ->Args({1024, 256, 4, 0})
    ->Args({16384, 256, 8, 0})
    ->Args({16384, 1024, 8, 0})
    ->Args({16384, 1024, 8, 1})
    ->Unit(benchmark::kMillisecond);

// The shipped demo model itself (models/shakespeare-demo.bitt, whatever its TTT kind), as issue 13 states its
// target: prefill of a 1,000-token prompt (one call, logits of the last token) against decode, 1 thread.
// Args: prefill (1) or decode (0), level (0 scalar reference, 1 best, 2 best with int8 activations even for a
// float-activation model: TTT_ACTIVATIONS_INT8).
void BM_DemoModel(benchmark::State& state) {
    const std::string path = std::string(TTT_SOURCE_DIR) + "/models/shakespeare-demo.bitt";
    if (FILE* f = std::fopen(path.c_str(), "rb")) std::fclose(f);
    else return state.SkipWithError(("no demo model at " + path).c_str());
    const ttt::LoadedModel m = ttt::load_model_path(path, ttt::LoadOptions{});
    auto backend = state.range(1) ? ttt::CpuBackend::best(1, std::nullopt, state.range(1) == 2)
                                  : ttt::CpuBackend::reference(1);
    auto prepared = ttt::PreparedModel::create(m.weights, nullptr, *backend);
    ttt::Forward forward(m.weights.config, ttt::all_layers_on(backend.get(), prepared), 128);
    const size_t V = size_t(m.weights.config.vocab_size), n = state.range(0) ? 1000 : 1;
    std::vector<int32_t> tokens(1000);
    for (size_t i = 0; i < tokens.size(); ++i) tokens[i] = int32_t((i * 31 + 7) % V);
    std::vector<float> logits(V);
    ttt::SoulState soul(m.weights.config);
    size_t t = 0;
    for (auto _ : state) {
        // Each prompt from a fresh soul; decode restarts every 1,000 tokens (an attention model's cache is finite).
        if (n > 1 || (t > 0 && t % tokens.size() == 0)) soul.reset();
        ttt::SequenceInput in{tokens.data() + (n > 1 ? 0 : t++ % tokens.size()), n, &soul, ttt::LogitRows::last,
                              logits.data()};
        forward.run(&in, 1);
    }
    state.SetLabel(std::string(backend->name()) + (m.weights.config.is_delta() ? " delta" : " upstream"));
    state.counters["tokens/s"] = benchmark::Counter(double(n), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_DemoModel)->ArgNames({"prefill", "level"})->ArgsProduct({{0, 1}, {0, 1, 2}})->Unit(benchmark::kMicrosecond);

}  // namespace
