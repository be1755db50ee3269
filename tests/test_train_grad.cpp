// The training core: every op's backward and the whole model's gradient against central finite differences in
// float64, the training forward against the inference path, determinism, and the float GEMM against its oracle.
//
// Gradient checks. Rounding (ternary weights, int8 activations) makes the true loss piecewise constant, so finite
// differences of the exact model say nothing about the straight-through gradient. The whole-model check therefore
// runs in RELAXED mode (ForwardOptions::relaxed): each quantiser is replaced by the identity (a BitLinear multiplies
// by W/s, or by W when bitlinear_scale; activation fake quantisation is skipped) and every scale s is frozen at its
// value for the starting weights. That function is smooth, and the STE backward of the real code (∂L/∂W = ∂L/∂W̃/s,
// resp. ∂L/∂W̃; identity through the activation quantiser) is exactly its gradient, so central differences in
// float64 must match it to rounding and truncation error: we require a relative error (max |numeric − analytic| over
// max |analytic| of the tensor) below 1e-6. Differences are fourth-order central with step h = 1e-4: truncation
// ~h⁴·f⁽⁵⁾ ≈ 1e-16, rounding ~1e-16·|L|/h ≈ 1e-12 absolute. (Plain central differences with h = 1e-6 leave ~1e-10
// of rounding noise, which is 1e-6 relative for the small gradients of early layers in the unscaled model, whose
// residual stream is large.)
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <random>
#include <vector>

#include "backend/thread_pool.h"
#include "backend/parallel_gemm.h"
#include "cpu/ops_ref.h"
#include "cpu/ttt_ref.h"
#include "cpu/ternary_ref.h"
#include "load/config_json.h"
#include "io/safetensors.h"
#include "model/weights.h"
#include "model_fixture.h"
#include "train/train_model.h"
#include "train/train_ops.h"

using namespace ttt;

