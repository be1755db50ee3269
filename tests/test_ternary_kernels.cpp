// The ternary kernels of every dispatch level this CPU has (kernels/cpu/ternary_kernels.h) against the oracles:
// the i8 product bit for bit against an integer reference (and so against the scalar level), the f32 product
// against ternary_matvec_ref within the bound written in the header, quantize_rows_i8 against fake_quant_int8_ref.
// Shapes are random and odd on purpose: K not a multiple of any vector width, one row, one column, M = 1..17,
// output-row sub-ranges [r0, r1) as the backend's threads cut them, activations at the int8 extremes.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "cpu/cpu_features.h"
#include "cpu/ops_ref.h"
#include "cpu/ternary_kernels.h"
#include "cpu/ternary_ref.h"

using namespace ttt;

namespace {

std::vector<CpuLevel> available_levels() {
    std::vector<CpuLevel> levels;
    for (int l = 0; l <= int(cpu_detected_level()); ++l) levels.push_back(CpuLevel(l));
    return levels;
}

struct TernaryMatrix {
    size_t rows, cols;
    std::vector<int8_t> t;        // rows × cols in {−1, 0, 1}
    std::vector<uint8_t> file;    // file layout
};

TernaryMatrix random_matrix(std::mt19937& rng, size_t rows, size_t cols) {
    TernaryMatrix w{rows, cols, std::vector<int8_t>(rows * cols), std::vector<uint8_t>(ternary_file_bytes(rows, cols))};
    std::uniform_int_distribution<int> trit(-1, 1);
    for (auto& v : w.t) v = int8_t(trit(rng));
    pack_ternary_ref(w.t.data(), rows, cols, w.file.data());
    return w;
}

std::vector<uint8_t> repacked(const TernaryKernels& k, const TernaryMatrix& w) {
    std::vector<uint8_t> p(k.packed_bytes(w.rows, w.cols) + 1, 0xA5);
    k.repack(w.file.data(), w.rows, w.cols, p.data());
    CHECK(p.back() == 0xA5);  // repack stays inside packed_bytes
    p.pop_back();
    return p;
}

// Output-row ranges a backend may pass: whole, and cuts on the level's granule.
std::vector<std::pair<size_t, size_t>> row_ranges(size_t rows, size_t granule, std::mt19937& rng) {
    std::vector<std::pair<size_t, size_t>> ranges = {{0, rows}};
    const size_t units = (rows + granule - 1) / granule;
    if (units >= 2) {
        const size_t cut = (1 + rng() % (units - 1)) * granule;
        ranges.push_back({0, cut});
        ranges.push_back({cut, rows});
    }
    if (units >= 3) ranges.push_back({granule, std::min(rows, 2 * granule)});
    return ranges;
}

constexpr float kSentinel = -12345.0f;

void check_i8(const TernaryKernels& k, const TernaryMatrix& w, size_t M, std::mt19937& rng) {
    const size_t K = w.cols, N = w.rows, ldq = K + 3, ldy = N + 2;
    std::vector<int8_t> q(M * ldq, 77);  // the gap between rows must never be read into the result
    std::uniform_int_distribution<int> byte(-128, 127);
    for (size_t m = 0; m < M; ++m)
        for (size_t c = 0; c < K; ++c) {
            const int pick = int(rng() % 8);
            q[m * ldq + c] = int8_t(pick == 0 ? -128 : pick == 1 ? 127 : byte(rng));
        }
    std::vector<float> a(M);
    for (auto& v : a) v = 0.5f + float(rng() % 1000) / 7.0f;
    const auto packed = repacked(k, w);
    for (const auto& [r0, r1] : row_ranges(N, k.row_granule, rng)) {
        std::vector<float> y(M * ldy, kSentinel);
        k.gemm_i8(packed.data(), N, K, q.data(), ldq, a.data(), M, y.data(), ldy, r0, r1);
        for (size_t m = 0; m < M; ++m)
            for (size_t r = 0; r < N; ++r) {
                const float got = y[m * ldy + r];
                if (r < r0 || r >= r1) {
                    REQUIRE(got == kSentinel);
                    continue;
                }
                int32_t acc = 0;
                for (size_t c = 0; c < K; ++c) acc += int32_t(w.t[r * K + c]) * q[m * ldq + c];
                const float want = static_cast<float>(acc) / a[m];
                if (std::memcmp(&got, &want, sizeof got) != 0) {
                    FAIL_CHECK(k.name << " i8 N=" << N << " K=" << K << " M=" << M << " m=" << m << " r=" << r
                                      << " [" << r0 << "," << r1 << ") got " << got << " want " << want);
                    return;
                }
            }
        for (size_t m = 0; m < M; ++m) REQUIRE(y[m * ldy + N] == kSentinel);  // the gap after each row untouched
    }
}

void check_f32(const TernaryKernels& k, const TernaryMatrix& w, size_t M, std::mt19937& rng) {
    const size_t K = w.cols, N = w.rows, ldx = K + 1, ldy = N + 3;
    std::vector<float> x(M * ldx, std::nanf(""));  // the gap is NaN: reading it would show
    std::normal_distribution<float> gauss(0.0f, 1.0f);
    for (size_t m = 0; m < M; ++m)
        for (size_t c = 0; c < K; ++c) x[m * ldx + c] = gauss(rng) * (rng() % 4 == 0 ? 100.0f : 1.0f);
    const auto packed = repacked(k, w);
    std::vector<float> ref(N);
    for (const auto& [r0, r1] : row_ranges(N, k.row_granule, rng)) {
        std::vector<float> y(M * ldy, kSentinel);
        k.gemm_f32(packed.data(), N, K, x.data(), ldx, M, y.data(), ldy, r0, r1);
        for (size_t m = 0; m < M; ++m) {
            const float* xm = x.data() + m * ldx;
            ternary_matvec_ref(w.file.data(), N, K, xm, ref.data());
            double sum_abs = 0.0;
            for (size_t c = 0; c < K; ++c) sum_abs += std::fabs(xm[c]);
            // The header's bound: |Y − Y_ref| ≤ 2·K·2⁻²⁴·Σ|X| (the scalar level must match exactly).
            const double tol = k.level == CpuLevel::scalar ? 0.0 : 2.0 * double(K) * std::ldexp(1.0, -24) * sum_abs;
            for (size_t r = 0; r < N; ++r) {
                const float got = y[m * ldy + r];
                if (r < r0 || r >= r1) {
                    REQUIRE(got == kSentinel);
                    continue;
                }
                if (!(std::fabs(double(got) - double(ref[r])) <= tol)) {
                    FAIL_CHECK(k.name << " f32 N=" << N << " K=" << K << " M=" << M << " m=" << m << " r=" << r
                                      << " got " << got << " want " << ref[r] << " tol " << tol);
                    return;
                }
            }
        }
    }
}

}  // namespace

