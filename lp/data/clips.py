"""Clip readers for the unlabeled stream: one schedule, two readers side by side.

ClipSchedule says which clips each process reads at each step, as a pure function of (seed,
step, rank): clips come in stretches of consecutive frames (one seek per stretch). CpuClipReader
(PyAV, in a background thread) and DaliClipReader (NVDEC, frames stay on the GPU) both read
exactly that schedule from any step on, so the two give the same clips, and a resumed run reads
what an uninterrupted one would have; MixedClipReader gives each stretch to the reader of its
video when a folder holds both kinds. To add a reader: a class with `steps(first_step)` yielding
each step's list of (T, H, W, 3) uint8 clips, and a line in `build_clip_reader`.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator

import numpy as np
import torch

from lp.data.video import STRETCH_FRAMES, ClipCursor, VideoInfo, prefetch
from lp.errors import UserError

DALI_STRETCHES_PER_PIPELINE = 2048
"""DALI reads a file list of this many stretches, then the next list is built: the schedule is
endless, a DALI file list is not."""


class ClipSchedule:
    """In order (default): every video is cut into stretches of `stretch_frames` consecutive
    frames (the last frames of a video that fill no whole stretch are not used), all stretches in
    folder order, and process r of n reads stretches r, r + n, r + 2n, ... round and round.
    Shuffled: stretch k of process r starts at a random frame (seeded by seed, k, r) of a video
    drawn in proportion to its length, moved back to the key frame before it where that is less
    than a stretch back: a decoder starts at a key frame anyway, and the frames between would be
    decoded only to be thrown away (measured on DALI: 7 % of the clip stream's speed, BENCHMARKS.md).
    Within a stretch, consecutive steps take consecutive clips.
    Videos shorter than one step's frames: each clip starts at a random frame instead."""

    def __init__(self, infos: list[VideoInfo], clip_length: int, clips_per_step: int, seed: int, rank: int,
                 world: int = 1, shuffle: bool = False):
        self.infos, self.clip_length, self.clips_per_step = infos, clip_length, clips_per_step
        self.seed, self.rank, self.world, self.shuffle = seed, rank, world, shuffle
        per_step = clip_length * clips_per_step
        shortest = min(info.num_frames for info in infos)
        self.in_stretches = shortest >= per_step
        self.steps_per_stretch = max(1, min(STRETCH_FRAMES, shortest) // per_step)
        # in order, every process needs a stretch of its own: short videos on many processes
        # take shorter stretches
        while not shuffle and self.steps_per_stretch > 1 and self._count(per_step * self.steps_per_stretch) < world:
            self.steps_per_stretch -= 1
        self.stretch_frames = per_step * self.steps_per_stretch if self.in_stretches else clip_length
        if not shuffle and self._count(self.stretch_frames) < world:
            raise UserError(
                f"the unlabeled videos hold {self._count(self.stretch_frames)} stretches of {self.stretch_frames} frames, "
                f"fewer than the {world} processes that each need their own: add videos, or lower "
                "--unlabeled.clip-length / --unlabeled.clips-per-step"
            )
        self.stretch_firsts = [(v, f) for v, info in enumerate(infos)
                               for f in range(0, info.num_frames - self.stretch_frames + 1, self.stretch_frames)]
        lengths = np.array([max(1, info.num_frames - self.stretch_frames + 1) for info in infos], dtype=np.float64)
        self.video_weights = lengths / lengths.sum()
        self.keyframes = [np.array(info.keyframes, dtype=np.int64) for info in infos]

    def _count(self, frames: int) -> int:
        return sum(info.num_frames // frames for info in self.infos)

    def stretch(self, index: int) -> tuple[int, int]:
        """(video, first frame) of this process's stretch number `index`."""
        if not self.shuffle:
            return self.stretch_firsts[(index * self.world + self.rank) % len(self.stretch_firsts)]
        rng = np.random.default_rng([self.seed, index, self.rank, 1])
        video = int(rng.choice(len(self.infos), p=self.video_weights))
        start = int(rng.integers(0, self.infos[video].num_frames - self.stretch_frames + 1))
        keyframes = self.keyframes[video]
        before = int(np.searchsorted(keyframes, start, side="right")) - 1
        return video, int(keyframes[before]) if before >= 0 and start - keyframes[before] < self.stretch_frames else start

    def clip_starts(self, step: int) -> list[tuple[int, int]]:
        """(video, first frame) of each clip of `step` on this process."""
        if not self.in_stretches:  # a video shorter than a step's frames: each clip anywhere
            rng = np.random.default_rng([self.seed, step, self.rank, 3])
            clips = []
            for _ in range(self.clips_per_step):
                video = int(rng.choice(len(self.infos), p=self.video_weights))
                clips.append((video, int(rng.integers(0, self.infos[video].num_frames - self.clip_length + 1))))
            return clips
        index, within = divmod(step, self.steps_per_stretch)
        video, first = self.stretch(index)
        offset = first + within * self.clips_per_step * self.clip_length
        return [(video, offset + i * self.clip_length) for i in range(self.clips_per_step)]


class CpuClipReader:
    """The schedule's clips decoded with PyAV in a background thread; a cursor per video decodes
    forward through a stretch and seeks only to start another."""

    def __init__(self, schedule: ClipSchedule):
        self.schedule = schedule

    def steps(self, first_step: int) -> Iterator[list[np.ndarray]]:
        """The clips of first_step, first_step + 1, ... decoded ahead in a background thread."""
        schedule = self.schedule

        def decode() -> Iterator[list[np.ndarray]]:
            cursors: dict[int, ClipCursor] = {}
            try:
                step = first_step
                while True:
                    clips = []
                    for video, start in schedule.clip_starts(step):
                        if video not in cursors:
                            cursors[video] = ClipCursor(schedule.infos[video])
                        clips.append(cursors[video].clip(start, schedule.clip_length))
                    yield clips
                    step += 1
            finally:
                for cursor in cursors.values():
                    cursor.close()

        return prefetch(decode(), depth=3)


class DaliClipReader:
    """The schedule's clips decoded by DALI on the GPU: DALI reads a file list of the schedule's
    stretches in order (one sequence each, one seek each), and each stretch is split into the
    steps' clips; device tensors, never through the host."""

    def __init__(self, schedule: ClipSchedule, device: torch.device):
        self.schedule, self.device = schedule, device

    def _pipeline(self, entries: list[tuple[int, int]], length: int, batch: int):
        from nvidia.dali import fn, pipeline_def

        handle, path = tempfile.mkstemp(prefix="lp-clips-", suffix=".txt")
        with os.fdopen(handle, "w") as listing:
            for video, first in entries:
                listing.write(f"{self.schedule.infos[video].path} 0 {first} {first + length}\n")

        @pipeline_def
        def clips_pipeline():
            video, _ = fn.readers.video(  # a file list gives each sample a label too
                device="gpu", file_list=path, file_list_frame_num=True, sequence_length=length,
                random_shuffle=False, initial_fill=1, skip_vfr_check=True, name="clips",  # checked before, with a clearer message
            )
            return video

        pipeline = clips_pipeline(batch_size=batch, num_threads=2, device_id=self.device.index or 0, prefetch_queue_depth=2)
        try:
            pipeline.build()
        finally:
            os.unlink(path)  # read while building
        return pipeline

    def steps(self, first_step: int) -> Iterator[list[torch.Tensor]]:
        """(T, H, W, 3) uint8 device tensors, clips_per_step of them per step, from first_step on."""
        from lp.data.video_dali import dali_tensors

        schedule, length = self.schedule, self.schedule.clip_length
        if not schedule.in_stretches:  # one DALI sample per clip
            step = first_step
            while True:
                entries = [c for s in range(step, step + DALI_STRETCHES_PER_PIPELINE) for c in schedule.clip_starts(s)]
                pipeline = self._pipeline(entries, length, schedule.clips_per_step)
                for _ in range(DALI_STRETCHES_PER_PIPELINE):
                    (video,) = pipeline.run()
                    yield dali_tensors(video, self.device)
                step += DALI_STRETCHES_PER_PIPELINE
        index, skip = divmod(first_step, schedule.steps_per_stretch)
        per_step = schedule.clips_per_step
        while True:
            entries = [schedule.stretch(i) for i in range(index, index + DALI_STRETCHES_PER_PIPELINE)]
            pipeline = self._pipeline(entries, schedule.stretch_frames, 1)
            for _ in range(DALI_STRETCHES_PER_PIPELINE):
                (video,) = pipeline.run()
                clips = dali_tensors(video, self.device)[0].split(length)  # views into the stretch
                for step in range(skip, schedule.steps_per_stretch):
                    yield list(clips[step * per_step : (step + 1) * per_step])
                skip = 0
            index += DALI_STRETCHES_PER_PIPELINE


class ScheduleShare(ClipSchedule):
    """The stretches of a schedule whose videos are in `videos`, in the schedule's order: what
    one reader of a MixedClipReader reads. Sub-stretch j is the parent's j-th such stretch."""

    def __init__(self, parent: ClipSchedule, videos: set[int]):
        self.__dict__.update(parent.__dict__)  # the same videos, clip sizes and stretches
        self.parent, self.videos = parent, videos
        self.parent_indices: list[int] = []  # sub-stretch -> parent stretch, found so far
        self.scanned = 0

    def _scan_to(self, parent_index: int) -> None:
        while self.scanned < parent_index:
            if self.parent.stretch(self.scanned)[0] in self.videos:
                self.parent_indices.append(self.scanned)
            self.scanned += 1

    def count_before(self, parent_index: int) -> int:
        """How many of this share's stretches come before the parent's stretch `parent_index`."""
        self._scan_to(parent_index)
        return sum(1 for i in self.parent_indices if i < parent_index)

    def stretch(self, index: int) -> tuple[int, int]:
        while len(self.parent_indices) <= index:  # ends: the readers ask only for stretches that exist
            self._scan_to(self.scanned + 1)
        return self.parent.stretch(self.parent_indices[index])


class MixedClipReader:
    """A schedule over videos of both kinds: each stretch read by the reader of its video (DALI
    where NVDEC decodes it, PyAV elsewhere), in the schedule's order, so the clips are those one
    reader would give and resuming works as for one reader. Each reader starts when first needed.
    make_reader(kind, share) builds a reader of a ScheduleShare (tests pass CPU readers for both)."""

    def __init__(self, schedule: ClipSchedule, kinds: list[str], make_reader):
        if not schedule.in_stretches:
            raise ValueError("mixed readers need clips in stretches")
        self.schedule, self.kinds, self.make_reader = schedule, kinds, make_reader

    def steps(self, first_step: int) -> Iterator[list]:
        schedule, per_stretch = self.schedule, self.schedule.steps_per_stretch
        index, skip = divmod(first_step, per_stretch)
        shares = {kind: ScheduleShare(schedule, {v for v, k in enumerate(self.kinds) if k == kind}) for kind in set(self.kinds)}
        readers: dict[str, Iterator] = {}
        while True:
            kind = self.kinds[schedule.stretch(index)[0]]
            if kind not in readers:  # from this share's first stretch at or after `index`
                share = shares[kind]
                readers[kind] = self.make_reader(kind, share).steps(share.count_before(index) * per_stretch + skip)
            for _ in range(skip, per_stretch):
                yield next(readers[kind])
            index, skip = index + 1, 0


def build_clip_reader(reader: str, schedule: ClipSchedule, device: torch.device, kinds: list[str] | None = None):
    """'dali', 'cpu' or 'mixed' (as lp.data.video.open_videos chose per video, `kinds`) -> a
    reader of the schedule."""
    if reader == "mixed":
        return MixedClipReader(schedule, kinds, lambda kind, share: build_clip_reader(kind, share, device))
    return DaliClipReader(schedule, device) if reader == "dali" else CpuClipReader(schedule)
