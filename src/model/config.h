// The BitLlama configuration (DESIGN §2). Plain data; parsing lives in io/config_json.
#pragma once

#include <cstdint>
#include <string>

namespace ttt {

// Which TTT layer a model's blocks use (config.json "ttt_kind"; absent = upstream).
enum class TttKind : int32_t {
    upstream = 0,  // DESIGN §2: key = value = query = f̂, chunked updates, no gates
    delta = 1,     // docs/memory.md: separate key/value/query, token mixing, learned η_t and decay α_t, delta rule
};

struct ModelConfig {
    int32_t vocab_size = 0;        // V
    int32_t hidden_dim = 0;        // D (multiple of 4)
    int32_t num_layers = 0;        // L
    int32_t intermediate_dim = 0;  // I, MLP width (absent from a config file: 4·D)
    float inner_lr = 0.0f;         // η, TTT inner learning rate
    bool bitlinear_scale = false;  // false: y = x·Qᵀ (upstream trained this way); true: y = s·x·Qᵀ (BitNet b1.58)
    int32_t act_bits = 0;          // 0: float activations; 8: per-token absmax int8 fake quantisation
    int32_t ttt_chunk = 1;         // tokens per TTT state update; 1 = upstream's sequential inference
    float norm_eps = 1e-5f;        // RMSNorm epsilon (inside the sqrt)
    int32_t bos_id = -1;           // -1: none / take from the tokenizer
    int32_t eos_id = -1;
    TttKind ttt_kind = TttKind::upstream;
    int32_t ttt_heads = 1;         // delta kind: fast-weight heads (d divisible by it); upstream: 1

    int32_t ttt_dim() const { return hidden_dim / 4; }  // d
    bool is_delta() const { return ttt_kind == TttKind::delta; }
};

// Check ranges and relations; throws Error(TTT_ERR_FORMAT) naming the field. `what` names the source.
void validate_config(const ModelConfig& c, const std::string& what);

}  // namespace ttt
