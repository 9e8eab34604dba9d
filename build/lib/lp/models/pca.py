"""Pose subspaces: fitted on the training labels (NaN-aware, original-frame pixels), saved with a
trained model (pca.npz), and used by the PCA losses during training and by prediction for each
frame's PCA error. Part of the model, not of a loss: losses, the loop and prediction import it."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from lp.errors import UserError


def _device_key(device: torch.device | str) -> torch.device:
    """"cuda" and "cuda:0" name one device: one cache entry for both."""
    device = torch.device(device)
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", torch.cuda.current_device())
    return device


@dataclass
class Subspace:
    mean: np.ndarray
    """(D,) mean vector."""
    basis: np.ndarray
    """(D, C) orthonormal columns spanning the kept components."""
    explained_variance: np.ndarray
    """(C,) fraction of the variance each kept component explains."""
    _on_device: dict = field(default_factory=dict, repr=False, compare=False)

    def reprojection_error(self, vectors: np.ndarray) -> np.ndarray:
        """(N, D) with D = 2 * points -> (N, points): distance of each (x, y) to its projection."""
        centered = vectors - self.mean
        residual = centered - centered @ self.basis @ self.basis.T
        return np.linalg.norm(residual.reshape(len(vectors), -1, 2), axis=-1)

    def tensors(self, dtype: torch.dtype, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """(mean, basis) on the device, made once per dtype and device, not once per step."""
        key = (dtype, _device_key(device))
        if key not in self._on_device:
            self._on_device[key] = tuple(torch.as_tensor(a, dtype=dtype, device=device) for a in (self.mean, self.basis))
        return self._on_device[key]

    def torch_reprojection_error(self, vectors: torch.Tensor) -> torch.Tensor:
        """The same on a (..., D) tensor, differentiable; returns (..., points)."""
        mean, basis = self.tensors(vectors.dtype, vectors.device)
        centered = vectors - mean
        residual = centered - centered @ basis @ basis.T
        return residual.unflatten(-1, (-1, 2)).norm(dim=-1)


def fit_subspace(
    vectors: np.ndarray, variance_fraction: float = 0.99, components: int | None = None, iterations: int = 1000
) -> Subspace:
    """PCA of (N, D) vectors with missing entries (NaN): missing entries are filled with the
    current low-rank reconstruction and the fit repeated (EM-style), so frames with some
    keypoints missing still inform the subspace. Keeps `components` if given, else the fewest
    components explaining `variance_fraction` of the variance."""
    missing = ~np.isfinite(vectors)
    filled = np.where(missing, np.nanmean(vectors, axis=0), vectors)
    for _ in range(iterations if missing.any() else 1):
        mean = filled.mean(axis=0)
        _, singular, vt = np.linalg.svd(filled - mean, full_matrices=False)
        variance = singular**2 / max((singular**2).sum(), 1e-12)
        keep = components or int(np.searchsorted(np.cumsum(variance), variance_fraction) + 1)
        keep = min(keep, len(variance))
        basis = vt[:keep].T
        reconstruction = (filled - mean) @ basis @ basis.T + mean
        update = np.where(missing, reconstruction, vectors)
        if np.allclose(update, filled, rtol=0, atol=1e-9):
            break
        filled = update
    return Subspace(mean, basis, variance[:keep])


@dataclass
class FittedPca:
    """What a PCA loss needs at run time, fitted once from the training labels."""

    subspace: Subspace
    epsilon_px: float
    keypoints: list[int]
    """Keypoint indices the subspace covers (in pose-vector order)."""
    views: list[list[int]] | None = None
    """Multi-view only: keypoint indices per view."""
    _on_device: dict = field(default_factory=dict, repr=False, compare=False)

    def keypoint_index(self, device: torch.device) -> torch.Tensor:
        """`keypoints` as an index tensor on the device, made once (indexing with a list would
        copy it from the host, and wait for the GPU, at every step)."""
        device = _device_key(device)
        if device not in self._on_device:
            self._on_device[device] = torch.as_tensor(self.keypoints, device=device)
        return self._on_device[device]

    def to(self, device: torch.device) -> FittedPca:
        """Make the device tensors now: made inside a compiled CUDA graph, they would live in
        memory that the graph's next replay overwrites."""
        self.keypoint_index(device)
        self.subspace.tensors(torch.float32, device)
        return self


