// The LM head's dense product (kernels/cpu/dense_kernels.h) per storage format and level, 1 thread, hot (the
// matrix re-read from cache) at upstream's Small shape (V 16384 × D 256: 16 MiB f32, 8 MiB bf16, 4 MiB int8) and
// the demo shape (V 1024 × D 256), for M = 1 (decode), 16 and 64 rows (batched contexts). Counters: GFLOP/s
// (2·M·V·D per second, the FMA roofline of the host is the limit once M is large) and the stored weight bytes per
// second (the limit at M = 1 once the matrix leaves the cache). Run beside BM_MemoryReadBandwidth:
//
//   build/bench/ttt_bench --benchmark_filter='LmHead|MemoryRead' --benchmark_repetitions=3
//       --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <vector>

#include "cpu/dense_kernels.h"

namespace {

// Args: V, D, M, format (0 f32, 1 bf16, 2 i8), level (0 scalar, 1 avx2, 2 avx512).
void BM_LmHead(benchmark::State& state) {
    const size_t V = size_t(state.range(0)), D = size_t(state.range(1)), M = size_t(state.range(2));
    const auto format = ttt::DenseFormat(state.range(3));
    const auto level = ttt::CpuLevel(state.range(4));
    if (ttt::cpu_detected_level() < level) {
        state.SkipWithError("level not available on this CPU");
        return;
    }
    std::mt19937 rng(7);
    std::normal_distribution<float> dist(0.0f, 1.0f);
    std::vector<float> w(V * D), x(M * D), y(M * V), scales(V);
    for (float& v : w) v = dist(rng);
    for (float& v : x) v = dist(rng);
    std::vector<uint16_t> b16;
    std::vector<int8_t> q;
    ttt::DenseMatrixView view{format, w.data(), nullptr, D};
    size_t bytes = V * D * 4;
    if (format == ttt::DenseFormat::bf16) {
        b16.resize(V * D);
        ttt::convert_rows_bf16(w.data(), V * D, b16.data());
        view.data = b16.data();
        bytes = V * D * 2;
    } else if (format == ttt::DenseFormat::i8) {
        q.resize(V * D);
        ttt::quantize_dense_rows_i8(w.data(), V, D, q.data(), scales.data());
        view.data = q.data();
        view.scales = scales.data();
        bytes = V * D + V * 4;
    }
    const ttt::DenseStoredMatmulFn product = ttt::dense_stored_matmul_kernel(level);
    for (auto _ : state) {
        product(view, x.data(), M, y.data(), V, 0, V);
        benchmark::DoNotOptimize(y.data());
    }
    state.SetLabel(std::string(ttt::cpu_level_name(level)) + " " + ttt::dense_format_name(format));
    state.counters["GFLOP/s"] = benchmark::Counter(2.0 * double(M * V * D), benchmark::Counter::kIsIterationInvariantRate,
                                                   benchmark::Counter::kIs1000);
    state.counters["GB/s"] = benchmark::Counter(double(bytes), benchmark::Counter::kIsIterationInvariantRate,
                                                benchmark::Counter::kIs1000);
}

void lm_head_args(benchmark::internal::Benchmark* b) {
    for (int level : {0, 1, 2})
        for (int format : {0, 1, 2})
            for (int M : {1, 16, 64}) {
                if (level == 0 && M == 64) continue;  // the oracle's loops: M = 1 and 16 say enough
                b->Args({16384, 256, M, format, level});
            }
    for (int format : {0, 1, 2}) b->Args({1024, 256, 1, format, 2});
}
BENCHMARK(BM_LmHead)->Apply(lm_head_args)->Unit(benchmark::kMicrosecond);

}  // namespace
