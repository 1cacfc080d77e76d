#!/usr/bin/python3
"""An independent PyTorch Llama-family model (Llama, Qwen2, Qwen3), written from Hugging Face's
modeling semantics (not from its code, which is not imported), that writes the fixtures the C#
engine is checked against: Hugging Face checkpoint folders (F32, BF16, sharded F32), each
model's logits, loss, every parameter gradient and 10 AdamW steps, and the held-out loss of
every folder.

Run:  /usr/bin/python3 tools/reference/llama_reference.py

It writes, under tests/Fixtures/llama/:
  {name}/config.json + model.safetensors   F32, Hugging Face names, tensors sorted by name
  {name}_bf16/                             the same weights rounded to bfloat16 (BF16 tensors)
  llama_sharded/                           llama's F32 weights in two shards + the index
  {name}_expected.safetensors              params, grad.<name>, x, y, logits, loss, losses,
                                           grad_norms, params_after.<name>
  expected.json                            each folder's loss on tests/Fixtures/hf_eval.txt
for name in llama, qwen2, qwen3. Safetensors are written by hand (no safetensors package).
"""

import argparse
import json
import math
import os
import shutil
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gpt2_reference import load_batch  # noqa: E402  (byte windows with shifted targets)

# Dimension letters in the shape comments: B batch, T time, C hidden size, NH query heads,
# NKV key/value heads, hd head size, I intermediate size, V vocabulary, L layers.

# Llama 3.1's rope scaling, sized for hd=16: with theta 10000 the 8 frequencies have
# wavelengths 2π·10000^(i/8) = 6.3, 19.9, 62.8, 199, 628, 1987, 6283, 19869. With
# original_max_position_embeddings 32, high_freq_wavelen = 32/4 = 8 and low_freq_wavelen
# = 32/1 = 32: i=0 (6.3 < 8) is kept, i=1 (8 <= 19.9 <= 32) is interpolated (smooth = 0.27),
# and i=2..7 (> 32) are divided by the factor, so every band is exercised
# (check_llama3_bands asserts it).
LLAMA3_SCALING = {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                  "original_max_position_embeddings": 32}

# The Hugging Face config.json of each model: the keys its config class writes.
CONFIGS = {
    "llama": {
        "architectures": ["LlamaForCausalLM"],
        "attention_bias": False,
        "attention_dropout": 0.0,
        "bos_token_id": 254,
        "eos_token_id": 255,
        "head_dim": 16,
        "hidden_act": "silu",
        "hidden_size": 64,
        "initializer_range": 0.02,
        "intermediate_size": 176,
        "max_position_embeddings": 128,
        "mlp_bias": False,
        "model_type": "llama",
        "num_attention_heads": 4,
        "num_hidden_layers": 2,
        "num_key_value_heads": 2,
        "pretraining_tp": 1,
        "rms_norm_eps": 1e-5,
        "rope_scaling": LLAMA3_SCALING,
        "rope_theta": 10000.0,
        "tie_word_embeddings": False,
        "torch_dtype": "float32",
        "transformers_version": "4.46.0",
        "use_cache": True,
        "vocab_size": 256,
    },
    # Qwen2Config has no head_dim (hd = C/NH) and no attention_bias: q/k/v always have biases.
    "qwen2": {
        "architectures": ["Qwen2ForCausalLM"],
        "attention_dropout": 0.0,
        "bos_token_id": 254,
        "eos_token_id": 255,
        "hidden_act": "silu",
        "hidden_size": 64,
        "initializer_range": 0.02,
        "intermediate_size": 160,
        "max_position_embeddings": 128,
        "max_window_layers": 2,
        "model_type": "qwen2",
        "num_attention_heads": 4,
        "num_hidden_layers": 2,
        "num_key_value_heads": 1,
        "rms_norm_eps": 1e-6,
        "rope_scaling": None,
        "rope_theta": 1000000.0,
        "sliding_window": None,
        "tie_word_embeddings": True,
        "torch_dtype": "float32",
        "transformers_version": "4.46.0",
        "use_cache": True,
        "use_sliding_window": False,
        "vocab_size": 256,
    },
    # Qwen3: head_dim 24, so NH*hd = 96 != C = 64; per-head q_norm/k_norm before rope.
    "qwen3": {
        "architectures": ["Qwen3ForCausalLM"],
        "attention_bias": False,
        "attention_dropout": 0.0,
        "bos_token_id": 254,
        "eos_token_id": 255,
        "head_dim": 24,
        "hidden_act": "silu",
        "hidden_size": 64,
        "initializer_range": 0.02,
        "intermediate_size": 128,
        "max_position_embeddings": 128,
        "max_window_layers": 2,
        "model_type": "qwen3",
        "num_attention_heads": 4,
        "num_hidden_layers": 2,
        "num_key_value_heads": 2,
        "rms_norm_eps": 1e-6,
        "rope_scaling": None,
        "rope_theta": 1000000.0,
        "sliding_window": None,
        "tie_word_embeddings": True,
        "torch_dtype": "float32",
        "transformers_version": "4.51.0",
        "use_cache": True,
        "use_sliding_window": False,
        "vocab_size": 256,
    },
}