TEST_CASE("ternary kernels: detection and dispatch agree with the CPU") {
    const CpuLevel have = cpu_detected_level();
    MESSAGE("detected CPU level: " << std::string(cpu_level_name(have)));
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (int(have) >= int(CpuLevel::avx2)) CHECK(__builtin_cpu_supports("avx2"));
    if (int(have) >= int(CpuLevel::avx512)) CHECK(__builtin_cpu_supports("avx512vnni"));
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) CHECK(int(have) >= int(CpuLevel::avx2));
#endif
    for (CpuLevel l : available_levels()) {
        CHECK(ternary_kernels(l).level == l);
        CHECK(std::string(ternary_kernels(l).name) == cpu_level_name(l));
        CHECK(ternary_kernels(l).row_granule >= 1);
    }
    // Asking for more than the CPU has gives what it has.
    CHECK(ternary_kernels(CpuLevel::avx512).level == have);
}

TEST_CASE("ternary kernels: TTT_CPU_LEVEL lowers the active level, never raises it") {
    const char* old = std::getenv("TTT_CPU_LEVEL");
    const std::string saved = old ? old : "";
    const CpuLevel have = cpu_detected_level();
    for (CpuLevel l : {CpuLevel::scalar, CpuLevel::avx2, CpuLevel::avx512}) {
        setenv("TTT_CPU_LEVEL", cpu_level_name(l), 1);
        CHECK(int(cpu_active_level()) == std::min(int(l), int(have)));
    }
    setenv("TTT_CPU_LEVEL", "no-such-level", 1);
    CHECK(cpu_active_level() == have);
    unsetenv("TTT_CPU_LEVEL");
    CHECK(cpu_active_level() == have);
    if (old) setenv("TTT_CPU_LEVEL", saved.c_str(), 1);
}

TEST_CASE("ternary kernels: every level's i8 product is bit-exact against the integer reference") {
    std::mt19937 rng(1401);
    const size_t shapes[][2] = {{1, 1},   {1, 5},    {4, 128},  {5, 127}, {7, 129}, {3, 255}, {9, 256},
                                {13, 300}, {33, 1},  {17, 64},  {8, 513}, {64, 384}, {2, 1000}, {21, 4099}};
    for (CpuLevel l : available_levels()) {
        const TernaryKernels& k = ternary_kernels(l);
        const std::string level_name = k.name;
        CAPTURE(level_name);
        for (const auto& s : shapes) {
            const TernaryMatrix w = random_matrix(rng, s[0], s[1]);
            for (size_t M : {size_t(1), size_t(2), size_t(3), size_t(4), size_t(5), size_t(8), size_t(17)})
                check_i8(k, w, M, rng);
        }
        for (int trial = 0; trial < 20; ++trial) {
            const TernaryMatrix w = random_matrix(rng, 1 + rng() % 40, 1 + rng() % 700);
            check_i8(k, w, 1 + rng() % 17, rng);
        }
    }
}

