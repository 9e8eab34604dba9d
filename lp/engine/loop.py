"""The training loop. `train` reads top to bottom: `build_run` makes a run's parts (data, model,
losses, optimizer, clip stream, run directory), then one loop over steps calls `train_step` and,
every so often, logs, validates and saves; last, predictions on every labeled frame."""

from __future__ import annotations

import time
from contextlib import nullcontext
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from accelerate import Accelerator
from accelerate.state import AcceleratorState
from accelerate.utils import broadcast_object_list, set_seed
from torch.profiler import record_function
from tqdm import tqdm

from lp.config import OptimConfig, TrainConfig
from lp.cli import dump_config
from lp.data.augment import Augmenter, flip_permutation, to_device
from lp.data.batch import ClipBatch, ClipPredictions, LabeledBatch
from lp.data.context import CENTRE, clip_context
from lp.data.heatmaps import compute_heatmaps
from lp.data.labeled import LabeledData, load_labeled_data
from lp.data.unlabeled import ClipStream, clips_to_original
from lp.engine.distributed import run_all_or_none
from lp.engine.checkpoint import (
    BestWeights, TrainState, export_model, exported_model_path, load_exported, resumable_state, save_resumable_state,
)
from lp.engine.evaluate import predict_images
from lp.engine.graph import StepGraph
from lp.engine.sampler import BatchSampler
from lp.engine.schedule import backbone_trainable, compute_lr, set_learning_rate
from lp.errors import UserError
from lp.io import atomic_write_text, make_run_dir, write_pixel_error_csv, write_predictions_csv
from lp.losses import LossBundle, fit_unsupervised
from lp.models.pca import save_fitted
from lp.metrics import compute_pixel_error, summarize_pixel_error
from lp.models import AUTOCAST_DTYPES, PoseModel, build_model
from lp.models.batchnorm import set_shared, share_batch_statistics
from lp.models.heads import HEADS
from lp.viz.draw import draw_labels_and_predictions

PRECISION = {"fp32": "no", "bf16": "bf16", "fp16": "fp16"}


@dataclass
class TrainResult:
    run_dir: Path
    pixel_error: dict[str, dict[str, float]]
    """Mean / median / count of the pixel error per split, from the exported best model."""
    step_times_s: list[float]
    """Wall-clock time after each step of this session (the last one after a device sync)."""
    paused_s: list[float]
    """Seconds spent validating and saving up to each step (cumulative; the GPU finishes the steps
    before each pause is timed), so that step_times_s less these is training time alone."""
    last_weights: dict[str, torch.Tensor]
    """This process's weights after the last step (CPU copy), before the best model is loaded
    for the final predictions: with several processes they must be identical on every one."""


def train(cfg: TrainConfig) -> TrainResult:
    # train() may run several times in one process (notebooks, benchmarks), each with its own
    # precision; Accelerate keeps the first one's unless its shared state is cleared (the
    # process-group part, PartialState, is kept).
    AcceleratorState._reset_state()
    # cpu=True on machines without a GPU lets `accelerate launch` start gloo processes there too.
    accelerator = Accelerator(mixed_precision=PRECISION[cfg.train.precision], cpu=not torch.cuda.is_available())
    # an error on one process ends them all, instead of leaving the others waiting in a collective
    return run_all_or_none(lambda: train_run(cfg, accelerator), accelerator.process_index, accelerator.num_processes)