def margin_px(subspace: Subspace, vectors: np.ndarray) -> float:
    """99th percentile of the reprojection errors of the fully labeled rows of `vectors`."""
    complete = np.isfinite(vectors).all(axis=1)
    errors = subspace.reprojection_error(vectors[complete])
    return float(np.percentile(errors, 99)) if errors.size else 0.0


def check_enough_labels(labels: np.ndarray, names: list[str], flag: str, min_frames: int | None = None) -> None:
    """(N, K, 2) labels: every keypoint must be labeled in at least as many frames as the pose
    vector has numbers (2K), else the subspace is not determined: name the keypoints to drop."""
    needed = min_frames or 2 * labels.shape[1]
    counts = np.isfinite(labels).all(axis=-1).sum(axis=0)
    short = [f"{name} ({count})" for name, count in zip(names, counts) if count < needed]
    if short:
        raise UserError(
            f"too few labeled training frames for a PCA loss: each keypoint needs {needed}, but "
            f"{', '.join(short)} have fewer: leave them out of {flag} or label more frames"
        )


def save_fitted(path, fitted: dict[str, FittedPca]) -> None:
    """The fitted PCA subspaces of a run, for predict.py's per-frame PCA errors (an .npz)."""
    from lp.io import atomic_write

    arrays = {}
    for name, fit in fitted.items():
        arrays[f"{name}.mean"], arrays[f"{name}.basis"] = fit.subspace.mean, fit.subspace.basis
        arrays[f"{name}.explained_variance"] = fit.subspace.explained_variance
        arrays[f"{name}.epsilon_px"], arrays[f"{name}.keypoints"] = np.array(fit.epsilon_px), np.array(fit.keypoints)
        if fit.views is not None:
            arrays[f"{name}.views"] = np.array(fit.views)

    def write(tmp):
        with open(tmp, "wb") as handle:
            np.savez(handle, **arrays)

    atomic_write(path, write)


def load_fitted(path) -> dict[str, FittedPca]:
    with np.load(path) as arrays:
        names = sorted({key.split(".")[0] for key in arrays.files})
        return {
            name: FittedPca(
                Subspace(arrays[f"{name}.mean"], arrays[f"{name}.basis"], arrays[f"{name}.explained_variance"]),
                float(arrays[f"{name}.epsilon_px"]), arrays[f"{name}.keypoints"].tolist(),
                arrays[f"{name}.views"].tolist() if f"{name}.views" in arrays.files else None,
            )
            for name in names
        }


def compute_pca_errors(fit: FittedPca, xy: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """(N, K, 2) poses -> per-frame reprojection error (N, K') of each keypoint the subspace
    covers, and those keypoints' indices (column order)."""
    if fit.views is None:
        chosen = xy[:, fit.keypoints]
        return fit.subspace.reprojection_error(chosen.reshape(len(xy), -1)), list(fit.keypoints)
    parts = len(fit.views[0])
    errors = fit.subspace.reprojection_error(stack_views(xy, fit.views)).reshape(len(xy), parts, len(fit.views))
    # column order: every view's keypoints, view by view
    return errors.transpose(0, 2, 1).reshape(len(xy), -1), [i for view in fit.views for i in view]


def stack_views(xy, view_indices: list[list[int]], index: torch.Tensor | None = None):
    """(N, K, 2) -> (N * P, 2V): for each of the P body parts, its (x, y) in every view.
    `view_indices[v][p]` is the keypoint index of body part p in view v; `index`, optional, is
    the same order as a device tensor (FittedPca.keypoint_index of parts_order)."""
    parts = np.array(view_indices).T.ravel()  # body part by body part, each in every view
    if isinstance(xy, torch.Tensor):  # one gather: (N, P, V, 2)
        index = index if index is not None else torch.as_tensor(parts, device=xy.device)
        return xy[:, index].reshape(-1, 2 * len(view_indices))
    return xy[:, parts].reshape(-1, 2 * len(view_indices))


def parts_order(view_indices: list[list[int]]) -> list[int]:
    """Keypoint indices in stack_views' order: body part by body part, each in every view."""
    return np.array(view_indices).T.ravel().tolist()
