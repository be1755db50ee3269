#include "train/adamw.h"

#include <cmath>
#include <cstdio>
#include <string>

#include "backend/thread_pool.h"
#include "common/error.h"

namespace ttt {

void validate_adamw(const AdamWOptions& o) {
    auto bad = [](const std::string& field, double v, const std::string& range) {
        char b[32];
        std::snprintf(b, sizeof b, "%g", v);
        fail_argument("training option " + field + " must be a number in " + range + ", is " + b);
    };
    if (!std::isfinite(o.beta1) || o.beta1 < 0.0f || o.beta1 >= 1.0f) bad("beta1", o.beta1, "[0, 1)");
    if (!std::isfinite(o.beta2) || o.beta2 < 0.0f || o.beta2 >= 1.0f) bad("beta2", o.beta2, "[0, 1)");
    if (!std::isfinite(o.eps) || o.eps <= 0.0f || o.eps > 1.0f) bad("eps", o.eps, "(0, 1]");
    if (!std::isfinite(o.weight_decay) || o.weight_decay < 0.0f || o.weight_decay > 10.0f)
        bad("weight_decay", o.weight_decay, "[0, 10]");
}

AdamW::AdamW(const TrainParams& params, const AdamWOptions& options) : options_(options) {
    validate_adamw(options);
    const size_t n = params.values.size();
    m.assign(n, 0.0f);
    v.assign(n, 0.0f);
    decay_.assign(n, 0);
    for (const ParamTensor& t : params.tensors) {
        if (t.offset > n || t.size > n - t.offset)
            throw Error(TTT_ERR_INVALID_STATE, "AdamW: tensor '" + t.name + "' lies outside the parameter arena");
        if (t.weight_decay)
            for (size_t i = 0; i < t.size; ++i) decay_[t.offset + i] = 1;
    }
}

void AdamW::step(TrainParams& params, const float* grads, double lr, ThreadPool* pool) {
    const size_t n = params.values.size();
    if (m.size() != n || v.size() != n || decay_.size() != n)
        throw Error(TTT_ERR_INVALID_STATE, "AdamW: optimiser state has " + std::to_string(m.size()) +
                                               " values, the parameters " + std::to_string(n));
    ++t;
    const double b1 = options_.beta1, b2 = options_.beta2;
    const double bc1 = 1.0 - std::pow(b1, double(t));
    const double bc2 = 1.0 - std::pow(b2, double(t));
    const float step_size = static_cast<float>(lr / bc1);
    const float inv_sqrt_bc2 = static_cast<float>(1.0 / std::sqrt(bc2));
    const float decay = static_cast<float>(lr * double(options_.weight_decay));
    const float fb1 = options_.beta1, fb2 = options_.beta2, eps = options_.eps;
    float* theta = params.values.data();
    float* mp = m.data();
    float* vp = v.data();
    const uint8_t* dp = decay_.data();
    auto range = [&](size_t begin, size_t end) {
        for (size_t i = begin; i < end; ++i) {
            const float g = grads[i];
            const float mi = fb1 * mp[i] + (1.0f - fb1) * g;
            const float vi = fb2 * vp[i] + (1.0f - fb2) * (g * g);
            mp[i] = mi;
            vp[i] = vi;
            float th = theta[i];
            if (dp[i]) th -= decay * th;
            th -= step_size * (mi / (std::sqrt(vi) * inv_sqrt_bc2 + eps));
            theta[i] = th;
        }
    };
    if (pool && pool->size() > 1)
        pool->parallel_for(n, range, size_t(1) << 15);
    else
        range(0, n);
}

double grad_global_norm(const float* g, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; ++i) s += double(g[i]) * double(g[i]);
    return std::sqrt(s);
}

double clip_grad_global_norm(float* g, size_t n, double max_norm) {
    const double norm = grad_global_norm(g, n);
    if (!(max_norm > 0.0) || !std::isfinite(norm) || norm <= max_norm) return norm;
    const float scale = static_cast<float>(max_norm / (norm + 1e-6));
    for (size_t i = 0; i < n; ++i) g[i] *= scale;
    return norm;
}

}  // namespace ttt
