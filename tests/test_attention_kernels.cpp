// The reference kernels of attention models (kernels/cpu/attention_ref.h) against independent computations.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "cpu/attention_kernels.h"
#include "cpu/attention_ref.h"
#include "backend/cpu_backend.h"
#include "io/safetensors.h"

using namespace ttt;

TEST_CASE("attention kernels: f16 conversion rounds as the safetensors codec does, for every half value") {
    for (uint32_t h = 0; h < 65536; ++h) {
        const float f = f16_to_f32_ref(uint16_t(h));
        if (std::isnan(f)) continue;
        CHECK_EQ(f, half_to_float(uint16_t(h)));
        REQUIRE_EQ(f32_to_f16_ref(f), uint16_t(h));
    }
    std::mt19937 rng(5);
    std::uniform_real_distribution<float> u(-70000.0f, 70000.0f);
    for (int i = 0; i < 200000; ++i) {
        float f = u(rng) * (i % 3 == 0 ? 1e-6f : i % 3 == 1 ? 1e-2f : 1.0f);
        REQUIRE_EQ(f32_to_f16_ref(f), float_to_half(f));
    }
}

TEST_CASE("attention kernels: RoPE is a rotation by position·θ^(−2i/hd) of the two halves") {
    const size_t hd = 8;
    const std::vector<float> inv = rope_inv_freq(hd, 10000.0, RopeScalingParams{});
    for (size_t i = 0; i < hd / 2; ++i) CHECK(inv[i] == doctest::Approx(std::pow(10000.0, -2.0 * double(i) / hd)).epsilon(1e-6));
    std::vector<float> x = {1, 2, 3, 4, 5, 6, 7, 8}, y = x;
    rope_head_ref(y.data(), hd, inv.data(), 0);
    CHECK(y == x);  // position 0: identity
    rope_head_ref(y.data(), hd, inv.data(), 7);
    for (size_t i = 0; i < hd / 2; ++i) {
        const double a = 7.0 * double(inv[i]);
        CHECK(y[i] == doctest::Approx(x[i] * std::cos(a) - x[i + 4] * std::sin(a)).epsilon(1e-5));
        CHECK(y[i + 4] == doctest::Approx(x[i + 4] * std::cos(a) + x[i] * std::sin(a)).epsilon(1e-5));
    }
    // llama3: long wavelengths divided by factor, short ones kept.
    RopeScalingParams s;
    s.llama3 = true;
    s.factor = 8.0;
    s.original_max_position = 8192.0;
    const std::vector<float> scaled = rope_inv_freq(16, 500000.0, s), plain = rope_inv_freq(16, 500000.0, RopeScalingParams{});
    CHECK(scaled[0] == plain[0]);                                    // wavelength 2π < 8192/4: kept
    CHECK(scaled[7] == doctest::Approx(plain[7] / 8.0).epsilon(1e-6));  // wavelength ≫ 8192: divided
}

TEST_CASE("attention kernels: int8 cache rows, squared ReLU, one-key attention") {
    const float x[4] = {0.5f, -1.0f, 0.25f, 0.0f};
    int8_t q[4];
    float scale = 0;
    kv_store_row_ref(x, 4, KvType::i8, q, &scale);
    CHECK(scale == doctest::Approx(1.0f / 127.0f));
    CHECK(q[1] == -127);
    CHECK(q[0] == 64);  // 63.5 rounds away from zero
    float back[4];
    kv_load_row_ref(q, scale, 4, KvType::i8, back);
    for (int i = 0; i < 4; ++i) CHECK(std::fabs(back[i] - x[i]) <= scale / 2 + 1e-7f);
    const float g[3] = {-2.0f, 0.0f, 3.0f}, u[3] = {5.0f, 5.0f, 2.0f};
    float o[3];
    relu2_gated_span(g, u, 3, o);
    CHECK(o[0] == 0.0f);
    CHECK(o[1] == 0.0f);
    CHECK(o[2] == 18.0f);
    // With one cached position the output is that position's value row, whatever the query.
    const float k[2] = {0.3f, -0.2f}, v[2] = {1.5f, -2.5f}, qv[2] = {4.0f, 1.0f};
    KvCacheView c;
    c.type = KvType::f32;
    c.kv_heads = 1;
    c.head_dim = 2;
    c.k = reinterpret_cast<uint8_t*>(const_cast<float*>(k));
    c.v = reinterpret_cast<uint8_t*>(const_cast<float*>(v));
    float out[2], scratch[8];
    attention_head_ref(qv, c, 0, 1, out, scratch);
    CHECK(out[0] == 1.5f);
    CHECK(out[1] == -2.5f);
}

