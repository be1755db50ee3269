#!/usr/bin/env python3
"""Train the small reference tokenizers with Hugging Face `tokenizers` and write them to tests/data/tokenizer/.

Run once (the outputs are committed; HF's trainer may change between versions, so the golden ids are always made
from the committed JSON files, not from a fresh training run):

    python3 tests/tokenizer/make_hf_tokenizers.py [--corpus ../shared/data/tinyshakespeare.txt]

Outputs (all trained on tinyshakespeare plus golden_texts.training_extra(), ~1000 tokens):
  hf_bytelevel_llama3.json  Llama-3 style: Split(Llama-3 regex) + ByteLevel(use_regex=false), ignore_merges,
                            BOS template, special and non-special added tokens with lstrip/rstrip/single_word.
  hf_bytelevel_gpt2.json    the same model as GPT-2: ByteLevel(add_prefix_space=true, use_regex=true), EOS template.
  hf_bytelevel_qwen2.json   the same model with the Qwen2 regex (one digit per piece) and a prefix space added to
                            every piece by the ByteLevel step after it, no template.
  hf_spm_first.json         SentencePiece style: byte_fallback + <0xNN> tokens, unk, Metaspace(first, split=false),
                            decoder Replace/ByteFallback/Fuse/Strip, "<s> $A" template (as transformers' Llama
                            converter writes with legacy=false).
  hf_spm_split.json         the same model with Metaspace(always, split=true), decoder ByteFallback + Metaspace,
                            "<s> $A </s>" template.
  hf_spm_unk.json           the same model without byte_fallback: unknown characters become (fused) <unk>.
  hand_merges.json          hand-written: merges where ignore_merges changes the result, a repeated merge, Strip +
                            Replace normalizer, literal Split pre-tokenizers (Removed, invert + MergedWithPrevious),
                            no unk (unknown characters dropped), no decoder (tokens joined by spaces), Roberta
                            post-processor.
  hand_spm_cross.json       hand-written SentencePiece-style vocab (no pre-tokenizer) whose merges cross word
                            boundaries ("a▁" + "b"): our cut-before-"▁" speed-up must switch itself off;
                            a normalized added token under a Prepend + Replace normalizer.
  hand_affixes.json         hand-written: continuing_subword_prefix "##", end_of_word_suffix "</w>", unk without
                            fusion, Contiguous split, Bert post-processor, single_word special and normalized
                            added tokens.
"""
import argparse
import copy
import json
import os
import sys

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers, processors, trainers

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import golden_texts  # noqa: E402
OUT = os.path.join(HERE, "..", "data", "tokenizer")
LLAMA3 = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
QWEN2 = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"


def save(tok_json: dict, name: str) -> None:
    text = json.dumps(tok_json, ensure_ascii=False, indent=1)
    Tokenizer.from_str(text)  # must load
    with open(os.path.join(OUT, name), "w", encoding="utf-8") as f:
        f.write(text + "\n")
    print("wrote", name)


def corpus_lines(corpus: str) -> list:
    """Shakespeare plus synthetic lines (golden_texts.training_extra) so that the merges cover more than English."""
    with open(corpus, encoding="utf-8") as f:
        lines = f.read().split("\n")
    return lines + golden_texts.training_extra()


def bytelevel(corpus: str) -> None:
    specials = ["<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>"]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=1000, min_frequency=2, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(corpus_lines(corpus), trainer)
    tok.add_tokens([AddedToken(" thou art", special=False, normalized=True),
                    AddedToken("verily", special=False, single_word=True, normalized=False)])
    tok.add_special_tokens([AddedToken("<mask>", special=True, lstrip=True),
                            AddedToken("[SEP]", special=True, rstrip=True)])
    bos = tok.token_to_id("<|begin_of_text|>")
    eos = tok.token_to_id("<|end_of_text|>")
    tok.post_processor = processors.Sequence([
        processors.ByteLevel(trim_offsets=False),
        processors.TemplateProcessing(single="<|begin_of_text|> $A", pair="<|begin_of_text|> $A <|begin_of_text|> $B",
                                      special_tokens=[("<|begin_of_text|>", bos)]),
    ])
    base = json.loads(tok.to_str())
    base["model"]["ignore_merges"] = True
    save(base, "hf_bytelevel_llama3.json")

    gpt2 = copy.deepcopy(base)
    gpt2["model"]["ignore_merges"] = False
    gpt2["added_tokens"] = [t for t in gpt2["added_tokens"] if t["content"] in specials]
    gpt2["pre_tokenizer"] = json.loads(pre_tokenizers.ByteLevel(add_prefix_space=True, use_regex=True).__getstate__())
    gpt2["post_processor"] = json.loads(processors.TemplateProcessing(
        single="$A <|end_of_text|>", special_tokens=[("<|end_of_text|>", eos)]).__getstate__())
    save(gpt2, "hf_bytelevel_gpt2.json")

    qwen = copy.deepcopy(gpt2)
    qwen["pre_tokenizer"]["type"] = "Sequence"
    qwen["pre_tokenizer"] = json.loads(pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=True, use_regex=False)]).__getstate__())
    qwen["post_processor"] = None
    save(qwen, "hf_bytelevel_qwen2.json")


