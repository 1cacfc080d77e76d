#!/usr/bin/python3
"""Writes Hugging Face-style GPT-2 checkpoint folders that `hyper eval` must read as they are,
and the held-out loss PyTorch computes for them, so the C# engine is checked end to end
(config.json, safetensors, name prefixes, Conv1D layouts, dtypes, tokenizer inference,
evaluation windows) against an independent implementation.

Run:  /usr/bin/python3 tools/reference/hf_checkpoint.py

It writes, under tests/Fixtures/:
  hf_tiny/             config.json + model.safetensors: F32, names with the "transformer."
                       prefix, an lm_head.weight equal to wte, and the h.{i}.attn.bias /
                       h.{i}.attn.masked_bias buffers that older Hugging Face files carry.
  hf_tiny_bf16/        the same weights rounded to bfloat16, BF16 tensors, no prefix, no
                       lm_head (the layout of the hub's gpt2/model.safetensors).
  hf_eval.txt          a few KB of moby-dick (UTF-8, some multi-byte characters).
  hf_tiny_expected.json  the loss of both folders on hf_eval.txt with `hyper eval --seq 64`
                       semantics: byte tokens (the UTF-8 bytes), window k takes inputs
                       tokens[kT, kT+T) and targets tokens[kT+1, kT+T+1) for every k with
                       kT+T+1 <= N, loss = mean cross-entropy over all targets.
Neither folder has a hyper.json: a folder from elsewhere has none, so the tokenizer must be
inferred (byte, for vocab 256).

The model is gpt2_reference.py's, with weights drawn larger than GPT-2's 0.02 so the loss is
far from ln(256) and a mistake in any layer moves it well past the test's tolerance. The
expected losses are computed in float64 from the stored weights (the F32 values, or the
bf16-rounded ones), so they do not depend on PyTorch's float32 summation order.
"""

import argparse
import json
import math
import os
import shutil
import struct
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gpt2_reference import CONFIGS, LN_EPS, Gpt2, export_name_and_tensor  # noqa: E402

T = 64  # the eval window the test runs with (--seq 64)


def init_weights(model, seed):
    """Every tensor drawn (no zero biases, no unit gains), at scales that keep activations O(1)
    but make the logits spread (std of several units), so the loss is nowhere near uniform."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if ".ln_" in name or name.startswith("ln_"):
                base = 1.0 if name.endswith(".weight") else 0.0
                p.copy_(base + 0.2 * torch.randn(p.shape, generator=g))
            elif name == "wte.weight":
                p.copy_(0.25 * torch.randn(p.shape, generator=g))
            elif name == "wpe.weight":
                p.copy_(0.2 * torch.randn(p.shape, generator=g))
            elif name.endswith(".weight"):
                fan_in = p.shape[1]  # nn.Linear weight [out, in]
                p.copy_(torch.randn(p.shape, generator=g) / math.sqrt(fan_in))
            else:
                p.copy_(0.1 * torch.randn(p.shape, generator=g))


def write_safetensors(path, tensors, metadata):
    """tensors: list of (name, tensor) in F32 or BF16, written sorted by name as the reference
    writer does; aside, then renamed."""
    dtypes = {torch.float32: "F32", torch.bfloat16: "BF16"}
    header = {"__metadata__": dict(metadata)}
    blobs = []
    offset = 0
    for name, t in sorted(tensors, key=lambda nt: nt[0]):
        t = t.detach().contiguous().cpu()
        if t.dtype == torch.bfloat16:
            # numpy has no bfloat16: reinterpret the 16-bit patterns (little-endian host).
            raw = t.view(torch.int16).numpy().astype("<i2", copy=False).tobytes()
        else:
            raw = t.numpy().astype("<f4", copy=False).tobytes()
        header[name] = {"dtype": dtypes[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    hjson = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hjson += b" " * (-len(hjson) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        for raw in blobs:
            f.write(raw)
    os.replace(tmp, path)


def hf_config(cfg, torch_dtype):
    """The keys of a GPT2Config.to_json_file(), including ones Hyper ignores."""
    return {
        "activation_function": "gelu_new",
        "architectures": ["GPT2LMHeadModel"],
        "attn_pdrop": 0.1,
        "bos_token_id": cfg["vocab_size"] - 1,
        "embd_pdrop": 0.1,
        "eos_token_id": cfg["vocab_size"] - 1,
        "initializer_range": 0.02,
        "layer_norm_epsilon": LN_EPS,
        "model_type": "gpt2",
        "n_ctx": cfg["n_positions"],
        "n_embd": cfg["n_embd"],
        "n_head": cfg["n_head"],
        "n_inner": None,
        "n_layer": cfg["n_layer"],
        "n_positions": cfg["n_positions"],
        "reorder_and_upcast_attn": False,
        "resid_pdrop": 0.1,
        "scale_attn_by_inverse_layer_idx": False,
        "scale_attn_weights": True,
        "summary_activation": None,
        "summary_first_dropout": 0.1,
        "summary_proj_to_labels": True,
        "summary_type": "cls_index",
        "summary_use_proj": True,
        "torch_dtype": torch_dtype,
        "transformers_version": "4.30.0",
        "use_cache": True,
        "vocab_size": cfg["vocab_size"],
    }


def write_folder(folder, cfg, tensors, torch_dtype):
    if os.path.isdir(folder):
        shutil.rmtree(folder)
    os.makedirs(folder)
    with open(os.path.join(folder, "config.json"), "w", encoding="utf-8") as f:
        json.dump(hf_config(cfg, torch_dtype), f, indent=2)
        f.write("\n")
    write_safetensors(os.path.join(folder, "model.safetensors"), tensors, {"format": "pt"})


def mask_buffers(cfg, prefix, dtype):
    """What older GPT2Model state dicts hold besides parameters: a causal mask [1, 1, maxT, maxT]
    and a scalar fill value per layer. A reader must skip them."""
    n = cfg["n_positions"]
    out = []
    for i in range(cfg["n_layer"]):
        out.append((f"{prefix}h.{i}.attn.bias", torch.ones(n, n).tril().view(1, 1, n, n).to(dtype)))
        out.append((f"{prefix}h.{i}.attn.masked_bias", torch.tensor(-1e4).to(dtype)))
    return out


def eval_loss(model, tokens):
    """hyper eval's windows, in float64."""
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


