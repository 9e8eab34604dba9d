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
Interpolated chroma is a multiple of 1/16, so 16x it is an exact integer: each float term is
tabulated once per luma value or chroma sixteenth, and a frame costs integer sums, lookups into
these small tables and a few float32 additions in DALI's order.
"""

from __future__ import annotations

import functools
import threading

import numpy as np

F32 = np.float32
STEPS = 16 * 255 + 1
"""Interpolated chroma values, in sixteenths: 0 .. 4080."""


def _bt601_limited() -> dict[str, float]:
    kr, kb = 0.299, 0.114
    kg, chroma = 1 - kr - kb, 255 / 224
    return {
        "y": 255 / 219, "r": 2 * (1 - kr) * chroma, "gb": 2 * kb * (1 - kb) / kg * chroma,
        "gr": 2 * kr * (1 - kr) / kg * chroma, "b": 2 * (1 - kb) * chroma,
    }


@functools.lru_cache(maxsize=1)
def tables() -> dict[str, np.ndarray]:
    """The float32 terms of each channel per luma value and per chroma sixteenth."""
    k = {name: F32(value) for name, value in _bt601_limited().items()}
    inv = F32(1 / 255)
    luma = np.arange(256).astype(F32) * inv
    chroma = (np.arange(STEPS).astype(F32) / F32(16)) * inv - F32(0.5)  # cb' or cr' per sixteenth
    return {"y": k["y"] * (luma - F32(0.0625)), "r": k["r"] * chroma, "gb": k["gb"] * chroma,
            "gr": k["gr"] * chroma, "b": k["b"] * chroma}


def upsample_chroma16(plane: np.ndarray, height: int, width: int) -> np.ndarray:
    """(ceil(h/2), ceil(w/2)) uint8 -> (height, width) intp (index type): 16x the bilinear sample at
    (x/2 + 1/4, y/2 + 1/4), i.e. 3/4 of the nearer chroma sample and 1/4 of the next one on each
    axis (towards the pixel's side), edges clamped."""
    c = plane.astype(np.intp)
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


_workspace = threading.local()


def _buffers(height: int, width: int) -> dict[str, np.ndarray]:
    """Scratch arrays reused from frame to frame (per thread): fresh ones of this size would be
    mapped and zero-filled by the OS for every frame, which costs more than the arithmetic."""
    buffers = getattr(_workspace, "buffers", None)
    if buffers is None or buffers["y"].shape != (height, width):
        shape = (height, width)
        buffers = {"y": np.empty(shape, F32), "a": np.empty(shape, F32), "b": np.empty(shape, F32),
                   "luma": np.empty(shape, np.intp)}
        _workspace.buffers = buffers
    return buffers


def yuv420_to_rgb(y: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Planes (H, W) and (ceil(H/2), ceil(W/2)) x 2, uint8 -> (H, W, 3) uint8 RGB, as DALI makes it."""
    height, width = y.shape
    t, w = tables(), _buffers(height, width)
    cb16 = upsample_chroma16(u, height, width)
    cr16 = upsample_chroma16(v, height, width)
    np.copyto(w["luma"], y)
    y_term, a, b = w["y"], w["a"], w["b"]
    np.take(t["y"], w["luma"], out=y_term)
    out = np.empty((height, width, 3), dtype=np.uint8)
    np.take(t["r"], cr16, out=a)
    out[..., 0] = _to_uint8(np.add(y_term, a, out=a))
    np.take(t["gb"], cb16, out=a)
    np.subtract(y_term, a, out=a)
    np.take(t["gr"], cr16, out=b)
    out[..., 1] = _to_uint8(np.subtract(a, b, out=a))
    np.take(t["b"], cb16, out=a)
    out[..., 2] = _to_uint8(np.add(y_term, a, out=a))
    return out


def _to_uint8(values: np.ndarray) -> np.ndarray:
    """Float32 in [0, 1]-ish -> uint8: times 255, nearest (ties to even), saturated; in place."""
    np.multiply(values, F32(255), out=values)
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
