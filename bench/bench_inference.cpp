// Inference speed of the plain reference path (the baseline the next stage's SIMD kernels are measured against):
// the ternary matrix-vector product in Gw/s (10^9 ternary weights per second) and whole-model decode tokens/s on a
// random model of the demo model's shape.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "backend/backend.h"
#include "cpu/ternary_ref.h"
#include "model/bitllama.h"

namespace {

std::vector<float> random_vector(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> dist(0.0f, 1.0f);
    std::vector<float> v(n);
    for (float& x : v) x = dist(rng);
    return v;
}

void BM_TernaryMatvecRef(benchmark::State& state) {
    const size_t rows = size_t(state.range(0)), cols = size_t(state.range(1));
    const std::vector<float> w = random_vector(rows * cols, 1), x = random_vector(cols, 2);
    ttt::TernaryMatrix m = ttt::TernaryMatrix::from_latent(w.data(), int32_t(rows), int32_t(cols));
    std::vector<float> y(rows);
    for (auto _ : state) {
        ttt::ternary_matvec_ref(m.packed.data(), rows, cols, x.data(), y.data());
        benchmark::DoNotOptimize(y.data());
    }
    state.counters["Gw/s"] = benchmark::Counter(double(rows * cols), benchmark::Counter::kIsIterationInvariantRate,
                                                benchmark::Counter::kIs1000);
    state.counters["GB/s"] = benchmark::Counter(double(m.packed.size()), benchmark::Counter::kIsIterationInvariantRate,
                                                benchmark::Counter::kIs1000);
}
// Shapes: the demo model's MLP (1024×256, 256×1024) and a 2B-class layer (2560×6912).
BENCHMARK(BM_TernaryMatvecRef)->Args({1024, 256})->Args({256, 1024})->Args({6912, 2560})->Unit(benchmark::kMicrosecond);

ttt::ModelWeights random_model(int32_t V, int32_t D, int32_t L) {
    ttt::ModelWeights w;
    w.config.vocab_size = V;
    w.config.hidden_dim = D;
    w.config.num_layers = L;
    w.config.intermediate_dim = 4 * D;
    w.config.inner_lr = 0.1f;
    const int32_t d = D / 4, I = 4 * D;
    auto mat = [&](int32_t rows, int32_t cols, uint32_t seed) {
        auto v = random_vector(size_t(rows) * size_t(cols), seed);
        return ttt::TernaryMatrix::from_latent(v.data(), rows, cols);
    };
    w.embed = random_vector(size_t(V) * size_t(D), 3);
    w.lm_head = random_vector(size_t(V) * size_t(D), 4);
    w.norm_f.assign(size_t(D), 1.0f);
    for (int32_t l = 0; l < L; ++l) {
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
    return w;
}

void BM_DecodeTokenRef(benchmark::State& state) {
    const ttt::ModelWeights w = random_model(int32_t(state.range(0)), int32_t(state.range(1)), int32_t(state.range(2)));
    ttt::SoulState soul(w.config);
    ttt::ForwardScratch scratch(w.config);
    std::vector<float> logits(size_t(w.config.vocab_size));
    int32_t token = 1;
    for (auto _ : state) {
        ttt::forward_token(w, ttt::cpu_reference_backend(), soul, scratch, token, logits.data());
        token = (token * 31 + 7) % w.config.vocab_size;
    }
    state.counters["tokens/s"] = benchmark::Counter(1.0, benchmark::Counter::kIsIterationInvariantRate);
}
// V, D, L: the demo model's shape (1024, 256, 4) and upstream's Small preset (16384, 256, 8).
BENCHMARK(BM_DecodeTokenRef)->Args({1024, 256, 4})->Args({16384, 256, 8})->Unit(benchmark::kMicrosecond);

}  // namespace
