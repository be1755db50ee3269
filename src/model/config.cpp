#include "model/config.h"

#include <cmath>

#include "common/error.h"

namespace ttt {

void validate_config(const ModelConfig& c, const std::string& what) {
    auto bad = [&](const char* field, const std::string& why) { fail_format(what + ": \"" + field + "\" " + why); };
    // Limits keep every size product far from overflow while allowing any real model.
    if (c.vocab_size <= 0 || c.vocab_size > (1 << 24)) bad("vocab_size", "must be in 1..16777216, is " + std::to_string(c.vocab_size));
    if (c.hidden_dim <= 0 || c.hidden_dim > 65536) bad("hidden_dim", "must be in 4..65536, is " + std::to_string(c.hidden_dim));
    if (c.hidden_dim % 4 != 0) bad("hidden_dim", "must be divisible by 4 (the TTT width is hidden_dim/4), is " + std::to_string(c.hidden_dim));
    if (c.num_layers <= 0 || c.num_layers > 1024) bad("num_layers", "must be in 1..1024, is " + std::to_string(c.num_layers));
    if (c.intermediate_dim <= 0 || c.intermediate_dim > 1 << 20) bad("intermediate_dim", "must be in 1..1048576, is " + std::to_string(c.intermediate_dim));
    if (!std::isfinite(c.inner_lr) || c.inner_lr < 0.0f || c.inner_lr > 100.0f) bad("inner_lr", "must be a number in [0, 100]");
    if (c.act_bits != 0 && c.act_bits != 8) bad("act_bits", "must be 0 (float) or 8 (int8), is " + std::to_string(c.act_bits));
    if (c.ttt_chunk <= 0 || c.ttt_chunk > 1 << 20) bad("ttt_chunk", "must be in 1..1048576, is " + std::to_string(c.ttt_chunk));
    if (!std::isfinite(c.norm_eps) || c.norm_eps <= 0.0f || c.norm_eps > 1.0f) bad("norm_eps", "must be in (0, 1]");
    if (c.bos_id < -1 || c.bos_id >= c.vocab_size) bad("bos_id", "must be -1 or a token id below vocab_size");
    if (c.ttt_kind != TttKind::upstream && c.ttt_kind != TttKind::delta) bad("ttt_kind", "must be \"upstream\" or \"delta\"");
    if (c.ttt_heads <= 0 || c.ttt_heads > c.ttt_dim() || c.ttt_dim() % c.ttt_heads != 0)
        bad("ttt_heads", "must divide the TTT width hidden_dim/4 = " + std::to_string(c.ttt_dim()) + ", is " + std::to_string(c.ttt_heads));
    if (c.ttt_kind == TttKind::upstream && c.ttt_heads != 1) bad("ttt_heads", "is only for \"ttt_kind\": \"delta\"");
    // The delta layer updates its state on every token (docs/memory.md says why); a chunk would change nothing.
    if (c.ttt_kind == TttKind::delta && c.ttt_chunk != 1) bad("ttt_chunk", "must be 1 for \"ttt_kind\": \"delta\" (it updates per token)");
    if (c.eos_id < -1 || c.eos_id >= c.vocab_size) bad("eos_id", "must be -1 or a token id below vocab_size");
}

}  // namespace ttt
