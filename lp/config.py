"""The whole configuration tree of a training run, as typed dataclasses.

tyro turns every field's docstring into `python train.py --help`; this file is the reference
manual. Defaults live here once. `__post_init__` only validates and names the flag to change.
This module imports no torch so that `--help` is instant.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import io
import re
import sys
import types
import typing
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import yaml

from lp.errors import UserError

BackboneArch = Literal[
    "resnet18",
    "resnet34",
    "resnet50",
    "resnet101",
    "resnet152",
    "efficientnet_b0",
    "efficientnet_b1",
    "efficientnet_b2",
]
HeadKind = Literal["heatmap", "regression"]
AugmentationPreset = Literal["none", "default", "dlc"]


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ValueError(message)


@dataclass(kw_only=True)
class RunConfig:
    """Where a run writes and how it starts."""

    output_dir: Path | None = None
    """Run directory. Default: outputs/YYYY-MM-DD/HH-MM-SS under the current directory."""
    resume_from: Path | None = None
    """A run directory written by an earlier `train.py`: continue it at the step where it stopped,
    with its saved config.yaml (flags given now override it). The run keeps writing there."""
    seed: int = 0
    """Seed for model initialisation, batch order and augmentation."""


@dataclass(kw_only=True)
class DataConfig:
    """Labeled frames: where they are, how they are split, resized and augmented."""

    data_dir: Path = Path("data/mirror-mouse-example")
    """Project folder holding the labels CSV; image paths in the CSV are relative to it."""
    csv_file: str = "CollectedData.csv"
    """Labels file inside data_dir, DeepLabCut style (scorer / bodyparts / coords header rows)."""
    image_height: int = 256
    """Height in pixels every frame is resized to before the network; a multiple of 32."""
    image_width: int = 256
    """Width in pixels every frame is resized to before the network; a multiple of 32."""
    val_fraction: float = 0.1
    """Fraction of labeled frames held out for validation (model selection)."""
    test_fraction: float = 0.1
    """Fraction of labeled frames held out for the final test error."""
    split_seed: int = 0
    """Seed of the train/val/test split; the same seed always gives the same split."""
    train_frames: int | None = None
    """Use only this many training frames (a fixed subset of the train split). Default: all."""
    augmentation: AugmentationPreset = "default"
    """Augmentation preset: none; default (rotation, scale/translate, blur, brightness/contrast);
    dlc (stronger, DeepLabCut-like)."""
    flip_pairs: tuple[tuple[str, str], ...] = ()
    """Keypoint name pairs swapped by a horizontal flip (e.g. left/right paws). Empty: no flips."""
    skeleton: tuple[tuple[str, str], ...] = ()
    """Keypoint name pairs joined by a line when browsing frames in FiftyOne (render.py frames)."""

    def __post_init__(self) -> None:
        for name, value in (("image-height", self.image_height), ("image-width", self.image_width)):
            _check(value >= 32 and value % 32 == 0, f"--data.{name} must be a positive multiple of 32, got {value}")
        _check(0 <= self.val_fraction < 1, f"--data.val-fraction must be in [0, 1), got {self.val_fraction}")
        _check(0 <= self.test_fraction < 1, f"--data.test-fraction must be in [0, 1), got {self.test_fraction}")
        _check(
            self.val_fraction + self.test_fraction < 1,
            "--data.val-fraction plus --data.test-fraction must leave frames for training",
        )
        _check(
            self.train_frames is None or self.train_frames > 0,
            f"--data.train-frames must be positive, got {self.train_frames}",
        )


@dataclass(kw_only=True)
class BackboneConfig:
    """Feature extractor."""

    arch: BackboneArch = "resnet50"
    """Backbone architecture (torchvision)."""
    weights: str = "none"
    """Initial weights: none (random), imagenet (torchvision's weights, downloaded once when
    online), or a path to a torchvision state dict (.pth or .safetensors)."""


@dataclass(kw_only=True)
class ModelConfig:
    """Network: backbone plus head."""

    backbone: BackboneConfig = field(default_factory=BackboneConfig)
    head: HeadKind = "heatmap"
    """heatmap: upsampling head and subpixel soft-argmax; regression: pooled features to (x, y)."""
    heatmap_downsample: int = 2
    """Heatmap side = image side / 2**heatmap_downsample (0 to 5)."""
    heatmap_sigma_px: float = 1.25
    """Standard deviation of the Gaussian target, in heatmap pixels."""

    def __post_init__(self) -> None:
        _check(
            0 <= self.heatmap_downsample <= 5,
            f"--model.heatmap-downsample must be in 0..5, got {self.heatmap_downsample}",
        )
        _check(self.heatmap_sigma_px > 0, f"--model.heatmap-sigma-px must be > 0, got {self.heatmap_sigma_px}")


@dataclass(kw_only=True)
class UnlabeledConfig:
    """Unlabeled videos for the semi-supervised losses: clips of consecutive frames every step."""

    video_dir: Path | None = None
    """Folder of unlabeled videos (mp4, avi, mov, mkv). Default: none (supervised training only).
    Needed when an unsupervised loss is enabled."""
    clip_length: int = 16
    """Consecutive frames per clip."""
    clips_per_step: int = 1
    """Clips per step on each process (frames per step per process: clips_per_step * clip_length)."""
    reader: Literal["auto", "dali", "cpu"] = "auto"
    """auto: NVIDIA DALI (GPU decoding) on a GPU where DALI is installed, else the CPU reader (PyAV);
    dali or cpu: force one."""
    shuffle: bool = False
    """False: clips follow each other through the videos (every frame decoded once; each process
    takes every n-th clip). True: clips come from stretches of up to 256 consecutive frames that
    start at random frames (one seek per stretch; consecutive steps take consecutive clips)."""
    augment: bool = False
    """Augment each clip (one random transform for the whole clip; predictions are mapped back to
    original-frame pixels before any loss)."""

    def __post_init__(self) -> None:
        _check(self.clip_length >= 2, f"--unlabeled.clip-length must be >= 2, got {self.clip_length}")
        _check(self.clips_per_step >= 1, f"--unlabeled.clips-per-step must be >= 1, got {self.clips_per_step}")


@dataclass(kw_only=True)
class TemporalLossConfig:
    """Temporal smoothness on unlabeled clips."""

    enabled: bool = False
    """Add the temporal loss (needs --unlabeled.video-dir)."""
    weight: float = 0.005
    """Weight of the loss (pixels) relative to the supervised heatmap loss (about 0.01 to 0.05)."""
    epsilon_px: float = 20.0
    """Margin: frame-to-frame movement below this many original-frame pixels costs nothing."""
    min_confidence: float = 0.05
    """Keypoints predicted with lower confidence in either frame are ignored."""


@dataclass(kw_only=True)
class PcaSingleviewLossConfig:
    """Pose PCA: predicted poses should lie in the subspace of the training labels."""

    enabled: bool = False
    """Add the Pose PCA loss (needs --unlabeled.video-dir)."""
    weight: float = 0.005
    """Weight of the loss (pixels) relative to the supervised heatmap loss."""
    epsilon_px: float | None = None
    """Margin in original-frame pixels. Default: the 99th percentile of the training labels' own
    reprojection errors."""
    variance_fraction: float = 0.99
    """Keep the fewest components explaining this fraction of the labels' variance..."""
    components: int | None = None
    """...or exactly this many components."""
    keypoints: tuple[int, ...] = ()
    """Indices of the keypoints in the pose vector (e.g. leave out objects that move on their own).
    Default: all."""

    def __post_init__(self) -> None:
        _check(
            0 < self.variance_fraction <= 1,
            f"--losses.pca-singleview.variance-fraction must be in (0, 1], got {self.variance_fraction}",
        )
        _check(
            self.components is None or self.components > 0,
            f"--losses.pca-singleview.components must be positive, got {self.components}",
        )


