"""Which YUV->RGB conversion reproduces DALI's frames exactly: DALI's frames of the example video
against the CPU reader's (lp.data.yuv) and against candidate formulas computed here from PyAV's
decoded YUV planes. Prints, per candidate, the share of equal values and the largest difference.

    python bench/dali_exact.py [--every 10]     # on a GPU machine with DALI
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
from lp.data.yuv import yuv420_to_rgb  # noqa: E402

F32 = np.float32
VIDEO = Path(__file__).resolve().parents[1] / "data/mirror-mouse-example/videos/test_vid.mp4"


def planes(frame: av.VideoFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    height, width = frame.height, frame.width
    out = []
    for plane, (h, w) in zip(frame.planes, [(height, width), ((height + 1) // 2, (width + 1) // 2)] * 1 + [((height + 1) // 2, (width + 1) // 2)]):
        out.append(np.frombuffer(plane, np.uint8).reshape(h, plane.line_size)[:, :w])
    return tuple(out)


def upsample16(plane: np.ndarray, height: int, width: int) -> np.ndarray:
    """16x the bilinear chroma at x/2 + 1/4, y/2 + 1/4 (exact integers), edges clamped."""
    c = plane.astype(np.int64)
    rows, cols = np.arange(height), np.arange(width)
    nr, nc = np.minimum(rows // 2, c.shape[0] - 1), np.minimum(cols // 2, c.shape[1] - 1)
    orow = np.clip(np.where(rows % 2 == 0, rows // 2 - 1, rows // 2 + 1), 0, c.shape[0] - 1)
    ocol = np.clip(np.where(cols % 2 == 0, cols // 2 - 1, cols // 2 + 1), 0, c.shape[1] - 1)
    horizontal = 3 * c[:, nc] + c[:, ocol]
    return 3 * horizontal[nr] + horizontal[orow]


def variant(y, u, v, chroma_round: bool, rgb_round: bool, fused: bool = True) -> np.ndarray:
    """BT.601 limited range in float32 after DALI 2.x's chroma sampling, with a choice of
    rounding for the chroma and the RGB values and of fused multiply-adds."""
    height, width = y.shape
    cb16, cr16 = upsample16(u, height, width), upsample16(v, height, width)
    cb = (cb16 + 8) >> 4 if chroma_round else cb16 >> 4
    cr = (cr16 + 8) >> 4 if chroma_round else cr16 >> 4
    tmp_y = (F32(1.164) * (y.astype(np.int64) - 16).astype(F32)).astype(np.float64)
    b, r = (cb - 128).astype(np.float64), (cr - 128).astype(np.float64)
    k = {n: float(F32(x)) for n, x in (("r", 1.596), ("gr", 0.813), ("gb", 0.392), ("b", 2.017))}
    if fused:
        red = (tmp_y + k["r"] * r).astype(F32)
        green = ((tmp_y - k["gr"] * r).astype(F32).astype(np.float64) - k["gb"] * b).astype(F32)
        blue = (tmp_y + k["b"] * b).astype(F32)
    else:
        t, rr, bb = tmp_y.astype(F32), r.astype(F32), b.astype(F32)
        red = t + F32(k["r"]) * rr
        green = t - F32(k["gr"]) * rr - F32(k["gb"]) * bb
        blue = t + F32(k["b"]) * bb
    out = np.stack([red, green, blue], axis=-1)
    out = np.rint(out) if rgb_round else np.trunc(out)
    return np.clip(out, 0, 255).astype(np.uint8)


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
            y, u, v = planes(frame)
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
    candidates = {"lp.data.yuv": lambda y, u, v: yuv420_to_rgb(y, u, v)}
    for chroma_round in (False, True):
        for rgb_round in (True, False):
            for fused in (True, False):
                name = f"chroma {'round' if chroma_round else 'floor'}, rgb {'round' if rgb_round else 'trunc'}, {'fma' if fused else 'no fma'}"
                candidates[name] = lambda y, u, v, c=chroma_round, r=rgb_round, f=fused: variant(y, u, v, c, r, f)
    scores = {name: [0, 0, 0] for name in [*candidates, "PyAV rgb24"]}
    with av.open(str(VIDEO)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index % args.every:
                continue
            y, u, v = planes(frame)
            outputs = {name: make(y, u, v) for name, make in candidates.items()}
            outputs["PyAV rgb24"] = frame.to_ndarray(format="rgb24")
            for name, output in outputs.items():
                difference = np.abs(output.astype(int) - dali[index].astype(int))
                scores[name][0] += int((difference == 0).sum())
                scores[name][1] += difference.size
                scores[name][2] = max(scores[name][2], int(difference.max()))
    # luma -> DALI's red value over the compared frames: one value per luma means no spatial mixing
    with av.open(str(VIDEO)) as container:
        pairs = np.zeros((256, 256), dtype=np.int64)
        chroma_values = set()
        for index, frame in enumerate(container.decode(video=0)):
            if index % args.every:
                continue
            y, u, v = planes(frame)
            chroma_values |= set(np.unique(u).tolist()) | set(np.unique(v).tolist())
            np.add.at(pairs, (y.ravel(), dali[index][..., 0].ravel()), 1)
    print(f"chroma values in the video: {sorted(chroma_values)[:10]}{' ...' if len(chroma_values) > 10 else ''}")
    print("luma: DALI red (count)")
    for luma in range(256):
        row = pairs[luma]
        if row.sum():
            print(f"  {luma}: " + " ".join(f"{value}({row[value]})" for value in np.nonzero(row)[0]))
    for name, (equal, total, worst) in scores.items():
        print(f"DALI vs {name:<36} equal {equal / total:.6f}  max |difference| {worst}")


if __name__ == "__main__":
    main()
