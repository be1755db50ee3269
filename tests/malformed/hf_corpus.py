"""The Hugging Face part of the malformed-input corpus (called by make_corpus.py): tiny LlamaForCausalLM and
BitNetForCausalLM checkpoint directories, each valid but for ONE thing (a missing shard, a bad index, a wrong shape,
an unsupported config, a bad packed weight, a bad tokenizer_config.json / generation_config.json ...), loaded as
directories (`"load": "hf_dir"`). tests/reference/strict_hf.py is the strict reader that proves each entry fails for
its stated reason; tests/test_malformed.cpp checks the library gives the same status and keyword.

Base Llama: V 11, D 8, 1 layer, 2 query heads / 1 KV head of 4, MLP 16, untied; projections F16, the rest F32.
Base BitNet: the same shape, tied, projections packed as transformers' BitLinear (U8 [ceil(out/4), in] + an F32
weight_scale of 1/s).
"""
from __future__ import annotations

import json

import numpy as np
import safetensors.numpy

V, D, H, HK, HD, I = 11, 8, 2, 1, 4, 16
Q, KV = H * HD, HK * HD

LLAMA_CONFIG = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": V, "hidden_size": D,
                "intermediate_size": I, "num_hidden_layers": 1, "num_attention_heads": H, "num_key_value_heads": HK,
                "head_dim": HD, "hidden_act": "silu", "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
                "max_position_embeddings": 32, "tie_word_embeddings": False, "bos_token_id": 1, "eos_token_id": 2}
BITNET_CONFIG = dict(LLAMA_CONFIG, architectures=["BitNetForCausalLM"], model_type="bitnet", hidden_act="relu2",
                     tie_word_embeddings=True, quantization_config={"quant_method": "bitnet", "linear_class": "bitlinear",
                                                                    "quantization_mode": "offline"})
TOKENIZER = {"version": "1.0", "model": {"type": "BPE", "vocab": {"<unk>": 0, "<s>": 1, "</s>": 2}, "merges": []}}
TOKENIZER_CONFIG = {"bos_token": "<s>", "eos_token": "</s>",
                    "chat_template": "{% for m in messages %}{{ m.role }}: {{ m.content }}</s>{% endfor %}"}
PROJ = (("self_attn.q_proj", Q, D), ("self_attn.k_proj", KV, D), ("self_attn.v_proj", KV, D),
        ("self_attn.o_proj", D, Q), ("mlp.gate_proj", I, D), ("mlp.up_proj", I, D), ("mlp.down_proj", D, I))
SHARD1, SHARD2 = "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"


def json_bytes(obj) -> bytes:
    return (json.dumps(obj, indent=2) + "\n").encode("utf-8")


def st_save(tensors: dict) -> bytes:
    return bytes(safetensors.numpy.save(tensors))


def llama_tensors() -> dict:
    rng = np.random.default_rng(16)
    p = "model.layers.0."
    t = {"model.embed_tokens.weight": rng.normal(0, 1, (V, D)).astype(np.float32),
         p + "input_layernorm.weight": (1 + 0.1 * rng.normal(0, 1, D)).astype(np.float32),
         p + "post_attention_layernorm.weight": (1 + 0.1 * rng.normal(0, 1, D)).astype(np.float32)}
    for name, rows, cols in PROJ:
        t[p + name + ".weight"] = rng.normal(0, 0.3, (rows, cols)).astype(np.float16)
    t["model.norm.weight"] = (1 + 0.1 * rng.normal(0, 1, D)).astype(np.float32)
    t["lm_head.weight"] = rng.normal(0, 0.3, (V, D)).astype(np.float32)
    return t