@dataclass(kw_only=True)
class PcaMultiviewLossConfig:
    """Multi-view PCA: the same body part in every view must be consistent with one 3-D point."""

    enabled: bool = False
    """Add the multi-view PCA loss (needs --unlabeled.video-dir and --losses.pca-multiview.views)."""
    weight: float = 0.005
    """Weight of the loss (pixels) relative to the supervised heatmap loss."""
    epsilon_px: float | None = None
    """Margin in original-frame pixels. Default: the 99th percentile of the training labels' own
    reprojection errors."""
    views: tuple[tuple[int, ...], ...] = ()
    """Keypoint indices per view, in the same body-part order in each view, e.g. mirrored top and
    bottom views: ((0, 1, 2), (8, 9, 10))."""

    def __post_init__(self) -> None:
        _check(
            len({len(view) for view in self.views}) <= 1,
            "--losses.pca-multiview.views must list the same number of keypoints in every view",
        )


@dataclass(kw_only=True)
class UnimodalLossConfig:
    """Unimodal heatmaps: each map should be one Gaussian bump at its own soft-argmax."""

    enabled: bool = False
    """Add the unimodal loss on unlabeled frames (heatmap head only; needs --unlabeled.video-dir)."""
    weight: float = 1.0
    """Weight of the loss relative to the supervised heatmap loss."""
    kind: Literal["mse", "kl"] = "mse"
    """Distance to the ideal map: mse or kl."""