TEST_CASE("ternary kernels: every level's f32 product is within the header's bound of ternary_matvec_ref") {
    std::mt19937 rng(1402);
    const size_t shapes[][2] = {{1, 1}, {1, 5}, {4, 128}, {5, 127}, {7, 129}, {9, 256}, {33, 1}, {8, 513}, {21, 2051}};
    for (CpuLevel l : available_levels()) {
        const TernaryKernels& k = ternary_kernels(l);
        const std::string level_name = k.name;
        CAPTURE(level_name);
        for (const auto& s : shapes) {
            const TernaryMatrix w = random_matrix(rng, s[0], s[1]);
            for (size_t M : {size_t(1), size_t(2), size_t(3), size_t(4), size_t(5), size_t(17)})
                check_f32(k, w, M, rng);
        }
        for (int trial = 0; trial < 10; ++trial) {
            const TernaryMatrix w = random_matrix(rng, 1 + rng() % 40, 1 + rng() % 700);
            check_f32(k, w, 1 + rng() % 17, rng);
        }
    }
}

TEST_CASE("ternary kernels: a row's f32 result does not depend on M or on its place in the batch") {
    // The compute core needs prefill (M rows at once) and decode (one row) to give the same bits.
    std::mt19937 rng(1404);
    std::normal_distribution<float> gauss(0.0f, 1.0f);
    for (CpuLevel l : available_levels()) {
        const TernaryKernels& k = ternary_kernels(l);
        const std::string level_name = k.name;
        CAPTURE(level_name);
        for (size_t K : {size_t(5), size_t(300), size_t(1031)}) {
            const size_t N = 13, M = 7;
            const TernaryMatrix w = random_matrix(rng, N, K);
            const auto packed = repacked(k, w);
            std::vector<float> x(M * K);
            for (auto& v : x) v = gauss(rng);
            std::vector<float> all(M * N), one(N);
            k.gemm_f32(packed.data(), N, K, x.data(), K, M, all.data(), N, 0, N);
            for (size_t m = 0; m < M; ++m) {
                k.gemm_f32(packed.data(), N, K, x.data() + m * K, K, 1, one.data(), N, 0, N);
                REQUIRE(std::memcmp(one.data(), all.data() + m * N, N * sizeof(float)) == 0);
            }
        }
    }
}

TEST_CASE("ternary kernels: all-(+1) and all-(−1) rows at the int8 extremes do not saturate") {
    // The worst case of the offset form: codes 2 (and 0) against −128 everywhere, long rows.
    const size_t K = 4096 + 77, N = 8;
    for (CpuLevel l : available_levels()) {
        const TernaryKernels& k = ternary_kernels(l);
        const std::string level_name = k.name;
        CAPTURE(level_name);
        std::vector<int8_t> t(N * K);
        for (size_t r = 0; r < N; ++r)
            for (size_t c = 0; c < K; ++c) t[r * K + c] = int8_t(r % 2 ? -1 : 1);
        std::vector<uint8_t> file(ternary_file_bytes(N, K));
        pack_ternary_ref(t.data(), N, K, file.data());
        std::vector<uint8_t> packed(k.packed_bytes(N, K));
        k.repack(file.data(), N, K, packed.data());
        for (int8_t v : {int8_t(-128), int8_t(127)}) {
            std::vector<int8_t> q(K, v);
            const float a = 1.0f;
            std::vector<float> y(N);
            k.gemm_i8(packed.data(), N, K, q.data(), K, &a, 1, y.data(), N, 0, N);
            for (size_t r = 0; r < N; ++r) CHECK(y[r] == float(int32_t(K) * v * (r % 2 ? -1 : 1)));
        }
    }
}

