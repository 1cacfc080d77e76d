"""The Llama model the engine runs (src/Runtime/Models/Llama.cs), written for PyTorch 1.13 on the
CPU as fast as it goes there, shared by bench_train.py and bench_generate.py.

The graph: token embedding; per block RMSNorm, q/k/v projections, rotate-half RoPE on q and k,
causal grouped-query attention (query head h reads key/value head h // (NH // NKV), Hugging
Face's repeat_kv), o projection, residual, RMSNorm, SwiGLU MLP (down(silu(gate(x)) * up(x))),
residual; final RMSNorm; output head tied to the embedding or not. No biases (the presets have
none). Initialisation as Hugging Face's (and the engine's): matrices N(0, 0.02), norm gains 1.

What makes it fast in torch 1.13 (no scaled_dot_product_attention there):
- q, k and v are one [Q + 2·KV, C] matmul and gate/up one [2·I, C] matmul: the same weights as
  separate projections, concatenated (one larger sgemm beats three small ones);
- attention is batched matmuls over [B·NH, T, hd] with the scale and the causal mask folded
  into baddbmm; the key/value heads are repeated by expand + reshape (one copy, the one bmm
  needs anyway);
- RoPE's cos/sin tables are built once per length.
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

# The engine's presets (src/Runtime/Models/LlamaConfig.cs), under the same names.
LLAMA_PRESETS = {
    "llama-tiny": dict(hidden_size=64, intermediate_size=176, num_hidden_layers=2, num_attention_heads=4,
                       num_key_value_heads=2, max_position_embeddings=256, vocab_size=256, rms_norm_eps=1e-5,
                       rope_theta=10000.0, tie_word_embeddings=False),
    "smollm-135m": dict(hidden_size=576, intermediate_size=1536, num_hidden_layers=30, num_attention_heads=9,
                        num_key_value_heads=3, max_position_embeddings=8192, vocab_size=49152, rms_norm_eps=1e-5,
                        rope_theta=100000.0, tie_word_embeddings=True),
    "tinyllama-1.1b": dict(hidden_size=2048, intermediate_size=5632, num_hidden_layers=22, num_attention_heads=32,
                           num_key_value_heads=4, max_position_embeddings=2048, vocab_size=32000, rms_norm_eps=1e-5,
                           rope_theta=10000.0, tie_word_embeddings=False),
}


def llama_flops_per_step(cfg, B, T):
    """LlamaConfig.TrainingFlops: 6 FLOPs per matmul weight per token (forward + backward), the
    output head counted once (tied or not; the embedding lookup is no matmul), plus 12·L·T·(NH·hd)
    per token for attention scores and values, not halved for the causal mask."""
    C, I, L, V = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"], cfg["vocab_size"]
    hd = C // cfg["num_attention_heads"]
    q, kv = cfg["num_attention_heads"] * hd, cfg["num_key_value_heads"] * hd
    p_mm = L * (C * q * 2 + C * kv * 2 + 3 * C * I) + V * C
    return B * T * (6 * p_mm + 12 * L * T * q)


def rms_norm(x, weight, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight


def rope_tables(hd, theta, T, dtype=torch.float32):
    """cos, sin [T, hd] for positions 0..T-1, each half repeated (rotate-half layout), computed in float64."""
    inv = 1.0 / (theta ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
    pos = torch.arange(T, dtype=torch.float64)
    f = torch.outer(pos, inv)
    f = torch.cat([f, f], dim=-1)
    return f.cos().to(dtype), f.sin().to(dtype)


def rotate(x, cos, sin):
    """x [..., T, hd] rotated by rotate-half RoPE."""
    h = x.shape[-1] // 2
    return x * cos + torch.cat([-x[..., h:], x[..., :h]], dim=-1) * sin


class LlamaBlock(nn.Module):
    def __init__(self, C, I, NH, NKV, eps):
        super().__init__()
        self.C, self.I, self.NH, self.NKV, self.hd, self.eps = C, I, NH, NKV, C // NH, eps
        Q, KV = NH * self.hd, NKV * self.hd
        self.ln1 = nn.Parameter(torch.ones(C))
        self.qkv = nn.Linear(C, Q + 2 * KV, bias=False)  # rows: q, then k, then v
        self.o = nn.Linear(Q, C, bias=False)
        self.ln2 = nn.Parameter(torch.ones(C))
        self.gate_up = nn.Linear(C, 2 * I, bias=False)  # rows: gate, then up
        self.down = nn.Linear(I, C, bias=False)

    def forward(self, x, cos, sin, bias):  # x [B, T, C]
        B, T, C = x.shape
        NH, NKV, hd = self.NH, self.NKV, self.hd
        g = NH // NKV
        qkv = self.qkv(rms_norm(x, self.ln1, self.eps)).view(B, T, NH + 2 * NKV, hd).transpose(1, 2)  # [B, NH+2NKV, T, hd]
        q, k, v = qkv.split([NH, NKV, NKV], dim=1)
        q = rotate(q, cos, sin).reshape(B * NH, T, hd)
        k = rotate(k, cos, sin)
        # repeat_kv: key/value head j serves query heads j*g .. j*g+g-1.
        k = k[:, :, None].expand(B, NKV, g, T, hd).reshape(B * NH, T, hd)
        v = v[:, :, None].expand(B, NKV, g, T, hd).reshape(B * NH, T, hd)
        att = torch.baddbmm(bias, q, k.transpose(1, 2), beta=1.0, alpha=1.0 / math.sqrt(hd))  # [B*NH, T, T]
        y = torch.bmm(F.softmax(att, dim=-1), v)  # [B*NH, T, hd]
        y = y.view(B, NH, T, hd).transpose(1, 2).reshape(B, T, NH * hd)
        x = x + self.o(y)
        gate, up = self.gate_up(rms_norm(x, self.ln2, self.eps)).split(self.I, dim=-1)
        return x + self.down(F.silu(gate) * up)


class Llama(nn.Module):
    def __init__(self, hidden_size, intermediate_size, num_hidden_layers, num_attention_heads, num_key_value_heads,
                 max_position_embeddings, vocab_size, rms_norm_eps, rope_theta, tie_word_embeddings):
        super().__init__()
        C, self.eps, self.theta = hidden_size, rms_norm_eps, rope_theta
        self.hd = C // num_attention_heads
        self.embed = nn.Embedding(vocab_size, C)
        self.h = nn.ModuleList([LlamaBlock(C, intermediate_size, num_attention_heads, num_key_value_heads, rms_norm_eps)
                                for _ in range(num_hidden_layers)])
        self.norm = nn.Parameter(torch.ones(C))
        self.lm_head = None if tie_word_embeddings else nn.Linear(C, vocab_size, bias=False)
        for p in self.parameters():
            if p.dim() >= 2:
                nn.init.normal_(p, 0.0, 0.02)
        self._tables = {}

    def head_weight(self):
        return self.embed.weight if self.lm_head is None else self.lm_head.weight

    def tables(self, T):
        if T not in self._tables:
            dtype = self.embed.weight.dtype
            cos, sin = rope_tables(self.hd, self.theta, T, dtype)
            bias = torch.zeros(T, T, dtype=dtype).masked_fill(~torch.ones(T, T, dtype=torch.bool).tril(), float("-inf"))
            self._tables[T] = (cos, sin, bias)
        return self._tables[T]

    def forward(self, idx, targets):
        B, T = idx.shape
        cos, sin, bias = self.tables(T)
        x = self.embed(idx)
        for block in self.h:
            x = block(x, cos, sin, bias)
        logits = F.linear(rms_norm(x, self.norm, self.eps), self.head_weight())
        return F.cross_entropy(logits.view(B * T, -1), targets.view(B * T))


class LlamaKvDecoder:
    """Runs a Llama incrementally over a preallocated KV cache [B, NKV, maxT, hd] per layer, only
    the key/value heads (the g query heads of a group attend to their shared head in one matmul)."""

    def __init__(self, model, cfg, B, maxT, linear):
        self.m, self.linear, self.B = model, linear, B
        self.NH, self.NKV = cfg["num_attention_heads"], cfg["num_key_value_heads"]
        self.hd = cfg["hidden_size"] // self.NH
        L = cfg["num_hidden_layers"]
        dtype = model.embed.weight.dtype
        self.k = [torch.zeros(B, self.NKV, maxT, self.hd, dtype=dtype) for _ in range(L)]
        self.v = [torch.zeros(B, self.NKV, maxT, self.hd, dtype=dtype) for _ in range(L)]
        self.cos, self.sin = rope_tables(self.hd, cfg["rope_theta"], maxT, dtype)
        self.pos = 0

    def feed(self, idx):  # idx [B, Tq] -> logits [B, V] of each row's last token
        m, B, NH, NKV, hd, lin = self.m, self.B, self.NH, self.NKV, self.hd, self.linear
        g = NH // NKV
        Tq = idx.shape[1]
        p0, p1 = self.pos, self.pos + Tq
        cos, sin = self.cos[p0:p1], self.sin[p0:p1]
        x = m.embed(idx)
        for l, blk in enumerate(m.h):
            qkv = lin(rms_norm(x, blk.ln1, blk.eps), blk.qkv.weight).view(B, Tq, NH + 2 * NKV, hd).transpose(1, 2)
            q, k, v = qkv.split([NH, NKV, NKV], dim=1)
            self.k[l][:, :, p0:p1] = rotate(k, cos, sin)
            self.v[l][:, :, p0:p1] = v
            keys, values = self.k[l][:, :, :p1], self.v[l][:, :, :p1]
            # Query heads grouped under their key/value head: [B, NKV, g*Tq, hd].
            q = rotate(q, cos, sin).reshape(B, NKV, g * Tq, hd)
            att = torch.matmul(q, keys.transpose(-1, -2)) * (1.0 / math.sqrt(hd))  # [B, NKV, g*Tq, p1]
            if Tq > 1:
                mask = torch.ones(Tq, p1, dtype=torch.bool).tril(diagonal=p0).repeat(g, 1)
                att = att.masked_fill(~mask, float("-inf"))
            y = torch.matmul(F.softmax(att, dim=-1), values)  # [B, NKV, g*Tq, hd] = [B, NH, Tq, hd]
            x = x + lin(y.view(B, NH, Tq, hd).transpose(1, 2).reshape(B, Tq, NH * hd), blk.o.weight)
            gate, up = lin(rms_norm(x, blk.ln2, blk.eps), blk.gate_up.weight).split(blk.I, dim=-1)
            x = x + lin(F.silu(gate) * up, blk.down.weight)
        self.pos = p1
        return lin(rms_norm(x[:, -1, :], m.norm, m.eps), m.head_weight())
