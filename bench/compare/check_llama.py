#!/usr/bin/python3
"""Checks llama.py, the benchmark's fast Llama, against the independent reference model in
tools/reference/llama_reference.py (the one the engine's fixtures come from): same weights
(the fused q/k/v and gate/up matrices split back into Hugging Face's projections), same loss,
same gradients, and the KV-cache decoder's logits equal to the full forward's at every step.

Run:  /usr/bin/python3 bench/compare/check_llama.py   (prints one line per check; exits 1 on a mismatch)
"""

import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools", "reference"))
from llama import LLAMA_PRESETS, Llama, LlamaKvDecoder  # noqa: E402
from llama_reference import CausalLM  # noqa: E402


def reference_from(model, cfg):
    ref = CausalLM(dict(cfg, model_type="llama")).double()
    C, I = cfg["hidden_size"], cfg["intermediate_size"]
    hd = C // cfg["num_attention_heads"]
    Q, KV = cfg["num_attention_heads"] * hd, cfg["num_key_value_heads"] * hd
    with torch.no_grad():
        ref.model.embed_tokens.weight.copy_(model.embed.weight)
        ref.model.norm.weight.copy_(model.norm)
        if model.lm_head is not None:
            ref.lm_head.weight.copy_(model.lm_head.weight)
        for blk, layer in zip(model.h, ref.model.layers):
            q, k, v = blk.qkv.weight.split([Q, KV, KV])
            layer.self_attn.q_proj.weight.copy_(q)
            layer.self_attn.k_proj.weight.copy_(k)
            layer.self_attn.v_proj.weight.copy_(v)
            layer.self_attn.o_proj.weight.copy_(blk.o.weight)
            gate, up = blk.gate_up.weight.split([I, I])
            layer.mlp.gate_proj.weight.copy_(gate)
            layer.mlp.up_proj.weight.copy_(up)
            layer.mlp.down_proj.weight.copy_(blk.down.weight)
            layer.input_layernorm.weight.copy_(blk.ln1)
            layer.post_attention_layernorm.weight.copy_(blk.ln2)
    return ref


def main():
    torch.manual_seed(0)
    ok = True
    cfg = dict(LLAMA_PRESETS["llama-tiny"])
    model = Llama(**cfg).double()
    with torch.no_grad():  # norm gains away from 1, so a swapped or missing gain shows
        for blk in model.h:
            blk.ln1.add_(0.2 * torch.randn_like(blk.ln1))
            blk.ln2.add_(0.2 * torch.randn_like(blk.ln2))
    ref = reference_from(model, cfg)
    B, T, V = 2, 48, cfg["vocab_size"]
    x = torch.randint(V, (B, T))
    y = torch.randint(V, (B, T))
    loss = model(x, y)
    loss.backward()
    _, ref_loss = ref(x, y)
    ref_loss.backward()
    # Both run in float64: differences are rounding of the order 1e-15, far below a wrong term's size.
    err = abs(loss.item() - ref_loss.item())
    print(f"loss {loss.item():.12f} vs reference {ref_loss.item():.12f} (|diff| {err:.1e})")
    ok &= err < 1e-10
    g_err = max((model.h[0].down.weight.grad - ref.model.layers[0].mlp.down_proj.weight.grad).abs().max().item(),
                (model.h[0].qkv.weight.grad[:64] - ref.model.layers[0].self_attn.q_proj.weight.grad).abs().max().item(),
                (model.embed.weight.grad - ref.model.embed_tokens.weight.grad).abs().max().item())
    print(f"gradients (down, q, embedding of block 0): max |diff| {g_err:.1e}")
    ok &= g_err < 1e-10

    with torch.no_grad():
        P, N = 5, 12
        prompt = torch.randint(V, (B, P))
        dec = LlamaKvDecoder(model, cfg, B, P + N, torch.nn.functional.linear)
        seq = torch.cat([prompt, torch.randint(V, (B, N))], dim=1)
        full_logits, _ = ref(seq)
        worst = (dec.feed(seq[:, :P]) - full_logits[:, P - 1]).abs().max().item()
        for t in range(P, P + N):
            worst = max(worst, (dec.feed(seq[:, t:t + 1]) - full_logits[:, t]).abs().max().item())
    print(f"KV-cache decoder vs full forward, prefill {P} then {N} steps: max |diff| {worst:.1e}")
    ok &= worst < 1e-10
    print("ok" if ok else "MISMATCH")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