SEEDS = {"llama": 1001, "qwen2": 1002, "qwen3": 1003}


class Arch:
    """What the modeling code of each model_type derives from its config."""

    def __init__(self, cfg):
        self.C = cfg["hidden_size"]
        self.NH = cfg["num_attention_heads"]
        self.NKV = cfg.get("num_key_value_heads") or self.NH
        self.hd = cfg.get("head_dim") or self.C // self.NH
        self.I = cfg["intermediate_size"]
        self.L = cfg["num_hidden_layers"]
        self.V = cfg["vocab_size"]
        self.eps = cfg["rms_norm_eps"]
        self.theta = cfg["rope_theta"]
        self.rope_scaling = cfg.get("rope_scaling")
        self.tied = cfg["tie_word_embeddings"]
        mt = cfg["model_type"]
        if mt == "qwen2":
            self.qkv_bias, self.o_bias, self.qk_norm = True, False, False
        elif mt == "qwen3":
            self.qkv_bias = self.o_bias = bool(cfg.get("attention_bias", False))
            self.qk_norm = True
        elif mt == "llama":
            # LlamaAttention puts attention_bias on all four projections.
            self.qkv_bias = self.o_bias = bool(cfg.get("attention_bias", False))
            self.qk_norm = False
        else:
            raise ValueError(f"model_type {mt!r}")
        if cfg.get("hidden_act", "silu") != "silu":
            raise ValueError("only silu")
        if self.NH % self.NKV != 0:
            raise ValueError(f"{self.NH} heads do not split into {self.NKV} kv groups")


class RMSNorm(nn.Module):
    """y = weight * (x * rsqrt(mean(x^2) + eps)), statistics in at least float32."""

    def __init__(self, n, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))
        self.eps = eps

    def forward(self, x):
        dt = x.dtype
        h = x.to(torch.float64 if dt == torch.float64 else torch.float32)
        h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * h.to(dt)


def inverse_frequencies(hd, theta, scaling, dtype):
    """inv_freq[i] = 1 / theta^(2i/hd), i < hd/2, then rope_scaling (linear or llama3).
    Computed in `dtype` (float32 as Hugging Face does for a float32 model)."""
    inv = 1.0 / (theta ** (torch.arange(0, hd, 2, dtype=torch.int64).to(dtype) / hd))
    if scaling is None:
        return inv
    kind = scaling.get("rope_type", scaling.get("type"))
    if kind == "default":
        return inv
    if kind == "linear":
        return inv / scaling["factor"]
    if kind == "llama3":
        factor = scaling["factor"]
        low, high = scaling["low_freq_factor"], scaling["high_freq_factor"]
        orig = scaling["original_max_position_embeddings"]
        low_wavelen, high_wavelen = orig / low, orig / high
        wavelen = 2 * math.pi / inv
        out = torch.where(wavelen > low_wavelen, inv / factor, inv)
        smooth = (orig / wavelen - low) / (high - low)
        smoothed = (1 - smooth) * out / factor + smooth * out
        medium = ~(wavelen < high_wavelen) & ~(wavelen > low_wavelen)
        return torch.where(medium, smoothed, out)
    raise ValueError(f"rope_scaling type {kind!r}")


