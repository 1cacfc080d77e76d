#!/usr/bin/python3
"""Times one training step on the CPU in PyTorch, the baseline the engine's own benchmark is
compared with: GPT-2 (--model tiny|small|gpt2) or Llama (--model llama-tiny|smollm-135m|
tinyllama-1.1b, defined in llama.py). The model and the step are the ones the engine runs:
zero_grad, forward to the mean cross-entropy, backward, clip_grad_norm_(1.0), AdamW.

Run (OpenBLAS 0.3.21 misdetects this CPU without the variable and falls back to slow kernels):
  OPENBLAS_CORETYPE=SAPPHIRERAPIDS /usr/bin/python3 bench/compare/bench_train.py --model small --batch 8 --seq 256 --steps 10

The last line of output is one JSON object.
"""

import argparse
import json
import math
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from llama import LLAMA_PRESETS, Llama, llama_flops_per_step

PRESETS = {
    "tiny": dict(n_layer=2, n_head=2, n_embd=64, n_positions=64, vocab_size=256),
    "small": dict(n_layer=6, n_head=6, n_embd=384, n_positions=256, vocab_size=256),
    "gpt2": dict(n_layer=12, n_head=12, n_embd=768, n_positions=1024, vocab_size=50257),
}


class Attention(nn.Module):
    def __init__(self, C, NH, maxT, variant):
        super().__init__()
        self.n_head = NH
        self.variant = variant
        self.c_attn = nn.Linear(C, 3 * C)
        self.c_proj = nn.Linear(C, C)
        # Built once: an additive mask (0 / -inf) for baddbmm and a boolean one for masked_fill.
        causal = torch.ones(maxT, maxT, dtype=torch.bool).tril()
        self.register_buffer("causal", causal, persistent=False)
        self.register_buffer("bias", torch.zeros(maxT, maxT).masked_fill(~causal, float("-inf")), persistent=False)

    def forward(self, x):  # x [B, T, C]
        B, T, C = x.shape
        NH = self.n_head
        hs = C // NH
        scale = 1.0 / math.sqrt(hs)
        qkv = self.c_attn(x)  # [B, T, 3C]
        if self.variant == "permute":
            # One copy of all three (and one in backward) instead of three.
            q, k, v = qkv.view(B, T, 3, NH, hs).permute(2, 0, 3, 1, 4).reshape(3, B * NH, T, hs).unbind(0)
        else:
            q, k, v = qkv.split(C, dim=2)
            q = q.view(B, T, NH, hs).transpose(1, 2).reshape(B * NH, T, hs)  # [B*NH, T, hs]
            k = k.view(B, T, NH, hs).transpose(1, 2).reshape(B * NH, T, hs)
            v = v.view(B, T, NH, hs).transpose(1, 2).reshape(B * NH, T, hs)
        if self.variant in ("baddbmm", "permute"):
            # Scale, mask and QK^T in one call: bias + scale * q @ k^T.
            att = torch.baddbmm(self.bias[:T, :T], q, k.transpose(1, 2), beta=1.0, alpha=scale)
        else:  # "masked_fill"
            att = torch.bmm(q * scale, k.transpose(1, 2))
            att = att.masked_fill(~self.causal[:T, :T], float("-inf"))
        att = F.softmax(att, dim=-1)
        y = torch.bmm(att, v)  # [B*NH, T, hs]
        y = y.view(B, NH, T, hs).transpose(1, 2).reshape(B, T, C)
        return self.c_proj(y)


class Block(nn.Module):
    def __init__(self, C, NH, maxT, variant):
        super().__init__()
        self.ln_1 = nn.LayerNorm(C, eps=1e-5)
        self.attn = Attention(C, NH, maxT, variant)
        self.ln_2 = nn.LayerNorm(C, eps=1e-5)
        self.c_fc = nn.Linear(C, 4 * C)
        self.c_proj = nn.Linear(4 * C, C)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        x = x + self.c_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))
        return x


