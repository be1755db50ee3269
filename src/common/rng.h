// A portable seeded random number generator: xoshiro256** (Blackman & Vigna), seeded through splitmix64.
// Everything here is integer arithmetic written out by hand, so the same seed gives the same numbers on every
// compiler, standard library and platform. std::*_distribution is deliberately not used: its algorithms are
// implementation-defined and differ between libstdc++, libc++ and MSVC, which would break "same seed ⇒ same tokens".
#pragma once

#include <cstdint>

namespace ttt {

// splitmix64: advances `state` and returns the next output. Used to expand one 64-bit seed into a full state.
inline uint64_t splitmix64_next(uint64_t& state) {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

class Rng {
public:
    explicit Rng(uint64_t seed = 0) { reseed(seed); }

    // splitmix64 outputs are a bijection of its counter, so four consecutive ones are never all zero: the
    // all-zero state (the one state xoshiro must avoid) cannot happen for any seed.
    void reseed(uint64_t seed) {
        uint64_t sm = seed;
        for (uint64_t& w : s_) w = splitmix64_next(sm);
    }

    // The raw state, to save and restore a generator exactly (and to check against published test vectors).
    // An all-zero state is replaced by the state of seed 0, since xoshiro would only ever return 0 from it.
    void get_state(uint64_t out[4]) const {
        for (int i = 0; i < 4; ++i) out[i] = s_[i];
    }
    void set_state(const uint64_t in[4]) {
        if ((in[0] | in[1] | in[2] | in[3]) == 0) return reseed(0);
        for (int i = 0; i < 4; ++i) s_[i] = in[i];
    }

    uint64_t next_u64() {
        const uint64_t result = rotl(s_[1] * 5, 7) * 9;
        const uint64_t t = s_[1] << 17;
        s_[2] ^= s_[0];
        s_[3] ^= s_[1];
        s_[1] ^= s_[2];
        s_[0] ^= s_[3];
        s_[2] ^= t;
        s_[3] = rotl(s_[3], 45);
        return result;
    }

    // Uniform in [0, 1): the top 53 bits scaled by 2^-53, so every value is an exact double and 1.0 never occurs.
    double next_double() { return double(next_u64() >> 11) * 0x1.0p-53; }

    // Uniform integer in [0, n), without modulo bias (rejection of the short top range). n == 0 returns 0.
    uint64_t below(uint64_t n) {
        if (n == 0) return 0;
        const uint64_t threshold = (0 - n) % n;  // 2^64 mod n: values below it would over-represent small results
        for (;;) {
            uint64_t r = next_u64();
            if (r >= threshold) return r % n;
        }
    }

private:
    static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
    uint64_t s_[4];
};

}  // namespace ttt
