#include "model/ternarise.h"

#include <algorithm>
#include <cmath>
#include <functional>

#include "common/error.h"
#include "cpu/ternary_ref.h"
#include "model/config.h"

namespace ttt {

namespace {

TernaryMatrix pack(const std::vector<int8_t>& q, int32_t rows, int32_t cols, float scale) {
    TernaryMatrix m;
    m.rows = rows;
    m.cols = cols;
    m.scale = scale;
    m.packed.resize(size_t(rows) * ternary_row_bytes(size_t(cols)));
    pack_ternary_ref(q.data(), size_t(rows), size_t(cols), m.packed.data());
    return m;
}

int8_t clamp_ternary(float r) { return int8_t(r > 1.0f ? 1 : r < -1.0f ? -1 : r); }

// The best single ternary approximation of r (see the header): writes q, returns s (1 with q = 0 when r is all
// zero, so the base is valid and adds nothing).
float fit_least_squares(const std::vector<float>& r, std::vector<int8_t>& q) {
    std::vector<float> mag(r.size());
    for (size_t i = 0; i < r.size(); ++i) mag[i] = std::fabs(r[i]);
    std::sort(mag.begin(), mag.end(), std::greater<float>());
    double prefix = 0.0, best_gain = 0.0;
    float threshold = 0.0f;
    for (size_t n = 1; n <= mag.size() && mag[n - 1] > 0.0f; ++n) {
        prefix += double(mag[n - 1]);
        const double gain = prefix * prefix / double(n);
        if (gain > best_gain) best_gain = gain, threshold = mag[n - 1];
    }
    std::fill(q.begin(), q.end(), int8_t(0));
    if (!(threshold > 0.0f)) return 1.0f;
    // Every |r| at or above the threshold (ties with it included, so the choice depends on values only).
    double sum = 0.0;
    size_t n = 0;
    for (size_t i = 0; i < r.size(); ++i)
        if (std::fabs(r[i]) >= threshold) {
            q[i] = r[i] > 0.0f ? 1 : -1;
            sum += std::fabs(double(r[i]));
            ++n;
        }
    return float(sum / double(n));
}

// Upstream's rule (upstream-spec §2.4): s = mean|r| (1 below 1e-9), q = clamp(round_half_even(r/s), ±1).
float fit_upstream(const std::vector<float>& r, std::vector<int8_t>& q) {
    double sum = 0.0;
    for (float x : r) sum += std::fabs(double(x));
    float s = float(sum / double(r.size()));
    if (s < 1e-9f) s = 1.0f;
    for (size_t i = 0; i < r.size(); ++i) q[i] = clamp_ternary(std::nearbyint(r[i] / s));
    return s;
}

}  // namespace

TernaryMatrix ternarise_absmean(const float* w, int32_t rows, int32_t cols) {
    const size_t n = size_t(rows) * size_t(cols);
    double sum = 0.0;
    for (size_t i = 0; i < n; ++i) sum += std::fabs(double(w[i]));
    const float mean = std::max(float(sum / double(n)), 1e-5f);
    const float inv = 1.0f / mean;
    std::vector<int8_t> q(n);
    for (size_t i = 0; i < n; ++i) q[i] = clamp_ternary(std::nearbyint(w[i] * inv));  // default mode: half to even
    return pack(q, rows, cols, 1.0f / inv);
}

std::vector<TernaryMatrix> ternarise_multibase(const float* w, int32_t rows, int32_t cols, int32_t bases, MultiBaseFit fit) {
    if (bases < 1 || bases > kMaxTernaryBases)
        fail_argument("ternary bases must be 1.." + std::to_string(kMaxTernaryBases) + ", is " + std::to_string(bases));
    const size_t n = size_t(rows) * size_t(cols);
    std::vector<float> r(w, w + n);
    std::vector<int8_t> q(n);
    std::vector<TernaryMatrix> out;
    for (int32_t b = 0; b < bases; ++b) {
        const float s = fit == MultiBaseFit::least_squares ? fit_least_squares(r, q) : fit_upstream(r, q);
        for (size_t i = 0; i < n; ++i) r[i] -= s * float(q[i]);
        out.push_back(pack(q, rows, cols, s));
    }
    return out;
}

std::vector<float> reconstruct_ternary(const std::vector<TernaryMatrix>& bases) {
    if (bases.empty()) return {};
    const size_t rows = size_t(bases[0].rows), cols = size_t(bases[0].cols);
    std::vector<float> w(rows * cols, 0.0f);
    std::vector<int8_t> q(rows * cols);
    for (const TernaryMatrix& m : bases) {
        unpack_ternary_ref(m.data(), rows, cols, q.data());
        for (size_t i = 0; i < w.size(); ++i) w[i] += m.scale * float(q[i]);
    }
    return w;
}

}  // namespace ttt
