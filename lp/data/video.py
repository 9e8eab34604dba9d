"""Reading videos on the CPU with PyAV: checks before any work starts, every frame in order
(read_frames) or clips (ClipCursor); and choosing between it and DALI (lp.data.video_dali, the
GPU path), which decodes the same pictures.
"""

from __future__ import annotations

import importlib.util
import os
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import av
import numpy as np
import torch

from lp.data.yuv import frame_planes, yuv420_to_rgb
from lp.errors import UserError, tell

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv")

T = TypeVar("T")

STRETCH_FRAMES = 256
"""Shuffled clips come from stretches of up to this many consecutive frames, in DALI's reader and
the CPU reader alike: DALI seeks to the key frame before every sequence it decodes, and a random
start costs the CPU decoder the frames since the previous key frame (about as much as decoding
~100 frames on videos with long key-frame intervals), so one seek serves several steps."""


def _reencode_hint(path: Path, frames: int | None = None, fps: float | None = None) -> str:
    """The fix for a video lp cannot use as it is: lp's own re-encoder (PyAV, no ffmpeg program
    needed), or ffmpeg for those who have it."""
    keep = f" --frames {frames}" if frames else ""
    ffmpeg_keep = f" -frames:v {frames}" if frames else ""
    rate = f" -r {fps:g}" if fps else ""
    return (
        f"re-encode it with `python render.py reencode --video {path}{keep}` (writes {path.stem}_cfr.mp4 beside it), "
        f"or with ffmpeg (conda, apt or brew install ffmpeg): ffmpeg -i {path}{ffmpeg_keep} -c:v libx264 "
        f"-pix_fmt yuv420p{rate} {path.with_suffix('')}_cfr.mp4"
    )


def _unreadable(path: Path, error: Exception) -> UserError:
    """Why FFmpeg cannot open a file, in the user's terms: empty, an mp4 whose index was never
    written (recording stopped before the file was closed), or not a video at all."""
    size = path.stat().st_size
    if size == 0:
        return UserError(f"video {path} is empty (0 bytes): copy or record it again")
    if isinstance(error, av.error.EOFError):
        return UserError(f"video {path} has no frames: it ends right after its header (an empty or cut-off recording)")
    with open(path, "rb") as handle:
        head = handle.read(12)
    if head[4:8] == b"ftyp" and "moov" not in _mp4_boxes(path):
        return UserError(
            f"video {path} is incomplete: its index (the mp4 'moov' box) is missing, as when a recording stops before "
            "the file is closed, so no frame can be located; rebuild the index with a recovery tool (e.g. untrunc, "
            "given a good recording from the same camera) or record it again"
        )
    return UserError(f"{path} is not a video that FFmpeg can read ({error}): check that it is the file you meant")


def _mp4_boxes(path: Path) -> list[str]:
    """The types of an mp4/mov file's top-level boxes, in order, up to where the file ends."""
    boxes, size = [], path.stat().st_size
    with open(path, "rb") as handle:
        offset = 0
        while offset + 8 <= size:
            handle.seek(offset)
            header = handle.read(16)
            length, kind = int.from_bytes(header[:4], "big"), header[4:8].decode("latin-1")
            if length == 1 and len(header) == 16:
                length = int.from_bytes(header[8:16], "big")
            elif length == 0:
                length = size - offset
            boxes.append(kind)
            if length < 8:
                break
            offset += length
    return boxes


@dataclass(frozen=True)
class VideoInfo:
    path: Path
    num_frames: int
    fps: float
    width: int
    height: int
    codec: str
    first_pts: int = 0
    """Presentation time stamp of frame 0, in the stream's time base."""
    pts_step: int = 1
    """Time-base ticks between frames (constant: the frame rate was checked)."""
    pixel_format: str = "yuv420p"
    """FFmpeg's name of the decoded pictures' format (yuv420p, yuv444p, gray, yuv420p10le, ...)."""
    rotation: int = 0
    """Degrees (0, 90, 180, 270) by which the stored pictures are turned counterclockwise for
    display (the container's display matrix). Readers return displayed frames; width and height
    above are the displayed ones, so predictions are in displayed pixels."""
    keyframes: tuple[int, ...] = ()
    """Indices (display order) of the key frames, where decoding can start without decoding
    earlier frames first; () where not known."""


