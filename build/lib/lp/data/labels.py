"""DeepLabCut-style label CSVs: three header rows (scorer / bodyparts / coords), then one row
per labeled frame. The leading index column(s) name the image, relative to the data directory;
empty cells are keypoints that were not labeled."""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lp.errors import UserError

_KNOWN_COORDS = ("x", "y", "visible", "likelihood")


@dataclass
class LabeledFrames:
    """Labels read from one CSV."""

    image_paths: list[str]
    """Image paths relative to the data directory, one per frame."""
    keypoints: np.ndarray
    """(N, K, 2) float64 x, y in original image pixels; NaN where not labeled."""
    keypoint_names: list[str]
    scorer: str

    @property
    def num_keypoints(self) -> int:
        return len(self.keypoint_names)


def read_labels(csv_path: Path) -> LabeledFrames:
    """Read and check a label CSV; every problem is a one-line UserError naming the file."""
    if not csv_path.is_file():
        raise UserError(
            f"labels file {csv_path} not found: set --data.data-dir to your project folder "
            "and --data.csv-file to the CSV's name"
        )
    try:
        with open(csv_path, newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.reader(handle))
    except (UnicodeDecodeError, csv.Error) as error:
        raise UserError(f"{csv_path} is not a readable CSV text file ({error}): export the labels as CSV") from None
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    if len(rows) < 3:
        raise UserError(f"{csv_path} has fewer than the 3 header rows scorer / bodyparts / coords")
    scorer_row, parts_row, coords_row = rows[0], rows[1], rows[2]
    if parts_row and parts_row[0].strip().lower() == "individuals":
        raise UserError(f"{csv_path} is a multi-animal DeepLabCut file (individuals row): lp reads single-animal CSVs")
    width = len(coords_row)
    if len(scorer_row) != width or len(parts_row) != width:
        raise UserError(f"{csv_path}: the three header rows have different numbers of columns")
    if coords_row[0].strip().lower() != "coords" and parts_row[0].strip().lower() != "bodyparts":
        raise UserError(f"{csv_path}: header must be three rows scorer / bodyparts / coords (DeepLabCut style)")

    # Index columns: leading columns with no body part (DeepLabCut writes 1 or 3 of them).
    num_index = 0
    while num_index < width and parts_row[num_index].strip().lower() in ("", "bodyparts"):
        num_index += 1
    if num_index == 0 or num_index == width:
        raise UserError(f"{csv_path}: cannot find the image column and keypoint columns in the header")

    names: list[str] = []
    columns: dict[tuple[str, str], int] = {}
    for col in range(num_index, width):
        part, coord = parts_row[col].strip(), coords_row[col].strip().lower()
        if coord not in _KNOWN_COORDS:
            raise UserError(f"{csv_path}: column {col + 1} has coords '{coord}'; expected x, y or visible")
        if (part, coord) in columns:
            raise UserError(f"{csv_path}: keypoint '{part}' appears twice in the header: rename one of them")
        columns[(part, coord)] = col
        if part not in names:
            names.append(part)
    for part in names:
        if (part, "x") not in columns or (part, "y") not in columns:
            raise UserError(f"{csv_path}: keypoint '{part}' needs both an x and a y column")

    paths, coords = [], []
    for line, row in enumerate(rows[3:], start=4):
        if len(row) != width:
            raise UserError(f"{csv_path} line {line} has {len(row)} values, expected {width}: fix or remove that row")
        path = "/".join(cell.strip() for cell in row[:num_index] if cell.strip())
        if not path:
            raise UserError(f"{csv_path} line {line} names no image")
        frame = np.full((len(names), 2), np.nan)
        for k, part in enumerate(names):
            x = _number(row[columns[(part, "x")]], csv_path, line)
            y = _number(row[columns[(part, "y")]], csv_path, line)
            visible_col = columns.get((part, "visible"))
            visible = 1.0 if visible_col is None else _number(row[visible_col], csv_path, line)
            if math.isfinite(x) and math.isfinite(y) and visible != 0:
                frame[k] = (x, y)
        paths.append(path)
        coords.append(frame)
    if not paths:
        raise UserError(f"{csv_path} has a header but no labeled frames")
    if len(set(paths)) != len(paths):
        duplicate = next(p for p in paths if paths.count(p) > 1)
        raise UserError(f"{csv_path}: image {duplicate} is listed twice: keep one row per image")
    scorer = next((cell for cell in scorer_row[num_index:] if cell.strip()), "lp")
    return LabeledFrames(paths, np.stack(coords), names, scorer)


def _number(cell: str, csv_path: Path, line: int) -> float:
    cell = cell.strip()
    if cell == "" or cell.lower() == "nan":
        return math.nan
    try:
        return float(cell)
    except ValueError:
        raise UserError(f"{csv_path} line {line}: '{cell}' is not a number") from None


def skeleton_edges(keypoint_names: list[str], skeleton: tuple[tuple[str, str], ...]) -> list[tuple[int, int]]:
    """--data.skeleton's name pairs as keypoint index pairs; a name not in the labels is an error."""
    index = {name: i for i, name in enumerate(keypoint_names)}
    for name in (n for pair in skeleton for n in pair):
        if name not in index:
            raise ValueError(f"--data.skeleton names '{name}', which is not a keypoint in the labels ({', '.join(keypoint_names)})")
    return [(index[a], index[b]) for a, b in skeleton]
