#include "cpu/dense_kernels.h"

#include <cmath>

#include "cpu/cpu_features.h"
#include "cpu/ops_ref.h"

#if defined(__x86_64__) || defined(__i386__)
#include "cpu/simd_x86.h"
#define TTT_DENSE_X86 1
#endif

namespace ttt {

const char* dense_format_name(DenseFormat format) {
    switch (format) {
        case DenseFormat::f32: return "f32";
        case DenseFormat::bf16: return "bf16";
        case DenseFormat::i8: return "i8";
    }
    return "?";
}

// ---- conversion at load ----------------------------------------------------------------------------------------

uint16_t to_bf16(float v) {
    uint32_t u;
    std::memcpy(&u, &v, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x0040u);  // NaN: keep it a (quiet) NaN
    u += 0x7fffu + ((u >> 16) & 1u);                                          // round to nearest, ties to even
    return uint16_t(u >> 16);
}

void convert_rows_bf16(const float* w, size_t n, uint16_t* out) {
    for (size_t i = 0; i < n; ++i) out[i] = to_bf16(w[i]);
}

void quantize_dense_rows_i8(const float* w, size_t rows, size_t K, int8_t* q, float* scales) {
    for (size_t r = 0; r < rows; ++r) {
        const float* row = w + r * K;
        const float s = abs_max(row, K) / 127.0f;
        scales[r] = s;
        for (size_t c = 0; c < K; ++c) {
            float v = s > 0.0f ? round_half_away(row[c] / s) : 0.0f;  // |row/s| ≤ 127 up to rounding: clamp anyway
            v = v > 127.0f ? 127.0f : v < -127.0f ? -127.0f : v;
            q[r * K + c] = static_cast<int8_t>(v == v ? v : 0.0f);
        }
    }
}

namespace {

// ---- scalar: the oracle's order -------------------------------------------------------------------------------

template <DenseFormat F>
inline float decode(const void* d, size_t i) {
    if constexpr (F == DenseFormat::f32) return static_cast<const float*>(d)[i];
    else if constexpr (F == DenseFormat::bf16) return from_bf16(static_cast<const uint16_t*>(d)[i]);
    else return float(static_cast<const int8_t*>(d)[i]);
}

void dense_scalar(const float* w, size_t K, const float* x, size_t M, float* y, size_t ldy, size_t r0, size_t r1) {
    matmul_rows<float>(w, K, x, M, y, ldy, r0, r1);
}

template <DenseFormat F>
void stored_scalar_format(const DenseMatrixView& w, const float* x, size_t M, float* y, size_t ldy, size_t r0,
                          size_t r1) {
    const size_t K = w.K;
    for (size_t m = 0; m < M; ++m)
        for (size_t r = r0; r < r1; ++r) {
            float s = 0.0f;
            for (size_t c = 0; c < K; ++c) s += decode<F>(w.data, r * K + c) * x[m * K + c];
            if constexpr (F == DenseFormat::i8) s *= w.scales[r];
            y[m * ldy + r] = s;
        }
}

void stored_scalar(const DenseMatrixView& w, const float* x, size_t M, float* y, size_t ldy, size_t r0, size_t r1) {
    switch (w.format) {
        case DenseFormat::f32: matmul_rows<float>(static_cast<const float*>(w.data), w.K, x, M, y, ldy, r0, r1); return;
        case DenseFormat::bf16: stored_scalar_format<DenseFormat::bf16>(w, x, M, y, ldy, r0, r1); return;
        case DenseFormat::i8: stored_scalar_format<DenseFormat::i8>(w, x, M, y, ldy, r0, r1); return;
    }
}

#if TTT_DENSE_X86

// Everything below is inlined into the two entry points (stored_avx2, stored_avx512), so one body compiles once
// per level: at the avx512 level the compiler has 32 vector registers (AVX-512 VL) for wider tiles of the very
// same instruction sequence per output element.
#define TTT_AVX2_INLINE __attribute__((target("avx2,fma"), always_inline)) inline

// 8 decoded weights, columns i..i+7 of the flat matrix.
template <DenseFormat F>
TTT_AVX2_INLINE __m256 load8(const void* d, size_t i) {
    if constexpr (F == DenseFormat::f32) {
        return _mm256_loadu_ps(static_cast<const float*>(d) + i);
    } else if constexpr (F == DenseFormat::bf16) {
        const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(static_cast<const uint16_t*>(d) + i));
        return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
    } else {
        const __m128i b = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(static_cast<const int8_t*>(d) + i));
        return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(b));
    }
}

