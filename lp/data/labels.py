"""Labeled frames from the field's files, all read into one LabeledFrames table:
- DeepLabCut CSV: three header rows (scorer / bodyparts / coords), then one row per labeled frame;
  the leading index column(s) name the image, relative to the data directory; empty cells are
  keypoints that were not labeled; a multi-animal file's fourth header row (individuals, after
  scorer) makes each animal's keypoints <animal>_<bodypart>, its "single" (unique) ones <bodypart>;
- DeepLabCut's own .h5 (pandas, the same table);
- a DeepLabCut project's labeled-data folder: every <video>/CollectedData_<scorer>.h5 (or .csv)
  in it, as one table;
- COCO keypoints .json (one annotation per image; visibility 0 = not labeled);
- SLEAP .slp and NWB (ndx-pose training frames) through sleap-io (lp.data.sleap).
To add a format: a reader returning LabeledFrames, and its suffix in READERS."""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lp.config import DEFAULT_LABELS
from lp.errors import UserError, tell

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
    animals: tuple[str, ...] = ()
    """A multi-animal DeepLabCut file's individuals (each one's keypoints <animal>_<bodypart>)."""

    @property
    def num_keypoints(self) -> int:
        return len(self.keypoint_names)


def read_labels(path: Path) -> LabeledFrames:
    """Read and check a labels file (by its suffix: .csv, .h5, .json, .slp, .nwb); every problem
    is a one-line UserError naming the file."""
    path = Path(path)
    project = path.parent / "labeled-data"
    if path.is_dir():
        frames = read_dlc_project(path)
    elif not path.is_file() and path.name == DEFAULT_LABELS and is_labeled_data(project):
        tell(f"lp: no {DEFAULT_LABELS} in {path.parent}: reading the DeepLabCut project's {project.name}/ folder")
        frames, path = read_dlc_project(project), project
    elif not path.is_file():
        raise UserError(
            f"labels file {path} not found: set --data.data-dir to your project folder "
            "and --data.csv-file to the labels file's name (.csv, .h5, COCO .json, SLEAP .slp or NWB .nwb, "
            "or a DeepLabCut project's labeled-data folder)"
        )
    else:
        reader = READERS.get(path.suffix.lower())
        if reader is None:
            raise UserError(f"{path}: lp reads labels from {', '.join(READERS)} files: export them as a DeepLabCut CSV")
        frames = reader(path)
    # DeepLabCut projects labeled on Windows name their images with backslashes
    frames.image_paths = [relative.replace("\\", "/") for relative in frames.image_paths]
    if len(set(frames.image_paths)) != len(frames.image_paths):
        duplicate = next(p for p in frames.image_paths if frames.image_paths.count(p) > 1)
        raise UserError(f"{path}: image {duplicate} is listed twice: keep one row per image")
    if frames.animals:
        tell(f"lp: {path.name}{'/' if path.is_dir() else ''}: {len(frames.animals)} animals ({', '.join(frames.animals)}) "
              "read as fixed identities, keypoints <animal>_<bodypart>: label each animal under the same name in every frame")
    return frames


def is_labeled_data(folder: Path) -> bool:
    """Whether `folder` is a DeepLabCut project's labeled-data folder with labels in it."""
    return folder.is_dir() and folder.name == "labeled-data" and bool(_collected_files(folder))


def _collected_files(labeled_data: Path) -> list[Path]:
    """A DeepLabCut labeled-data folder's labels: one CollectedData_<scorer> file per video
    folder, the .h5 (DeepLabCut's own) where both it and the .csv are there."""
    found = []
    for folder in sorted(p for p in labeled_data.iterdir() if p.is_dir()):
        files = sorted(folder.glob("CollectedData_*.h5")) or sorted(folder.glob("CollectedData_*.csv"))
        if len(files) > 1:
            raise UserError(f"{folder} holds {len(files)} labels files ({', '.join(f.name for f in files)}): "
                            "keep one CollectedData file per video folder")
        found += files
    return found