TEST_CASE("quantize_rows_i8: Q/a is the fake-quantised activation bit for bit") {
    std::mt19937 rng(1403);
    std::normal_distribution<float> gauss(0.0f, 1.0f);
    for (size_t K : {size_t(1), size_t(7), size_t(128), size_t(1000)}) {
        const size_t M = 3, ldx = K + 2, ldq = K + 5;
        std::vector<float> x(M * ldx);
        for (auto& v : x) v = gauss(rng) * 3.0f;
        x[1] = 0.5f;                      // ties round away from zero
        std::fill(x.begin() + ldx, x.begin() + ldx + K, 0.0f);  // an all-zero row (amax floor 1e-5)
        std::vector<int8_t> q(M * ldq);
        std::vector<float> a(M), fake(K);
        quantize_rows_i8(x.data(), ldx, M, K, q.data(), ldq, a.data());
        for (size_t m = 0; m < M; ++m) {
            fake_quant_int8_ref(x.data() + m * ldx, K, fake.data());
            for (size_t c = 0; c < K; ++c) {
                // Equal as numbers, every bit but the sign of zero (an int8 has no −0; −0 and +0 act alike).
                const float v = float(q[m * ldq + c]) / a[m];
                REQUIRE((v == fake[c] && (v != 0.0f || fake[c] == 0.0f)));
                if (v != 0.0f) REQUIRE(std::memcmp(&v, &fake[c], sizeof v) == 0);
            }
        }
    }
}

// ---- the LM head storage through the C API ----------------------------------------------------------------------

#include "bit_ttt.h"

TEST_CASE("ttt_context_params.lm_head: each storage runs the demo model; logits near f32's; bad values refused") {
    const std::string demo = std::string(TTT_TEST_DATA_DIR) + "/../../models/shakespeare-demo.bitt";
    ttt_model* model = nullptr;
    REQUIRE(ttt_load_model(demo.c_str(), nullptr, &model) == TTT_OK);
    ttt_model_info info{};
    info.struct_size = sizeof info;
    REQUIRE(ttt_model_get_info(model, &info) == TTT_OK);
    const size_t V = size_t(info.vocab_size);
    const int32_t tokens[6] = {5, 17, 200, 3, 99, 42};
    std::vector<std::vector<float>> logits;
    for (int32_t head : {TTT_LM_HEAD_F32, TTT_LM_HEAD_BF16, TTT_LM_HEAD_I8, TTT_LM_HEAD_DEFAULT}) {
        ttt_context_params p;
        REQUIRE(ttt_context_params_init(&p, sizeof p) == TTT_OK);
        CHECK(p.lm_head == TTT_LM_HEAD_DEFAULT);
        p.n_threads = 1;
        p.lm_head = head;
        ttt_context* ctx = nullptr;
        REQUIRE(ttt_create(model, &p, &ctx) == TTT_OK);
        std::vector<float> out(V);
        REQUIRE(ttt_forward(ctx, tokens, 6, out.data()) == TTT_OK);
        logits.push_back(out);
        ttt_destroy(ctx);
    }
    // The stored heads change each logit by at most Σ_c |ΔW[r,c]|·|h[c]| for the final hidden state h; with
    // RMS-normalised h (‖h‖₁ ≤ √D·‖h‖₂ ≈ D·g) and the demo's head (|W| < 1) that is far below 0.05 for bf16
    // (2⁻⁸ relative) and 0.5 for int8 (half a step of max|W|/127); the greedy choice must agree.
    auto argmax = [](const std::vector<float>& v) { return size_t(std::max_element(v.begin(), v.end()) - v.begin()); };
    double max_bf16 = 0, max_i8 = 0;
    for (size_t i = 0; i < V; ++i) {
        max_bf16 = std::max(max_bf16, std::fabs(double(logits[1][i]) - logits[0][i]));
        max_i8 = std::max(max_i8, std::fabs(double(logits[2][i]) - logits[0][i]));
    }
    CHECK(max_bf16 > 0.0);  // the formats really ran
    CHECK(max_i8 > 0.0);
    CHECK(max_bf16 < 0.05);
    CHECK(max_i8 < 0.5);
    CHECK(argmax(logits[1]) == argmax(logits[0]));
    CHECK(argmax(logits[2]) == argmax(logits[0]));
    if (!std::getenv("TTT_LM_HEAD")) CHECK(std::memcmp(logits[3].data(), logits[0].data(), V * 4) == 0);  // default f32

    ttt_context_params bad;
    REQUIRE(ttt_context_params_init(&bad, sizeof bad) == TTT_OK);
    for (int32_t v : {-1, 4}) {
        bad.lm_head = v;
        ttt_context* ctx = nullptr;
        CHECK(ttt_create(model, &bad, &ctx) == TTT_ERR_INVALID_ARGUMENT);
        CHECK(ctx == nullptr);
    }
    // A caller compiled before the field existed (a shorter struct) gets the default.
    ttt_context_params old;
    REQUIRE(ttt_context_params_init(&old, uint32_t(offsetof(ttt_context_params, lm_head))) == TTT_OK);
    ttt_context* ctx = nullptr;
    CHECK(ttt_create(model, &old, &ctx) == TTT_OK);
    ttt_destroy(ctx);
    ttt_model_free(model);
}
