#!/usr/bin/env bash
# bench/accuracy.py once per (configuration, seed), all in parallel on one GPU (an eager step of
# ResNet-50 leaves most of an H200 idle, so several runs share it well), then an EKS ensemble of
# each configuration's saved tracks. Every result is a JSON line in OUT.
#   bash bench/accuracy_parallel.sh OUT.jsonl TRACKS_DIR "CONFIGS" "SEEDS" [accuracy.py flags] [--extra train flags]
set -uo pipefail
cd "$(dirname "$0")/.."
out=$1 tracks=$2 configs=$3 seeds=$4
shift 4
mkdir -p "$tracks" "$(dirname "$out")"
for config in $configs; do
  for seed in $seeds; do
    OMP_NUM_THREADS=1 python3 bench/accuracy.py --configs "$config" --seeds "$seed" --json "$out" \
      --save-tracks "$tracks" "$@" >"$tracks/$config-$seed.log" 2>&1 &
  done
done
wait
# shellcheck disable=SC2086
python3 bench/accuracy.py --configs $configs --ensemble-tracks "$tracks" --json "$out" "$@" | grep BENCH
