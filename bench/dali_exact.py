"""Does the CPU reader's YUV->RGB conversion (lp.data.yuv) reproduce DALI's frames exactly? DALI's
frames of the example video against lp.data.yuv and against FFmpeg's own conversion (PyAV rgb24):
the share of equal values and the largest difference of each. With --dump, DALI's frames of a
lossless synthetic colour video (known YUV values) are saved instead, for fitting formulas
offline; that is how lp.data.yuv's arithmetic was established.

    python bench/dali_exact.py [--every 10]     # on a GPU machine with DALI
    python bench/dali_exact.py --dump OUT
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import av
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lp.data.video import probe_video  # noqa: E402
from lp.data.yuv import frame_planes, yuv420_to_rgb  # noqa: E402

VIDEO = Path(__file__).resolve().parents[1] / "data/mirror-mouse-example/videos/test_vid.mp4"


def write_color_video(path: Path, frames: int = 16, size: int = 256) -> None:
    """Lossless H.264 (qp 0) whose decoded YUV is known: luma ramps along x, chroma is constant
    in 8x8 blocks (so interpolation inside a block returns it), drawn from every value."""
    rng = np.random.default_rng(0)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25, options={"qp": "0"})
        stream.width = stream.height = size
        stream.pix_fmt = "yuv420p"
        for _ in range(frames):
            frame = av.VideoFrame(size, size, "yuv420p")
            luma = np.tile(np.arange(size, dtype=np.uint8), (size, 1))
            luma = np.roll(luma, rng.integers(0, size), axis=1)
            blocks = rng.integers(0, 256, (2, size // 8, size // 8), dtype=np.uint8)
            chroma = blocks.repeat(4, axis=1).repeat(4, axis=2)  # 8x8 luma blocks = 4x4 chroma
            for plane, values in zip(frame.planes, [luma, chroma[0], chroma[1]]):
                rows = np.zeros((values.shape[0], plane.line_size), dtype=np.uint8)
                rows[:, : values.shape[1]] = values
                plane.update(rows.tobytes())
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def dump(folder: Path) -> None:
    """DALI's RGB and PyAV's YUV planes of a synthetic colour video, for fitting formulas offline."""
    from lp.data.video_dali import read_frames_dali

    folder.mkdir(parents=True, exist_ok=True)
    video = folder / "color.mp4"
    write_color_video(video)
    info = probe_video(video)
    dali = np.zeros((info.num_frames, info.height, info.width, 3), dtype=np.uint8)
    for first, frames in read_frames_dali(info, 16, torch.device("cuda")):
        dali[first : first + len(frames)] = frames.cpu().numpy()
    ys, us, vs = [], [], []
    with av.open(str(video)) as container:
        for frame in container.decode(video=0):
            y, u, v = frame_planes(frame)
            ys.append(y.copy()), us.append(u.copy()), vs.append(v.copy())
    np.savez_compressed(folder / "color_dali.npz", dali=dali, y=np.stack(ys), u=np.stack(us), v=np.stack(vs))
    print(f"wrote {folder / 'color_dali.npz'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--every", type=int, default=10, help="compare every n-th frame")
    parser.add_argument("--dump", type=Path, help="only write DALI's frames of a synthetic colour video here")
    args = parser.parse_args()
    if args.dump:
        dump(args.dump)
        return
    from lp.data.video_dali import read_frames_dali

    info = probe_video(VIDEO)
    dali = np.zeros((info.num_frames, info.height, info.width, 3), dtype=np.uint8)
    for first, frames in read_frames_dali(info, 100, torch.device("cuda")):
        dali[first : first + len(frames)] = frames.cpu().numpy()
    scores = {"lp.data.yuv": [0, 0, 0], "PyAV rgb24": [0, 0, 0]}
    with av.open(str(VIDEO)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index % args.every:
                continue
            outputs = {"lp.data.yuv": yuv420_to_rgb(*frame_planes(frame)), "PyAV rgb24": frame.to_ndarray(format="rgb24")}
            for name, output in outputs.items():
                difference = np.abs(output.astype(int) - dali[index].astype(int))
                scores[name][0] += int((difference == 0).sum())
                scores[name][1] += difference.size
                scores[name][2] = max(scores[name][2], int(difference.max()))
    for name, (equal, total, worst) in scores.items():
        print(f"DALI vs {name:<12} equal {equal / total:.6f}  max |difference| {worst}")


if __name__ == "__main__":
    main()
