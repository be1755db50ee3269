// Reference kernels against values computed by hand.
#include <doctest/doctest.h>

#include <cstring>
#include <random>
#include <string>

#include <cmath>
#include <vector>

#include "backend/cpu_backend.h"
#include "cpu/dense_kernels.h"
#include "cpu/quantize_kernels.h"
#include "cpu/swiglu_kernels.h"
#include "cpu/ttt_kernels.h"
#include "cpu/ops_ref.h"
#include "cpu/ttt_ref.h"
#include "cpu/ternary_ref.h"
#include "model/legacy_ttt_layer.h"
#include "model/weights.h"

using namespace ttt;

TEST_CASE("ternary packing matches upstream's code mapping") {
    // Upstream's unit test: (+1, −1, 0, +1) → 0b01_00_10_01 = 73.
    const int8_t q[4] = {1, -1, 0, 1};
    uint8_t packed = 0;
    pack_ternary_ref(q, 1, 4, &packed);
    CHECK(packed == 73);
    int8_t back[4];
    unpack_ternary_ref(&packed, 1, 4, back);
    for (int i = 0; i < 4; ++i) CHECK(back[i] == q[i]);
}

TEST_CASE("ternary rows are padded to whole bytes, odd widths round-trip") {
    const int8_t q[2 * 5] = {1, 0, -1, 1, -1, /* row 1 */ 0, 0, 1, -1, 1};
    uint8_t packed[4] = {0xff, 0xff, 0xff, 0xff};
    pack_ternary_ref(q, 2, 5, packed);
    CHECK(ternary_row_bytes(5) == 2);
    CHECK(packed[1] == 0x02);  // row 0, column 4 = −1 → code 10 in the low pair, padding zero
    CHECK(packed[3] == 0x01);  // row 1, column 4 = +1
    int8_t back[10];
    unpack_ternary_ref(packed, 2, 5, back);
    for (int i = 0; i < 10; ++i) CHECK(back[i] == q[i]);
    size_t bad = 99;
    CHECK(validate_packed_ternary(packed, 2, 5, &bad));
    packed[1] |= 0x04;  // a set padding bit
    CHECK_FALSE(validate_packed_ternary(packed, 2, 5, &bad));
    CHECK(bad == 0);
    packed[1] = 0x03;  // code 11
    CHECK_FALSE(validate_packed_ternary(packed, 2, 5, &bad));
}

TEST_CASE("absmean ternarisation with round-half-away-from-zero") {
    // |w| mean = (0.5 + 1 + 1.5 + 0 + 2 + 1) / 6 = 1 (+1e-6); W/s = 0.5, −1, 1.5, 0, −2, −1 → 1, −1, 1, 0, −1, −1.
    const float w[6] = {0.5f, -1.0f, 1.5f, 0.0f, -2.0f, -1.0f};
    const double s = ternary_scale_ref(w, 6);
    CHECK(s == doctest::Approx(1.0 + 1e-6).epsilon(1e-12));
    int8_t q[6];
    ternarize_ref(w, 6, 1.0, q);  // exactly 1.0 so that 0.5 sits on the rounding boundary
    const int8_t want[6] = {1, -1, 1, 0, -1, -1};
    for (int i = 0; i < 6; ++i) CHECK(q[i] == want[i]);
    const float neg_half = -0.5f;
    ternarize_ref(&neg_half, 1, 1.0, q);
    CHECK(q[0] == -1);  // −0.5 rounds away from zero
    // All zeros: the epsilon keeps the scale positive (upstream divided by zero).
    const float zeros[3] = {0, 0, 0};
    CHECK(ternary_scale_ref(zeros, 3) > 0.0);
}

