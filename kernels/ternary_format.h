// The packed ternary weight layout of our files, a contract shared by the file readers and writers (src/io), the
// model loader and every backend. Nothing else may assume how trits are stored.
//
// "ternary-2bit-rowpadded-lsbfirst": a matrix [rows, cols] (out × in, y = W·x) is stored row-major, each row starting on a byte:
// row r occupies bytes [r·row_bytes(cols), (r+1)·row_bytes(cols)); element c of a row lives in byte c/4 at bits
// 2·(c%4), least-significant pair first. Codes: 00 → 0, 01 → +1, 10 → −1; 11 is never written and is refused on
// load; padding bits after the last column are 0. Rows start on any byte (row_bytes(cols) is arbitrary), so
// kernels that take this layout in place (from a memory-mapped file) assume no alignment; levels that want aligned,
// interleaved blocks repack at load (kernels/cpu/ternary_kernels.h).
// The values are Q = clamp(round_half_away(W/s), −1, 1) with s = mean|W| + 1e-6, kept beside the matrix as a float.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ttt {

constexpr const char* kTernaryFileLayout = "ternary-2bit-rowpadded-lsbfirst";  // as written in .bitt v2 headers
constexpr uint8_t kTritCodeZero = 0, kTritCodePlus = 1, kTritCodeMinus = 2;  // 3: invalid

inline size_t ternary_row_bytes(size_t cols) { return (cols + 3) / 4; }
inline size_t ternary_file_bytes(size_t rows, size_t cols) { return rows * ternary_row_bytes(cols); }

}  // namespace ttt
