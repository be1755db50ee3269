// AdamW (Loshchilov & Hutter, decoupled weight decay) over the TrainParams arena, and global-norm gradient
// clipping.
//
// One update with gradient g at step t (t counts updates, starting at 1), per element:
//   m ← β1·m + (1 − β1)·g
//   v ← β2·v + (1 − β2)·g²
//   θ ← θ − lr·wd·θ                                   only where ParamTensor::weight_decay (BitLinear latents, LM head)
//   θ ← θ − (lr / (1 − β1^t)) · m / (√v / √(1 − β2^t) + eps)
// which is PyTorch's torch.optim.AdamW (decay applied to the pre-update θ; the Adam term does not depend on θ, so
// the order of the two lines does not matter). The bias corrections are computed in double once per step, the
// per-element arithmetic in float, in arena order: the result does not depend on the thread count.
//
// Defaults: β1 0.9, β2 0.95, eps 1e-8, wd 0.01. β2 = 0.95 rather than upstream's candle default 0.999: with small
// batches and ternary (STE) latents the second moment must follow the gradient scale quickly, and 0.95 is what
// current LLM recipes (GPT-3, LLaMA, llm.c) use; it makes loss spikes after warm-up rarer. Both are options.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "train/train_model.h"

namespace ttt {

struct AdamWOptions {
    float beta1 = 0.9f;
    float beta2 = 0.95f;
    float eps = 1e-8f;
    float weight_decay = 0.01f;
};

// Throws Error(TTT_ERR_INVALID_ARGUMENT) naming the field for values outside their ranges.
void validate_adamw(const AdamWOptions& o);

class AdamW {
public:
    AdamW() = default;
    // State for `params` (m, v zero, t = 0).
    AdamW(const TrainParams& params, const AdamWOptions& options);

    // One update of params.values with grads (params.values.size() floats) at learning rate lr. With a pool the
    // elements are split over its threads (element-wise, so the result is the same for any thread count).
    void step(TrainParams& params, const float* grads, double lr, ThreadPool* pool = nullptr);

    const AdamWOptions& options() const { return options_; }
    int64_t t = 0;              // updates done
    std::vector<float> m, v;    // first and second moments, same layout as TrainParams::values

private:
    AdamWOptions options_;
    std::vector<uint8_t> decay_;  // per element: 1 where the tensor is decayed (built from ParamTensor flags)
};

// √(Σ g²) over n values, summed in double in index order (deterministic).
double grad_global_norm(const float* g, size_t n);

// Scale g so that its global norm is at most max_norm (no-op when max_norm <= 0 or the norm is already within).
// Returns the norm before clipping. A non-finite norm leaves g unchanged and is returned as is.
double clip_grad_global_norm(float* g, size_t n, double max_norm);

}  // namespace ttt
