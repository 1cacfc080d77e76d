#!/usr/bin/python3
"""An independent PyTorch GPT-2, written from the architecture, that produces the
whole-model fixture the C# engine is checked against (logits, loss, every parameter
gradient, and 10 AdamW steps), in the spirit of llm.c's test_gpt2.

Run:  /usr/bin/python3 tools/reference/gpt2_reference.py --out tests/Fixtures/gpt2_tiny.safetensors

The output is a .safetensors file written by hand (no safetensors package): parameters
under Hugging Face GPT-2 names and layouts (Conv1D weights are the transpose of a Linear
weight), gradients as "grad.<name>", and the inputs and expected outputs.
"""

import argparse
import json
import math
import os
import struct

import torch
import torch.nn as nn
import torch.nn.functional as F

# Dimension letters used in the shape comments: B batch, T time, C channels, NH heads,
# hs head size (C / NH), V vocabulary, L layers, maxT positions.

CONFIGS = {
    "tiny": dict(n_layer=2, n_head=2, n_embd=64, n_positions=64, vocab_size=256),
}

LN_EPS = 1e-5


def gelu_tanh(x):
    # GPT-2's GELU is the tanh approximation, not the exact erf form.
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x * x * x)))


class Attention(nn.Module):
    def __init__(self, C, NH):
        super().__init__()
        self.n_head = NH
        self.c_attn = nn.Linear(C, 3 * C)  # weight [3C, C]: q, k, v stacked in that order
        self.c_proj = nn.Linear(C, C)

    def forward(self, x):  # x [B, T, C]
        B, T, C = x.shape
        NH = self.n_head
        hs = C // NH
        q, k, v = self.c_attn(x).split(C, dim=2)  # each [B, T, C]
        q = q.view(B, T, NH, hs).transpose(1, 2)  # [B, NH, T, hs]
        k = k.view(B, T, NH, hs).transpose(1, 2)
        v = v.view(B, T, NH, hs).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hs))  # [B, NH, T, T]
        causal = torch.ones(T, T, dtype=torch.bool, device=x.device).tril()
        att = att.masked_fill(~causal, float("-inf"))
        att = F.softmax(att, dim=-1)
        y = att @ v  # [B, NH, T, hs]
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.c_proj(y)


class Mlp(nn.Module):
    def __init__(self, C):
        super().__init__()
        self.c_fc = nn.Linear(C, 4 * C)
        self.c_proj = nn.Linear(4 * C, C)

    def forward(self, x):
        return self.c_proj(gelu_tanh(self.c_fc(x)))


class Block(nn.Module):
    def __init__(self, C, NH):
        super().__init__()
        self.ln_1 = nn.LayerNorm(C, eps=LN_EPS)
        self.attn = Attention(C, NH)
        self.ln_2 = nn.LayerNorm(C, eps=LN_EPS)
        self.mlp = Mlp(C)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        x = x + self.mlp(self.ln_2(x))
        return x


class Gpt2(nn.Module):
    """Module names match Hugging Face's GPT2Model, so named_parameters() gives the file's names
    (only the Conv1D weights differ in layout, transposed on export)."""

    def __init__(self, n_layer, n_head, n_embd, n_positions, vocab_size):
        super().__init__()
        self.wte = nn.Embedding(vocab_size, n_embd)  # [V, C]
        self.wpe = nn.Embedding(n_positions, n_embd)  # [maxT, C]
        self.h = nn.ModuleList([Block(n_embd, n_head) for _ in range(n_layer)])
        self.ln_f = nn.LayerNorm(n_embd, eps=LN_EPS)

    def forward(self, idx, targets=None):  # idx [B, T] int64
        B, T = idx.shape
        pos = torch.arange(T, device=idx.device)
        x = self.wte(idx) + self.wpe(pos)  # [B, T, C]
        for block in self.h:
            x = block(x)
        x = self.ln_f(x)
        logits = x @ self.wte.weight.t()  # [B, T, V]; output projection tied to wte
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))
        return logits, loss


def is_conv1d_weight(name):
    return name.endswith(".weight") and any(p in name for p in (".c_attn.", ".c_proj.", ".c_fc."))


