#!/usr/bin/env bash
# On a GPU machine with lp's requirements (or the carried wheels on PYTHONPATH): run the
# gpu-marked tests, then every benchmark, and print one summary table.
#   bash bench/gpu_suite.sh [RESULTS_DIR]
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:-bench/results}
mkdir -p "$out"
results="$out/gpu_suite.jsonl"
: > "$results"
python3 -m pytest -q -m gpu 2>&1 | tail -3 | tee "$out/gpu_tests.txt"
for compile in "" --compile; do
  for precision in fp32 bf16; do
    python3 bench/train_speed.py --arch resnet50 --size 256 --batch 16 --precision "$precision" $compile \
      --json "$results" 2>"$out/train_speed_${precision}${compile}.log" | grep BENCH
  done
done
python3 - "$results" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
print(f"{'benchmark':<14}{'precision':<10}{'compile':<9}{'loop img/s':>11}{'net img/s':>11}{'efficiency':>11}{'peak GiB':>10}{'test px':>9}")
for r in rows:
    print(f"{'train_speed':<14}{r['precision']:<10}{str(r['compile']):<9}{r['loop_images_per_s']:>11}{r['network_images_per_s']:>11}"
          f"{r['efficiency']:>11}{r['peak_gib']:>10}{r['test_px']:>9}")
PY
