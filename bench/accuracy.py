"""Accuracy with few labels: K seeds of each listed configuration, the same split and step budget,
then each model's pixel error on the held-out labeled frames and, on a video, how its tracks
behave (temporal norm, Pose PCA error); optionally the error on every frame of a densely labeled
video, and an ensemble of the seeds smoothed by EKS. One JSON line per run, then a summary with
each figure's spread over seeds.

    python bench/accuracy.py --configs supervised semi --seeds 0 1 2 --json OUT.jsonl
    python bench/accuracy.py --configs supervised --seeds 0 1 2 3 --ensemble \
        --data-dir ../shared/data/sleap-flies-clip --video ../shared/data/sleap-flies-clip/videos/clip.mp4 \
        --dense-labels ../shared/data/sleap-flies-clip/labels_all_frames.csv --extra --data.test-fraction 0
    python bench/accuracy.py --quick        # a few steps of a small network: checks that the script runs

    python bench/accuracy.py --summarize bench/results/nvidia-h200_2026-12-01.jsonl   # the table again

Configurations are the example's config files (supervised: configs/mouse.py, semi:
configs/mouse_semi.py; context and context_semi: the same with --model.head heatmap_context). On
other data, semi keeps only the temporal loss (pass PCA flags in --extra to add them); --extra
flags apply to every run (e.g. --data.train-frames 20). --tag names the runs' group in the JSON.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lp.cli import parse_train_args  # noqa: E402
from lp.config import PcaSingleviewLossConfig  # noqa: E402
from lp.data.labels import read_labels  # noqa: E402
from lp.engine.loop import train  # noqa: E402
from lp.ensemble import combine, eks_smooth  # noqa: E402
from lp.inference import Model, compute_temporal_norm  # noqa: E402
from lp.losses.pca_singleview import fit_singleview  # noqa: E402
from lp.models.pca import compute_pca_errors  # noqa: E402

DEVICE = torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu"
CONTEXT = ["--model.head", "heatmap_context"]
CONFIGS = {
    "supervised": (ROOT / "configs/mouse.py", []),
    "semi": (ROOT / "configs/mouse_semi.py", []),
    "context": (ROOT / "configs/mouse.py", CONTEXT),
    "context_semi": (ROOT / "configs/mouse_semi.py", CONTEXT),
}
"""name -> (config file, flags). On data other than the example the semi-supervised ones keep
the temporal loss only (the example's PCA keypoint lists and views mean nothing there)."""
OTHER_DATA_SEMI = ["--losses.pca-singleview.enabled", "False", "--losses.pca-multiview.enabled", "False"]
EXAMPLE = ROOT / "data/mirror-mouse-example"
QUICK = ["--model.backbone.arch", "resnet18", "--data.image-height", "64", "--data.image-width", "64",
         "--train.max-steps", "6", "--train.batch-size", "4", "--eval.val-every-steps", "3",
         "--unlabeled.clip-length", "4", "--losses.unsupervised-start-steps", "0", "--losses.unsupervised-full-steps", "0"]


def error_stats(errors: np.ndarray, prefix: str) -> dict[str, float]:
    """Mean, median, 90th percentile of the labeled keypoints' errors (px), and the share over 10 px."""
    labeled = errors[np.isfinite(errors)]
    if labeled.size == 0:
        return {}
    return {f"{prefix}_px_mean": float(labeled.mean()), f"{prefix}_px_median": float(np.median(labeled)),
            f"{prefix}_px_p90": float(np.percentile(labeled, 90)), f"{prefix}_over_10px": float((labeled > 10).mean())}


def track_stats(xy: np.ndarray, pca_fit, dense: tuple | None) -> dict:
    """Temporal norm and Pose PCA error of a video's predictions (T, K, 2); with dense labels
    (frame indices, (F, K, 2) labels) their errors on those frames."""
    norm = compute_temporal_norm(xy)
    row = {"video_temporal_norm_mean": float(np.nanmean(norm)), "video_temporal_norm_median": float(np.nanmedian(norm))}
    if pca_fit is not None:
        row["video_pca_error_mean"] = float(np.nanmean(compute_pca_errors(pca_fit, xy)[0]))
    if dense is not None:
        frames, labels, names, label_jump = dense
        errors = np.linalg.norm(xy[frames] - labels, axis=-1)
        row |= error_stats(errors, "dense") | off_by_10px(xy[frames], labels, errors, names, label_jump)
    return row


def off_by_10px(xy: np.ndarray, labels: np.ndarray, errors: np.ndarray, names: list[str], label_jump: np.ndarray) -> dict:
    """Where the keypoints off by > 10 px are: the share of each body part's labeled keypoints
    (names <animal>_<part> grouped by part); as shares of all labeled keypoints, those > 10 px off
    and nearer another labeled keypoint of the frame than their own label (on another body
    part), those where the label itself jumps > 10 px from its neighbours' (label_jump (F, K):
    the label's distance from the median of the labels of frames t-2, t-1, t+1, t+2), and,
    with several animals, those nearer the same part of another animal (identity swaps)."""
    labeled = np.isfinite(errors)
    parts = [name.split("_", 1)[-1] for name in names]
    by_part = {part: float((errors[:, [p == part for p in parts]] > 10).sum() / labeled[:, [p == part for p in parts]].sum())
               for part in dict.fromkeys(parts)}
    off = errors > 10
    to_others = np.linalg.norm(xy[:, :, None] - labels[:, None, :], axis=-1)  # (F, K predicted, K labeled)
    to_others[:, np.arange(len(names)), np.arange(len(names))] = np.inf
    nearest_other = np.where(np.isnan(to_others), np.inf, to_others).min(axis=2)
    row = {"dense_over_10px_by_part": {part: round(share, 4) for part, share in by_part.items()},
           "dense_over_10px_on_other_part": float((off & (nearest_other < errors))[labeled].mean()),
           "dense_over_10px_label_jump": float((off & (label_jump > 10))[labeled].mean())}
    animals = {name.split("_", 1)[0] for name in names if "_" in name}
    if len(animals) > 1:
        swapped = np.zeros_like(labeled)
        for k, name in enumerate(names):
            for j, other in enumerate(names):
                if j != k and parts[j] == parts[k] and other.split("_", 1)[0] != name.split("_", 1)[0]:
                    nearer = np.linalg.norm(xy[:, k] - labels[:, j], axis=-1) < errors[:, k]
                    swapped[:, k] |= nearer & (errors[:, k] > 10)
        row["dense_over_10px_swapped"] = float(swapped[labeled].mean())
    return row


def read_dense(path: Path, names: list[str], skip: set[int]) -> tuple[np.ndarray, np.ndarray, list[str], np.ndarray]:
    """A labels CSV whose first column is the video frame index -> (frames, labels (F, K, 2), names,
    label jumps (F, K)) of the frames not in `skip` (those used for training); a label's jump is
    its distance from the median of the labels of frames t-2, t-1, t+1, t+2 (NaN without them)."""
    table = pd.read_csv(path, header=[0, 1, 2], index_col=0)
    labels = np.stack([table.xs(c, axis=1, level=2).droplevel(0, axis=1)[names].to_numpy(float) for c in "xy"], -1)
    frames = table.index.to_numpy(int)
    by_frame = np.full((frames.max() + 5, len(names), 2), np.nan)
    by_frame[frames + 2] = labels  # two empty frames either side
    neighbours = np.stack([by_frame[frames + 2 + offset] for offset in (-2, -1, 1, 2)])
    with warnings.catch_warnings():  # a keypoint unlabeled in all four: NaN, as meant
        warnings.simplefilter("ignore", RuntimeWarning)
        jump = np.linalg.norm(labels - np.nanmedian(neighbours, axis=0), axis=-1)
    keep = np.array([f not in skip for f in frames])
    return frames[keep], labels[keep], names, jump[keep]


def saved_row(args, kind: str, saved: list, seed: int = -1) -> dict:
    """Saved tracks scored like a single run: one run's (seed), or an ensemble (EKS, mean or
    median: --ensemble-method) over several seeds'."""
    if len(saved) == 1:
        xy, config, extra = saved[0]["xy"], kind, {"rescored": True}
    else:
        method = args.ensemble_method
        xy = combine(np.stack([s["xy"] for s in saved]), np.stack([s["likelihood"] for s in saved]), method).xy
        config, extra = f"{kind}+{method}{len(saved)}", {}
    names = [str(n) for n in saved[0]["names"]]
    dense = read_dense(args.dense_labels, names, set(saved[0]["used"].tolist())) if args.dense_labels else None
    return {"bench": "accuracy", "tag": args.tag, "device": DEVICE, "config": config, "seed": seed,
            "steps": int(saved[0]["steps"]), "arch": str(saved[0]["arch"]), "data": args.data_dir.name,
            **extra, **track_stats(xy, None, dense)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", default=["supervised", "semi"], choices=list(CONFIGS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--data-dir", type=Path, default=EXAMPLE)
    parser.add_argument("--video", type=Path, default=EXAMPLE / "videos/test_vid.mp4")
    parser.add_argument("--dense-labels", type=Path, help="labels of video frames (first column: frame index)")
    parser.add_argument("--ensemble", action="store_true", help="also an EKS ensemble of each configuration's seeds")
    parser.add_argument("--quick", action="store_true", help="a few steps of a small network, one seed")
    parser.add_argument("--json", type=Path, help="append each result as one JSON line here")
    parser.add_argument("--save-tracks", type=Path, help="keep each run's video predictions here (for --ensemble-tracks)")
    parser.add_argument("--ensemble-tracks", type=Path, help="only: ensembles of the saved tracks of each --configs")
    parser.add_argument("--ensemble-method", default="eks", choices=["eks", "mean", "median"],
                        help="how --ensemble-tracks combines the seeds")
    parser.add_argument("--score-tracks", type=Path, help="only: score each saved track of each --configs again, one row each")
    parser.add_argument("--tag", default="", help="a label stored in every JSON line (e.g. train20)")
    parser.add_argument("--summarize", type=Path, nargs="+", help="only print the summary of these JSON-lines files")
    parser.add_argument("--extra", nargs=argparse.REMAINDER, default=[], help="flags for every run")
    args = parser.parse_args()
    if args.summarize:
        rows = [json.loads(line) for path in args.summarize for line in path.read_text().splitlines() if '"bench": "accuracy"' in line]
        for group in dict.fromkeys((row["data"], row.get("tag", "")) for row in rows):
            print(f"== {group[0]} {group[1]}")
            summarize([row for row in rows if (row["data"], row.get("tag", "")) == group])
        return
    seeds = args.seeds[: 2 if args.ensemble else 1] if args.quick else args.seeds
    extra = [*(QUICK if args.quick else []), *args.extra]

    def report(row: dict) -> None:
        print("BENCH accuracy " + json.dumps(row), flush=True)
        if args.json:
            with open(args.json, "a") as handle:
                handle.write(json.dumps(row) + "\n")

    if args.ensemble_tracks or args.score_tracks:
        for kind in args.configs:
            saved = sorted((args.ensemble_tracks or args.score_tracks).glob(f"{args.data_dir.name}_{args.tag}_{kind}_seed*.npz"))
            if args.score_tracks:
                for path in saved:
                    report(saved_row(args, kind, [np.load(path)], int(re.search(r"seed(\d+)$", path.stem).group(1))))
            elif len(saved) > 1:
                report(saved_row(args, kind, [np.load(path) for path in saved]))
        return
    rows = []
    for kind in args.configs:
        tracks = []
        for seed in seeds:
            with tempfile.TemporaryDirectory() as run_dir:
                config_file, config_flags = CONFIGS[kind]
                flags = ["--config", str(config_file), *config_flags, "--data.data-dir", str(args.data_dir),
                         "--run.output-dir", run_dir, "--run.seed", str(seed)]
                if kind.endswith("semi"):
                    flags += ["--unlabeled.video-dir", str(args.video.parent)]
                if args.data_dir.resolve() != EXAMPLE.resolve():  # the example's skeleton names its keypoints
                    flags += ["--data.skeleton", *(OTHER_DATA_SEMI if kind.endswith("semi") else [])]
                flags += extra
                cfg = parse_train_args(flags)
                started = time.perf_counter()
                train(cfg)
                train_s = time.perf_counter() - started
                errors = pd.read_csv(Path(run_dir) / "pixel_error.csv", index_col=0)
                model = Model.from_dir(run_dir)
                table = model.predict_video(args.video)
            frames = read_labels(Path(cfg.data.data_dir) / cfg.data.csv_file)
            train_rows = errors.index[errors["split"] == "train"]
            pca_fit = fit_singleview(PcaSingleviewLossConfig(), frames.keypoints[[frames.image_paths.index(p) for p in train_rows]],
                                     frames.keypoint_names) if len(train_rows) > 2 * frames.num_keypoints else None
            xy = np.stack([table.xs(c, axis=1, level=2).to_numpy(float) for c in "xy"], -1)
            likelihood = table.xs("likelihood", axis=1, level=2).to_numpy(float)
            tracks.append((xy, likelihood))
            dense = None
            # labeled-data/<video>/img<frame>.png: the frame index is the file name's number
            used = {int(match.group()) for p in frames.image_paths if (match := re.search(r"\d+", Path(p).stem))}
            if args.dense_labels:
                dense = read_dense(args.dense_labels, frames.keypoint_names, used)
            if args.save_tracks:
                args.save_tracks.mkdir(parents=True, exist_ok=True)
                np.savez(args.save_tracks / f"{args.data_dir.name}_{args.tag}_{kind}_seed{seed}.npz", xy=xy,
                         likelihood=likelihood, names=np.array(frames.keypoint_names), used=np.array(sorted(used)),
                         steps=cfg.train.max_steps, arch=cfg.model.backbone.arch)
            test = errors[errors["split"] == "test"].drop(columns="split").to_numpy(float)
            row = {"bench": "accuracy", "tag": args.tag, "device": DEVICE, "config": kind, "seed": seed, "train_s": round(train_s, 1), "steps": cfg.train.max_steps, "arch": cfg.model.backbone.arch,
                   "train_frames": int((errors["split"] == "train").sum()), "data": args.data_dir.name,
                   **error_stats(test, "test"), **track_stats(xy, pca_fit, dense)}
            rows.append(row)
            report(row)
        if args.ensemble and len(tracks) > 1:
            smoothed = eks_smooth(np.stack([t[0] for t in tracks]), np.stack([t[1] for t in tracks]))
            row = {"bench": "accuracy", "tag": args.tag, "device": DEVICE, "config": f"{kind}+eks{len(tracks)}", "seed": -1, "steps": cfg.train.max_steps,
                   "arch": cfg.model.backbone.arch, "data": args.data_dir.name, **track_stats(smoothed.xy, pca_fit, dense)}
            rows.append(row)
            report(row)
    summarize(rows)


def summarize(rows: list[dict]) -> None:
    """One line per measure, one column per configuration: mean ± spread (std) over seeds."""
    measures = sorted({key for row in rows for key, value in row.items()
                       if key.startswith(("test_", "video_", "dense_")) and isinstance(value, float)})
    parts = sorted({part for row in rows for part in row.get("dense_over_10px_by_part", {})})
    rows = [row | {f"dense_over_10px_{part}": row["dense_over_10px_by_part"][part] for part in parts}
            if "dense_over_10px_by_part" in row else row for row in rows]
    measures += [f"dense_over_10px_{part}" for part in parts]
    names = list(dict.fromkeys(row["config"] for row in rows))
    print(f"{'measure':<28}" + "".join(f"{name:>24}" for name in names))
    for measure in measures:
        cells = []
        for name in names:
            values = np.array([row[measure] for row in rows if row["config"] == name and measure in row])
            cells.append(f"{values.mean():10.3f} ± {values.std():<9.3f}" if len(values) else f"{'-':>20}")
        print(f"{measure:<28}" + "".join(f"{cell:>24}" for cell in cells))


if __name__ == "__main__":
    main()
