"""`accelerate launch` on one GPU vs. `python train.py`: the same run (configs/mouse.py, ResNet-50
256x256, --steps steps), whole command wall time and the loop's images/s from its log.

    python bench/launch_overhead.py --steps 600
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def timed(command: list[str]) -> tuple[float, float]:
    """Whole-command seconds and the last images/s that the progress bar showed."""
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode:
        sys.exit(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    rates = re.findall(r"img_s=(\d+)", done.stderr)
    return elapsed, float(rates[-1]) if rates else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--config", default="configs/mouse.py")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    row = {"config": args.config, "steps": args.steps}
    with tempfile.TemporaryDirectory() as tmp:
        flags = ["--config", args.config, "--train.max-steps", str(args.steps), "--eval.val-every-steps", "200"]
        plain = [sys.executable, "train.py", *flags, "--run.output-dir", f"{tmp}/plain"]
        launched = [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", "1", "--num_machines", "1",
                    "--mixed_precision", "no", "--dynamo_backend", "no", "train.py", *flags, "--run.output-dir", f"{tmp}/launch"]
        for name, command in (("python", plain), ("accelerate_launch", launched)):
            row[f"{name}_s"], row[f"{name}_img_s"] = (round(v, 1) for v in timed(command))
    row["overhead"] = round(row["accelerate_launch_s"] / row["python_s"] - 1, 3)
    print("BENCH launch_overhead " + json.dumps(row))
    if args.json:
        with open(args.json, "a") as handle:
            handle.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
