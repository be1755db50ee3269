// Memory bandwidth probe: read a 256 MiB buffer (far larger than any cache here) and report GB/s, with 1 and 2
// threads. Other benchmarks' figures are stated as ratios to this number measured in the same run, because the
// shared build machine's bandwidth varies between runs (reference/performance-targets.md §1).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "backend/thread_pool.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace {

constexpr size_t kBytes = size_t(256) << 20;

// Sum of 64-bit words, four independent accumulators (integer adds are exact, so the compiler may vectorise).
uint64_t read_sum_portable(const uint64_t* p, size_t n) {
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (size_t i = 0; i + 4 <= n; i += 4) {
        s0 += p[i];
        s1 += p[i + 1];
        s2 += p[i + 2];
        s3 += p[i + 3];
    }
    return s0 + s1 + s2 + s3;
}

#if defined(__x86_64__) || defined(__i386__)
// 256-bit loads, four accumulators: 128 bytes per iteration.
__attribute__((target("avx2"))) uint64_t read_sum_avx2(const uint64_t* p, size_t n) {
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
    const __m256i* v = reinterpret_cast<const __m256i*>(p);
    for (size_t i = 0; i + 16 <= n; i += 16, v += 4) {
        a0 = _mm256_add_epi64(a0, _mm256_loadu_si256(v));
        a1 = _mm256_add_epi64(a1, _mm256_loadu_si256(v + 1));
        a2 = _mm256_add_epi64(a2, _mm256_loadu_si256(v + 2));
        a3 = _mm256_add_epi64(a3, _mm256_loadu_si256(v + 3));
    }
    const __m256i s = _mm256_add_epi64(_mm256_add_epi64(a0, a1), _mm256_add_epi64(a2, a3));
    alignas(32) uint64_t out[4];
    _mm256_store_si256(reinterpret_cast<__m256i*>(out), s);
    return out[0] + out[1] + out[2] + out[3];
}
#endif

uint64_t read_sum(const uint64_t* p, size_t n) {
#if defined(__x86_64__) || defined(__i386__)
    static const bool avx2 = __builtin_cpu_supports("avx2");
    if (avx2) return read_sum_avx2(p, n);
#endif
    return read_sum_portable(p, n);
}

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