template <DenseFormat F>
constexpr size_t kElemBytes = F == DenseFormat::f32 ? 4 : F == DenseFormat::bf16 ? 2 : 1;

// R weight rows (r..r+R−1) × A activation rows (x, x + K, …): R·A accumulators, each weight vector decoded once and
// used A times. Every output's sum is the contract's order whatever R and A.
// pf: when set, a later block of 4 weight rows (4·K elements), fetched into L1 while this tile computes, in step
// with its own reads (a burst of prefetches instead stalls on the full miss buffers).
template <DenseFormat F, int R, int A>
TTT_AVX2_INLINE void tile(const DenseMatrixView& w, size_t r, const float* x, float* y, size_t ldy,
                          const char* pf = nullptr) {
    const size_t K = w.K, K8 = K / 8 * 8;
    const void* d = w.data;
    __m256 acc[R][A];
#pragma GCC unroll 8
    for (int i = 0; i < R; ++i)
#pragma GCC unroll 8
        for (int a = 0; a < A; ++a) acc[i][a] = _mm256_setzero_ps();
    for (size_t c = 0; c < K8; c += 8) {
        if (pf) {  // 4·8 elements of the next block per step: 2 lines (f32), 1 (bf16), half of one (i8)
            _mm_prefetch(pf + c * 4 * kElemBytes<F>, _MM_HINT_T0);
            if constexpr (kElemBytes<F> == 4) _mm_prefetch(pf + c * 16 + 64, _MM_HINT_T0);
        }
        __m256 xv[A];
#pragma GCC unroll 8
        for (int a = 0; a < A; ++a) xv[a] = _mm256_loadu_ps(x + size_t(a) * K + c);
#pragma GCC unroll 8
        for (int i = 0; i < R; ++i) {
            const __m256 wv = load8<F>(d, (r + size_t(i)) * K + c);
#pragma GCC unroll 8
            for (int a = 0; a < A; ++a) acc[i][a] = _mm256_fmadd_ps(wv, xv[a], acc[i][a]);
        }
    }
#pragma GCC unroll 8
    for (int i = 0; i < R; ++i)
#pragma GCC unroll 8
        for (int a = 0; a < A; ++a) {
            float s = hsum8(acc[i][a]);
            const size_t row = (r + size_t(i)) * K;
            for (size_t c = K8; c < K; ++c) s = __builtin_fmaf(decode<F>(d, row + c), x[size_t(a) * K + c], s);
            if constexpr (F == DenseFormat::i8) s *= w.scales[r + size_t(i)];
            y[size_t(a) * ldy + r + size_t(i)] = s;
        }
}

// The last n < A activation rows of a block of R weight rows.
template <DenseFormat F, int R, int A>
TTT_AVX2_INLINE void tile_rest(const DenseMatrixView& w, size_t r, const float* x, float* y, size_t ldy, size_t n) {
    if (n == size_t(A)) tile<F, R, A>(w, r, x, y, ldy);
    else if constexpr (A > 1) tile_rest<F, R, A - 1>(w, r, x, y, ldy, n);
}

// R weight rows against all M activation rows, AMAX at a time (the rows stay in L1 while every activation meets them).
template <DenseFormat F, int R, int AMAX>
TTT_AVX2_INLINE void row_block(const DenseMatrixView& w, size_t r, const float* x, size_t M, float* y, size_t ldy,
                               const char* pf = nullptr) {
    size_t m = 0;
    if (pf && M >= size_t(AMAX)) {  // the first tile reads the block from memory and fetches the next one
        tile<F, R, AMAX>(w, r, x, y, ldy, pf);
        m = AMAX;
    }
    for (; m + AMAX <= M; m += AMAX) tile<F, R, AMAX>(w, r, x + m * w.K, y + m * ldy, ldy);
    if (m < M) tile_rest<F, R, AMAX - 1>(w, r, x + m * w.K, y + m * ldy, ldy, M - m);
}

