#!/usr/bin/env python3
"""Write a tiny, real GGUF model (random weights) that Ollama can load and run.

Usage: make_tiny_model.py NAME OUT.gguf [--seed N] [--width W] [--layers L]

- Architecture "llama" (runs on Ollama's llama.cpp runner), 2 blocks, 64 wide
  (--layers, --width; the feed-forward is twice as wide, heads are 64 wide past
  4 of them), a SentencePiece-style ("llama") vocabulary of 384 tokens: <unk>
  <s> </s>, the 256 byte tokens <0x00>..<0xFF> and a few word pieces.
- 2-D weights F16, norms F32 (file type MOSTLY_F16, so Ollama reports
  quantization_level "F16"; for file type 0 = F32 it reports "unknown"), ~0.3 MB
  at the default size; --width 2048 --layers 7 gives ~590 MB, a model whose
  download takes long enough to measure. Output is gibberish but real inference.
- Deterministic: the same NAME and seed give byte-identical files; the seed
  defaults to one derived from NAME, so "tiny-a" and "tiny-b" differ.
Needs the PyPI packages gguf and numpy (install.sh puts them in the cache venv).
"""
import argparse
import hashlib
import string
import sys

import numpy as np
import gguf

N_CTX = 4096


def vocabulary():
    tokens, scores, types = [], [], []

    def add(text, score, ttype):
        tokens.append(text)
        scores.append(score)
        types.append(int(ttype))

    add("<unk>", 0.0, gguf.TokenType.UNKNOWN)
    add("<s>", 0.0, gguf.TokenType.CONTROL)
    add("</s>", 0.0, gguf.TokenType.CONTROL)
    for b in range(256):
        add("<0x%02X>" % b, 0.0, gguf.TokenType.BYTE)
    pieces = ["\u2581"]
    pieces += list(string.ascii_lowercase) + list(string.ascii_uppercase) + list(string.digits)
    pieces += ["\u2581" + c for c in string.ascii_lowercase]
    words = ["the", "and", "hello", "world", "tiny", "model", "ok", "yes", "no", "is",
             "a", "of", "to", "in", "it", "you", "that", "gateway", "llama", "test"]
    pieces += ["\u2581" + w for w in words if "\u2581" + w not in pieces]
    pieces += [".", ",", "!", "?", ":", "-"]
    seen = set(tokens)
    for i, p in enumerate(pieces):
        if p in seen:
            continue
        seen.add(p)
        # SentencePiece scores: higher = merged earlier; longer pieces win.
        add(p, -float(i) / 1000.0 + len(p), gguf.TokenType.NORMAL)
    while len(tokens) < 384:  # pad to a round size with unused tokens
        add("<unused%d>" % len(tokens), -1000.0, gguf.TokenType.UNUSED)
    return tokens, scores, types


CHAT_TEMPLATE = (
    "{% for message in messages %}<|{{ message['role'] }}|>{{ message['content'] }}\n"
    "{% endfor %}<|assistant|>"
)


def build(name, seed, out, width=64, layers=2):
    n_embd, n_ff, n_layer = width, 2 * width, layers
    n_head = max(4, width // 64)
    n_head_kv = n_head
    rng = np.random.default_rng(seed)
    tokens, scores, types = vocabulary()
    n_vocab = len(tokens)

    def w(*shape, scale=0.08):
        return (rng.standard_normal(shape) * scale).astype(np.float16)

    writer = gguf.GGUFWriter(out, "llama")
    writer.add_name(name)
    writer.add_description("ai-gateway test model: random weights, not a language model")
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    writer.add_context_length(N_CTX)
    writer.add_embedding_length(n_embd)
    writer.add_block_count(n_layer)
    writer.add_feed_forward_length(n_ff)
    writer.add_head_count(n_head)
    writer.add_head_count_kv(n_head_kv)
    writer.add_rope_dimension_count(n_embd // n_head)
    writer.add_rope_freq_base(10000.0)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_vocab_size(n_vocab)

    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokens)
    writer.add_token_scores(scores)
    writer.add_token_types(types)
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_unk_token_id(0)
    writer.add_add_bos_token(True)
    writer.add_add_eos_token(False)
    writer.add_chat_template(CHAT_TEMPLATE)

    # numpy shapes are (rows, cols) = GGUF (ne1, ne0): a Linear(in->out) is (out, in).
    writer.add_tensor("token_embd.weight", w(n_vocab, n_embd, scale=0.5))
    for i in range(n_layer):
        p = "blk.%d." % i
        writer.add_tensor(p + "attn_norm.weight", np.ones(n_embd, dtype=np.float32))
        writer.add_tensor(p + "attn_q.weight", w(n_embd, n_embd))
        writer.add_tensor(p + "attn_k.weight", w(n_embd // n_head * n_head_kv, n_embd))
        writer.add_tensor(p + "attn_v.weight", w(n_embd // n_head * n_head_kv, n_embd))
        writer.add_tensor(p + "attn_output.weight", w(n_embd, n_embd))
        writer.add_tensor(p + "ffn_norm.weight", np.ones(n_embd, dtype=np.float32))
        writer.add_tensor(p + "ffn_gate.weight", w(n_ff, n_embd))
        writer.add_tensor(p + "ffn_up.weight", w(n_ff, n_embd))
        writer.add_tensor(p + "ffn_down.weight", w(n_embd, n_ff))
    writer.add_tensor("output_norm.weight", np.ones(n_embd, dtype=np.float32))
    # Output head: only word pieces and </s> get weights, so the sampled text is
    # readable pieces (no raw bytes / control chars) and </s> ends some answers.
    out_w = w(n_vocab, n_embd, scale=2.0)  # float16
    for i, t in enumerate(types):
        if t != int(gguf.TokenType.NORMAL) and i != 2:
            out_w[i, :] = 0.0
    writer.add_tensor("output.weight", out_w)

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("name", help='model name stored in general.name, e.g. "tiny-a"')
    ap.add_argument("out", help="output .gguf path")
    ap.add_argument("--seed", type=int, default=None,
                    help="RNG seed (default: derived from NAME)")
    ap.add_argument("--width", type=int, default=64, help="embedding width (default 64)")
    ap.add_argument("--layers", type=int, default=2, help="transformer blocks (default 2)")
    a = ap.parse_args(argv)
    seed = a.seed
    if seed is None:
        seed = int.from_bytes(hashlib.sha256(a.name.encode()).digest()[:4], "big")
    build(a.name, seed, a.out, a.width, a.layers)
    digest = hashlib.sha256()
    with open(a.out, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    digest = digest.hexdigest()
    print("%s sha256:%s" % (a.out, digest))


if __name__ == "__main__":
    main(sys.argv[1:])
