#!/usr/bin/env python3
"""Write the golden tokenizer data (tests/data/tokenizer/golden_*.json) with Hugging Face `tokenizers`.

For every tokenizer and every text of golden_texts.py it records what HF gives:
  ids                  encode(text, add_special_tokens=False)              (special tokens in the text parsed)
  ids_special          encode(text, add_special_tokens=True)
  ids_noparse          as ids, with encode_special_tokens=True             (omitted when equal to ids)
  ids_noparse_special  as ids_special, with encode_special_tokens=True     (omitted when equal to ids_special)
  decoded              decode(ids, skip_special_tokens=False)              (omitted when equal to text)
  decoded_skip         decode(ids_special, skip_special_tokens=True)       (omitted when equal to decoded)
and "decode_cases": seeded random id sequences (biased to byte tokens, special tokens and tokens with a word
boundary marker) with HF's decode, skip_special_tokens False and True: decoder behaviour on sequences no text
encodes to, e.g. invalid UTF-8 byte runs.
Our parse_special=false is HF's encode_special_tokens=True. tests/test_tokenizer_golden.cpp compares.

golden_corpus.json holds, per tokenizer, the number of ids and a hash of all ids HF gives for the whole
tinyshakespeare corpus in one encode call (add_special_tokens=False), and a hash of HF's decode of those ids:
the large-input check (1.1 MB words for SentencePiece models without a pre-tokenizer) in a few bytes.
Hash: h = (h * 1000003 + value + 1) mod 2^64 over the ids, or over the UTF-8 bytes of the decoded text.

golden_splits.json holds, for the same texts, where HF's Split pre-tokenizer cuts them with the GPT-2, Llama-3 and
Qwen2 regexes (UTF-8 byte offsets of the piece ends): a vocab-independent check of our hand-written matchers.

Tokenizers:
  tinyllama     ../shared/data/tokenizers/tinyllama-tokenizer.json (not committed; its golden ids are)
  hf_*          made by make_hf_tokenizers.py (committed)
  ttt_bytelevel our own trainer's output (committed). It is (re)made by running the C++ trainer through the
                command line program:  bit-ttt vocab --input tinyshakespeare.txt --vocab-size 1000
                --special "<|endoftext|>" --out tests/data/tokenizer/ttt_bytelevel.json
                Pass --bit-ttt PATH to retrain (needed after a trainer change: test_tokenizer_train.cpp checks
                that training again gives this exact file). Without it the committed file is used, so golden
                data can be regenerated without a C++ build. Either way HF must load it and its ids become
                the golden ids our C++ encoder is checked against.

    python3 tests/tokenizer/make_golden.py [--bit-ttt build/bit-ttt] [--shared ../shared/data]
"""
import argparse
import json
import os
import random
import subprocess
import sys

import tokenizers
from tokenizers import Regex, Tokenizer, pre_tokenizers

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import golden_texts  # noqa: E402

DATA = os.path.normpath(os.path.join(HERE, "..", "data", "tokenizer"))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))

# name -> (path for the test, lossless: decode(encode(x)) == x for every valid text)
COMMITTED = [
    ("hf_bytelevel_llama3", True), ("hf_bytelevel_gpt2", False), ("hf_bytelevel_qwen2", False),
    ("hf_spm_first", False), ("hf_spm_split", False), ("hf_spm_unk", False), ("ttt_bytelevel", True),
    ("hand_merges", False), ("hand_affixes", False), ("hand_spm_cross", False),
]


def train_ours(bit_ttt: str, corpus: str, out: str) -> None:
    cmd = [bit_ttt, "vocab", "--input", corpus, "--vocab-size", "1000", "--special", "<|endoftext|>", "--out", out]
    print("running", " ".join(cmd))
    subprocess.run(cmd, check=True)


def text_field(text: str, refs: dict) -> dict:
    """A corpus excerpt is recorded as its place in the shared corpus (the corpus is not committed), else as is."""
    return {"corpus": refs[text]} if text in refs else {"text": text}


def decoded_field(key: str, decoded: str, text: str, refs: dict) -> dict:
    """Decoded text of a corpus excerpt is recorded as a hash (it would copy the corpus), else as is."""
    if text in refs:
        return {key + "_hash": str(poly_hash(decoded.encode("utf-8")))}
    return {key: decoded}


def golden(tok: Tokenizer, texts: list, refs: dict) -> list:
    cases = []
    for text in texts:
        tok.encode_special_tokens = False
        ids = tok.encode(text, add_special_tokens=False).ids
        ids_special = tok.encode(text, add_special_tokens=True).ids
        tok.encode_special_tokens = True
        noparse = tok.encode(text, add_special_tokens=False).ids
        noparse_special = tok.encode(text, add_special_tokens=True).ids
        tok.encode_special_tokens = False
        decoded = tok.decode(ids, skip_special_tokens=False)
        decoded_skip = tok.decode(ids_special, skip_special_tokens=True)
        case = text_field(text, refs)
        case.update({"ids": ids, "ids_special": ids_special})
        if noparse != ids:
            case["ids_noparse"] = noparse
        if noparse_special != ids_special:
            case["ids_noparse_special"] = noparse_special
        if decoded != text:
            case.update(decoded_field("decoded", decoded, text, refs))
        if decoded_skip != decoded:
            case.update(decoded_field("decoded_skip", decoded_skip, text, refs))
        cases.append(case)
    return cases


