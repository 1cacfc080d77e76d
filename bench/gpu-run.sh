#!/usr/bin/env bash
# The bundle's run.sh (bench/gpu-bundle.sh copies it there): the whole GPU session as one script.
HELP='Usage: bash run.sh [--help]

Runs the GPU session from this bundle on a machine with an NVIDIA GPU. Needs: nvidia-smi and a
driver; nvcc (PATH, else /usr/local/cuda/bin); cmake (optional: one plain nvcc line otherwise);
python3 with PyTorch for the comparisons. Needs no .NET SDK and no network: `./hyper` is
self-contained.

Steps, cheap and decisive first, each under `timeout`, cut to what is left of the budget:
  probe            the card, nvcc, cmake, PyTorch
  build            libhypercuda.so and hypercuda_check for the card'"'"'s architecture; if that fails
                   with the TF32 tensor-core sources (native/cuda/src/tensorcore), again without
                   them (cmake -DHYPER_CUDA_TENSOR_CORES=OFF, or the nvcc line without them), so
                   the rest of the session still runs; summary.md says which build it got
  native-check     hypercuda_check under CUDA_LAUNCH_BLOCKING=1 (kernels vs CPU loops, matmul times
                   against cuBLAS fp32 and cuBLAS TF32)
  hyper-info       ./hyper info with the built library
  ops-cuda         hyper bench kernels for every op on cuda, checked against the reference, each op
                   in its own process, under HYPER_CUDA_SYNC=1 (a failed launch is blamed on its op)
  ops-ilgpu        the same on ilgpu'"'"'s CUDA accelerator
  torch-sgemm      cuBLAS SGEMM 4096^3 through PyTorch (TF32 off)
  matmul-lab       hyper bench kernels matmul 4096^3 on cuda, one process per variant
  attention-lab    hyper bench kernels attention B=1 T=1024 C=768 NH=12 on cuda, one process per variant
  train-hyper      GPT-2 124M training step B=4 T=1024, hyper on cuda
  train-torch      the same step, PyTorch eager fp32
  decode-hyper     GPT-2 124M decoding (32 prompt tokens, 128 new), hyper on cuda
  decode-torch     the same, PyTorch eager
  sanitizer        compute-sanitizer on hypercuda_check --quick, if time is left

Kernel-lab variants on cuda (hyper info lists them): matmul naive, tiled, blocked (register-
blocked fp32), tf32 (TF32 tensor cores, WMMA); attention naive, flash, flash_tf32 (flash with
Q.K^T and P.V on TF32 tensor cores). TF32 variants are checked to 5e-3 relative, fp32 to 1e-4.
The tensor-core variants have never been compiled or run: this session is their first.

Writes into $OUT (default ./gpu-results), at most three files, so all of them come back:
  summary.md       the card, each step'"'"'s status and time, ours against PyTorch
  summary.json     the same as data, with every JSON row the steps printed
  steps.log        every step'"'"'s output, appended as each step ends
Environment: HYPER_GPU_BUDGET seconds (default 420), OUT.'
case "${1:-}" in
    -h | --help) echo "$HELP"; exit 0 ;;
    "") ;;
    *) echo "$HELP" >&2; exit 2 ;;
esac
set -u
BUNDLE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="$(mkdir -p "${OUT:-$PWD/gpu-results}" && cd "${OUT:-$PWD/gpu-results}" && pwd)"
BUDGET="${HYPER_GPU_BUDGET:-420}"
START=$(date +%s)
LOGS="$(mktemp -d)"
STATUS="$LOGS/status.tsv"
: > "$STATUS"
: > "$OUT/steps.log"
HYPER="$BUNDLE/hyper"
BUILD="$BUNDLE/native/cuda/build"
export PATH="$PATH:/usr/local/cuda/bin" HYPER_CUDA_LIB="$BUILD/libhypercuda.so" PYTHONUNBUFFERED=1