@dataclass(kw_only=True)
class LossesConfig:
    """Loss terms and their weights."""

    heatmap: Literal["mse", "kl", "js"] = "mse"
    """Supervised loss of the heatmap head: mse, kl (Kullback-Leibler) or js (Jensen-Shannon)."""
    supervised_weight: float = 1.0
    """Weight of the supervised term (the regression head always uses MSE in pixels)."""
    temporal: TemporalLossConfig = field(default_factory=TemporalLossConfig)
    pca_singleview: PcaSingleviewLossConfig = field(default_factory=PcaSingleviewLossConfig)
    pca_multiview: PcaMultiviewLossConfig = field(default_factory=PcaMultiviewLossConfig)
    unimodal: UnimodalLossConfig = field(default_factory=UnimodalLossConfig)
    unsupervised_start_steps: int = 0
    """Warm-up: the unsupervised weights are 0 before this step..."""
    unsupervised_full_steps: int = 0
    """...and ramp linearly to their full value at this step."""

    @property
    def unsupervised(self) -> dict:
        """The enabled unsupervised blocks by name."""
        blocks = {name: getattr(self, name) for name in UNSUPERVISED_LOSSES}
        return {name: block for name, block in blocks.items() if block.enabled and block.weight > 0}

    def __post_init__(self) -> None:
        _check(
            self.unsupervised_full_steps >= self.unsupervised_start_steps >= 0,
            "--losses.unsupervised-full-steps must be >= --losses.unsupervised-start-steps >= 0",
        )


UNSUPERVISED_LOSSES = ("temporal", "pca_singleview", "pca_multiview", "unimodal")
"""Names of the unsupervised loss blocks in LossesConfig; lp.losses.UNSUPERVISED must match."""


@dataclass(kw_only=True)
class OptimConfig:
    """Optimizer and learning-rate schedule (pure functions of the step)."""

    optimizer: Literal["adam", "adamw"] = "adam"
    """Optimizer."""
    lr: float = 1e-3
    """Peak learning rate."""
    weight_decay: float = 0.0
    """Weight decay (decoupled for adamw)."""
    scheduler: Literal["multistep", "cosine"] = "multistep"
    """multistep: multiply by gamma at each milestone; cosine: decay to zero at max_steps."""
    milestone_fractions: tuple[float, ...] = (0.5, 0.75, 0.9)
    """Multistep milestones as fractions of --train.max-steps."""
    gamma: float = 0.5
    """Multistep decay factor."""
    warmup_steps: int = 0
    """Linear learning-rate warm-up from 0 over this many steps."""

    def __post_init__(self) -> None:
        _check(self.lr > 0, f"--optim.lr must be > 0, got {self.lr}")
        _check(
            all(0 < f < 1 for f in self.milestone_fractions),
            f"--optim.milestone-fractions must lie in (0, 1), got {self.milestone_fractions}",
        )
        _check(self.warmup_steps >= 0, f"--optim.warmup-steps must be >= 0, got {self.warmup_steps}")


