// Plain reference kernels for attention models (Llama, BitNet b1.58): rotary position embedding in the rotate-half
// convention with llama3 frequency scaling, the squared-ReLU gated product, KV-cache rows stored as f32, f16 or
// int8 per token and head, and causal grouped-query attention of one query row over the cached rows. Row-wise and
// templated where training or tests need it; the oracle for optimised kernels. They know nothing of models or files.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "ops_ref.h"

namespace ttt {

// ---- RoPE ----------------------------------------------------------------------------------------------------------

struct RopeScalingParams {
    bool llama3 = false;
    double factor = 1.0, low_freq_factor = 1.0, high_freq_factor = 4.0, original_max_position = 8192.0;
};

// inv_freq[i] = θ^(−2i/hd) for i < hd/2, then llama3's rescaling: long wavelengths (beyond original/low_freq_factor)
// divided by factor, short ones (below original/high_freq_factor) kept, and a smooth blend between (transformers'
// _compute_llama3_parameters). Computed in double, rounded once to float.
inline std::vector<float> rope_inv_freq(size_t head_dim, double theta, const RopeScalingParams& s) {
    const double kPi = 3.14159265358979323846;
    std::vector<float> inv(head_dim / 2);
    for (size_t i = 0; i < inv.size(); ++i) {
        // transformers computes the exponent in float32: arange(0, hd, 2) / hd as float, then base ** that.
        const float expo = float(2 * i) / float(head_dim);
        double f = 1.0 / std::pow(theta, double(expo));
        if (s.llama3) {
            const double low_wavelen = s.original_max_position / s.low_freq_factor;
            const double high_wavelen = s.original_max_position / s.high_freq_factor;
            const double wavelen = 2.0 * kPi / f;
            if (wavelen > low_wavelen) {
                f = f / s.factor;
            } else if (wavelen >= high_wavelen) {
                const double smooth = (s.original_max_position / wavelen - s.low_freq_factor) /
                                      (s.high_freq_factor - s.low_freq_factor);
                f = (1.0 - smooth) * f / s.factor + smooth * f;
            }
        }
        inv[i] = float(f);
    }
    return inv;
}

// Rotate one head vector x[hd] in place for `position`: with x1, x2 its halves and angle_i = position·inv_freq[i]
// (in float, as transformers does), x1' = x1·cos − x2·sin, x2' = x2·cos + x1·sin.
inline void rope_head_ref(float* x, size_t head_dim, const float* inv_freq, uint64_t position) {
    const size_t half = head_dim / 2;
    const float pos = float(position);
    for (size_t i = 0; i < half; ++i) {
        const float angle = pos * inv_freq[i];
        const float c = std::cos(angle), s = std::sin(angle);
        const float a = x[i], b = x[i + half];
        x[i] = a * c - b * s;
        x[i + half] = b * c + a * s;
    }
}

// ---- squared-ReLU gated product (BitNet b1.58's MLP) -----------------------------------------------------------

// out = relu(gate)² ⊙ up.
template <typename T>
void relu2_gated_span(const T* gate, const T* up, size_t n, T* out) {
    for (size_t i = 0; i < n; ++i) {
        const T r = gate[i] > T(0) ? gate[i] : T(0);
        out[i] = r * r * up[i];
    }
}

// ---- KV cache rows ---------------------------------------------------------------------------------------------

enum class KvType : uint8_t { f32, f16, i8 };

inline size_t kv_elem_bytes(KvType t) { return t == KvType::f32 ? 4 : t == KvType::f16 ? 2 : 1; }

// IEEE half conversions, round to nearest even (kernels do not depend on io/).
inline uint16_t f32_to_f16_ref(float f) {
    uint32_t x;
    std::memcpy(&x, &f, 4);
    const uint32_t sign = (x >> 16) & 0x8000u;
    const uint32_t absx = x & 0x7fffffffu;
    if (absx >= 0x7f800000u) return uint16_t(sign | 0x7c00u | (absx > 0x7f800000u ? 0x200u : 0u));
    if (absx >= 0x477ff000u) return uint16_t(sign | 0x7c00u);  // rounds to ≥ 65520: infinity
    if (absx < 0x38800000u) {                                 // below the smallest normal half: subnormal or zero
        if (absx < 0x33000000u) return uint16_t(sign);
        const uint32_t mant = (absx & 0x7fffffu) | 0x800000u;
        const int shift = 126 - int(absx >> 23);  // 14..24: the value is mant · 2^(e − 150), a half step 2^−24
        const uint32_t half = mant >> shift, rem = mant & ((1u << shift) - 1), mid = 1u << (shift - 1);
        return uint16_t(sign | (half + ((rem > mid || (rem == mid && (half & 1))) ? 1 : 0)));
    }
    const uint32_t rounded = absx - 0x38000000u;  // rebias 127 → 15
    const uint32_t half = rounded >> 13, rem = rounded & 0x1fffu;
    return uint16_t(sign | (half + ((rem > 0x1000u || (rem == 0x1000u && (half & 1))) ? 1 : 0)));
}

inline float f16_to_f32_ref(uint16_t h) {
    const uint32_t sign = uint32_t(h & 0x8000u) << 16;
    const uint32_t e = (h >> 10) & 0x1f, m = h & 0x3ffu;
    uint32_t x;
    if (e == 0) {
        if (m == 0) {
            x = sign;
        } else {  // subnormal: m · 2^−24
            const float v = float(m) * (1.0f / 16777216.0f);
            std::memcpy(&x, &v, 4);
            x |= sign;
        }
    } else if (e == 31) {
        x = sign | 0x7f800000u | (m << 13);
    } else {
        x = sign | ((e + 112) << 23) | (m << 13);
    }
    float f;
    std::memcpy(&f, &x, 4);
    return f;
}

// Store one head's row x[hd] at dst (hd elements of `type`); int8 also writes its factor: scale = max|x|/127,
// q = round_half_away(x/scale) (scale 1 for an all-zero row), x ≈ q·scale.
inline void kv_store_row_ref(const float* x, size_t hd, KvType type, void* dst, float* scale) {
    switch (type) {
        case KvType::f32:
            std::memcpy(dst, x, hd * 4);
            return;
        case KvType::f16: {
            auto* h = static_cast<uint16_t*>(dst);
            for (size_t i = 0; i < hd; ++i) h[i] = f32_to_f16_ref(x[i]);
            return;
        }
        case KvType::i8: {
            const float amax = abs_max(x, hd);
            const float s = amax > 0.0f ? amax / 127.0f : 1.0f;
            const float inv = 1.0f / s;
            auto* q = static_cast<int8_t*>(dst);
            for (size_t i = 0; i < hd; ++i) {
                float v = round_half_away(x[i] * inv);
                v = v > 127.0f ? 127.0f : v < -127.0f ? -127.0f : v;
                q[i] = int8_t(v);
            }
            *scale = s;
            return;
        }
    }
}

// f16 → f32 through a 65,536-entry table made once from f16_to_f32_ref (the same values, without the bit work).
inline const float* f16_table() {
    static const std::vector<float> table = [] {
        std::vector<float> t(65536);
        for (uint32_t h = 0; h < 65536; ++h) t[h] = f16_to_f32_ref(uint16_t(h));
        return t;
    }();
    return table.data();
}

inline void kv_load_row_ref(const void* src, float scale, size_t hd, KvType type, float* out) {
    switch (type) {
        case KvType::f32:
            std::memcpy(out, src, hd * 4);
            return;
        case KvType::f16: {
            const float* table = f16_table();
            for (size_t i = 0; i < hd; ++i) out[i] = table[static_cast<const uint16_t*>(src)[i]];
            return;
        }
        case KvType::i8:
            for (size_t i = 0; i < hd; ++i) out[i] = float(static_cast<const int8_t*>(src)[i]) * scale;
            return;
    }
}

// ---- attention -------------------------------------------------------------------------------------------------

// One layer's cache of one sequence: rows [position, kv_head] of head_dim elements, K and V apart, plus the int8
// factors (one per position and kv head).
struct KvCacheView {
    KvType type = KvType::f16;
    size_t kv_heads = 0, head_dim = 0;
    uint8_t* k = nullptr;
    uint8_t* v = nullptr;
    float* k_scale = nullptr;  // i8 only
    float* v_scale = nullptr;

