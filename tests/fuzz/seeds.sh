#!/usr/bin/env bash
# Gathers the seed corpus of each fuzz target into OUT/<target>/ from committed files: the malformed corpus
# (tests/data/malformed), the golden models and tokenizers, and a few files made by the built bit-ttt
# (a .bitt v3, a soul, memories). Usage: tests/fuzz/seeds.sh OUT BIT_TTT
set -euo pipefail
out=$1
cli=$2
root="$(cd "$(dirname "$0")/../.." && pwd)"
mal="$root/tests/data/malformed"
gold="$root/tests/data/golden/d12_v37_l3"
mkdir -p "$out"/{fuzz_bitt,fuzz_model_dir,fuzz_soul,fuzz_tokenizer,fuzz_memories,fuzz_sampler,fuzz_chat_template}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# .bitt: the malformed ones, a v3 of the golden model, and the committed demo models' headers (their first 64 KiB: delta and upstream layer).
cp "$mal"/*.bitt "$out/fuzz_bitt/"
"$cli" convert "$gold" "$out/fuzz_bitt/golden_v3.bitt" >/dev/null
head -c 65536 "$root/models/shakespeare-demo.bitt" > "$out/fuzz_bitt/demo_head.bitt"
head -c 65536 "$root/tests/data/models/shakespeare-upstream.bitt" > "$out/fuzz_bitt/upstream_demo_head.bitt"

# Model directory pieces, prefixed by the selector byte: 0 config.json, 1 safetensors, 2 tokenizer.json.
n=0
for f in "$mal"/config_*/config.json "$gold/config.json"; do
  [ -f "$f" ] || continue
  { printf '\x00'; cat "$f"; } > "$out/fuzz_model_dir/config_$((n++))"
done
for f in "$gold/model.safetensors" "$mal"/*/model.safetensors; do
  [ -f "$f" ] || continue
  { printf '\x01'; cat "$f"; } > "$out/fuzz_model_dir/st_$((n++))"
done
for f in "$gold/tokenizer.json" "$root"/tests/data/tokenizer/hand_*.json; do
  { printf '\x02'; cat "$f"; } > "$out/fuzz_model_dir/tok_$((n++))"
done
# 3: Hugging Face config.json files; 4: a converted attention model's safetensors body is not at hand, so the HF
# shards seed it (their structure; the tensor names differ).
for f in "$root"/tests/data/hf/*/config.json; do
  { printf '\x03'; cat "$f"; } > "$out/fuzz_model_dir/hfconfig_$((n++))"
done
for f in "$root"/tests/data/hf/bitnet_mha_untied/model-0000*.safetensors; do
  { printf '\x04'; cat "$f"; } > "$out/fuzz_model_dir/attn_st_$((n++))"
done

# Souls: the malformed ones and a soul of the golden model after a few tokens (forward writes none, so chat does).
cp "$mal"/*.soul "$out/fuzz_soul/"
printf 'Hello\n/save %s\n/quit\n' "$tmp/g.soul" | "$cli" chat -m "$gold" --memories "$tmp/mem" -n 3 >/dev/null 2>&1 || true
[ -f "$tmp/g.soul" ] && cp "$tmp/g.soul" "$out/fuzz_soul/golden.soul"

# Tokenizer: text for the byte-level tokenizer, and small tokenizer.json files followed by NUL and a text.
printf 'To be, or not to be, that is the question.' > "$out/fuzz_tokenizer/text_ascii"
printf 'caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80 \xff\xfe broken' > "$out/fuzz_tokenizer/text_utf8"
for f in "$gold/tokenizer.json" "$root"/tests/data/tokenizer/hand_*.json; do
  { cat "$f"; printf '\x00Hello world <s> 123'; } > "$out/fuzz_tokenizer/json_$(basename "$f")"
done

# Memories: two option bytes, then JSONL lines (valid, torn, wrong types).
{ printf '\x05\x20'; printf '%s\n' '{"role":"user","text":"Hello","timestamp":"2026-01-01T00:00:00+09:00"}' \
  '{"role":"assistant","text":"Hi \u00e9","timestamp":"x"}' '{"role":"user","text":5}' '{"role":"us'; } \
  > "$out/fuzz_memories/day"

# Sampler: any bytes make parameters; a few starting points.
printf '\x10\x00\x00\x00\x3f\x80\x00\x00Hello' > "$out/fuzz_sampler/a"
head -c 200 "$gold/tokenizer.json" > "$out/fuzz_sampler/b"

# Chat templates: the real ones (their "chat_template" text) and the malformed ones of the corpus.
for f in "$root"/tests/data/chat_templates/*.json "$mal"/chat_templates/*.json; do
  [ -f "$f" ] || continue
  python3 -c 'import json,sys; sys.stdout.write(json.load(open(sys.argv[1], encoding="utf-8", errors="surrogateescape")).get("chat_template") or "")' "$f" \
    > "$out/fuzz_chat_template/$(basename "$f" .json)" 2>/dev/null || cp "$f" "$out/fuzz_chat_template/$(basename "$f" .json)_raw"
done
