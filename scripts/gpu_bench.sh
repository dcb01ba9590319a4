#!/usr/bin/env bash
# The GPU table of the Triton KAN jet kernels: KAN [2,10,1] G=20 at 1e4, 1e5 and 1e6 collocation points and
# KAN [2,32,32,1] G=10 at 1e6, and the group-rational KAN [2,32,32,1] (Triton kernels of its activation's jet)
# at 1e5 and 1e6; engines autograd (efficient-kan formulation), forward-torch (the PyTorch node) and forward
# (Triton). Needs a CUDA device and `pip install 'pinnkan[cuda]'` (Triton).
# Usage: scripts/gpu_bench.sh [OUT_DIR]   (one JSON file per case in OUT_DIR, default runs/gpu_bench)
set -euo pipefail
out="${1:-runs/gpu_bench}"
mkdir -p "$out"
engines=autograd,forward-torch,forward
for batch in 10000 100000 1000000; do
  pinnkan bench --device cuda --model kan --width 2,10,1 --grid 20 --batch "$batch" \
    --dtype float32,float64 --engines "$engines" --repeat 10 --warmup 2 --json > "$out/kan_2_10_1_G20_$batch.json"
done
pinnkan bench --device cuda --model kan --width 2,32,32,1 --grid 10 --batch 1000000 \
  --dtype float32 --engines "$engines" --repeat 10 --warmup 2 --json > "$out/kan_2_32_32_1_G10_1000000.json"
for batch in 100000 1000000; do
  pinnkan bench --device cuda --model rational --width 2,32,32,1 --batch "$batch" \
    --dtype float32,float64 --engines "$engines" --repeat 10 --warmup 2 --json > "$out/rational_2_32_32_1_$batch.json"
done
python3 - "$out" <<'PY'
import json, pathlib, sys
from pinnkan.bench import table
rows = [r for f in sorted(pathlib.Path(sys.argv[1]).glob("*.json")) for r in json.loads(f.read_text())]
print(table(rows))
PY
