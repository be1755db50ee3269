// The BitLlama configuration (DESIGN §2). Plain data; parsing lives in io/config_json.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ttt {

// Which block the layers are (an architecture field in the model; the TTT architecture is the default).
enum class Architecture : uint8_t {
    ttt,     // BitLlama: TTT core + SwiGLU MLP (DESIGN §2)
    llama,   // Llama: causal GQA attention with RoPE + SwiGLU MLP, float weights
    bitnet,  // BitNet b1.58: Llama with ternary projections, int8 activations, sub-norms and a squared-ReLU MLP
};
const char* architecture_name(Architecture a);

// The most ternary bases a projection may have (upstream's converter allowed 1..8).
constexpr int32_t kMaxTernaryBases = 8;

// The attention part of a config (llama, bitnet); unused by the TTT architecture.
struct AttentionConfig {
    int32_t num_heads = 0;            // H
    int32_t num_kv_heads = 0;         // Hk (H a multiple of Hk: grouped-query attention)
    int32_t head_dim = 0;             // hd (even)
    float rope_theta = 10000.0f;
    bool rope_llama3 = false;         // rope_scaling {rope_type: llama3}
    float rope_factor = 1.0f, rope_low_freq_factor = 1.0f, rope_high_freq_factor = 4.0f;
    int32_t rope_original_max_position = 8192;
    int32_t max_position = 2048;      // max_position_embeddings: the default KV cache length
    bool tie_embeddings = false;      // LM head = embedding table
    // Llama only: 0 = float projections; k in 1..8 = ternary projections, each W ≈ Σ_b s_b·Q_b over k bases
    // (absmean or multi-base ternarisation by the converter, upstream's adaptive files; docs/models.md).
    int32_t ternary_bases = 0;
    // Llama float projections held as bfloat16 (a bf16 checkpoint's values, exact: 2 bytes per weight) instead of
    // f32. Storage only: the values, the function and the fingerprint are the same.
    bool bf16_projections = false;
    // The token embedding (and so a tied LM head) held as bfloat16: a checkpoint whose embedding is bf16 keeps its
    // bits (exact, 2 bytes per weight) instead of widening them to f32. Storage only, like bf16_projections.
    bool bf16_embedding = false;
    // An untied LM head held as bfloat16 likewise (a checkpoint whose lm_head.weight is bf16).
    bool bf16_lm_head = false;
};

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
    // Delta kind: the TTT width d (config.json "ttt_dim"); 0 = hidden_dim/4, upstream's fixed width. A wider
    // memory holds more associations (docs/memory.md, "Capacity").
    int32_t ttt_width = 0;

    Architecture arch = Architecture::ttt;
    AttentionConfig attn;          // arch llama / bitnet

    int32_t ttt_dim() const { return ttt_width > 0 ? ttt_width : hidden_dim / 4; }  // d
    bool is_attention() const { return arch != Architecture::ttt; }
    bool is_delta() const { return ttt_kind == TttKind::delta; }
    // Ternary bases per attention projection: bitnet 1, llama its ternary_bases (0: float), ttt 0.
    int32_t projection_bases() const {
        return arch == Architecture::bitnet ? 1 : arch == Architecture::llama ? attn.ternary_bases : 0;
    }
    // Extra end-of-generation tokens besides eos_id (generation_config.json's eos_token_id list); not part of the
    // model's math, so not in its fingerprint.
    std::vector<int32_t> end_ids;
};

// Check ranges and relations; throws Error(TTT_ERR_FORMAT) naming the field. `what` names the source.
void validate_config(const ModelConfig& c, const std::string& what);

}  // namespace ttt
