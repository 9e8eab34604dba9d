"""Neighbouring frames of labeled frames, for the context head: labeled frame t also needs frames
t-2..t+2. Each neighbour comes from an image file beside the labeled one (img00121.png next to
img00123.png, Lightning Pose's convention), else from the labeled frame's source video
(DeepLabCut's naming: labeled-data/<video stem>/img<frame number>.png taken from
<video dir>/<video stem>.<ext>; at the video's ends its edge frame repeats), else the labeled
frame stands in for it. Every labeled frame is row i of the image bank; neighbours follow it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from lp.data.images import load_images, resize_to_uint8
from lp.data.video import VIDEO_SUFFIXES, ClipCursor, VideoInfo, probe_video
from lp.errors import UserError

CONTEXT_OFFSETS = (-2, -1, 0, 1, 2)
"""Frames seen by the context head, relative to the frame it predicts."""
CENTRE = CONTEXT_OFFSETS.index(0)


def neighbour_rows(frames: torch.Tensor, first: int, last: int) -> torch.Tensor:
    """(M,) frame numbers -> (M, 5) numbers of their neighbours t-2..t+2, held to [first, last]
    (at the ends of a video or clip the edge frame stands in for the missing ones)."""
    offsets = torch.tensor(CONTEXT_OFFSETS, device=frames.device)
    return (frames[:, None] + offsets).clamp(first, last)


def clip_context(num_clips: int, length: int, start_row: int, device: torch.device) -> torch.Tensor:
    """(num_clips * length, 5) rows of each clip frame's neighbours, for clips stored one after
    another from batch row `start_row` (a clip's ends repeat its edge frames)."""
    within = neighbour_rows(torch.arange(length, device=device), 0, length - 1)  # (T, 5)
    starts = start_row + length * torch.arange(num_clips, device=device)
    return (starts[:, None, None] + within).reshape(num_clips * length, len(CONTEXT_OFFSETS))


def context_batch(images: torch.Tensor, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Targets' neighbours `rows` (M, 5) into `images` -> (the distinct frames they name, each
    once, and (M, 5) rows into those): neighbouring labeled frames share their frames."""
    distinct, local = rows.flatten().unique(return_inverse=True)
    return images[distinct], local.view(rows.shape)


_NUMBERED = re.compile(r"^(?P<prefix>.*?)(?P<number>\d+)(?P<suffix>\.[A-Za-z0-9]+)$")

MISMATCH_LEVELS = 12.0
"""A labeled image and the video frame of its number differing by more than this many grey levels
(of 255, on average over the frames) mean the numbers do not count the video's frames."""


@dataclass
class ContextPlan:
    """Where each labeled frame's neighbours come from."""

    rows: np.ndarray
    """(N, 5) int: rows t-2..t+2 of each labeled frame in the bank (labeled frames, then `extra`)."""
    extra: list[tuple] = field(default_factory=list)
    """Bank rows after the labeled frames: ("file", relative path) or ("video", path, frame)."""
    from_files: int = 0
    from_videos: int = 0
    alone: int = 0
    """Labeled frames with all four neighbours from files, with some from their video, and with
    at least one missing (the labeled frame itself stands in)."""
    sources: dict[int, tuple[Path, int]] = field(default_factory=dict)
    """Labeled frame -> (its video, its frame number) where a neighbour comes from that video."""
    paths: list[str] = field(default_factory=list)
    """The labeled frames' image paths."""
    unrelated: list[tuple[str, int, float]] = field(default_factory=list)
    """Folders whose numbered files were set aside as not video neighbours: (folder, labeled
    frames, their neighbours' difference as a fraction of unrelated frames')."""

    @property
    def has_context(self) -> bool:
        """Whether any labeled frame has a neighbour other than itself."""
        return bool((self.rows != np.arange(len(self.rows))[:, None]).any())

    def describe(self) -> str:
        real = self.from_files + self.from_videos
        line = (
            f"context frames: {real} of {len(self.rows)} labeled frames have their 4 neighbours "
            f"({self.from_files} from image files beside them, {self.from_videos} from their videos); "
            f"{self.alone} use themselves for missing neighbours"
        )
        for folder, frames, likeness in self.unrelated:
            line += (f"; the files numbered next to {frames} labeled frames in {folder} were set aside: they differ from "
                     f"them {likeness:.0%} as much as unrelated labeled frames do, so the numbers count labeled frames, "
                     f"not video frames")
        if not self.has_context:
            line += (" -- warning: with no neighbours the context head is the single-frame head (its context weights "
                     "stay at zero, the clips of unlabeled video read without context too): put the videos in --data.video-dir "
                     "(labeled-data/<video stem>/img<frame>.png from <video-dir>/<video stem>.mp4), "
                     "or use --model.head heatmap")
        return line


def neighbour_path(relative: str, offset: int) -> str | None:
    """labeled-data/v/img00123.png, +1 -> labeled-data/v/img00124.png (same zero padding); None
    when the name holds no frame number or the neighbour's would be negative."""
    folder, _, name = relative.replace("\\", "/").rpartition("/")
    match = _NUMBERED.match(name)
    if match is None or int(match["number"]) + offset < 0:
        return None
    number = f"{int(match['number']) + offset:0{len(match['number'])}d}"
    return f"{folder}/" * bool(folder) + f"{match['prefix']}{number}{match['suffix']}"


def frame_number(relative: str) -> int | None:
    match = _NUMBERED.match(relative.replace("\\", "/").rpartition("/")[2])
    return None if match is None else int(match["number"])


def source_video(relative: str, video_dirs: list[Path], cache: dict) -> VideoInfo | None:
    """The video that labeled-data/<stem>/imgN.png was taken from: <dir>/<stem>.<ext>."""
    stem = Path(relative.replace("\\", "/")).parent.name
    if stem not in cache:
        candidates = [d / f"{stem}{suffix}" for d in video_dirs for suffix in VIDEO_SUFFIXES]
        found = next((path for path in candidates if path.is_file()), None)
        cache[stem] = probe_video(found) if found is not None else None
    return cache[stem]


def plan_context(data_dir: Path, image_paths: list[str], sizes: np.ndarray, video_dirs: list[Path]) -> ContextPlan:
    """Find every labeled frame's neighbours (no decoding yet). sizes: (N, 2) (width, height)."""
    rows = np.tile(np.arange(len(image_paths))[:, None], (1, len(CONTEXT_OFFSETS)))
    plan, bank, videos = ContextPlan(rows, paths=list(image_paths)), {("file", p.replace("\\", "/")): i for i, p in enumerate(image_paths)}, {}
    for i, relative in enumerate(image_paths):
        video = source_video(relative, video_dirs, videos) if frame_number(relative) is not None else None
        if video is not None and (
            (video.width, video.height) != tuple(sizes[i].astype(int)) or frame_number(relative) >= video.num_frames
        ):
            video = None  # cropped or resized frames, or not from this video: it cannot give their neighbours
        sources = set()
        for column, offset in enumerate(CONTEXT_OFFSETS):
            if offset == 0:
                continue
            neighbour = neighbour_path(relative, offset)
            if neighbour is not None and (data_dir / neighbour).is_file():
                key = ("file", neighbour)
            elif video is not None:
                frame = min(max(frame_number(relative) + offset, 0), video.num_frames - 1)
                key = ("video", video.path, frame)
            else:
                continue
            sources.add(key[0])
            if key not in bank:
                bank[key] = len(image_paths) + len(plan.extra)
                plan.extra.append(key)
            rows[i, column] = bank[key]
        if "video" in sources:
            plan.sources[i] = (video.path, frame_number(relative))
        if (rows[i] == i).sum() > 1:
            plan.alone += 1
        elif "video" in sources:
            plan.from_videos += 1
        else:
            plan.from_files += 1
    return plan


def load_context_images(
    plan: ContextPlan, data_dir: Path, labeled: torch.Tensor, height: int, width: int
) -> torch.Tensor:
    """The bank: the labeled images (N, 3, H, W) uint8 followed by every extra neighbour, resized
    alike. Video frames are decoded in order, one pass per video; each labeled frame taken from a
    video is compared with that video's frame of the same number, so that a numbering that does not
    count the video's frames (starting at 1, or a cut video) stops the run instead of training on
    wrong neighbours."""
    files = [key[1] for key in plan.extra if key[0] == "file"]
    file_images = iter(load_images(data_dir, files, height, width)[0]) if files else iter(())
    wanted: dict[Path, set[int]] = {}
    for key in plan.extra:
        if key[0] == "video":
            wanted.setdefault(key[1], set()).add(key[2])
    decoded: dict[tuple[Path, int], torch.Tensor] = {}
    for path, frames in wanted.items():
        centres = {i: frame for i, (video, frame) in plan.sources.items() if video == path}
        cursor = ClipCursor(probe_video(path))
        try:
            for frame in tqdm(sorted(frames | set(centres.values())), desc=f"context frames from {path.name}", leave=False):
                picture = torch.from_numpy(cursor.clip(frame, 1)[0]).permute(2, 0, 1)[None]
                decoded[(path, frame)] = resize_to_uint8(picture, height, width)[0]
        finally:
            cursor.close()
        differences = [
            (decoded[(path, frame)].float() - labeled[i].float()).abs().mean().item() for i, frame in centres.items()
        ]
        if differences and float(np.median(differences)) > MISMATCH_LEVELS:
            raise UserError(
                f"the labeled frames taken from {path} differ from its frames of the same numbers (by "
                f"{np.median(differences):.0f} of 255 grey levels): their file names do not count the video's frames "
                f"from 0, so their neighbours cannot come from it: move the video out of the folder given by "
                f"--data.video-dir, or rename the frames"
            )
    extra = [next(file_images) if key[0] == "file" else decoded[(key[1], key[2])] for key in plan.extra]
    bank = torch.cat([labeled, torch.stack(extra)]) if extra else labeled
    drop_unrelated_files(plan, bank)
    return bank


NEIGHBOUR_LIKENESS = 0.6
"""Image files numbered next to a labeled frame are its video neighbours only if they differ from
it by less than this fraction of what unrelated labeled frames differ by (mean absolute
difference of 32x32 grey thumbnails). Measured by bench/neighbour_likeness.py (BENCHMARKS.md,
"Context frames: neighbours or not"): consecutive video frames 0.0005 (flies) to 0.29 (the
example's video; 2 frames apart 0.46); the example's labeled files img00 ... img92, which number
90 unrelated frames, 0.925."""


def thumbnails(images: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) uint8 -> (N, 1024) grey 32x32, for telling neighbours from unrelated frames."""
    grey = images.float().mean(1, keepdim=True)
    return torch.nn.functional.interpolate(grey, size=(32, 32), mode="area").flatten(1)


def unrelated_difference(small: torch.Tensor) -> float:
    """What frames far apart in a list differ by: the median over each frame and the one half the
    list away (thumbnails)."""
    return float((small - small.roll(len(small) // 2, 0)).abs().mean(1).median())


def neighbour_likeness(plan: ContextPlan, bank: torch.Tensor) -> dict[str, tuple[list[int], float]]:
    """Per folder of labeled frames with neighbours from image files: (those frames, the median
    difference between each and its files at t-1 / t+1, as a fraction of unrelated_difference)."""
    small = thumbnails(bank)
    labeled = small[: len(plan.rows)]
    unrelated = max(unrelated_difference(labeled), 1e-6)
    near = [CONTEXT_OFFSETS.index(-1), CONTEXT_OFFSETS.index(1)]
    folders: dict[str, list[tuple[int, float]]] = {}
    for i, relative in enumerate(plan.paths):
        rows = [r for r in plan.rows[i, near] if r != i]
        if i in plan.sources or not rows:  # neighbours from a video are checked against it on loading
            continue
        difference = (small[rows] - labeled[i]).abs().mean(1).mean().item()
        folders.setdefault(str(Path(relative).parent), []).append((i, difference))
    return {folder: ([i for i, _ in frames], float(np.median([d for _, d in frames])) / unrelated)
            for folder, frames in folders.items()}


def drop_unrelated_files(plan: ContextPlan, bank: torch.Tensor) -> None:
    """Files numbered next to labeled frames that are not their video neighbours (a folder whose
    numbers count labeled frames: img00, img01, ... each from another moment) are set aside, folder
    by folder: their frames stand alone again, and the plan counts them so (plan.unrelated)."""
    if len(plan.rows) < 4:  # too few labeled frames to tell what unrelated frames differ by
        return
    for folder, (frames, likeness) in neighbour_likeness(plan, bank).items():
        if likeness > NEIGHBOUR_LIKENESS:
            for i in frames:
                if (plan.rows[i] == i).sum() <= 1:  # counted as having all four from files
                    plan.from_files -= 1
                    plan.alone += 1
                plan.rows[i] = i
            plan.unrelated.append((folder, len(frames), likeness))
