// Memory bandwidth probe: read a 256 MiB buffer (far larger than any cache here) and report GB/s, with 1 and 2
// threads. Other benchmarks' figures are stated as ratios to this number measured in the same run, because the
// shared build machine's bandwidth varies between runs (reference/performance-targets.md §1).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "backend/thread_pool.h"
#include "read_probe.h"

namespace {

using ttt_bench::read_sum;

constexpr size_t kBytes = size_t(256) << 20;

void BM_MemoryReadBandwidth(benchmark::State& state) {
    const int threads = int(state.range(0));
    const size_t n = kBytes / sizeof(uint64_t);
    std::vector<uint64_t> buf(n);
    for (size_t i = 0; i < n; ++i) buf[i] = i;  // touch every page
    ttt::ThreadPool pool(threads);
    std::vector<uint64_t> partial(size_t(threads), 0);
    const size_t blocks = n / 16;  // chunks on 128-byte boundaries
    for (auto _ : state) {
        pool.parallel_for(size_t(threads), [&](size_t b, size_t e) {
            for (size_t t = b; t < e; ++t) {
                const size_t lo = blocks * t / size_t(threads) * 16, hi = blocks * (t + 1) / size_t(threads) * 16;
                partial[t] = read_sum(buf.data() + lo, hi - lo);
            }
        });
        benchmark::DoNotOptimize(partial.data());
    }
    state.counters["GB/s"] = benchmark::Counter(double(kBytes), benchmark::Counter::kIsIterationInvariantRate,
                                                benchmark::Counter::kIs1000);
}
BENCHMARK(BM_MemoryReadBandwidth)->ArgName("threads")->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
