// Ternary kernels (kernels/cpu/ternary_kernels.h) level by level: decode GEMV (M = 1) over the shapes of issue 14's
// peer table, hot (one matrix, re-read from cache) and cold (≥ 256 MiB of distinct copies rotated, so every call
// streams from DRAM), on 1 and 2 threads; prefill GEMM at M = 128 and 512. Run beside BM_MemoryReadBandwidth (same
// binary, same run) and state ratios to it:
//
//   build/bench/ttt_bench --benchmark_filter='Ternary|MemoryRead' --benchmark_repetitions=3
//       --benchmark_report_aggregates_only=true --benchmark_out=tk.json --benchmark_out_format=json   (one line)
//   python3 bench/report.py tk.json
//
// Gw/s = 10⁹ weights per second (rows·cols per call); GB/s = the level's packed weight bytes per second (2 bits per
// weight plus padding); FLOP/s = 2·M·K·N per second. "best …" counters are the fastest single call of the run (and
// BM_TernaryReadProbe's fastest 16 MiB read): on this shared 2-vCPU VM other tenants' work preempts long runs, and
// the fastest call is the kernel's undisturbed speed; the medians are given beside them. Google Benchmark's CPU-time
// column gives 1-thread rates that ignore preemption too. The activations are quantised beforehand (i8), as the
// model quantises once per layer input and reuses Q for several matrices. Threads split the output rows on the
// level's row granule through the backend's thread pool, as the CPU backend does.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "backend/thread_pool.h"
#include "cpu/ternary_kernels.h"
#include "cpu/ternary_ref.h"
#include "read_probe.h"

