"""Labeled videos: every frame of a source video with each model's keypoints drawn in its own
colour, a frame counter and a legend; H.264 mp4 with the source's frame count and rate."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pandas as pd
from PIL import Image, ImageDraw
from tqdm import tqdm

from lp.data.video import VideoInfo, prefetch, probe_video, read_frames
from lp.errors import UserError
from lp.io import atomic_write

# Okabe-Ito colours: distinguishable with the common colour-vision deficiencies.
MODEL_COLORS = [(230, 159, 0), (86, 180, 233), (0, 158, 115), (240, 228, 66), (0, 114, 178), (213, 94, 0), (204, 121, 167)]


@dataclass
class Track:
    name: str
    keypoint_names: list[str]
    xy: np.ndarray
    """(N, K, 2) original-frame pixels; NaN = missing."""
    likelihood: np.ndarray
    """(N, K)."""


def read_track(path: Path, name: str) -> Track:
    """A predictions CSV written by predict.py (DeepLabCut's three header rows)."""
    if not Path(path).is_file():
        raise UserError(f"--predictions {path} not found")
    try:
        table = pd.read_csv(path, header=[0, 1, 2], index_col=0)
        coords = table.columns.get_level_values(2)
        parts = list(dict.fromkeys(table.columns.get_level_values(1)[coords == "x"]))
        values = table.to_numpy(dtype=np.float64).reshape(len(table), len(parts), 3)
    except (ValueError, IndexError, pd.errors.ParserError) as error:
        raise UserError(f"{path} is not a predictions CSV of predict.py (x, y, likelihood per keypoint): {error}") from None
    return Track(name, parts, values[..., :2], values[..., 2])


def render_video(
    info: VideoInfo, tracks: list[Track], output: Path, likelihood_threshold: float = 0.9,
    show_names: bool = False, radius: int | None = None,
) -> None:
    for track in tracks:
        if len(track.xy) != info.num_frames:
            raise UserError(
                f"predictions of {track.name} have {len(track.xy)} rows but {info.path} has {info.num_frames} "
                "frames: pass the predictions made from this video"
            )
    radius = radius or max(2, round(min(info.width, info.height) / 120))
    width, height = info.width + info.width % 2, info.height + info.height % 2  # H.264 needs even sides
    rate = Fraction(info.fps).limit_denominator(100000) if info.fps else Fraction(30)

    def write(tmp: Path) -> None:
        with av.open(str(tmp), "w", format="mp4") as container:
            stream = container.add_stream("libx264", rate=rate)
            stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
            stream.options = {"preset": "veryfast", "crf": "20"}
            stream.thread_type = "AUTO"
            index = 0
            with tqdm(total=info.num_frames, desc=f"rendering {info.path.name}", unit="frame", leave=False) as bar:
                for batch in prefetch(read_frames(info, 32, dali_colors=False)):
                    for frame in batch:
                        picture = draw_frame(frame, index, tracks, likelihood_threshold, show_names, radius)
                        if picture.shape[:2] != (height, width):
                            picture = np.pad(picture, ((0, height - picture.shape[0]), (0, width - picture.shape[1]), (0, 0)))
                        for packet in stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")):
                            container.mux(packet)
                        index += 1
                    bar.update(len(batch))
            for packet in stream.encode():
                container.mux(packet)

    atomic_write(output, write)


def draw_frame(
    frame: np.ndarray, index: int, tracks: list[Track], threshold: float, show_names: bool, radius: int
) -> np.ndarray:
    """(H, W, 3) uint8 -> the same with keypoints (likelihood >= threshold), counter and legend."""
    image = Image.fromarray(frame)
    draw = ImageDraw.Draw(image)
    for track, color in zip(tracks, MODEL_COLORS * (len(tracks) // len(MODEL_COLORS) + 1)):
        for (x, y), likelihood, name in zip(track.xy[index], track.likelihood[index], track.keypoint_names):
            if not (np.isfinite(x) and np.isfinite(y)) or not likelihood >= threshold:
                continue
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=color)
            if show_names:
                draw.text((x + radius + 1, y - radius), name, fill=color)
    draw.text((4, 2), f"frame {index}", fill=(255, 255, 255))
    for row, (track, color) in enumerate(zip(tracks, MODEL_COLORS * (len(tracks) // len(MODEL_COLORS) + 1))):
        draw.text((4, 14 + 12 * row), track.name, fill=color)
    return np.asarray(image)


def render_videos(video: Path, predictions: list[Path], names: list[str], output: Path | None,
                  likelihood_threshold: float, show_names: bool) -> Path:
    if names and len(names) != len(predictions):
        raise UserError(f"--names gives {len(names)} names for {len(predictions)} --predictions files: give one per file")
    names = names or default_names(predictions)
    info = probe_video(video)
    tracks = [read_track(p, n) for p, n in zip(predictions, names)]
    output = output or info.path.with_name(f"{info.path.stem}_labeled.mp4")
    render_video(info, tracks, output, likelihood_threshold, show_names)
    return output


def default_names(predictions: list[Path]) -> list[str]:
    """A legend name per file: its run folder (predict.py's <run>/video_preds/ or <out>/<run>/)."""
    names = []
    for path in map(Path, predictions):
        folder = path.parent
        if path.name == "pixel_error.csv":  # a run's labeled-frame errors: the run's name
            names.append(folder.name or path.stem)
        else:
            names.append(folder.parent.name if folder.name == "video_preds" else (folder.name or path.stem))
    return names