def probe_video(path: Path) -> VideoInfo:
    """Open the video, count its frames from the container's packets, and check that the frame
    rate is constant; any problem is a UserError naming the file and the fix."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"video {path} not found")
    try:
        container = av.open(str(path))
    except av.error.FFmpegError as error:
        raise _unreadable(path, error) from None
    try:
        with container:
            if not container.streams.video:
                raise UserError(f"{path} has no video stream (or only an empty one): check that the recording is not empty")
            stream = container.streams.video[0]
            listed = stream.frames  # the container's index (0 where the format keeps none)
            packets = [(p.pts, p.is_keyframe) for p in container.demux(stream) if p.pts is not None and p.size > 0]
            if not packets:
                raise UserError(f"video {path} has no frames: check that the recording is not empty")
            fps = float(stream.average_rate or stream.guessed_rate or 0)
            pts, key = np.array([p for p, _ in packets]), np.array([k for _, k in packets])
            order = np.argsort(pts, kind="stable")  # decode order -> display order
            pts, keyframes = pts[order], tuple(np.flatnonzero(key[order]).tolist())
            steps = np.diff(pts)
            step = int(np.median(steps)) if len(steps) else 1
            container.seek(0)  # the first picture: its format and its display rotation
            picture = next(container.decode(stream), None)
            if picture is None:
                raise UserError(f"video {path}: no frame can be decoded: {_reencode_hint(path)}")
            rotation = round(picture.rotation / 90) % 4 * 90
            width, height = (stream.height, stream.width) if rotation in (90, 270) else (stream.width, stream.height)
            info = VideoInfo(path, len(pts), fps, width, height, stream.codec_context.name, int(pts[0]), step,
                             picture.format.name, rotation, keyframes)
    except av.error.FFmpegError as error:
        raise UserError(f"video {path}: reading failed ({error}): {_reencode_hint(path)}") from None
    if listed > info.num_frames:  # the index lists frames whose data is not in the file
        gaps = np.flatnonzero(np.abs(steps - step) > 1)
        readable = int(gaps[0]) + 1 if len(gaps) else info.num_frames
        raise UserError(
            f"video {path} is truncated: its index lists {listed} frames but the file ends after about {readable} "
            f"(cut short while copying or recording?); copy it again, or keep the frames before the cut: "
            f"{_reencode_hint(path, readable)}"
        )
    if len(steps) and steps.max() - steps.min() > 1:  # one tick of rounding is not a rate change
        raise UserError(
            f"video {path} has a variable frame rate (frame intervals from {steps.min()} to {steps.max()} time-base "
            f"units), so frame numbers and times disagree: {_reencode_hint(path, fps=info.fps)}"
        )
    return info


def displayed(rgb: np.ndarray, rotation: int) -> np.ndarray:
    """A stored picture (H, W, 3) turned as the container says it is displayed."""
    return np.ascontiguousarray(np.rot90(rgb, rotation // 90)) if rotation else rgb


def frame_to_rgb(frame: av.VideoFrame, dali_colors: bool = True) -> np.ndarray:
    """(H, W, 3) uint8 RGB of a decoded frame. With dali_colors, 8-bit limited-range 4:2:0 frames
    (what cameras and DALI's decoder deliver) are converted with DALI's arithmetic, so that the
    CPU and GPU readers give identical pixels; other formats, or dali_colors False (drawing,
    where FFmpeg's faster conversion is fine), use FFmpeg's conversion."""
    if dali_colors and frame.format.name == "yuv420p" and frame.color_range != 2:  # 2: full (JPEG) range
        return yuv420_to_rgb(*frame_planes(frame))
    return frame.to_ndarray(format="rgb24")


def read_frames(info: VideoInfo, batch_size: int, dali_colors: bool = True) -> Iterator[np.ndarray]:
    """(B, H, W, 3) uint8 RGB batches of every frame in order; stops with a UserError naming the
    frame if decoding fails or the count differs from the container's."""
    decoded = 0
    batch: list[np.ndarray] = []
    try:
        with av.open(str(info.path)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            for frame in container.decode(stream):
                batch.append(displayed(frame_to_rgb(frame, dali_colors), info.rotation))
                decoded += 1
                if len(batch) == batch_size:
                    yield np.stack(batch)
                    batch = []
    except av.error.FFmpegError as error:
        raise UserError(f"video {info.path}: decoding failed at frame {decoded} ({error}): {_reencode_hint(info.path)}") from None
    if batch:
        yield np.stack(batch)
    if decoded != info.num_frames:
        raise UserError(
            f"video {info.path}: decoded {decoded} frames but the container holds {info.num_frames} "
            f"(damaged at frame {decoded}?): {_reencode_hint(info.path, decoded)}"
        )


class ClipCursor:
    """Clips of one video, decoded forward from where the last clip ended; it seeks (to the key
    frame before the clip) only to go back or to jump more than `max_skip` frames ahead. Reading
    clips in order therefore decodes every frame once. Frames equal those of a sequential read."""

    def __init__(self, info: VideoInfo, max_skip: int = 250, threads: int = 0):
        self.info, self.max_skip = info, max_skip
        self.container = av.open(str(info.path))
        self.stream = self.container.streams.video[0]
        self.stream.thread_type = "AUTO"  # FFmpeg decodes on every core (threads 0), or on `threads`
        self.stream.thread_count = threads
        self.frames: Iterator | None = None
        self.next_index = 0

    def _seek(self, start: int) -> None:
        target = self.info.first_pts + start * self.info.pts_step
        self.container.seek(target, stream=self.stream, backward=True, any_frame=False)
        self.frames = iter(self.container.decode(self.stream))
        self.next_index = -1  # unknown until the first frame's time stamp is read

    def clip(self, start: int, length: int) -> np.ndarray:
        """(length, H, W, 3) uint8 RGB frames start .. start+length-1."""
        if start < 0 or start + length > self.info.num_frames:
            raise ValueError(f"clip {start}..{start + length - 1} is outside {self.info.path} ({self.info.num_frames} frames)")
        if self.frames is None or start < self.next_index or start - self.next_index > self.max_skip:
            self._seek(start)
        out = []
        try:
            for frame in self.frames:
                if frame.pts is None:
                    continue
                index = round((frame.pts - self.info.first_pts) / self.info.pts_step)
                self.next_index = index + 1
                if index >= start:
                    out.append(displayed(frame_to_rgb(frame), self.info.rotation))
                    if len(out) == length:
                        break
        except av.error.FFmpegError as error:
            raise UserError(f"video {self.info.path}: decoding failed near frame {start} ({error}): {_reencode_hint(self.info.path)}") from None
        if len(out) != length:
            raise UserError(f"video {self.info.path}: got {len(out)} of {length} frames from frame {start}: {_reencode_hint(self.info.path)}")
        return np.stack(out)

    def frames_after(self) -> int:
        """How many frames still decode after the last clip (0 at the end of a sound video)."""
        try:
            return sum(1 for frame in self.frames if frame.pts is not None) if self.frames is not None else 0
        except av.error.FFmpegError:
            return 0

    def close(self) -> None:
        self.container.close()


def stretch_length(num_frames: int, batch_size: int, stretch_frames: int = 1024) -> int:
    """Frames that DALI decodes per stretch of a video (one key-frame seek each): a multiple of
    the batch size, at most the whole video. Parts of a video shared between processes begin
    at multiples of it (lp.predict.part_bounds)."""
    return min(num_frames, max(batch_size, stretch_frames // batch_size * batch_size))


def read_frames_parallel(
    info: VideoInfo, batch_size: int, workers: int, stretch_frames: int = 1024, start: int = 0, stop: int | None = None,
) -> Iterator[tuple[int, np.ndarray]]:
    """(first frame index, (B, H, W, 3) uint8) batches of frames start..stop-1 (default: every
    frame), in order, decoded by `workers` threads at once: stretch k of `stretch_frames` frames
    goes to thread k % workers, which seeks to the key frame before it (ClipCursor) while the
    others decode theirs. Frames equal read_frames'. Worth it where one decoder cannot use every
    core: FFmpeg's own threads do not reach the colour conversion, and some formats decode on one
    thread. Decoding starts now (one decoder: read_frames in a background thread), before the
    first batch is taken."""
    stop = info.num_frames if stop is None else stop
    starts = list(range(start, stop, stretch_frames))
    if (workers <= 1 or len(starts) < 2) and (start, stop) == (0, info.num_frames):
        return _numbered(prefetch(read_frames(info, batch_size)))
    workers = min(workers, len(starts))
    outputs = [queue.Queue(maxsize=max(2, 2 * stretch_frames // batch_size)) for _ in range(workers)]
    stopped = threading.Event()

    def work(worker: int) -> None:
        cursor = None
        try:
            # every stretch of its own is a seek ahead; the cores are shared between the decoders
            cursor = ClipCursor(info, max_skip=0, threads=max(1, (os.cpu_count() or 1) // workers))
            for begin in starts[worker::workers]:
                end = min(begin + stretch_frames, stop)
                for first in range(begin, end, batch_size):
                    if stopped.is_set():
                        return
                    outputs[worker].put((first, cursor.clip(first, min(batch_size, end - first))))
            if stop == info.num_frames and starts[-1] in starts[worker::workers] and (extra := cursor.frames_after()):
                decoded = info.num_frames + extra
                raise UserError(
                    f"video {info.path}: decoded {decoded} frames but the container holds {info.num_frames}: "
                    f"{_reencode_hint(info.path)}"
                )
            outputs[worker].put(None)  # finished
        except BaseException as error:  # handed to the consumer, raised there
            outputs[worker].put(error)
        finally:
            if cursor is not None:
                cursor.close()

    for worker in range(workers):
        threading.Thread(target=work, args=(worker,), daemon=True).start()

    def consume() -> Iterator[tuple[int, np.ndarray]]:
        try:
            for index, begin in enumerate(starts):
                end = min(begin + stretch_frames, stop)
                for _ in range(begin, end, batch_size):
                    item = outputs[index % workers].get()
                    if isinstance(item, BaseException):
                        raise item
                    yield item
            for out in outputs:  # each decoder's last word: finished, or what went wrong at the end
                if isinstance(item := out.get(), BaseException):
                    raise item
        finally:
            stopped.set()
            for out in outputs:  # unblock workers waiting to put
                while not out.empty():
                    out.get_nowait()

    return consume()


def _numbered(batches: Iterator[np.ndarray]) -> Iterator[tuple[int, np.ndarray]]:
    first = 0
    for batch in batches:
        yield first, batch
        first += len(batch)


def prefetch(batches: Iterator[T], depth: int = 4) -> Iterator[T]:
    """Run an iterator in a background thread, started at once (decoding, and building a
    decoder, overlap whatever the caller does next); its errors are raised in the consumer."""
    slots: queue.Queue = queue.Queue(maxsize=depth)
    done = object()

    def work() -> None:
        try:
            for item in batches:
                slots.put(item)
        except BaseException as error:  # handed to the consumer, raised there
            slots.put(error)
        slots.put(done)

    threading.Thread(target=work, daemon=True).start()

    def consume() -> Iterator[T]:
        while (item := slots.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item

    return consume()


def list_videos(path: Path) -> list[Path]:
    """A video file, or the videos in a folder (other files skipped with a warning)."""
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise UserError(f"--videos {path}: no such file or folder")
    videos = []
    for child in sorted(path.iterdir()):
        if child.suffix.lower() in VIDEO_SUFFIXES:
            videos.append(child)
        elif child.is_file():
            tell(f"lp: skipping {child}: not a video ({', '.join(VIDEO_SUFFIXES)})")
    if not videos:
        raise UserError(f"--videos {path}: no videos ({', '.join(VIDEO_SUFFIXES)}) in this folder")
    return videos


DALI_CODECS = ("h264", "hevc")
"""Codecs the DALI GPU reader decodes (NVDEC), in 8-bit 4:2:0 pictures."""

DALI_MIN_FRAMES = 16
"""Shorter videos go to the CPU reader: DALI 2.4 failed to start decoding a 3-frame H.264 video
on an H200 (6 frames worked); a few frames cost the CPU nothing."""


def dali_cannot_read(info: VideoInfo) -> str | None:
    """Why DALI's GPU reader cannot give this video's frames as lp's CPU reader gives them, or
    None when it can: NVDEC through DALI decodes H.264 and HEVC in 8-bit 4:2:0, and DALI ignores
    the display rotation."""
    if info.codec not in DALI_CODECS:
        return f"its codec is {info.codec} (DALI decodes {', '.join(DALI_CODECS)})"
    if info.pixel_format != "yuv420p":
        return f"its pictures are {info.pixel_format} (DALI decodes 8-bit 4:2:0, yuv420p)"
    if info.rotation:
        return f"it is displayed rotated by {info.rotation} degrees, which DALI ignores"
    if info.num_frames < DALI_MIN_FRAMES:
        return f"it has {info.num_frames} frames, too few for DALI's decoder to start (fewer than {DALI_MIN_FRAMES})"
    return None


def dali_installed() -> bool:
    return importlib.util.find_spec("nvidia.dali") is not None


def choose_reader(choice: str, device: torch.device, flag: str = "--unlabeled.reader") -> str:
    """'dali' or 'cpu' for the flag's value auto|dali|cpu on this device, before any video is seen."""
    if choice == "cpu":
        return "cpu"
    if choice == "dali":
        if device.type != "cuda":
            raise UserError(f"{flag} dali needs a GPU (DALI decodes on the GPU): use {flag} cpu")
        if not dali_installed():
            raise UserError(f"{flag} dali: NVIDIA DALI is not installed: pip install nvidia-dali-cuda130, or use {flag} cpu")
        return "dali"
    return "dali" if device.type == "cuda" and dali_installed() else "cpu"


def check_dali_codecs(infos: list[VideoInfo], flag: str = "--unlabeled.reader") -> None:
    """With the DALI reader forced: one line for the first video it cannot read, before any work."""
    for info in infos:
        reason = dali_cannot_read(info)
        if reason:
            raise UserError(
                f"video {info.path} cannot be read by DALI: {reason}; use {flag} cpu (or auto, which picks the reader "
                f"per video), or re-encode it: ffmpeg -i {info.path} -c:v libx264 -pix_fmt yuv420p OUT.mp4"
            )


def open_videos(path: Path, choice: str, device: torch.device, flag: str) -> list[tuple[VideoInfo, str]]:
    """A video file or a folder of videos, each probed and checked before any work starts, with
    the reader that will decode it ('dali' or 'cpu'). auto picks DALI on a GPU where it is
    installed, per video: a video DALI cannot read goes to the CPU reader, with one line saying
    why. The one way training and prediction open videos."""
    reader = choose_reader(choice, device, flag)
    infos = [probe_video(video) for video in list_videos(Path(path))]
    if reader == "dali" and choice == "dali":
        check_dali_codecs(infos, flag)
    chosen = []
    for info in infos:
        reason = dali_cannot_read(info) if reader == "dali" else None
        if reason:
            tell(f"lp: {info.path.name}: read on the CPU, since {reason}")
        chosen.append((info, "cpu" if reason else reader))
    return chosen
