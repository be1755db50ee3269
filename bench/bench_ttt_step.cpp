// Workload B5 of ../shared/reference/performance-targets.md: the TTT step alone, 1 thread.
//   BM_LegacyTttLayer: upstream's stand-alone layer (ttt_layer_*: down, normalise, W·f̂, rank-1 update, up, residual)
//     over a sequence of 1,000 tokens at hidden 128 / 256 / 2048 (issue 14's target: ≥ 1M tokens/s at 128).
//   BM_TttRecurrence: the recurrence kernel of the model (z = W·f̂, pending += (z − f̂)f̂ᵀ, apply at chunk close) at
//     d = D/4 for the same hiddens, chunk 1, by CPU level: the part of a layer no projection amortises.
#include <benchmark/benchmark.h>

#include <cmath>
#include <vector>

#include "cpu/ternary_kernels.h"
#include "cpu/ttt_kernels.h"
#include "model/legacy_ttt_layer.h"
#include "random_data.h"

namespace {

using ttt_bench::normal_floats;

constexpr size_t kSeq = 1000;

// Args: hidden.
void BM_LegacyTttLayer(benchmark::State& state) {
    const size_t D = size_t(state.range(0));
    const ttt::LegacyTttLayer layer(D, 0.1f, 7);
    const std::vector<float> x = normal_floats(kSeq * D, 1);
    std::vector<float> y(kSeq * D);
    for (auto _ : state) {
        layer.forward(x.data(), kSeq, y.data());
        benchmark::DoNotOptimize(y.data());
    }
    state.counters["tokens/s"] = benchmark::Counter(double(kSeq), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_LegacyTttLayer)->ArgName("hidden")->Arg(128)->Arg(256)->Arg(2048)->Unit(benchmark::kMicrosecond);

// Args: hidden, level (0 scalar, 1 avx2, 2 avx512; skipped where the CPU lacks it).
void BM_TttRecurrence(benchmark::State& state) {
    const size_t d = size_t(state.range(0)) / 4;
    const ttt::CpuLevel level = ttt::CpuLevel(state.range(1));
    if (level > ttt::cpu_detected_level()) {
        state.SkipWithError("this CPU lacks the level");
        return;
    }
    const ttt::TttChunkedFn kernel = ttt::ttt_chunked_kernel(level);
    std::vector<float> fhat = normal_floats(kSeq * d, 2), z(kSeq * d), w(d * d, 0.0f), pending(d * d, 0.0f);
    for (size_t t = 0; t < kSeq; ++t) {  // unit rows, as the model's l2_normalize makes them
        double ss = 0;
        for (size_t i = 0; i < d; ++i) ss += double(fhat[t * d + i]) * fhat[t * d + i];
        for (size_t i = 0; i < d; ++i) fhat[t * d + i] = float(fhat[t * d + i] / std::sqrt(ss));
    }
    for (auto _ : state) {
        kernel(fhat.data(), z.data(), kSeq, d, w.data(), pending.data(), 0, 1, 0.1f, 0, d);
        benchmark::DoNotOptimize(z.data());
    }
    state.counters["tokens/s"] = benchmark::Counter(double(kSeq), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_TttRecurrence)
    ->ArgNames({"hidden", "level"})
    ->ArgsProduct({{128, 256, 2048}, {0, 1, 2}})
    ->Unit(benchmark::kMicrosecond);

}  // namespace
