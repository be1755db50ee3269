// A tiny random Hugging Face LlamaForCausalLM directory with a real tokenizer (tests/data/tokenizer/
// ttt_bytelevel.json, 1000 tokens, <|endoftext|> special) and a tokenizer_config.json whose chat template ends each
// turn with <|endoftext|> (the model's EOS): an attention model that reads and writes text, for tests of learning,
// sleep, souls and chat on attention models.
#pragma once

#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "io/safetensors.h"
#include "test_util.h"

namespace ttt_test {

constexpr const char* kTinyChatTemplate =
    "{% for m in messages %}<|{{ m.role }}|>\\n{{ m.content }}<|endoftext|>\\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\\n{% endif %}";

inline std::string write_text_attention_model(const std::filesystem::path& dir, int32_t max_position = 256) {
    std::filesystem::create_directories(dir);
    const int64_t V = 1000, D = 16, L = 2, H = 2, Hk = 1, hd = 8, I = 32;
    std::mt19937 rng(4);
    std::normal_distribution<float> n(0.0f, 0.5f);
    auto rnd = [&](int64_t count, float mean = 0.0f) {
        std::vector<float> v(static_cast<size_t>(count));
        for (float& x : v) x = mean + n(rng);
        return v;
    };
    ttt::SafetensorsWriter w;
    w.add_f32("model.embed_tokens.weight", {V, D}, rnd(V * D));
    for (int64_t l = 0; l < L; ++l) {
        const std::string p = "model.layers." + std::to_string(l) + ".";
        w.add_f32(p + "input_layernorm.weight", {D}, rnd(D, 1.0f));
        w.add_f32(p + "self_attn.q_proj.weight", {H * hd, D}, rnd(H * hd * D));
        w.add_f32(p + "self_attn.k_proj.weight", {Hk * hd, D}, rnd(Hk * hd * D));
        w.add_f32(p + "self_attn.v_proj.weight", {Hk * hd, D}, rnd(Hk * hd * D));
        w.add_f32(p + "self_attn.o_proj.weight", {D, H * hd}, rnd(D * H * hd));
        w.add_f32(p + "post_attention_layernorm.weight", {D}, rnd(D, 1.0f));
        w.add_f32(p + "mlp.gate_proj.weight", {I, D}, rnd(I * D));
        w.add_f32(p + "mlp.up_proj.weight", {I, D}, rnd(I * D));
        w.add_f32(p + "mlp.down_proj.weight", {D, I}, rnd(D * I));
    }
    w.add_f32("model.norm.weight", {D}, rnd(D, 1.0f));
    write_bytes(dir / "model.safetensors", w.finish());
    const std::string config = R"({"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 16,
        "intermediate_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "num_key_value_heads": 1,
        "head_dim": 8, "hidden_act": "silu", "rms_norm_eps": 1e-05, "rope_theta": 10000.0, "vocab_size": 1000,
        "max_position_embeddings": )" + std::to_string(max_position) +
                               R"(, "tie_word_embeddings": true, "bos_token_id": 0, "eos_token_id": 0})";
    write_bytes(dir / "config.json", std::vector<uint8_t>(config.begin(), config.end()));
    const std::string tcfg = std::string(R"({"bos_token": null, "eos_token": "<|endoftext|>", "chat_template": ")") +
                             kTinyChatTemplate + "\"}";
    write_bytes(dir / "tokenizer_config.json", std::vector<uint8_t>(tcfg.begin(), tcfg.end()));
    std::filesystem::copy_file(test_data_dir() / "tokenizer" / "ttt_bytelevel.json", dir / "tokenizer.json",
                               std::filesystem::copy_options::overwrite_existing);
    return dir.string();
}

}  // namespace ttt_test