TEST_CASE("attention kernels: a GQA group at once gives each head's bits, for every cache type") {
    std::mt19937 rng(11);
    std::normal_distribution<float> n(0.0f, 1.0f);
    const size_t hd = 16, kv_heads = 2, group = 3, n_keys = 9;
    for (KvType type : {KvType::f32, KvType::f16, KvType::i8}) {
        const size_t rb = hd * kv_elem_bytes(type);
        std::vector<uint8_t> k(n_keys * kv_heads * rb), v(k.size());
        std::vector<float> ks(n_keys * kv_heads), vs(ks.size()), row(hd);
        for (size_t j = 0; j < n_keys * kv_heads; ++j) {
            for (float& x : row) x = n(rng);
            kv_store_row_ref(row.data(), hd, type, k.data() + j * rb, &ks[j]);
            for (float& x : row) x = n(rng);
            kv_store_row_ref(row.data(), hd, type, v.data() + j * rb, &vs[j]);
        }
        KvCacheView c;
        c.type = type;
        c.kv_heads = kv_heads;
        c.head_dim = hd;
        c.k = k.data();
        c.v = v.data();
        if (type == KvType::i8) {
            c.k_scale = ks.data();
            c.v_scale = vs.data();
        }
        std::vector<float> q(group * hd), together(group * hd), alone(group * hd), scratch(group * n_keys + 2 * hd);
        for (float& x : q) x = n(rng);
        for (size_t kvh = 0; kvh < kv_heads; ++kvh) {
            attention_group_ref(q.data(), group, c, kvh, n_keys, together.data(), scratch.data());
            for (size_t h = 0; h < group; ++h)
                attention_head_ref(q.data() + h * hd, c, kvh, n_keys, alone.data() + h * hd, scratch.data());
            CHECK(together == alone);
        }
    }
}

// ---- the fast kernels (attention_kernels.h) against the oracle --------------------------------------------------

namespace {

// A random cache of n_keys positions × kv_heads rows of `type`.
struct RandomCache {
    std::vector<uint8_t> k, v;
    std::vector<float> ks, vs;
    KvCacheView view;
    RandomCache(KvType type, size_t kv_heads, size_t hd, size_t n_keys, std::mt19937& rng) {
        std::normal_distribution<float> n(0.0f, 1.0f);
        const size_t rb = hd * kv_elem_bytes(type);
        k.resize(n_keys * kv_heads * rb);
        v.resize(k.size());
        ks.resize(n_keys * kv_heads);
        vs.resize(ks.size());
        std::vector<float> row(hd);
        for (size_t j = 0; j < n_keys * kv_heads; ++j) {
            for (float& x : row) x = n(rng);
            kv_store_row_ref(row.data(), hd, type, k.data() + j * rb, &ks[j]);
            for (float& x : row) x = n(rng);
            kv_store_row_ref(row.data(), hd, type, v.data() + j * rb, &vs[j]);
        }
        view.type = type;
        view.kv_heads = kv_heads;
        view.head_dim = hd;
        view.k = k.data();
        view.v = v.data();
        if (type == KvType::i8) {
            view.k_scale = ks.data();
            view.v_scale = vs.data();
        }
    }
};

// The bound of attention_kernels.h for every output element of the group, from the decoded rows in double.
std::vector<double> error_bounds(const float* q, size_t n_q, const KvCacheView& c, size_t kvh, size_t n_keys) {
    const size_t hd = c.head_dim;
    const double u = std::ldexp(1.0, -24), scale = 1.0 / std::sqrt(double(hd));
    std::vector<float> row(hd);
    std::vector<std::vector<float>> K(n_keys), V(n_keys);
    for (size_t j = 0; j < n_keys; ++j) {
        K[j].resize(hd);
        V[j].resize(hd);
        kv_load_row_ref(c.k + c.offset(j, kvh), c.k_scale ? c.k_scale[j * c.kv_heads + kvh] : 1.0f, hd, c.type, K[j].data());
        kv_load_row_ref(c.v + c.offset(j, kvh), c.v_scale ? c.v_scale[j * c.kv_heads + kvh] : 1.0f, hd, c.type, V[j].data());
    }
    std::vector<double> bound(n_q * hd);
    for (size_t h = 0; h < n_q; ++h) {
        const float* qh = q + h * hd;
        std::vector<double> s(n_keys);
        double E = 0, mx = -INFINITY;
        for (size_t j = 0; j < n_keys; ++j) {
            double d = 0, a = 0;
            for (size_t i = 0; i < hd; ++i) {
                d += double(qh[i]) * K[j][i];
                a += std::fabs(double(qh[i]) * K[j][i]);
            }
            s[j] = d * scale;
            E = std::max(E, 2.0 * double(hd) * u * a * scale);
            mx = std::max(mx, s[j]);
        }
        double sum = 0;
        for (double& x : s) sum += (x = std::exp(x - mx));
        for (size_t i = 0; i < hd; ++i) {
            double S = 0;
            for (size_t j = 0; j < n_keys; ++j) S += s[j] / sum * std::fabs(double(V[j][i]));
            bound[h * hd + i] = (2.0 * E + double(n_keys + hd + 32) * 4.0 * u) * S + 1e-30;
        }
    }
    return bound;
}

std::vector<CpuLevel> levels_here() {
    std::vector<CpuLevel> l = {CpuLevel::scalar};
    if (cpu_detected_level() >= CpuLevel::avx2) l.push_back(CpuLevel::avx2);
    if (cpu_detected_level() >= CpuLevel::avx512) l.push_back(CpuLevel::avx512);
    return l;
}

}  // namespace