def llama3_bands(hd, theta, scaling):
    """How many frequencies fall in each band: kept (high), interpolated, divided (low)."""
    inv = 1.0 / (theta ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
    wavelen = 2 * math.pi / inv
    orig = scaling["original_max_position_embeddings"]
    hi_w, lo_w = orig / scaling["high_freq_factor"], orig / scaling["low_freq_factor"]
    kept = int((wavelen < hi_w).sum())
    divided = int((wavelen > lo_w).sum())
    return kept, len(inv) - kept - divided, divided


def rope_tables(hd, theta, scaling, T, dtype):
    """cos/sin [T, hd]: angles pos*inv_freq, the hd/2 of them concatenated twice."""
    inv = inverse_frequencies(hd, theta, scaling, dtype)
    pos = torch.arange(T, dtype=dtype)
    freqs = pos[:, None] * inv[None, :]  # [T, hd/2]
    emb = torch.cat([freqs, freqs], dim=-1)  # [T, hd]
    return emb.cos(), emb.sin()


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat([-x[..., half:], x[..., :half]], dim=-1)


def apply_rope(x, cos, sin):  # x [B, H, T, hd], cos/sin [T, hd]
    return x * cos + rotate_half(x) * sin


class Attention(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.a = a
        self.q_proj = nn.Linear(a.C, a.NH * a.hd, bias=a.qkv_bias)  # [NH*hd, C]
        self.k_proj = nn.Linear(a.C, a.NKV * a.hd, bias=a.qkv_bias)  # [NKV*hd, C]
        self.v_proj = nn.Linear(a.C, a.NKV * a.hd, bias=a.qkv_bias)
        self.o_proj = nn.Linear(a.NH * a.hd, a.C, bias=a.o_bias)  # [C, NH*hd]
        if a.qk_norm:
            self.q_norm = RMSNorm(a.hd, a.eps)  # over head_dim, shared by all heads
            self.k_norm = RMSNorm(a.hd, a.eps)

    def forward(self, x, cos, sin):  # x [B, T, C]
        a = self.a
        B, T, _ = x.shape
        q = self.q_proj(x).view(B, T, a.NH, a.hd)
        k = self.k_proj(x).view(B, T, a.NKV, a.hd)
        v = self.v_proj(x).view(B, T, a.NKV, a.hd)
        if a.qk_norm:  # Qwen3: per-head RMSNorm before rope
            q = self.q_norm(q)
            k = self.k_norm(k)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)  # [B, H, T, hd]
        q = apply_rope(q, cos, sin)
        k = apply_rope(k, cos, sin)
        group = a.NH // a.NKV
        # query head h reads kv head h // group
        k = k.repeat_interleave(group, dim=1)  # [B, NH, T, hd]
        v = v.repeat_interleave(group, dim=1)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(a.hd))  # [B, NH, T, T]
        causal = torch.ones(T, T, dtype=torch.bool).tril()
        att = att.masked_fill(~causal, float("-inf"))
        att = F.softmax(att, dim=-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, a.NH * a.hd)
        return self.o_proj(y)