def spm(corpus: str) -> None:
    specials = ["<unk>", "<s>", "</s>"]
    tok = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    trainer = trainers.BpeTrainer(vocab_size=1000, min_frequency=2, special_tokens=specials, show_progress=False)
    tok.train_from_iterator(corpus_lines(corpus), trainer)
    base = json.loads(tok.to_str())
    # SentencePiece models keep <0x00>..<0xFF> in the vocab right after the specials (as Llama-2 / TinyLlama).
    vocab = base["model"]["vocab"]
    ordered = sorted(vocab.items(), key=lambda kv: kv[1])
    new_vocab = {}
    for tok_str, _ in ordered[:len(specials)]:
        new_vocab[tok_str] = len(new_vocab)
    for b in range(256):
        new_vocab["<0x%02X>" % b] = len(new_vocab)
    for tok_str, _ in ordered[len(specials):]:
        if tok_str not in new_vocab:
            new_vocab[tok_str] = len(new_vocab)
    base["model"]["vocab"] = new_vocab
    for t in base["added_tokens"]:
        t["id"] = new_vocab[t["content"]]
    bos, eos = new_vocab["<s>"], new_vocab["</s>"]

    first = copy.deepcopy(base)
    first["normalizer"] = None
    first["pre_tokenizer"] = json.loads(pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="first",
                                                                 split=False).__getstate__())
    first["decoder"] = json.loads(decoders.Sequence([decoders.Replace("\u2581", " "), decoders.ByteFallback(),
                                                     decoders.Fuse(), decoders.Strip(" ", 1, 0)]).__getstate__())
    first["post_processor"] = json.loads(processors.TemplateProcessing(
        single="<s> $A", special_tokens=[("<s>", bos)]).__getstate__())
    save(first, "hf_spm_first.json")

    split = copy.deepcopy(base)
    split["decoder"] = json.loads(decoders.Sequence([decoders.ByteFallback(), decoders.Metaspace(
        replacement="\u2581", prepend_scheme="always", split=True)]).__getstate__())
    split["post_processor"] = json.loads(processors.TemplateProcessing(
        single="<s> $A </s>", special_tokens=[("<s>", bos), ("</s>", eos)]).__getstate__())
    save(split, "hf_spm_split.json")

    unk = copy.deepcopy(first)
    unk["model"]["byte_fallback"] = False
    save(unk, "hf_spm_unk.json")


def hand_merges() -> None:
    vocab = {c: i for i, c in enumerate("abcdefghijklmnopqrstuvwxyz")}
    merges = [("b", "c"), ("a", "b"), ("ab", "c"), ("t", "h"), ("th", "e"), ("e", "r"), ("h", "e"), ("the", "r"),
              ("o", "u"), ("th", "ou"), ("a", "r"), ("ar", "t"), ("a", "b")]  # ("a", "b") again: the last rank wins
    for a, b in merges:
        vocab.setdefault(a + b, len(vocab))
    vocab["abc"] = vocab["abc"]
    cls, sep = len(vocab), len(vocab) + 1
    tok = {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [
            {"id": cls, "content": "<cls>", "single_word": False, "lstrip": False, "rstrip": False,
             "normalized": False, "special": True},
            {"id": sep, "content": "<sep>", "single_word": False, "lstrip": False, "rstrip": False,
             "normalized": False, "special": True}],
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Strip", "strip_left": True, "strip_right": True},
            {"type": "Replace", "pattern": {"String": "-"}, "content": " "}]},
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"String": " "}, "behavior": "Removed", "invert": False},
            {"type": "Split", "pattern": {"String": "q"}, "behavior": "MergedWithPrevious", "invert": True}]},
        "post_processor": {"type": "RobertaProcessing", "sep": ["<sep>", sep], "cls": ["<cls>", cls],
                           "trim_offsets": True, "add_prefix_space": False},
        "decoder": None,
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": True,
                  "vocab": dict(sorted(vocab.items(), key=lambda kv: kv[1])) | {"<cls>": cls, "<sep>": sep},
                  "merges": [a + " " + b for a, b in merges]},
    }
    save(tok, "hand_merges.json")


