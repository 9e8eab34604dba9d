"""Reading videos on the GPU with NVIDIA DALI (NVDEC): frames go from the decoder into torch
tensors in device memory, never through the host. Imported only where DALI is used.

Two readers: `DaliClipReader` (shuffled clips for training, sharded across processes) and
`read_frames_dali` (every frame of one video in order, for prediction).
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from nvidia.dali import fn, pipeline_def
from nvidia.dali.plugin.pytorch import feed_ndarray

from lp.data.video import VideoInfo
from lp.errors import UserError


def _to_torch(samples, device: torch.device) -> list[torch.Tensor]:
    """A DALI GPU batch -> one uint8 tensor per sample (copied on torch's current stream, so
    later torch work is ordered after the copy and DALI may reuse its buffer)."""
    stream = torch.cuda.current_stream(device)
    tensors = []
    for i in range(len(samples)):
        sample = samples[i]
        tensor = torch.empty(sample.shape(), dtype=torch.uint8, device=device)
        tensors.append(feed_ndarray(sample, tensor, cuda_stream=stream))
    return tensors


class DaliClipReader:
    """Clips of `clip_length` consecutive frames, in order or shuffled, each process reading its
    own shard (shard index and count come from the accelerator)."""

    def __init__(
        self, infos: list[VideoInfo], clip_length: int, clips_per_step: int, seed: int,
        device: torch.device, rank: int, world: int, shuffle: bool = False,
    ):
        @pipeline_def
        def clips_pipeline():
            return fn.readers.video(
                device="gpu", filenames=[str(info.path) for info in infos], sequence_length=clip_length,
                random_shuffle=shuffle, initial_fill=256, shard_id=rank, num_shards=world,
                skip_vfr_check=True,  # checked before, with a clearer message
                name="clips",
            )

        self.device = device
        self.pipeline = clips_pipeline(
            batch_size=clips_per_step, num_threads=2, device_id=device.index or 0, seed=seed, prefetch_queue_depth=2
        )
        self.pipeline.build()

    def steps(self, first_step: int) -> Iterator[list[torch.Tensor]]:
        """(T, H, W, 3) uint8 device tensors, clips_per_step of them per step."""
        while True:
            (video,) = self.pipeline.run()
            yield _to_torch(video, self.device)


def read_frames_dali(info: VideoInfo, batch_size: int, device: torch.device) -> Iterator[torch.Tensor]:
    """(B, H, W, 3) uint8 device tensors of every frame of the video in order (the last batch
    shorter); decoding runs ahead of the consumer (DALI's prefetch queue)."""

    @pipeline_def
    def frames_pipeline():
        return fn.readers.video(
            device="gpu", filenames=[str(info.path)], sequence_length=batch_size, step=batch_size,
            random_shuffle=False, pad_sequences=True, skip_vfr_check=True, name="frames",
        )

    pipeline = frames_pipeline(batch_size=1, num_threads=2, device_id=device.index or 0, prefetch_queue_depth=3)
    try:
        pipeline.build()
    except RuntimeError as error:
        raise UserError(f"DALI cannot open video {info.path} ({str(error).splitlines()[0]}): use --reader cpu") from None
    remaining = info.num_frames
    while remaining > 0:
        try:
            (video,) = pipeline.run()
        except RuntimeError as error:
            frame = info.num_frames - remaining
            raise UserError(f"video {info.path}: DALI failed to decode frames from {frame} on ({str(error).splitlines()[0]}): re-encode it or use --reader cpu") from None
        (frames,) = _to_torch(video, device)
        yield frames[: min(batch_size, remaining)]
        remaining -= batch_size
