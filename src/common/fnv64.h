// Incremental FNV-1a 64-bit hash: model fingerprints (src/model) and file-level identities (src/io) share it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace ttt {

struct Fnv64 {
    uint64_t state = 0xcbf29ce484222325ull;
    void add(const void* data, size_t size) {
        const uint8_t* p = static_cast<const uint8_t*>(data);
        for (size_t i = 0; i < size; ++i) {
            state ^= p[i];
            state *= 0x100000001b3ull;
        }
    }
    void add_u64(uint64_t v) { add(&v, sizeof v); }
    void add_string(const std::string& s) {
        add_u64(s.size());
        add(s.data(), s.size());
    }
};

}  // namespace ttt