class Mlp(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.gate_proj = nn.Linear(a.C, a.I, bias=False)  # [I, C]
        self.up_proj = nn.Linear(a.C, a.I, bias=False)  # [I, C]
        self.down_proj = nn.Linear(a.I, a.C, bias=False)  # [C, I]

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class DecoderLayer(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.input_layernorm = RMSNorm(a.C, a.eps)
        self.self_attn = Attention(a)
        self.post_attention_layernorm = RMSNorm(a.C, a.eps)
        self.mlp = Mlp(a)

    def forward(self, x, cos, sin):
        h = x + self.self_attn(self.input_layernorm(x), cos, sin)
        return h + self.mlp(self.post_attention_layernorm(h))


class Backbone(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.embed_tokens = nn.Embedding(a.V, a.C)  # [V, C]
        self.layers = nn.ModuleList([DecoderLayer(a) for _ in range(a.L)])
        self.norm = RMSNorm(a.C, a.eps)


class CausalLM(nn.Module):
    """Module names match Hugging Face's *ForCausalLM, so named_parameters() gives the file's names."""

    def __init__(self, cfg):
        super().__init__()
        a = self.a = Arch(cfg)
        self.model = Backbone(a)
        if not a.tied:
            self.lm_head = nn.Linear(a.C, a.V, bias=False)  # [V, C]

    def forward(self, idx, targets=None):  # idx [B, T] int64
        a = self.a
        T = idx.shape[1]
        dtype = self.model.embed_tokens.weight.dtype
        cos, sin = rope_tables(a.hd, a.theta, a.rope_scaling, T, dtype)
        x = self.model.embed_tokens(idx)  # [B, T, C]
        for layer in self.model.layers:
            x = layer(x, cos, sin)
        x = self.model.norm(x)
        w = self.model.embed_tokens.weight if a.tied else self.lm_head.weight
        logits = x @ w.t()  # [B, T, V]
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1))
        return logits, loss


def init_weights(model, seed):
    """Every tensor non-trivial: norm gains 1 + 0.2·randn, biases 0.1·randn, embeddings
    0.25·randn, other matrices randn/sqrt(fan_in); the untied lm_head is drawn like the
    embeddings (0.25·randn) so its logits spread as a tied head's do and the loss lands far
    from ln(V)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():  # a fixed order: the draw is reproducible
            if name.endswith("norm.weight"):
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=g))
            elif name.endswith(".bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            elif name in ("model.embed_tokens.weight", "lm_head.weight"):
                p.copy_(0.25 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(torch.randn(p.shape, generator=g) / math.sqrt(p.shape[1]))  # [out, in]


def tensor_bytes(t):
    t = t.detach().contiguous().cpu()
    if t.dtype == torch.bfloat16:
        # numpy has no bfloat16: the 16-bit patterns (little-endian host).
        return t.view(torch.int16).numpy().astype("<i2", copy=False).tobytes()
    if t.dtype == torch.float32:
        return t.numpy().astype("<f4", copy=False).tobytes()
    if t.dtype == torch.int32:
        return t.numpy().astype("<i4", copy=False).tobytes()
    raise TypeError(t.dtype)


def write_safetensors(path, tensors, metadata):
    """tensors: list of (name, tensor) in F32, BF16 or I32, written sorted by name; metadata
    values are strings. Written aside, then renamed."""
    dtypes = {torch.float32: "F32", torch.bfloat16: "BF16", torch.int32: "I32"}
    header = {"__metadata__": {k: str(v) for k, v in metadata.items()}}
    blobs = []
    offset = 0
    for name, t in sorted(tensors, key=lambda nt: nt[0]):
        raw = tensor_bytes(t)
        header[name] = {"dtype": dtypes[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    hjson = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hjson += b" " * (-len(hjson) % 8)  # data starts 8-aligned
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        for raw in blobs:
            f.write(raw)
    os.replace(tmp, path)


def write_json(path, obj):
    # PretrainedConfig.to_json_file and save_pretrained's index: indent 2, sorted keys.
    with open(path, "w", encoding="utf-8") as f:
        f.write(json.dumps(obj, indent=2, sort_keys=True) + "\n")


def fresh_folder(folder):
    if os.path.isdir(folder):
        shutil.rmtree(folder)
    os.makedirs(folder)


def write_folder(folder, cfg, tensors, torch_dtype):
    fresh_folder(folder)
    write_json(os.path.join(folder, "config.json"), dict(cfg, torch_dtype=torch_dtype))
    write_safetensors(os.path.join(folder, "model.safetensors"), tensors, {"format": "pt"})


def write_sharded(folder, cfg, tensors, shards=2):
    """save_pretrained's layout: tensors in state-dict order filled into shards of about
    total/shards bytes, model-0000k-of-0000n.safetensors, and the index."""
    fresh_folder(folder)
    write_json(os.path.join(folder, "config.json"), dict(cfg, torch_dtype="float32"))
    total = sum(t.numel() * t.element_size() for _, t in tensors)
    limit = total / shards
    groups, size = [[]], 0
    for name, t in tensors:
        n = t.numel() * t.element_size()
        if groups[-1] and size + n > limit and len(groups) < shards:
            groups.append([])
            size = 0
        groups[-1].append((name, t))
        size += n
    assert len(groups) == shards, f"{len(groups)} shards"
    weight_map = {}
    for k, group in enumerate(groups):
        fname = f"model-{k + 1:05d}-of-{shards:05d}.safetensors"
        write_safetensors(os.path.join(folder, fname), group, {"format": "pt"})
        for name, _ in group:
            weight_map[name] = fname
    write_json(os.path.join(folder, "model.safetensors.index.json"),
               {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))})
    return {fname: sum(1 for v in weight_map.values() if v == fname) for fname in sorted(set(weight_map.values()))}


# ---- sanity checks ----

def check_gqa_equals_mha(cfg, seed):
    """GQA equals plain multi-head attention (NKV = NH) whose k/v weights repeat each kv head
    for its group of query heads."""
    a = Arch(cfg)
    if a.NKV == a.NH:
        return
    gqa = Attention(a).double()
    a_mha = Arch(dict(cfg, num_key_value_heads=a.NH))
    mha = Attention(a_mha).double()
    g = torch.Generator().manual_seed(seed)
    group = a.NH // a.NKV
    with torch.no_grad():
        for _, p in gqa.named_parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float64))
        src = dict(gqa.named_parameters())
        for name, p in mha.named_parameters():
            s = src[name]
            if name.startswith(("k_proj.", "v_proj.")):
                s = s.view(a.NKV, a.hd, *s.shape[1:]).repeat_interleave(group, dim=0).reshape(p.shape)
            p.copy_(s)
        T = 12
        x = torch.randn(2, T, a.C, generator=g, dtype=torch.float64)
        cos, sin = rope_tables(a.hd, a.theta, a.rope_scaling, T, torch.float64)
        y1, y2 = gqa(x, cos, sin), mha(x, cos, sin)
    err = (y1 - y2).abs().max().item()
    assert err < 1e-12, f"{cfg['model_type']}: GQA vs MHA differ by {err}"


def check_rope(a):
    """The rotation keeps each (i, i + hd/2) pair's length, and position 0 is the identity."""
    cos, sin = rope_tables(a.hd, a.theta, a.rope_scaling, 9, torch.float64)
    x = torch.randn(1, 1, 9, a.hd, dtype=torch.float64, generator=torch.Generator().manual_seed(7))
    y = apply_rope(x, cos, sin)
    h = a.hd // 2
    pair = lambda t: t[..., :h] ** 2 + t[..., h:] ** 2  # noqa: E731
    assert torch.allclose(pair(x), pair(y), atol=1e-12)
    assert torch.equal(y[..., 0, :], x[..., 0, :])


def check_llama3_bands(a):
    kept, interpolated, divided = llama3_bands(a.hd, a.theta, a.rope_scaling)
    assert kept > 0 and interpolated > 0 and divided > 0, (kept, interpolated, divided)
    return kept, interpolated, divided


# ---- evaluation ----

def eval_loss(model, tokens, T):
    """hyper eval's windows: window k has inputs tokens[kT, kT+T), targets tokens[kT+1, kT+T+1),
    for every k with kT+T+1 <= N; the mean cross-entropy, accumulated in float64."""
    n = len(tokens)
    windows = (n - 1) // T
    if windows == 0:
        raise SystemExit(f"{n} tokens are fewer than one window of {T + 1}")
    data = torch.tensor(tokens, dtype=torch.long)
    x = torch.stack([data[k * T: k * T + T] for k in range(windows)])
    y = torch.stack([data[k * T + 1: k * T + T + 1] for k in range(windows)])
    with torch.no_grad():
        logits, _ = model(x)
        loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)).double(), y.reshape(-1))
    return loss.item(), windows