TEST_CASE("ternary matvec") {
    // Q = [[1, -1, 0], [0, 1, 1]], x = [2, 3, 5] → [−1, 8].
    const int8_t q[6] = {1, -1, 0, 0, 1, 1};
    uint8_t packed[2];
    pack_ternary_ref(q, 2, 3, packed);
    const float x[3] = {2, 3, 5};
    float y[2];
    ternary_matvec_ref(packed, 2, 3, x, y);
    CHECK(y[0] == -1.0f);
    CHECK(y[1] == 8.0f);
    TernaryMatrix m = TernaryMatrix::from_latent(std::vector<float>{0.9f, -1.1f, 0.01f, 0.0f, 1.0f, 1.2f}.data(), 2, 3);
    CHECK(m.scale == doctest::Approx((0.9 + 1.1 + 0.01 + 0 + 1 + 1.2) / 6 + 1e-6));
    ternary_matvec_ref(m.data(), 2, 3, x, y);
    CHECK(y[0] == -1.0f);
    CHECK(y[1] == 8.0f);
}

TEST_CASE("dense matvec, RMSNorm, SwiGLU, L2 normalisation") {
    const float w[4] = {1, 2, 3, 4};
    const float x[2] = {1, -1};
    float y[2];
    matvec_f32_ref(w, 2, 2, x, y);
    CHECK(y[0] == -1.0f);
    CHECK(y[1] == -1.0f);

    // x = [3, 4]: mean(x²) = 12.5; y = x / sqrt(12.5 + 1e-5) · g.
    const float xr[2] = {3, 4}, g[2] = {1, 2};
    float yr[2];
    rmsnorm_ref(xr, g, 2, 1e-5f, yr);
    CHECK(yr[0] == doctest::Approx(3 / std::sqrt(12.5 + 1e-5)));
    CHECK(yr[1] == doctest::Approx(8 / std::sqrt(12.5 + 1e-5)));

    const float gate[2] = {0, 2}, up[2] = {5, 3};
    float out[2];
    swiglu_ref(gate, up, 2, out);
    CHECK(out[0] == 0.0f);
    CHECK(out[1] == doctest::Approx(2 / (1 + std::exp(-2.0)) * 3));

    float f[2] = {3, 4};
    l2_normalize_ref(f, 2, f);
    CHECK(f[0] == doctest::Approx(3 / (5 + 1e-6)));
    CHECK(f[1] == doctest::Approx(4 / (5 + 1e-6)));
}

TEST_CASE("int8 activation fake quantisation") {
    // max|x| = 2 → a = 63.5; 1.0·a = 63.5 → 64 (half away), −2·a = −127, 0.01·a = 0.635 → 1.
    const float x[3] = {1.0f, -2.0f, 0.01f};
    float y[3];
    fake_quant_int8_ref(x, 3, y);
    CHECK(y[0] == doctest::Approx(64 / 63.5));
    CHECK(y[1] == doctest::Approx(-127 / 63.5));
    CHECK(y[2] == doctest::Approx(1 / 63.5));
    const float tiny[2] = {0, 0};
    float z[2];
    fake_quant_int8_ref(tiny, 2, z);  // no division by zero
    CHECK(z[0] == 0.0f);
}

TEST_CASE("TTT inner step: accumulate the gradient, apply at chunk close") {
    // d = 2, z = [1, 0], fhat = [0.6, 0.8]: e = [0.4, −0.8]; G = e fhatᵀ = [[0.24, 0.32], [−0.48, −0.64]].
    const float z[2] = {1, 0}, fhat[2] = {0.6f, 0.8f};
    float pending[4] = {0, 0, 0, 0};
    ttt_accumulate_ref(z, fhat, 2, pending);
    CHECK(pending[0] == doctest::Approx(0.24));
    CHECK(pending[1] == doctest::Approx(0.32));
    CHECK(pending[2] == doctest::Approx(-0.48));
    CHECK(pending[3] == doctest::Approx(-0.64));
    ttt_accumulate_ref(z, fhat, 2, pending);  // a second token of the same chunk adds up
    CHECK(pending[0] == doctest::Approx(0.48));
    float w[4] = {1, 0, 0, 1};
    ttt_apply_ref(w, pending, 2, 0.5f);
    CHECK(w[0] == doctest::Approx(1 - 0.24));
    CHECK(w[2] == doctest::Approx(0.48));
    CHECK(w[3] == doctest::Approx(1 + 0.64));
    CHECK(pending[0] == 0.0f);
}

