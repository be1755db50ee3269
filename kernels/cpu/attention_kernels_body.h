// The body of attention_kernels.h's chunk kernel, written once over a vector type V (the lanes, loads and
// arithmetic of one level). Internal to kernels/cpu: included by attention_kernels_avx2.cpp and
// attention_kernels_avx512.cpp inside an anonymous namespace, after the target pragma (gcc) or `#pragma clang
// attribute` (clang), so each file compiles it for its own instruction set (and no inline function escapes to
// other files).
//
// V provides: W (lanes), F (register), zero, set1, load, store, load_f16, load_i8, add, mul, fmadd, fnmadd, min, max,
// round_nearest, pow2m1 (2^(n−1) for integral n in [−125, 128]), hsum, hmax.

// exp_lanes.h takes no target attribute of its own here: the including file's target pragma (gcc) or clang
// attribute already covers it.
#define TTT_EXP_TARGET
#include "cpu/exp_lanes.h"

// A cache row as floats: f32 rows in place, f16 and int8 rows decoded into `tmp` (hd floats).
template <class V>
const float* cache_row(const KvCacheView& c, const uint8_t* base, const float* scales, size_t pos, size_t kvh,
                       float* tmp) {
    const size_t hd = c.head_dim, W = V::W;
    const uint8_t* src = base + c.offset(pos, kvh);
    size_t i = 0;
    switch (c.type) {
        case KvType::f32:
            return reinterpret_cast<const float*>(src);
        case KvType::f16: {
            const auto* h = reinterpret_cast<const uint16_t*>(src);
            for (; i + W <= hd; i += W) V::store(tmp + i, V::load_f16(h + i));
            const float* table = f16_table();
            for (; i < hd; ++i) tmp[i] = table[h[i]];
            return tmp;
        }
        case KvType::i8: {
            const auto* q = reinterpret_cast<const int8_t*>(src);
            const float s = scales[pos * c.kv_heads + kvh];
            const typename V::F vs = V::set1(s);
            for (; i + W <= hd; i += W) V::store(tmp + i, V::mul(V::load_i8(q + i), vs));
            for (; i < hd; ++i) tmp[i] = float(q[i]) * s;
            return tmp;
        }
    }
    return tmp;
}

// Asks for the cache lines of row `pos` of kv head kvh ahead of use: a kv head's rows are strided in the cache
// (positions × kv heads), which the hardware prefetchers follow poorly once the cache outgrows the last-level cache.
inline void prefetch_row(const KvCacheView& c, const uint8_t* base, size_t pos, size_t kvh) {
    const char* p = reinterpret_cast<const char*>(base + c.offset(pos, kvh));
    for (size_t b = 0; b < c.row_bytes(); b += 64) __builtin_prefetch(p + b, 0, 3);
}

// dot[h] = q_h · k for HB heads (q_h at q + h·hd): two chains per head (even and odd vector blocks), added at the
// end, then the < W tail in order.
template <class V, int HB>
void dots(const float* q, size_t hd, const float* k, float* dot) {
    using F = typename V::F;
    const size_t W = V::W;
    F a[HB], b[HB];
    for (int h = 0; h < HB; ++h) a[h] = b[h] = V::zero();
    size_t i = 0;
    for (; i + 2 * W <= hd; i += 2 * W) {
        const F k0 = V::load(k + i), k1 = V::load(k + i + W);
        for (int h = 0; h < HB; ++h) {
            a[h] = V::fmadd(V::load(q + h * hd + i), k0, a[h]);
            b[h] = V::fmadd(V::load(q + h * hd + i + W), k1, b[h]);
        }
    }
    if (i + W <= hd) {
        const F k0 = V::load(k + i);
        for (int h = 0; h < HB; ++h) a[h] = V::fmadd(V::load(q + h * hd + i), k0, a[h]);
        i += W;
    }
    for (int h = 0; h < HB; ++h) {
        float s = V::hsum(V::add(a[h], b[h]));
        for (size_t t = i; t < hd; ++t) s += q[h * hd + t] * k[t];
        dot[h] = s;
    }
}

// acc_h[i] += Σ_t p_h[t]·v_t[i] over the nb ≤ kAttentionSubBlock rows v_t of a sub-block, for HB heads (acc_h at
// acc + h·hd, p_h at p + h·kAttentionChunk): accumulators stay in registers across the rows (two vectors per head),
// each element still summed in row order.
template <class V, int HB>
void weighted_rows(const float* p, const float* const* v, size_t nb, size_t hd, float* acc) {
    using F = typename V::F;
    const size_t W = V::W;
    size_t i = 0;
    for (; i + 2 * W <= hd; i += 2 * W) {
        F a0[HB], a1[HB];
        for (int h = 0; h < HB; ++h) {
            a0[h] = V::load(acc + h * hd + i);
            a1[h] = V::load(acc + h * hd + i + W);
        }
        for (size_t t = 0; t < nb; ++t) {
            const F x0 = V::load(v[t] + i), x1 = V::load(v[t] + i + W);
            for (int h = 0; h < HB; ++h) {
                const F w = V::set1(p[h * kAttentionChunk + t]);
                a0[h] = V::fmadd(w, x0, a0[h]);
                a1[h] = V::fmadd(w, x1, a1[h]);
            }
        }
        for (int h = 0; h < HB; ++h) {
            V::store(acc + h * hd + i, a0[h]);
            V::store(acc + h * hd + i + W, a1[h]);
        }
    }
    for (; i + W <= hd; i += W) {
        F a0[HB];
        for (int h = 0; h < HB; ++h) a0[h] = V::load(acc + h * hd + i);
        for (size_t t = 0; t < nb; ++t) {
            const F x0 = V::load(v[t] + i);
            for (int h = 0; h < HB; ++h) a0[h] = V::fmadd(V::set1(p[h * kAttentionChunk + t]), x0, a0[h]);
        }
        for (int h = 0; h < HB; ++h) V::store(acc + h * hd + i, a0[h]);
    }
    for (; i < hd; ++i)
        for (int h = 0; h < HB; ++h) {
            float a = acc[h * hd + i];
            for (size_t t = 0; t < nb; ++t) a += p[h * kAttentionChunk + t] * v[t][i];
            acc[h * hd + i] = a;
        }
}

