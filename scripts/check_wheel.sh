#!/usr/bin/env bash
# Packaging check (CI runs it): build the sdist, the wheel from that sdist, install the wheel in a fresh
# environment (CPU torch first, as the Makefile does) and solve a problem from outside the source tree.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$PY" -m build --outdir "$work/dist" . >/dev/null   # sdist, then the wheel built from it
ls "$work"/dist
python3 -m venv "$work/env"
"$work/env/bin/python" -m pip install -q --upgrade pip
"$work/env/bin/python" -m pip install -q torch==2.13.0
"$work/env/bin/python" -m pip install -q "$work"/dist/*.whl
cd "$work"
"$work/env/bin/pinnkan" --version
PINNKAN_NO_PROGRESS=1 "$work/env/bin/pinnkan" solve poisson --steps 5 --out "$work/run"
test -s "$work/run/metrics.json"
echo "wheel check: ok"
