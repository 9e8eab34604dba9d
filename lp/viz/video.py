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
        # x, y, likelihood of each keypoint (ensembles add variance columns, not read here)
        values = np.stack([table.xs(coord, axis=1, level=2).droplevel(0, axis=1)[parts].to_numpy(dtype=np.float64)
                           for coord in ("x", "y", "likelihood")], axis=-1)
    except (ValueError, IndexError, KeyError, pd.errors.ParserError) as error:
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
    rate = Fraction(info.fps).limit_denominator(100000) if info.fps else Fraction(30)

    def pictures():
        index = 0
        for batch in prefetch(read_frames(info, 32, dali_colors=False)):
            for frame in batch:
                yield draw_frame(frame, index, tracks, likelihood_threshold, show_names, radius)
                index += 1

    with tqdm(total=info.num_frames, desc=f"rendering {info.path.name}", unit="frame", leave=False) as bar:
        write_h264(output, pictures(), rate, info.width, info.height, bar.update, crf=20)


def write_h264(
    output: Path, pictures, rate: Fraction, width: int, height: int, on_frame=None, crf: int = 20
) -> int:
    """Encode (H, W, 3) uint8 RGB pictures as an H.264 mp4 (yuv420p, browsers play it) at a
    constant frame rate, written atomically; odd sides are padded to even. Returns the count."""
    even_width, even_height = width + width % 2, height + height % 2  # H.264 4:2:0 needs even sides
    count = 0

    def write(tmp: Path) -> None:
        nonlocal count
        with av.open(str(tmp), "w", format="mp4") as container:
            stream = container.add_stream("libx264", rate=rate)
            stream.width, stream.height, stream.pix_fmt = even_width, even_height, "yuv420p"
            stream.options = {"preset": "veryfast", "crf": str(crf)}
            stream.thread_type = "AUTO"
            for picture in pictures:
                if picture.shape[:2] != (even_height, even_width):
                    picture = np.pad(picture, ((0, even_height - picture.shape[0]), (0, even_width - picture.shape[1]), (0, 0)))
                for packet in stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")):
                    container.mux(packet)
                count += 1
                if on_frame is not None:
                    on_frame(1)
            for packet in stream.encode():
                container.mux(packet)

    atomic_write(output, write)
    return count


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


def reencode_video(source: Path, output: Path | None, max_frames: int | None) -> tuple[Path, int]:
    """Every decodable frame of `source` (or its first max_frames), once each and in order, into an
    H.264 mp4 at a constant frame rate (the source's average), which both of lp's readers decode.
    For videos probe_video refuses: variable frame rate, other codecs, a file cut short. Decoding
    stops at the first damaged frame; the frames before it are kept. Returns (output, frames)."""
    source = Path(source)
    output = Path(output) if output is not None else source.with_name(f"{source.stem}_cfr.mp4")
    if output.resolve() == source.resolve():
        raise UserError(f"--output {output} is the source video: write the re-encoded copy to another file")
    try:
        container = av.open(str(source))
    except (av.error.FFmpegError, OSError) as error:
        raise UserError(f"{source}: FFmpeg cannot open it ({error}), so it cannot be re-encoded either") from None
    with container:
        if not container.streams.video:
            raise UserError(f"{source} has no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        rate = Fraction(stream.average_rate or stream.guessed_rate or 30).limit_denominator(100000)
        total = max_frames or stream.frames or None
        damaged = []

        def pictures():
            try:
                for index, frame in enumerate(container.decode(stream)):
                    if max_frames is not None and index >= max_frames:
                        return
                    yield frame.to_ndarray(format="rgb24")
            except av.error.FFmpegError as error:
                damaged.append(error)

        with tqdm(total=total, desc=f"re-encoding {source.name}", unit="frame") as bar:
            count = write_h264(output, pictures(), rate, stream.width, stream.height, bar.update, crf=17)
    if count == 0:
        output.unlink(missing_ok=True)
        raise UserError(f"{source}: no frame could be decoded, so nothing was written")
    if damaged:
        print(f"lp: {source}: decoding stopped at frame {count} ({damaged[0]}); the {count} frames before it were kept")
    return output, count