def hand_affixes() -> None:
    letters = "abcdefghijklmnopqrstuvwxyz"
    vocab = {"[UNK]": 0, "[CLS]": 1, "[SEP]": 2, "[MASK]": 3}
    for c in letters:
        for t in (c, "##" + c, c + "</w>", "##" + c + "</w>"):
            vocab[t] = len(vocab)
    merges = [("a", "##b"), ("ab", "##c</w>"), ("t", "##h"), ("th", "##e</w>"), ("##h", "##e</w>"),
              ("##e", "##r</w>"), ("h", "##e"), ("he", "##r</w>"), ("a", "##n"), ("an", "##d</w>")]
    for a, b in merges:
        vocab.setdefault(a + b[2:], len(vocab))
    hello = len(vocab)
    tok = {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [
            {"id": 0, "content": "[UNK]", "single_word": False, "lstrip": False, "rstrip": False,
             "normalized": False, "special": True},
            {"id": 1, "content": "[CLS]", "single_word": False, "lstrip": False, "rstrip": False,
             "normalized": False, "special": True},
            {"id": 2, "content": "[SEP]", "single_word": False, "lstrip": False, "rstrip": False,
             "normalized": False, "special": True},
            {"id": 3, "content": "[MASK]", "single_word": True, "lstrip": True, "rstrip": True,
             "normalized": False, "special": True},
            {"id": hello, "content": "hello", "single_word": False, "lstrip": False, "rstrip": False,
             "normalized": True, "special": False}],
        "normalizer": None,
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"String": " "}, "behavior": "Removed", "invert": False},
            {"type": "Split", "pattern": {"String": "-"}, "behavior": "Contiguous", "invert": False},
            {"type": "Split", "pattern": {"String": "."}, "behavior": "MergedWithNext", "invert": False}]},
        "post_processor": {"type": "BertProcessing", "sep": ["[SEP]", 2], "cls": ["[CLS]", 1]},
        # Per-token Strips (HF panics on Strip with stop > 0 over an empty string, e.g. after Fuse of no tokens).
        "decoder": {"type": "Sequence", "decoders": [
            {"type": "Strip", "content": "#", "start": 2, "stop": 0},
            {"type": "Replace", "pattern": {"String": "</w>"}, "content": " "},
            {"type": "Strip", "content": "x", "start": 0, "stop": 1},
            {"type": "Fuse"}]},
        "model": {"type": "BPE", "dropout": None, "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "end_of_word_suffix": "</w>", "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": vocab, "merges": [[a, b] for a, b in merges]},
    }
    save(tok, "hand_affixes.json")


def hand_spm_cross() -> None:
    vocab = {"<unk>": 0, "\u2581": 1}
    for c in "abcdefghijklmnopqrstuvwxyz":
        vocab[c] = len(vocab)
    merges = [("a", "\u2581"), ("a\u2581", "b"), ("\u2581", "b"), ("t", "h"), ("\u2581", "th"), ("e", "\u2581")]
    for a, b in merges:
        vocab.setdefault(a + b, len(vocab))
    tok = {
        "version": "1.0", "truncation": None, "padding": None,
        # "th e" is matched after normalization, against its own normalized form "▁th▁e" (HF normalizes added
        # token contents with the whole normalizer, Prepend included).
        "added_tokens": [{"id": 0, "content": "<unk>", "single_word": False, "lstrip": False, "rstrip": False,
                          "normalized": False, "special": True},
                         {"id": len(vocab), "content": "th e", "single_word": False, "lstrip": False,
                          "rstrip": False, "normalized": True, "special": False}],
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Prepend", "prepend": "\u2581"},
            {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}]},
        "pre_tokenizer": None, "post_processor": None,
        "decoder": {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "}, {"type": "Fuse"},
            {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
        "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>", "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": True, "byte_fallback": False, "ignore_merges": False,
                  "vocab": vocab, "merges": [[a, b] for a, b in merges]},
    }
    save(tok, "hand_spm_cross.json")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default=os.path.join(HERE, "..", "..", "..", "shared", "data", "tinyshakespeare.txt"))
    args = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    bytelevel(args.corpus)
    spm(args.corpus)
    hand_merges()
    hand_affixes()
    hand_spm_cross()


if __name__ == "__main__":
    main()
