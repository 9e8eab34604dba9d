"""The CPU reader's YUV -> RGB reproduces DALI's GPU reader value for value. Reference values were
read from DALI 2.4.0 (nvidia-dali-cuda130) on an H100 with bench/dali_exact.py: a lossless colour
video (chroma constant in 8x8 blocks, pixels inside the blocks) and the example grey video."""

import numpy as np

from lp.data.yuv import upsample_chroma16, yuv420_to_rgb

# (Y, Cb, Cr) -> DALI's (R, G, B)
DALI_COLOURS = [
    ((166, 73, 190), (255, 145, 65)), ((21, 210, 128), (7, 0, 172)), ((226, 163, 237), (255, 142, 255)),
    ((148, 153, 39), (13, 216, 205)), ((108, 212, 156), (153, 51, 255)), ((23, 20, 24), (0, 134, 0)),
    ((252, 246, 179), (255, 187, 255)), ((61, 66, 217), (195, 4, 0)), ((26, 135, 2), (0, 111, 27)),
    ((253, 79, 212), (255, 226, 178)), ((28, 185, 135), (26, 0, 130)), ((46, 13, 125), (31, 82, 0)),
]
# luma -> DALI's red of the grey example video (chroma 128 everywhere)
DALI_GREY = {15: 0, 16: 1, 17: 2, 19: 4, 20: 6, 26: 13, 100: 99, 150: 157, 232: 252, 233: 254, 234: 255}


def test_colours_equal_dali():
    for (y, cb, cr), rgb in DALI_COLOURS:
        planes = np.full((4, 4), y, np.uint8), np.full((2, 2), cb, np.uint8), np.full((2, 2), cr, np.uint8)
        assert tuple(yuv420_to_rgb(*planes)[1, 1]) == rgb, (y, cb, cr)


def test_grey_equals_dali():
    luma = np.array(list(DALI_GREY), dtype=np.uint8)
    planes = np.repeat(luma[None], 2, 0), np.full((1, 6), 128, np.uint8), np.full((1, 6), 128, np.uint8)
    assert yuv420_to_rgb(*planes)[0, :, 0].tolist() == list(DALI_GREY.values())


def test_chroma_is_sampled_bilinearly_at_a_quarter_sample():
    rng = np.random.default_rng(0)
    for height, width in [(6, 8), (7, 9), (1, 1), (2, 3)]:
        plane = rng.integers(0, 256, ((height + 1) // 2, (width + 1) // 2)).astype(np.uint8)
        expected = np.zeros((height, width))
        for y in range(height):
            for x in range(width):  # sample at (x/2 + 1/4, y/2 + 1/4) with sample centres at i + 1/2
                sy, sx = y / 2 + 0.25 - 0.5, x / 2 + 0.25 - 0.5
                y0, x0 = int(np.floor(sy)), int(np.floor(sx))
                qy, qx = sy - y0, sx - x0

                def at(r, c):
                    return float(plane[min(max(r, 0), plane.shape[0] - 1), min(max(c, 0), plane.shape[1] - 1)])

                top = at(y0, x0) * (1 - qx) + at(y0, x0 + 1) * qx
                bottom = at(y0 + 1, x0) * (1 - qx) + at(y0 + 1, x0 + 1) * qx
                expected[y, x] = top + (bottom - top) * qy
        assert np.array_equal(upsample_chroma16(plane, height, width), expected * 16)
