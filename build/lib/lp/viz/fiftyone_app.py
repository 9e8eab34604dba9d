"""FiftyOne datasets for browsing: the labeled frames (ground truth against each run's predictions)
and a video with each model's keypoints on every frame. Keypoints are stored in FiftyOne's
normalized [0, 1] image coordinates; NaN marks a keypoint that is missing."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image
from tqdm import tqdm

from lp.cli import load_config, run_config_path
from lp.data.labels import read_labels, skeleton_edges
from lp.data.video import probe_video
from lp.errors import UserError
from lp.viz.video import Track, default_names, read_track

GROUND_TRUTH = "ground_truth"


DATABASE_FIX = (
    "reinstall its database with `pip install --force-reinstall fiftyone-db` (online), or point FiftyOne at a "
    "running MongoDB with FIFTYONE_DATABASE_URI=mongodb://HOST:PORT (README: 'Browsing frames in FiftyOne')"
)


def import_fiftyone():
    """fiftyone, offline (no usage tracking: it would try the network), with its database started;
    a database that does not start is one line naming the cause and the fix."""
    os.environ.setdefault("FIFTYONE_DO_NOT_TRACK", "true")
    try:
        import fiftyone
    except ImportError as error:
        raise UserError(f"FiftyOne is not installed ({error}): pip install -r requirements.txt") from None
    problem = database_problem(fiftyone)
    if problem:
        raise UserError(f"FiftyOne's database (MongoDB) does not start ({problem}): {DATABASE_FIX}")
    return fiftyone


def database_problem(fiftyone) -> str | None:
    """Why FiftyOne's database cannot be used, or None when it answers. FiftyOne itself waits a
    minute for a MongoDB that cannot start (a missing shared library, say): ask its mongod for
    its version first, which fails at once with the real cause."""
    if not fiftyone.config.database_uri:  # FiftyOne starts its own mongod
        from fiftyone.core.service import DatabaseService

        try:
            mongod = DatabaseService.find_mongod()
            done = subprocess.run([mongod, "--version"], capture_output=True, text=True, timeout=60)
        except Exception as error:  # noqa: BLE001 - not found, not executable, hangs
            return database_cause(error)
        if done.returncode != 0:
            return database_cause(RuntimeError(done.stderr or done.stdout or f"{mongod} exits with {done.returncode}"))
    try:
        fiftyone.list_datasets()
    except Exception as error:  # noqa: BLE001 - FiftyOne raises config, service and driver errors alike
        return database_cause(error)
    return None


def database_cause(error: Exception) -> str:
    """The telling line of FiftyOne's database error: the child process's own complaint if any."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    telling = [line for line in lines if "error while loading" in line or "not found" in line.lower()]
    return (telling or lines or [type(error).__name__])[-1][:300]


def field_names(names: list[str], flag: str) -> list[str]:
    """Model names as FiftyOne field names: letters, digits and _; unique; not the ground truth's."""
    fields = []
    for name in names:
        field = re.sub(r"\W", "_", name)
        fields.append(f"run_{field}" if not field or field[0].isdigit() or field[0] == "_" else field)
    if len(set(fields)) != len(fields) or GROUND_TRUTH in fields:
        raise UserError(f"model names {names} are not distinct field names: pass {flag} with a unique name per model")
    return fields


def default_dataset_name(kind: str, paths: list[Path]) -> str:
    """Same inputs, same name: running again replaces the dataset instead of piling up copies."""
    digest = hashlib.sha1("\n".join(str(Path(p).resolve()) for p in paths).encode()).hexdigest()[:8]
    return f"lp-{kind}-{Path(paths[0]).stem}-{digest}"


def keypoints_label(fo, xy: np.ndarray, confidence: np.ndarray | None, width: int, height: int):
    """(K, 2) pixels -> one fo.Keypoint holding all K points, in skeleton order."""
    points = np.stack([xy[:, 0] / width, xy[:, 1] / height], axis=-1)
    points[~np.isfinite(points).all(-1)] = np.nan
    conf = None if confidence is None else [float(c) for c in np.nan_to_num(confidence, nan=0.0)]
    return fo.Keypoints(keypoints=[fo.Keypoint(label="pose", points=points.tolist(), confidence=conf)])


def new_dataset(fo, name: str, keypoint_names: list[str], edges: list[tuple[int, int]]):
    """An empty dataset under a working name; `publish` gives it `name` once it is complete, so
    an error or Ctrl-C halfway leaves an earlier dataset of that name as it was."""
    dataset = fo.Dataset(f"{name}.partial", overwrite=True, persistent=True)
    dataset.default_skeleton = fo.KeypointSkeleton(labels=list(keypoint_names), edges=[list(e) for e in edges])
    return dataset


def publish(fo, dataset, name: str):
    """Replace the dataset called `name` (if any) by the completed one."""
    if fo.dataset_exists(name):
        fo.delete_dataset(name)
    dataset.name = name
    return dataset


