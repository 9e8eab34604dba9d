"""Reading videos on the GPU with NVIDIA DALI (NVDEC): frames go from the decoder into torch
tensors in device memory, never through the host. Imported only where DALI is used.

`read_frames_dali` reads every frame of one video in order, for prediction; the clip reader for
training is lp.data.clips.DaliClipReader.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import torch
from nvidia.dali import fn, pipeline_def
from nvidia.dali.plugin.pytorch import feed_ndarray

from lp.data.video import VideoInfo, stretch_length
from lp.errors import UserError


def dali_tensors(samples, device: torch.device) -> list[torch.Tensor]:
    """A DALI GPU batch -> one uint8 tensor per sample (copied on torch's current stream, so
    later torch work is ordered after the copy and DALI may reuse its buffer)."""
    stream = torch.cuda.current_stream(device)
    tensors = []
    for i in range(len(samples)):
        sample = samples[i]
        tensor = torch.empty(sample.shape(), dtype=torch.uint8, device=device)
        tensors.append(feed_ndarray(sample, tensor, cuda_stream=stream))
    return tensors


def read_frames_dali(
    info: VideoInfo, batch_size: int, device: torch.device, stretch_frames: int = 1024, decoders: int = 2,
    part: tuple[int, int] = (0, 1),
) -> Iterator[tuple[int, torch.Tensor]]:
    """(first frame index, (B, H, W, 3) uint8 device tensor) batches covering every frame of the
    video once. DALI decodes stretches of `stretch_frames` (one key-frame seek each) ahead of the
    consumer; the last stretch is padded by DALI and cut here to the video's frame count.
    `decoders` pipelines (one hardware decoder session each) read contiguous shares of the
    stretches and are taken in turn, so batches of different shares interleave. part (j, k):
    only the j-th of k contiguous shares of the stretches (lp.predict.part_bounds's frames)."""
    length = stretch_length(info.num_frames, batch_size, stretch_frames)
    num_stretches = math.ceil(info.num_frames / length)
    index, parts = part
    if not 0 <= index < parts <= num_stretches:
        raise ValueError(f"part {index} of {parts} of {num_stretches} stretches")
    decoders = max(1, min(decoders, num_stretches // parts))

    @pipeline_def
    def frames_pipeline(shard: int):
        return fn.readers.video(
            device="gpu", filenames=[str(info.path)], sequence_length=length, step=length,
            random_shuffle=False, pad_sequences=True, skip_vfr_check=True, name="frames",
            shard_id=index * decoders + shard, num_shards=parts * decoders,
        )

    pipelines = []
    for shard in range(decoders):
        pipeline = frames_pipeline(shard, batch_size=1, num_threads=2, device_id=device.index or 0, prefetch_queue_depth=2)
        try:
            pipeline.build()
        except RuntimeError as error:
            raise UserError(f"DALI cannot open video {info.path} ({str(error).splitlines()[0]}): use --reader cpu") from None
        pipelines.append(pipeline)
    if pipelines[0].epoch_size("frames") != num_stretches:
        raise UserError(f"DALI counts {pipelines[0].epoch_size('frames')} stretches of {length} frames in {info.path}, "
                        f"not {num_stretches} from its {info.num_frames} frames: re-encode it or use --reader cpu")
    # DALI gives shard s the stretches [S * s // n, S * (s + 1) // n) of S, in order; with n = k * d
    # shards, shards j * d .. j * d + d - 1 together hold part j's [S * j // k, S * (j + 1) // k).
    firsts = [num_stretches * (index * decoders + shard) // (parts * decoders) for shard in range(decoders + 1)]
    for turn in range(firsts[1] - firsts[0] + 1):
        for shard, pipeline in enumerate(pipelines):
            stretch_index = firsts[shard] + turn
            if stretch_index >= firsts[shard + 1]:
                continue
            first = stretch_index * length
            try:
                (video,) = pipeline.run()
            except RuntimeError as error:
                raise UserError(f"video {info.path}: DALI failed to decode frames from {first} on ({str(error).splitlines()[0]}): re-encode it or use --reader cpu") from None
            (stretch,) = dali_tensors(video, device)
            count = min(length, info.num_frames - first)
            for start in range(0, count, batch_size):
                yield first + start, stretch[start : min(start + batch_size, count)]