TEST_CASE("legacy single TTT layer: upstream math, seeded") {
    LegacyTttLayer a(8, 0.5f, 42), b(8, 0.5f, 42), c(8, 0.5f, 43);
    CHECK(a.down() == b.down());
    CHECK(a.down() != c.down());
    const size_t D = 8, d = 2;
    std::vector<float> x(3 * D);
    for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(float(i) * 0.7f) + 0.1f;
    std::vector<float> y(x.size());
    a.forward(x.data(), 3, y.data());
    // t = 0: the state is zero, so the TTT branch adds nothing.
    for (size_t i = 0; i < D; ++i) CHECK(y[i] == x[i]);

    // t = 1 by hand from the layer's own projections.
    auto down_f = [&](const float* xt, float* f) {
        LegacyTttLayer::int8_linear(a.down(), D, d, xt, f);
        double n = std::sqrt(double(f[0]) * f[0] + double(f[1]) * f[1]);
        if (n > 1e-6) { f[0] = float(f[0] / n); f[1] = float(f[1] / n); }
    };
    float f0[2], f1[2];
    down_f(&x[0], f0);
    down_f(&x[D], f1);
    // W1 = −0.5 · (0 − f0) f0ᵀ = 0.5 f0 f0ᵀ; p1 = W1 f1.
    float p1[2];
    for (size_t i = 0; i < 2; ++i) p1[i] = 0.5f * f0[i] * (f0[0] * f1[0] + f0[1] * f1[1]);
    std::vector<float> up(D);
    LegacyTttLayer::int8_linear(a.up(), d, D, p1, up.data());
    for (size_t i = 0; i < D; ++i) CHECK(y[D + i] == doctest::Approx(x[D + i] + up[i]).epsilon(1e-5));

    // inner_lr 0: the state never changes, every output equals its input.
    LegacyTttLayer frozen(8, 0.0f, 42);
    frozen.forward(x.data(), 3, y.data());
    for (size_t i = 0; i < x.size(); ++i) CHECK(y[i] == x[i]);
}

TEST_CASE("legacy single TTT layer: the kernels' layer equals the reference composition, exactly at the scalar level") {
    // The reference: int8_linear (plain loops) and the scalar recurrence, token by token as upstream.
    for (size_t D : {size_t(128), size_t(260)}) {
        const size_t d = D / 4, T = 9;
        std::mt19937 rng{uint32_t(D)};
        std::normal_distribution<float> dist(0.0f, 1.0f);
        std::vector<float> x(T * D);
        for (float& v : x) v = dist(rng);
        for (CpuLevel level : {CpuLevel::scalar, CpuLevel::avx2, CpuLevel::avx512}) {
            const LegacyTttLayer layer(D, 0.3f, 5, level);
            std::vector<float> y(T * D), want(T * D), state(d * d, 0.0f), pending(d * d, 0.0f), f(d), p(d), up(D);
            std::vector<float> p_max(T);
            layer.forward(x.data(), T, y.data());
            for (size_t t = 0; t < T; ++t) {
                LegacyTttLayer::int8_linear(layer.down(), D, d, x.data() + t * D, f.data());
                double ss = 0.0;
                for (float v : f) ss += double(v) * v;
                if (std::sqrt(ss) > 1e-6)
                    for (float& v : f) v = float(v / std::sqrt(ss));
                ttt_chunked_rows<float>(f.data(), p.data(), 1, d, state.data(), pending.data(), t, 1, 0.3f, 0, d);
                for (float v : p) p_max[t] = std::max(p_max[t], std::fabs(v));
                LegacyTttLayer::int8_linear(layer.up(), d, D, p.data(), up.data());
                for (size_t i = 0; i < D; ++i) want[t * D + i] = x[t * D + i] + up[i];
            }
            CAPTURE(D);
            CAPTURE(cpu_level_name(level));
            if (level == CpuLevel::scalar) {
                CHECK(y == want);
            } else {
                // Another order of z's sums moves p by ulps; int8 quantisation of p can turn that into one step of
                // 1/a = max|p|/127 in some of its d elements, which up() (weights in {−1, 0, 1}) adds into each
                // output: |Δy_t| ≤ 2·d·max|p_t|/127, plus float rounding of the residual add.
                for (size_t t = 0; t < T; ++t)
                    for (size_t i = 0; i < D; ++i)
                        CHECK(std::fabs(y[t * D + i] - want[t * D + i]) <=
                              2.0f * float(d) * p_max[t] / 127.0f + 1e-6f * (1.0f + std::fabs(want[t * D + i])));
            }
        }
    }
}

