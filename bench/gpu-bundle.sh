#!/usr/bin/env bash
# Writes the GPU bundle: a folder that runs the whole GPU session on a machine with CUDA, nvcc and
# PyTorch but no .NET SDK and no network (the device machine). Usage, from anywhere:
#   bash bench/gpu-bundle.sh OUT        (OUT defaults to ./gpu-bundle, which .gitignore ignores)
# OUT then holds
#   run.sh               the session (run.sh --help says what it needs and writes)
#   hyper                launcher of the self-contained hyper (no dotnet needed)
#   hyper-app.tar.xz     the published app: 89 MiB unpacked does not fit the 64 MiB a device call
#                        carries, about 28 MiB packed does; the launcher unpacks it on first use
#   native/cuda/         CMakeLists.txt, hyper_cuda.h, src/, tests/ (libhypercuda is built there)
#   compare/             the PyTorch scripts of bench/compare
#   summary.py           writes run.sh's summary.md and summary.json
# To run it there: carry OUT (an ignored path) and run `bash OUT/run.sh`.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="$(mkdir -p "${1:-$ROOT/gpu-bundle}" && cd "${1:-$ROOT/gpu-bundle}" && pwd)"
STAGE="$(mktemp -d)"
trap 'rm -rf "$STAGE"' EXIT

# Self-contained, untrimmed: trimming would need proof that reflection (System.CommandLine, ILGPU's
# kernel compiler, the JSON writers) keeps what it uses. The SDK picks the runtime pack's version.
echo "== publishing hyper for linux-x64 (self-contained)"
dotnet publish "$ROOT/src/Cli" -c Release -r linux-x64 --self-contained -o "$STAGE/hyper-app" -nologo -v quiet
# The debugger and dump helpers are not needed to run, and they are a tenth of the size.
rm -f "$STAGE"/hyper-app/{libmscordaccore.so,libmscordbi.so,createdump} "$STAGE"/hyper-app/*.pdb

rm -rf "$OUT/native" "$OUT/compare" "$OUT/hyper-app.tar.xz"
echo "== packing the app"
tar -C "$STAGE" -cf - hyper-app | xz -6 -T0 > "$OUT/hyper-app.tar.xz"
mkdir -p "$OUT/native/cuda" "$OUT/compare"
cp -r "$ROOT/native/cuda/CMakeLists.txt" "$ROOT/native/cuda/hyper_cuda.h" "$ROOT/native/cuda/src" "$ROOT/native/cuda/tests" "$OUT/native/cuda/"
cp "$ROOT"/bench/compare/*.py "$ROOT/bench/compare/README.md" "$OUT/compare/"
cp "$ROOT/bench/gpu-run.sh" "$OUT/run.sh"
cp "$ROOT/bench/gpu-summary.py" "$OUT/summary.py"
cp "$ROOT/bench/gpu-hyper.sh" "$OUT/hyper"
chmod +x "$OUT/run.sh" "$OUT/hyper"

SIZE=$(du -sb "$OUT" | cut -f1)
echo "== $OUT: $((SIZE / 1024 / 1024)) MiB ($SIZE bytes)"
if [ "$SIZE" -gt $((64 * 1024 * 1024)) ]; then
    echo "the bundle is over 64 MiB: it will not travel to the device machine" >&2
    exit 1
fi
