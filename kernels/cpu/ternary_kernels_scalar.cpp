// The scalar level of ternary_kernels.h: the file layout as stored, plain loops. The f32 product is the oracle's
// loop (ternary_matvec_ref) row by row, so the model's reference path stays bit-identical to it.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "cpu/ops_ref.h"
#include "cpu/ternary_kernels.h"
#include "cpu/ternary_kernels_levels.h"
#include "cpu/ternary_ref.h"

namespace ttt {

namespace {

size_t scalar_packed_bytes(size_t rows, size_t cols) { return rows * ternary_row_bytes(cols); }

void scalar_repack(const uint8_t* file_packed, size_t rows, size_t cols, uint8_t* out) {
    std::memcpy(out, file_packed, scalar_packed_bytes(rows, cols));
}

constexpr float kTritF[4] = {0.0f, 1.0f, -1.0f, 0.0f};
constexpr int32_t kTritI[4] = {0, 1, -1, 0};

// Decode (M below a tile): the oracle's loop. Prefill (M ≥ kTile): activation rows go through in tiles of kTile,
// transposed so that the kTile sums of one weight row sit side by side (xt[c][j]); each trit is decoded once per
// tile and multiplies all kTile activations (plain C++ that compilers vectorise across j with the baseline ISA).
// Every sum still runs over c in ascending order, so each output equals the oracle's loop bit for bit.
constexpr size_t kTile = 8;

template <typename Act, typename Acc, typename Trit, typename Finish>
void scalar_gemm(const uint8_t* packed, size_t cols, const Act* x, size_t ldx, size_t M, float* y, size_t ldy,
                 size_t r0, size_t r1, const Trit (&values)[4], const Finish& finish) {
    const size_t rb = ternary_row_bytes(cols);
    if (M < kTile) {
        for (size_t m = 0; m < M; ++m) {
            const Act* xm = x + m * ldx;
            for (size_t r = r0; r < r1; ++r) {
                const uint8_t* row = packed + r * rb;
                Acc a = 0;
                for (size_t c = 0; c < cols; ++c) a += values[(row[c / 4] >> (2 * (c % 4))) & 3] * xm[c];
                y[m * ldy + r] = finish(a, m);
            }
        }
        return;
    }
    std::vector<Acc> xt(cols * kTile);
    for (size_t m0 = 0; m0 < M; m0 += kTile) {
        const size_t mt = std::min(kTile, M - m0);  // rows beyond M are zero and their sums are dropped
        for (size_t c = 0; c < cols; ++c)
            for (size_t j = 0; j < kTile; ++j) xt[c * kTile + j] = j < mt ? Acc(x[(m0 + j) * ldx + c]) : Acc(0);
        for (size_t r = r0; r < r1; ++r) {
            const uint8_t* row = packed + r * rb;
            Acc acc[kTile] = {};
            for (size_t c = 0; c < cols; ++c) {
                const Acc t = Acc(values[(row[c / 4] >> (2 * (c % 4))) & 3]);
                const Acc* xc = xt.data() + c * kTile;
                for (size_t j = 0; j < kTile; ++j) acc[j] += t * xc[j];
            }
            for (size_t j = 0; j < mt; ++j) y[(m0 + j) * ldy + r] = finish(acc[j], m0 + j);
        }
    }
}

void scalar_gemm_f32(const uint8_t* packed, size_t rows, size_t cols, const float* x, size_t ldx, size_t M, float* y,
                     size_t ldy, size_t r0, size_t r1) {
    (void)rows;
    scalar_gemm<float, float>(packed, cols, x, ldx, M, y, ldy, r0, r1, kTritF, [](float acc, size_t) { return acc; });
}

void scalar_gemm_i8(const uint8_t* packed, size_t rows, size_t cols, const int8_t* q, size_t ldq, const float* a,
                    size_t M, float* y, size_t ldy, size_t r0, size_t r1) {
    (void)rows;
    scalar_gemm<int8_t, int32_t>(packed, cols, q, ldq, M, y, ldy, r0, r1, kTritI,
                                 [a](int32_t acc, size_t m) { return static_cast<float>(acc) / a[m]; });
}

}  // namespace

void quantize_rows_i8(const float* x, size_t ldx, size_t M, size_t K, int8_t* q, size_t ldq, float* a) {
    for (size_t m = 0; m < M; ++m) {
        const float* xm = x + m * ldx;
        const float amax = abs_max(xm, K);
        const float am = 127.0f / std::fmax(amax, 1e-5f);
        a[m] = am;
        for (size_t i = 0; i < K; ++i) {
            float v = round_half_away(xm[i] * am);  // the value std::round gives, without its library call
            v = v > 127.0f ? 127.0f : v < -128.0f ? -128.0f : v;
            q[m * ldq + i] = v == v ? static_cast<int8_t>(v) : 0;  // a NaN (inf·0 in a non-finite row) → 0, not UB
        }
    }
}

const TernaryKernels& ternary_kernels_scalar() {
    static const TernaryKernels scalar = {"scalar",         CpuLevel::scalar, 1, true, scalar_packed_bytes,
                                          scalar_repack,    scalar_gemm_f32,  scalar_gemm_i8};
    return scalar;
}

}  // namespace ttt
