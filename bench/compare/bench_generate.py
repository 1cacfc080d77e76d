#!/usr/bin/python3
"""Times greedy decoding with a KV cache on the CPU in PyTorch, the baseline for
`hyper bench generate`. Same models as bench_train.py (GPT-2 there, Llama in llama.py, whose
LlamaKvDecoder keeps only the key/value heads in its cache), same flags and the same JSON keys.

Run (OpenBLAS 0.3.21 misdetects this CPU without the variable and falls back to slow kernels):
  OPENBLAS_CORETYPE=SAPPHIRERAPIDS /usr/bin/python3 bench/compare/bench_generate.py --model small --prompt-tokens 32 --new-tokens 256 --json

What is timed, exactly as the C# benchmark does it:
- prefill: one forward over the prompt [B, P] that fills the cache and returns the logits of
  each row's last token (only that position goes through ln_f and the output projection);
- decode: --new-tokens steps, each feeding the B tokens picked last (argmax) at the next
  position and picking the next ones. ms_per_token is the median step, tokens_per_s is
  new tokens * B / total decode seconds over the timed repeats.

To give PyTorch its fastest path: the cache is preallocated ([B, NH, maxT, hs] per layer,
written in place), not concatenated; everything runs under torch.inference_mode() on --threads
threads (default 2, the cores of this machine; 1 was as fast or faster for decoding here, since
OpenBLAS's gemv runs on one thread and OpenMP's fork/join slows the small ops); and single-row
projections go through torch.addmv / torch.mv (--linear auto, the default), twice as fast as
F.linear's sgemm on one row with this OpenBLAS (--linear linear keeps F.linear). A preset's
n_positions is raised to P + N when the run needs more positions than it has (the weights are
random anyway; the C# benchmark does the same). Only presets are supported (no checkpoint
folders). --device cuda puts everything on the GPU (torch.set_default_device) and waits for
the device before reading the clock.
"""

import argparse
import json
import math
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_train import PRESETS, Gpt2  # noqa: E402  (the shared model definition)
from llama import LLAMA_PRESETS, Llama, LlamaKvDecoder  # noqa: E402


def make_linear(mode):
    """x @ W^T + b for the decoder. F.linear on a single row goes through OpenBLAS's sgemm (0.3.21
    does not forward M = 1 to gemv) and measured half the speed of torch.addmv on the decode shapes
    (384x1536: ~250 us vs ~120 us), so "auto" uses addmv / mv when there is one row."""
    if mode == "linear":
        return F.linear

    def auto(x, weight, bias=None):
        if x.numel() != x.shape[-1]:
            return F.linear(x, weight, bias)
        v = x.reshape(-1)  # one row: a matrix-vector product
        y = torch.mv(weight, v) if bias is None else torch.addmv(bias, weight, v)
        return y.view(*x.shape[:-1], -1)
    return auto


class KvDecoder:
    """Runs a bench_train.Gpt2 incrementally over a preallocated KV cache."""

    def __init__(self, model, cfg, B, maxT, linear):
        self.m = model
        self.linear = linear
        self.B = B
        self.NH = cfg["n_head"]
        self.C = cfg["n_embd"]
        self.hs = self.C // self.NH
        self.scale = 1.0 / math.sqrt(self.hs)
        L = cfg["n_layer"]
        self.k = [torch.zeros(B, self.NH, maxT, self.hs) for _ in range(L)]
        self.v = [torch.zeros(B, self.NH, maxT, self.hs) for _ in range(L)]
        self.pos = 0

    def feed(self, idx):  # idx [B, Tq] -> logits [B, V] of each row's last token
        m, B, NH, hs, C, lin = self.m, self.B, self.NH, self.hs, self.C, self.linear
        Tq = idx.shape[1]
        p0, p1 = self.pos, self.pos + Tq
        x = m.wte(idx) + m.wpe.weight[p0:p1]
        for l, block in enumerate(m.h):
            a = block.attn
            qkv = lin(block.ln_1(x), a.c_attn.weight, a.c_attn.bias)  # [B, Tq, 3C]
            q, k, v = qkv.view(B, Tq, 3, NH, hs).permute(2, 0, 3, 1, 4).unbind(0)  # [B, NH, Tq, hs] each
            self.k[l][:, :, p0:p1] = k
            self.v[l][:, :, p0:p1] = v
            keys, values = self.k[l][:, :, :p1], self.v[l][:, :, :p1]
            att = torch.matmul(q, keys.transpose(-1, -2)) * self.scale  # [B, NH, Tq, p1]
            if Tq > 1:
                # Query t (at position p0 + t) sees keys 0..p0 + t.
                mask = torch.ones(Tq, p1, dtype=torch.bool).tril(diagonal=p0)
                att = att.masked_fill(~mask, float("-inf"))
            y = torch.matmul(F.softmax(att, dim=-1), values)  # [B, NH, Tq, hs]
            x = x + lin(y.transpose(1, 2).reshape(B, Tq, C), a.c_proj.weight, a.c_proj.bias)
            h = F.gelu(lin(block.ln_2(x), block.c_fc.weight, block.c_fc.bias), approximate="tanh")
            x = x + lin(h, block.c_proj.weight, block.c_proj.bias)
        self.pos = p1
        return lin(m.ln_f(x[:, -1, :]), m.wte.weight)  # tied output projection


