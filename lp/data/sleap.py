"""Labels from SLEAP (.slp) and NWB (ndx-pose training frames) files, read with sleap-io (the
optional extra `pip install 'lp[formats]'`) into the same LabeledFrames as a DeepLabCut CSV.

User-labeled instances only (predictions in the file are ignored). One animal per frame, or
several with SLEAP tracks (fixed identities): each track's keypoints become named keypoints
`<track>_<node>`. A frame's image comes from the frames embedded in the file (a SLEAP labels
package) or from its video, and is kept as a PNG under `<labels folder>/.lp-frames/<labels
stem>/<video stem>/img<frame>.png`, so that training, FiftyOne and the context head read files
as they do for DeepLabCut projects; the cache is written once and reused. A video that is not
where the file says (a project moved from another machine) is looked for by its name beside the
labels file and in its videos/ folder.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm import tqdm

from lp.errors import UserError, tell
from lp.io import atomic_write

CACHE_DIR = ".lp-frames"


def import_sleap_io(purpose: str):
    try:
        import sleap_io
    except ImportError:
        raise UserError(f"{purpose} needs sleap-io: pip install 'lp[formats]' (or pip install sleap-io)") from None
    return sleap_io


def read_sleap_labels(path: Path):
    """A .slp or .nwb labels file -> LabeledFrames (see the module's docstring)."""
    from lp.data.labels import LabeledFrames

    sio = import_sleap_io(f"reading {path.name}")
    try:
        labels = sio.load_file(str(path))
    except Exception as error:  # noqa: BLE001 - sleap-io and h5py raise many types for a bad file
        if isinstance(error, (KeyboardInterrupt, MemoryError)):
            raise
        kind = "SLEAP labels" if path.suffix.lower() == ".slp" else "NWB"
        raise UserError(f"{path} is not a readable {kind} file ({type(error).__name__}: {str(error)[:120]})") from None
    for video in labels.videos:  # a project moved from another machine: its videos beside the labels
        if isinstance(video.filename, str) and not Path(video.filename).exists():
            name = Path(video.filename.replace("\\", "/")).name
            found = next((c for c in (path.parent / name, path.parent / "videos" / name) if c.is_file()), None)
            if found is not None:
                video.replace_filename(str(found))
    if len(labels.skeletons) != 1:
        raise UserError(f"{path} has {len(labels.skeletons)} skeletons: lp trains one skeleton per project")
    nodes = list(labels.skeletons[0].node_names)
    frames = [(lf, list(lf.user_instances)) for lf in labels.labeled_frames]
    skipped = sum(not users for _, users in frames)
    frames = [(lf, users) for lf, users in frames if users]
    if not frames:
        raise UserError(f"{path} has no user-labeled instances (only predictions or empty frames): label some frames in SLEAP")
    tracked = any(len(users) > 1 for _, users in frames) or any(i.track is not None for _, users in frames for i in users)
    tracks: list[str] = []
    if tracked:
        for lf, users in frames:
            names = [i.track.name if i.track is not None else None for i in users]
            if None in names:
                raise UserError(
                    f"{path}: frame {lf.frame_idx} of {Path(lf.video.filename).name} has an instance without a track: "
                    "lp reads several animals as fixed identities, so give every labeled instance a track in SLEAP"
                )
            if len(set(names)) < len(names):
                raise UserError(f"{path}: frame {lf.frame_idx} of {Path(lf.video.filename).name} has two instances of one track")
            tracks += [name for name in names if name not in tracks]
    keypoint_names = [f"{track}_{node}" for track in tracks for node in nodes] if tracked else nodes
    folders = cache_folders(labels.videos)
    keypoints = np.full((len(frames), len(keypoint_names), 2), np.nan)
    image_paths = []
    for row, (lf, users) in enumerate(tqdm(frames, desc=f"frames of {path.name}", leave=False)):
        for instance in users:
            first = tracks.index(instance.track.name) * len(nodes) if tracked else 0
            keypoints[row, first : first + len(nodes)] = instance.numpy()[:, :2]
        image_paths.append(cached_frame(path, lf, folders))
    if skipped:
        tell(f"lp: {path.name}: {skipped} frame(s) without user-labeled instances skipped")
    return LabeledFrames(image_paths, keypoints, keypoint_names, "sleap")


def cache_folders(videos) -> dict[int, str]:
    """id(video) -> its cache folder's name: the video's stem (the name DeepLabCut's layout and the
    context head look for), with the video's number added where two videos share a stem (the
    same file name in two camera folders)."""
    def stem(video) -> str:
        source = video.source_video if getattr(video, "source_video", None) else video
        name = source.filename[0] if isinstance(source.filename, list) else source.filename
        return Path(str(name).replace("\\", "/")).stem

    stems = [stem(video) for video in videos]
    return {id(video): s if stems.count(s) == 1 else f"{s}_{i}" for i, (video, s) in enumerate(zip(videos, stems))}


def cached_frame(labels_path: Path, lf, folders: dict[int, str]) -> str:
    """The frame's image as a PNG in the cache (written now if missing); its path relative to the
    labels file's folder."""
    relative = f"{CACHE_DIR}/{labels_path.stem}/{folders[id(lf.video)]}/img{lf.frame_idx:06d}.png"
    target = labels_path.parent / relative
    if target.is_file():
        return relative
    try:
        image = lf.image
    except Exception as error:  # noqa: BLE001 - the video backends raise their own types
        if isinstance(error, (KeyboardInterrupt, MemoryError)):
            raise
        image = None
        reason = f"{type(error).__name__}: {str(error)[:100]}"
    else:
        reason = "no image"
    if image is None:
        raise UserError(
            f"{labels_path}: frame {lf.frame_idx} of video {lf.video.filename} cannot be read ({reason}): put the video "
            "there, or save the labels with their frames embedded (SLEAP: File > Export Labels Package)"
        )
    from PIL import Image

    image = np.asarray(image)
    picture = Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image)  # grayscale: (H, W, 1)
    atomic_write(target, lambda tmp: picture.save(tmp, format="PNG"))
    return relative