def decode_cases(tok: Tokenizer, n: int = 120, seed: int = 7) -> list:
    rng = random.Random(seed)
    vocab = tok.get_vocab(with_added_tokens=True)
    all_ids = sorted(vocab.values())
    special = [i for t, i in vocab.items() if t.startswith("<") or t.startswith("[")]
    marked = [i for t, i in vocab.items() if t[:1] in ("\u2581", "\u0120", " ")] or all_ids
    pools = [all_ids, special or all_ids, marked]
    out = []
    for _ in range(n):
        ids = []
        for _ in range(rng.randint(1, 25)):
            ids.append(rng.choice(rng.choices(pools, weights=[5, 3, 2])[0]))
        out.append({"ids": ids, "decoded": tok.decode(ids, skip_special_tokens=False),
                    "decoded_skip": tok.decode(ids, skip_special_tokens=True)})
    return out


def write(name: str, tokenizer_ref: str, lossless: bool, cases: list, dec_cases: list) -> None:
    path = os.path.join(DATA, "golden_%s.json" % name)
    with open(path, "w", encoding="utf-8") as f:
        # One case per line keeps diffs readable.
        f.write('{"tokenizer": %s, "hf_tokenizers_version": %s, "lossless": %s, "cases": [\n' % (
            json.dumps(tokenizer_ref), json.dumps(tokenizers.__version__), json.dumps(lossless)))
        f.write(",\n".join(json.dumps(c, ensure_ascii=False, separators=(",", ":")) for c in cases))
        f.write('\n], "decode_cases": [\n')
        f.write(",\n".join(json.dumps(c, ensure_ascii=False, separators=(",", ":")) for c in dec_cases))
        f.write("\n]}\n")
    print("wrote %s (%d cases)" % (os.path.relpath(path, REPO), len(cases)))


SPLIT_PATTERNS = {
    "gpt2": r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+",
    "llama3": r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+",
    "qwen2": r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+",
}


def write_splits(texts: list, refs: dict) -> None:
    splitters = {k: pre_tokenizers.Split(Regex(v), behavior="isolated") for k, v in SPLIT_PATTERNS.items()}
    lines = []
    for text in texts:
        case = text_field(text, refs)
        for name, sp in splitters.items():
            ends, pos = [], 0
            for piece, _ in sp.pre_tokenize_str(text):
                pos += len(piece.encode("utf-8"))
                ends.append(pos)
            assert pos == len(text.encode("utf-8")), "split pieces must cover the text"
            case[name] = ends
        lines.append(json.dumps(case, ensure_ascii=False, separators=(",", ":")))
    path = os.path.join(DATA, "golden_splits.json")
    with open(path, "w", encoding="utf-8") as f:
        f.write('{"hf_tokenizers_version": %s, "patterns": %s, "cases": [\n' % (
            json.dumps(tokenizers.__version__), json.dumps(SPLIT_PATTERNS)))
        f.write(",\n".join(lines))
        f.write("\n]}\n")
    print("wrote %s (%d cases)" % (os.path.relpath(path, REPO), len(texts)))


def poly_hash(values) -> int:
    h = 0
    for v in values:
        h = (h * 1000003 + v + 1) % (1 << 64)
    return h


def write_corpus(corpus_text: str, tokenizers_by_name: dict) -> None:
    entries = []
    for name, (ref, tok) in tokenizers_by_name.items():
        ids = tok.encode(corpus_text, add_special_tokens=False).ids
        decoded = tok.decode(ids, skip_special_tokens=False)
        entries.append({"name": name, "tokenizer": ref, "n_ids": len(ids), "ids_hash": str(poly_hash(ids)),
                        "decoded_hash": str(poly_hash(decoded.encode("utf-8")))})
    path = os.path.join(DATA, "golden_corpus.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"hf_tokenizers_version": tokenizers.__version__, "corpus": "shared:tinyshakespeare.txt",
                   "entries": entries}, f, indent=1)
        f.write("\n")
    print("wrote %s (%d tokenizers)" % (os.path.relpath(path, REPO), len(entries)))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=os.path.join(REPO, "..", "shared", "data"))
    ap.add_argument("--bit-ttt", help="bit-ttt binary: retrain ttt_bytelevel.json with our C++ trainer")
    args = ap.parse_args()
    corpus = os.path.join(args.shared, "tinyshakespeare.txt")
    ours = os.path.join(DATA, "ttt_bytelevel.json")
    if args.bit_ttt:
        train_ours(args.bit_ttt, corpus, ours)
    elif not os.path.exists(ours):
        sys.exit("tests/data/tokenizer/ttt_bytelevel.json is missing: pass --bit-ttt PATH to train it")

    texts = golden_texts.all_texts(corpus)
    with open(corpus, encoding="utf-8") as f:
        corpus_text = f.read()
    corpus_bytes = corpus_text.encode("utf-8")
    refs = {}
    for t in golden_texts.corpus_excerpts(corpus_text):
        b = t.encode("utf-8")
        refs[t] = [corpus_bytes.find(b), len(b)]
    write_splits(texts, refs)
    tinyllama = os.path.join(args.shared, "tokenizers", "tinyllama-tokenizer.json")
    tok = Tokenizer.from_file(tinyllama)
    loaded = {"tinyllama": ("shared:tokenizers/tinyllama-tokenizer.json", tok)}
    write("tinyllama", "shared:tokenizers/tinyllama-tokenizer.json", False, golden(tok, texts, refs), decode_cases(tok))
    for name, lossless in COMMITTED:
        tok = Tokenizer.from_file(os.path.join(DATA, name + ".json"))
        loaded[name] = (name + ".json", tok)
        write(name, name + ".json", lossless, golden(tok, texts, refs), decode_cases(tok))
    write_corpus(corpus_text, loaded)


if __name__ == "__main__":
    main()
