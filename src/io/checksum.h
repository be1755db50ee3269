// Checksums: CRC-32C (Castagnoli) for file bodies, FNV-1a 64 for model fingerprints.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/fnv64.h"  // Fnv64

namespace ttt {

// CRC-32C of bytes, continuing from `crc` (0 to start). Table-driven; a few hundred MB/s is plenty for load checks.
uint32_t crc32c(const void* data, size_t size, uint32_t crc = 0);


std::string hex64(uint64_t v);           // 16 lowercase hex digits
bool parse_hex64(const std::string& s, uint64_t* out);

}  // namespace ttt
