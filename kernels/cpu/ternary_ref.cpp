#include "cpu/ternary_ref.h"

#include <cmath>

namespace ttt {

double ternary_scale_ref(const float* w, size_t n) {
    double sum = 0.0;
    for (size_t i = 0; i < n; ++i) sum += std::fabs(static_cast<double>(w[i]));
    return (n ? sum / static_cast<double>(n) : 0.0) + 1e-6;
}

void ternarize_ref(const float* w, size_t n, double scale, int8_t* q) {
    for (size_t i = 0; i < n; ++i) {
        double v = std::round(static_cast<double>(w[i]) / scale);  // std::round: halves away from zero
        q[i] = static_cast<int8_t>(v >= 1.0 ? 1 : v <= -1.0 ? -1 : 0);  // NaN → 0, never an undefined cast
    }
}

void pack_ternary_ref(const int8_t* q, size_t rows, size_t cols, uint8_t* out) {
    const size_t rb = ternary_row_bytes(cols);
    for (size_t r = 0; r < rows; ++r) {
        uint8_t* row = out + r * rb;
        for (size_t b = 0; b < rb; ++b) row[b] = 0;
        for (size_t c = 0; c < cols; ++c) {
            int8_t v = q[r * cols + c];
            uint8_t code = v > 0 ? 1 : v < 0 ? 2 : 0;
            row[c / 4] = static_cast<uint8_t>(row[c / 4] | (code << (2 * (c % 4))));
        }
    }
}

void unpack_ternary_ref(const uint8_t* packed, size_t rows, size_t cols, int8_t* q) {
    static const int8_t decode[4] = {0, 1, -1, 0};
    const size_t rb = ternary_row_bytes(cols);
    for (size_t r = 0; r < rows; ++r)
        for (size_t c = 0; c < cols; ++c) q[r * cols + c] = decode[(packed[r * rb + c / 4] >> (2 * (c % 4))) & 3];
}

bool validate_packed_ternary(const uint8_t* packed, size_t rows, size_t cols, size_t* bad_row) {
    const size_t rb = ternary_row_bytes(cols);
    for (size_t r = 0; r < rows; ++r) {
        const uint8_t* row = packed + r * rb;
        for (size_t b = 0; b < rb; ++b) {
            uint8_t byte = row[b];
            for (int k = 0; k < 4; ++k) {
                size_t c = b * 4 + static_cast<size_t>(k);
                uint8_t code = (byte >> (2 * k)) & 3;
                if (code == 3 || (c >= cols && code != 0)) {
                    *bad_row = r;
                    return false;
                }
            }
        }
    }
    return true;
}

namespace {
// Code 3 is never written (the packer refuses it on load), so its value does not matter; 0 keeps it harmless.
constexpr float kTritValue[4] = {0.0f, 1.0f, -1.0f, 0.0f};
}  // namespace

void ternary_matvec_ref(const uint8_t* packed, size_t rows, size_t cols, const float* x, float* y) {
    const size_t rb = ternary_row_bytes(cols);
    for (size_t r = 0; r < rows; ++r) {
        const uint8_t* row = packed + r * rb;
        float acc = 0.0f;
        for (size_t c = 0; c < cols; ++c) {
            const uint8_t code = (row[c / 4] >> (2 * (c % 4))) & 3;
            // y = Σ q·x literally, as numpy's W @ x computes it (0·inf is NaN there too). A multiply by the decoded
            // trit, not a branch on it: random trits mispredict every other weight, which made this 6-9x slower.
            acc += kTritValue[code] * x[c];
        }
        y[r] = acc;
    }
}

}  // namespace ttt