def train_run(cfg: TrainConfig, accelerator: Accelerator) -> TrainResult:
    run = build_run(cfg, accelerator)
    state, max_steps, is_main = run.state, cfg.train.max_steps, accelerator.is_main_process
    has_val = len(run.data.split["val"]) > 0
    running: dict[str, torch.Tensor] = {}
    running_steps, last_log, paused_s = 0, time.perf_counter(), 0.0
    step_times: list[float] = []
    pauses: list[float] = []
    progress = tqdm(range(state.step, max_steps), initial=state.step, total=max_steps, disable=not is_main, desc="training")
    run.model.train()
    for step in progress:
        terms = train_step(run, step)
        for name, value in terms.items():
            running[name] = running.get(name, 0) + value
        state.step, running_steps = step + 1, running_steps + 1
        last = state.step == max_steps

        if state.step % cfg.train.log_every_steps == 0 or last:
            values = {name: (value / running_steps).item() for name, value in running.items()}
            images_per_s = running_steps * run.frames_per_step / (time.perf_counter() - last_log - paused_s)
            if is_main:
                for name, value in values.items():
                    run.writer.add_scalar(f"train/{name}", value, state.step)
                run.writer.add_scalar("train/lr", compute_lr(cfg.optim, step, max_steps), state.step)
                run.writer.add_scalar("train/images_per_s", images_per_s, state.step)
                progress.set_postfix(loss=f"{values['total']:.4g}", img_s=f"{images_per_s:.0f}")
            running, running_steps, last_log, paused_s = {}, 0, time.perf_counter(), 0.0
        validating = has_val and (state.step % cfg.eval.val_every_steps == 0 or last)
        saving = state.step % cfg.train.checkpoint_every_steps == 0 or last
        pause = 0.0
        if validating or saving:  # images/s counts training only, not these pauses
            if accelerator.device.type == "cuda":
                torch.cuda.synchronize(accelerator.device)  # the steps' own GPU work counts as training
            pause_start = time.perf_counter()
            if validating:
                validate(run, state.step)
            if saving:
                save_checkpoint(run)
            pause = time.perf_counter() - pause_start
        paused_s += pause
        pauses.append(pause + (pauses[-1] if pauses else 0.0))
        step_times.append(time.perf_counter())
    if accelerator.device.type == "cuda":
        torch.cuda.synchronize(accelerator.device)
    if step_times:
        step_times[-1] = time.perf_counter()
    progress.close()
    last_weights = {name: value.detach().cpu().clone() for name, value in run.network.state_dict().items()}

    # Predictions on every labeled frame with the best model (the last one without a val split).
    accelerator.wait_for_everyone()  # the main process has written the exported models
    chosen = exported_model_path(run.run_dir)
    run.network.load_state_dict(load_exported(chosen)[0])
    summary = write_labeled_predictions(
        run.network, run.data, run.images, run.run_dir, cfg.eval.batch_size, accelerator, AUTOCAST_DTYPES[cfg.train.precision]
    )
    if is_main:
        run.writer.close()
        print_summary(summary, chosen)
    accelerator.wait_for_everyone()
    accelerator.end_training()
    return TrainResult(run.run_dir, summary, step_times, pauses, last_weights)


@dataclass
class Run:
    """The parts of one training run, made by build_run and used by train_step, validate and
    save_checkpoint."""

    cfg: TrainConfig
    accelerator: Accelerator
    data: LabeledData
    images: torch.Tensor
    """(N, 3, H, W) uint8: every labeled image, resized, on the device."""
    model: torch.nn.Module
    """The network as prepared by Accelerate (wrapped for several processes)."""
    network: PoseModel
    """The network itself (state dicts, keypoints)."""
    losses: LossBundle
    optimizer: torch.optim.Optimizer
    stream: ClipStream | None
    run_dir: Path
    writer: object | None
    """TensorBoard SummaryWriter on the main process, else None."""
    host_batch: Callable[[int], np.ndarray]
    """micro-step -> this process's frame indices and augmentation numbers (host)."""
    device_batch: Callable[[torch.Tensor], LabeledBatch]
    """host_batch's numbers, on the device -> the augmented labeled batch with its targets."""
    forward_terms: Callable[[LabeledBatch, ClipBatch | None], dict[str, torch.Tensor]]
    """The labeled frames and the clips through the network (a pass each), then every raw loss term."""
    channels_last: bool
    compiled: bool
    graph: StepGraph | None
    """Compiled: the steps as captured CUDA graphs (lp.engine.graph), instead of ordinary_step."""
    frames_per_step: int
    """Labeled + unlabeled frames through the network per optimizer step, over all processes."""
    state: TrainState = field(default_factory=TrainState)
    best: BestWeights = field(default_factory=BestWeights)

    def make_batch(self, micro_step: int) -> LabeledBatch:
        """micro-step -> this process's augmented labeled batch with its targets, on the device."""
        return self.device_batch(to_device(self.host_batch(micro_step), self.accelerator.device))


def train_step(run: Run, step: int) -> dict[str, torch.Tensor]:
    """One optimizer step (its micro-steps accumulated): learning rate and backbone freeze for
    `step`, forward, losses, backward, update. Returns the detached terms, averaged over micro-steps."""
    cfg = run.cfg
    lr = compute_lr(cfg.optim, step, cfg.train.max_steps)
    trainable = backbone_trainable(step, cfg.train.freeze_backbone_steps)
    run.network.backbone.train(trainable)  # and fixed batch-norm statistics
    if run.graph is not None:  # the same work, replayed as CUDA graphs
        return run.graph.step(run, step, lr, trainable)
    return ordinary_step(run, step, lr, trainable)


