"""predict.py's work: every video decoded once, passed through every model, written per model
as DeepLabCut CSV and HDF5 tables plus per-frame temporal-norm metrics."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from lp.config import PredictConfig
from lp.data.images import read_image
from lp.data.labels import READERS, is_labeled_data, read_labels

from lp.data.video import VideoInfo, open_videos, prefetch, read_frames, read_frames_parallel, stretch_length
from lp.errors import UserError
from lp.inference import Model, compute_temporal_norm, frames_to_tensor
from lp.io import atomic_write, keypoint_table, write_csv, write_numeric_csv, write_pixel_error_csv
from lp.models.pca import compute_pca_errors
from lp.metrics import compute_pixel_error


DECODE_STRETCH_FRAMES = (256, 1024)
"""Frames per stretch when several CPU decoders share a video (one key-frame seek each): the
video shared evenly among the cores, within these bounds."""


def output_dirs(cfg: PredictConfig) -> list[Path]:
    if cfg.output_dir is None:
        return [Path(run) / "video_preds" for run in cfg.run_dir]
    if len(cfg.run_dir) == 1:
        return [Path(cfg.output_dir)]
    names = [Path(run).name for run in cfg.run_dir]
    if len(set(names)) < len(names):  # same time stamp on different days: keep the date too
        names = [f"{Path(run).parent.name}_{Path(run).name}" for run in cfg.run_dir]
    return [Path(cfg.output_dir) / name for name in names]


def write_tables(folder: Path, stem: str, table: pd.DataFrame, formats: tuple[str, ...] = ("csv", "h5")) -> None:
    """<stem>.csv and, when asked for, <stem>.h5 (DeepLabCut's HDF5 layout: key df_with_missing)."""
    if isinstance(table.index, pd.RangeIndex):
        write_numeric_csv(folder / f"{stem}.csv", table)
    else:  # labeled frames: image paths as the index
        write_csv(folder / f"{stem}.csv", table)
    if "h5" in formats:
        atomic_write(folder / f"{stem}.h5", lambda tmp: table.to_hdf(tmp, key="df_with_missing", format="table", mode="w"))


def predict(
    cfg: PredictConfig, rank: int = 0, world: int = 1, device: torch.device | None = None,
    wait_for_all: Callable[[], None] | None = None,
) -> None:
    """Every video through every run. With several processes (rank of world), each process takes
    its own share of the videos (plan_pieces: whole videos, or parts of long ones where whole
    videos would leave one process long after the others) and writes their outputs; a video cut
    into parts is joined, after wait_for_all() (a barrier across the processes), by the process
    that predicted its first part. The files are the same as one process would write."""
    if cfg.export == "onnx" and rank == 0:
        from lp.export import export_onnx

        for run in cfg.run_dir:
            path, report = export_onnx(run)
            print(f"lp: wrote {path}: {report}")
    if cfg.videos is None:
        return
    if {"nwb", "slp"} & set(cfg.formats):
        from lp.data.sleap import import_sleap_io

        import_sleap_io("--formats " + " ".join(f for f in cfg.formats if f in ("nwb", "slp")))
    models = [Model.from_dir(run, device=device, precision=cfg.precision) for run in cfg.run_dir]
    folders = output_dirs(cfg)
    if Path(cfg.videos).suffix.lower() in READERS or is_labeled_data(Path(cfg.videos)):  # labels
        if rank == 0:
            predict_labeled(cfg, models, folders)
        return
    device = models[0].device
    chosen = open_videos(Path(cfg.videos), cfg.reader, device, "--reader")  # all checked before any work
    infos = [info for info, _ in chosen]
    # a context model's part needs the frames around it, which DALI's whole stretches do not give
    single_frame = all(model.network.context_frames == 1 for model in models)
    plan = plan_pieces([info.num_frames for info in infos], world,
                       [stretch_length(info.num_frames, cfg.batch_size) for info in infos],
                       [single_frame or reader == "cpu" for _, reader in chosen])
    mine = plan[rank]
    where = f" on {world} processes ({len(mine)} here, process {rank})" if world > 1 else ""
    on_gpu = sum(reader == "dali" for _, reader in chosen)
    how = {len(chosen): "DALI on the GPU", 0: "PyAV on the CPU"}.get(on_gpu, f"{on_gpu} by DALI on the GPU, the rest by PyAV on the CPU")
    print(f"lp: {len(chosen)} video{'s' * (len(chosen) > 1)}{where}, decoded by {how}")
    cut = sorted({(piece.video, piece.parts) for share in plan for piece in share if piece.parts > 1})
    if rank == 0:
        for video, parts in cut:
            print(f"lp: {infos[video].path.name}: {infos[video].num_frames} frames cut into {parts} parts across the processes, joined after")
    joins, work_start, frames_done = [], time.perf_counter(), 0
    for piece in mine:
        info, reader = chosen[piece.video]
        stem = info.path.stem
        pending = [
            (model, folder) for model, folder in zip(models, folders)
            if cfg.overwrite or not all((folder / f"{stem}.{suffix}").is_file() for suffix in cfg.formats)
        ]
        if piece.part == 0 and piece.parts > 1:
            joins.append((piece, pending))
        if not pending:
            if piece.parts == 1:
                print(f"lp: {info.path.name}: outputs exist, skipped (--overwrite True to redo)")
                if cfg.ensemble != "none" or cfg.outliers:
                    write_ensemble_outputs(cfg, models, folders, info)
            continue
        start = time.perf_counter()
        results = predict_video_frames(info, [model for model, _ in pending], cfg.batch_size, reader, device,
                                       piece.start, piece.stop)
        elapsed = time.perf_counter() - start
        frames_done += piece.stop - piece.start
        for (model, folder), result in zip(pending, results):
            if piece.parts == 1:
                write_video_outputs(model, folder, info, result, elapsed, cfg.formats)
            else:
                write_part(folder, stem, piece, result, elapsed)
        if piece.parts == 1 and (cfg.ensemble != "none" or cfg.outliers):
            write_ensemble_outputs(cfg, models, folders, info)
    if cut:
        if wait_for_all is None:
            raise ValueError("videos cut into parts need wait_for_all, a barrier across the processes")
        wait_for_all()  # every part of every cut video written
        for piece, pending in joins:
            join_parts(cfg, models, folders, infos[piece.video], piece.parts, pending)
    if frames_done:
        seconds = time.perf_counter() - work_start
        process = f" (process {rank} of {world})" if world > 1 else ""
        print(f"lp: {frames_done} frames predicted{process} in {seconds:.1f} s from the first frame read to the last "
              f"file written ({frames_done / seconds:.0f} frames/s)")


def join_parts(
    cfg: PredictConfig, models: list[Model], folders: list[Path], info: VideoInfo, parts: int,
    pending: list[tuple[Model, Path]],
) -> None:
    """A cut video's parts, all written, joined into its files as one process would write them
    (the temporal norm and PCA errors over the whole video), then its ensemble."""
    if not pending:
        print(f"lp: {info.path.name}: outputs exist, skipped (--overwrite True to redo)")
    for model, folder in pending:
        result, elapsed = read_parts(folder, info.path.stem, parts)
        if len(result) != info.num_frames:
            raise UserError(f"video {info.path}: its {parts} parts hold {len(result)} frames, not {info.num_frames}")
        write_video_outputs(model, folder, info, result, elapsed, cfg.formats)
    if cfg.ensemble != "none" or cfg.outliers:
        write_ensemble_outputs(cfg, models, folders, info)


@dataclass(frozen=True)
class Piece:
    """Frames start..stop-1 of video `video` (an index into the folder's videos): part `part` of
    the `parts` into which that video is cut (0 of 1: the whole video)."""

    video: int
    start: int
    stop: int
    part: int = 0
    parts: int = 1


SPLIT_SLACK = 1.1
"""Whole videos are shared between processes unless that leaves one process with more than this
times an even share of the frames."""


def part_bounds(num_frames: int, stretch: int, part: int, parts: int) -> tuple[int, int]:
    """Frames [start, stop) of part `part` of `parts`: contiguous shares of the video's stretches
    (whole stretches each, as DALI's sharding reads them: read_frames_dali's part)."""
    stretches = -(-num_frames // stretch)
    return stretches * part // parts * stretch, min(num_frames, stretches * (part + 1) // parts * stretch)


def plan_pieces(
    frame_counts: list[int], world: int, stretches: list[int], splittable: list[bool] | None = None,
) -> list[list[Piece]]:
    """Per process, the pieces of video it predicts. Whole videos, longest first, each to the
    process with the fewest frames so far (share_videos); while that leaves one process more than
    SPLIT_SLACK times an even share, the video whose piece is longest is cut into one more part
    (at most one part per process and per stretch; only videos whose `splittable` is true, default
    all). The same on every process: a function of the frame counts only."""
    parts = [1] * len(frame_counts)
    splittable = [True] * len(frame_counts) if splittable is None else splittable
    even = sum(frame_counts) / max(world, 1)
    best: tuple[int, list[list[Piece]]] | None = None  # (longest share, plan)
    while True:
        pieces = [Piece(video, *part_bounds(count, stretches[video], part, parts[video]), part, parts[video])
                  for video, count in enumerate(frame_counts) for part in range(parts[video])]
        shares = share_videos([piece.stop - piece.start for piece in pieces], world)
        longest_share = max(sum(pieces[i].stop - pieces[i].start for i in share) for share in shares)
        if best is None or longest_share < best[0]:  # a cut that shortens no share is not kept
            best = (longest_share, [[pieces[i] for i in share] for share in shares])
        can_cut = [piece for piece in pieces if splittable[piece.video]
                   and parts[piece.video] < min(world, -(-frame_counts[piece.video] // stretches[piece.video]))]
        if longest_share <= SPLIT_SLACK * even or not can_cut:
            return best[1]
        longest = max(can_cut, key=lambda piece: (piece.stop - piece.start, -piece.video))
        parts[longest.video] += 1


def write_part(folder: Path, stem: str, piece: Piece, result: np.ndarray, elapsed: float) -> None:
    """One part's predictions, kept until the video's parts are joined (read_parts)."""
    def write(tmp: Path) -> None:
        with open(tmp, "wb") as file:
            np.savez(file, result=result, elapsed=elapsed)

    atomic_write(part_path(folder, stem, piece.part, piece.parts), write)


def part_path(folder: Path, stem: str, part: int, parts: int) -> Path:
    return folder / f".{stem}.part{part}of{parts}.npz"


def read_parts(folder: Path, stem: str, parts: int) -> tuple[np.ndarray, float]:
    """The parts' predictions in frame order, and the longest part's time; the part files go."""
    paths = [part_path(folder, stem, part, parts) for part in range(parts)]
    results, elapsed = [], 0.0
    for path in paths:
        with np.load(path) as saved:
            results.append(saved["result"])
            elapsed = max(elapsed, float(saved["elapsed"]))
    for path in paths:
        path.unlink()
    return np.concatenate(results), elapsed


def share_videos(frame_counts: list[int], world: int) -> list[list[int]]:
    """Video indices per process: longest first, each to the process with the fewest frames so
    far (so that no process finishes long after the others); each share in folder order."""
    shares: list[list[int]] = [[] for _ in range(world)]
    loads = [0] * world
    for index in sorted(range(len(frame_counts)), key=lambda i: (-frame_counts[i], i)):
        least = min(range(world), key=lambda r: (loads[r], r))
        shares[least].append(index)
        loads[least] += frame_counts[index]
    return [sorted(share) for share in shares]


def frame_batches(
    info: VideoInfo, batch_size: int, reader: str, device: torch.device, in_order: bool = False,
    start: int = 0, stop: int | None = None,
) -> Iterator[tuple[int, torch.Tensor]]:
    """(first frame index, (B, 3, H, W) uint8) batches covering frames start..stop-1 (default:
    every frame) once: on the GPU from DALI (several decoders, batches of their shares
    interleaved), else pinned host tensors from PyAV decoding in order. Decoding starts now, in a
    background thread, so that building the decoder overlaps whatever the caller does before
    taking the first batch. in_order: one DALI decoder, so that batches come in frame order
    (context models). A range other than the whole video is a part of plan_pieces."""
    stop = info.num_frames if stop is None else stop
    if reader == "dali":
        from lp.data.video_dali import read_frames_dali

        part = (0, 1)
        if (start, stop) != (0, info.num_frames):
            part = find_part(info.num_frames, stretch_length(info.num_frames, batch_size), start, stop)
        batches = prefetch(read_frames_dali(info, batch_size, device, decoders=1 if in_order else 2, part=part), depth=2)
        return ((first, frames.permute(0, 3, 1, 2)) for first, frames in batches)
    batches = read_frames_parallel(info, batch_size, *cpu_decode_plan(stop - start, device), start=start, stop=stop)
    return ((first, frames_to_tensor(batch)) for first, batch in batches)


def find_part(num_frames: int, stretch: int, start: int, stop: int) -> tuple[int, int]:
    """(part, parts) whose part_bounds are [start, stop)."""
    for parts in range(2, -(-num_frames // stretch) + 1):
        for part in range(parts):
            if part_bounds(num_frames, stretch, part, parts) == (start, stop):
                return part, parts
    raise ValueError(f"frames {start}..{stop - 1} of {num_frames} are no part of whole stretches of {stretch}")


def cpu_decode_plan(num_frames: int, device: torch.device) -> tuple[int, int]:
    """(decoders, frames per stretch) for the CPU reader on `num_frames` frames: with the network
    on a GPU, one decoder per core, the frames cut into stretches that give each of them work
    (DECODE_STRETCH_FRAMES). One decoder leaves cores idle in the colour conversion (lp's for
    4:2:0, FFmpeg's for the rest), which FFmpeg's own threads do not reach: 1.3-1.6x the frames/s
    on 2 cores at 1280x720 (bench/cpu_decode.py). With the network on the CPU the cores are its:
    one decoder."""
    if device.type != "cuda":
        return 1, num_frames
    cores = os.cpu_count() or 1
    shortest, longest = DECODE_STRETCH_FRAMES
    stretch = min(longest, max(shortest, -(-num_frames // cores)))
    return max(1, min(cores, -(-num_frames // stretch))), stretch


def predict_video_frames(
    info: VideoInfo, models: list[Model], batch_size: int, reader: str, device: torch.device,
    start: int = 0, stop: int | None = None,
) -> list[np.ndarray]:
    """Every frame (or frames start..stop-1: a part, plan_pieces) through every model -> per model
    (N, K, 3) x, y, likelihood. Results stream into pinned host memory without waiting on the GPU;
    device memory does not grow with N. A short batch is padded to the full batch size so that the
    network sees one shape only. A context model's part is decoded with the two frames on either
    side of it (the CPU reader's range; DALI reads whole stretches: such videos stay whole), so
    that its first and last frames see their neighbours as in the whole video."""
    pin = device.type == "cuda"
    stop = info.num_frames if stop is None else stop
    results = [torch.empty(stop - start, len(m.keypoint_names), 3, pin_memory=pin) for m in models]
    radius = max(model.network.context_frames for model in models) // 2
    if radius and reader == "dali" and (start, stop) != (0, info.num_frames):
        raise ValueError("a context model's part of a video needs the CPU reader (DALI reads whole stretches)")
    first_read, stop_read = max(0, start - radius), min(info.num_frames, stop + radius)
    batches = frame_batches(info, batch_size, reader, device, radius > 0, first_read, stop_read)
    if pin:  # cuDNN's choices and CUDA's lazy kernel loading happen now, while the decoder starts
        blank = torch.zeros(batch_size, 3, info.height, info.width, dtype=torch.uint8, device=device)
        for model in models:
            model.predict_tensor(blank)
    windows = [model.window(first_read, start) for model in models]  # a context model answers 2 frames late

    def keep(result: torch.Tensor, answered: int, keypoints: torch.Tensor) -> None:
        """The answers for frames start..stop-1 (a part's margin frames are answered elsewhere)."""
        keypoints = keypoints[: max(0, stop - answered)]
        result[answered - start : answered - start + len(keypoints)].copy_(keypoints, non_blocking=pin)

    done = 0
    with tqdm(total=stop - start, desc=info.path.name, unit="frame", leave=False) as progress:
        for first, frames in batches:
            count = len(frames)
            if first + count > stop_read or done + count > stop_read - first_read:
                raise UserError(f"video {info.path}: more frames decoded than the container's {info.num_frames}: re-encode it")
            for window, result in zip(windows, results):
                keep(result, *window.push(frames, first, pad_to=batch_size if pin else None))
            done += count
            progress.update(max(0, min(stop, first + count) - max(start, first)))
        if stop_read == info.num_frames:  # the video's last frames, their neighbours held to its end
            for window, result in zip(windows, results):
                keep(result, *window.finish())
    if pin:
        torch.cuda.synchronize(device)
    return [result.numpy().astype(np.float64) for result in results]


def write_video_outputs(
    model: Model, folder: Path, info: VideoInfo, result: np.ndarray, elapsed: float, formats: tuple[str, ...] = ("csv", "h5"),
) -> None:
    """<stem>.csv (and .h5/.nwb/.slp as asked for), <stem>_temporal_norm.csv, <stem>_pca_*_error.csv
    (runs with PCA losses)."""
    stem = info.path.stem
    xy, likelihood = result[..., :2], result[..., 2]
    index = pd.RangeIndex(len(xy), name="frame")
    table = keypoint_table(xy, likelihood, model.keypoint_names, model.name, index)
    write_tables(folder, stem, table, formats)
    if "nwb" in formats:
        from lp.formats import write_nwb

        write_nwb(folder / f"{stem}.nwb", xy, likelihood, model.keypoint_names, info.path, model.name, info.fps, info.width, info.height)
    if "slp" in formats:
        from lp.formats import write_slp

        write_slp(folder / f"{stem}.slp", xy, likelihood, model.keypoint_names, info.path, model.name)
    norm = pd.DataFrame(compute_temporal_norm(xy), columns=model.keypoint_names, index=index)
    write_numeric_csv(folder / f"{stem}_temporal_norm.csv", norm)
    for name, fit in model.pca.items():
        errors, keypoints = compute_pca_errors(fit, xy)
        columns = [model.keypoint_names[i] for i in keypoints]
        write_numeric_csv(folder / f"{stem}_{name}_error.csv", pd.DataFrame(errors, columns=columns, index=index))
    print(
        f"lp: {info.path.name} [{model.name}]: {len(xy)} frames, {info.fps:g} fps, mean likelihood "
        f"{np.nanmean(likelihood):.3f}, {elapsed:.1f} s ({len(xy) / elapsed:.0f} frames/s) -> {folder}"
    )


def ensemble_dir(cfg: PredictConfig) -> Path:
    return Path(cfg.output_dir or Path(cfg.run_dir[0]) / "video_preds") / "ensemble"


def write_ensemble_outputs(cfg: PredictConfig, models: list[Model], folders: list[Path], info: VideoInfo) -> None:
    """The runs' predictions of one video (as written) combined into ensemble/<stem>.csv, and with
    --outliers the frames most worth labeling next."""
    from lp.ensemble import combine, rank_outlier_frames
    from lp.viz.video import read_track

    stem = info.path.stem
    tracks = [read_track(folder / f"{stem}.csv", model.name) for model, folder in zip(models, folders)]
    if len({tuple(track.keypoint_names) for track in tracks}) > 1:
        raise UserError(f"--ensemble: the runs {[m.name for m in models]} predict different keypoints: combine runs of one project")
    xy = np.stack([track.xy for track in tracks])
    likelihood = np.stack([track.likelihood for track in tracks])
    method = cfg.ensemble if cfg.ensemble != "none" else "mean"
    combined = combine(xy, likelihood, method, cfg.smoothing)
    names = tracks[0].keypoint_names
    folder = ensemble_dir(cfg)
    columns = {"x": combined.xy[..., 0], "y": combined.xy[..., 1], "likelihood": combined.likelihood,
               "x_ens_var": combined.ensemble_var[..., 0], "y_ens_var": combined.ensemble_var[..., 1],
               "x_posterior_var": combined.posterior_var[..., 0], "y_posterior_var": combined.posterior_var[..., 1]}
    table = pd.DataFrame(
        np.stack(list(columns.values()), axis=-1).reshape(len(combined.xy), -1),
        columns=pd.MultiIndex.from_product([[f"ensemble_{method}"], names, list(columns)], names=["scorer", "bodyparts", "coords"]),
        index=pd.RangeIndex(len(combined.xy), name="frame"),
    )
    if cfg.ensemble != "none":
        write_tables(folder, stem, table)
        note = f", smoothing {np.round(combined.smoothing, 2).tolist()} px^2/frame" if method == "eks" else ""
        print(f"lp: {info.path.name} [ensemble {method} of {len(models)}]: -> {folder / (stem + '.csv')}{note}")
    if cfg.outliers:
        pca_errors = [compute_pca_errors(fit, combined.xy)[0] for fit in models[0].pca.values()]
        frames, components = rank_outlier_frames(combined.ensemble_var, combined.xy, pca_errors, cfg.outliers)
        write_outlier_frames(folder / "outliers", info, frames, components, combined.xy, names)


def write_outlier_frames(
    folder: Path, info: VideoInfo, frames: np.ndarray, components: dict[str, np.ndarray], xy: np.ndarray,
    names: list[str],
) -> None:
    """labeled-data/<stem>/img<frame>.png for each chosen frame (as displayed), CollectedData_<stem>.csv
    (DeepLabCut's layout, prefilled with the ensemble's keypoints for correcting) and
    <stem>_outliers.csv (each chosen frame's scores)."""
    from PIL import Image

    stem, digits = info.path.stem, len(str(info.num_frames - 1))
    relative = {int(f): f"labeled-data/{stem}/img{int(f):0{digits}d}.png" for f in frames}
    wanted, first = set(relative), 0
    for batch in prefetch(read_frames(info, 64, dali_colors=False)):
        for offset in np.flatnonzero([first + i in wanted for i in range(len(batch))]):
            picture = Image.fromarray(batch[offset])
            atomic_write(folder / relative[first + int(offset)], lambda tmp: picture.save(tmp, format="PNG"))
        first += len(batch)
    labels = pd.DataFrame(
        xy[frames].reshape(len(frames), -1),
        columns=pd.MultiIndex.from_product([["lp-outliers"], names, ["x", "y"]], names=["scorer", "bodyparts", "coords"]),
        index=pd.Index([relative[int(f)] for f in frames]),
    )
    write_csv(folder / f"CollectedData_{stem}.csv", labels)
    scores = pd.DataFrame({name: values[frames] for name, values in components.items()}, index=pd.Index(frames, name="frame"))
    scores.insert(0, "image", [relative[int(f)] for f in frames])
    write_csv(folder / f"{stem}_outliers.csv", scores)
    print(f"lp: {info.path.name}: {len(frames)} frames to label next -> {folder / 'labeled-data' / stem}")


def predict_labeled(cfg: PredictConfig, models: list[Model], folders: list[Path]) -> None:
    """Predictions on the frames of a labels CSV, with their pixel error."""
    csv_path = Path(cfg.videos)
    frames = read_labels(csv_path)
    images = [read_image(csv_path.parent / relative) for relative in frames.image_paths]
    for model, folder in zip(models, folders):
        if len(model.keypoint_names) != frames.num_keypoints:
            raise UserError(
                f"{csv_path} has {frames.num_keypoints} keypoints but run {model.name} predicts "
                f"{len(model.keypoint_names)}: use labels of the same project"
            )
        if model.network.context_frames > 1:
            xy, likelihood = predict_labeled_context(model, csv_path, frames.image_paths, images)
        else:
            xy = np.zeros((len(images), frames.num_keypoints, 2))
            likelihood = np.zeros((len(images), frames.num_keypoints))
            for i, image in enumerate(tqdm(images, desc=csv_path.name, leave=False)):
                xy[i : i + 1], likelihood[i : i + 1] = model.predict_batch(image[None])
        table = keypoint_table(xy, likelihood, model.keypoint_names, model.name, pd.Index(frames.image_paths))
        write_tables(folder, csv_path.stem, table)
        errors = compute_pixel_error(xy, frames.keypoints)
        write_pixel_error_csv(folder / f"{csv_path.stem}_pixel_error.csv", errors, model.keypoint_names,
                              frames.image_paths, ["labeled"] * len(images))
        labeled = errors[np.isfinite(errors)]
        if labeled.size == 0:
            raise UserError(f"{csv_path} has no labeled keypoints to measure pixel error on")
        print(f"lp: {csv_path.name} [{model.name}]: pixel error mean {labeled.mean():.2f}, median "
              f"{np.median(labeled):.2f} over {labeled.size} labeled keypoints -> {folder}")


def predict_labeled_context(
    model: Model, csv_path: Path, image_paths: list[str], images: list[torch.Tensor]
) -> tuple[np.ndarray, np.ndarray]:
    """A context model on labeled frames: each frame with its neighbours, found as in training
    (image files beside it, else <labels folder>/videos/<stem>.*), at the network's input size."""
    from lp.data.context import context_batch, load_context_images, plan_context
    from lp.data.images import resize_to_uint8, scale_to_original

    height, width = model.cfg.data.image_height, model.cfg.data.image_width
    sizes = np.array([(image.shape[2], image.shape[1]) for image in images], dtype=np.float64)
    plan = plan_context(csv_path.parent, image_paths, sizes, [csv_path.parent / "videos"])
    labeled = torch.stack([resize_to_uint8(image[None], height, width)[0] for image in images])
    bank = load_context_images(plan, csv_path.parent, labeled, height, width)
    print(f"lp: {csv_path.name}: {plan.describe()}")
    result = np.zeros((len(images), len(model.keypoint_names), 3))
    rows = torch.from_numpy(plan.rows).long()
    for start in tqdm(range(0, len(images), 16), desc=csv_path.name, leave=False):
        batch, local = context_batch(bank, rows[start : start + 16])
        result[start : start + len(local)] = model.predict_tensor(batch, local).cpu().numpy()
    return scale_to_original(result[..., :2], sizes, height, width), result[..., 2]
