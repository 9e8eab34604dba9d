"""Diagnostic plots (PNG, matplotlib): keypoint traces and likelihoods over time for one or more
models, per-frame metrics over time, and labeled-frame pixel errors per keypoint by split."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display needed
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from lp.errors import UserError  # noqa: E402
from lp.io import atomic_write  # noqa: E402
from lp.viz.video import MODEL_COLORS, Track  # noqa: E402


def _color(i: int) -> tuple[float, float, float]:
    return tuple(c / 255 for c in MODEL_COLORS[i % len(MODEL_COLORS)])


def _save(figure, path: Path) -> None:
    figure.tight_layout()
    atomic_write(path, lambda tmp: figure.savefig(tmp, format="png", dpi=100, bbox_inches="tight"))
    plt.close(figure)


def plot_traces(tracks: list[Track], stem: str, output_dir: Path, fps: float | None = None) -> list[Path]:
    """One PNG per keypoint: x(t), y(t) and likelihood(t) of every model."""
    names = tracks[0].keypoint_names
    for track in tracks[1:]:
        if track.keypoint_names != names or len(track.xy) != len(tracks[0].xy):
            raise UserError(f"predictions of {track.name} and {tracks[0].name} differ in keypoints or frame count: "
                            "compare predictions of the same video and project")
    time = np.arange(len(tracks[0].xy)) / (fps or 1)
    unit = "time (s)" if fps else "frame"
    paths = []
    for k, name in enumerate(names):
        figure, axes = plt.subplots(3, 1, figsize=(12, 6), sharex=True)
        for i, track in enumerate(tracks):
            axes[0].plot(time, track.xy[:, k, 0], color=_color(i), lw=0.8, label=track.name)
            axes[1].plot(time, track.xy[:, k, 1], color=_color(i), lw=0.8)
            axes[2].plot(time, track.likelihood[:, k], color=_color(i), lw=0.8)
        axes[0].set_ylabel("x (px)")
        axes[1].set_ylabel("y (px)")
        axes[2].set_ylabel("likelihood")
        axes[2].set_ylim(-0.02, 1.02)
        axes[2].set_xlabel(unit)
        axes[0].set_title(f"{stem}: {name}")
        axes[0].legend(loc="upper right", fontsize=8)
        paths.append(output_dir / f"{stem}_{name}.png")
        _save(figure, paths[-1])
    return paths


def plot_metrics(metrics: dict[str, dict[str, pd.DataFrame]], stem: str, output_dir: Path) -> Path | None:
    """metrics[metric][model] = per-frame table (frames x keypoints): mean over keypoints vs. frame."""
    metrics = {name: tables for name, tables in metrics.items() if tables}
    if not metrics:
        return None
    figure, axes = plt.subplots(len(metrics), 1, figsize=(12, 2.5 * len(metrics)), sharex=True, squeeze=False)
    for axis, (metric, tables) in zip(axes[:, 0], metrics.items()):
        for i, (model, table) in enumerate(tables.items()):
            axis.plot(table.index, table.mean(axis=1), color=_color(i), lw=0.8, label=model)
        axis.set_ylabel(f"{metric}\n(px, mean over keypoints)")
        axis.legend(loc="upper right", fontsize=8)
    axes[0, 0].set_title(f"{stem}: per-frame metrics")
    axes[-1, 0].set_xlabel("frame")
    path = output_dir / f"{stem}_metrics.png"
    _save(figure, path)
    return path


def plot_pixel_errors(tables: dict[str, pd.DataFrame], output_dir: Path) -> Path:
    """Box plots of labeled-frame pixel error per keypoint, one box per model, one panel per split."""
    present = {s for t in tables.values() for s in t["split"].unique()}
    splits = [s for s in ("train", "val", "test") if s in present] + sorted(present - {"train", "val", "test"})
    keypoints = [c for c in next(iter(tables.values())).columns if c != "split"]
    figure, axes = plt.subplots(len(splits), 1, figsize=(max(8, len(keypoints) * 0.8), 3 * len(splits)), squeeze=False)
    width = 0.8 / len(tables)
    for axis, split in zip(axes[:, 0], splits):
        for i, (model, table) in enumerate(tables.items()):
            rows = table[table["split"] == split]
            data = [rows[k].dropna().to_numpy() for k in keypoints]
            positions = np.arange(len(keypoints)) + (i - (len(tables) - 1) / 2) * width
            boxes = axis.boxplot(data, positions=positions, widths=width * 0.9, patch_artist=True, showfliers=True,
                                 flierprops={"markersize": 2},
                                 medianprops={"color": "black"})
            for patch in boxes["boxes"]:
                patch.set_facecolor(_color(i))
            axis.plot([], [], color=_color(i), lw=6, label=model)
        axis.set_xticks(np.arange(len(keypoints)), keypoints, rotation=45, ha="right", fontsize=8)
        axis.set_ylabel("pixel error (px)")
        axis.set_title(f"labeled frames, {split} split")
        axis.legend(loc="upper right", fontsize=8)
    path = output_dir / "pixel_error.png"
    _save(figure, path)
    return path


def read_metric(path: Path) -> pd.DataFrame | None:
    return pd.read_csv(path, index_col=0) if path.is_file() else None


def render_plots(predictions: list[Path], names: list[str], pixel_errors: list[Path], output_dir: Path) -> list[Path]:
    """Every plot the given files allow; returns the PNGs written."""
    from lp.viz.video import default_names, read_track

    if not predictions and not pixel_errors:
        raise UserError("nothing to plot: give --predictions CSVs of predict.py and/or --pixel-error CSVs of train.py")
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    if predictions:
        if names and len(names) != len(predictions):
            raise UserError(f"--names gives {len(names)} names for {len(predictions)} --predictions files: give one per file")
        names = names or default_names(predictions)
        tracks = [read_track(p, n) for p, n in zip(predictions, names)]
        stem = Path(predictions[0]).stem
        written += plot_traces(tracks, stem, output_dir)
        metrics: dict[str, dict[str, pd.DataFrame]] = {}
        for metric in ("temporal_norm", "pca_singleview_error", "pca_multiview_error"):
            for path, name in zip(predictions, names):
                table = read_metric(Path(path).with_name(f"{Path(path).stem}_{metric}.csv"))
                if table is not None:
                    metrics.setdefault(metric, {})[name] = table
        metric_plot = plot_metrics(metrics, stem, output_dir)
        written += [metric_plot] if metric_plot else []
    if pixel_errors:
        pixel_names = default_names(pixel_errors) if len(pixel_errors) > 1 or not names else names[: len(pixel_errors)]
        tables = {}
        for path, name in zip(pixel_errors, pixel_names):
            if not Path(path).is_file():
                raise UserError(f"--pixel-error {path} not found: pass a run's pixel_error.csv")
            table = pd.read_csv(path, index_col=0)
            if "split" not in table.columns:
                raise UserError(f"{path} has no split column: pass a pixel_error.csv written by train.py")
            tables[name if name not in tables else f"{name}_{len(tables)}"] = table
        written.append(plot_pixel_errors(tables, output_dir))
    return written
