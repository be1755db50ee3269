#!/usr/bin/env python3
"""Writes tiny random Hugging Face checkpoints with golden logits into tests/data/hf/<case>/ (deterministic).

Each case directory holds what `save_pretrained` writes for a LlamaForCausalLM or BitNetForCausalLM (config.json and
model.safetensors, or shards with model.safetensors.index.json) plus golden.safetensors:
  tokens          int32 [T]     random token ids
  prefill_logits  f32 [T, V]    one forward over the T tokens (transformers, float32)
  decode_logits   f32 [T, V]    the same tokens fed one at a time through transformers' KV cache
The metadata records the transformers and torch versions.

BitNet cases: transformers' BitNetForCausalLM computes with whatever nn.Linear it is given; the published 2B4T runs
its linears as BitNet b1.58 layers (absmean ternary weights with their scale, per-token absmax int8 activations).
We reproduce that by swapping every projection (not the LM head) for transformers' own AutoBitLinear in online
quantisation mode (transformers.integrations.bitnet), which is what the checkpoint's quantization_config selects.
The bf16 master weights are nudged so that no |W|/s lies within 2e-3 of the 0.5 rounding boundary, so a float32
implementation cannot flip a ternary value (activation roundings can still flip: see the test's tolerance).

Needs torch, transformers and accelerate (transformers loads packed BitNet checkpoints only with it; none is needed by the test command, which reads the committed files).
Usage: python3 tests/reference/make_hf_golden.py [--out DIR]
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import shutil

# transformers' BitNet quantisers are decorated with torch.compile; eager mode gives the same math without a compiler.
os.environ.setdefault("TORCHDYNAMO_DISABLE", "1")

import torch  # noqa: E402
import transformers
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.normpath(os.path.join(HERE, "..", "data", "hf"))
T = 12

# name, class, config overrides, saved dtype, shard size (None: one file)
CASES = [
    ("llama_gqa2_untied", "llama",
     dict(vocab_size=61, hidden_size=32, intermediate_size=48, num_hidden_layers=2, num_attention_heads=4,
          num_key_value_heads=2, head_dim=8, tie_word_embeddings=False, rope_theta=10000.0), torch.float32, None),
    ("llama_odd_heads_tied_llama3", "llama",
     dict(vocab_size=53, hidden_size=24, intermediate_size=40, num_hidden_layers=2, num_attention_heads=3,
          num_key_value_heads=1, head_dim=12, tie_word_embeddings=True, rope_theta=500000.0,
          rope_scaling=dict(rope_type="llama3", factor=8.0, low_freq_factor=1.0, high_freq_factor=4.0,
                            original_max_position_embeddings=16)),
     torch.bfloat16, "20KB"),
    ("llama_headdim_mha", "llama",
     dict(vocab_size=47, hidden_size=16, intermediate_size=24, num_hidden_layers=3, num_attention_heads=2,
          num_key_value_heads=2, head_dim=12, tie_word_embeddings=False, rope_theta=10000.0), torch.bfloat16, None),
    ("bitnet_gqa_tied", "bitnet",
     dict(vocab_size=59, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
          num_key_value_heads=1, tie_word_embeddings=True, rope_theta=500000.0), torch.bfloat16, None),
    ("bitnet_mha_untied", "bitnet",
     dict(vocab_size=43, hidden_size=24, intermediate_size=40, num_hidden_layers=2, num_attention_heads=3,
          num_key_value_heads=3, tie_word_embeddings=False, rope_theta=10000.0), torch.bfloat16, "16KB"),
]

LINEARS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


def nudge_ternary(w: torch.Tensor, margin: float = 2e-3) -> torch.Tensor:
    """Moves weights whose |W|/s is within `margin` of 0.5 away from it (s = mean|W|), in bf16, a few rounds."""
    w = w.float()
    for _ in range(4):
        s = w.abs().mean().clamp(min=1e-5)
        r = w.abs() / s
        near = (r - 0.5).abs() < margin
        if not near.any():
            break
        target = torch.where(r < 0.5, 0.5 - 4 * margin, 0.5 + 4 * margin) * s * w.sign()
        w = torch.where(near, target, w).to(torch.bfloat16).float()
    return w


def make_model(kind: str, overrides: dict, dtype: torch.dtype, seed: int):
    torch.manual_seed(seed)
    if kind == "llama":
        config = transformers.LlamaConfig(max_position_embeddings=64, rms_norm_eps=1e-5, bos_token_id=1,
                                          eos_token_id=2, **overrides)
        model = transformers.LlamaForCausalLM(config)
    else:
        config = transformers.BitNetConfig(max_position_embeddings=64, rms_norm_eps=1e-5, bos_token_id=1,
                                           eos_token_id=2, **overrides)
        model = transformers.BitNetForCausalLM(config)
    model.eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            # Random values well away from zero for norms (gains around 1), wider than the default init for the
            # rest so the logits are not all near zero.
            if name.endswith("norm.weight") or "layernorm" in name or "sub_norm" in name:
                p.copy_(1.0 + 0.2 * torch.randn_like(p))
            else:
                p.copy_(0.15 * torch.randn_like(p))
            if kind == "bitnet" and any(n in name for n in LINEARS):
                p.copy_(nudge_ternary(p))
            # The values the file will hold (bf16 cases compute with the bf16-rounded weights).
            p.copy_(p.to(dtype).float())
    return model


def quantise_bitnet_linears(model):
    """Swaps every projection for transformers' AutoBitLinear with online quantisation (the LM head stays float)."""
    from transformers.integrations.bitnet import AutoBitLinear

    for layer in model.model.layers:
        for parent in (layer.self_attn, layer.mlp):
            for name in LINEARS:
                lin = getattr(parent, name, None)
                if lin is None:
                    continue
                q = AutoBitLinear(lin.in_features, lin.out_features, bias=False, online_quant=True)
                with torch.no_grad():
                    q.weight.copy_(lin.weight)
                setattr(parent, name, q)


