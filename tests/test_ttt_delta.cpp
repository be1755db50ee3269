// The delta-rule TTT layer ("ttt_kind": "delta", kernels/cpu/ttt_delta_ref.h): its backward against central finite
// differences in float64, and the recurrence's split invariance (the state after a call carries everything).
// The whole model with the layer (training gradients, inference paths, recall) is tested in test_ttt_delta_model.cpp.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <cstring>
#include <random>
#include <vector>

#include "cpu/ternary_kernels.h"
#include "cpu/ttt_delta_ref.h"
#include "cpu/ttt_kernels.h"

using namespace ttt;

namespace {

std::vector<double> normals(std::mt19937& rng, size_t n, double stddev = 1.0) {
    std::normal_distribution<double> dist(0.0, stddev);
    std::vector<double> v(n);
    for (double& x : v) x = dist(rng);
    return v;
}

// Everything the op reads, as one set of double vectors (so finite differences can perturb any of them).
struct DeltaInputs {
    size_t n, d, H;
    std::vector<double> kr, v, qr, gates, conv_k, conv_q, bias;
    std::vector<double> W0, tail0;  // the soul the sequence starts from (a constant: no gradient flows into it)
    double lr;
    DeltaInputs(std::mt19937& rng, size_t n_, size_t d_, size_t H_, double lr_, bool carried)
        : n(n_), d(d_), H(H_), lr(lr_) {
        kr = normals(rng, n * d), v = normals(rng, n * d), qr = normals(rng, n * d);
        gates = normals(rng, n * 2 * H), conv_k = normals(rng, d * kDeltaConv, 0.7);
        conv_q = normals(rng, d * kDeltaConv, 0.7), bias = normals(rng, 2 * H);
        W0 = carried ? normals(rng, ttt_delta_state_size(d, H), 0.3) : std::vector<double>(ttt_delta_state_size(d, H));
        tail0 = carried ? normals(rng, ttt_delta_tail_size(d)) : std::vector<double>(ttt_delta_tail_size(d));
    }
    TttDeltaParams<double> params() const {
        TttDeltaParams<double> p;
        p.d = d, p.heads = H, p.conv_k = conv_k.data(), p.conv_q = conv_q.data(), p.gate_bias = bias.data(), p.lr = lr;
        return p;
    }
};

// loss = Σ r ⊙ out from the inputs' starting soul.
double delta_loss(const DeltaInputs& in, const std::vector<double>& r) {
    std::vector<double> W = in.W0, tail = in.tail0, out(in.n * in.d);
    ttt_delta_rows<double>(in.params(), in.kr.data(), in.v.data(), in.qr.data(), in.gates.data(), in.n, W.data(),
                           tail.data(), out.data());
    double l = 0;
    for (size_t i = 0; i < out.size(); ++i) l += r[i] * out[i];
    return l;
}

}  // namespace

TEST_CASE("ttt delta: the backward matches central finite differences for every input, from a zero or a carried soul") {
    std::mt19937 rng(15);
    for (size_t H : {size_t(1), size_t(2)})
    for (bool carried : {false, true}) {
        DeltaInputs in(rng, 9, 8, H, 0.7, carried);
        const size_t n = in.n, d = in.d;
        const std::vector<double> r = normals(rng, n * d);
        // Analytic gradients.
        std::vector<double> W = in.W0, tail = in.tail0, out(n * d);
        std::vector<double> kc(n * d), qc(n * d), kh(n * d), qh(n * d), kn(n * H), qn(n * H), eta(n * H), alpha(n * H),
            states(n * ttt_delta_state_size(d, H));
        TttDeltaTrace<double> tr{kc.data(), qc.data(), kh.data(), qh.data(), kn.data(), qn.data(), eta.data(),
                                 alpha.data(), states.data()};
        ttt_delta_rows<double>(in.params(), in.kr.data(), in.v.data(), in.qr.data(), in.gates.data(), n, W.data(),
                               tail.data(), out.data(), &tr);
        std::vector<double> dkr(n * d), dv(n * d), dqr(n * d), dg(n * 2 * H), dck(d * kDeltaConv, 0.0),
            dcq(d * kDeltaConv, 0.0), db(2 * H, 0.0), scratch(ttt_delta_backward_scratch(d, H));
        ttt_delta_backward_rows<double>(in.params(), in.kr.data(), in.v.data(), in.qr.data(), tr,
                                        carried ? in.tail0.data() : nullptr, r.data(), n,
                                        dkr.data(), dv.data(), dqr.data(), dg.data(), dck.data(), dcq.data(), db.data(),
                                        scratch.data());
        // Fourth-order central differences, relative to the largest analytic value of each input.
        auto check = [&](const char* name, std::vector<double> DeltaInputs::*field, const std::vector<double>& analytic) {
            const double h = 1e-4;
            double max_err = 0, max_ref = 0;
            for (double a : analytic) max_ref = std::max(max_ref, std::fabs(a));
            DeltaInputs probe = in;
            for (size_t i = 0; i < analytic.size(); ++i) {
                auto f = [&](double delta) {
                    (probe.*field)[i] = (in.*field)[i] + delta;
                    const double l = delta_loss(probe, r);
                    (probe.*field)[i] = (in.*field)[i];
                    return l;
                };
                const double num = (-f(2 * h) + 8 * f(h) - 8 * f(-h) + f(-2 * h)) / (12 * h);
                max_err = std::max(max_err, std::fabs(num - analytic[i]));
            }
            INFO(name << " heads " << H << (carried ? " carried soul" : " zero soul") << ": max |numeric − analytic| " << max_err << ", max |analytic| " << max_ref);
            CHECK(max_ref > 0);
            CHECK(max_err <= 1e-7 * std::max(1.0, max_ref));
        };
        check("kr", &DeltaInputs::kr, dkr);
        check("v", &DeltaInputs::v, dv);
        check("qr", &DeltaInputs::qr, dqr);
        check("gates", &DeltaInputs::gates, dg);
        check("conv_k", &DeltaInputs::conv_k, dck);
        check("conv_q", &DeltaInputs::conv_q, dcq);
        check("gate_bias", &DeltaInputs::bias, db);
    }
}