TEST_CASE("legacy single TTT layer: int8 quantisation rounds half away from zero, as std::round") {
    // Identity weights: y[j] = xq[j] / a with a = 127 / max|x| = 1 when max|x| = 127, so xq is visible directly.
    const size_t n = 12;
    std::vector<int8_t> eye(n * n, 0);
    for (size_t i = 0; i < n; ++i) eye[i * n + i] = 1;
    const float x[n] = {127.0f, 2.5f, -2.5f, 0.5f, -0.5f, 0.49999997f, -0.49999997f, 126.5f, -126.5f, 1.4999999f, 3.0f, -127.0f};
    float y[n];
    LegacyTttLayer::int8_linear(eye, n, n, x, y);
    for (size_t j = 0; j < n; ++j) {
        const float want = std::fmax(-127.0f, std::fmin(127.0f, std::round(x[j])));
        CHECK_MESSAGE(y[j] == want, "x = " << x[j]);
    }
    // A zero row keeps a = 1; large ones clamp to ±127 after scaling.
    const float zeros[n] = {};
    LegacyTttLayer::int8_linear(eye, n, n, zeros, y);
    for (size_t j = 0; j < n; ++j) CHECK(y[j] == 0.0f);
}

TEST_CASE("dense matmul over rows equals the matrix-vector oracle row by row, for any M and row range") {
    std::mt19937 rng(3);
    std::normal_distribution<float> dist(0.0f, 1.0f);
    for (size_t M : {size_t(1), size_t(7), size_t(8), size_t(9), size_t(17)}) {
        for (size_t K : {size_t(1), size_t(5), size_t(64)}) {
            const size_t N = 13;
            std::vector<float> w(N * K), x(M * K), y(M * N, -1.0f), ref(N);
            for (float& v : w) v = dist(rng);
            for (float& v : x) v = dist(rng);
            matmul_rows<float>(w.data(), K, x.data(), M, y.data(), N, 3, 11);  // rows 3..10 only
            for (size_t m = 0; m < M; ++m) {
                matvec_f32_ref(w.data(), N, K, x.data() + m * K, ref.data());
                for (size_t r = 0; r < N; ++r) {
                    if (r >= 3 && r < 11) CHECK(y[m * N + r] == ref[r]);
                    else CHECK(y[m * N + r] == -1.0f);  // outside the range: untouched
                }
            }
        }
    }
}

TEST_CASE("dense LM-head kernels: within the stated bound of the oracle, and a row's bits never depend on M") {
    std::mt19937 rng(11);
    std::normal_distribution<float> dist(0.0f, 1.0f);
    for (CpuLevel level : {CpuLevel::scalar, CpuLevel::avx2, CpuLevel::avx512}) {
        const DenseMatmulFn product = dense_matmul_kernel(level);
        for (size_t K : {size_t(1), size_t(7), size_t(8), size_t(33), size_t(256)}) {
            const size_t N = 11, M = 9;
            std::vector<float> w(N * K), x(M * K), y(M * N), one(N), ref(N);
            for (float& v : w) v = dist(rng);
            for (float& v : x) v = dist(rng);
            product(w.data(), K, x.data(), M, y.data(), N, 0, N);
            for (size_t m = 0; m < M; ++m) {
                product(w.data(), K, x.data() + m * K, 1, one.data(), N, 0, N);  // the row alone
                matvec_f32_ref(w.data(), N, K, x.data() + m * K, ref.data());
                for (size_t r = 0; r < N; ++r) {
                    CAPTURE(cpu_level_name(level));
                    CHECK(y[m * N + r] == one[r]);
                    double bound = 0;
                    for (size_t c = 0; c < K; ++c) bound += std::fabs(double(w[r * K + c]) * x[m * K + c]);
                    bound *= 2.0 * double(K) * std::ldexp(1.0, -24);
                    CHECK(std::fabs(double(y[m * N + r]) - ref[r]) <= bound);
                }
            }
        }
    }
}