@dataclass(kw_only=True)
class LoopConfig:
    """The training loop. Steps (optimizer updates) are the unit of time."""

    max_steps: int = 2000
    """Number of optimizer steps."""
    batch_size: int = 16
    """Labeled frames per optimizer step: the global batch, in total over all processes and
    accumulation steps (with N processes each takes batch-size / N; the step is the same as on one)."""
    grad_accum_steps: int = 1
    """Split each step's batch into this many micro-batches (same result, less memory)."""
    freeze_backbone_steps: int = 0
    """Keep the backbone's weights fixed for this many steps, then train them too."""
    precision: Literal["fp32", "bf16", "fp16"] = "fp32"
    """Arithmetic precision: fp32, or bf16/fp16 mixed precision (GPU)."""
    channels_last: bool = True
    """Use the channels-last memory layout on GPUs (faster convolutions)."""
    compile: bool = False
    """GPU only: compile the batch pipeline, and the network with every loss term, into CUDA
    graphs (torch.compile). About 2-2.8x faster training on an H100 with ResNet-50 (BENCHMARKS.md),
    after about a minute of compilation: worth it for runs of several thousand steps."""
    sync_batchnorm: bool = False
    """Several GPUs: batch-norm statistics over the global batch (SyncBatchNorm) instead of each
    process's share of it. Slower; worth it when each process holds only a few frames."""
    log_every_steps: int = 50
    """Log losses, learning rate and images/s every this many steps."""
    checkpoint_every_steps: int = 1000
    """Save resumable state every this many steps (and at the end)."""

    def __post_init__(self) -> None:
        _check(self.max_steps > 0, f"--train.max-steps must be > 0, got {self.max_steps}")
        _check(self.batch_size > 0, f"--train.batch-size must be > 0, got {self.batch_size}")
        _check(self.grad_accum_steps > 0, f"--train.grad-accum-steps must be > 0, got {self.grad_accum_steps}")
        _check(self.log_every_steps > 0, f"--train.log-every-steps must be > 0, got {self.log_every_steps}")
        _check(
            self.checkpoint_every_steps > 0,
            f"--train.checkpoint-every-steps must be > 0, got {self.checkpoint_every_steps}",
        )


@dataclass(kw_only=True)
class EvalConfig:
    """Validation during training and the final predictions on labeled frames."""

    val_every_steps: int = 250
    """Compute the validation pixel error every this many steps (and at the end)."""
    batch_size: int = 32
    """Frames per forward pass when predicting."""
    tensorboard_images: int = 4
    """Validation frames drawn with predicted vs. labeled keypoints in TensorBoard."""

    def __post_init__(self) -> None:
        _check(self.val_every_steps > 0, f"--eval.val-every-steps must be > 0, got {self.val_every_steps}")
        _check(self.batch_size > 0, f"--eval.batch-size must be > 0, got {self.batch_size}")


