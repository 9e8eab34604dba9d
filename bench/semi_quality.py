"""Supervised vs. semi-supervised on the bundled example, same step budget: test-split pixel error,
and on the example video the temporal norm and Pose / multi-view PCA errors of each model's
predictions (the PCA subspaces of configs/mouse_semi.py, fitted on the training labels, measure
both models alike). One JSON line per run, then a summary over seeds.

    python bench/semi_quality.py --seeds 0 1 2 [--json results.jsonl]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lp.cli import parse_train_args  # noqa: E402
from lp.data.labeled import load_labeled_data  # noqa: E402
from lp.engine.loop import train  # noqa: E402
from lp.inference import Model, compute_temporal_norm  # noqa: E402
from lp.losses import fit_unsupervised  # noqa: E402
from lp.models.pca import compute_pca_errors  # noqa: E402

CONFIGS = {"supervised": "configs/mouse.py", "semi": "configs/mouse_semi.py"}
VIDEO = Path("data/mirror-mouse-example/videos/test_vid.mp4")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--kinds", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument("--json", type=Path, help="append each run's JSON line here")
    parser.add_argument("--extra", nargs=argparse.REMAINDER, default=[], help="flags for both configs")
    args = parser.parse_args()

    semi_cfg = parse_train_args(["--config", CONFIGS["semi"]])
    data = load_labeled_data(semi_cfg.data)
    fits = fit_unsupervised(semi_cfg.losses, data.frames.keypoints[data.split["train"]], data.frames.keypoint_names)
    rows = []
    for seed in args.seeds:
        for kind in args.kinds:
            with tempfile.TemporaryDirectory() as run_dir:
                cfg = parse_train_args(["--config", CONFIGS[kind], "--run.output-dir", run_dir, "--run.seed", str(seed),
                                        *args.extra])
                result = train(cfg)
                predictions = Model.from_dir(run_dir).predict_video(VIDEO)
            values = predictions.to_numpy(dtype=np.float64).reshape(len(predictions), -1, 3)
            xy, likelihood = values[..., :2], values[..., 2]
            row = {
                "kind": kind, "seed": seed, "steps": cfg.train.max_steps, "arch": cfg.model.backbone.arch,
                "test_px_mean": result.pixel_error["test"]["mean"], "test_px_median": result.pixel_error["test"]["median"],
                "video_temporal_norm_mean": float(np.nanmean(compute_temporal_norm(xy))),
                "video_temporal_norm_median": float(np.nanmedian(compute_temporal_norm(xy))),
                "video_likelihood_mean": float(likelihood.mean()),
            }
            for name, fit in fits.items():
                errors, _ = compute_pca_errors(fit, xy)
                row[f"video_{name}_error_mean"] = float(np.nanmean(errors))
            rows.append(row)
            print("BENCH semi_quality " + json.dumps(row), flush=True)
            if args.json:
                with open(args.json, "a") as handle:
                    handle.write(json.dumps(row) + "\n")
    print(f"{'measure':<34}" + "".join(f"{kind:>22}" for kind in args.kinds))
    for measure in [key for key in rows[0] if key.startswith(("test_", "video_"))]:
        cells = []
        for kind in args.kinds:
            values = np.array([row[measure] for row in rows if row["kind"] == kind])
            cells.append(f"{values.mean():10.3f} ± {values.std():<9.3f}")
        print(f"{measure:<34}" + "".join(f"{cell:>22}" for cell in cells))


if __name__ == "__main__":
    main()