def ordinary_step(run: Run, step: int, lr: float, trainable: bool) -> dict[str, torch.Tensor]:
    """train_step's work without graphs, launched piece by piece: micro-steps accumulated, the
    gradients all-reduced by DDP with several processes."""
    accum = run.cfg.train.grad_accum_steps
    set_learning_rate(run.optimizer, lr, trainable)
    terms: dict[str, torch.Tensor] = {}
    for micro in range(accum):
        if run.compiled:
            torch.compiler.cudagraph_mark_step_begin()
        # the labels name the stages in a profile (bench/profile_step.py); nearly free otherwise
        with record_function("stage: labeled batch"):
            batch = run.make_batch(step * accum + micro)
        with record_function("stage: clips"):
            clips = run.stream.next(step * accum + micro) if run.stream is not None else None
        with nullcontext() if micro == accum - 1 else run.accelerator.no_sync(run.model):
            with record_function("stage: network and losses"):
                loss, micro_terms = run.losses.combine(run.forward_terms(batch, clips), run.losses.ramp_at(step))
            with record_function("stage: backward"):
                run.accelerator.backward(loss / accum)
        for name, value in micro_terms.items():
            terms[name] = terms.get(name, 0) + value / accum
    with record_function("stage: optimizer"):
        run.optimizer.step()
        run.optimizer.zero_grad(set_to_none=True)
    return terms