# step NAME SECONDS COMMAND...: runs under timeout, logs to $LOGS/NAME.log and appends it to steps.log.
step() {
    local name="$1" limit="$2"
    shift 2
    local left=$((BUDGET - ($(date +%s) - START)))
    if [ "$left" -le 5 ]; then
        printf '%s\tskipped (budget spent)\t0\n' "$name" >> "$STATUS"
        return 1
    fi
    [ "$limit" -gt "$left" ] && limit=$left
    echo "== $name (timeout ${limit}s)"
    local t0=$(date +%s)
    timeout --kill-after=5 "$limit" "$@" > "$LOGS/$name.log" 2>&1
    local rc=$? took=$(($(date +%s) - t0)) what=ok
    [ "$rc" -ne 0 ] && what="FAILED (exit $rc)"
    [ "$rc" -eq 124 ] && what="TIMED OUT after ${limit}s"
    printf '%s\t%s\t%s\n' "$name" "$what" "$took" >> "$STATUS"
    { echo "===== $name: $what, ${took}s: $*"; cat "$LOGS/$name.log"; } >> "$OUT/steps.log"
    echo "   $what (${took}s)"
    tail -n 3 "$LOGS/$name.log" | sed 's/^/   | /'
    return $rc
}

# Fails when the card or nvcc is missing (cmake and PyTorch have fallbacks or are reported later).
probe() {
    local rc=0
    nvidia-smi --query-gpu=name,memory.total,driver_version,compute_cap --format=csv,noheader || rc=1
    echo "nvcc: $(command -v nvcc || echo missing)"; nvcc --version | tail -n 2 || rc=1
    echo "cmake: $(command -v cmake || echo missing)"
    python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.is_available())'
    return $rc
}
step probe 30 bash -c "$(declare -f probe); probe"
# compute_cap "9.0" -> 90; one architecture compiles in half the time of the CMake default (80 90).
ARCH=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2> /dev/null | head -n 1 | tr -d ' .')
ARCH="${ARCH:-90}"

