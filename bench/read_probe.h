// The read loop of the memory-bandwidth probe (bench_bandwidth.cpp), shared with benchmarks that time it beside
// their own kernels (bench_ternary_kernels.cpp).
#pragma once

#include <cstddef>
#include <cstdint>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace ttt_bench {

// Sum of 64-bit words, four independent accumulators (integer adds are exact, so the compiler may vectorise).
inline uint64_t read_sum_portable(const uint64_t* p, size_t n) {
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
__attribute__((target("avx2"))) inline uint64_t read_sum_avx2(const uint64_t* p, size_t n) {
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

inline uint64_t read_sum(const uint64_t* p, size_t n) {
#if defined(__x86_64__) || defined(__i386__)
    static const bool avx2 = __builtin_cpu_supports("avx2");
    if (avx2) return read_sum_avx2(p, n);
#endif
    return read_sum_portable(p, n);
}

}  // namespace ttt_bench
