// Training speed: one forward + backward step (train_forward_backward) in tokens/s, and the float GEMM under it in
// GFLOP/s (reference triple loop vs the blocked generic and AVX2+FMA kernels). State results next to the same-run
// memory bandwidth probe (bench_bandwidth.cpp) as ratios; this machine is shared and noisy.
//
// The step uses the demo model's shape: V = 1024, D = 256, L = 4, I = 4·D = 1024, d = 64, B = 8 sequences of
// T = 128 tokens (N = 1024 rows per GEMM), bitlinear_scale false, act_bits 0, ttt_chunk 1 (upstream's sequential
// recurrence, the slowest TTT case) or 32. One step is ~21.6 GFLOP of GEMMs (forward 7.2: per layer 2·N·(2dD +
// 3ID) + head 2·N·V·D; backward twice that).
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "backend/thread_pool.h"
#include "backend/parallel_gemm.h"
#include "train/train_model.h"

namespace {

ttt::ModelConfig demo_config(int32_t chunk) {
    ttt::ModelConfig c;
    c.vocab_size = 1024;
    c.hidden_dim = 256;
    c.num_layers = 4;
    c.intermediate_dim = 1024;
    c.inner_lr = 0.1f;
    c.ttt_chunk = chunk;
    return c;
}

// Timed training steps of one configuration over B random sequences of T tokens.
void run_train_steps(benchmark::State& state, const ttt::ModelConfig& c, int threads, int32_t B, int32_t T,
                     bool backward) {
    ttt::TrainParams p = ttt::TrainParams::create(c);
    p.init_random(1);
    std::mt19937 rng(2);
    std::uniform_int_distribution<int32_t> tok(0, c.vocab_size - 1);
    std::vector<int32_t> in(size_t(B * T)), tg(size_t(B * T));
    for (auto& x : in) x = tok(rng);
    for (auto& x : tg) x = tok(rng);
    const ttt::Batch batch{B, T, in.data(), tg.data()};
    ttt::ThreadPool pool(threads);
    auto ws = ttt::make_workspace(p.config, B, T);
    std::vector<float> grads(p.values.size(), 0.0f);
    for (auto _ : state) {
        const double loss = ttt::train_forward_backward(p, batch, backward ? grads.data() : nullptr, pool, *ws);
        benchmark::DoNotOptimize(loss);
    }
    state.counters["tokens/s"] = benchmark::Counter(double(B * T), benchmark::Counter::kIsIterationInvariantRate);
}

// Args: threads, ttt_chunk, with_backward.
void BM_TrainStep(benchmark::State& state) {
    run_train_steps(state, demo_config(int32_t(state.range(1))), int(state.range(0)), 8, 128, state.range(2) != 0);
}
BENCHMARK(BM_TrainStep)
    ->ArgNames({"threads", "chunk", "backward"})
    ->Args({1, 1, 1})
    ->Args({2, 1, 1})
    ->Args({1, 32, 1})
    ->Args({2, 32, 1})
    ->Args({2, 1, 0})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// The delta TTT layer (docs/memory.md) at the demo shape, 4 heads, against the upstream layer above.
// Args: threads, T (window length; B·T = 4,096 tokens a step), delta (0 upstream, 1 delta).
void BM_TrainStepWindow(benchmark::State& state) {
    const int32_t T = int32_t(state.range(1));
    ttt::ModelConfig c = demo_config(1);
    if (state.range(2)) c.ttt_kind = ttt::TttKind::delta, c.ttt_heads = 4, c.inner_lr = 1.0f, c.bitlinear_scale = true;
    run_train_steps(state, c, int(state.range(0)), 4096 / T, T, true);
}
BENCHMARK(BM_TrainStepWindow)
    ->ArgNames({"threads", "T", "delta"})
    ->Args({1, 128, 0})
    ->Args({1, 128, 1})
    ->Args({1, 512, 0})
    ->Args({1, 512, 1})
    ->Args({2, 512, 1})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

std::vector<float> random_floats(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    std::vector<float> v(n);
    for (float& x : v) x = dist(rng);
    return v;
}

// Args: kernel (0 reference, 1 generic, 2 avx2), threads, variant (0: nt, the forward X·Wᵀ with M = N_tokens = 1024,
// N = I = 1024, K = D = 256; 1: tn, the weight gradient dYᵀ·X with M = I = 1024, N = D = 256, K = N_tokens = 1024).
void BM_Gemm(benchmark::State& state) {
    const auto kernel = state.range(0) == 0 ? ttt::GemmKernel::reference
                        : state.range(0) == 1 ? ttt::GemmKernel::generic
                                              : ttt::GemmKernel::avx2;
    if (kernel == ttt::GemmKernel::avx2 && !ttt::gemm_avx2_supported()) {
        state.SkipWithError("this CPU has no AVX2+FMA");
        return;
    }
    const int threads = int(state.range(1));
    const bool tn = state.range(2) == 1;
    const size_t M = 1024, N = tn ? 256 : 1024, K = tn ? 1024 : 256;
    const std::vector<float> A = random_floats(M * K, 1), Bm = random_floats(K * N, 2);
    std::vector<float> C(M * N);
    ttt::ThreadPool pool(threads);
    for (auto _ : state) {
        ttt::gemm(tn, !tn, M, N, K, A.data(), Bm.data(), C.data(), false, &pool, kernel);
        benchmark::DoNotOptimize(C.data());
    }
    state.counters["FLOP/s"] = benchmark::Counter(2.0 * double(M * N * K), benchmark::Counter::kIsIterationInvariantRate,
                                                  benchmark::Counter::kIs1000);
    state.SetLabel(ttt::gemm_kernel_name(kernel));
}
BENCHMARK(BM_Gemm)
    ->ArgNames({"kernel", "threads", "tn"})
    ->Args({0, 1, 0})
    ->Args({1, 1, 0})
    ->Args({2, 1, 0})
    ->Args({2, 2, 0})
    ->Args({2, 1, 1})
    ->Args({2, 2, 1})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
