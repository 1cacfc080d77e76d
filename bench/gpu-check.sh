#!/usr/bin/env bash
# The GPU check: on a machine with an NVIDIA GPU (CUDA, nvcc, cmake, PyTorch; dotnet optional;
# no network), build libhypercuda, run the backend tests and the kernel/training benchmarks,
# time PyTorch on the same card, and write everything under $OUT (default ./gpu-out):
#   step logs  $OUT/<step>.log     summary  $OUT/summary.md
# Every step has a timeout and a failure does not stop the others; the whole run stays under
# 9 minutes (each step's timeout is cut to what is left). Run from anywhere:
#   OUT=/tmp/gpu bash bench/gpu-check.sh
set -u
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${OUT:-$ROOT/gpu-out}"
mkdir -p "$OUT"
cd "$ROOT" || exit 1
BUDGET=540
START=$(date +%s)
STATUS="$OUT/status.tsv"
: > "$STATUS"

# run_step NAME SECONDS COMMAND...: runs with a timeout, logs to $OUT/NAME.log, records the status.
run_step() {
    local name="$1" limit="$2"
    shift 2
    local left=$((BUDGET - ($(date +%s) - START)))
    if [ "$left" -le 5 ]; then
        echo -e "$name\tskipped (time budget spent)" >> "$STATUS"
        echo "== $name: skipped, the ${BUDGET}s budget is spent"
        return 1
    fi
    [ "$limit" -gt "$left" ] && limit=$left
    echo "== $name (timeout ${limit}s)"
    local t0=$(date +%s)
    timeout --kill-after=10 "$limit" "$@" > "$OUT/$name.log" 2>&1
    local rc=$?
    local took=$(($(date +%s) - t0))
    local what="ok"
    [ "$rc" -ne 0 ] && what="FAILED (exit $rc)"
    [ "$rc" -eq 124 ] && what="TIMED OUT after ${limit}s"
    echo -e "$name\t$what, ${took}s" >> "$STATUS"
    echo "   $what (${took}s); log: $OUT/$name.log"
    tail -n 3 "$OUT/$name.log" | sed 's/^/   | /'
    return $rc
}

run_step nvidia-smi 20 nvidia-smi --query-gpu=name,memory.total,driver_version,compute_cap --format=csv

BUILD="$ROOT/native/cuda/build"
LIB="$BUILD/libhypercuda.so"
run_step cmake-configure 60 cmake -S native/cuda -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DHYPER_CUDA_BUILD_CHECK=ON
run_step cmake-build 180 cmake --build "$BUILD" -j 16
export HYPER_CUDA_LIB="$LIB"

if [ -x "$BUILD/hypercuda_check" ]; then
    run_step native-check 60 "$BUILD/hypercuda_check"
fi

if command -v dotnet > /dev/null; then
    export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
    run_step dotnet-build 150 dotnet build -c Release
    run_step dotnet-test-backends 120 dotnet test -c Release --no-build --filter "FullyQualifiedName~Backends"
    HYPER="dotnet src/Cli/bin/Release/net10.0/hyper.dll"
    run_step hyper-info 20 $HYPER info
    run_step kernels-matmul-cuda 90 $HYPER bench kernels --op matmul --backend cuda --sizes 4096x4096x4096 --repeats 10 --json
    run_step kernels-attention-cuda 60 $HYPER bench kernels --op attention --backend cuda --sizes 4x1024x768x12 --repeats 5 --json
    run_step train-cuda 120 $HYPER bench train --device cuda --model gpt2 --batch 4 --seq 1024 --steps 10 --warmup 2 --json
else
    echo "dotnet is not installed here: the managed tests, the kernel lab and the training benchmark are skipped" | tee "$OUT/dotnet-missing.log"
    echo -e "dotnet\tmissing: managed steps skipped (hypercuda_check still checks matmul and attention and times matmul)" >> "$STATUS"
fi

run_step torch-sgemm 60 python3 bench/compare/cublas_sgemm.py --n 4096 --c 4096 --oc 4096
run_step torch-train 120 python3 bench/compare/bench_train.py --device cuda --model gpt2 --batch 4 --seq 1024 --steps 10 --warmup 2

# The summary: the card, each step's status, our numbers against PyTorch's on the same card.
python3 - "$OUT" <<'PY'
import json, os, sys
out = sys.argv[1]

def last_json(name, pick=None):
    path = os.path.join(out, name + ".log")
    if not os.path.exists(path):
        return []
    rows = []
    for line in open(path, errors="replace"):
        line = line.strip()
        if line.startswith("{"):
            try:
                rows.append(json.loads(line))
            except ValueError:
                pass
    return [r for r in rows if pick is None or pick(r)]

lines = ["# GPU check", ""]
smi = os.path.join(out, "nvidia-smi.log")
if os.path.exists(smi):
    lines += ["Card: `" + " | ".join(l.strip() for l in open(smi) if l.strip()) + "`", ""]
lines += ["| step | status |", "|---|---|"]
for row in open(os.path.join(out, "status.tsv")):
    name, _, what = row.rstrip("\n").partition("\t")
    lines.append(f"| {name} | {what} |")
lines.append("")

ours_mm = last_json("kernels-matmul-cuda")
torch_mm = last_json("torch-sgemm")
native_mm = last_json("native-check", lambda r: r.get("kind") == "matmul" and r.get("variant") != "cublas")
native_cublas = last_json("native-check", lambda r: r.get("variant") == "cublas")
lines += ["## fp32 matmul 4096^3 (out = inp . weight^T)", ""]
ref = torch_mm[-1]["gflops"] if torch_mm else None
if ref:
    lines.append(f"- cuBLAS via PyTorch (TF32 off): {ref:.0f} GFLOP/s ({torch_mm[-1]['ms']} ms)")
if native_cublas:
    lines.append(f"- cuBLAS SGEMM called from hypercuda_check: {native_cublas[-1]['gflops']:.0f} GFLOP/s")
    ref = ref or native_cublas[-1]["gflops"]
for r in ours_mm + native_mm:
    g = r.get("gflops")
    src = "hyper bench kernels" if r in ours_mm else "hypercuda_check"
    if g:
        ratio = f", {g / ref:.2f} of cuBLAS" if ref else ""
        lines.append(f"- ours, {r.get('variant')} ({src}): {g:.0f} GFLOP/s{ratio}; rel error {r.get('rel_error')}")
    else:
        lines.append(f"- ours, {r.get('variant')} ({src}): FAILED {r.get('error')}")
lines += ["", "Target: blocked >= 0.5 of cuBLAS.", ""]

ours_tr = last_json("train-cuda")
torch_tr = last_json("torch-train")
lines += ["## GPT-2 124M training step, B=4 T=1024, fp32", ""]
if torch_tr:
    lines.append(f"- PyTorch eager: {torch_tr[-1]['tokens_per_s']} tokens/s ({torch_tr[-1]['ms_per_step']} ms/step)")
if ours_tr:
    t = ours_tr[-1]
    ratio = f", {t['tokens_per_s'] / torch_tr[-1]['tokens_per_s']:.2f} of PyTorch" if torch_tr else ""
    lines.append(f"- hyper (cuda): {t['tokens_per_s']} tokens/s ({t['ms_per_step']} ms/step, final loss {t.get('final_loss')}){ratio}")
lines += ["", "Target: hyper >= PyTorch eager fp32.", ""]
open(os.path.join(out, "summary.md"), "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
echo "total $(($(date +%s) - START))s; results in $OUT"
