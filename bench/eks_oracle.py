"""lp's Ensemble Kalman Smoother (lp.ensemble.eks_smooth) against the field's package
(`ensemble-kalman-smoother`, "eks") on the same synthetic ensemble with a known answer.

eks pins an old jax, so it lives in its own virtual environment, named by --eks-python:

    python3 -m venv /tmp/eksvenv && /tmp/eksvenv/bin/pip install ensemble-kalman-smoother
    python3 bench/eks_oracle.py --eks-python /tmp/eksvenv/bin/python [--json OUT.jsonl]

The ensemble: 4 models track 3 keypoints over 2000 frames of a random walk (2 px^2 per frame);
each model adds noise whose size changes over time and between models, and one model jumps far
off on a few stretches. Both smoothers get the same x, y, likelihood tables; eks with
avg_mode=mean and var_mode=var (lp's observation model). Reported: the two smoothers' difference
with the same smoothing parameter, and each one's error against the true track with its own
automatic choice.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lp.ensemble import eks_smooth  # noqa: E402

EKS_RUN = """
import sys, numpy as np
from eks.singlecam_smoother import fit_eks_singlecam
files, out, smooth = sys.argv[1].split(","), sys.argv[2], sys.argv[3]
table, params, _, names = fit_eks_singlecam(files, out + ".csv", smooth_param=None if smooth == "auto" else float(smooth),
                                            avg_mode="mean", var_mode="var")
xy = np.stack([np.stack([table[(table.columns[0][0], n, c)].to_numpy(float) for c in ("x", "y")], -1) for n in names], 1)
np.savez(out, xy=xy, smoothing=np.asarray(params, dtype=float))
"""


def synthetic_ensemble(seed: int = 0, frames: int = 2000, keypoints: int = 3, models: int = 4, walk: float = 2.0):
    rng = np.random.default_rng(seed)
    truth = 200 + np.cumsum(rng.normal(0, np.sqrt(walk), (frames, keypoints, 2)), axis=0)
    scale = 1.0 + 3.0 * (np.sin(np.arange(frames) / 150.0)[:, None] ** 2)  # noise size changes over time
    noise = rng.normal(0, 1, (models, frames, keypoints, 2)) * scale[None, :, :, None] * (1 + 0.3 * np.arange(models))[:, None, None, None]
    xy = truth[None] + noise
    for start in rng.integers(0, frames - 20, 6):  # one model's stretches far off
        xy[models - 1, start : start + 20] += 40.0
    likelihood = np.clip(1.0 - np.abs(noise).mean(axis=-1) / 20.0, 0.05, 1.0)
    return truth, xy, likelihood


def write_csv(path: Path, xy: np.ndarray, likelihood: np.ndarray) -> None:
    names = [f"kp{k}" for k in range(xy.shape[1])]
    columns = pd.MultiIndex.from_product([["model"], names, ["x", "y", "likelihood"]], names=["scorer", "bodyparts", "coords"])
    values = np.concatenate([xy, likelihood[..., None]], axis=-1).reshape(len(xy), -1)
    pd.DataFrame(values, columns=columns).to_csv(path)


def run_eks(python: str, files: list[Path], work: Path, smooth: str) -> dict:
    out = work / f"eks_{smooth}"
    subprocess.run([python, "-c", EKS_RUN, ",".join(map(str, files)), str(out), smooth], check=True,
                   capture_output=True, text=True)
    return dict(np.load(f"{out}.npz"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eks-python", required=True, help="a Python with ensemble-kalman-smoother installed")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    truth, xy, likelihood = synthetic_ensemble()
    edge = 50  # eks starts from a prior fitted to the whole track, lp from the first frame: compare past the start
    row = {"bench": "eks_oracle", "frames": xy.shape[1], "models": xy.shape[0], "keypoints": xy.shape[2]}
    with tempfile.TemporaryDirectory() as work:
        files = []
        for m in range(len(xy)):
            files.append(Path(work) / f"model{m}.csv")
            write_csv(files[-1], xy[m], likelihood[m])
        for smooth in ("2.0", "auto"):
            theirs = run_eks(args.eks_python, files, Path(work), smooth)
            ours = eks_smooth(xy, likelihood, None if smooth == "auto" else float(smooth))
            tag = "fixed_s2" if smooth != "auto" else "auto"
            difference = np.abs(ours.xy - theirs["xy"])[edge:-edge]
            row |= {f"{tag}_lp_minus_eks_px_max": float(difference.max()), f"{tag}_lp_minus_eks_px_median": float(np.median(difference)),
                    f"{tag}_lp_rmse_px": float(np.sqrt(((ours.xy - truth) ** 2)[edge:-edge].mean())),
                    f"{tag}_eks_rmse_px": float(np.sqrt(((theirs["xy"] - truth) ** 2)[edge:-edge].mean()))}
            if smooth == "auto":
                row |= {"auto_lp_smoothing": ours.smoothing.round(3).tolist(), "auto_eks_smoothing": np.round(theirs["smoothing"], 3).tolist()}
    row["ensemble_mean_rmse_px"] = float(np.sqrt(((xy.mean(axis=0) - truth) ** 2)[edge:-edge].mean()))
    print(json.dumps(row, indent=1))
    if args.json:
        with open(args.json, "a") as handle:
            handle.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