DEVICE = "cpu"  # set by main from --device


def sync():
    # CUDA kernels are asynchronous: without the wait a step's time would be its launch time.
    if DEVICE == "cuda":
        torch.cuda.synchronize()


def generate(model, cfg, B, P, N, gen, linear):
    dec = (LlamaKvDecoder if isinstance(model, Llama) else KvDecoder)(model, cfg, B, P + N, linear)
    prompt = torch.randint(cfg["vocab_size"], (B, P), generator=gen)
    t0 = time.perf_counter()
    logits = dec.feed(prompt)
    nxt = logits.argmax(dim=-1, keepdim=True)  # [B, 1]
    sync()
    prefill_ms = (time.perf_counter() - t0) * 1000.0
    steps = []
    for _ in range(N):
        t0 = time.perf_counter()
        logits = dec.feed(nxt)
        nxt = logits.argmax(dim=-1, keepdim=True)
        sync()
        steps.append((time.perf_counter() - t0) * 1000.0)
    return prefill_ms, steps


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="small", choices=sorted(PRESETS) + sorted(LLAMA_PRESETS))
    ap.add_argument("--prompt-tokens", type=int, default=32)
    ap.add_argument("--new-tokens", type=int, default=256)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--warmup", type=int, default=1, help="untimed generations first")
    ap.add_argument("--repeat", type=int, default=3, help="timed generations")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1337)
    ap.add_argument("--linear", default="auto", choices=["auto", "linear"],
                    help="projections: auto = addmv/mv for single rows (faster), linear = always F.linear")
    ap.add_argument("--json", action="store_true", help="print only the JSON object")
    args = ap.parse_args()

    llama = args.model in LLAMA_PRESETS
    cfg = dict(LLAMA_PRESETS[args.model] if llama else PRESETS[args.model])
    B, P, N = args.batch, args.prompt_tokens, args.new_tokens
    if B < 1 or P < 1 or N < 1 or args.repeat < 1 or args.warmup < 0:
        raise SystemExit("--batch, --prompt-tokens, --new-tokens and --repeat must be at least 1, --warmup at least 0")
    if llama:
        if P + N > cfg["max_position_embeddings"]:
            raise SystemExit(f"{P} + {N} tokens exceed the {cfg['max_position_embeddings']} positions of {args.model}")
    else:
        cfg["n_positions"] = max(cfg["n_positions"], P + N)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    global DEVICE
    DEVICE = args.device
    if DEVICE != "cpu":
        torch.set_default_device(DEVICE)  # torch >= 2.0; the CPU path keeps working on older ones
    gen = torch.Generator(device=args.device).manual_seed(args.seed)

    with torch.inference_mode():
        model = (Llama(**cfg) if llama else Gpt2(**cfg, variant="baddbmm")).eval()
        linear = make_linear(args.linear)
        for _ in range(args.warmup):
            generate(model, cfg, B, P, N, gen, linear)
        prefills, steps = [], []
        for _ in range(args.repeat):
            pf, st = generate(model, cfg, B, P, N, gen, linear)
            prefills.append(pf)
            steps.extend(st)

    decode_s = sum(steps) / 1000.0
    result = {
        "impl": "pytorch",
        "torch_version": torch.__version__,
        "backend": args.device,
        "model": args.model,
        "batch": B,
        "prompt_tokens": P,
        "new_tokens": N,
        "warmup": args.warmup,
        "repeat": args.repeat,
        "threads": args.threads,
        "linear": args.linear,
        "n_params": sum(p.numel() for p in model.parameters()),
        "tokens_per_s": round(N * B * args.repeat / decode_s, 1),
        "ms_per_token": round(statistics.median(steps), 4),
        "ms_min": round(min(steps), 4),
        "prefill_ms": round(statistics.median(prefills), 3),
        "config": cfg,
    }
    if not args.json:
        print(f"model {args.model}, B={B}, prompt {P}, new {N}: prefill {result['prefill_ms']:.2f} ms, "
              f"decode {result['ms_per_token']:.3f} ms/step (median), {result['tokens_per_s']:.1f} tokens/s")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