TEST_CASE("bf16 and int8 storage of a dense matrix: rounding and quantisation by hand") {
    CHECK(to_bf16(1.0f) == 0x3F80);
    CHECK(to_bf16(std::ldexp(1.0f, -8) + 1.0f) == 0x3F80);                  // a tie: to the even neighbour (down)
    CHECK(to_bf16(3.0f * std::ldexp(1.0f, -8) + 1.0f) == 0x3F82);           // a tie: to the even neighbour (up)
    CHECK(to_bf16(-(1.0f + std::ldexp(1.0f, -7))) == 0xBF81);              // exact
    CHECK(from_bf16(to_bf16(INFINITY)) == INFINITY);
    CHECK(std::isnan(from_bf16(to_bf16(std::nanf("")))));
    CHECK(std::fabs(from_bf16(to_bf16(3.0e38f)) / 3.0e38 - 1.0) <= std::ldexp(1.0, -8));  // large, still finite
    CHECK(from_bf16(to_bf16(3.4028235e38f)) == INFINITY);                    // FLT_MAX: above bf16's largest finite
    const float w[6] = {0.5f, -1.27f, 0.0f, 0.0f, 0.0f, 0.0f};
    int8_t q[6];
    float s[2];
    quantize_dense_rows_i8(w, 2, 3, q, s);
    CHECK(s[0] == doctest::Approx(0.01f));
    CHECK(q[0] == 50);
    CHECK(q[1] == -127);
    CHECK(q[2] == 0);
    CHECK(s[1] == 0.0f);  // a row of zeros
    CHECK(q[3] == 0);
}