template <DenseFormat F, int AMAX>
TTT_AVX2_INLINE void product(const DenseMatrixView& w, const float* x, size_t M, float* y, size_t ldy, size_t r0,
                             size_t r1) {
    size_t r = r0;
    if (M == 1) {  // decode: 8 independent sums hide the FMA latency
        for (; r + 8 <= r1; r += 8) tile<F, 8, 1>(w, r, x, y, ldy);
    }
    // Batched: each 4-row block is read from memory by its first tile and from L1 by the others; the first tile
    // also fetches the block after next (two blocks ahead: one was not enough inside the model, where other traffic
    // shares the memory), so it does not wait on DRAM (it did: the weight loads were the hot spot).
    const char* base = static_cast<const char*>(w.data);
    for (; r + 4 <= r1; r += 4)
        row_block<F, 4, AMAX>(w, r, x, M, y, ldy, r + 12 <= r1 ? base + (r + 8) * w.K * kElemBytes<F> : nullptr);
    for (; r < r1; ++r) row_block<F, 1, AMAX>(w, r, x, M, y, ldy);
}

// 4 rows × 3 activations: 12 accumulators, 3 activation vectors and the weight vector fill the 16 ymm registers.
__attribute__((target("avx2,fma"))) void stored_avx2(const DenseMatrixView& w, const float* x, size_t M, float* y,
                                                     size_t ldy, size_t r0, size_t r1) {
    switch (w.format) {
        case DenseFormat::f32: product<DenseFormat::f32, 3>(w, x, M, y, ldy, r0, r1); return;
        case DenseFormat::bf16: product<DenseFormat::bf16, 3>(w, x, M, y, ldy, r0, r1); return;
        case DenseFormat::i8: product<DenseFormat::i8, 3>(w, x, M, y, ldy, r0, r1); return;
    }
}

// 4 rows × 6 activations: 24 accumulators of the 32 registers AVX-512 VL gives 256-bit code.
__attribute__((target("avx2,fma,avx512f,avx512vl"))) void stored_avx512(const DenseMatrixView& w, const float* x,
                                                                        size_t M, float* y, size_t ldy, size_t r0,
                                                                        size_t r1) {
    switch (w.format) {
        case DenseFormat::f32: product<DenseFormat::f32, 6>(w, x, M, y, ldy, r0, r1); return;
        case DenseFormat::bf16: product<DenseFormat::bf16, 6>(w, x, M, y, ldy, r0, r1); return;
        case DenseFormat::i8: product<DenseFormat::i8, 6>(w, x, M, y, ldy, r0, r1); return;
    }
}

void dense_avx2(const float* w, size_t K, const float* x, size_t M, float* y, size_t ldy, size_t r0, size_t r1) {
    stored_avx2(DenseMatrixView{DenseFormat::f32, w, nullptr, K}, x, M, y, ldy, r0, r1);
}

void dense_avx512(const float* w, size_t K, const float* x, size_t M, float* y, size_t ldy, size_t r0, size_t r1) {
    stored_avx512(DenseMatrixView{DenseFormat::f32, w, nullptr, K}, x, M, y, ldy, r0, r1);
}

#endif

}  // namespace

DenseMatmulFn dense_matmul_kernel(CpuLevel level) {
#if TTT_DENSE_X86
    if (level >= CpuLevel::avx512 && cpu_features().avx512) return dense_avx512;
    if (level >= CpuLevel::avx2 && cpu_features().avx2) return dense_avx2;
#else
    (void)level;
#endif
    return dense_scalar;
}

DenseStoredMatmulFn dense_stored_matmul_kernel(CpuLevel level) {
#if TTT_DENSE_X86
    if (level >= CpuLevel::avx512 && cpu_features().avx512) return stored_avx512;
    if (level >= CpuLevel::avx2 && cpu_features().avx2) return stored_avx2;
#else
    (void)level;
#endif
    return stored_scalar;
}

}  // namespace ttt
