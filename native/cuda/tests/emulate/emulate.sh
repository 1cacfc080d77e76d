#!/usr/bin/env bash
# Builds the tensor-core kernels (src/tensorcore) with g++ on the host emulation in this folder and
# runs check.cpp: their tiling, masking, online softmax and barriers checked where no GPU or nvcc is.
# It cannot say whether nvcc accepts them or how fast they are. Usage: bash emulate.sh [BUILD_DIR]
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
SRC="$HERE/../../src"
BUILD="${1:-$(mktemp -d)}"
mkdir -p "$BUILD/tensorcore"
# The sources as they are, but for their <<<grid, block[, bytes]>>> launches and the extern
# __shared__ array, which plain C++ has no syntax for.
for f in "$SRC"/tensorcore/*.cu; do
    python3 - "$f" "$BUILD/tensorcore/$(basename "$f" .cu).cpp" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
def launch(m):
    args = [a.strip() for a in m.group(2).split(",")]
    return f"emu_launch({m.group(1)}, {args[0]}, {args[1]}, {args[2] if len(args) > 2 else 0}, "
text, launches = re.subn(r"([A-Za-z_]\w*(?:<[^<>]*>)?)<<<([^<>]*)>>>\(", launch, text)
text, dynamic = re.subn(r"extern __shared__ (?:__align__\(\d+\) )?float (\w+)\[\];", r"float* \1 = emu_dynamic_smem();", text)
assert launches > 0, "no launches found to rewrite"
open(sys.argv[2], "w").write(text)
PY
done

FLAGS=(-std=c++20 -O2 -pthread -Wall -Wno-unknown-pragmas -I"$HERE" -I"$SRC/tensorcore")
g++ "${FLAGS[@]}" "$HERE/runtime.cpp" "$BUILD"/tensorcore/*.cpp "$HERE/check.cpp" -o "$BUILD/emulated-check"
"$BUILD/emulated-check"