// Heads in groups of 4, then 2, then 1.
template <class V, class Fn4, class Fn2, class Fn1>
void by_head_groups(size_t n_q, const Fn4& f4, const Fn2& f2, const Fn1& f1) {
    size_t h = 0;
    for (; h + 4 <= n_q; h += 4) f4(h);
    for (; h + 2 <= n_q; h += 2) f2(h);
    for (; h < n_q; ++h) f1(h);
}

template <class V>
void attention_chunk_simd(const float* q, size_t n_q, const KvCacheView& c, size_t kvh, size_t j0, size_t j1,
                          const AttentionPartial& out, float* scratch) {
    using F = typename V::F;
    const size_t hd = c.head_dim, n = j1 - j0, W = V::W;
    const float scale = 1.0f / std::sqrt(float(hd));
    float* s = scratch;                              // s[h·kAttentionChunk + j]: scores, then weights
    float* row = scratch + n_q * kAttentionChunk;    // decoded rows: one K row, or a sub-block of V rows
    float dot[4];

    // Scores: each K row decoded once, dotted with every head's query.
    constexpr size_t kAhead = 8;  // rows prefetched ahead
    for (size_t j = 0; j < n; ++j) {
        if (j + kAhead < n) prefetch_row(c, c.k, j0 + j + kAhead, kvh);
        else if (j + kAhead - n < kAttentionSubBlock) prefetch_row(c, c.v, j0 + j + kAhead - n, kvh);  // V's first rows
        const float* k = cache_row<V>(c, c.k, c.k_scale, j0 + j, kvh, row);
        by_head_groups<V>(
            n_q,
            [&](size_t h) { dots<V, 4>(q + h * hd, hd, k, dot); for (int t = 0; t < 4; ++t) s[(h + t) * kAttentionChunk + j] = dot[t] * scale; },
            [&](size_t h) { dots<V, 2>(q + h * hd, hd, k, dot); for (int t = 0; t < 2; ++t) s[(h + t) * kAttentionChunk + j] = dot[t] * scale; },
            [&](size_t h) { dots<V, 1>(q + h * hd, hd, k, dot); s[h * kAttentionChunk + j] = dot[0] * scale; });
    }

    // Per head: m = max, weights e^(s − m) in place, l = their sum (vector blocks, then the tail in order). s − m ≤ 0;
    // exp_lanes clamps it below at −86.5, where e^x < 2.6e-38 is far below what a sum of at least 1 can notice.
    for (size_t h = 0; h < n_q; ++h) {
        float* sh = s + h * kAttentionChunk;
        size_t j = 0;
        F mv = V::set1(-INFINITY);
        for (; j + W <= n; j += W) mv = V::max(mv, V::load(sh + j));
        float m = V::hmax(mv);
        for (size_t t = j; t < n; ++t) m = sh[t] > m ? sh[t] : m;
        const F vm = V::set1(m);
        F lv = V::zero();
        for (j = 0; j + W <= n; j += W) {
            const F e = exp_lanes<V>(V::add(V::load(sh + j), V::mul(vm, V::set1(-1.0f))));
            V::store(sh + j, e);
            lv = V::add(lv, e);
        }
        float l = V::hsum(lv);
        if (j < n) {  // the tail through the same vector code on a padded copy
            alignas(64) float t[64];
            for (size_t u = 0; u < W; ++u) t[u] = j + u < n ? sh[j + u] - m : -INFINITY;
            V::store(t, exp_lanes<V>(V::load(t)));
            for (size_t u = 0; j + u < n; ++u) {
                sh[j + u] = t[u];
                l += t[u];
            }
        }
        out.m[h] = m;
        out.l[h] = l;
    }

    // Values: sub-blocks of V rows decoded once (f32 rows read in place), added to every head's accumulator with
    // its weights.
    for (size_t i = 0; i < n_q * hd; ++i) out.acc[i] = 0.0f;
    const float* rows[kAttentionSubBlock];
    for (size_t b = 0; b < n; b += kAttentionSubBlock) {
        const size_t nb = n - b < kAttentionSubBlock ? n - b : kAttentionSubBlock;
        for (size_t t = 0; t < nb; ++t) {
            if (b + t + kAttentionSubBlock < n) prefetch_row(c, c.v, j0 + b + t + kAttentionSubBlock, kvh);
            rows[t] = cache_row<V>(c, c.v, c.v_scale, j0 + b + t, kvh, row + t * hd);
        }
        by_head_groups<V>(
            n_q, [&](size_t h) { weighted_rows<V, 4>(s + h * kAttentionChunk + b, rows, nb, hd, out.acc + h * hd); },
            [&](size_t h) { weighted_rows<V, 2>(s + h * kAttentionChunk + b, rows, nb, hd, out.acc + h * hd); },
            [&](size_t h) { weighted_rows<V, 1>(s + h * kAttentionChunk + b, rows, nb, hd, out.acc + h * hd); });
    }
}