def pack_bitlinear(q: np.ndarray) -> np.ndarray:
    """transformers' pack_weights: ternary [rows, cols] -> U8 [ceil(rows/4), cols], row r in byte row r mod R at
    bits 2*(r div R), stored as value + 1."""
    rows, cols = q.shape
    R = (rows + 3) // 4
    out = np.zeros((R, cols), np.uint8)
    for r in range(rows):
        out[r % R] |= ((q[r] + 1).astype(np.uint8) << (2 * (r // R))).astype(np.uint8)
    return out


def bitnet_tensors() -> dict:
    rng = np.random.default_rng(58)
    p = "model.layers.0."
    t = {"model.embed_tokens.weight": rng.normal(0, 1, (V, D)).astype(np.float32),
         p + "input_layernorm.weight": (1 + 0.1 * rng.normal(0, 1, D)).astype(np.float32),
         p + "post_attention_layernorm.weight": (1 + 0.1 * rng.normal(0, 1, D)).astype(np.float32),
         p + "self_attn.attn_sub_norm.weight": (1 + 0.1 * rng.normal(0, 1, Q)).astype(np.float32),
         p + "mlp.ffn_sub_norm.weight": (1 + 0.1 * rng.normal(0, 1, I)).astype(np.float32)}
    for name, rows, cols in PROJ:
        t[p + name + ".weight"] = pack_bitlinear(rng.integers(-1, 2, (rows, cols)).astype(np.int8))
        t[p + name + ".weight_scale"] = np.array([1.0 / 0.05], np.float32)
    t["model.norm.weight"] = (1 + 0.1 * rng.normal(0, 1, D)).astype(np.float32)
    return t


LLAMA = llama_tensors()
BITNET = bitnet_tensors()


def sharded(tensors: dict):
    """(shard 1 bytes, shard 2 bytes, weight_map): the embedding and attention in shard 1, the rest in shard 2."""
    one = {k: v for k, v in tensors.items() if k.startswith("model.embed") or ".self_attn." in k}
    two = {k: v for k, v in tensors.items() if k not in one}
    weight_map = {k: SHARD1 for k in one} | {k: SHARD2 for k in two}
    return st_save(one), st_save(two), dict(sorted(weight_map.items()))


def index_bytes(weight_map, total=0) -> bytes:
    return json_bytes({"metadata": {"total_size": total}, "weight_map": weight_map})


def build_hf(c) -> None:
    """Adds the entries to the corpus `c` (make_corpus.Corpus): its files dict and its add()."""
    S, F, UNS = 0, 51, 14

    def hf_dir(name, status, keyword, why, config=None, tensors=None, files=None, extra=None, base="llama"):
        cfg = config if config is not None else (LLAMA_CONFIG if base == "llama" else BITNET_CONFIG)
        out = {"config.json": json_bytes(cfg) if isinstance(cfg, dict) else cfg,
               "tokenizer.json": json.dumps(TOKENIZER, separators=(",", ":")).encode() + b"\n",
               "tokenizer_config.json": json_bytes(TOKENIZER_CONFIG)}
        if files is None:
            out["model.safetensors"] = st_save(tensors if tensors is not None else (LLAMA if base == "llama" else BITNET))
        else:
            out.update(files)
        out.update(extra or {})
        for f, data in out.items():
            c.files[f"{name}/{f}"] = data
        c.add(name, name, "hf_dir", status, keyword, why)

    def llama_with(**changes):
        t = dict(LLAMA)
        for k, v in changes.items():
            k = k.replace("__", ".")
            if v is None:
                t.pop(k)
            else:
                t[k] = v
        return t

    one, two, wmap = sharded(LLAMA)
    shards = {SHARD1: one, SHARD2: two, "model.safetensors.index.json": index_bytes(wmap, len(one) + len(two))}

    # ---------------------------------------------------------------- baselines (must load)
    hf_dir("hf_valid_llama", S, None, "valid tiny LlamaForCausalLM (V 11, D 8, 1 layer, 2 / 1 heads of 4, MLP 16, "
           "untied; F16 projections) with tokenizer.json and a tokenizer_config.json chat template")
    hf_dir("hf_valid_llama_sharded", S, None, "the same weights in two shards with model.safetensors.index.json",
           files=shards)
    hf_dir("hf_valid_bitnet_packed", S, None, "valid tiny BitNetForCausalLM, tied, projections packed as transformers' "
           "BitLinear (U8 [ceil(out/4), in] + weight_scale)", base="bitnet")
    hf_dir("hf_valid_generation_config", S, None, "generation_config.json with a list of end tokens (as Llama 3.1 "
           "ships)", extra={"generation_config.json": json_bytes({"bos_token_id": 1, "eos_token_id": [2, 0]})})

    # ---------------------------------------------------------------- shards and the index
    hf_dir("hf_missing_shard", F, "is missing", "the index names model-00002-of-00002.safetensors, which is not in "
           "the directory", files={k: v for k, v in shards.items() if k != SHARD2})
    outside = dict(wmap, **{"model.norm.weight": "../" + SHARD2})
    hf_dir("hf_index_shard_outside_dir", F, "plain file name", "the index names a shard outside the directory "
           "(../model-00002-of-00002.safetensors)", files=dict(shards, **{"model.safetensors.index.json": index_bytes(outside)}))
    wrong = dict(wmap, **{"model.norm.weight": SHARD1})
    hf_dir("hf_index_wrong_shard", F, "does not hold", "the index lists model.norm.weight in shard 1; it is in shard 2",
           files=dict(shards, **{"model.safetensors.index.json": index_bytes(wrong)}))
    hf_dir("hf_index_not_json", F, "json", "model.safetensors.index.json is cut short (not JSON)",
           files=dict(shards, **{"model.safetensors.index.json": b'{"weight_map": {'}))
    hf_dir("hf_index_no_weight_map", F, "weight_map", "the index has no \"weight_map\"",
           files=dict(shards, **{"model.safetensors.index.json": json_bytes({"metadata": {"total_size": 0}})}))
    hf_dir("hf_index_weight_map_empty", F, "weight_map", "the index's \"weight_map\" is empty",
           files=dict(shards, **{"model.safetensors.index.json": index_bytes({})}))
    dup_two = st_save({**{k: v for k, v in LLAMA.items() if k.startswith("model.norm") or ".mlp." in k
                          or "lm_head" in k or "_layernorm" in k}, "model.embed_tokens.weight": LLAMA["model.embed_tokens.weight"]})
    hf_dir("hf_tensor_in_two_shards", F, "also in", "model.embed_tokens.weight is in both shards",
           files=dict(shards, **{SHARD2: dup_two}))
    hf_dir("hf_no_weights", F, "no model.safetensors", "config.json but neither model.safetensors nor an index",
           files={})

    # ---------------------------------------------------------------- tensors
    hf_dir("hf_missing_tensor", F, "model.layers.0.self_attn.k_proj.weight", "k_proj is missing",
           tensors=llama_with(model__layers__0__self_attn__k_proj__weight=None))
    hf_dir("hf_wrong_shape", F, "model.layers.0.mlp.up_proj.weight", "up_proj is stored transposed ([8, 16], the "
           "config needs [16, 8])", tensors=llama_with(
               model__layers__0__mlp__up_proj__weight=LLAMA["model.layers.0.mlp.up_proj.weight"].T.copy()))
    hf_dir("hf_config_disagrees_with_shapes", F, "model.layers.0.mlp.gate_proj.weight", "config intermediate_size 12, "
           "the MLP tensors are 16 wide (gate_proj is the first checked)", config=dict(LLAMA_CONFIG, intermediate_size=12))
    hf_dir("hf_weight_dtype_i32", F, "dtype", "o_proj is I32",
           tensors=llama_with(model__layers__0__self_attn__o_proj__weight=np.zeros((D, Q), np.int32)))
    nan = LLAMA["model.layers.0.self_attn.v_proj.weight"].copy()
    nan[1, 2] = np.nan
    hf_dir("hf_nan_weight", F, "nan", "v_proj holds a NaN", tensors=llama_with(model__layers__0__self_attn__v_proj__weight=nan))
    hf_dir("hf_untied_no_lm_head", F, "lm_head.weight", "tie_word_embeddings false and no lm_head.weight",
           tensors=llama_with(lm_head__weight=None))

    # ---------------------------------------------------------------- config.json
    hf_dir("hf_config_not_json", F, "json", "config.json is cut short (not JSON)", config=b'{"architectures": ["LlamaFor')
    hf_dir("hf_config_missing_hidden_size", F, "hidden_size", "config.json lacks hidden_size",
           config={k: v for k, v in LLAMA_CONFIG.items() if k != "hidden_size"})
    hf_dir("hf_config_heads_not_dividing", F, "num_key_value_heads", "2 query heads cannot share 3 KV heads",
           config=dict(LLAMA_CONFIG, num_key_value_heads=3))
    hf_dir("hf_arch_unsupported", UNS, "mistralforcausallm", "architectures [\"MistralForCausalLM\"]: another "
           "model class", config=dict(LLAMA_CONFIG, architectures=["MistralForCausalLM"]))
    hf_dir("hf_rope_yarn", UNS, "yarn", "yarn rope scaling (supported: default, llama3)",
           config=dict(LLAMA_CONFIG, rope_scaling={"rope_type": "yarn", "factor": 4.0}))
    hf_dir("hf_rope_llama3_no_factor", F, "factor", "llama3 rope scaling without its factor",
           config=dict(LLAMA_CONFIG, rope_scaling={"rope_type": "llama3", "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                                   "original_max_position_embeddings": 16}))
    hf_dir("hf_hidden_act_gelu", UNS, "hidden_act", "hidden_act gelu (Llama is silu)",
           config=dict(LLAMA_CONFIG, hidden_act="gelu"))
    hf_dir("hf_attention_bias", UNS, "attention_bias", "attention_bias true (biases change the math)",
           config=dict(LLAMA_CONFIG, attention_bias=True))

    # ---------------------------------------------------------------- BitNet packed weights
    bad = dict(BITNET)
    code3 = bad["model.layers.0.mlp.down_proj.weight"].copy()
    code3[0, 0] |= 3
    bad["model.layers.0.mlp.down_proj.weight"] = code3
    hf_dir("hf_bitnet_packed_code3", F, "invalid code 3", "a packed down_proj byte holds the code 3 (only 0, 1, 2 "
           "mean -1, 0, +1)", tensors=bad, base="bitnet")
    hf_dir("hf_bitnet_no_weight_scale", F, "weight_scale", "q_proj's weight_scale is missing",
           tensors={k: v for k, v in BITNET.items() if k != "model.layers.0.self_attn.q_proj.weight_scale"}, base="bitnet")
    hf_dir("hf_bitnet_packed_wrong_shape", F, "model.layers.0.mlp.gate_proj.weight", "packed gate_proj is U8 [16, 8] "
           "(unpacked rows); BitLinear packs it as [4, 8]",
           tensors=dict(BITNET, **{"model.layers.0.mlp.gate_proj.weight": np.ones((I, D), np.uint8)}), base="bitnet")
    hf_dir("hf_bitnet_zero_scale", F, "weight_scale", "k_proj's weight_scale is 0",
           tensors=dict(BITNET, **{"model.layers.0.self_attn.k_proj.weight_scale": np.zeros(1, np.float32)}), base="bitnet")

    # ---------------------------------------------------------------- tokenizer_config.json, generation_config.json
    bad_tc = {"tokenizer_config.json": json_bytes(dict(TOKENIZER_CONFIG, chat_template=12))}
    hf_dir("hf_tokcfg_template_number", F, "chat_template", "tokenizer_config.json's chat_template is a number",
           extra=bad_tc)
    hf_dir("hf_tokcfg_not_json", F, "tokenizer_config", "tokenizer_config.json is not JSON",
           extra={"tokenizer_config.json": b'{"chat_template": "{{ x }}"'})
    hf_dir("hf_generation_config_not_json", F, "generation_config", "generation_config.json is not JSON",
           extra={"generation_config.json": b"{eos_token_id: 2}"})
    hf_dir("hf_generation_config_eos_string", F, "eos_token_id", "generation_config.json's eos_token_id is a string",
           extra={"generation_config.json": json_bytes({"eos_token_id": "</s>"})})