namespace {

struct Shape {
    size_t k, n;  // input × output (the K×N); the matrix is [n rows, k cols]
};
constexpr Shape kShapes[] = {{4096, 11008}, {11008, 4096}, {2560, 6912}, {2048, 2048}, {1024, 256}, {256, 1024}, {256, 64}, {64, 256}};
constexpr size_t kColdBytes = size_t(256) << 20;

struct AlignedFree {
    void operator()(uint8_t* p) const { std::free(p); }
};
using Buffer = std::unique_ptr<uint8_t, AlignedFree>;

Buffer aligned_bytes(size_t n) {
    return Buffer(static_cast<uint8_t*>(std::aligned_alloc(64, (n + 63) / 64 * 64)));
}

// Random ternary weights in the file layout, repacked for `k`; `copies` distinct buffers of the same matrix.
std::vector<Buffer> make_weights(const ttt::TernaryKernels& k, size_t rows, size_t cols, size_t copies) {
    std::mt19937 rng(14);
    std::vector<int8_t> t(rows * cols);
    for (auto& v : t) v = int8_t(int(rng() % 3) - 1);
    std::vector<uint8_t> file(ttt::ternary_file_bytes(rows, cols));
    ttt::pack_ternary_ref(t.data(), rows, cols, file.data());
    const size_t bytes = k.packed_bytes(rows, cols);
    std::vector<Buffer> out;
    out.push_back(aligned_bytes(bytes));
    k.repack(file.data(), rows, cols, out[0].get());
    for (size_t i = 1; i < copies; ++i) {
        out.push_back(aligned_bytes(bytes));
        std::copy(out[0].get(), out[0].get() + bytes, out[i].get());
    }
    return out;
}

// The last weight set made, kept across the repeated calls Google Benchmark makes of one benchmark (a cold set is
// 256 MiB: rebuilding it for every call would dominate the run). One set at a time bounds the memory.
const std::vector<Buffer>& cached_weights(const ttt::TernaryKernels& k, size_t rows, size_t cols, size_t copies) {
    static std::vector<Buffer> weights;
    static const ttt::TernaryKernels* key_k = nullptr;
    static size_t key_rows = 0, key_cols = 0, key_copies = 0;
    if (key_k != &k || key_rows != rows || key_cols != cols || key_copies != copies) {
        weights.clear();
        weights = make_weights(k, rows, cols, copies);
        key_k = &k, key_rows = rows, key_cols = cols, key_copies = copies;
    }
    return weights;
}

// Output rows [0, rows) cut into `threads` contiguous chunks on the level's row granule.
template <typename Fn>
void split_rows(ttt::ThreadPool& pool, size_t rows, size_t granule, Fn&& fn) {
    const size_t units = (rows + granule - 1) / granule;
    pool.parallel_for(units, [&](size_t b, size_t e) { fn(b * granule, std::min(rows, e * granule)); });
}

// Arguments: level, shape index, cold (0/1), threads, f32 activations (0/1).
void BM_TernaryGemv(benchmark::State& state) {
    const auto level = ttt::CpuLevel(state.range(0));
    const Shape s = kShapes[state.range(1)];
    const bool cold = state.range(2) != 0, f32 = state.range(4) != 0;
    const int threads = int(state.range(3));
    const ttt::TernaryKernels& k = ttt::ternary_kernels(level);
    if (k.level != level) {
        state.SkipWithError("level not available on this CPU");
        return;
    }
    const size_t rows = s.n, cols = s.k, bytes = k.packed_bytes(rows, cols);
    const size_t copies = cold ? kColdBytes / bytes + 1 : 1;
    const auto& w = cached_weights(k, rows, cols, copies);
    std::mt19937 rng(7);
    std::vector<int8_t> q(cols);
    std::vector<float> x(cols);
    for (size_t c = 0; c < cols; ++c) {
        q[c] = int8_t(int(rng() % 255) - 127);
        x[c] = float(q[c]) / 64.0f;
    }
    const float a = 1.0f;
    std::vector<float> y(rows);
    ttt::ThreadPool pool(threads);
    size_t i = 0;
    double best = 1e30;
    for (auto _ : state) {
        const uint8_t* p = w[i].get();
        i = i + 1 == copies ? 0 : i + 1;
        const auto t0 = std::chrono::steady_clock::now();
        split_rows(pool, rows, k.row_granule, [&](size_t r0, size_t r1) {
            if (f32) k.gemm_f32(p, rows, cols, x.data(), cols, 1, y.data(), rows, r0, r1);
            else k.gemm_i8(p, rows, cols, q.data(), cols, &a, 1, y.data(), rows, r0, r1);
        });
        best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        benchmark::DoNotOptimize(y.data());
        benchmark::ClobberMemory();
    }
    state.counters["best Gw/s"] = double(rows * cols) / best;
    state.counters["best GB/s"] = double(bytes) / best;
    state.counters["Gw/s"] = benchmark::Counter(double(rows * cols), benchmark::Counter::kIsIterationInvariantRate,
                                                benchmark::Counter::kIs1000);
    state.counters["GB/s"] = benchmark::Counter(double(bytes), benchmark::Counter::kIsIterationInvariantRate,
                                                benchmark::Counter::kIs1000);
    state.SetLabel(std::string(k.name) + " " + std::to_string(s.k) + "x" + std::to_string(s.n) +
                   (cold ? " cold" : " hot") + (f32 ? " f32" : " i8"));
}

void gemv_args(benchmark::internal::Benchmark* b) {
    b->ArgNames({"level", "shape", "cold", "threads", "f32"});
    const int nshapes = int(sizeof kShapes / sizeof kShapes[0]);
    for (int shape = 0; shape < nshapes; ++shape) {
        b->Args({0, shape, 0, 1, 0});  // scalar: hot, 1 thread (the oracle's speed)
        for (int level = 1; level <= 2; ++level) {
            for (int cold = 0; cold <= 1; ++cold)
                for (int threads = 1; threads <= 2; ++threads) b->Args({level, shape, cold, threads, 0});
            b->Args({level, shape, 0, 1, 1});  // float activations, hot, 1 thread
        }
    }
}
BENCHMARK(BM_TernaryGemv)->Apply(gemv_args)->Unit(benchmark::kMicrosecond)->UseRealTime();

// The bandwidth probe's read loop (read_probe.h) timed per 16 MiB chunk of a 256 MiB buffer, rotating, each chunk
// split between the threads: GB/s over the run and the fastest chunk ("best GB/s", comparable with the kernels'
// "best" counters). BM_MemoryReadBandwidth runs beside it as the median reference.
void BM_TernaryReadProbe(benchmark::State& state) {
    const int threads = int(state.range(0));
    constexpr size_t kChunk = size_t(16) << 20;
    const size_t n = kColdBytes / sizeof(uint64_t), chunk_n = kChunk / sizeof(uint64_t), chunks = n / chunk_n;
    static std::vector<uint64_t> buf;
    if (buf.size() != n) {
        buf.assign(n, 0);
        for (size_t j = 0; j < n; ++j) buf[j] = j;  // touch every page
    }
    ttt::ThreadPool pool(threads);
    std::vector<uint64_t> partial(size_t(threads), 0);
    size_t c = 0;
    double best = 1e30;
    for (auto _ : state) {
        const uint64_t* base = buf.data() + c * chunk_n;
        c = c + 1 == chunks ? 0 : c + 1;
        const auto t0 = std::chrono::steady_clock::now();
        pool.parallel_for(size_t(threads), [&](size_t b, size_t e) {
            for (size_t t = b; t < e; ++t) {
                const size_t lo = chunk_n / 16 * t / size_t(threads) * 16;
                const size_t hi = chunk_n / 16 * (t + 1) / size_t(threads) * 16;
                partial[t] = ttt_bench::read_sum(base + lo, hi - lo);
            }
        });
        best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        benchmark::DoNotOptimize(partial.data());
    }
    state.counters["GB/s"] = benchmark::Counter(double(kChunk), benchmark::Counter::kIsIterationInvariantRate,
                                                benchmark::Counter::kIs1000);
    state.counters["best GB/s"] = double(kChunk) / best;
}
BENCHMARK(BM_TernaryReadProbe)->ArgName("threads")->Arg(1)->Arg(2)->Unit(benchmark::kMicrosecond)->UseRealTime();

// Prefill: M activation rows against one matrix, 1 thread. Arguments: level, shape index, M.
void BM_TernaryPrefill(benchmark::State& state) {
    const auto level = ttt::CpuLevel(state.range(0));
    const Shape s = kShapes[state.range(1)];
    const size_t M = size_t(state.range(2));
    const ttt::TernaryKernels& k = ttt::ternary_kernels(level);
    if (k.level != level) {
        state.SkipWithError("level not available on this CPU");
        return;
    }
    const size_t rows = s.n, cols = s.k;
    const auto& w = cached_weights(k, rows, cols, 1);
    std::mt19937 rng(8);
    std::vector<int8_t> q(M * cols);
    for (auto& v : q) v = int8_t(int(rng() % 255) - 127);
    std::vector<float> a(M, 1.0f), y(M * rows);
    double best = 1e30;
    for (auto _ : state) {
        const auto t0 = std::chrono::steady_clock::now();
        k.gemm_i8(w[0].get(), rows, cols, q.data(), cols, a.data(), M, y.data(), rows, 0, rows);
        best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        benchmark::DoNotOptimize(y.data());
        benchmark::ClobberMemory();
    }
    state.counters["FLOP/s"] = benchmark::Counter(2.0 * double(M * rows * cols),
                                                  benchmark::Counter::kIsIterationInvariantRate);
    state.counters["best FLOP/s"] = 2.0 * double(M * rows * cols) / best;
    state.SetLabel(std::string(k.name) + " " + std::to_string(s.k) + "x" + std::to_string(s.n) + " M=" +
                   std::to_string(M));
}
BENCHMARK(BM_TernaryPrefill)
    ->ArgNames({"level", "shape", "M"})
    ->ArgsProduct({{1, 2}, {0, 1, 2, 3}, {128, 512}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