# build TC: the library and the check program, with the tensor-core sources when TC is ON.
build_with() {
    local tc="$1" src="$BUNDLE/native/cuda"
    if command -v cmake > /dev/null; then
        cmake -S "$src" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES="$ARCH" \
            -DHYPER_CUDA_BUILD_CHECK=ON -DHYPER_CUDA_TENSOR_CORES="$tc" && cmake --build "$BUILD" -j "$(nproc)" && return 0
        echo "cmake (tensor cores $tc) failed: falling back to plain nvcc"
    fi
    local extra=()
    [ "$tc" = ON ] && extra=(-DHYPER_HAVE_TENSOR_CORES "$src"/src/tensorcore/*.cu)
    # The same flags as CMakeLists.txt: static runtime, PIC, relaxed constexpr.
    nvcc -O3 -std=c++17 --expt-relaxed-constexpr -arch="sm_$ARCH" -Xcompiler -fPIC -shared -cudart static \
        -I"$src" "$src"/src/*.cu ${extra[@]+"${extra[@]}"} -o "$BUILD/libhypercuda.so" &&
        { nvcc -O3 -std=c++17 -arch="sm_$ARCH" -I"$src" -DHYPER_HAVE_CUBLAS=1 "$src/tests/check.cu" \
            -L"$BUILD" -lhypercuda -lcublas -Xlinker -rpath="$BUILD" -o "$BUILD/hypercuda_check" ||
            # No cuBLAS to link: the checks still run, without the cuBLAS timing.
            nvcc -O3 -std=c++17 -arch="sm_$ARCH" -I"$src" "$src/tests/check.cu" \
                -L"$BUILD" -lhypercuda -Xlinker -rpath="$BUILD" -o "$BUILD/hypercuda_check"; }
}

# The tensor-core sources have never met nvcc: when the build fails with them, the core library is
# built without them (their variants then report "not built") rather than losing the session.
build() {
    mkdir -p "$BUILD"
    if build_with ON; then
        echo "tensor-core variants: built" > "$NOTE"
        return 0
    fi
    echo "== the build with the tensor-core sources failed: building without them"
    rm -f "$BUILD/libhypercuda.so" "$BUILD/hypercuda_check"
    build_with OFF || return 1
    echo "tensor-core variants: left out, their build failed (the build step in steps.log says why)" > "$NOTE"
}
NOTE="$LOGS/tensor-cores.txt"
echo "tensor-core variants: not built (no library was built)" > "$NOTE"
step build 180 bash -c "BUNDLE='$BUNDLE' BUILD='$BUILD' ARCH='$ARCH' NOTE='$NOTE'; $(declare -f build_with build); build"

if [ -x "$BUILD/hypercuda_check" ]; then
    step native-check 60 env CUDA_LAUNCH_BLOCKING=1 "$BUILD/hypercuda_check"
else
    printf 'native-check\tskipped (no hypercuda_check built)\t0\n' >> "$STATUS"
fi
step hyper-info 45 "$HYPER" info

# The op suite through the CLI (the NUnit suite needs the SDK): each op in its own process, so an
# error that poisons the CUDA context fails that op alone, and HYPER_CUDA_SYNC=1 blames it on it.
OPS="matmul attention layernorm gelu residual softmax_cross_entropy adamw"
ops() {
    local failed=0
    for op in $OPS; do
        timeout 40 "$HYPER" bench kernels --op "$op" --backend "$1" --repeats 3 --json || { echo "{\"op\":\"$op\",\"failed\":$?}"; failed=1; }
    done
    return $failed
}
step ops-cuda 75 env HYPER_CUDA_SYNC=1 CUDA_LAUNCH_BLOCKING=1 bash -c "HYPER='$HYPER' OPS='$OPS'; $(declare -f ops); ops cuda"
step ops-ilgpu 60 env HYPER_ILGPU_DEVICE=cuda bash -c "HYPER='$HYPER' OPS='$OPS'; $(declare -f ops); ops ilgpu"

step torch-sgemm 45 python3 "$BUNDLE/compare/cublas_sgemm.py" --n 4096 --c 4096 --oc 4096
lab() {
    # The variants `hyper info` lists for cuda ("Matmul variants: a, b, c (using b)"), one process
    # each: a fault that poisons the CUDA context ends that variant's process, not the others'.
    local op="$1" title="$2" sizes="$3" variants
    variants=$("$HYPER" info | awk -v t="$title variants:" '/^cuda /{c=1; next} c && /^[^ ]/{exit} c && index($0, t){sub(/.*variants: /,""); sub(/ \(.*/,""); gsub(/,/,""); print; exit}')
    [ -n "$variants" ] || { echo "no cuda $op variants in hyper info"; return 1; }
    local failed=0
    for v in $variants; do
        timeout 40 "$HYPER" bench kernels --op "$op" --backend cuda --variant "$v" --sizes "$sizes" --repeats 10 --json || failed=1
    done
    return $failed
}
step matmul-lab 100 bash -c "HYPER='$HYPER'; $(declare -f lab); lab matmul Matmul 4096x4096x4096"
step attention-lab 60 bash -c "HYPER='$HYPER'; $(declare -f lab); lab attention Attention 1x1024x768x12"

TRAIN="--model gpt2 --batch 4 --seq 1024 --steps 5 --warmup 2"
step train-hyper 90 "$HYPER" bench train --device cuda $TRAIN --json
step train-torch 75 python3 "$BUNDLE/compare/bench_train.py" --device cuda $TRAIN
DECODE="--model gpt2 --prompt-tokens 32 --new-tokens 128 --warmup 1 --repeat 2"
step decode-hyper 60 "$HYPER" bench generate --device cuda $DECODE --json
step decode-torch 60 python3 "$BUNDLE/compare/bench_generate.py" --device cuda $DECODE --json

if command -v compute-sanitizer > /dev/null && [ -x "$BUILD/hypercuda_check" ]; then
    step sanitizer 90 compute-sanitizer --error-exitcode 3 "$BUILD/hypercuda_check" --quick
fi

python3 "$BUNDLE/summary.py" "$LOGS" "$OUT" || {
    # No Python: the step table alone.
    { echo "# GPU session"; echo; cat "$NOTE"; echo; echo "| step | status | s |"; echo "|---|---|---|"; sed 's/\t/ | /g; s/^/| /; s/$/ |/' "$STATUS"; } > "$OUT/summary.md"
}
cat "$OUT/summary.md"
echo "total $(($(date +%s) - START))s of ${BUDGET}s; results in $OUT"
rm -rf "$LOGS"
