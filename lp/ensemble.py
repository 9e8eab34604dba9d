"""Ensembles of models on one video: their predictions combined by mean, median, or an Ensemble
Kalman Smoother (EKS), and the frames most worth labeling next.

EKS, per keypoint and coordinate: the hidden position follows a random walk,
z_t = z_{t-1} + w_t with w_t ~ N(0, s), and each frame's observation is the ensemble mean m_t
with the ensemble variance v_t as its noise, m_t ~ N(z_t, v_t + floor). A Kalman filter runs
forward and a Rauch-Tung-Striebel smoother backward; frames where the models disagree (large v_t)
lean on their neighbours, frames where they agree stay where the models put them. The smoothing
parameter s is chosen per keypoint by the likelihood of the observations (or set by hand).

    from lp.ensemble import eks_smooth
    result = eks_smooth(xy, likelihood)        # xy (M, T, K, 2), likelihood (M, T, K) of M models
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

VARIANCE_FLOOR_PX2 = 1e-4
"""Added to the ensemble variance: models that agree exactly still leave a little doubt."""
SMOOTHING_GRID = np.logspace(-3, 3, 25)
"""Candidate random-walk variances s, in units of the keypoint's median ensemble variance."""


@dataclass
class Smoothed:
    xy: np.ndarray
    """(T, K, 2) posterior mean positions."""
    likelihood: np.ndarray
    """(T, K) the models' mean likelihood (the ensemble's own confidence)."""
    posterior_var: np.ndarray
    """(T, K, 2) posterior variance of each coordinate, px^2."""
    ensemble_var: np.ndarray
    """(T, K, 2) variance of the models' predictions, px^2."""
    smoothing: np.ndarray
    """(K,) the random-walk variance s used for each keypoint, px^2 per frame."""