def read_dlc_project(labeled_data: Path) -> LabeledFrames:
    """Every video folder's CollectedData file in a DeepLabCut labeled-data folder, as one table;
    image paths stay as DeepLabCut writes them, relative to the project (the folder's parent).
    A keypoint missing from some files (added to the project later) is unlabeled in their frames."""
    files = _collected_files(labeled_data)
    if not files:
        raise UserError(f"{labeled_data} holds no <video>/CollectedData_<scorer>.h5 or .csv: "
                        "label frames in DeepLabCut first, or set --data.csv-file to your labels file")
    tables = [READERS[f.suffix.lower()](f) for f in files]
    names = list(dict.fromkeys(name for table in tables for name in table.keypoint_names))
    coords = []
    for file, table in zip(files, tables):
        missing = [name for name in names if name not in table.keypoint_names]
        if missing:
            tell(f"lp: {file.relative_to(labeled_data)} has no column for {', '.join(missing)}: "
                  f"unlabeled in its {len(table.image_paths)} frames")
        xy = np.full((len(table.image_paths), len(names), 2), np.nan)
        xy[:, [names.index(name) for name in table.keypoint_names]] = table.keypoints
        coords.append(xy)
    animals = tuple(dict.fromkeys(animal for table in tables for animal in table.animals))
    return LabeledFrames([p for table in tables for p in table.image_paths], np.concatenate(coords), names,
                         tables[0].scorer, animals)


def read_dlc_csv(csv_path: Path) -> LabeledFrames:
    """A DeepLabCut CSV (see the module's docstring)."""
    try:
        with open(csv_path, newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.reader(handle))
    except (UnicodeDecodeError, csv.Error) as error:
        raise UserError(f"{csv_path} is not a readable CSV text file ({error}): export the labels as CSV") from None
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    if len(rows) < 3:
        raise UserError(f"{csv_path} has fewer than the 3 header rows scorer / bodyparts / coords")
    header = 4 if rows[1] and rows[1][0].strip().lower() == "individuals" else 3  # multi-animal DeepLabCut
    if len(rows) < header:
        raise UserError(f"{csv_path} has fewer than the 4 header rows scorer / individuals / bodyparts / coords")
    scorer_row, parts_row, coords_row = rows[0], rows[header - 2], rows[header - 1]
    animal_row = rows[1] if header == 4 else [""] * len(coords_row)
    width = len(coords_row)
    if len(scorer_row) != width or len(parts_row) != width or len(animal_row) != width:
        raise UserError(f"{csv_path}: the {header} header rows have different numbers of columns")
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
    animals = tuple(dict.fromkeys(cell.strip() for cell in animal_row[num_index:] if cell.strip() not in ("", "single")))
    for col in range(num_index, width):
        part, coord = _animal_part(animal_row[col].strip(), parts_row[col].strip()), coords_row[col].strip().lower()
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
    for line, row in enumerate(rows[header:], start=header + 1):
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
    scorer = next((cell for cell in scorer_row[num_index:] if cell.strip()), "lp")
    return LabeledFrames(paths, np.stack(coords), names, scorer, animals)


def _animal_part(animal: str, part: str) -> str:
    """A multi-animal DeepLabCut column's keypoint name: <animal>_<bodypart>; the "single"
    individual's (unique body parts) and a single-animal file's: <bodypart>."""
    return part if animal in ("", "single") else f"{animal}_{part}"


def read_dlc_h5(path: Path) -> LabeledFrames:
    """DeepLabCut's .h5 labels: a pandas table whose columns are (scorer, bodyparts, coords) and
    whose index names the images (one string, or DeepLabCut's three levels, joined with /)."""
    import pandas as pd

    try:
        table = pd.read_hdf(path)
    except Exception as error:  # noqa: BLE001 - pytables raises its own error types for a file that is not HDF5
        if isinstance(error, (KeyboardInterrupt, MemoryError)):
            raise
        raise UserError(f"{path} is not a DeepLabCut .h5 labels file ({type(error).__name__}): export the labels as CSV") from None
    columns = table.columns
    if not isinstance(columns, pd.MultiIndex) or columns.nlevels not in (3, 4):
        raise UserError(f"{path}: expected DeepLabCut's columns scorer / bodyparts / coords "
                        "(or scorer / individuals / bodyparts / coords)")
    animals = ()
    if columns.nlevels == 4:  # multi-animal: (scorer, individuals, bodyparts, coords)
        animals = tuple(dict.fromkeys(a for a in columns.get_level_values(1) if a != "single"))
        parts = [_animal_part(str(a), str(p)) for a, p in zip(columns.get_level_values(1), columns.get_level_values(2))]
        columns = pd.MultiIndex.from_arrays([columns.get_level_values(0), parts, columns.get_level_values(3)])
        table = table.set_axis(columns, axis=1)
    names = list(dict.fromkeys(columns.get_level_values(1)))
    coords = set(columns.get_level_values(2))
    if not {"x", "y"} <= coords:
        raise UserError(f"{path}: every keypoint needs x and y columns")
    frame = table.droplevel(0, axis=1)
    xy = np.stack([frame.xs(c, axis=1, level=1)[names].to_numpy(np.float64) for c in ("x", "y")], axis=-1)
    if "visible" in coords:
        xy[frame.xs("visible", axis=1, level=1)[names].to_numpy() == 0] = np.nan
    paths = ["/".join(str(part) for part in (index if isinstance(index, tuple) else (index,)) if str(part)) for index in table.index]
    return LabeledFrames(paths, xy, names, str(columns.get_level_values(0)[0]), animals)


