"""YUV 4:2:0 -> RGB on the CPU, computed the way DALI's GPU video reader computes it, so that the
CPU reader and DALI give the same frames. (FFmpeg's own conversion differs from DALI's by up to
2 levels: it places and interpolates chroma differently and rounds differently.)

DALI (nvidia-dali 2.x, legacy `readers.video`): luma as decoded; chroma sampled bilinearly at
x/2 + 1/4, y/2 + 1/4 of the half-size chroma planes (edges clamped) and truncated to an integer;
then BT.601 with float32 coefficients (limited range unless the stream says full range), rounded
to the nearest integer and saturated. The sums are evaluated here in exactly the order and
precision of DALI's float32 code, into lookup tables built once.
"""

from __future__ import annotations

import functools

import numpy as np

F32 = np.float32


def upsample_chroma(plane: np.ndarray, height: int, width: int) -> np.ndarray:
    """(h/2, w/2) uint8 chroma -> (height, width) uint8: weights 1/4 and 3/4 towards the nearer
    chroma sample on each axis, edges clamped, truncated. Every such value is a multiple of 1/16,
    so 16x the sum is an exact integer and the truncation is an integer division."""
    c = plane.astype(np.int32)
    rows = np.arange(height)
    cols = np.arange(width)
    # for output index i: the two chroma samples and the weight (out of 4) of the second
    near_r, near_c = rows // 2, cols // 2
    other_r = np.clip(np.where(rows % 2 == 0, near_r - 1, near_r + 1), 0, c.shape[0] - 1)
    other_c = np.clip(np.where(cols % 2 == 0, near_c - 1, near_c + 1), 0, c.shape[1] - 1)
    near_r, near_c = np.minimum(near_r, c.shape[0] - 1), np.minimum(near_c, c.shape[1] - 1)
    horizontal_near = 3 * c[:, near_c] + c[:, other_c]  # (h/2, width), 4x
    total = 3 * horizontal_near[near_r] + horizontal_near[other_r]  # (height, width), 16x
    return (total >> 4).astype(np.uint8)


def _round_f32(values: np.ndarray) -> np.ndarray:
    """float64 results of one float32 fused multiply-add -> the float32 it rounds to."""
    return values.astype(F32)


@functools.lru_cache(maxsize=2)
def rgb_tables(full_range: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lookup tables R[y, cr], G[y, cb, cr], B[y, cb] (uint8) of DALI's float32 BT.601 formulas,
    with multiply-adds fused as its CUDA compiler fuses them."""
    y = np.arange(256, dtype=np.float64)
    c = np.arange(256, dtype=np.float64) - 128  # chroma minus 128 (exact)
    if full_range:
        base = y.astype(F32).astype(np.float64)
        kr, kgb, kgr, kb = 1.402, 0.34413629, 0.71413629, 1.772
    else:
        base = (F32(1.164) * (y - 16).astype(F32)).astype(np.float64)  # one float32 product
        kr, kgb, kgr, kb = 1.596, 0.392, 0.813, 2.017
    kr, kgb, kgr, kb = (float(F32(k)) for k in (kr, kgb, kgr, kb))
    red = _round_f32(base[:, None] + kr * c[None, :])  # fma(kr, cr, y)
    blue = _round_f32(base[:, None] + kb * c[None, :])  # fma(kb, cb, y)
    if full_range:  # y - kgb * cb - kgr * cr
        first, first_k, second_k = "cb", kgb, kgr
    else:  # y - kgr * cr - kgb * cb
        first, first_k, second_k = "cr", kgr, kgb
    partial = _round_f32(base[:, None] - first_k * c[None, :]).astype(np.float64)  # (y, first chroma)
    green = _round_f32(partial[:, :, None] - second_k * c[None, None, :])  # (y, first, second)
    if first == "cr":
        green = green.transpose(0, 2, 1)  # -> (y, cb, cr)

    def to_uint8(values: np.ndarray) -> np.ndarray:
        return np.clip(np.rint(values), 0, 255).astype(np.uint8)  # nearest, ties to even (CUDA's rint)

    return to_uint8(red), np.ascontiguousarray(to_uint8(green)), to_uint8(blue)


def yuv420_to_rgb(y: np.ndarray, u: np.ndarray, v: np.ndarray, full_range: bool = False) -> np.ndarray:
    """Planes (H, W), (ceil(H/2), ceil(W/2)) x 2, uint8 -> (H, W, 3) uint8 RGB, as DALI makes it."""
    height, width = y.shape
    cb = upsample_chroma(u, height, width)
    cr = upsample_chroma(v, height, width)
    red, green, blue = rgb_tables(full_range)
    out = np.empty((height, width, 3), dtype=np.uint8)
    out[..., 0] = red[y, cr]
    out[..., 1] = green.reshape(-1)[(y.astype(np.int32) << 16) | (cb.astype(np.int32) << 8) | cr]
    out[..., 2] = blue[y, cb]
    return out