def golden_logits(model, tokens: torch.Tensor):
    with torch.no_grad():
        prefill = model(tokens[None, :], use_cache=False).logits[0].float()
        cache = transformers.DynamicCache()
        steps = []
        for t in range(tokens.numel()):
            out = model(tokens[None, t:t + 1], past_key_values=cache, use_cache=True)
            cache = out.past_key_values
            steps.append(out.logits[0, -1].float())
        decode = torch.stack(steps)
    return prefill, decode


def write_case(out_dir: str, index: int, name: str, kind: str, overrides: dict, dtype, shard) -> dict:
    model = make_model(kind, overrides, dtype, seed=1000 + index)
    case_dir = os.path.join(out_dir, name)
    shutil.rmtree(case_dir, ignore_errors=True)
    kwargs = dict(safe_serialization=True)
    if shard:
        kwargs["max_shard_size"] = shard
    # Saved from a copy: casting the model itself would also round its RoPE inv_freq buffer to bf16, which the
    # float32 golden forward must not see.
    copy.deepcopy(model).to(dtype).save_pretrained(case_dir, **kwargs)
    if kind == "bitnet":
        quantise_bitnet_linears(model)
    g = torch.Generator().manual_seed(77 + index)
    tokens = torch.randint(0, model.config.vocab_size, (T,), generator=g)
    prefill, decode = golden_logits(model, tokens)
    save_file({"tokens": tokens.to(torch.int32), "prefill_logits": prefill.contiguous(),
               "decode_logits": decode.contiguous()},
              os.path.join(case_dir, "golden.safetensors"),
              metadata={"case": name, "T": str(T), "transformers": transformers.__version__,
                        "torch": torch.__version__})
    for extra in ("generation_config.json",):
        p = os.path.join(case_dir, extra)
        if os.path.exists(p):
            os.remove(p)
    gap = (prefill - decode).abs().max().item()
    return dict(case=name, kind=kind, dtype=str(dtype).replace("torch.", ""), sharded=bool(shard),
                logit_absmax=prefill.abs().max().item(), prefill_vs_decode=gap)