    size_t row_bytes() const { return head_dim * kv_elem_bytes(type); }
    size_t offset(size_t pos, size_t h) const { return (pos * kv_heads + h) * row_bytes(); }
};

// out[hd] = Σ_j softmax_j(q·k_j / √hd) · v_j over cached positions j ≤ n_keys − 1 of kv head `kvh`: scores in float
// in position order, the max subtracted before exp, the weighted sum in position order, divided once by Σ exp.
// scratch: room for n_keys + 2·hd floats.
inline void attention_head_ref(const float* q, const KvCacheView& c, size_t kvh, size_t n_keys, float* out,
                               float* scratch) {
    const size_t hd = c.head_dim;
    float* scores = scratch;
    float* row = scratch + n_keys;
    const float scale = 1.0f / std::sqrt(float(hd));
    float mx = -INFINITY;
    for (size_t j = 0; j < n_keys; ++j) {
        const size_t o = c.offset(j, kvh);
        kv_load_row_ref(c.k + o, c.k_scale ? c.k_scale[j * c.kv_heads + kvh] : 1.0f, hd, c.type, row);
        float dot = 0.0f;
        for (size_t i = 0; i < hd; ++i) dot += q[i] * row[i];
        scores[j] = dot * scale;
        mx = scores[j] > mx ? scores[j] : mx;
    }
    double sum = 0.0;
    for (size_t j = 0; j < n_keys; ++j) {
        scores[j] = std::exp(scores[j] - mx);
        sum += scores[j];
    }
    for (size_t i = 0; i < hd; ++i) out[i] = 0.0f;
    for (size_t j = 0; j < n_keys; ++j) {
        const size_t o = c.offset(j, kvh);
        kv_load_row_ref(c.v + o, c.v_scale ? c.v_scale[j * c.kv_heads + kvh] : 1.0f, hd, c.type, row);
        for (size_t i = 0; i < hd; ++i) out[i] += scores[j] * row[i];
    }
    const float inv = float(1.0 / sum);
    for (size_t i = 0; i < hd; ++i) out[i] *= inv;
}

// The same values as attention_head_ref for the `n_q` query heads q[h·hd …] that share kv head `kvh` (one GQA
// group), each K and V row decoded once for the whole group instead of once per head: every head's sums run in the
// same order as attention_head_ref's, so the results are the same bits (tested). scratch: n_q·n_keys + hd floats.
inline void attention_group_ref(const float* q, size_t n_q, const KvCacheView& c, size_t kvh, size_t n_keys, float* out,
                                float* scratch) {
    const size_t hd = c.head_dim;
    float* row = scratch + n_q * n_keys;
    const float scale = 1.0f / std::sqrt(float(hd));
    for (size_t j = 0; j < n_keys; ++j) {
        kv_load_row_ref(c.k + c.offset(j, kvh), c.k_scale ? c.k_scale[j * c.kv_heads + kvh] : 1.0f, hd, c.type, row);
        for (size_t h = 0; h < n_q; ++h) {
            const float* qh = q + h * hd;
            float dot = 0.0f;
            for (size_t i = 0; i < hd; ++i) dot += qh[i] * row[i];
            scratch[h * n_keys + j] = dot * scale;
        }
    }
    std::vector<float> inv(n_q);
    for (size_t h = 0; h < n_q; ++h) {
        float* scores = scratch + h * n_keys;
        float mx = -INFINITY;
        for (size_t j = 0; j < n_keys; ++j) mx = scores[j] > mx ? scores[j] : mx;
        double sum = 0.0;
        for (size_t j = 0; j < n_keys; ++j) {
            scores[j] = std::exp(scores[j] - mx);
            sum += scores[j];
        }
        inv[h] = float(1.0 / sum);
        for (size_t i = 0; i < hd; ++i) out[h * hd + i] = 0.0f;
    }
    for (size_t j = 0; j < n_keys; ++j) {
        kv_load_row_ref(c.v + c.offset(j, kvh), c.v_scale ? c.v_scale[j * c.kv_heads + kvh] : 1.0f, hd, c.type, row);
        for (size_t h = 0; h < n_q; ++h) {
            const float p = scratch[h * n_keys + j];
            float* o = out + h * hd;
            for (size_t i = 0; i < hd; ++i) o[i] += p * row[i];
        }
    }
    for (size_t h = 0; h < n_q; ++h)
        for (size_t i = 0; i < hd; ++i) out[h * hd + i] *= inv[h];
}

}  // namespace ttt
