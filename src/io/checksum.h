// Checksums: CRC-32C (Castagnoli) for file bodies, FNV-1a 64 for model fingerprints.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace ttt {

// CRC-32C of bytes, continuing from `crc` (0 to start). Table-driven; a few hundred MB/s is plenty for load checks.
uint32_t crc32c(const void* data, size_t size, uint32_t crc = 0);

// Incremental FNV-1a 64-bit hash.
struct Fnv64 {
    uint64_t state = 0xcbf29ce484222325ull;
    void add(const void* data, size_t size);
    void add_u64(uint64_t v) { add(&v, sizeof v); }
    void add_string(const std::string& s) {
        add_u64(s.size());
        add(s.data(), s.size());
    }
};

std::string hex64(uint64_t v);           // 16 lowercase hex digits
bool parse_hex64(const std::string& s, uint64_t* out);

}  // namespace ttt
