#include "train/schedule.h"

#include <cmath>
#include <cstdio>
#include <string>

#include "common/error.h"

namespace ttt {

double LrSchedule::at(int64_t step) const {
    if (step < 0) step = 0;
    if (step < warmup_steps) return lr_max * double(step) / double(warmup_steps);
    double p = 1.0;
    if (total_steps > warmup_steps) {
        p = double(step - warmup_steps) / double(total_steps - warmup_steps);
        p = p < 0.0 ? 0.0 : (p > 1.0 ? 1.0 : p);
    }
    const double pi = 3.14159265358979323846;
    return min_lr + (lr_max - min_lr) * 0.5 * (1.0 + std::cos(pi * p));
}

void validate_schedule(const LrSchedule& s) {
    auto bad = [](const std::string& field, const std::string& why) { fail_argument("training option " + field + " " + why); };
    auto num = [](double v) {
        char b[32];
        std::snprintf(b, sizeof b, "%g", v);
        return std::string(b);
    };
    if (!std::isfinite(s.lr_max) || s.lr_max <= 0.0 || s.lr_max > 10.0) bad("lr", "must be a number in (0, 10], is " + num(s.lr_max));
    if (!std::isfinite(s.min_lr) || s.min_lr < 0.0) bad("min_lr", "must be a number >= 0, is " + num(s.min_lr));
    if (s.min_lr > s.lr_max) bad("min_lr", "(" + num(s.min_lr) + ") must not exceed lr (" + num(s.lr_max) + ")");
    if (s.warmup_steps < 0) bad("warmup_steps", "must be >= 0, is " + std::to_string(s.warmup_steps));
    if (s.total_steps <= 0) bad("steps", "must be >= 1, is " + std::to_string(s.total_steps));
}

}  // namespace ttt