def init_weights(model, n_layer, seed):
    """Every tensor non-trivial (no zero biases, no unit gains) so every term of the
    backward pass shows up in the gradients the fixture checks."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():  # a fixed order, so the draw is reproducible
            if ".ln_" in name or name.startswith("ln_"):
                if name.endswith(".weight"):
                    p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=g))
                else:
                    p.copy_(0.1 * torch.randn(p.shape, generator=g))
            elif name.endswith("c_proj.weight"):
                # GPT-2's residual-projection scaling: two residual adds per layer.
                p.copy_((0.02 / math.sqrt(2 * n_layer)) * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.02 * torch.randn(p.shape, generator=g))


def load_batch(path, offset, B, T):
    with open(path, "rb") as f:
        data = f.read()
    need = offset + B * T + 1
    if len(data) < need:
        raise SystemExit(f"{path}: {len(data)} bytes, need at least {need}")
    # Byte-level tokens (V = 256); B consecutive windows of T, targets shifted by one.
    x = [list(data[offset + b * T: offset + b * T + T]) for b in range(B)]
    y = [list(data[offset + b * T + 1: offset + b * T + T + 1]) for b in range(B)]
    return torch.tensor(x, dtype=torch.long), torch.tensor(y, dtype=torch.long)


def write_safetensors(path, tensors, metadata):
    """tensors: list of (name, torch tensor); F32 and I32 only. Written to a temp file, then
    renamed, so a rerun never leaves a half-written fixture."""
    dtypes = {torch.float32: "F32", torch.int32: "I32"}
    header = {"__metadata__": {k: str(v) for k, v in metadata.items()}}
    blobs = []
    offset = 0
    for name, t in sorted(tensors, key=lambda nt: nt[0]):
        t = t.detach().contiguous().cpu()
        raw = t.numpy().astype(t.numpy().dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": dtypes[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    hjson = json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8")
    hjson += b" " * (-len(hjson) % 8)  # the format pads the header so the data starts 8-aligned
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        for raw in blobs:
            f.write(raw)
    os.replace(tmp, path)


def export_name_and_tensor(name, t):
    # Linear weights are [out, in]; HF GPT-2's Conv1D stores [in, out].
    return name, (t.t().contiguous() if is_conv1d_weight(name) else t)


def main():
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(repo, "tests", "Fixtures", "gpt2_tiny.safetensors"))
    ap.add_argument("--data", default=os.path.join(repo, "..", "shared", "data", "moby-dick.txt"))
    ap.add_argument("--model", default="tiny", choices=sorted(CONFIGS))
    ap.add_argument("--offset", type=int, default=100000, help="byte offset of the first window")
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--seq", type=int, default=64)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1337)
    args = ap.parse_args()

    # One thread and deterministic kernels: the fixture must come out bit-identical on a rerun.
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(args.seed)

    cfg = CONFIGS[args.model]
    B, T = args.batch, args.seq
    if T > cfg["n_positions"]:
        raise SystemExit(f"--seq {T} exceeds n_positions {cfg['n_positions']}")
    model = Gpt2(**cfg)
    init_weights(model, cfg["n_layer"], args.seed)
    x, y = load_batch(args.data, args.offset, B, T)

    out = []
    for name, p in model.named_parameters():
        out.append(export_name_and_tensor(name, p.detach().clone()))

    # Forward and backward at the initial weights.
    logits, loss = model(x, y)
    loss.backward()
    for name, p in model.named_parameters():
        gname, g = export_name_and_tensor(name, p.grad.detach().clone())
        out.append(("grad." + gname, g))
    out.append(("logits", logits.detach().clone()))
    out.append(("loss", loss.detach().reshape(1).clone()))

    # Training: decay the matrices (embeddings and matmul weights), not biases or layernorm.
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    lr, betas, eps, wd, clip = 1e-3, (0.9, 0.999), 1e-8, 0.1, 1.0
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": wd}, {"params": no_decay, "weight_decay": 0.0}],
        lr=lr, betas=betas, eps=eps)
    losses, norms = [], []
    for _ in range(args.steps):
        opt.zero_grad(set_to_none=True)
        _, loss = model(x, y)  # the same batch every step, as llm.c's test does
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), clip)  # the norm before clipping
        opt.step()
        losses.append(loss.item())
        norms.append(float(norm))

    out.append(("x", x.to(torch.int32)))
    out.append(("y", y.to(torch.int32)))
    out.append(("losses", torch.tensor(losses, dtype=torch.float32)))
    out.append(("grad_norms", torch.tensor(norms, dtype=torch.float32)))

    metadata = dict(cfg)
    metadata.update(
        layer_norm_epsilon=LN_EPS, batch=B, seq=T, steps=args.steps, seed=args.seed,
        data="moby-dick.txt", data_offset=args.offset,
        lr=lr, beta1=betas[0], beta2=betas[1], eps=eps, weight_decay=wd, grad_clip=clip,
        torch_version=torch.__version__,
        format="parameters under Hugging Face GPT-2 names (Conv1D weights [in, out]); grad.<name> same layout")
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    write_safetensors(args.out, out, metadata)

    n_params = sum(p.numel() for p in model.parameters())
    print(f"model {args.model}: {n_params} parameters, B={B} T={T}")
    print(f"initial loss {losses[0]:.6f} (ln V = {math.log(cfg['vocab_size']):.6f})")
    for i, (l, n) in enumerate(zip(losses, norms)):
        print(f"step {i}: loss {l:.6f}  grad norm {n:.6f}")
    print(f"wrote {args.out} ({os.path.getsize(args.out)} bytes)")


if __name__ == "__main__":
    main()