def ensemble_stats(xy: np.ndarray, likelihood: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(M, T, K, 2), (M, T, K) -> mean (T, K, 2), variance (T, K, 2), mean likelihood (T, K);
    models that did not place a keypoint (NaN) are left out of that frame's statistics."""
    with _quiet_nan_warnings():
        mean = np.nanmean(xy, axis=0)
        variance = np.nanvar(xy, axis=0)
        confidence = np.nanmean(likelihood, axis=0)
    return mean, variance, confidence


def kalman_smooth(observations: np.ndarray, noise: np.ndarray, smoothing: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random-walk Kalman filter + RTS smoother for D independent series at once.
    observations (T, D) (NaN: no observation), noise (T, D) their variances, smoothing (D,) the
    walk's variance per step -> smoothed mean (T, D), smoothed variance (T, D), and each series'
    log-likelihood of its observations (D,)."""
    steps, series = observations.shape
    means, variances = np.empty((steps, series)), np.empty((steps, series))
    predicted_means, predicted_variances = np.empty((steps, series)), np.empty((steps, series))
    first = _first_observation(observations)
    mean = first
    variance = np.full(series, 1e12)  # no prior: the first observation decides
    log_likelihood = np.zeros(series)
    for t in range(steps):
        if t > 0:
            variance = variance + smoothing
        predicted_means[t], predicted_variances[t] = mean, variance
        observed = np.isfinite(observations[t])
        total = variance + noise[t]
        gain = np.where(observed, variance / total, 0.0)
        innovation = np.where(observed, observations[t] - mean, 0.0)
        if t > 0:  # the first observation only places the walk
            log_likelihood -= np.where(observed, 0.5 * (np.log(2 * np.pi * total) + innovation**2 / total), 0.0)
        mean = mean + gain * innovation
        variance = (1 - gain) * variance
        means[t], variances[t] = mean, variance
    smoothed_means, smoothed_variances = means.copy(), variances.copy()
    for t in range(steps - 2, -1, -1):
        back_gain = variances[t] / predicted_variances[t + 1]
        smoothed_means[t] = means[t] + back_gain * (smoothed_means[t + 1] - predicted_means[t + 1])
        smoothed_variances[t] = variances[t] + back_gain**2 * (smoothed_variances[t + 1] - predicted_variances[t + 1])
    return smoothed_means, smoothed_variances, log_likelihood


def eks_smooth(xy: np.ndarray, likelihood: np.ndarray, smoothing: float | np.ndarray | None = None) -> Smoothed:
    """Ensemble Kalman smoothing of M models' predictions of one video: xy (M, T, K, 2) pixels,
    likelihood (M, T, K). smoothing: the random-walk variance per frame in px^2 (one number, or
    one per keypoint); None chooses it per keypoint by the observations' likelihood."""
    if xy.ndim != 4 or xy.shape[-1] != 2 or likelihood.shape != xy.shape[:3]:
        raise ValueError(f"xy must be (models, frames, keypoints, 2) and likelihood (models, frames, keypoints); "
                         f"got {xy.shape} and {likelihood.shape}")
    mean, variance, confidence = ensemble_stats(xy, likelihood)
    steps, keypoints = mean.shape[:2]
    observations = mean.reshape(steps, -1)
    noise = np.nan_to_num(variance.reshape(steps, -1), nan=0.0) + VARIANCE_FLOOR_PX2
    if smoothing is None:
        chosen = _choose_smoothing(observations, noise, keypoints)
    else:
        chosen = np.broadcast_to(np.asarray(smoothing, dtype=np.float64), (keypoints,)).copy()
        if (chosen <= 0).any():
            raise ValueError(f"smoothing must be > 0, got {smoothing}")
    smoothed, smoothed_var, _ = kalman_smooth(observations, noise, np.repeat(chosen, 2))
    return Smoothed(smoothed.reshape(steps, keypoints, 2), confidence, smoothed_var.reshape(steps, keypoints, 2),
                    variance, chosen)


def _choose_smoothing(observations: np.ndarray, noise: np.ndarray, keypoints: int) -> np.ndarray:
    """Per keypoint, the s of SMOOTHING_GRID (scaled by the keypoint's median observation noise
    and frame-to-frame movement) under which the ensemble's observations are most likely."""
    steps = np.abs(np.diff(observations, axis=0))
    with _quiet_nan_warnings():
        scale = np.nanmedian(noise, axis=0) + np.nan_to_num(np.nanmedian(steps, axis=0) ** 2, nan=0.0)
    scale = scale.reshape(keypoints, 2).mean(axis=1)  # one s per keypoint, for x and y alike
    best, best_score = np.ones(keypoints), np.full(keypoints, -np.inf)
    for factor in SMOOTHING_GRID:
        candidate = factor * scale
        _, _, log_likelihood = kalman_smooth(observations, noise, np.repeat(candidate, 2))
        score = log_likelihood.reshape(keypoints, 2).sum(axis=1)
        better = score > best_score
        best[better], best_score[better] = candidate[better], score[better]
    return best


def combine(xy: np.ndarray, likelihood: np.ndarray, method: str, smoothing: float | None = None) -> Smoothed:
    """mean, median or eks of M models' predictions (M, T, K, 2) / (M, T, K)."""
    if method == "eks":
        return eks_smooth(xy, likelihood, smoothing)
    mean, variance, confidence = ensemble_stats(xy, likelihood)
    if method == "median":
        with _quiet_nan_warnings():
            mean = np.nanmedian(xy, axis=0)
    elif method != "mean":
        raise ValueError(f"unknown ensemble method {method!r}: mean, median or eks")
    return Smoothed(mean, confidence, np.full_like(variance, np.nan), variance, np.full(mean.shape[1], np.nan))


def rank_outlier_frames(
    ensemble_var: np.ndarray, xy: np.ndarray, pca_errors: list[np.ndarray] = (), count: int = 50, spacing: int = 5
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The `count` frames most worth labeling next: each frame scored by the ranks of its
    ensemble disagreement (mean standard deviation over keypoints), its largest temporal jump
    (the ensemble's position change from the previous frame) and any PCA errors (T, K'), averaged;
    no two chosen frames closer than `spacing`. Returns the frame indices (best first) and each
    score component (T,) by name."""
    steps = len(xy)
    with _quiet_nan_warnings():
        components = {"ensemble_std_px": np.nanmean(np.sqrt(ensemble_var.sum(axis=-1)), axis=1)}
        jump = np.full(steps, np.nan)
        jump[1:] = np.nanmax(np.linalg.norm(np.diff(xy, axis=0), axis=-1), axis=1)
        components["temporal_jump_px"] = jump
        for i, errors in enumerate(pca_errors):
            components[f"pca_error_px_{i}"] = np.nanmean(errors, axis=1)
    ranks = [_fraction_rank(values) for values in components.values()]
    score = np.mean(ranks, axis=0)
    components["score"] = score
    chosen: list[int] = []
    for frame in np.argsort(-score, kind="stable"):
        if len(chosen) == count:
            break
        if all(abs(int(frame) - other) >= spacing for other in chosen):
            chosen.append(int(frame))
    return np.array(chosen, dtype=int), components


def _fraction_rank(values: np.ndarray) -> np.ndarray:
    """Each value's rank as a fraction in [0, 1] (largest 1); NaN ranks lowest."""
    order = np.argsort(np.nan_to_num(values, nan=-np.inf), kind="stable")
    ranks = np.empty(len(values))
    ranks[order] = np.arange(len(values)) / max(1, len(values) - 1)
    return ranks


def _first_observation(observations: np.ndarray) -> np.ndarray:
    """Each series' first finite value (0 where it has none)."""
    finite = np.isfinite(observations)
    index = finite.argmax(axis=0)
    first = observations[index, np.arange(observations.shape[1])]
    return np.where(finite.any(axis=0), first, 0.0)


@contextmanager
def _quiet_nan_warnings():
    """All-NaN slices are expected (a keypoint no model placed): their statistic stays NaN."""
    with warnings.catch_warnings(), np.errstate(invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        yield
