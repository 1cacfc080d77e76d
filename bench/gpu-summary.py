"""The bundle's summary.py (bench/gpu-bundle.sh copies it there): reads run.sh's step logs and
status table from LOGS and writes OUT/summary.md and OUT/summary.json.
Usage: python3 summary.py LOGS OUT"""
import json
import os
import sys

logs, out = sys.argv[1], sys.argv[2]


def rows(name):
    """Every JSON object a step printed, one per line (the rest of its output is text)."""
    path = os.path.join(logs, name + ".log")
    found = []
    if os.path.exists(path):
        for line in open(path, errors="replace"):
            line = line.strip()
            if line.startswith("{"):
                try:
                    found.append(json.loads(line))
                except ValueError:
                    pass
    return found


def last(name):
    r = rows(name)
    return r[-1] if r else None


steps = []
for line in open(os.path.join(logs, "status.tsv")):
    name, what, took = line.rstrip("\n").split("\t")
    steps.append({"step": name, "status": what, "seconds": int(took)})
probe = os.path.join(logs, "probe.log")
probe_ok = any(s["step"] == "probe" and s["status"] == "ok" for s in steps)
card = open(probe).readline().strip() if probe_ok else None  # else the first line is an error
data = {"card": card, "steps": steps}
for s in steps:
    data[s["step"]] = rows(s["step"])

note_path = os.path.join(logs, "tensor-cores.txt")
note = open(note_path).read().strip() if os.path.exists(note_path) else "tensor-core variants: unknown"
data["tensor_cores"] = note
md = ["# GPU session", "", f"Card: `{card}`", "", note, "", "| step | status | s |", "|---|---|---|"]
md += [f"| {s['step']} | {s['status']} | {s['seconds']} |" for s in steps]

md += ["", "## Checks", ""]
native = [r for r in rows("native-check") if r.get("kind") == "check"]
skipped = [r for r in native if r.get("skipped")]
bad = [r for r in native if not r.get("ok") and not r.get("skipped")]
md.append(f"- hypercuda_check: {len(native) - len(bad) - len(skipped)} of {len(native)} checks pass, {len(skipped)} skipped (not built)"
          + "".join(f"\n  - FAILED {r['op']} variant {r['variant']} {r['shape']}: {r.get('error') or r.get('rel_error')}" for r in bad))
for backend in ("cuda", "ilgpu"):
    ops = rows("ops-" + backend)
    # Skipped: left out of the build, or not run on a context an earlier variant's fault poisoned.
    skipped = [r for r in ops if r.get("skipped")]
    failed = [r for r in ops if not r.get("ok", False) and not r.get("skipped")]
    md.append(f"- hyper bench kernels on {backend}: {len(ops) - len(failed) - len(skipped)} of {len(ops)} op variants match the reference"
              + "".join(f"\n  - FAILED {r.get('op')} {r.get('variant', '')}: {r.get('error', r.get('failed'))}" for r in failed)
              + "".join(f"\n  - skipped {r.get('op')} {r.get('variant', '')}: {r.get('error')}" for r in skipped))

md += ["", "## fp32 matmul 4096^3 (out = inp . weight^T)", ""]
torch_mm = last("torch-sgemm")
ref = torch_mm["gflops"] if torch_mm else None
if torch_mm:
    md.append(f"- cuBLAS via PyTorch (TF32 off): {ref:.0f} GFLOP/s ({torch_mm['ms']} ms)")
def timed(r):
    """A lab row's rate, or why it has none."""
    g = r.get("gflops")
    if g:
        return f"{g:.0f} GFLOP/s"
    return ("skipped " if r.get("skipped") else "FAILED ") + str(r.get("error"))


for r in rows("native-check"):
    if r.get("kind") == "matmul":
        g = r.get("gflops")
        md.append(f"- hypercuda_check {r['variant']}: " + timed(r) + (f", {g / ref:.2f} of cuBLAS fp32" if g and ref else ""))
for r in rows("matmul-lab"):
    g = r.get("gflops")
    md.append(f"- hyper bench kernels {r.get('variant')}: " + timed(r) + (f", {g / ref:.2f} of cuBLAS fp32" if g and ref else ""))

md += ["", "## Causal attention forward, B=1 T=1024 C=768 NH=12", ""]
for r in rows("attention-lab"):
    md.append(f"- hyper bench kernels {r.get('variant')}: " + timed(r) + (f" ({r['ms']:.3f} ms)" if r.get("ms") else ""))


def versus(title, ours, theirs, key, unit):
    md.extend(["", f"## {title}", ""])
    if theirs and theirs.get(key):
        md.append(f"- PyTorch eager: {theirs[key]:.1f} {unit}")
    if ours and ours.get(key):
        ratio = f", {ours[key] / theirs[key]:.2f} of PyTorch" if theirs and theirs.get(key) else ""
        md.append(f"- hyper cuda: {ours[key]:.1f} {unit}{ratio}")


versus("GPT-2 124M training step, B=4 T=1024, fp32", last("train-hyper"), last("train-torch"), "tokens_per_s", "tokens/s")
versus("GPT-2 124M decoding, B=1, 32 + 128 tokens", last("decode-hyper"), last("decode-torch"), "tokens_per_s", "tokens/s")

open(os.path.join(out, "summary.md"), "w").write("\n".join(md) + "\n")
json.dump(data, open(os.path.join(out, "summary.json"), "w"), indent=1)
