// attention_kernels.h: the scalar chunk kernel (plain loops in the SIMD kernels' structure, for CPUs without them),
// the merge and finish of partials, the one-loop row, and the choice of level.
#include "cpu/attention_kernels.h"

#include <algorithm>
#include <cmath>

#include "cpu/cpu_features.h"

namespace ttt {

#if defined(__x86_64__) || defined(__i386__)
void attention_chunk_avx2(const float* q, size_t n_q, const KvCacheView& c, size_t kvh, size_t j0, size_t j1,
                          const AttentionPartial& out, float* scratch);
void attention_chunk_avx512(const float* q, size_t n_q, const KvCacheView& c, size_t kvh, size_t j0, size_t j1,
                            const AttentionPartial& out, float* scratch);
#endif

namespace {

void attention_chunk_scalar(const float* q, size_t n_q, const KvCacheView& c, size_t kvh, size_t j0, size_t j1,
                            const AttentionPartial& out, float* scratch) {
    const size_t hd = c.head_dim, n = j1 - j0;
    const float scale = 1.0f / std::sqrt(float(hd));
    float* s = scratch;
    float* row = scratch + n_q * kAttentionChunk;
    for (size_t j = 0; j < n; ++j) {
        const size_t pos = j0 + j;
        kv_load_row_ref(c.k + c.offset(pos, kvh), c.k_scale ? c.k_scale[pos * c.kv_heads + kvh] : 1.0f, hd, c.type, row);
        for (size_t h = 0; h < n_q; ++h) {
            float d = 0.0f;
            for (size_t i = 0; i < hd; ++i) d += q[h * hd + i] * row[i];
            s[h * kAttentionChunk + j] = d * scale;
        }
    }
    for (size_t h = 0; h < n_q; ++h) {
        float* sh = s + h * kAttentionChunk;
        float m = -INFINITY, l = 0.0f;
        for (size_t j = 0; j < n; ++j) m = sh[j] > m ? sh[j] : m;
        for (size_t j = 0; j < n; ++j) {
            sh[j] = std::exp(sh[j] - m);
            l += sh[j];
        }
        out.m[h] = m;
        out.l[h] = l;
    }
    for (size_t i = 0; i < n_q * hd; ++i) out.acc[i] = 0.0f;
    for (size_t j = 0; j < n; ++j) {
        const size_t pos = j0 + j;
        kv_load_row_ref(c.v + c.offset(pos, kvh), c.v_scale ? c.v_scale[pos * c.kv_heads + kvh] : 1.0f, hd, c.type, row);
        for (size_t h = 0; h < n_q; ++h) {
            const float p = s[h * kAttentionChunk + j];
            for (size_t i = 0; i < hd; ++i) out.acc[h * hd + i] += p * row[i];
        }
    }
}

}  // namespace

size_t attention_scratch_floats(size_t n_q, size_t hd) { return n_q * kAttentionChunk + kAttentionSubBlock * hd + 16; }

AttentionChunkFn attention_chunk_kernel(CpuLevel level) {
#if defined(__x86_64__) || defined(__i386__)
    const CpuFeatures& f = cpu_features();
    if (level >= CpuLevel::avx512 && f.avx512 && f.f16c) return attention_chunk_avx512;
    if (level >= CpuLevel::avx2 && f.avx2 && f.f16c) return attention_chunk_avx2;
#else
    (void)level;
#endif
    return attention_chunk_scalar;
}

void attention_merge(const AttentionPartial& into, const AttentionPartial& p, size_t n_q, size_t hd) {
    for (size_t h = 0; h < n_q; ++h) {
        const float m = into.m[h] > p.m[h] ? into.m[h] : p.m[h];
        const float a = std::exp(into.m[h] - m), b = std::exp(p.m[h] - m);
        float* acc = into.acc + h * hd;
        const float* pacc = p.acc + h * hd;
        for (size_t i = 0; i < hd; ++i) acc[i] = acc[i] * a + pacc[i] * b;
        into.l[h] = into.l[h] * a + p.l[h] * b;
        into.m[h] = m;
    }
}

void attention_finish(const AttentionPartial& p, size_t n_q, size_t hd, float* out) {
    for (size_t h = 0; h < n_q; ++h) {
        const float inv = 1.0f / p.l[h];
        for (size_t i = 0; i < hd; ++i) out[h * hd + i] = p.acc[h * hd + i] * inv;
    }
}

size_t attention_group_work_floats(size_t n_q, size_t hd) {
    return 2 * attention_partial_floats(n_q, hd) + attention_scratch_floats(n_q, hd);
}

void attention_group(AttentionChunkFn fn, const float* q, size_t n_q, const KvCacheView& c, size_t kvh, size_t n_keys,
                     float* out, float* work) {
    const size_t pf = attention_partial_floats(n_q, c.head_dim);
    const AttentionPartial run = attention_partial_at(work, n_q, c.head_dim);
    const AttentionPartial part = attention_partial_at(work + pf, n_q, c.head_dim);
    float* scratch = work + 2 * pf;
    for (size_t k = 0; k < attention_chunks(n_keys); ++k) {
        const size_t j0 = k * kAttentionChunk, j1 = std::min(n_keys, j0 + kAttentionChunk);
        fn(q, n_q, c, kvh, j0, j1, k == 0 ? run : part, scratch);
        if (k > 0) attention_merge(run, part, n_q, c.head_dim);
    }
    attention_finish(run, n_q, c.head_dim, out);
}

}  // namespace ttt
