// Learning-rate schedule of the trainer: linear warm-up, then cosine decay to min_lr, exactly as upstream
// (upstream-spec §6.3, the same in all of upstream's trainer generations):
//
//   lr(step) = lr_max · step / warmup                                    if step < warmup
//            = min_lr + (lr_max − min_lr) · ½ · (1 + cos(π · p))         otherwise,
//              p = clamp((step − warmup) / (total − warmup), 0, 1)
//
// `step` counts completed optimiser updates (0 for the first update), so the first update of a run with warm-up
// uses lr 0, as upstream's does. When total ≤ warmup the cosine part has no length: p is taken as 1 (lr = min_lr
// once warm-up is over). Steps past `total` stay at min_lr.
#pragma once

#include <cstdint>

namespace ttt {

struct LrSchedule {
    double lr_max = 3e-4;
    double min_lr = 1e-5;
    int64_t warmup_steps = 100;
    int64_t total_steps = 1000;

    double at(int64_t step) const;
};

// Throws Error(TTT_ERR_INVALID_ARGUMENT) naming the field for NaN/negative rates, negative step counts, or
// min_lr > lr_max.
void validate_schedule(const LrSchedule& s);

}  // namespace ttt
