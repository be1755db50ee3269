"""Writes a tiny random Hugging Face LlamaForCausalLM directory with a real tokenizer (tests/data/tokenizer/
ttt_bytelevel.json, 1000 tokens, <|endoftext|> special) and a tokenizer_config.json whose chat template ends each
turn with <|endoftext|> (the model's EOS): an attention model with a chat template for the studio's tests (the same
model as tests/attention_fixture.h, other random weights). Pure Python: no numpy or torch needed."""
import array
import json
import os
import random
import shutil
import struct

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

CHAT_TEMPLATE = ("{% for m in messages %}<|{{ m.role }}|>\n{{ m.content }}<|endoftext|>\n{% endfor %}"
                 "{% if add_generation_prompt %}<|assistant|>\n{% endif %}")


def render(messages, add_generation_prompt=True):
    """CHAT_TEMPLATE rendered in Python, to check what the studio feeds the model."""
    text = "".join(f"<|{role}|>\n{content}<|endoftext|>\n" for role, content in messages)
    return text + ("<|assistant|>\n" if add_generation_prompt else "")


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, (shape, values) in tensors.items():
        data = array.array("f", values).tobytes()
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def write_tiny_chat_model(directory, max_position=512):
    os.makedirs(directory, exist_ok=True)
    V, D, L, H, Hk, hd, I = 1000, 16, 2, 2, 1, 8, 32
    rng = random.Random(4)

    def rnd(shape, mean=0.0):
        n = 1
        for s in shape:
            n *= s
        return shape, [mean + rng.gauss(0.0, 0.5) for _ in range(n)]

    t = {"model.embed_tokens.weight": rnd([V, D]), "model.norm.weight": rnd([D], 1.0)}
    for l in range(L):
        p = f"model.layers.{l}."
        t[p + "input_layernorm.weight"] = rnd([D], 1.0)
        t[p + "self_attn.q_proj.weight"] = rnd([H * hd, D])
        t[p + "self_attn.k_proj.weight"] = rnd([Hk * hd, D])
        t[p + "self_attn.v_proj.weight"] = rnd([Hk * hd, D])
        t[p + "self_attn.o_proj.weight"] = rnd([D, H * hd])
        t[p + "post_attention_layernorm.weight"] = rnd([D], 1.0)
        t[p + "mlp.gate_proj.weight"] = rnd([I, D])
        t[p + "mlp.up_proj.weight"] = rnd([I, D])
        t[p + "mlp.down_proj.weight"] = rnd([D, I])
    write_safetensors(os.path.join(directory, "model.safetensors"), t)
    config = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": D,
              "intermediate_size": I, "num_hidden_layers": L, "num_attention_heads": H, "num_key_value_heads": Hk,
              "head_dim": hd, "hidden_act": "silu", "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "vocab_size": V,
              "max_position_embeddings": max_position, "tie_word_embeddings": True, "bos_token_id": 0,
              "eos_token_id": 0}
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump(config, f)
    with open(os.path.join(directory, "tokenizer_config.json"), "w") as f:
        json.dump({"bos_token": None, "eos_token": "<|endoftext|>", "chat_template": CHAT_TEMPLATE}, f)
    shutil.copy(os.path.join(REPO, "tests", "data", "tokenizer", "ttt_bytelevel.json"),
                os.path.join(directory, "tokenizer.json"))
    return directory