def write_packed_copy(out_dir: str, source: str, name: str, linear_class: str = "bitlinear") -> dict:
    """A packed form of a BitNet case: transformers' pack_weights (uint8, 4 ternary values a byte along the output
    dimension) + weight_scale (bf16 [1]) for every projection, and the quantization_config that selects the layer
    class: "bitlinear" (BitLinear: y = Q·x / weight_scale, weight_scale = 1/s) or "autobitlinear" in offline mode
    (AutoBitLinear: y = Q·x · weight_scale, weight_scale = s)."""
    from safetensors.torch import load_file
    from transformers.integrations.bitnet import pack_weights

    src_dir, dst_dir = os.path.join(out_dir, source), os.path.join(out_dir, name)
    shutil.rmtree(dst_dir, ignore_errors=True)
    os.makedirs(dst_dir)
    tensors = {}
    for f in sorted(os.listdir(src_dir)):
        if f.startswith("model") and f.endswith(".safetensors"):
            tensors.update(load_file(os.path.join(src_dir, f)))
    out = {}
    for key, w in tensors.items():
        if key.endswith(".weight") and any(n in key for n in LINEARS):
            wf = w.float()
            scale = 1.0 / wf.abs().mean().clamp(min=1e-5)
            q = (wf * scale).round().clamp(-1, 1).to(torch.int8)
            out[key] = pack_weights(q.clone())
            ws = scale if linear_class == "bitlinear" else 1.0 / scale
            out[key[: -len("weight")] + "weight_scale"] = ws.reshape(1).to(torch.bfloat16)
        else:
            out[key] = w
    save_file(out, os.path.join(dst_dir, "model.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(src_dir, "config.json")) as f:
        config = json.load(f)
    config["quantization_config"] = {"quant_method": "bitnet", "linear_class": linear_class,
                                     "quantization_mode": "offline"}
    with open(os.path.join(dst_dir, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    # The golden of the packed form comes from transformers loading it (its BitLinear: unpacked ternary weights,
    # int8 activations, divided by weight_scale), on the source case's tokens.
    model = transformers.BitNetForCausalLM.from_pretrained(dst_dir, dtype=torch.float32)
    if linear_class == "autobitlinear":
        # AutoBitLinear keeps the unpacked ternary weights and weight_scale in bf16 (exact in f32 too); the model
        # refuses .float(), so the tensors are cast one by one.
        with torch.no_grad():
            for t in list(model.parameters()) + list(model.buffers()):
                t.data = t.data.float()
    model.eval()
    tokens = load_file(os.path.join(src_dir, "golden.safetensors"))["tokens"].long()
    prefill, decode = golden_logits(model, tokens)
    save_file({"tokens": tokens.to(torch.int32), "prefill_logits": prefill.contiguous(),
               "decode_logits": decode.contiguous()},
              os.path.join(dst_dir, "golden.safetensors"),
              metadata={"case": name, "T": str(T), "transformers": transformers.__version__,
                        "torch": torch.__version__})
    return dict(case=name, kind="bitnet", dtype="packed 2-bit + bf16 weight_scale (%s)" % linear_class, sharded=False,
                copy_of=source,
                logit_absmax=prefill.abs().max().item(), prefill_vs_decode=(prefill - decode).abs().max().item())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=DEFAULT_OUT)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(1)
    summary = [write_case(args.out, i, *c) for i, c in enumerate(CASES)]
    summary.append(write_packed_copy(args.out, "bitnet_gqa_tied", "bitnet_gqa_tied_packed"))
    summary.append(write_packed_copy(args.out, "bitnet_mha_untied", "bitnet_mha_untied_autobitlinear", "autobitlinear"))
    with open(os.path.join(args.out, "index.json"), "w") as f:
        json.dump({"T": T, "transformers": transformers.__version__, "cases": summary}, f, indent=1)
        f.write("\n")
    for s in summary:
        print(s)


if __name__ == "__main__":
    main()
