#include "model/config.h"

#include <cmath>

#include "common/error.h"

namespace ttt {

void validate_attention_config(const ModelConfig& c, const std::string& what);

void validate_config(const ModelConfig& c, const std::string& what) {
    auto bad = [&](const char* field, const std::string& why) { fail_format(what + ": \"" + field + "\" " + why); };
    // Limits keep every size product far from overflow while allowing any real model.
    if (c.vocab_size <= 0 || c.vocab_size > (1 << 24)) bad("vocab_size", "must be in 1..16777216, is " + std::to_string(c.vocab_size));
    if (c.hidden_dim <= 0 || c.hidden_dim > 65536) bad("hidden_dim", "must be in 4..65536, is " + std::to_string(c.hidden_dim));
    if (c.arch == Architecture::ttt && c.hidden_dim % 4 != 0) bad("hidden_dim", "must be divisible by 4 (the TTT width is hidden_dim/4), is " + std::to_string(c.hidden_dim));
    if (c.num_layers <= 0 || c.num_layers > 1024) bad("num_layers", "must be in 1..1024, is " + std::to_string(c.num_layers));
    if (c.intermediate_dim <= 0 || c.intermediate_dim > 1 << 20) bad("intermediate_dim", "must be in 1..1048576, is " + std::to_string(c.intermediate_dim));
    if (!std::isfinite(c.inner_lr) || c.inner_lr < 0.0f || c.inner_lr > 100.0f) bad("inner_lr", "must be a number in [0, 100]");
    if (c.act_bits != 0 && c.act_bits != 8) bad("act_bits", "must be 0 (float) or 8 (int8), is " + std::to_string(c.act_bits));
    if (c.ttt_chunk <= 0 || c.ttt_chunk > 1 << 20) bad("ttt_chunk", "must be in 1..1048576, is " + std::to_string(c.ttt_chunk));
    if (!std::isfinite(c.norm_eps) || c.norm_eps <= 0.0f || c.norm_eps > 1.0f) bad("norm_eps", "must be in (0, 1]");
    if (c.bos_id < -1 || c.bos_id >= c.vocab_size) bad("bos_id", "must be -1 or a token id below vocab_size");
    if (c.ttt_kind != TttKind::upstream && c.ttt_kind != TttKind::delta) bad("ttt_kind", "must be \"upstream\" or \"delta\"");
    if (c.ttt_width < 0 || c.ttt_width > 65536) bad("ttt_dim", "must be in 1..65536, is " + std::to_string(c.ttt_width));
    if (c.ttt_kind == TttKind::upstream && c.ttt_width != 0 && c.ttt_width != c.hidden_dim / 4)
        bad("ttt_dim", "is hidden_dim/4 for upstream's layer; another width is only for \"ttt_kind\": \"delta\"");
    if (c.ttt_heads <= 0 || c.ttt_heads > c.ttt_dim() || c.ttt_dim() % c.ttt_heads != 0)
        bad("ttt_heads", "must divide the TTT width d = " + std::to_string(c.ttt_dim()) + ", is " + std::to_string(c.ttt_heads));
    if (c.ttt_kind == TttKind::upstream && c.ttt_heads != 1) bad("ttt_heads", "is only for \"ttt_kind\": \"delta\"");
    // The delta layer updates its state on every token (docs/memory.md says why); a chunk would change nothing.
    if (c.ttt_kind == TttKind::delta && c.ttt_chunk != 1) bad("ttt_chunk", "must be 1 for \"ttt_kind\": \"delta\" (it updates per token)");
    if (c.eos_id < -1 || c.eos_id >= c.vocab_size) bad("eos_id", "must be -1 or a token id below vocab_size");
    for (int32_t id : c.end_ids)
        if (id < 0 || id >= c.vocab_size) bad("eos_ids", "must hold token ids below vocab_size, holds " + std::to_string(id));
    if (c.is_attention()) validate_attention_config(c, what);
}

const char* architecture_name(Architecture a) {
    switch (a) {
        case Architecture::ttt: return "ttt";
        case Architecture::llama: return "llama";
        case Architecture::bitnet: return "bitnet";
    }
    return "?";
}

void validate_attention_config(const ModelConfig& c, const std::string& what) {
    auto bad = [&](const char* field, const std::string& why) { fail_format(what + ": \"" + field + "\" " + why); };
    const AttentionConfig& a = c.attn;
    if (a.num_heads <= 0 || a.num_heads > 4096) bad("num_attention_heads", "must be in 1..4096, is " + std::to_string(a.num_heads));
    if (a.num_kv_heads <= 0 || a.num_kv_heads > a.num_heads || a.num_heads % a.num_kv_heads != 0)
        bad("num_key_value_heads", "must divide num_attention_heads (" + std::to_string(a.num_heads) + "), is " + std::to_string(a.num_kv_heads));
    if (a.head_dim <= 0 || a.head_dim > 1024 || a.head_dim % 2 != 0) bad("head_dim", "must be even and in 2..1024, is " + std::to_string(a.head_dim));
    if (!std::isfinite(a.rope_theta) || a.rope_theta <= 1.0f) bad("rope_theta", "must be a number above 1");
    if (a.rope_llama3 && (!(a.rope_factor >= 1.0f) || !(a.rope_low_freq_factor > 0.0f) ||
                          !(a.rope_high_freq_factor > a.rope_low_freq_factor) || a.rope_original_max_position <= 0))
        bad("rope_scaling", "llama3 needs factor ≥ 1, 0 < low_freq_factor < high_freq_factor, original_max_position_embeddings > 0");
    if (a.ternary_bases < 0 || a.ternary_bases > kMaxTernaryBases || (a.ternary_bases != 0 && c.arch != Architecture::llama))
        bad("ternary_bases", "must be 0 (float) or 1.." + std::to_string(kMaxTernaryBases) + " for a llama model, is " + std::to_string(a.ternary_bases));
    if (a.max_position <= 0 || a.max_position > (1 << 24)) bad("max_position_embeddings", "must be in 1..16777216, is " + std::to_string(a.max_position));
}

}  // namespace ttt
