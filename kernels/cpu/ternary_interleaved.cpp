// Repacking the file layout (kernels/ternary_format.h) into the interleaved layout of ternary_interleaved.h.
#include "cpu/ternary_interleaved.h"

#include <cstring>
#include <vector>

#include "ternary_format.h"

namespace ttt {

size_t ilv_packed_bytes(size_t rows, size_t cols) { return ilv_groups(rows) * ilv_group_bytes(cols); }

void ilv_repack(const uint8_t* file_packed, size_t rows, size_t cols, uint8_t* out) {
    // File code → offset code: 00 (0) → 1, 01 (+1) → 2, 10 (−1) → 0. Code 11 is refused on load; map it to 1 (zero).
    static constexpr uint8_t kOffset[4] = {1, 2, 0, 1};
    const size_t rb = ternary_row_bytes(cols), pc = ilv_padded_cols(cols), blocks = pc / kIlvCols;
    std::vector<uint8_t> codes(pc);
    for (size_t g = 0; g < ilv_groups(rows); ++g) {
        for (size_t i = 0; i < kIlvRows; ++i) {
            const size_t r = g * kIlvRows + i;
            std::memset(codes.data(), 1, pc);  // padding rows and columns: weight 0
            if (r < rows) {
                const uint8_t* row = file_packed + r * rb;
                for (size_t c = 0; c < cols; ++c) codes[c] = kOffset[(row[c / 4] >> (2 * (c % 4))) & 3];
            }
            for (size_t b = 0; b < blocks; ++b) {
                uint8_t* dst = out + g * pc + b * kIlvBlockBytes + i * 32;
                const uint8_t* src = codes.data() + b * kIlvCols;
                for (size_t j = 0; j < 32; ++j)
                    dst[j] = uint8_t(src[j] | (src[32 + j] << 2) | (src[64 + j] << 4) | (src[96 + j] << 6));
            }
        }
    }
}

}  // namespace ttt

#include "cpu/ternary_kernels_levels.h"

namespace ttt {

void prepare_i8_rows(const int8_t* q, size_t ldq, size_t mb, size_t cols, I8Rows& rows) {
    const size_t full = cols / kIlvCols * kIlvCols, rest = cols - full;
    for (size_t m = 0; m < mb; ++m) {
        const int8_t* xm = q + m * ldq;
        int32_t s = 0;
        for (size_t c = 0; c < cols; ++c) s += xm[c];
        rows.x[m] = xm;
        rows.sum[m] = s;
        rows.tail[m] = nullptr;
        if (rest) {
            std::memset(rows.tail_buf[m], 0, sizeof rows.tail_buf[m]);
            std::memcpy(rows.tail_buf[m], xm + full, rest);
            rows.tail[m] = rows.tail_buf[m];
        }
    }
}

void prepare_f32_rows(const float* x, size_t ldx, size_t mb, size_t cols, F32Rows& rows) {
    const size_t full = cols / kIlvCols * kIlvCols, rest = cols - full;
    for (size_t m = 0; m < mb; ++m) {
        const float* xm = x + m * ldx;
        rows.x[m] = xm;
        rows.tail[m] = nullptr;
        if (rest) {
            std::memset(rows.tail_buf[m], 0, sizeof rows.tail_buf[m]);
            std::memcpy(rows.tail_buf[m], xm + full, rest * sizeof(float));
            rows.tail[m] = rows.tail_buf[m];
        }
    }
}

}  // namespace ttt
