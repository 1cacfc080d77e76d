#!/usr/bin/env bash
# The bundle's `hyper`: runs the self-contained app packed beside it in hyper-app.tar.xz, with no
# .NET SDK or runtime installed. The app is unpacked once into $HYPER_APP_DIR (default: a folder
# under ${TMPDIR:-/tmp} named after the archive's checksum), not into the bundle, so the bundle
# keeps its size and a new archive never runs an old app.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ARCHIVE="$HERE/hyper-app.tar.xz"
if [ -z "${HYPER_APP_DIR:-}" ]; then
    [ -f "$ARCHIVE" ] || { echo "hyper: $ARCHIVE is missing (make the bundle with bench/gpu-bundle.sh)" >&2; exit 2; }
    HYPER_APP_DIR="${TMPDIR:-/tmp}/hyper-app-$(cksum < "$ARCHIVE" | cut -d' ' -f1)"
fi
if [ ! -x "$HYPER_APP_DIR/hyper-app/hyper" ]; then
    # Unpacked beside the target and renamed, so a second launcher at the same time never runs half an app.
    PART="$(mktemp -d "${HYPER_APP_DIR}.part.XXXXXX")"
    if ! tar -C "$PART" -xJf "$ARCHIVE" 2> /dev/null; then
        # No xz binary: Python's lzma reads the same archive (the GPU machine has Python).
        python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1], "r:xz").extractall(sys.argv[2])' "$ARCHIVE" "$PART"
    fi
    mv -T "$PART" "$HYPER_APP_DIR" 2> /dev/null || rm -rf "$PART" # lost the race: the other one's copy is whole
fi
# No ICU on a bare machine: the app is built with invariant globalization, this keeps it so.
export DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 DOTNET_CLI_TELEMETRY_OPTOUT=1
exec "$HYPER_APP_DIR/hyper-app/hyper" "$@"
