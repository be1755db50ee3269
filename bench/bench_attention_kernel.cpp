// The attention op alone (CpuBackend::attention: the new row stored into the cache, then causal GQA attention over
// it) at the BitNet b1.58 2B4T shape: 20 query heads, 5 KV heads, head_dim 128; one decode row over a cache of
// 128..4096 positions, each cache type, the oracle (scalar level) against the avx2 and avx512 kernels, on 1 and 2
// threads. Counters: the cache bytes one row reads (K and V of every position) per second.
//   build/bench/ttt_bench --benchmark_filter=AttentionDecode
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "backend/cpu_backend.h"
#include "cpu/attention_ref.h"

namespace {

constexpr size_t kHeads = 20, kKvHeads = 5, kHeadDim = 128;

// Args: level (0 scalar oracle, 1 avx2, 2 avx512), threads, cache type (0 f32, 1 f16, 2 i8), cached positions.
void BM_AttentionDecode(benchmark::State& state) {
    const auto level = ttt::CpuLevel(state.range(0));
    if (level > ttt::cpu_detected_level()) {
        state.SkipWithError("this CPU lacks the level");
        return;
    }
    ttt::CpuBackendOptions o;
    o.level = level;
    o.n_threads = int(state.range(1));
    ttt::CpuBackend be(o);
    const auto type = ttt::KvCacheType(state.range(2));
    const size_t n = size_t(state.range(3)), eb = type == ttt::KvCacheType::f32 ? 4 : type == ttt::KvCacheType::f16 ? 2 : 1;
    const size_t Q = kHeads * kHeadDim, KV = kKvHeads * kHeadDim;
    std::mt19937 rng(3);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    std::vector<float> q(n * Q), k(n * KV), v(n * KV), out(n * Q);
    for (auto* x : {&q, &k, &v})
        for (float& f : *x) f = nd(rng);
    std::vector<uint8_t> kc(n * KV * eb), vc(n * KV * eb);
    std::vector<float> ks(n * kKvHeads), vs(n * kKvHeads);
    ttt::KvCacheRef ref;
    ref.k = kc.data();
    ref.v = vc.data();
    if (type == ttt::KvCacheType::i8) {
        ref.k_scale = ks.data();
        ref.v_scale = vs.data();
    }
    const ttt::AttentionShape shape{kHeads, kKvHeads, kHeadDim, type};
    // The cache holds n − 1 positions (stored directly: the timed call appends the last and attends over all n).
    const ttt::KvType kt = type == ttt::KvCacheType::f32 ? ttt::KvType::f32 : type == ttt::KvCacheType::f16 ? ttt::KvType::f16 : ttt::KvType::i8;
    for (size_t j = 0; j + 1 < n; ++j)
        for (size_t h = 0; h < kKvHeads; ++h) {
            const size_t slot = j * kKvHeads + h;
            ttt::kv_store_row_ref(k.data() + slot * kHeadDim, kHeadDim, kt, kc.data() + slot * kHeadDim * eb, &ks[slot]);
            ttt::kv_store_row_ref(v.data() + slot * kHeadDim, kHeadDim, kt, vc.data() + slot * kHeadDim * eb, &vs[slot]);
        }
    ref.position = n - 1;
    const ttt::SequenceRows row{0, 1};
    ttt::Tensor tq(q.data() + (n - 1) * Q, ttt::ElemType::f32, 1, Q), tk(k.data() + (n - 1) * KV, ttt::ElemType::f32, 1, KV),
        tv(v.data() + (n - 1) * KV, ttt::ElemType::f32, 1, KV), to(out.data(), ttt::ElemType::f32, 1, Q);
    for (auto _ : state) {
        be.attention(tq, tk, tv, &row, &ref, 1, shape, to);
        benchmark::DoNotOptimize(out.data());
    }
    state.counters["cacheGB/s"] = benchmark::Counter(double(2 * n * KV * eb), benchmark::Counter::kIsIterationInvariantRate,
                                                      benchmark::Counter::kIs1000);
    static const char* types[] = {"f32", "f16", "i8"};
    state.SetLabel(std::string(be.name()) + ", " + types[state.range(2)] + " cache");
}

void decode_args(benchmark::internal::Benchmark* b) {
    for (int level : {0, 1, 2})
        for (int threads : {1, 2})
            for (int type : {0, 1, 2})
                for (int n : {128, 512, 1024, 4096}) {
                    if (level == 0 && threads == 2) continue;  // the oracle's threads split heads only
                    b->Args({level, threads, type, n});
                }
}
// CPU time of the whole process (the pool's workers included): on this shared machine the figure to read.
BENCHMARK(BM_AttentionDecode)->Apply(decode_args)->MeasureProcessCPUTime()->Unit(benchmark::kMicrosecond)->MinTime(0.2);

}  // namespace