def read_run_predictions(run_dir: Path, keypoint_names: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A run's predictions.csv (x, y, likelihood of each labeled frame, and its split) and
    pixel_error.csv, indexed by image path."""
    paths = [run_dir / "predictions.csv", run_dir / "pixel_error.csv"]
    for path in paths:
        if not path.is_file():
            raise UserError(f"{path} not found: the run did not finish training (train.py writes it at the end)")
    try:
        predictions = pd.read_csv(paths[0], header=[0, 1, 2], index_col=0)
        errors = pd.read_csv(paths[1], index_col=0)
    except (ValueError, pd.errors.ParserError) as error:
        raise UserError(f"{run_dir}: predictions.csv or pixel_error.csv is not readable ({error})") from None
    parts = list(dict.fromkeys(predictions.columns.get_level_values(1)[predictions.columns.get_level_values(2) == "x"]))
    if parts != list(keypoint_names):
        raise UserError(f"{paths[0]} has keypoints {parts} but the labels have {list(keypoint_names)}: "
                        "pass runs trained on these labels (or --data-dir of their labels)")
    return predictions, errors


def build_frames_dataset(run_dirs: list[Path], names: list[str], data_dir: Path | None, dataset_name: str | None):
    """One sample per labeled frame: `ground_truth` plus one keypoints field per run, the first
    run's split as a tag, and `<run>_pixel_error` (mean over labeled keypoints, pixels)."""
    run_dirs = [Path(r) for r in run_dirs]
    for run_dir in run_dirs[1:]:
        run_config_path(run_dir)  # each is a run; the labels are the first run's
    data = load_config(run_config_path(run_dirs[0])).data
    data_dir = Path(data_dir or data.data_dir)
    labels = read_labels(data_dir / data.csv_file)
    try:
        edges = skeleton_edges(labels.keypoint_names, data.skeleton)
    except ValueError as error:
        raise UserError(f"{run_config_path(run_dirs[0])}: {error}") from None
    fields = field_names(names or [r.resolve().name for r in run_dirs], "--names")
    runs = [read_run_predictions(r, labels.keypoint_names) for r in run_dirs]
    num_keypoints = labels.num_keypoints

    fo = import_fiftyone()
    name = dataset_name or default_dataset_name("frames", run_dirs)
    samples = []
    for i, image_path in enumerate(tqdm(labels.image_paths, desc="frames", unit="frame")):
        path = data_dir / image_path
        if not path.is_file():
            raise UserError(f"image {path} not found: pass --data-dir with the folder of the labels CSV")
        with Image.open(path) as image:
            width, height = image.size
        sample = fo.Sample(filepath=str(path.resolve()), metadata=fo.ImageMetadata(width=width, height=height))
        sample[GROUND_TRUTH] = keypoints_label(fo, labels.keypoints[i], None, width, height)
        for field, (run_dir, (predictions, errors)) in zip(fields, zip(run_dirs, runs)):
            if image_path not in predictions.index:
                raise UserError(f"{run_dir / 'predictions.csv'} has no row for {image_path}: the run used other labels")
            row = predictions.loc[image_path]
            values = row.iloc[: 3 * num_keypoints].to_numpy(dtype=np.float64).reshape(num_keypoints, 3)
            sample[field] = keypoints_label(fo, values[:, :2], values[:, 2], width, height)
            error = errors.loc[image_path].iloc[:num_keypoints].to_numpy(dtype=np.float64)
            sample[f"{field}_pixel_error"] = float(np.nanmean(error)) if np.isfinite(error).any() else None
            split = str(row.iloc[-1])
            sample[f"{field}_split"] = split
            if field == fields[0]:
                sample.tags.append(split)
        samples.append(sample)
    dataset = new_dataset(fo, name, labels.keypoint_names, edges)
    dataset.add_samples(samples, progress=False)
    return publish(fo, dataset, name)


def build_video_dataset(video: Path, predictions: list[Path], names: list[str], dataset_name: str | None):
    """One video sample; each frame holds a keypoints field per model (frame numbers start at 1)."""
    info = probe_video(video)
    names = names or default_names(predictions)
    fields = field_names(names, "--names")
    tracks: list[Track] = [read_track(p, n) for p, n in zip(predictions, names)]
    for track, path in zip(tracks, predictions):
        if len(track.xy) != info.num_frames:
            raise UserError(f"{path} has {len(track.xy)} rows but {info.path} has {info.num_frames} frames: "
                            "pass the predictions made from this video")
        if track.keypoint_names != tracks[0].keypoint_names:
            raise UserError(f"{path} has other keypoints than {predictions[0]}: pass predictions of one skeleton")
    fo = import_fiftyone()
    name = dataset_name or default_dataset_name("video", [info.path, *predictions])
    dataset = new_dataset(fo, name, tracks[0].keypoint_names, [])
    metadata = fo.VideoMetadata(
        frame_width=info.width, frame_height=info.height, frame_rate=info.fps, total_frame_count=info.num_frames,
        duration=info.num_frames / info.fps if info.fps else None, mime_type="video/mp4",
    )
    sample = fo.Sample(filepath=str(info.path.resolve()), metadata=metadata)
    dataset.add_sample(sample)
    chunk = 2000
    with tqdm(total=info.num_frames, desc="frames", unit="frame") as bar:
        for start in range(0, info.num_frames, chunk):
            frames = {}
            for index in range(start, min(start + chunk, info.num_frames)):
                labels = {f: keypoints_label(fo, t.xy[index], t.likelihood[index], info.width, info.height)
                          for f, t in zip(fields, tracks)}
                frames[index + 1] = fo.Frame(**labels)
            sample.frames.merge(frames)
            sample.save()
            bar.update(len(frames))
    return publish(fo, dataset, name)


def launch(dataset, remote: bool, port: int) -> None:
    """Open the app on the dataset and wait until it is closed (Ctrl-C ends a remote session)."""
    fo = import_fiftyone()
    session = fo.launch_app(dataset, remote=remote, port=port)
    if remote:
        print(f"lp: FiftyOne app for dataset '{dataset.name}' serving on port {port}: on your computer run "
              f"ssh -N -L {port}:localhost:{port} USER@THIS_HOST, then open http://localhost:{port} (Ctrl-C here stops it)")
    else:
        print(f"lp: FiftyOne app for dataset '{dataset.name}' at {session.url} (close the app or Ctrl-C to stop)")
    session.wait()