def model_from(cfg, params, dtype, round_bf16=False):
    m = CausalLM(cfg).to(dtype)
    with torch.no_grad():
        for name, p in m.named_parameters():
            s = params[name]
            if round_bf16:
                s = s.to(torch.bfloat16)  # round to nearest even, as the file holds
            p.copy_(s.to(dtype))
    return m


def run_model(name, args, fixtures, tokens):
    cfg = CONFIGS[name]
    a = Arch(cfg)
    seed = SEEDS[name] + args.seed_offset
    check_gqa_equals_mha(cfg, seed)
    check_rope(a)
    bands = check_llama3_bands(a) if a.rope_scaling and a.rope_scaling.get("rope_type") == "llama3" else None

    torch.manual_seed(seed)
    model = CausalLM(cfg)
    init_weights(model, seed)
    ordered = [(n, p.detach().clone()) for n, p in model.named_parameters()]  # state-dict order
    params = dict(ordered)

    # Checkpoint folders.
    write_folder(os.path.join(fixtures, name), cfg, ordered, "float32")
    write_folder(os.path.join(fixtures, name + "_bf16"), cfg,
                 [(n, t.to(torch.bfloat16)) for n, t in ordered], "bfloat16")
    shards = None
    if name == "llama":
        shards = write_sharded(os.path.join(fixtures, "llama_sharded"), cfg, ordered)

    # Forward, backward, training on one batch.
    B, T = args.batch, args.seq
    x, y = load_batch(args.data, args.offset, B, T)
    out = [(n, t) for n, t in ordered]
    logits, loss = model(x, y)
    loss.backward()
    for n, p in model.named_parameters():
        g = p.grad.detach().clone()
        assert g.abs().max().item() > 0, f"{name}: grad of {n} is zero"
        out.append(("grad." + n, g))
    out.append(("logits", logits.detach().clone()))
    out.append(("loss", loss.detach().reshape(1).clone()))
    ln_v = math.log(a.V)
    assert abs(loss.item() - ln_v) > 1, f"{name}: loss {loss.item()} is within 1 of ln V {ln_v}"

    # Weight decay on the matrices (embeddings, q/k/v/o, gate/up/down, lm_head), not on norms or biases.
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    lr, betas, eps, wd, clip = 1e-3, (0.9, 0.999), 1e-8, 0.1, 1.0
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": wd}, {"params": no_decay, "weight_decay": 0.0}],
        lr=lr, betas=betas, eps=eps)
    losses, norms = [], []
    for _ in range(args.steps):
        opt.zero_grad(set_to_none=True)
        _, step_loss = model(x, y)
        step_loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), clip)  # the norm before clipping
        opt.step()
        losses.append(step_loss.item())
        norms.append(float(norm))
    for n, p in model.named_parameters():
        out.append(("params_after." + n, p.detach().clone()))
    out.append(("x", x.to(torch.int32)))
    out.append(("y", y.to(torch.int32)))
    out.append(("losses", torch.tensor(losses, dtype=torch.float32)))
    out.append(("grad_norms", torch.tensor(norms, dtype=torch.float32)))
    metadata = dict(
        config=json.dumps(cfg, sort_keys=True), batch=B, seq=T, steps=args.steps, seed=seed,
        init="norm gains 1+0.2*randn, biases 0.1*randn, embed_tokens and lm_head 0.25*randn, "
             "other matrices randn/sqrt(fan_in)",
        data="moby-dick.txt", data_offset=args.offset,
        lr=lr, beta1=betas[0], beta2=betas[1], eps=eps, weight_decay=wd, grad_clip=clip,
        weight_decay_on="tensors with 2 or more dims (embeddings, projections, lm_head); 0 on norms and biases",
        torch_version=torch.__version__,
        format="parameters under Hugging Face names (Linear weights [out, in]); grad.<name>; "
               "params_after.<name> after the steps")
    write_safetensors(os.path.join(fixtures, name + "_expected.safetensors"), out, metadata)

    # Held-out loss of the stored weights, in float64 (F32 values and bf16-rounded values).
    loss_f32, windows = eval_loss(model_from(cfg, params, torch.float64), tokens, args.eval_seq)
    loss_bf16, _ = eval_loss(model_from(cfg, params, torch.float64, round_bf16=True), tokens, args.eval_seq)
    loss_t32, _ = eval_loss(model_from(cfg, params, torch.float32), tokens, args.eval_seq)

    n_params = sum(p.numel() for p in model.parameters())
    print(f"{name}: {n_params} parameters, NH={a.NH} NKV={a.NKV} hd={a.hd}"
          + (f", llama3 bands kept/interpolated/divided = {bands}" if bands else "")
          + (f", shards {shards}" if shards else ""))
    print(f"  train loss at init {losses[0]:.6f} (ln V {ln_v:.6f}), after {args.steps} steps "
          f"{losses[-1]:.6f}; grad norms {norms[0]:.4f} .. {norms[-1]:.4f}")
    print(f"  eval loss f32 {loss_f32:.9f} (float32 forward {loss_t32:.9f}), bf16 {loss_bf16:.9f}")
    return {
        "loss_f32": loss_f32,
        "loss_bf16": loss_bf16,
        "loss_f32_torch_float32": loss_t32,
        "windows": windows,
        "seed": seed,
    }