def build_run(cfg: TrainConfig, accelerator: Accelerator) -> Run:
    """Data, model, losses, optimizer, clip stream and run directory, on every process."""
    device, rank, world = accelerator.device, accelerator.process_index, accelerator.num_processes
    is_main = accelerator.is_main_process
    if cfg.train.batch_size % (cfg.train.grad_accum_steps * world):
        raise UserError(
            f"--train.batch-size {cfg.train.batch_size} must be divisible by --train.grad-accum-steps "
            f"({cfg.train.grad_accum_steps}) times the number of processes ({world})"
        )
    resume_dir = cfg.run.resume_from
    if resume_dir is not None and resumable_state(resume_dir) is None:
        raise UserError(
            f"--run.resume-from {resume_dir}: the run stopped before its first checkpoint (state/ is written every "
            f"--train.checkpoint-every-steps {cfg.train.checkpoint_every_steps} steps), so there is nothing to resume: "
            f"train again with --run.output-dir {resume_dir}"
        )

    # Data: every labeled image (and, for a context head, its neighbours) decoded once and kept on the device.
    context_dirs = None
    if HEADS[cfg.model.head].context_frames > 1:
        context_dirs = [Path(cfg.data.video_dir or Path(cfg.data.data_dir) / "videos")]
        context_dirs += [Path(cfg.unlabeled.video_dir)] if cfg.unlabeled.video_dir is not None else []
    data = load_labeled_data(cfg.data, context_dirs)
    names = data.frames.keypoint_names
    try:
        augment = Augmenter(
            cfg.data.augmentation, *data.image_hw, flip_permutation(names, cfg.data.flip_pairs), device=device
        )
    except ValueError as error:
        raise UserError(str(error)) from None

    # Model, losses, optimizer.
    set_seed(cfg.run.seed)  # the same initial weights on every process
    model = build_model(cfg.model, len(names), data.image_hw)
    channels_last = cfg.train.channels_last and device.type == "cuda"
    if cfg.train.sync_batchnorm and world > 1:
        if device.type != "cuda":
            raise UserError("--train.sync-batchnorm True needs GPUs (PyTorch's SyncBatchNorm has no CPU version)")
        model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
    if cfg.losses.unsupervised:  # the clips normalised with the labeled frames' statistics
        share_batch_statistics(model)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    # Unsupervised losses: PCA subspaces fitted once on the training labels (original-frame
    # pixels) by the main process and shared, so that every process uses identical numbers.
    fitted = fit_unsupervised(cfg.losses, data.frames.keypoints[data.split["train"]], names) if is_main else None
    fitted = broadcast_object_list([fitted])[0] if world > 1 else fitted
    losses = LossBundle(cfg.losses, cfg.model, fitted).to(device)
    optimizer = build_optimizer(cfg.optim, model, device)
    model, optimizer = accelerator.prepare(model, optimizer)
    network = accelerator.unwrap_model(model)
    compiled = cfg.train.compile and device.type == "cuda"
    # the whole step as graphs: no accumulation, no fp16 loss scaling (its overflow check waits
    # for the GPU), no SyncBatchNorm (its collectives would sit inside the graphs)
    whole_step = compiled and cfg.train.grad_accum_steps == 1 and cfg.train.precision != "fp16" and not (
        cfg.train.sync_batchnorm and world > 1)
    compile_mode = None if not compiled else "default" if whole_step else "reduce-overhead"
    state = TrainState()
    accelerator.register_for_checkpointing(state)
    if resume_dir is not None:
        accelerator.load_state(str(resumable_state(resume_dir)))
        for group in optimizer.param_groups:  # as a whole-step graph left them: made again at its capture
            group["lr"], group["capturable"] = float(group["lr"]), False
        if is_main:
            print(f"lp: resuming {resume_dir} from step {state.step} of {cfg.train.max_steps}")
    stream = None
    if losses.needs_clips:
        stream = ClipStream(
            cfg.unlabeled, data.image_hw, device, rank, world, cfg.run.seed,
            state.step * cfg.train.grad_accum_steps, cfg.data.augmentation,
        )
    elif cfg.unlabeled.video_dir is not None and is_main:
        print(f"lp: --unlabeled.video-dir {cfg.unlabeled.video_dir} is not used: no unsupervised loss is enabled")

    # Run directory: new, or the one being resumed (the same path on every process).
    if resume_dir is not None:
        run_dir = Path(resume_dir)
    else:
        run_dir = make_run_dir(cfg.run.output_dir) if is_main else None
        run_dir = Path(broadcast_object_list([str(run_dir)])[0]) if world > 1 else run_dir
    writer = None
    if is_main:
        saved_cfg = replace(cfg, run=replace(cfg.run, output_dir=run_dir, resume_from=None))
        atomic_write_text(run_dir / "config.yaml", dump_config(saved_cfg))
        if fitted:  # part of the trained model: predict.py reports each frame's PCA errors with them
            save_fitted(run_dir / "pca.npz", fitted)
        from torch.utils.tensorboard import SummaryWriter

        writer = SummaryWriter(str(run_dir / "tensorboard"), purge_step=state.step or None)
        print(
            f"lp: {len(names)} keypoints, {len(data.split['train'])}/{len(data.split['val'])}/{len(data.split['test'])}"
            f" train/val/test frames, {cfg.model.backbone.arch} {cfg.model.head} on {device}"
            f" ({world} process{'es' * (world > 1)}, {cfg.train.precision}) -> {run_dir}"
        )
        if notice := data.resolution_notice():
            print(f"lp: {notice}")
        if data.context_summary:
            print(f"lp: {data.context_summary}")
        if stream is not None:
            print(f"lp: {stream.describe()}")
            for name, fit in fitted.items():
                print(f"lp: {name}: {fit.subspace.basis.shape[1]} components, margin {fit.epsilon_px:.2f} px")

    frames_per_step = cfg.train.batch_size
    if stream is not None:
        frames_per_step += world * cfg.train.grad_accum_steps * cfg.unlabeled.clips_per_step * cfg.unlabeled.clip_length
    images = data.images.to(device)
    host_batch, device_batch = build_batch_pipeline(cfg, data, images, augment, losses, accelerator, channels_last, compile_mode)
    # the graphs all-reduce the gradients themselves: the network is called directly, not through DDP
    forward_terms = build_forward(
        cfg, network if whole_step else model, network, losses, data.image_hw, channels_last, compile_mode)
    return Run(cfg, accelerator, data, images, model, network, losses, optimizer, stream, run_dir, writer, host_batch,
               device_batch, forward_terms, channels_last, compiled, StepGraph(world) if whole_step else None,
               frames_per_step, state)


