"""The whole configuration tree of a training run, as typed dataclasses.

tyro turns every field's docstring into `python train.py --help`; this file is the reference
manual. Defaults live here once. `__post_init__` only validates and names the flag to change.
This module imports no torch so that `--help` is instant.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Literal

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
HeadKind = Literal["heatmap", "heatmap_context", "regression"]
AugmentationPreset = Literal["none", "default", "dlc"]
PredictionFormat = Literal["csv", "h5", "nwb", "slp"]


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


DEFAULT_LABELS = "CollectedData.csv"
"""The labels file --data.csv-file names unless told otherwise (DeepLabCut's merged labels)."""


@dataclass(kw_only=True)
class DataConfig:
    """Labeled frames: where they are, how they are split, resized and augmented."""

    data_dir: Path = Path("data/mirror-mouse-example")
    """Project folder holding the labels CSV; image paths in the CSV are relative to it."""
    csv_file: str = DEFAULT_LABELS
    """Labels file inside data_dir: a DeepLabCut CSV (scorer / bodyparts / coords header rows),
    DeepLabCut's .h5, COCO keypoints .json, SLEAP .slp or NWB .nwb (the last two need
    `pip install 'lp[formats]'`; several animals need SLEAP tracks and become <track>_<node>), or
    a DeepLabCut project's labeled-data folder (read by default where there is no
    CollectedData.csv). Multi-animal DeepLabCut labels become <individual>_<bodypart>."""
    image_height: int = 256
    """Height in pixels every frame is resized to before the network; a multiple of 32. For
    large frames with small body parts raise both sides: on 1024x1024 flies, 512 instead of 256
    took the median error from 1.5 to 0.8 px (BENCHMARKS.md), for 4x the pixels per step."""
    image_width: int = 256
    """Width in pixels every frame is resized to before the network; a multiple of 32."""
    val_fraction: float = 0.1
    """Fraction of labeled frames held out for validation (model selection)."""
    test_fraction: float = 0.1
    """Fraction of labeled frames held out for the final test error."""
    split_seed: int = 0
    """Seed of the train/val/test split; the same seed always gives the same split."""
    video_dir: Path | None = None
    """Folder of the videos the labeled frames were taken from (DeepLabCut's naming:
    labeled-data/<video stem>/img<frame number>.png from <video-dir>/<video stem>.mp4). Only
    --model.head heatmap_context uses it: a labeled frame's neighbours come from image files
    beside it, else from its video. Default: <data-dir>/videos, then --unlabeled.video-dir."""
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
    """heatmap: upsampling head and subpixel soft-argmax; heatmap_context: the same head seeing
    frames t-2..t+2 to predict frame t (labeled frames take their neighbours from image files
    beside them or from --data.video-dir; see README); regression: pooled features to (x, y)."""
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
    """auto: per video, NVIDIA DALI (GPU decoding) on a GPU where DALI is installed and can read
    it, else the CPU reader (PyAV); a folder may mix both. dali or cpu: force one."""
    shuffle: bool = False
    """Clips come in stretches of up to 256 consecutive frames (one seek per stretch; consecutive
    steps take consecutive clips). False: the stretches follow each other through the videos, each
    process taking every n-th (a video's last frames that fill no whole stretch are not used).
    True: each stretch starts at a random frame, moved back to the key frame before it where that
    is less than a stretch back (the decoder starts there anyway). Both readers read the same clips."""
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
    weight: float = 0.0005
    """Weight of the loss (pixels) relative to the supervised heatmap loss. With 0.005 (both PCA
    losses) the example's test error was 4.81 +- 0.51 px against 4.25 +- 0.61 (BENCHMARKS.md)."""
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
    weight: float = 0.0005
    """Weight of the loss (pixels) relative to the supervised heatmap loss (as Pose PCA's)."""
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
    def unsupervised_blocks(self) -> dict:
        """Every unsupervised loss block by name: the fields that have an `enabled` switch (so a
        new loss is named once, by its field; lp.losses.UNSUPERVISED must have the same names)."""
        blocks = {f.name: getattr(self, f.name) for f in fields(self)}
        return {name: block for name, block in blocks.items() if hasattr(block, "enabled")}

    @property
    def unsupervised(self) -> dict:
        """The enabled unsupervised blocks by name."""
        return {name: block for name, block in self.unsupervised_blocks.items() if block.enabled and block.weight > 0}

    def __post_init__(self) -> None:
        _check(
            self.unsupervised_full_steps >= self.unsupervised_start_steps >= 0,
            "--losses.unsupervised-full-steps must be >= --losses.unsupervised-start-steps >= 0",
        )




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
    """GPU only: compile the batch pipeline, and the network with every loss term (torch.compile);
    each step is then replayed as one CUDA graph (two around the gradient all-reduce on several
    GPUs; fp16, gradient accumulation and SyncBatchNorm instead replay a few per step). With
    ResNet-50 on an H200, semi-supervised bf16, training alone: about 3300 images/s at 16 + 16
    frames and 4400 at 64 + 64, against 440-500 eager at 16 + 16 (BENCHMARKS.md); with empty
    compile caches a 200-step run took 94 s, most of it compiling: worth it for runs of several
    thousand steps."""
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


@dataclass(kw_only=True)
class PredictConfig:
    """Predict keypoints on videos (or labeled frames) with one or more trained runs."""

    run_dir: tuple[Path, ...]
    """One or more run directories written by train.py."""
    videos: Path | None = None
    """A video file, a folder of videos (mp4, avi, mov, mkv), or a labels file (.csv, .h5, .json,
    .slp, .nwb) or a DeepLabCut project's labeled-data folder: predictions on its frames, with
    their pixel error."""
    export: Literal["none", "onnx"] = "none"
    """onnx: also write <run-dir>/export/model.onnx (backbone + head + keypoints, any batch size),
    checked against PyTorch with onnxruntime; --videos may then be left out."""
    output_dir: Path | None = None
    """Where to write. Default: <run-dir>/video_preds/. With several runs, each gets
    <output-dir>/<run name>/."""
    formats: tuple[PredictionFormat, ...] = ("csv", "h5")
    """Files per video: csv (always), h5 (DeepLabCut's HDF5 table), nwb (NWB with ndx-pose's
    PoseEstimation) and slp (SLEAP predictions); nwb and slp need `pip install 'lp[formats]'`."""
    precision: Literal["fp32", "bf16", "fp16"] = "fp32"
    """Arithmetic precision of the network (bf16/fp16 need a GPU)."""
    batch_size: int = 64
    """Frames per forward pass."""
    overwrite: bool = False
    """Predict again videos whose outputs already exist (default: skip them)."""
    reader: Literal["auto", "dali", "cpu"] = "auto"
    """Video decoding: auto (per video: NVIDIA DALI on a GPU where installed and where DALI can
    read the video, else PyAV on the CPU), dali or cpu. Both give the same frames."""
    ensemble: Literal["none", "mean", "median", "eks"] = "none"
    """With several runs: combine their predictions of each video into
    <output-dir>/ensemble/<stem>.csv (x, y, likelihood, and each coordinate's ensemble and
    posterior variance): mean, median, or eks (Ensemble Kalman Smoother). Without --output-dir,
    the first run's video_preds/ensemble/."""
    smoothing: float | None = None
    """eks: the random walk's variance per frame, px^2 (larger follows the models more closely).
    Default: chosen per keypoint by the likelihood of the predictions."""
    outliers: int = 0
    """Write the this-many frames of each video most worth labeling next (the models' disagreement,
    temporal jumps, PCA errors) as PNGs in ensemble/outliers/labeled-data/<stem>/, with a labels
    CSV prefilled with the ensemble's keypoints, ready to correct, and the frames' scores."""

    def __post_init__(self) -> None:
        _check(len(self.run_dir) > 0, "--run-dir needs at least one run directory")
        _check("csv" in self.formats, f"--formats must include csv (ensembles and render.py read it), got {' '.join(self.formats)}")
        _check(self.ensemble == "none" or len(self.run_dir) > 1, f"--ensemble {self.ensemble} needs two or more --run-dir")
        _check(self.smoothing is None or self.smoothing > 0, f"--smoothing must be > 0, got {self.smoothing}")
        _check(self.outliers >= 0, f"--outliers must be >= 0, got {self.outliers}")
        _check(self.batch_size > 0, f"--batch-size must be > 0, got {self.batch_size}")
        _check(self.videos is not None or self.export != "none", "--videos is needed (or --export onnx alone)")


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