namespace {

constexpr double kFdStep = 1e-4;
constexpr double kFdTolerance = 1e-6;

std::vector<double> normals(std::mt19937& rng, size_t n, double mean = 0.0, double stddev = 1.0) {
    std::normal_distribution<double> dist(mean, stddev);
    std::vector<double> v(n);
    for (double& x : v) x = dist(rng);
    return v;
}

// max_i |numeric_i − analytic_i| / max_i |analytic_i|, numeric by the fourth-order central difference
// (−f(x+2h) + 8f(x+h) − 8f(x−h) + f(x−2h)) / 12h.
// At most max_points coordinates are differenced, evenly spread (the analytic maximum is over all of them).
double fd_relative_error(const std::function<double(const std::vector<double>&)>& f, std::vector<double> x,
                         const std::vector<double>& analytic, size_t max_points = SIZE_MAX) {
    REQUIRE(x.size() == analytic.size());
    double max_err = 0.0, max_ref = 0.0;
    for (double a : analytic) max_ref = std::max(max_ref, std::fabs(a));
    const size_t points = std::min(max_points, x.size());
    for (size_t p = 0; p < points; ++p) {
        const size_t i = p * x.size() / points;
        const double x0 = x[i];
        double fv[4];
        const double offsets[4] = {2, 1, -1, -2};
        for (int k = 0; k < 4; ++k) {
            x[i] = x0 + offsets[k] * kFdStep;
            fv[k] = f(x);
        }
        x[i] = x0;
        const double numeric = (-fv[0] + 8 * fv[1] - 8 * fv[2] + fv[3]) / (12 * kFdStep);
        max_err = std::max(max_err, std::fabs(numeric - analytic[i]));
    }
    return max_ref > 0 ? max_err / max_ref : max_err;
}

double dot(const std::vector<double>& a, const std::vector<double>& b) {
    double s = 0;
    for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
    return s;
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------------
// (1) Per-op backward vs central differences, float64. Each op's output is reduced to a scalar by a fixed random
// weighting L = Σ w ⊙ y, so ∂L/∂y = w.

TEST_CASE("train ops: rmsnorm backward matches finite differences") {
    std::mt19937 rng(1);
    const size_t N = 3, D = 8;
    const float eps = 1e-5f;
    std::vector<double> x = normals(rng, N * D), g = normals(rng, D, 1.0, 0.3), w = normals(rng, N * D);
    auto loss = [&](const std::vector<double>& xx, const std::vector<double>& gg) {
        std::vector<double> y(N * D), r(N);
        rmsnorm_forward(xx.data(), gg.data(), N, D, eps, y.data(), r.data(), nullptr);
        return dot(y, w);
    };
    std::vector<double> y(N * D), r(N), dx(N * D, 0.0), dg(D, 0.0);
    rmsnorm_forward(x.data(), g.data(), N, D, eps, y.data(), r.data(), nullptr);
    rmsnorm_backward(w.data(), x.data(), g.data(), r.data(), N, D, dx.data(), dg.data(), nullptr);
    const double ex = fd_relative_error([&](const std::vector<double>& v) { return loss(v, g); }, x, dx);
    const double eg = fd_relative_error([&](const std::vector<double>& v) { return loss(x, v); }, g, dg);
    MESSAGE("rmsnorm: rel err dx " << ex << ", dg " << eg);
    CHECK(ex < kFdTolerance);
    CHECK(eg < kFdTolerance);
}

TEST_CASE("train ops: swiglu, l2norm, cross-entropy and embedding backward match finite differences") {
    std::mt19937 rng(2);
    SUBCASE("swiglu") {
        const size_t n = 20;
        std::vector<double> g = normals(rng, n, 0, 3), u = normals(rng, n), w = normals(rng, n);
        auto loss = [&](const std::vector<double>& gg, const std::vector<double>& uu) {
            std::vector<double> o(n);
            swiglu_forward(gg.data(), uu.data(), n, o.data(), nullptr);
            return dot(o, w);
        };
        std::vector<double> dg(n), du(n);
        swiglu_backward(w.data(), g.data(), u.data(), n, dg.data(), du.data(), nullptr);
        const double eg = fd_relative_error([&](const std::vector<double>& v) { return loss(v, u); }, g, dg);
        const double eu = fd_relative_error([&](const std::vector<double>& v) { return loss(g, v); }, u, du);
        MESSAGE("swiglu: rel err dgate " << eg << ", dup " << eu);
        CHECK(eg < kFdTolerance);
        CHECK(eu < kFdTolerance);
    }
    SUBCASE("l2norm") {
        const size_t N = 3, d = 5;
        std::vector<double> f = normals(rng, N * d), w = normals(rng, N * d);
        auto loss = [&](const std::vector<double>& ff) {
            std::vector<double> h(N * d), nrm(N);
            l2norm_forward(ff.data(), N, d, h.data(), nrm.data(), nullptr);
            return dot(h, w);
        };
        std::vector<double> h(N * d), nrm(N), df(N * d);
        l2norm_forward(f.data(), N, d, h.data(), nrm.data(), nullptr);
        l2norm_backward(w.data(), f.data(), nrm.data(), N, d, df.data(), nullptr);
        const double e = fd_relative_error(loss, f, df);
        MESSAGE("l2norm: rel err " << e);
        CHECK(e < kFdTolerance);
    }
    SUBCASE("cross-entropy") {
        const size_t N = 4, V = 7;
        std::vector<double> l = normals(rng, N * V, 0, 2);
        const int32_t targets[N] = {0, 6, 3, 3};
        std::vector<double> losses(N);
        auto loss = [&](const std::vector<double>& ll) {
            return cross_entropy_forward(ll.data(), targets, N, V, losses.data(), nullptr);
        };
        std::vector<double> dl(N * V);
        cross_entropy_backward(l.data(), targets, N, V, 1.0 / N, dl.data(), nullptr);
        const double e = fd_relative_error(loss, l, dl);
        MESSAGE("cross-entropy: rel err " << e);
        CHECK(e < kFdTolerance);
        // In place (dlogits aliasing logits) gives the same values.
        std::vector<double> inplace = l;
        cross_entropy_backward(inplace.data(), targets, N, V, 1.0 / N, inplace.data(), nullptr);
        CHECK(inplace == dl);
        const int32_t bad[N] = {0, 7, 0, 0};
        CHECK_THROWS(cross_entropy_forward(l.data(), bad, N, V, losses.data(), nullptr));
    }
    SUBCASE("embedding") {
        const size_t V = 5, D = 3, N = 4;
        const int32_t tokens[N] = {4, 1, 4, 0};
        std::vector<double> E = normals(rng, V * D), w = normals(rng, N * D);
        auto loss = [&](const std::vector<double>& ee) {
            std::vector<double> o(N * D);
            embedding_forward(tokens, N, ee.data(), D, o.data());
            return dot(o, w);
        };
        std::vector<double> dE(V * D, 0.0);
        embedding_backward(tokens, N, w.data(), D, dE.data());
        const double e = fd_relative_error(loss, E, dE);
        CHECK(e < kFdTolerance);
    }
}

TEST_CASE("train ops: TTT chunked recurrence backward matches finite differences through every chunk") {
    // B = 2 sequences of T = 7 tokens, d = 4, chunk sizes 1 (sequential), 3 (partial last chunk) and 7 (one chunk).
    std::mt19937 rng(3);
    const size_t B = 2, T = 7, d = 4;
    const float eta = 0.7f;
    for (size_t C : {size_t(1), size_t(3), size_t(7)}) {
        const size_t nC = ttt_num_chunks(T, C);
        // Realistic inputs are unit vectors, but the recurrence is checked for any input.
        std::vector<double> fhat = normals(rng, B * T * d, 0, 0.6), w = normals(rng, B * T * d);
        auto loss = [&](const std::vector<double>& fh) {
            std::vector<double> z(B * T * d), st(B * nC * d * d);
            ttt_forward(fh.data(), B, T, d, C, eta, z.data(), st.data(), nullptr);
            return dot(z, w);
        };
        std::vector<double> z(B * T * d), st(B * nC * d * d), dfh(B * T * d), scratch(ttt_backward_scratch(B, T, d, C));
        ttt_forward(fhat.data(), B, T, d, C, eta, z.data(), st.data(), nullptr);
        ttt_backward(w.data(), fhat.data(), z.data(), st.data(), B, T, d, C, eta, dfh.data(), scratch.data(), nullptr);
        const double e = fd_relative_error(loss, fhat, dfh);
        MESSAGE("ttt chunk " << C << ": rel err " << e);
        CHECK(e < kFdTolerance);
    }
}

TEST_CASE("train ops: TTT forward equals the inference kernels' token-by-token recurrence bit for bit") {
    std::mt19937 rng(4);
    const size_t T = 11, d = 8;
    const float eta = 0.3f;
    for (size_t C : {size_t(1), size_t(4)}) {
        std::vector<float> fhat(T * d);
        for (float& v : fhat) v = float(std::normal_distribution<double>(0, 0.4)(rng));
        std::vector<float> z(T * d), st(ttt_num_chunks(T, C) * d * d);
        ttt_forward(fhat.data(), 1, T, d, C, eta, z.data(), st.data(), nullptr);
        std::vector<float> w(d * d, 0.0f), pending(d * d, 0.0f), zi(d);
        for (size_t t = 0; t < T; ++t) {
            matvec_f32_ref(w.data(), d, d, fhat.data() + t * d, zi.data());
            ttt_accumulate_ref(zi.data(), fhat.data() + t * d, d, pending.data());
            if ((t + 1) % C == 0) ttt_apply_ref(w.data(), pending.data(), d, eta);
            for (size_t i = 0; i < d; ++i) CHECK(zi[i] == z[t * d + i]);
        }
    }
}

TEST_CASE("train ops: fake quantisation and ternary weights equal the inference kernels") {
    std::mt19937 rng(5);
    const size_t N = 5, D = 33;
    std::vector<float> x(N * D), y(N * D), ref(D);
    for (float& v : x) v = float(std::normal_distribution<double>(0, 2)(rng));
    std::fill(x.begin() + D, x.begin() + 2 * D, 0.0f);  // an all-zero row
    fake_quant_forward(x.data(), N, D, y.data(), nullptr);
    for (size_t n = 0; n < N; ++n) {
        fake_quant_int8_ref(x.data() + n * D, D, ref.data());
        for (size_t i = 0; i < D; ++i) CHECK(ref[i] == y[n * D + i]);
    }
    // Q (and s·Q) as TernaryMatrix::from_latent packs them.
    const int32_t rows = 7, cols = 9;
    std::vector<float> w(size_t(rows * cols)), we(w.size());
    for (float& v : w) v = float(std::normal_distribution<double>(0, 0.3)(rng));
    const TernaryMatrix tm = TernaryMatrix::from_latent(w.data(), rows, cols);
    const double s = bitlinear_scale(w.data(), w.size());
    CHECK(float(s) == tm.scale);
    std::vector<int8_t> q(w.size());
    unpack_ternary_ref(tm.data(), size_t(rows), size_t(cols), q.data());
    bitlinear_effective_weight(w.data(), w.size(), s, false, false, we.data());
    for (size_t i = 0; i < w.size(); ++i) CHECK(we[i] == float(q[i]));
    bitlinear_effective_weight(w.data(), w.size(), s, true, false, we.data());
    for (size_t i = 0; i < w.size(); ++i) CHECK(we[i] == tm.scale * float(q[i]));
}

// ---------------------------------------------------------------------------------------------------------------
// (2) The whole model's gradient, relaxed mode, float64.

namespace {

ModelConfig tiny_config(int32_t chunk, bool scale, int32_t act_bits) {
    ModelConfig c;
    c.vocab_size = 11;
    c.hidden_dim = 8;
    c.num_layers = 2;
    c.intermediate_dim = 32;
    c.inner_lr = 0.5f;
    c.ttt_chunk = chunk;
    c.bitlinear_scale = scale;
    c.act_bits = act_bits;
    return c;
}

// Random initialisation plus noise on the norm gains so no gradient is special.
TrainParams random_params(const ModelConfig& c, uint64_t seed) {
    TrainParams p = TrainParams::create(c);
    p.init_random(seed);
    std::mt19937 rng{uint32_t(seed)};
    for (const ParamTensor& t : p.tensors)
        if (t.shape.size() == 1)
            for (size_t i = 0; i < t.size; ++i)
                p.values[t.offset + i] += float(std::normal_distribution<double>(0, 0.2)(rng));
    return p;
}

struct Tokens {
    std::vector<int32_t> inputs, targets;
    Batch batch;
    Tokens(int32_t B, int32_t T, int32_t V, uint32_t seed) {
        inputs = ttt_test::random_tokens(size_t(B * T), V, seed);
        targets = ttt_test::random_tokens(size_t(B * T), V, seed + 1000);
        batch.B = B;
        batch.T = T;
        batch.inputs = inputs.data();
        batch.targets = targets.data();
    }
};

}  // namespace

TEST_CASE("train model: gradient of the relaxed model matches finite differences in float64") {
    ThreadPool pool(1);
    const Tokens tok(2, 7, 11, 7);
    for (int32_t chunk : {1, 3}) {
        for (bool scale : {false, true}) {
            const TrainParams p = random_params(tiny_config(chunk, scale, 0), 11);
            ForwardOptions opt;
            opt.relaxed = true;
            opt.frozen_scales = bitlinear_scales(p);
            std::vector<double> v(p.values.begin(), p.values.end()), grad(v.size(), 0.0);
            train_forward_backward_f64(p, v.data(), tok.batch, grad.data(), pool, opt);
            // Per tensor, so a failure names the tensor.
            double worst = 0.0;
            for (const ParamTensor& t : p.tensors) {
                std::vector<double> sub(v.begin() + ptrdiff_t(t.offset), v.begin() + ptrdiff_t(t.offset + t.size));
                std::vector<double> ana(grad.begin() + ptrdiff_t(t.offset), grad.begin() + ptrdiff_t(t.offset + t.size));
                std::vector<double> full = v;
                auto f = [&](const std::vector<double>& x) {
                    std::copy(x.begin(), x.end(), full.begin() + ptrdiff_t(t.offset));
                    return train_forward_backward_f64(p, full.data(), tok.batch, nullptr, pool, opt);
                };
                const double e = fd_relative_error(f, sub, ana, 48);  // 48 points per tensor keep the test fast
                worst = std::max(worst, e);
                INFO("chunk " << chunk << " scale " << scale << " tensor " << t.name);
                CHECK(e < kFdTolerance);
            }
            MESSAGE("model gradient (relaxed, f64), ttt_chunk " << chunk << ", bitlinear_scale " << scale
                                                                 << ": worst tensor rel err " << worst);
        }
    }
}

TEST_CASE("train model: the float path gives the float64 path's loss and gradient") {
    ThreadPool pool(2);
    const Tokens tok(2, 7, 11, 9);
    // Exact mode only with float activations: int8 rounding of float vs double activations may land on different
    // sides of a rounding boundary, which is a real (if tiny) difference of the function, not of the gradient code.
    for (bool relaxed : {true, false}) {
        for (int32_t act_bits : {0, 8}) {
            if (!relaxed && act_bits == 8) continue;
            const TrainParams p = random_params(tiny_config(3, act_bits == 8, act_bits), 5);
            ForwardOptions opt;
            opt.relaxed = relaxed;
            opt.frozen_scales = bitlinear_scales(p);
            std::vector<double> v(p.values.begin(), p.values.end()), g64(v.size(), 0.0);
            const double l64 = train_forward_backward_f64(p, v.data(), tok.batch, g64.data(), pool, opt);
            auto ws = make_workspace(p.config, 2, 7);
            std::vector<float> g32(v.size(), 0.0f);
            const double l32 = train_forward_backward(p, tok.batch, g32.data(), pool, *ws, opt);
            double max_err = 0, max_ref = 0;
            for (size_t i = 0; i < v.size(); ++i) {
                max_err = std::max(max_err, std::fabs(double(g32[i]) - g64[i]));
                max_ref = std::max(max_ref, std::fabs(g64[i]));
            }
            INFO("relaxed " << relaxed << " act_bits " << act_bits);
            CHECK(std::fabs(l32 - l64) < 1e-5 * l64);
            CHECK(max_err < 1e-4 * max_ref);
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// (3) The training forward computes the inference function.

namespace {

std::string write_model_dir(const TrainParams& p, const std::filesystem::path& dir) {
    std::filesystem::create_directories(dir);
    SafetensorsWriter w;
    for (const ParamTensor& t : p.tensors)
        w.add_f32(t.name, t.shape, std::vector<float>(p.values.begin() + ptrdiff_t(t.offset),
                                                      p.values.begin() + ptrdiff_t(t.offset + t.size)));
    ttt_test::write_bytes(dir / "model.safetensors", w.finish());
    const std::string cfg = config_to_json(p.config);
    ttt_test::write_bytes(dir / "config.json", std::vector<uint8_t>(cfg.begin(), cfg.end()));
    return dir.string();
}

}  // namespace

TEST_CASE("train model: training loss equals the inference path's cross-entropy (ttt_forward_all)") {
    ttt_test::TempDir tmp;
    ThreadPool pool(2);
    const int32_t B = 2, T = 9;
    int case_index = 0;
    for (int32_t chunk : {1, 4}) {
        for (bool scale : {false, true}) {
            for (int32_t act_bits : {0, 8}) {
                ModelConfig c;
                c.vocab_size = 37, c.hidden_dim = 16, c.num_layers = 2, c.intermediate_dim = 64;
                c.inner_lr = 0.5f, c.ttt_chunk = chunk, c.bitlinear_scale = scale, c.act_bits = act_bits;
                TrainParams p = random_params(c, 21 + uint64_t(case_index));
                const Tokens tok(B, T, c.vocab_size, 31 + uint32_t(case_index));
                auto ws = make_workspace(p.config, B, T);
                ForwardOptions opt;
                std::vector<float> train_logits(size_t(B * T * c.vocab_size));
                opt.logits_out = train_logits.data();
                const double train_loss = train_forward_backward(p, tok.batch, nullptr, pool, *ws, opt);

                ttt_test::Model m(write_model_dir(p, tmp.path / ("m" + std::to_string(case_index++))));
                REQUIRE(m.m != nullptr);
                double nll = 0.0;
                float max_diff = 0.0f;
                for (int32_t b = 0; b < B; ++b) {
                    // Each batch row is one sequence from a fresh (zero) soul.
                    std::vector<int32_t> seq(tok.inputs.begin() + b * T, tok.inputs.begin() + (b + 1) * T);
                    const std::vector<float> logits = ttt_test::all_logits(m.m, seq);
                    REQUIRE(logits.size() == size_t(T * c.vocab_size));
                    for (int32_t t = 0; t < T; ++t) {
                        const float* l = logits.data() + size_t(t * c.vocab_size);
                        double mx = l[0], sum = 0.0;
                        for (int32_t j = 0; j < c.vocab_size; ++j) mx = std::max(mx, double(l[j]));
                        for (int32_t j = 0; j < c.vocab_size; ++j) sum += std::exp(double(l[j]) - mx);
                        nll += std::log(sum) + mx - double(l[tok.targets[size_t(b * T + t)]]);
                        for (int32_t j = 0; j < c.vocab_size; ++j)
                            max_diff = std::max(max_diff, std::fabs(l[j] - train_logits[size_t((b * T + t) * c.vocab_size + j)]));
                    }
                }
                const double infer_loss = nll / double(B * T);
                const double rel = std::fabs(train_loss - infer_loss) / infer_loss;
                INFO("chunk " << chunk << " scale " << scale << " act_bits " << act_bits);
                MESSAGE("train vs inference, ttt_chunk " << chunk << " scale " << scale << " act_bits " << act_bits
                                                         << ": loss " << train_loss << " vs " << infer_loss
                                                         << ", rel diff " << rel << ", max |Δlogit| " << max_diff);
                CHECK(rel < 1e-4);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// (4) Determinism, initialisation, accumulation.

TEST_CASE("train model: gradients are bit-identical run to run, and across thread counts") {
    ModelConfig c;
    c.vocab_size = 64, c.hidden_dim = 32, c.num_layers = 2, c.intermediate_dim = 128;
    c.inner_lr = 0.3f, c.ttt_chunk = 4, c.act_bits = 8;
    TrainParams p = TrainParams::create(c);
    p.init_random(42);
    const Tokens tok(4, 16, c.vocab_size, 3);
    auto run = [&](int threads) {
        ThreadPool pool(threads);
        auto ws = make_workspace(p.config, 4, 16);
        std::vector<float> g(p.values.size(), 0.0f);
        const double loss = train_forward_backward(p, tok.batch, g.data(), pool, *ws);
        g.push_back(float(loss));
        return g;
    };
    const std::vector<float> a = run(2), b = run(2);
    CHECK(a == b);
    // The current kernels never split a reduction between threads (GEMMs split rows/columns of C, reductions over
    // tokens run in order), so even a different thread count gives the same bits.
    CHECK(run(1) == a);
    CHECK(run(3) == a);
}

TEST_CASE("train model: gradients accumulate, the workspace adapts to the batch, bad tokens are refused") {
    ThreadPool pool(2);
    TrainParams p = random_params(tiny_config(3, false, 0), 8);
    const Tokens tok(2, 7, 11, 5);
    auto ws = make_workspace(p.config, 1, 3);  // other shape: rebuilt on use
    std::vector<float> once(p.values.size(), 0.0f), twice(p.values.size(), 0.0f);
    const double l1 = train_forward_backward(p, tok.batch, once.data(), pool, *ws);
    train_forward_backward(p, tok.batch, twice.data(), pool, *ws);
    const double l2 = train_forward_backward(p, tok.batch, twice.data(), pool, *ws);
    CHECK(l1 == l2);
    // Added, not overwritten (to rounding: reductions over rows add into the running gradient).
    for (size_t i = 0; i < once.size(); ++i) CHECK(twice[i] == doctest::Approx(2 * once[i]).epsilon(1e-5));
    std::vector<int32_t> bad = tok.inputs;
    bad[3] = 11;
    Batch b = tok.batch;
    b.inputs = bad.data();
    CHECK_THROWS(train_forward_backward(p, b, once.data(), pool, *ws));
}

TEST_CASE("train params: documented layout and deterministic initialisation") {
    ModelConfig c = tiny_config(1, false, 0);
    c.intermediate_dim = 0;  // 0 = 4·D as in config.json
    TrainParams p = TrainParams::create(c);
    CHECK(p.config.intermediate_dim == 32);
    REQUIRE(p.tensors.size() == 3 + 7 * 2);
    CHECK(p.tensors.front().name == "embed.weight");
    CHECK(p.tensors[2].name == "layers.0.ttt.down.weight");
    CHECK(p.tensors[2].ternary);
    CHECK(p.tensors.back().name == "lm_head.weight");
    CHECK(p.tensors.back().weight_decay);
    CHECK_FALSE(p.find("norm_f.weight")->weight_decay);
    CHECK(p.tensors.back().offset + p.tensors.back().size == p.values.size());
    p.init_random(5);
    TrainParams q = TrainParams::create(c);
    q.init_random(5);
    CHECK(p.values == q.values);
    q.init_random(6);
    CHECK(p.values != q.values);
    for (float g : std::vector<float>(p.data("layers.1.norm2.weight"), p.data("layers.1.norm2.weight") + 8)) CHECK(g == 1.0f);
    CHECK_THROWS(p.data("nope"));
    // Statistics of a big draw: latent std 1/√fan_in.
    ModelConfig big = c;
    big.hidden_dim = 256, big.intermediate_dim = 1024, big.num_layers = 1, big.vocab_size = 64;
    TrainParams r = TrainParams::create(big);
    r.init_random(1);
    const ParamTensor* t = r.find("layers.0.mlp.down_proj.weight");
    double ss = 0;
    for (size_t i = 0; i < t->size; ++i) ss += double(r.values[t->offset + i]) * r.values[t->offset + i];
    CHECK(std::sqrt(ss / double(t->size)) == doctest::Approx(1.0 / 32.0).epsilon(0.01));
}

// ---------------------------------------------------------------------------------------------------------------
// (5) GEMM: blocked generic and AVX2 kernels, threaded, against the reference.
//
// Tolerance: both sides are float sums of the same products in different orders, so per element
// |C − C_ref| ≤ 2·γ·(|C₀| + Σ_k |a_ik b_kj|) with γ = (K + 1)·2⁻²⁴ (first-order bound; C₀ the accumulated-into
// value). Thread counts must not change a single bit.

TEST_CASE("gemm: blocked kernels match the reference on odd shapes, all transposes, any thread count") {
    std::mt19937 rng(9);
    std::uniform_real_distribution<float> uni(-1.0f, 1.0f);
    ThreadPool pool2(2), pool3(3);
    std::vector<GemmKernel> kernels = {GemmKernel::generic};
    if (gemm_avx2_supported()) kernels.push_back(GemmKernel::avx2);
    MESSAGE("gemm best kernel on this CPU: " << std::string(gemm_kernel_name(GemmKernel::best)));
    struct Shape { size_t M, N, K; };
    std::vector<Shape> shapes;
    const size_t sizes[] = {1, 3, 17, 64, 129};
    for (size_t M : sizes)
        for (size_t N : sizes)
            for (size_t K : sizes) shapes.push_back({M, N, K});
    shapes.push_back({200, 33, 300});  // more than one MC block of rows and KC block of depth
    shapes.push_back({7, 2100, 5});    // more than one NC block of columns
    shapes.push_back({5, 6, 0});       // K = 0
    double worst = 0.0;
    for (const Shape& s : shapes) {
        for (int variant = 0; variant < 4; ++variant) {
            const bool ta = variant == 3, tb = variant == 1;  // nn, nt, nn (accumulate), tn
            const bool accumulate = variant == 2 || (s.M + s.N) % 2 == 1;
            std::vector<float> A(s.M * s.K), B(s.K * s.N), C0(s.M * s.N);
            for (float& x : A) x = uni(rng);
            for (float& x : B) x = uni(rng);
            for (float& x : C0) x = uni(rng);
            std::vector<float> ref = C0;
            gemm_ref(ta, tb, s.M, s.N, s.K, A.data(), B.data(), ref.data(), accumulate);
            for (GemmKernel k : kernels) {
                std::vector<float> c1 = C0, c2 = C0, c3 = C0;
                gemm(ta, tb, s.M, s.N, s.K, A.data(), B.data(), c1.data(), accumulate, nullptr, k);
                gemm(ta, tb, s.M, s.N, s.K, A.data(), B.data(), c2.data(), accumulate, &pool2, k);
                gemm(ta, tb, s.M, s.N, s.K, A.data(), B.data(), c3.data(), accumulate, &pool3, k);
                INFO("M " << s.M << " N " << s.N << " K " << s.K << " ta " << ta << " tb " << tb << " acc "
                          << accumulate << " kernel " << gemm_kernel_name(k));
                CHECK(c1 == c2);
                CHECK(c1 == c3);
                const double gamma = double(s.K + 1) * 0x1p-24;
                bool ok = true;
                for (size_t i = 0; i < s.M; ++i)
                    for (size_t j = 0; j < s.N; ++j) {
                        double mag = accumulate ? std::fabs(double(C0[i * s.N + j])) : 0.0;
                        for (size_t q = 0; q < s.K; ++q)
                            mag += std::fabs(double(ta ? A[q * s.M + i] : A[i * s.K + q]) *
                                             double(tb ? B[j * s.K + q] : B[q * s.N + j]));
                        const double err = std::fabs(double(c1[i * s.N + j]) - double(ref[i * s.N + j]));
                        if (mag > 0) worst = std::max(worst, err / (gamma * mag));
                        if (err > 2 * gamma * mag) ok = false;
                    }
                CHECK(ok);
            }
        }
    }
    MESSAGE("gemm: worst error / (γ_K·Σ|ab|) = " << worst << " (bound 2)");
}

TEST_CASE("gemm: thread pool partitions statically and propagates exceptions") {
    ThreadPool pool(3);
    CHECK(pool.size() == 3);
    std::vector<int> owner(10, -1);
    pool.parallel_for(10, [&](size_t b, size_t e) {
        for (size_t i = b; i < e; ++i) owner[i] = int(b);
    });
    // 10 over 3 chunks: [0,4) [4,7) [7,10)
    CHECK(owner == std::vector<int>{0, 0, 0, 0, 4, 4, 4, 7, 7, 7});
    std::vector<int> small(3, 0);
    pool.parallel_for(3, [&](size_t b, size_t e) { for (size_t i = b; i < e; ++i) small[i] = int(e - b); }, 2);
    CHECK(small == std::vector<int>{2, 2, 1});  // grain 2: two chunks
    CHECK_THROWS_AS(pool.parallel_for(9, [&](size_t b, size_t) {
        if (b > 0) throw std::runtime_error("chunk failed");
    }), std::runtime_error);
    // Nested use runs inline and still covers everything; the pool keeps working after an exception.
    std::vector<int> hits(12, 0);
    pool.parallel_for(3, [&](size_t b, size_t e) {
        for (size_t i = b; i < e; ++i) pool.parallel_for(4, [&](size_t b2, size_t e2) {
            for (size_t j = b2; j < e2; ++j) hits[i * 4 + j] += 1;
        });
    });
    CHECK(hits == std::vector<int>(12, 1));
}