class Gpt2(nn.Module):
    def __init__(self, n_layer, n_head, n_embd, n_positions, vocab_size, variant):
        super().__init__()
        self.wte = nn.Embedding(vocab_size, n_embd)
        self.wpe = nn.Embedding(n_positions, n_embd)
        self.h = nn.ModuleList([Block(n_embd, n_head, n_positions, variant) for _ in range(n_layer)])
        self.ln_f = nn.LayerNorm(n_embd, eps=1e-5)
        for name, p in self.named_parameters():
            if p.dim() >= 2:
                std = 0.02 / math.sqrt(2 * n_layer) if name.endswith("c_proj.weight") else 0.02
                nn.init.normal_(p, 0.0, std)

    def forward(self, idx, targets):
        B, T = idx.shape
        x = self.wte(idx) + self.wpe(torch.arange(T, device=idx.device))
        for block in self.h:
            x = block(x)
        logits = F.linear(self.ln_f(x), self.wte.weight)  # tied output projection
        return F.cross_entropy(logits.view(B * T, -1), targets.view(B * T))


def flops_per_step(cfg, B, T):
    # The engine benchmark's formula: 6 FLOPs per matmul weight per token (forward + backward),
    # the tied output projection included, plus PaLM's 12*L*T*C per token for attention
    # (not halved for the causal mask).
    L, C, V = cfg["n_layer"], cfg["n_embd"], cfg["vocab_size"]
    p_mm = L * 12 * C * C + V * C
    return B * T * (6 * p_mm + 12 * L * T * C)


def run(cfg, B, T, steps, warmup, variant, seed, device):
    torch.manual_seed(seed)
    model = (Llama(**cfg) if "hidden_size" in cfg else Gpt2(**cfg, variant=variant)).to(device)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
        lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(cfg["vocab_size"], (B, T), generator=g).to(device)
    y = torch.randint(cfg["vocab_size"], (B, T), generator=g).to(device)
    times, losses = [], []
    for i in range(warmup + steps):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = model(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        lv = loss.item()  # waits for the device, so the step is timed whole
        t1 = time.perf_counter()
        if i >= warmup:
            times.append((t1 - t0) * 1000.0)
            losses.append(lv)
    n_params = sum(p.numel() for p in model.parameters())
    return times, losses, n_params


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="small", choices=sorted(PRESETS) + sorted(LLAMA_PRESETS))
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1337)
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"],
                    help="cuda: fp32 on the GPU, TF32 off (the engine's kernels are plain fp32), eager mode")
    ap.add_argument("--attn", default="permute", choices=["permute", "baddbmm", "masked_fill"],
                    help="attention formulation: permute = q, k, v to heads in one copy, then baddbmm "
                         "(measured fastest here, by a few percent); baddbmm = three copies; "
                         "masked_fill = bmm, masked_fill(-inf), the slowest (GPT-2 only; Llama uses baddbmm)")
    args = ap.parse_args()

    llama = args.model in LLAMA_PRESETS
    cfg = LLAMA_PRESETS[args.model] if llama else PRESETS[args.model]
    B, T = args.batch, args.seq
    context = cfg["max_position_embeddings" if llama else "n_positions"]
    if T > context:
        raise SystemExit(f"--seq {T} exceeds the {context} positions of {args.model}")
    torch.set_num_threads(args.threads)
    if args.device == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False

    times, losses, n_params = run(cfg, B, T, args.steps, args.warmup, args.attn, args.seed, args.device)
    ms = statistics.median(times)
    flops = llama_flops_per_step(cfg, B, T) if llama else flops_per_step(cfg, B, T)
    print(f"steps (ms): {' '.join(f'{t:.1f}' for t in times)}")
    print(f"losses: {' '.join(f'{l:.4f}' for l in losses)}")
    print(json.dumps({
        "impl": "pytorch",
        "torch_version": torch.__version__,
        "ms_per_step": round(ms, 3),
        "ms_min": round(min(times), 3),  # robust to other processes on the machine, the median is not
        "tokens_per_s": round(B * T * 1000.0 / ms, 1),
        "gflops_per_s": round(flops / (ms * 1e-3) / 1e9, 2),
        "flops_per_step": flops,
        "model": args.model,
        "batch": B,
        "seq": T,
        "steps": args.steps,
        "threads": args.threads,
        "n_params": n_params,
        "attn": "baddbmm" if llama else args.attn,
        "device": args.device if args.device == "cpu" else torch.cuda.get_device_name(),
    }))


if __name__ == "__main__":
    main()