TEST_CASE("attention kernels: the fast kernels agree with the oracle within the derived bound, every level and cache type") {
    struct Case {
        size_t n_q, kv_heads, hd, n_keys;
        float q_scale;  // larger: peakier softmax
    };
    const Case cases[] = {{1, 1, 1, 1, 1.0f},    {1, 2, 7, 3, 1.0f},     {3, 1, 12, 300, 2.0f}, {5, 2, 20, 513, 1.0f},
                          {4, 1, 128, 1, 1.0f},  {4, 2, 128, 257, 3.0f}, {2, 1, 64, 256, 1.0f}, {1, 3, 33, 1000, 0.5f},
                          {6, 1, 17, 2, 4.0f},   {4, 5, 128, 4096, 1.0f}, {7, 1, 24, 777, 8.0f}, {4, 1, 130, 95, 1.0f}};
    std::mt19937 rng(2026);
    std::normal_distribution<float> n(0.0f, 1.0f);
    double worst_ratio = 0;
    for (const Case& cs : cases) {
        for (KvType type : {KvType::f32, KvType::f16, KvType::i8}) {
            RandomCache cache(type, cs.kv_heads, cs.hd, cs.n_keys, rng);
            std::vector<float> q(cs.n_q * cs.hd);
            for (float& x : q) x = n(rng) * cs.q_scale;
            const size_t kvh = cs.kv_heads - 1;
            std::vector<float> ref(q.size()), scratch(cs.n_q * cs.n_keys + 2 * cs.hd);
            attention_group_ref(q.data(), cs.n_q, cache.view, kvh, cs.n_keys, ref.data(), scratch.data());
            const std::vector<double> bound = error_bounds(q.data(), cs.n_q, cache.view, kvh, cs.n_keys);
            for (CpuLevel level : levels_here()) {
                CAPTURE(cs.n_q);
                CAPTURE(cs.hd);
                CAPTURE(cs.n_keys);
                CAPTURE(int(type));
                CAPTURE(cpu_level_name(level));
                const AttentionChunkFn fn = attention_chunk_kernel(level);
                std::vector<float> got(q.size()), work(attention_group_work_floats(cs.n_q, cs.hd));
                attention_group(fn, q.data(), cs.n_q, cache.view, kvh, cs.n_keys, got.data(), work.data());
                size_t bad = 0;
                for (size_t i = 0; i < got.size(); ++i) {
                    const double d = std::fabs(double(got[i]) - double(ref[i]));
                    worst_ratio = std::max(worst_ratio, d / bound[i]);
                    bad += !(d <= bound[i]);  // NaN fails too
                }
                CHECK(bad == 0);

                // The chunks computed apart (as the backend's threads may) and merged in order: the same bits.
                const size_t pf = attention_partial_floats(cs.n_q, cs.hd), chunks = attention_chunks(cs.n_keys);
                std::vector<float> parts(chunks * pf), scr(attention_scratch_floats(cs.n_q, cs.hd)), split(q.size());
                for (size_t k = chunks; k-- > 0;)  // backwards: order of computing must not matter
                    fn(q.data(), cs.n_q, cache.view, kvh, k * kAttentionChunk,
                       std::min(cs.n_keys, (k + 1) * kAttentionChunk), attention_partial_at(parts.data() + k * pf, cs.n_q, cs.hd),
                       scr.data());
                for (size_t k = 1; k < chunks; ++k)
                    attention_merge(attention_partial_at(parts.data(), cs.n_q, cs.hd),
                                    attention_partial_at(parts.data() + k * pf, cs.n_q, cs.hd), cs.n_q, cs.hd);
                attention_finish(attention_partial_at(parts.data(), cs.n_q, cs.hd), cs.n_q, cs.hd, split.data());
                CHECK(std::memcmp(split.data(), got.data(), got.size() * 4) == 0);
            }
        }
    }
    MESSAGE("largest |fast − oracle| / bound: " << worst_ratio);
}

