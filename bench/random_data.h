// Random inputs shared by the benchmarks: normal floats from a seeded generator (the same data every run).
#pragma once

#include <random>
#include <vector>

namespace ttt_bench {

inline std::vector<float> normal_floats(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> dist(0.0f, 1.0f);
    std::vector<float> v(n);
    for (float& x : v) x = dist(rng);
    return v;
}

}  // namespace ttt_bench