TEST_CASE("ttt delta: any split of a sequence into calls gives the same outputs and state, bit for bit") {
    std::mt19937 rng(7);
    const size_t n = 23, d = 12, H = 3;
    std::vector<float> kr(n * d), v(n * d), qr(n * d), g(n * 2 * H), ck(d * kDeltaConv), cq(d * kDeltaConv), b(2 * H);
    std::normal_distribution<float> nd(0.f, 1.f);
    for (auto* x : {&kr, &v, &qr, &g, &ck, &cq, &b})
        for (float& y : *x) y = nd(rng);
    TttDeltaParams<float> p;
    p.d = d, p.heads = H, p.conv_k = ck.data(), p.conv_q = cq.data(), p.gate_bias = b.data(), p.lr = 0.5f;
    auto run = [&](const std::vector<size_t>& cuts, std::vector<float>& W, std::vector<float>& tail) {
        W.assign(ttt_delta_state_size(d, H), 0.f), tail.assign(ttt_delta_tail_size(d), 0.f);
        std::vector<float> out(n * d);
        size_t pos = 0;
        for (size_t cut : cuts) {
            ttt_delta_rows<float>(p, kr.data() + pos * d, v.data() + pos * d, qr.data() + pos * d,
                                  g.data() + pos * 2 * H, cut - pos, W.data(), tail.data(), out.data() + pos * d);
            pos = cut;
        }
        return out;
    };
    std::vector<float> W0, t0;
    const std::vector<float> whole = run({n}, W0, t0);
    std::vector<size_t> one_by_one;
    for (size_t i = 1; i <= n; ++i) one_by_one.push_back(i);
    for (const std::vector<size_t>& cuts : {one_by_one, std::vector<size_t>{1, 2, 5, 6, 20, n}, std::vector<size_t>{0, 3, 3, n}}) {
        std::vector<float> W, tail;
        CHECK(run(cuts, W, tail) == whole);
        CHECK(W == W0);
        CHECK(tail == t0);
    }
    // The state is used: the same last token after a different history reads a different output.
    CHECK(std::any_of(W0.begin(), W0.end(), [](float x) { return x != 0.f; }));
}

TEST_CASE("ttt delta: every instruction-set level's kernel gives the scalar recurrence's bits") {
    // The levels compile the one source for wider registers; without fused multiply-adds and with the sums in a
    // fixed lane order the bits must not move. Shapes: heads narrower and wider than the 16 lanes, a width that is
    // not a multiple of them, from a zero soul and from a carried one.
    std::mt19937 rng(31);
    std::normal_distribution<float> nd(0.f, 1.f);
    struct Shape { size_t n, d, H; };
    for (const Shape sh : {Shape{1, 4, 1}, Shape{23, 12, 3}, Shape{17, 40, 1}, Shape{9, 256, 2}, Shape{5, 96, 2}}) {
        const size_t n = sh.n, d = sh.d, H = sh.H;
        std::vector<float> kr(n * d), v(n * d), qr(n * d), g(n * 2 * H), ck(d * kDeltaConv), cq(d * kDeltaConv), b(2 * H);
        for (auto* x : {&kr, &v, &qr, &g, &ck, &cq, &b})
            for (float& y : *x) y = nd(rng);
        std::vector<float> W0(ttt_delta_state_size(d, H)), tail0(ttt_delta_tail_size(d));
        for (float& y : W0) y = 0.1f * nd(rng);
        for (float& y : tail0) y = nd(rng);
        TttDeltaParams<float> p;
        p.d = d, p.heads = H, p.conv_k = ck.data(), p.conv_q = cq.data(), p.gate_bias = b.data(), p.lr = 0.8f;
        const TttDeltaArgs a{d, H, ck.data(), cq.data(), b.data(), 0.8f};
        std::vector<float> Wr = W0, tr = tail0, outr(n * d);
        ttt_delta_rows<float>(p, kr.data(), v.data(), qr.data(), g.data(), n, Wr.data(), tr.data(), outr.data());
        for (CpuLevel level : {CpuLevel::scalar, CpuLevel::avx2, CpuLevel::avx512}) {
            if (int(level) > int(cpu_detected_level())) continue;
            std::vector<float> W = W0, t = tail0, out(n * d);
            ttt_delta_kernel(level)(a, kr.data(), v.data(), qr.data(), g.data(), n, W.data(), t.data(), out.data(), 0, H);
            INFO("level " << cpu_level_name(level) << " n " << n << " d " << d << " heads " << H);
            CHECK(std::memcmp(out.data(), outr.data(), out.size() * sizeof(float)) == 0);
            CHECK(std::memcmp(W.data(), Wr.data(), W.size() * sizeof(float)) == 0);
            CHECK(t == tr);
            // Head by head, last head first (as threads may finish): the same bits.
            std::vector<float> Wh = W0, th = tail0, outh(n * d);
            for (size_t h = H; h-- > 0;)
                ttt_delta_kernel(level)(a, kr.data(), v.data(), qr.data(), g.data(), n, Wh.data(), th.data(),
                                        outh.data(), h, h + 1);
            CHECK(std::memcmp(outh.data(), outr.data(), outh.size() * sizeof(float)) == 0);
            CHECK(std::memcmp(Wh.data(), Wr.data(), Wh.size() * sizeof(float)) == 0);
            CHECK(th == tr);
        }
    }
}
