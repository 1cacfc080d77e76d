#!/usr/bin/python3
"""Writes a Hugging Face-layout folder of random weights in the shape of a real Llama-family
model, for memory and speed runs on shapes no fixture holds (no weights can be downloaded).

  /usr/bin/python3 tools/reference/random_llama_folder.py --shape tinyllama-1.1b --out /tmp/tinyllama

The config.json has the keys TinyLlama-1.1B (or SmolLM-135M) ships; model.safetensors holds
every tensor under save_pretrained's names, [out, in], in BF16 by default (as both ship) or
F32. Weights: randn/sqrt(fan_in) for matrices, 0.02·randn for the embeddings and head, 1 for
norm gains, drawn tensor by tensor from one seed.
"""

import argparse
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from llama_reference import write_folder  # noqa: E402  (config.json + hand-written safetensors)

SHAPES = {
    "tinyllama-1.1b": dict(hidden_size=2048, intermediate_size=5632, num_hidden_layers=22, num_attention_heads=32,
                           num_key_value_heads=4, vocab_size=32000, max_position_embeddings=2048, rope_theta=10000.0,
                           rms_norm_eps=1e-5, tie_word_embeddings=False, bos_token_id=1, eos_token_id=2),
    "smollm-135m": dict(hidden_size=576, intermediate_size=1536, num_hidden_layers=30, num_attention_heads=9,
                        num_key_value_heads=3, vocab_size=49152, max_position_embeddings=2048, rope_theta=10000.0,
                        rms_norm_eps=1e-5, tie_word_embeddings=True, bos_token_id=0, eos_token_id=0),
}


def config(shape):
    c = dict(architectures=["LlamaForCausalLM"], attention_bias=False, attention_dropout=0.0, hidden_act="silu",
             initializer_range=0.02, mlp_bias=False, model_type="llama", pretraining_tp=1, rope_scaling=None,
             transformers_version="4.46.0", use_cache=True)
    c.update(SHAPES[shape])
    return c


def tensors(c, dtype, seed):
    g = torch.Generator().manual_seed(seed)
    C, I, V, L = c["hidden_size"], c["intermediate_size"], c["vocab_size"], c["num_hidden_layers"]
    hd = C // c["num_attention_heads"]
    KV = c["num_key_value_heads"] * hd

    def matrix(rows, cols, scale=None):
        s = scale if scale is not None else 1.0 / math.sqrt(cols)
        return (s * torch.randn((rows, cols), generator=g)).to(dtype)

    out = [("model.embed_tokens.weight", matrix(V, C, 0.02))]
    for i in range(L):
        p = f"model.layers.{i}."
        out += [(p + "input_layernorm.weight", torch.ones(C, dtype=dtype)),
                (p + "self_attn.q_proj.weight", matrix(C, C)),
                (p + "self_attn.k_proj.weight", matrix(KV, C)),
                (p + "self_attn.v_proj.weight", matrix(KV, C)),
                (p + "self_attn.o_proj.weight", matrix(C, C)),
                (p + "post_attention_layernorm.weight", torch.ones(C, dtype=dtype)),
                (p + "mlp.gate_proj.weight", matrix(I, C)),
                (p + "mlp.up_proj.weight", matrix(I, C)),
                (p + "mlp.down_proj.weight", matrix(C, I))]
    out.append(("model.norm.weight", torch.ones(C, dtype=dtype)))
    if not c["tie_word_embeddings"]:
        out.append(("lm_head.weight", matrix(V, C, 0.02)))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shape", choices=sorted(SHAPES), required=True)
    ap.add_argument("--out", required=True, help="folder to write (replaced if it exists)")
    ap.add_argument("--dtype", choices=["bfloat16", "float32"], default="bfloat16")
    ap.add_argument("--seed", type=int, default=1234)
    a = ap.parse_args()
    c = config(a.shape)
    dtype = torch.bfloat16 if a.dtype == "bfloat16" else torch.float32
    ts = tensors(c, dtype, a.seed)
    write_folder(a.out, c, ts, a.dtype)
    n = sum(t.numel() for _, t in ts)
    print(f"{a.out}: {a.shape}, {n:,} parameters, {a.dtype}")


if __name__ == "__main__":
    main()