@dataclass(kw_only=True)
class TrainConfig:
    """Train a pose model on labeled frames."""

    run: RunConfig = field(default_factory=RunConfig)
    data: DataConfig = field(default_factory=DataConfig)
    unlabeled: UnlabeledConfig = field(default_factory=UnlabeledConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    losses: LossesConfig = field(default_factory=LossesConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: LoopConfig = field(default_factory=LoopConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)


# ---------------------------------------------------------------------------------------------
# Reading configs: Python config files, the command line, and the saved config.yaml.


def load_config_file(path: Path) -> TrainConfig:
    """Run a Python config file and return its `config()`."""
    if not path.is_file():
        raise UserError(f"config file {path} not found: pass --config configs/<name>.py")
    spec = importlib.util.spec_from_file_location(f"lp_config_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not hasattr(module, "config"):
        raise UserError(f"config file {path} defines no config() function returning a TrainConfig")
    cfg = module.config()
    if not isinstance(cfg, TrainConfig):
        raise UserError(f"config() in {path} returned {type(cfg).__name__}, not a TrainConfig")
    return cfg


def _pop_option(args: list[str], *names: str) -> tuple[str | None, list[str]]:
    """Remove `--name value` or `--name=value` from args; return the value and the rest."""
    rest, value, i = [], None, 0
    while i < len(args):
        arg = args[i]
        key = arg.split("=", 1)[0]
        if key in names:
            if "=" in arg:
                value = arg.split("=", 1)[1]
            elif i + 1 < len(args):
                value, i = args[i + 1], i + 1
            else:
                raise UserError(f"{arg} needs a value")
        else:
            rest.append(arg)
        i += 1
    return value, rest


def _find_option(args: list[str], *names: str) -> str | None:
    for i, arg in enumerate(args):
        key = arg.split("=", 1)[0]
        if key in names:
            if "=" in arg:
                return arg.split("=", 1)[1]
            return args[i + 1] if i + 1 < len(args) else None
    return None


TRAIN_USAGE = """Train a pose model on labeled frames.

  --config FILE   a Python config file (e.g. configs/mouse.py) whose config() gives the base;
                  every flag below then overrides one field of it. Without --config, the
                  defaults below are used as they are (ResNet-50 at 256x256: slow on a CPU).
"""


def parse_train_args(argv: list[str], prog: str = "train.py") -> TrainConfig:
    """`--config FILE` (or a run being resumed) gives the base; every other flag overrides it.
    Paths come back absolute (relative ones are taken from the current directory), so the saved
    config.yaml can be resumed and predicted from anywhere."""
    config_path, rest = _pop_option(list(argv), "--config")
    resume = _find_option(rest, "--run.resume-from", "--run.resume_from")
    if resume is not None and config_path is not None:
        raise UserError("--config and --run.resume-from together: drop --config, a resumed run uses its config.yaml")
    if resume is not None:
        base = load_config(run_config_path(Path(resume)))
    elif config_path is not None:
        base = load_config_file(Path(config_path))
    else:
        base = TrainConfig()
    cfg = absolute_paths(cli(TrainConfig, base, rest, prog, description=TRAIN_USAGE))
    if resume is None and config_path is None:
        print(
            f"lp: no --config given: {cfg.model.backbone.arch} at {cfg.data.image_height}x{cfg.data.image_width} for "
            f"{cfg.train.max_steps} steps, the defaults of lp/config.py (hours on a CPU); --config configs/mouse.py "
            "chooses a setting for the machine at hand",
            file=sys.stderr,
        )
    return cfg


def absolute_paths(cfg: TrainConfig) -> TrainConfig:
    """A copy of cfg whose folder and file fields are absolute paths."""

    def absolute(path: Path | None) -> Path | None:
        return None if path is None else Path(path).expanduser().absolute()

    weights = cfg.model.backbone.weights
    if weights not in ("none", "imagenet"):
        weights = str(absolute(Path(weights)))
    return dataclasses.replace(
        cfg,
        run=dataclasses.replace(cfg.run, output_dir=absolute(cfg.run.output_dir), resume_from=absolute(cfg.run.resume_from)),
        data=dataclasses.replace(cfg.data, data_dir=absolute(cfg.data.data_dir)),
        unlabeled=dataclasses.replace(cfg.unlabeled, video_dir=absolute(cfg.unlabeled.video_dir)),
        model=dataclasses.replace(cfg.model, backbone=dataclasses.replace(cfg.model.backbone, weights=weights)),
    )


def run_config_path(run_dir: Path) -> Path:
    """config.yaml of a run directory, or a one-line error when it is not a run."""
    path = run_dir / "config.yaml"
    if not path.is_file():
        raise UserError(f"{run_dir} is not an lp run directory (no config.yaml): pass a folder written by train.py")
    return path


def cli(cls: type, default, args: list[str], prog: str, description: str | None = None):
    """tyro.cli, with its boxed errors folded into one line naming the flag."""
    import tyro

    stderr, stdout = io.StringIO(), io.StringIO()
    try:
        with redirect_stderr(stderr), redirect_stdout(stdout):
            # Booleans take a value (--train.compile True), like every other field.
            return tyro.cli(
                cls, default=default, args=args, prog=prog, description=description,
                config=(tyro.conf.FlagConversionOff,),
            )
    except SystemExit as exit_:
        if exit_.code in (0, None):  # --help
            sys.stdout.write(stdout.getvalue() + stderr.getvalue())
            raise
        raise UserError(_fold_tyro_error(stderr.getvalue() + stdout.getvalue(), prog)) from None
    except ValueError as error:  # raised by a __post_init__ outside tyro's own handling
        raise UserError(str(error)) from None


def _fold_tyro_error(text: str, prog: str) -> str:
    lines = []
    for raw in text.splitlines():
        line = raw.strip().strip("│╭╮╰╯─ ")
        if not line or set(line) <= set("-─"):
            continue
        if line.startswith(("Argument helptext", "For full helptext")):
            break
        lines.append(line)
    if not lines:
        return f"invalid arguments (see python {prog} --help)"
    title, body = lines[0], " ".join(lines[1:])
    # tyro's box title repeats the body's first words ("Invalid choice" / "invalid choice ..."),
    # and its "Error parsing X:" names a section rather than a flag: keep what says something.
    if body.lower().startswith(title.lower().split()[0]) or title.lower() == "value error":
        title = ""
    body = re.sub(r"^Error parsing (--[\w.-]+): ", r"\1: ", body)
    body = re.sub(r"^Error parsing [\w.-]+: ", "", body)
    text = f"{title.lower()}: {body}" if title else body
    return f"{text} (see python {prog} --help)"


def config_to_dict(cfg) -> dict:
    """A plain dict of the config (paths as strings, tuples as lists) for YAML."""

    def plain(value):
        if dataclasses.is_dataclass(value):
            return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if isinstance(value, (tuple, list)):
            return [plain(v) for v in value]
        if isinstance(value, Path):
            return str(value)
        return value

    return plain(cfg)


def dump_config(cfg: TrainConfig) -> str:
    return yaml.safe_dump(config_to_dict(cfg), sort_keys=False)


def load_config(path: Path, cls: type = TrainConfig):
    """Read a saved config.yaml strictly: unknown keys and wrong types are errors."""
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as error:
        raise UserError(f"cannot read {path}: {error}") from None
    try:
        return _build(cls, data if data is not None else {}, "")
    except (TypeError, ValueError) as error:
        raise UserError(f"{path}: {error}") from None


def _build(cls: type, data, where: str):
    if not isinstance(data, dict):
        raise TypeError(f"{where or 'top level'} must be a mapping")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ValueError(f"unknown key {where}{unknown[0]}")
    kwargs = {key: _convert(hints[key], value, f"{where}{key}") for key, value in data.items()}
    return cls(**kwargs)


def _convert(hint, value, where: str):
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, where + ".")
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for option in (a for a in args if a is not type(None)):
            try:
                return _convert(option, value, where)
            except (TypeError, ValueError) as error:
                errors.append(str(error))
        raise TypeError(f"{where}: {'; '.join(errors)}")
    if origin is Literal:
        if value not in args:
            raise ValueError(f"{where} must be one of {list(args)}, got {value!r}")
        return value
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise TypeError(f"{where} must be a list, got {value!r}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_convert(args[0], v, where) for v in value)
        if len(args) != len(value):
            raise ValueError(f"{where} must have {len(args)} items, got {len(value)}")
        return tuple(_convert(a, v, where) for a, v in zip(args, value))
    if hint is Path:
        if not isinstance(value, str):
            raise TypeError(f"{where} must be a path, got {value!r}")
        return Path(value)
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint in (int, float, str, bool):
        if not isinstance(value, hint) or (hint is int and isinstance(value, bool)):
            raise TypeError(f"{where} must be {hint.__name__}, got {value!r}")
        return value
    raise TypeError(f"{where}: unsupported type {hint}")


@dataclass(kw_only=True)
class PredictConfig:
    """Predict keypoints on videos (or labeled frames) with one or more trained runs."""

    run_dir: tuple[Path, ...]
    """One or more run directories written by train.py."""
    videos: Path
    """A video file, a folder of videos (mp4, avi, mov, mkv), or a labels CSV (adds pixel error)."""
    output_dir: Path | None = None
    """Where to write. Default: <run-dir>/video_preds/. With several runs, each gets
    <output-dir>/<run name>/."""
    precision: Literal["fp32", "bf16", "fp16"] = "fp32"
    """Arithmetic precision of the network (bf16/fp16 need a GPU)."""
    batch_size: int = 64
    """Frames per forward pass."""
    overwrite: bool = False
    """Predict again videos whose outputs already exist (default: skip them)."""
    reader: Literal["auto", "dali", "cpu"] = "auto"
    """Video decoding: auto (NVIDIA DALI on a GPU where installed, else PyAV on the CPU), dali or cpu.
    Both give the same frames."""

    def __post_init__(self) -> None:
        _check(len(self.run_dir) > 0, "--run-dir needs at least one run directory")
        _check(self.batch_size > 0, f"--batch-size must be > 0, got {self.batch_size}")


@dataclass(kw_only=True)
class RenderVideoConfig:
    """Draw predicted keypoints on a video: one colour per model, H.264 mp4."""

    video: Path
    """The source video."""
    predictions: tuple[Path, ...]
    """One or more predictions CSVs of this video written by predict.py (one per model)."""
    names: tuple[str, ...] = ()
    """A legend name per predictions file. Default: the folder (run) name of each file."""
    output: Path | None = None
    """Output mp4. Default: <video stem>_labeled.mp4 next to the source video."""
    likelihood_threshold: float = 0.9
    """Keypoints predicted with a lower likelihood are not drawn."""
    show_names: bool = False
    """Write each keypoint's name beside it."""

    def __post_init__(self) -> None:
        _check(len(self.predictions) > 0, "--predictions needs at least one CSV")
        _check(0 <= self.likelihood_threshold <= 1, f"--likelihood-threshold must be in [0, 1], got {self.likelihood_threshold}")


@dataclass(kw_only=True)
class ReencodeConfig:
    """Re-encode a video that lp refuses (variable frame rate, a codec a reader cannot decode, a
    file cut short) into an H.264 mp4 at a constant frame rate: every decodable frame once, in
    order. Needs no ffmpeg program: lp's own video library (PyAV) does it."""

    video: Path
    """The video to re-encode."""
    output: Path | None = None
    """Output mp4. Default: <video stem>_cfr.mp4 next to the source."""
    frames: int | None = None
    """Keep only the first this many frames (e.g. those before the damage in a truncated file)."""

    def __post_init__(self) -> None:
        _check(self.frames is None or self.frames > 0, f"--frames must be positive, got {self.frames}")


@dataclass(kw_only=True)
class RenderPlotsConfig:
    """Diagnostic plots (PNG): traces and likelihoods over time, per-frame metrics, pixel errors."""

    predictions: tuple[Path, ...] = ()
    """Predictions CSVs of one video written by predict.py (one per model); their
    _temporal_norm.csv and _pca_*_error.csv files beside them are plotted too."""
    names: tuple[str, ...] = ()
    """A legend name per predictions file. Default: each file's run folder name."""
    pixel_error: tuple[Path, ...] = ()
    """pixel_error.csv files of training runs: box plots of labeled-frame error per keypoint, by split."""
    output_dir: Path = Path("figures")
    """Folder for the PNG files."""


@dataclass(kw_only=True)
class FiftyOneAppConfig:
    """Launching the FiftyOne app on a dataset lp built."""

    dataset_name: str | None = None
    """FiftyOne dataset name. Default: derived from the inputs, so running again replaces it."""
    launch: bool = True
    """Open the app after building the dataset (False: build it only, e.g. in scripts)."""
    remote: bool = False
    """Serve the app without opening a browser (headless server: forward the port over ssh)."""
    port: int = 5151
    """Port the app listens on."""

    def __post_init__(self) -> None:
        _check(1 <= self.port <= 65535, f"--port must be in 1..65535, got {self.port}")
        _check(self.dataset_name is None or self.dataset_name.strip() != "", "--dataset-name must not be empty")


@dataclass(kw_only=True)
class RenderFramesConfig(FiftyOneAppConfig):
    """FiftyOne app of the labeled frames: ground truth against each run's predictions, with the
    split as a tag and each run's pixel error as a field."""

    run_dir: tuple[Path, ...]
    """One or more run directories written by train.py (trained on the same labels)."""
    names: tuple[str, ...] = ()
    """A name per run for its fields in the app. Default: each run folder's name."""
    data_dir: Path | None = None
    """Folder of the labels CSV and images. Default: the first run's --data.data-dir."""

    def __post_init__(self) -> None:
        super().__post_init__()
        _check(len(self.run_dir) > 0, "--run-dir needs at least one run directory")
        _check(not self.names or len(self.names) == len(self.run_dir), "--names needs one name per --run-dir")


@dataclass(kw_only=True)
class RenderFiftyOneVideoConfig(FiftyOneAppConfig):
    """FiftyOne app of one video with each model's keypoints on every frame."""

    video: Path
    """The source video."""
    predictions: tuple[Path, ...]
    """One or more predictions CSVs of this video written by predict.py (one per model)."""
    names: tuple[str, ...] = ()
    """A name per predictions file. Default: the folder (run) name of each file."""

    def __post_init__(self) -> None:
        super().__post_init__()
        _check(len(self.predictions) > 0, "--predictions needs at least one CSV")
        _check(not self.names or len(self.names) == len(self.predictions), "--names needs one name per --predictions file")
