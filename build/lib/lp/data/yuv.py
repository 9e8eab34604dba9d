"""YUV 4:2:0 -> RGB on the CPU with the arithmetic of DALI's GPU video reader, so that the CPU
reader and DALI give bit-identical frames. (FFmpeg's own conversion differs from DALI's by up to
2 levels: it samples chroma elsewhere and uses other constants and rounding.)

What DALI (nvidia-dali 2.4, `readers.video`) computes, established against its output on a
lossless synthetic colour video and the example video (`bench/dali_exact.py`; every value equal):
- luma as decoded; chroma sampled bilinearly at (x/2 + 1/4, y/2 + 1/4) of the half-size planes
  (weights 1/4 and 3/4, edges clamped), kept as a float;
- each value scaled by the float32 1/255, then BT.601 (Kr 0.299, Kb 0.114) limited range
  (scales 255/219 and 255/224) in float32: r = y' + c_r cr', g = y' - c_gb cb' - c_gr cr',
  b = y' + c_b cb' with y' = 255/219 (y - 1/16) and cb', cr' = value - 1/2;
- times 255, rounded to nearest (ties to even) and saturated.
Interpolated chroma is a multiple of 1/16: 16x it is an integer, summed exactly in float32, and
every later step is the same float32 operation DALI's kernel performs, in the same order.
"""

from __future__ import annotations

import functools

import numpy as np

F32 = np.float32


def _bt601_limited() -> dict[str, float]:
    kr, kb = 0.299, 0.114
    kg, chroma = 1 - kr - kb, 255 / 224
    return {
        "y": 255 / 219, "r": 2 * (1 - kr) * chroma, "gb": 2 * kb * (1 - kb) / kg * chroma,
        "gr": 2 * kr * (1 - kr) / kg * chroma, "b": 2 * (1 - kb) * chroma,
    }


@functools.lru_cache(maxsize=1)
def constants() -> dict[str, np.float32]:
    return {name: F32(value) for name, value in _bt601_limited().items()}


def upsample_chroma16(plane: np.ndarray, height: int, width: int) -> np.ndarray:
    """(ceil(h/2), ceil(w/2)) uint8 -> (height, width) float32 holding integers: 16x the bilinear
    sample at (x/2 + 1/4, y/2 + 1/4), i.e. 3/4 of the nearer chroma sample and 1/4 of the next one
    on each axis (towards the pixel's side), edges clamped. Exact: every value is below 2**24."""
    c = plane.astype(F32)
    return _upsample_axis(_upsample_axis(c, width, axis=1), height, axis=0)


def _upsample_axis(c: np.ndarray, size: int, axis: int) -> np.ndarray:
    """4x the samples at i/2 + 1/4 along one axis: even i mix in the previous sample, odd i the next."""
    c = np.moveaxis(c, axis, 0)
    previous = np.concatenate([c[:1], c[:-1]])  # clamped at the edges
    following = np.concatenate([c[1:], c[-1:]])
    out = np.empty((size, *c.shape[1:]), dtype=c.dtype)
    out[0::2] = 3 * c[: (size + 1) // 2] + previous[: (size + 1) // 2]
    out[1::2] = 3 * c[: size // 2] + following[: size // 2]
    return np.moveaxis(out, 0, axis)


def _centred(chroma16: np.ndarray) -> np.ndarray:
    """16x interpolated chroma -> value / 255 - 1/2 in float32, in DALI's order, in place."""
    chroma16 /= F32(16)
    chroma16 *= F32(1 / 255)
    chroma16 -= F32(0.5)
    return chroma16


def yuv420_to_rgb(y: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Planes (H, W) and (ceil(H/2), ceil(W/2)) x 2, uint8 -> (H, W, 3) uint8 RGB, as DALI makes it.
    Every step is one float32 operation, in the order of DALI's kernel, so results agree exactly."""
    height, width = y.shape
    k = constants()
    cb = _centred(upsample_chroma16(u, height, width))
    cr = _centred(upsample_chroma16(v, height, width))
    luma = y.astype(F32)
    luma *= F32(1 / 255)
    luma -= F32(0.0625)
    luma *= k["y"]
    out = np.empty((height, width, 3), dtype=np.uint8)
    out[..., 0] = _to_uint8(luma + k["r"] * cr)
    green = luma - k["gb"] * cb
    green -= k["gr"] * cr
    out[..., 1] = _to_uint8(green)
    out[..., 2] = _to_uint8(luma + k["b"] * cb)
    return out


def _to_uint8(values: np.ndarray) -> np.ndarray:
    """Float32 -> times 255, nearest (ties to even), saturated; in place."""
    values *= F32(255)
    np.rint(values, out=values)
    return np.clip(values, 0, 255, out=values)


def frame_planes(frame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A PyAV yuv420p frame's Y, U, V planes as arrays (line padding removed), without copies."""
    height, width = frame.height, frame.width
    sizes = [(height, width), ((height + 1) // 2, (width + 1) // 2), ((height + 1) // 2, (width + 1) // 2)]
    return tuple(
        np.frombuffer(plane, np.uint8).reshape(rows, plane.line_size)[:, :cols]
        for plane, (rows, cols) in zip(frame.planes, sizes)
    )