TEST_CASE("attention on the CPU backend: a long cache gives every row the same bits in prefill, decode and any thread count") {
    // 4 query heads over 2 kv heads of 20 (not a multiple of 8 or 16), 601 positions (3 chunks, the last partial).
    const size_t H = 4, Hk = 2, hd = 20, n = 601;
    std::mt19937 rng(9);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    std::vector<float> q(n * H * hd), k(n * Hk * hd), v(n * Hk * hd);
    for (auto* x : {&q, &k, &v})
        for (float& f : *x) f = nd(rng);
    for (KvCacheType type : {KvCacheType::f32, KvCacheType::f16, KvCacheType::i8}) {
        CAPTURE(int(type));
        const size_t eb = type == KvCacheType::f32 ? 4 : type == KvCacheType::f16 ? 2 : 1;
        struct Cache {
            std::vector<uint8_t> k, v;
            std::vector<float> ks, vs;
        };
        auto make_cache = [&] {
            Cache c;
            c.k.resize(n * Hk * hd * eb);
            c.v.resize(c.k.size());
            c.ks.resize(n * Hk);
            c.vs.resize(n * Hk);
            return c;
        };
        auto ref_of = [&](Cache& c, uint64_t position) {
            KvCacheRef r;
            r.k = c.k.data();
            r.v = c.v.data();
            if (type == KvCacheType::i8) {
                r.k_scale = c.ks.data();
                r.v_scale = c.vs.data();
            }
            r.position = position;
            return r;
        };
        const AttentionShape shape{H, Hk, hd, type};
        // rows [r0, r1) of q, k, v through one attention call on a cache holding r0 positions.
        auto pass = [&](CpuBackend& be, Cache& c, size_t r0, size_t r1, float* out) {
            const size_t m = r1 - r0;
            Tensor tq(q.data() + r0 * H * hd, ElemType::f32, m, H * hd), tk(k.data() + r0 * Hk * hd, ElemType::f32, m, Hk * hd),
                tv(v.data() + r0 * Hk * hd, ElemType::f32, m, Hk * hd), to(out, ElemType::f32, m, H * hd);
            const SequenceRows rows{0, m};
            const KvCacheRef ref = ref_of(c, r0);
            be.attention(tq, tk, tv, &rows, &ref, 1, shape, to);
        };
        auto one = CpuBackend::best(1), two = CpuBackend::best(2);
        Cache a = make_cache(), b = make_cache(), d = make_cache();
        std::vector<float> prefill1(n * H * hd), prefill2(n * H * hd), last(H * hd), stepped(n * H * hd);
        pass(*one, a, 0, n, prefill1.data());
        pass(*two, b, 0, n, prefill2.data());
        CHECK(prefill1 == prefill2);
        pass(*one, d, 0, n - 1, stepped.data());
        pass(*two, d, n - 1, n, last.data());  // one row on two threads: its chunks spread over them
        CHECK(std::equal(last.begin(), last.end(), prefill1.end() - long(H * hd)));
        // and within the oracle's bound of the reference backend
        auto reference = CpuBackend::reference(1);
        Cache e = make_cache();
        std::vector<float> oracle(n * H * hd);
        pass(*reference, e, 0, n, oracle.data());
        float worst = 0;
        for (size_t i = 0; i < oracle.size(); ++i) worst = std::max(worst, std::fabs(oracle[i] - prefill1[i]));
        CHECK(worst < 1e-4f);  // |v| ~ 1: far inside the bound's scale (tested element-wise above)
    }
}
