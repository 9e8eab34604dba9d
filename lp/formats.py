"""Predictions in the field's files beside the CSV and HDF5 tables (the optional extra
`pip install 'lp[formats]'`: sleap-io, which brings pynwb and ndx-pose):
- `slp`: SLEAP predictions, one predicted instance per frame with every keypoint and its score;
- `nwb`: NWB with ndx-pose, one PoseEstimation per video (a PoseEstimationSeries per keypoint:
  positions, confidences, the video's frame rate), naming the video and the model.
Both are written atomically. To add a format: a writer here and its name in PredictionFormat.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lp.data.sleap import import_sleap_io
from lp.io import atomic_write


def build_prediction_labels(xy: np.ndarray, likelihood: np.ndarray, names: list[str], video: Path, model: str):
    """(T, K, 2) pixels and (T, K) likelihoods of every frame of `video` -> a sleap-io Labels of
    predicted instances, one per frame (NaN keypoints stay missing)."""
    sio = import_sleap_io("--formats slp")
    skeleton = sio.Skeleton(list(names), name=model)
    source = sio.Video(filename=str(Path(video).resolve()), open_backend=False)
    points = np.concatenate([xy, likelihood[..., None]], axis=-1)[:, None]  # (T, 1 animal, K, 3)
    labels = sio.Labels.from_numpy(points, videos=[source], skeletons=[skeleton], return_confidence=True)
    labels.provenance = {"software": "lp", "model": model}
    return labels


def write_slp(path: Path, xy: np.ndarray, likelihood: np.ndarray, names: list[str], video: Path, model: str) -> None:
    sio = import_sleap_io("--formats slp")
    labels = build_prediction_labels(xy, likelihood, names, video, model)
    atomic_write(path, lambda tmp: sio.save_slp(labels, str(tmp), verbose=False))


def write_nwb(
    path: Path, xy: np.ndarray, likelihood: np.ndarray, names: list[str], video: Path, model: str, fps: float,
    width: int, height: int,
) -> None:
    """One PoseEstimation (ndx-pose) in the processing module "behavior", with the skeleton it
    names; each keypoint a PoseEstimationSeries of (T, 2) pixels at the video's frame rate. Written
    with pynwb and ndx-pose directly (sleap-io 0.9.5's writer turns 29.97 fps into 29 Hz)."""
    import_sleap_io("--formats nwb")  # brings pynwb and ndx-pose
    import datetime
    import uuid

    from ndx_pose import PoseEstimation, PoseEstimationSeries, Skeleton, Skeletons
    from pynwb import NWBHDF5IO, NWBFile

    video = Path(video)
    nwb = NWBFile(session_description=f"lp predictions of {video.name}", identifier=str(uuid.uuid4()),
                  session_start_time=datetime.datetime.now(datetime.timezone.utc))
    camera = nwb.create_device(name="camera", description=f"the camera of {video.name}")
    skeleton = Skeleton(name=model, nodes=list(names), edges=np.zeros((0, 2), dtype="uint8"))
    series = [
        PoseEstimationSeries(
            name=name, description=f"{name} in {video.name}", data=xy[:, k].astype(np.float64), unit="pixels",
            reference_frame=f"(0, 0) is the top-left corner of the displayed {width} x {height} frame; x to the right, y down",
            confidence=likelihood[:, k].astype(np.float64), confidence_definition="lp likelihood: the heatmap mass near its peak",
            rate=float(fps), starting_time=0.0,
        )
        for k, name in enumerate(names)
    ]
    estimation = PoseEstimation(
        name=f"PoseEstimation_{video.stem}", pose_estimation_series=series, description=f"lp model {model} on every frame of {video.name}",
        original_videos=[str(video.resolve())], dimensions=np.array([[width, height]], dtype="uint16"), devices=[camera],
        scorer=model, source_software="lp", skeleton=skeleton,
    )
    behavior = nwb.create_processing_module(name="behavior", description="pose estimated by lp")
    behavior.add(Skeletons(skeletons=[skeleton]))
    module = nwb.create_processing_module(name=f"SLEAP_VIDEO_000_{video.stem}", description=f"pose in {video.name}")
    module.add(estimation)  # the module name sleap-io looks for

    def write(tmp: Path) -> None:
        with NWBHDF5IO(str(tmp), "w") as io:
            io.write(nwb)

    atomic_write(path, write)
