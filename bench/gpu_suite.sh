#!/usr/bin/env bash
# On a GPU machine with lp's requirements (or the carried wheels on PYTHONPATH): the gpu-marked
# tests and the benchmarks, each part's JSON lines in RESULTS_DIR/gpu_suite.jsonl, then a summary.
#   bash bench/gpu_suite.sh RESULTS_DIR [tests] [stream] [train] [semi] [predict] [launch] [profile] [quality] [nccl] [scaling]
# (no part named: all but profile, quality, nccl and scaling, which take long or need several GPUs; quality: 3 seeds of
# each example config; SEEDS="0 1 2" also repeats scaling's training parts per seed, for time to accuracy)
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:-bench/results}
shift || true
parts=${*:-tests stream train semi predict launch}
mkdir -p "$out"
results="$out/gpu_suite.jsonl"
touch "$results"
has() { [[ " $parts " == *" $1 "* ]]; }

if has tests; then
  python3 -m pytest -q -m gpu -s tests/test_gpu.py 2>&1 | tee "$out/gpu_tests.txt" | grep -E "DALI vs|passed|failed|Error" 
fi
if has stream; then
  for reader in dali cpu; do
    for shuffle in "" --shuffle; do
      python3 bench/clip_stream.py --reader $reader $shuffle --size 256 --clip-length 16 --clips 4 --steps 100 \
        --json "$results" 2>"$out/stream_$reader$shuffle.log" | grep BENCH
    done
  done
fi
for part in train semi; do  # supervised, then + one DALI clip of 16 frames per step
  has $part || continue
  extra=""
  [[ $part == semi ]] && extra="--semi --clip-length 16 --reader dali"
  for compile in "" --compile; do
    for precision in fp32 bf16; do
      python3 bench/train_speed.py $extra --arch resnet50 --size 256 --batch 16 --precision "$precision" $compile \
        --json "$results" 2>"$out/${part}_speed_${precision}${compile}.log" | grep BENCH
    done
  done
done
if has predict; then
  python3 bench/predict_speed.py --arch resnet50 --size 256 --precision bf16 --repeats 10 21 --json "$results" \
    2>"$out/predict_speed.log" | grep BENCH
fi
if has profile; then  # where a semi-supervised step's time goes, eager and compiled
  for compile in "" --compile; do
    python3 bench/profile_step.py --semi --precision fp32 $compile 2>"$out/profile$compile.log" | grep -v "^-\|^Name\|^Self" | head -40
    grep -A1 "synchronizing" "$out/profile$compile.log" | head -20
  done
fi
if has quality; then
  python3 bench/accuracy.py --configs supervised semi --seeds ${SEEDS:-0 1 2} --json "$results" 2>"$out/quality.log" | grep -v "^lp:"
fi
if has nccl; then  # several GPUs of one host: the multi-process tests run on NCCL (2 processes; the resume test 4)
  python3 -m pytest -q -p no:logging tests/test_multiprocess.py tests/test_predict.py -k "process" 2>&1 \
    | tee "$out/nccl_tests.txt" | grep -E "passed|failed|Error"
fi
if has scaling; then  # several GPUs of one host: 1, 2 and 4 (as many as there are), eager then compiled
  gpus=$(python3 -c "import torch; n = torch.cuda.device_count(); print(' '.join(str(g) for g in (1, 2, 4, 8) if g <= n))")
  python3 bench/scaling.py --gpus $gpus --steps 600 --precision bf16 --seeds ${SEEDS:-0} --json "$results" \
    2>"$out/scaling.log" | grep BENCH
  python3 bench/scaling.py --gpus $gpus --steps 600 --precision bf16 --seeds ${SEEDS:-0} --compile --parts strong weak \
    --json "$results" 2>"$out/scaling_compiled.log" | grep BENCH
fi
if has launch; then
  python3 bench/launch_overhead.py --json "$results" 2>"$out/launch.log" | grep BENCH
fi
python3 - "$results" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    print(line.strip())
PY
