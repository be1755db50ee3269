// Ternary matrix products over a batch of activation rows, one implementation per instruction-set level, chosen at
// run time (the library is built without -march). Kernels own no threads and know nothing of models: the caller
// (the CPU backend) splits the OUTPUT rows [r0, r1) between its threads, so every output element is computed by
// one call in one fixed order and results do not depend on the thread count.
//
// Weights arrive in the file layout (kernels/ternary_format.h). A level may prefer its own layout
// (interleaved rows, blocks sized for its registers): `repack` converts once at load; `file_layout` says the level
// uses the stored bytes as they are (zero copy from a memory-mapped file).
//
// Two activation types, because a weight type declares what its kernels take:
//   f32  Y[m, r] = Σ_c T[r, c]·X[m, c]                      float sums (act_bits 0)
//   i8   Y[m, r] = (Σ_c T[r, c]·Q[m, c]) / a[m]             exact int32 sum, one float division (act_bits 8)
// with Q, a from quantize_rows_i8 (DESIGN §2's per-token absmax quantisation: Q/a is exactly the fake-quantised x).
//
// Exactness contract, tested in tests/test_ternary_kernels.cpp at every level the CPU has:
//   i8   bit-identical to the scalar level (the int32 sum is exact whatever the order).
//   f32  scalar level: bit-identical to ternary_matvec_ref per row (the oracle). Other levels sum in another order:
//        |Y − Y_ref| ≤ 2·K·2⁻²⁴·Σ_c |X[m, c]| (first-order bound for K-term float sums of ±x).
#pragma once

#include <cstddef>
#include <cstdint>

namespace ttt {

enum class CpuLevel : int { scalar = 0, avx2 = 1, avx512 = 2 };  // avx512 = F, BW, VL and VNNI

const char* cpu_level_name(CpuLevel level);  // "scalar", "avx2", "avx512"
CpuLevel cpu_detected_level();               // the highest level this CPU (and this build) supports
// The level to use: the detected one, lowered by the environment variable TTT_CPU_LEVEL (scalar|avx2|avx512) for
// tests and benchmarks. Asking for more than the CPU has gives what it has.
CpuLevel cpu_active_level();

// Per-row absmax int8 quantisation: a[m] = 127 / max(max_c |X[m, c]|, 1e-5), Q[m, c] = clamp(round_half_away(
// X[m, c]·a[m]), −128, 127), computed in float exactly as fake_quant_int8_ref (kernels/cpu/ops_ref.h).
void quantize_rows_i8(const float* x, size_t ldx, size_t M, size_t K, int8_t* q, size_t ldq, float* a);

struct TernaryKernels {
    const char* name;
    CpuLevel level;
    size_t row_granule;  // r0 passed to the products is a multiple of this (r1 too, unless r1 == rows)
    bool file_layout;    // true: `packed` is the file layout itself (used in place, any byte alignment) and repack
                         // is a plain copy

    size_t (*packed_bytes)(size_t rows, size_t cols);
    void (*repack)(const uint8_t* file_packed, size_t rows, size_t cols, uint8_t* out);
    void (*gemm_f32)(const uint8_t* packed, size_t rows, size_t cols, const float* x, size_t ldx, size_t M, float* y,
                     size_t ldy, size_t r0, size_t r1);
    void (*gemm_i8)(const uint8_t* packed, size_t rows, size_t cols, const int8_t* q, size_t ldq, const float* a,
                    size_t M, float* y, size_t ldy, size_t r0, size_t r1);
};

// The kernels of `level`, or of the highest level below it that this CPU and build have.
const TernaryKernels& ternary_kernels(CpuLevel level);

}  // namespace ttt
