// The packed layout of the SIMD levels (avx2, avx512), "ternary-2bit-i4x128": built once at load by repack, never
// stored in files.
//
//   * rows are taken in groups of kIlvRows = 4 (the last group padded with zero weights);
//   * columns in blocks of kIlvCols = 128 (the last block padded with zero weights);
//   * a group stores its blocks one after another; a block stores its 4 rows one after another, 32 bytes each;
//   * in a row's 32 bytes, byte j holds columns 32k + j of the block at bits 2k..2k+1 (k = 0..3), as the code
//     w + 1 ∈ {0, 1, 2} (offset form: an unsigned byte for maddubs / vpdpbusd; Σ(w+1)·x − Σx = Σw·x).
//
// Why: one 32-byte load holds 128 weights of a row; (bytes >> 2k) & 3 gives the 32 weights that meet 32 contiguous
// activations, so activations are used in place. Four rows per group share each activation load, and a 4-row group
// is reduced to 4 sums in one horizontal step. Group g starts at byte g · padded_cols (4 rows · padded_cols / 4).
#pragma once

#include <cstddef>
#include <cstdint>

namespace ttt {

constexpr size_t kIlvRows = 4, kIlvCols = 128, kIlvBlockBytes = kIlvRows * kIlvCols / 4;
// Weight bytes the GEMM (M > 4) keeps in L2 while every group of activation rows meets them (1-2 MiB L2 per core on
// the hosts we target; the activations' share stays in L1).
constexpr size_t kSlabBytes = size_t(256) << 10;

inline size_t ilv_padded_cols(size_t cols) { return (cols + kIlvCols - 1) / kIlvCols * kIlvCols; }
inline size_t ilv_groups(size_t rows) { return (rows + kIlvRows - 1) / kIlvRows; }
inline size_t ilv_group_bytes(size_t cols) { return ilv_padded_cols(cols); }

size_t ilv_packed_bytes(size_t rows, size_t cols);
void ilv_repack(const uint8_t* file_packed, size_t rows, size_t cols, uint8_t* out);

}  // namespace ttt
