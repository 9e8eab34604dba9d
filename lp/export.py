"""A trained model as a file other programs run: ONNX (backbone + head + keypoint read-out, any
batch size), checked against PyTorch with onnxruntime before it is kept.

The exported graph takes `images` (B, 3, H, W) float32 in [0, 1] at the run's input size (its
config.yaml's image height and width, also stored in the file's metadata) and returns
`keypoints` (B, K, 2) in those pixels and `confidence` (B, K). Map keypoints to a frame of width
W0 and height H0 with x0 = (x + 0.5) * W0 / W - 0.5 (and y likewise), as lp does. A context
model's graph (--model.head heatmap_context) takes (B, 5, 3, H, W): frames t-2..t+2 of each of
the B frames it predicts (at a video's ends, repeat the edge frame)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from torch import nn

from lp.errors import UserError
from lp.inference import Model
from lp.io import atomic_write

TOLERANCE_PX = 1e-3


class KeypointNetwork(nn.Module):
    """images -> (keypoints, confidence): what the ONNX file computes. A context model takes
    (B, 5, 3, H, W): each predicted frame's t-2..t+2."""

    def __init__(self, network: nn.Module):
        super().__init__()
        self.network = network
        self.frames = network.context_frames

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.network.keypoints(self.outputs(images))

    def outputs(self, images: torch.Tensor) -> torch.Tensor:
        """The head's raw outputs (heatmaps) for the ONNX input."""
        if self.frames == 1:
            return self.network(images)
        rows = torch.arange(images.shape[0] * self.frames, device=images.device).view(-1, self.frames)
        return self.network(images.flatten(0, 1), rows)

    def example(self, batch: int, height: int, width: int, seed: int) -> torch.Tensor:
        shape = (batch, 3, height, width) if self.frames == 1 else (batch, self.frames, 3, height, width)
        return torch.rand(*shape, generator=torch.Generator().manual_seed(seed))


def export_onnx(run_dir: Path, output: Path | None = None, seed: int = 0) -> tuple[Path, str]:
    """Write <run>/export/model.onnx (or `output`) and check it; returns the path and a one-line
    report of the check."""
    try:
        import onnx
        import onnxruntime
    except ImportError as error:
        raise UserError(f"ONNX export needs onnx and onnxruntime ({error}): pip install -r requirements.txt") from None
    model = Model.from_dir(run_dir, device="cpu")
    height, width = model.cfg.data.image_height, model.cfg.data.image_width
    # eval on the wrapper itself: the exporter restores the wrapper's mode, and with it the network's
    wrapped = KeypointNetwork(model.network.to(memory_format=torch.contiguous_format).float()).eval()
    output = Path(output) if output is not None else Path(run_dir) / "export" / "model.onnx"
    example = wrapped.example(2, height, width, seed)

    def write(tmp: Path) -> None:
        torch.onnx.export(
            wrapped, (example,), str(tmp), input_names=["images"], output_names=["keypoints", "confidence"],
            dynamic_axes={name: {0: "batch"} for name in ("images", "keypoints", "confidence")},
            dynamo=False, opset_version=18,
        )
        graph = onnx.load(str(tmp))
        for key, value in {"keypoint_names": json.dumps(model.keypoint_names), "input_height": str(height),
                           "input_width": str(width), "input": "images (B, 3, H, W) float32 RGB in [0, 1]" if wrapped.frames == 1
                           else "images (B, 5, 3, H, W) float32 RGB in [0, 1]: frames t-2..t+2 of each predicted frame t",
                           "source_run": str(Path(run_dir).resolve())}.items():
            graph.metadata_props.add(key=key, value=value)
        onnx.save(graph, str(tmp))
        report.append(check_onnx(tmp, wrapped, height, width, seed, onnxruntime))

    report: list[str] = []
    atomic_write(output, write)
    return output, report[0]


def check_onnx(path: Path, wrapped: nn.Module, height: int, width: int, seed: int, onnxruntime) -> str:
    """Run the file with onnxruntime on a batch of another size than the export's and compare with
    PyTorch: keypoints within TOLERANCE_PX wherever the heatmap's peak is unambiguous (where two
    pixels tie, the two programs may break the tie differently, as any two builds of PyTorch may)."""
    images = wrapped.example(5, height, width, seed + 1)
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    keypoints, confidence = session.run(None, {"images": images.numpy()})
    wrapped.eval()  # batch norm with its running statistics, as exported
    with torch.no_grad():
        outputs = wrapped.outputs(images)
        expected_xy, expected_confidence = (t.numpy() for t in wrapped.network.keypoints(outputs))
    clear = np.ones(expected_xy.shape[:2], dtype=bool)
    if outputs.dim() == 4:  # heatmaps: the top two values of each map must differ clearly
        top = outputs.flatten(2).topk(2, dim=-1).values.numpy()
        clear = top[..., 0] - top[..., 1] > 1e-4 * top[..., 0]
    difference = np.abs(keypoints - expected_xy).max(axis=-1)
    if keypoints.shape != expected_xy.shape or not (difference[clear] <= TOLERANCE_PX).all():
        worst = float(difference[clear].max()) if clear.any() else float("nan")
        raise UserError(f"{path}: onnxruntime's keypoints differ from PyTorch's by up to {worst:.4g} px; "
                        "the export is not usable (please report it with the run's config.yaml)")
    if not np.allclose(confidence[clear], expected_confidence[clear], atol=1e-4):
        raise UserError(f"{path}: onnxruntime's confidences differ from PyTorch's; the export is not usable")
    tied = "" if clear.all() else f" (the other {int((~clear).sum())} have tied heatmap peaks)"
    return f"onnxruntime matches PyTorch within {TOLERANCE_PX} px on {int(clear.sum())} of {clear.size} keypoints{tied}, batch of 5"