def read_coco(path: Path) -> LabeledFrames:
    """COCO keypoints: images, annotations with keypoints [x, y, v] * K (v = 0: not labeled), one
    category naming the keypoints. One annotation per image; images without one are skipped."""
    import json

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        categories = [c for c in data["categories"] if c.get("keypoints")]
        images = {image["id"]: image["file_name"] for image in data["images"]}
        annotations = data["annotations"]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as error:
        raise UserError(f"{path} is not a COCO keypoints file ({type(error).__name__}: {error}): it needs images, annotations and categories") from None
    if len(categories) != 1:
        raise UserError(f"{path}: lp reads one keypoint category; this file has {len(categories)}")
    names = [str(name) for name in categories[0]["keypoints"]]
    by_image: dict = {}
    for annotation in annotations:
        if annotation.get("category_id", categories[0]["id"]) != categories[0]["id"] or "keypoints" not in annotation:
            continue
        if annotation["image_id"] in by_image:
            raise UserError(f"{path}: image {images.get(annotation['image_id'])} has several annotations: lp reads one animal per image")
        values = np.asarray(annotation["keypoints"], dtype=np.float64)
        if values.size != 3 * len(names):
            raise UserError(f"{path}: an annotation of image {annotation['image_id']} has {values.size} values, "
                            f"expected 3 x {len(names)} keypoints")
        by_image[annotation["image_id"]] = values.reshape(len(names), 3)
    unknown = [i for i in by_image if i not in images]
    if unknown:
        raise UserError(f"{path}: annotations name image id {unknown[0]}, which is not among the images")
    skipped = len(images) - len(by_image)
    if skipped:
        tell(f"lp: {path.name}: {skipped} image(s) without keypoint annotations skipped")
    if not by_image:
        raise UserError(f"{path} has no keypoint annotations")
    ids = [i for i in images if i in by_image]
    xy = np.stack([by_image[i][:, :2] for i in ids])
    xy[np.stack([by_image[i][:, 2] == 0 for i in ids])] = np.nan
    return LabeledFrames([images[i] for i in ids], xy, names, "coco")


def read_sleap_or_nwb(path: Path) -> LabeledFrames:
    from lp.data.sleap import read_sleap_labels

    return read_sleap_labels(path)


READERS = {".csv": read_dlc_csv, ".h5": read_dlc_h5, ".json": read_coco, ".slp": read_sleap_or_nwb, ".nwb": read_sleap_or_nwb}


def _number(cell: str, csv_path: Path, line: int) -> float:
    cell = cell.strip()
    if cell == "" or cell.lower() == "nan":
        return math.nan
    try:
        return float(cell)
    except ValueError:
        raise UserError(f"{csv_path} line {line}: '{cell}' is not a number") from None


def skeleton_edges(keypoint_names: list[str], skeleton: tuple[tuple[str, str], ...]) -> list[tuple[int, int]]:
    """--data.skeleton's name pairs as keypoint index pairs. A skeleton naming none of the
    keypoints was written for other data (configs/mouse.py pointed at a user's project): it only
    draws lines, so there are none, with a line saying so. Some names missing (a typo): an error."""
    index = {name: i for i, name in enumerate(keypoint_names)}
    if skeleton and not {name for pair in skeleton for name in pair} & index.keys():
        tell("lp: --data.skeleton names none of the labels' keypoints (a config written for other data?): "
              "no skeleton is drawn; set --data.skeleton NAME NAME ... with these keypoints")
        return []
    for name in (n for pair in skeleton for n in pair):
        if name not in index:
            raise ValueError(f"--data.skeleton names '{name}', which is not a keypoint in the labels ({', '.join(keypoint_names)})")
    return [(index[a], index[b]) for a, b in skeleton]