TEST_CASE("dense LM head in f32, bf16 and int8 storage: the f32 product's bits on the decoded matrix, the same bits "
          "for any M and row range, within the stated bound of the oracle") {
    std::mt19937 rng(29);
    std::normal_distribution<float> dist(0.0f, 1.0f);
    const double eps = std::ldexp(1.0, -24);
    for (CpuLevel level : {CpuLevel::scalar, CpuLevel::avx2, CpuLevel::avx512}) {
        const DenseStoredMatmulFn product = dense_stored_matmul_kernel(level);
        const DenseMatmulFn f32_product = dense_matmul_kernel(level);
        for (DenseFormat format : {DenseFormat::f32, DenseFormat::bf16, DenseFormat::i8}) {
            for (size_t K : {size_t(1), size_t(5), size_t(8), size_t(9), size_t(31), size_t(64), size_t(257)}) {
                for (size_t N : {size_t(1), size_t(3), size_t(13)}) {
                    for (size_t M : {size_t(1), size_t(2), size_t(3), size_t(4), size_t(7), size_t(9), size_t(13), size_t(17)}) {
                        const std::string level_name = cpu_level_name(level), format_name = dense_format_name(format);
                        CAPTURE(level_name);
                        CAPTURE(format_name);
                        CAPTURE(K);
                        CAPTURE(N);
                        CAPTURE(M);
                        std::vector<float> w(N * K), x(M * K), decoded(N * K), scales(N, 1.0f);
                        for (float& v : w) v = dist(rng);
                        for (float& v : x) v = dist(rng);
                        std::vector<uint16_t> b16(N * K);
                        std::vector<int8_t> q(N * K);
                        DenseMatrixView view{format, w.data(), nullptr, K};
                        if (format == DenseFormat::f32) decoded = w;
                        if (format == DenseFormat::bf16) {
                            convert_rows_bf16(w.data(), N * K, b16.data());
                            for (size_t i = 0; i < N * K; ++i) decoded[i] = from_bf16(b16[i]);
                            view.data = b16.data();
                        }
                        if (format == DenseFormat::i8) {
                            quantize_dense_rows_i8(w.data(), N, K, q.data(), scales.data());
                            for (size_t i = 0; i < N * K; ++i) decoded[i] = float(q[i]);
                            view.data = q.data();
                            view.scales = scales.data();
                        }
                        // Rows [r0, r1) only: a range that starts off the kernels' blocks; the rest stays untouched.
                        const size_t r0 = N > 2 ? 1 : 0, r1 = N;
                        std::vector<float> y(M * N, -7.0f), one(N), expect(M * N), ref(N);
                        product(view, x.data(), M, y.data(), N, r0, r1);
                        f32_product(decoded.data(), K, x.data(), M, expect.data(), N, 0, N);
                        for (size_t m = 0; m < M; ++m) {
                            product(view, x.data() + m * K, 1, one.data(), N, 0, N);  // the row alone
                            matvec_f32_ref(w.data(), N, K, x.data() + m * K, ref.data());
                            for (size_t r = 0; r < N; ++r) {
                                const float got = y[m * N + r];
                                if (r < r0) {
                                    CHECK(got == -7.0f);
                                    continue;
                                }
                                CHECK(got == one[r]);
                                if (format == DenseFormat::i8) CHECK(got == expect[m * N + r] * scales[r]);
                                else CHECK(got == expect[m * N + r]);
                                // Bound against the float oracle on the original weights: the stored weights'
                                // error (bf16: 2⁻⁸ relative, half a unit in its 8-bit significand; i8: half a step s/2, plus the float division's
                                // rounding) times |x|, the float sums' 2·K·2⁻²⁴·Σ|w·x|, one rounding of the factor.
                                double stored_err = 0, mass = 0;
                                for (size_t c = 0; c < K; ++c) {
                                    const double ax = std::fabs(double(x[m * K + c]));
                                    const double wi = double(w[r * K + c]);
                                    if (format == DenseFormat::bf16) stored_err += std::ldexp(std::fabs(wi), -8) * ax;
                                    if (format == DenseFormat::i8) stored_err += (0.5 + 1e-3) * double(scales[r]) * ax;
                                    mass += (std::fabs(wi) + std::fabs(double(decoded[r * K + c]) * scales[r])) * ax;
                                }
                                const double bound = stored_err + 2.0 * double(K) * eps * mass + 4 * eps * std::fabs(ref[r]);
                                CHECK(std::fabs(double(got) - ref[r]) <= bound);
                                if (format != DenseFormat::f32 && m == 0) {
                                    for (size_t c = 0; c < K; ++c) {  // the storage's own per-weight bound
                                        const double err = std::fabs(double(decoded[r * K + c]) * scales[r] - w[r * K + c]);
                                        if (format == DenseFormat::bf16) CHECK(err <= std::ldexp(std::fabs(double(w[r * K + c])), -8));
                                        else CHECK(err <= (0.5 + 1e-3) * double(scales[r]));
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

TEST_CASE("the CPU backend's LM head in each storage: prepare_lm_head + dense_matmul equal the kernel, any thread count") {
    std::mt19937 rng(31);
    std::normal_distribution<float> dist(0.0f, 1.0f);
    const size_t N = 203, K = 67, M = 16;
    std::vector<float> w(N * K), x(M * K);
    for (float& v : w) v = dist(rng);
    for (float& v : x) v = dist(rng);
    for (DenseStorage storage : {DenseStorage::f32, DenseStorage::bf16, DenseStorage::i8}) {
        std::vector<float> first;
        for (int threads : {1, 2, 3}) {
            CpuBackendOptions options{threads, cpu_active_level()};
            options.lm_head = storage;
            CpuBackend be(options);
            CHECK(be.lm_head_storage() == storage);
            const DenseWeight head = be.prepare_lm_head(w.data(), N, K, nullptr);
            CHECK(head.storage == storage);
            std::vector<float> y(M * N);
            be.dense_matmul(head, Tensor(x.data(), ElemType::f32, M, K), Tensor(y.data(), ElemType::f32, M, N));
            if (first.empty()) {
                first = y;
                // The kernel called directly on the format the backend stored.
                std::vector<uint16_t> b16(N * K);
                std::vector<int8_t> q(N * K);
                std::vector<float> scales(N);
                DenseMatrixView view{DenseFormat::f32, w.data(), nullptr, K};
                if (storage == DenseStorage::bf16) convert_rows_bf16(w.data(), N * K, b16.data()), view = {DenseFormat::bf16, b16.data(), nullptr, K};
                if (storage == DenseStorage::i8) quantize_dense_rows_i8(w.data(), N, K, q.data(), scales.data()), view = {DenseFormat::i8, q.data(), scales.data(), K};
                std::vector<float> direct(M * N);
                dense_stored_matmul_kernel(be.level())(view, x.data(), M, direct.data(), N, 0, N);
                CHECK(std::memcmp(direct.data(), y.data(), y.size() * 4) == 0);
            } else {
                CHECK(std::memcmp(first.data(), y.data(), y.size() * 4) == 0);
            }
        }
    }
}

TEST_CASE("SwiGLU kernels: within the stated bound of the oracle at every level, specials as the oracle, and an "
          "element's bits never depend on its place in the span") {
    std::mt19937 rng(37);
    std::normal_distribution<float> dist(0.0f, 4.0f);
    const size_t n = 203;
    std::vector<float> g(n), u(n), ref(n), out(n), part(n);
    for (size_t i = 0; i < n; ++i) g[i] = dist(rng), u[i] = dist(rng);
    const float specials[] = {0.0f, -0.0f, 1e-30f, -1e-30f, 20.0f, -20.0f, 86.0f, -86.0f, 87.5f, -87.5f, 88.7f,
                              -88.7f, 89.0f, -89.0f, 100.0f, -100.0f, 1e30f, -1e30f, INFINITY, -INFINITY, std::nanf("")};
    for (size_t i = 0; i < sizeof specials / sizeof specials[0]; ++i) g[3 * i] = specials[i];
    swiglu_ref(g.data(), u.data(), n, ref.data());
    for (CpuLevel level : {CpuLevel::scalar, CpuLevel::avx2, CpuLevel::avx512}) {
        const SwigluFn kernel = swiglu_kernel(level);
        kernel(g.data(), u.data(), n, out.data());
        for (size_t i = 0; i < n; ++i) {
            CAPTURE(i);
            CAPTURE(g[i]);
            if (std::isnan(ref[i])) {
                CHECK(std::isnan(out[i]));
                continue;
            }
            if (std::isinf(ref[i])) {
                CHECK(out[i] == ref[i]);
                continue;
            }
            // e^x within 2 ulp, one rounding each for 1 + e, the division and the product: 8 units of 2⁻²⁴ relative.
            CHECK(std::fabs(double(out[i]) - ref[i]) <= 8.0 * std::ldexp(std::fabs(double(ref[i])), -24) + 1e-30);
        }
        // Any split of the span (as the backend's threads make) gives the same bits.
        for (size_t cut : {size_t(1), size_t(5), size_t(8), size_t(100)}) {
            kernel(g.data(), u.data(), cut, part.data());
            kernel(g.data() + cut, u.data() + cut, n - cut, part.data() + cut);
            CHECK(std::memcmp(part.data(), out.data(), n * 4) == 0);
        }
    }
}

TEST_CASE("int8 quantisation: every level gives the scalar level's bytes and factors") {
    std::mt19937 rng(17);
    std::normal_distribution<float> dist(0.0f, 3.0f);
    for (CpuLevel level : {CpuLevel::avx2, CpuLevel::avx512}) {
        const QuantizeRowsFn fast = quantize_rows_kernel(level);
        for (size_t K : {size_t(1), size_t(7), size_t(8), size_t(9), size_t(17), size_t(31), size_t(100), size_t(256)}) {
            const size_t M = 5;
            std::vector<float> x(M * K);
            for (float& v : x) v = dist(rng);
            // Exact ties (x·a = k + 0.5), zeros, a NaN and an infinity in some rows.
            x[0] = 0.0f;
            if (K > 3) x[K + 1] = std::nanf(""), x[2 * K + 2] = INFINITY, x[3 * K] = 0.5f, x[3 * K + 1] = -127.0f;
            // Row 4: max|x| = 127 makes a = 1, so x·a lands exactly on halves: the tie rule is tested.
            if (K > 5) x[4 * K] = 127.0f, x[4 * K + 1] = 0.5f, x[4 * K + 2] = -2.5f, x[4 * K + 3] = 126.5f, x[4 * K + 4] = -126.5f;
            std::vector<int8_t> q1(M * K), q2(M * K);
            std::vector<float> a1(M), a2(M);
            quantize_rows_i8(x.data(), K, M, K, q1.data(), K, a1.data());
            fast(x.data(), K, M, K, q2.data(), K, a2.data());
            CAPTURE(K);
            CHECK(q1 == q2);
            for (size_t m = 0; m < M; ++m) CHECK(std::memcmp(&a1[m], &a2[m], 4) == 0);
            if (K > 5) {  // half away from zero: 0.5 → 1, −2.5 → −3, 126.5 → 127, −126.5 → −127
                CHECK(q2[4 * K + 1] == 1);
                CHECK(q2[4 * K + 2] == -3);
                CHECK(q2[4 * K + 3] == 127);
                CHECK(q2[4 * K + 4] == -127);
            }
        }
    }
}

TEST_CASE("TTT recurrence kernels: within the bound of the oracle, and any split of the rows gives the same bits") {
    std::mt19937 rng(19);
    std::normal_distribution<float> dist(0.0f, 0.3f);
    for (CpuLevel level : {CpuLevel::scalar, CpuLevel::avx2, CpuLevel::avx512}) {
        const TttChunkedFn run = ttt_chunked_kernel(level);
        for (size_t d : {size_t(1), size_t(5), size_t(8), size_t(13), size_t(64)}) {
            for (size_t chunk : {size_t(1), size_t(3)}) {
                const size_t n = 9;
                std::vector<float> f(n * d), w0(d * d), p0(d * d);
                for (float& v : f) v = dist(rng);
                for (float& v : w0) v = dist(rng);
                for (float& v : p0) v = dist(rng);
                std::vector<float> w1 = w0, p1 = p0, z1(n * d), w2 = w0, p2 = p0, z2(n * d), w3 = w0, p3 = p0, z3(n * d);
                run(f.data(), z1.data(), n, d, w1.data(), p1.data(), 1, chunk, 0.3f, 0, d);
                const size_t mid = d / 3;
                run(f.data(), z2.data(), n, d, w2.data(), p2.data(), 1, chunk, 0.3f, mid, d);
                run(f.data(), z2.data(), n, d, w2.data(), p2.data(), 1, chunk, 0.3f, 0, mid);
                CAPTURE(cpu_level_name(level));
                CAPTURE(d);
                CHECK(z1 == z2);
                CHECK(w1 == w2);
                CHECK(p1 == p2);
                // Against the scalar oracle: the same recurrence, z summed in another order; the states drift by
                // rounding only (tolerance relative to the values' scale, a few chunks of error growth).
                ttt_chunked_rows<float>(f.data(), z3.data(), n, d, w3.data(), p3.data(), 1, chunk, 0.3f, 0, d);
                for (size_t i = 0; i < z1.size(); ++i) CHECK(std::fabs(z1[i] - z3[i]) <= 1e-5f * (1.0f + std::fabs(z3[i])));
                for (size_t i = 0; i < w1.size(); ++i) CHECK(std::fabs(w1[i] - w3[i]) <= 1e-5f * (1.0f + std::fabs(w3[i])));
            }
        }
    }
}