def build_batch_pipeline(
    cfg: TrainConfig, data: LabeledData, images: torch.Tensor, augment: Augmenter, losses: LossBundle,
    accelerator: Accelerator, channels_last: bool, compile_mode: str | None,
) -> tuple[Callable[[int], np.ndarray], Callable[[torch.Tensor], LabeledBatch]]:
    """(host part, device part) of making a LabeledBatch: frame indices and augmentation
    parameters drawn on the host (one small asynchronous copy), then picking, augmenting and
    heatmap targets on the device; compiled with `compile_mode` (None: not compiled)."""
    device, rank, world = accelerator.device, accelerator.process_index, accelerator.num_processes
    micro_batch_global = cfg.train.batch_size // cfg.train.grad_accum_steps
    sampler = BatchSampler(data.split["train"], cfg.run.seed)
    keypoints = data.keypoints.to(device)
    context = None if data.context is None else data.context.to(device)
    frames = 1 if context is None else context.shape[1]

    def host_batch(micro_step: int) -> np.ndarray:
        """(b, 1 + columns) float32: frame indices, then the augmentation parameters."""
        indices = sampler.batch(micro_step, micro_batch_global, rank, world).astype(np.float32)[:, None]
        # Parameters are drawn for the whole global batch and sliced, so that any number of
        # processes augments every frame of a step exactly as one process would.
        table = augment.sample(micro_batch_global, np.random.default_rng([cfg.run.seed, micro_step]))
        if table is None:
            return indices
        return np.concatenate([indices, table[rank * len(indices) : (rank + 1) * len(indices)]], axis=1)

    def device_parts(packed: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        indices = packed[:, 0].long()
        if context is None:
            batch_images, batch_keypoints = augment.apply(images[indices].float() / 255, keypoints[indices], packed[:, 1:])
            rows = None
        else:  # each frame's neighbours get the frame's own augmentation
            neighbours = context[indices]
            batch_images, batch_keypoints = augment.apply(
                images[neighbours.flatten()].float() / 255, keypoints[indices].repeat_interleave(frames, 0),
                packed[:, 1:].repeat_interleave(frames, 0),
            )
            batch_keypoints = batch_keypoints[CENTRE::frames]
            rows = torch.arange(len(batch_images), device=packed.device).view(-1, frames)
            # a neighbour that is the frame itself (none was found) names the frame's own row, so
            # that the head sees a frame without context as such
            rows = torch.where(neighbours == neighbours[:, CENTRE, None], rows[:, CENTRE, None], rows)
        heatmaps = None
        if losses.needs_heatmaps:
            heatmaps = compute_heatmaps(
                batch_keypoints, data.image_hw, cfg.model.heatmap_downsample, cfg.model.heatmap_sigma_px
            )
        if channels_last:
            batch_images = batch_images.contiguous(memory_format=torch.channels_last)
        return batch_images, batch_keypoints, heatmaps, rows

    if compile_mode is not None:  # reduce-overhead: the batch pipeline becomes one CUDA-graph replay
        device_parts = torch.compile(device_parts, mode=compile_mode)
    return host_batch, lambda packed: LabeledBatch(*device_parts(packed))


def build_forward(
    cfg: TrainConfig, model: torch.nn.Module, network: PoseModel, losses: LossBundle, image_hw: tuple[int, int],
    channels_last: bool, compile_mode: str | None,
) -> Callable[[LabeledBatch, ClipBatch | None], dict[str, torch.Tensor]]:
    """(labeled batch, clips or None) -> every raw loss term: the clips normalised with the labeled
    frames' batch statistics (lp.models.batchnorm says why), in one pass over [labeled; clips]
    where the head predicts each frame from itself and batch norm is local to the process, else in
    a pass of their own after the labeled frames'. Compiled (`compile_mode`) as one piece: the
    passes, the clips' keypoints and every loss term; in reduce-overhead mode one CUDA graph (and
    one for backward), else the kernels that lp.engine.graph captures with the rest of the step."""
    norms = [layer for layer in network.modules() if hasattr(layer, "shared")]
    # a single-frame head's batches carry no context, so its rows are [labeled; clips] in every layer
    one_pass = network.context_frames == 1 and not any(isinstance(layer, torch.nn.SyncBatchNorm) for layer in norms)

    def forward_terms(batch: LabeledBatch, clips: ClipBatch | None) -> dict[str, torch.Tensor]:
        if clips is None:
            set_shared(norms, "off")
            return losses.raw_terms(model(batch.images, batch.context), batch, None)
        clip_images = clips.images.contiguous(memory_format=torch.channels_last) if channels_last else clips.images
        if one_pass:
            labeled = len(batch.images)
            set_shared(norms, "split", labeled)
            both = model(torch.cat([batch.images, clip_images]))
            outputs, clip_outputs = both[:labeled], both[labeled:]
        else:
            set_shared(norms, "record")
            outputs = model(batch.images, batch.context)
            set_shared(norms, "replay")
            # clip frames see their clip's neighbours, where the labeled frames had theirs: context
            # weights shaped by the unsupervised losses alone would be tied to no label
            if network.context_frames > 1 and batch.context is not None:
                length = len(clips.images) // clips.num_clips
                clip_outputs = model(clip_images, clip_context(clips.num_clips, length, 0, clip_images.device))
            else:
                clip_outputs = model(clip_images)
        set_shared(norms, "off")
        xy_px, confidence = network.keypoints(clip_outputs)
        predicted = ClipPredictions(
            clip_outputs, xy_px, clips_to_original(xy_px, clips, image_hw),
            confidence.unflatten(0, (clips.num_clips, -1)), cfg.model.heatmap_downsample, cfg.model.heatmap_sigma_px,
        )
        return losses.raw_terms(outputs, batch, predicted)

    return forward_terms if compile_mode is None else torch.compile(forward_terms, mode=compile_mode)


def validate(run: Run, step: int) -> None:
    """Validation pixel error (original pixels) to TensorBoard, with a few drawn frames; keeps the
    best weights so far."""
    data, val = run.data, run.data.split["val"]
    dtype = AUTOCAST_DTYPES[run.cfg.train.precision]
    xy, _ = predict_images(run.network, run.images, run.cfg.eval.batch_size, run.accelerator, dtype, val, run.data.context)
    errors = compute_pixel_error(data.to_original(xy, val), data.frames.keypoints[val])
    val_px = float(np.nanmean(errors)) if np.isfinite(errors).any() else float("nan")
    if run.writer is not None:
        run.writer.add_scalar("val/pixel_error", val_px, step)
        for i, frame in enumerate(val[: run.cfg.eval.tensorboard_images]):
            picture = draw_labels_and_predictions(data.images[frame], data.keypoints[frame].numpy(), xy[i])
            run.writer.add_image(f"val/frame_{frame}", picture, step)
    if val_px < run.state.best_val_px:
        run.state.best_val_px, run.state.best_step = val_px, step
        run.best.update(run.network)


def save_checkpoint(run: Run) -> None:
    """Resumable state (every process takes part), and the exported last and best models."""
    save_resumable_state(run.accelerator, run.run_dir)
    if run.accelerator.is_main_process:
        names, state = run.data.frames.keypoint_names, run.state
        export_model(run.run_dir / "model_last.safetensors", run.network.state_dict(), names, state.step, state.best_val_px)
        run.best.save(run.run_dir / "model_best.safetensors", names, state.best_step, state.best_val_px)


def build_optimizer(cfg: OptimConfig, model: torch.nn.Module, device: torch.device) -> torch.optim.Optimizer:
    """Adam or AdamW over two groups (backbone, head), fused into one kernel on GPUs."""
    optimizer_class = torch.optim.AdamW if cfg.optimizer == "adamw" else torch.optim.Adam
    return optimizer_class(
        [{"params": model.backbone.parameters()}, {"params": model.head.parameters()}],
        lr=cfg.lr,
        weight_decay=cfg.weight_decay,
        fused=device.type == "cuda",
    )


def write_labeled_predictions(
    network, data: LabeledData, images: torch.Tensor, run_dir: Path, batch_size: int, accelerator: Accelerator,
    dtype: torch.dtype | None,
) -> dict[str, dict[str, float]]:
    """predictions.csv and pixel_error.csv for every labeled frame, in original image pixels."""
    xy, confidence = predict_images(network, images, batch_size, accelerator, dtype, None, data.context)
    original = data.to_original(xy)
    errors = compute_pixel_error(original, data.frames.keypoints)
    splits = data.split_of_frame
    if accelerator.is_main_process:
        frames = data.frames
        write_predictions_csv(
            run_dir / "predictions.csv", original, confidence, frames.keypoint_names, frames.scorer, frames.image_paths, splits
        )
        write_pixel_error_csv(run_dir / "pixel_error.csv", errors, frames.keypoint_names, frames.image_paths, splits)
    return summarize_pixel_error(errors, splits)


def print_summary(summary: dict[str, dict[str, float]], model_path: Path) -> None:
    print(f"pixel error of {model_path} on labeled frames (original image pixels):")
    print(f"  {'split':<7} {'mean':>8} {'median':>8} {'keypoints':>10}")
    for split, values in summary.items():
        print(f"  {split:<7} {values['mean']:>8.2f} {values['median']:>8.2f} {values['count']:>10d}")