def main():
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    fixtures = os.path.join(repo, "tests", "Fixtures")
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.path.join(repo, "..", "shared", "data", "moby-dick.txt"))
    ap.add_argument("--offset", type=int, default=200000, help="character offset of the eval slice")
    ap.add_argument("--chars", type=int, default=4000, help="characters in the eval slice")
    ap.add_argument("--seed", type=int, default=4242)
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)

    cfg = CONFIGS["tiny"]
    model = Gpt2(**cfg)
    init_weights(model, args.seed)
    params = [(name, p.detach().clone()) for name, p in model.named_parameters()]
    hf = [export_name_and_tensor(name, p) for name, p in params]

    # The eval text: a slice on line boundaries, so it reads as a passage.
    with open(args.data, encoding="utf-8", newline="") as f:
        text = f.read()
    start = text.index("\n", args.offset) + 1
    end = text.index("\n", start + args.chars) + 1
    passage = text[start:end]
    with open(os.path.join(fixtures, "hf_eval.txt"), "w", encoding="utf-8", newline="") as f:
        f.write(passage)
    tokens = list(passage.encode("utf-8"))

    # F32, "transformer." prefix, lm_head tied, mask buffers.
    f32 = [("transformer." + n, t) for n, t in hf]
    f32.append(("lm_head.weight", dict(hf)["wte.weight"].clone()))
    f32 += mask_buffers(cfg, "transformer.", torch.float32)
    write_folder(os.path.join(fixtures, "hf_tiny"), cfg, f32, "float32")

    # BF16, no prefix, no lm_head (the hub's gpt2 layout).
    bf16 = [(n, t.to(torch.bfloat16)) for n, t in hf] + mask_buffers(cfg, "", torch.bfloat16)
    write_folder(os.path.join(fixtures, "hf_tiny_bf16"), cfg, bf16, "bfloat16")

    model64 = Gpt2(**cfg).double()
    with torch.no_grad():
        for (name, p), (_, src) in zip(model64.named_parameters(), params):
            p.copy_(src.double())
    loss_f32, windows = eval_loss(model64, tokens)
    with torch.no_grad():
        for (name, p), (_, src) in zip(model64.named_parameters(), params):
            p.copy_(src.to(torch.bfloat16).double())  # round to nearest even, as the file holds
    loss_bf16, _ = eval_loss(model64, tokens)

    # For the record: PyTorch's own float32 forward of the F32 weights.
    loss_torch32, _ = eval_loss(model, tokens)

    expected = {
        "seq": T,
        "tokens": len(tokens),
        "windows": windows,
        "loss_f32": loss_f32,
        "loss_bf16": loss_bf16,
        "loss_f32_torch_float32": loss_torch32,
        "seed": args.seed,
        "torch_version": torch.__version__,
        "note": "mean next-token cross-entropy over hf_eval.txt's UTF-8 bytes, windows of seq; "
                "computed in float64 from the stored weights (hf_tiny: F32, hf_tiny_bf16: bf16-rounded)",
    }
    with open(os.path.join(fixtures, "hf_tiny_expected.json"), "w", encoding="utf-8") as f:
        json.dump(expected, f, indent=2)
        f.write("\n")
    print(f"hf_eval.txt: {len(passage)} characters, {len(tokens)} bytes, {windows} windows of {T}")
    print(f"loss f32 {loss_f32:.9f} (float32 forward {loss_torch32:.9f}), bf16 {loss_bf16:.9f}, ln V {math.log(cfg['vocab_size']):.6f}")


if __name__ == "__main__":
    main()
