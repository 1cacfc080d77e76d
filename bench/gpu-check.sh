#!/usr/bin/env bash
# Superseded by the GPU bundle, kept so the old command leads to the one path there is. The GPU
# machine has no .NET SDK and no network, so nothing there can build or test with dotnet:
#   here:  bash bench/gpu-bundle.sh gpu-bundle      (publishes a self-contained hyper, <= 64 MiB)
#   there: bash gpu-bundle/run.sh                   (run.sh --help says what it needs and writes)
# This script runs the bundle's run.sh when the bundle is at ./gpu-bundle (or $HYPER_GPU_BUNDLE).
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUNDLE="${HYPER_GPU_BUNDLE:-$ROOT/gpu-bundle}"
if [ -x "$BUNDLE/run.sh" ]; then
    exec bash "$BUNDLE/run.sh" "$@"
fi
sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//' >&2
echo "no bundle at $BUNDLE: make it with bench/gpu-bundle.sh first" >&2
exit 2