def main():
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(repo, "tests", "Fixtures", "llama"))
    ap.add_argument("--data", default=os.path.join(repo, "..", "shared", "data", "moby-dick.txt"))
    ap.add_argument("--eval-text", default=os.path.join(repo, "tests", "Fixtures", "hf_eval.txt"))
    ap.add_argument("--offset", type=int, default=100000, help="byte offset of the first training window")
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--seq", type=int, default=32)
    ap.add_argument("--eval-seq", type=int, default=64)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--seed-offset", type=int, default=0)
    ap.add_argument("--models", nargs="*", default=sorted(CONFIGS), choices=sorted(CONFIGS))
    args = ap.parse_args()

    # One thread and deterministic kernels: a rerun gives bit-identical files.
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)

    os.makedirs(args.out, exist_ok=True)
    with open(args.eval_text, "rb") as f:
        tokens = list(f.read())  # byte tokens: the UTF-8 bytes

    expected = {
        "seq": args.eval_seq,
        "tokens": len(tokens),
        "eval_text": "tests/Fixtures/hf_eval.txt",
        "torch_version": torch.__version__,
        "note": "mean next-token cross-entropy over hf_eval.txt's UTF-8 bytes, windows of seq "
                "(inputs tokens[kT, kT+T), targets tokens[kT+1, kT+T+1)); loss_f32 from {name}/ (and "
                "llama_sharded/, the same weights), loss_bf16 from {name}_bf16/, both computed in "
                "float64 from the stored weights; loss_f32_torch_float32 is PyTorch's float32 forward",
    }
    for name in args.models:
        expected[name] = run_model(name, args, args.out, tokens)
    write_json(os.path.join(args.out, "expected.json"), expected)
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(args.out) for f in fs)
    print(f"wrote {args.out} ({total} bytes)")


if __name__ == "__main__":
    main()
