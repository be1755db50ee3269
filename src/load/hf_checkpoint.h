// Hugging Face checkpoints of attention models: a directory with config.json and model.safetensors, or shards
// listed by model.safetensors.index.json, for LlamaForCausalLM (float weights kept float) and BitNetForCausalLM
// (bf16 master weights ternarised with absmean at load, or the packed 2-bit forms with their weight_scale, as
// published). tokenizer.json and tokenizer_config.json are read when present.
//
// Nothing is trusted: the config's fields, the index (shard names stay inside the directory, every tensor it lists
// is in its shard), every tensor's presence, dtype and shape are checked with a message that names the file and
// the tensor.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "load/model_files.h"
#include "model/attention_weights.h"
#include "model/weights.h"

namespace ttt {

// How a BitNetForCausalLM checkpoint stores its projections (quantization_config; transformers'
// integrations/bitnet.py):
enum class BitNetWeights {
    master,         // float master weights, ternarised here (no quantization_config, or autobitlinear online)
    bitlinear,      // BitLinear (the default class): U8 packed [ceil(out/4), in] + weight_scale = 1/s (y = Q·x / ws)
    autobitlinear,  // AutoBitLinear offline: U8 packed, or ternary values as floats, + weight_scale = s (y = Q·x · ws)
};

struct HfCheckpoint {
    ModelWeights weights;
    std::string tokenizer_json;         // empty when absent
    std::string tokenizer_config_json;  // empty when absent
    std::string architecture;           // "LlamaForCausalLM", "BitNetForCausalLM"
    BitNetWeights bitnet_weights = BitNetWeights::master;  // (Llama: master)
};

// Whether `dir` holds a Hugging Face config.json of a causal LM (an "architectures" list naming a *ForCausalLM
// class, and none of bit_ttt's own TTT fields): such a directory is loaded by load_model_hf.
bool is_hf_checkpoint_dir(const std::string& dir);

// The model config from a Hugging Face config.json text. `what` names the file in errors.
ModelConfig parse_hf_config(const std::string& json_text, const std::string& what, std::string* architecture,
                            BitNetWeights* bitnet_weights);

// Ternarising a float LlamaForCausalLM's projections (bit-ttt convert --ternary; model/ternarise.h): none keeps
// them float; absmean gives one base (BitNet b1.58's rule); multibase `bases` least-squares bases.
struct Ternarise {
    enum class Method { none, absmean, multibase } method = Method::none;
    int32_t bases = 3;  // multibase only, 1..kMaxTernaryBases
};

// How a float Llama's projections are held: as stored (bf16 when every projection of the checkpoint is bf16 —
// exact, 2 bytes per weight — else f32), or bf16 whatever the file holds (f32 / f16 rounded to nearest even: a
// slightly different model, half the memory; bit-ttt convert --bf16).
enum class FloatProjections { as_stored, bf16 };

// A checkpoint opened (config parsed, files mapped, the index checked) whose tensors are converted on demand, one
// at a time: the loader takes them all, the streaming converter one layer at a time.
class HfReader {
public:
    // A Ternarise other than none applies to Llama checkpoints only (else Error TTT_ERR_INVALID_ARGUMENT); the
    // config then says ternary_bases and the projections come ternary.
    explicit HfReader(const std::string& dir, const Ternarise& ternarise = {},
                      FloatProjections floats = FloatProjections::as_stored);
    ~HfReader();
    HfReader(const HfReader&) = delete;
    HfReader& operator=(const HfReader&) = delete;

    const ModelConfig& config() const;
    const std::string& architecture() const;
    BitNetWeights bitnet_weights() const;
    std::vector<float> embed() const;
    // The embedding's bf16 bits (config().attn.bf16_embedding): a copy, or with `in_place` a view into the mapped
    // checkpoint where it is aligned, valid while this reader lives (the converter writes it from there).
    Bf16Tensor embed_bf16(bool in_place = false) const;
    // The same for an untied bf16 LM head (config().attn.bf16_lm_head).
    Bf16Tensor lm_head_bf16(bool in_place = false) const;
    std::vector<float> norm_f() const;
    std::vector<float> lm_head() const;  // empty when tied to the embedding
    AttentionLayerWeights layer(int32_t l) const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// `ternarise`: as the converter does (the whole model in memory; tests, measurements).
HfCheckpoint load_hf_checkpoint(const std::string& dir, const Ternarise& ternarise = {},
                                FloatProjections floats = FloatProjections::as_stored);

// The checkpoint as a loaded model (the model-loading path of ttt_model_load on a directory).
LoadedModel load_model_hf(const std::string& dir);

}  // namespace ttt
