"""The context head (frames t-2..t+2 -> frame t): equal to the single-frame head when untrained,
dependent on neighbours once trained; labeled frames' neighbours from files and from videos;
prediction on a video in batches of any size; training and prediction end to end."""

from __future__ import annotations

import av
import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from lp.data.context import clip_context, neighbour_path, neighbour_rows, plan_context
from lp.errors import UserError
from lp.models.heads.context import HeatmapContextHead
from lp.models.heads.heatmap import HeatmapHead
from tests.conftest import tiny_args, write_project
from tests.data.test_video import write_video


def heads(seed: int = 0) -> tuple[HeatmapHead, HeatmapContextHead]:
    torch.manual_seed(seed)
    single = HeatmapHead(64, 3, 32, 2, 1.25).eval()
    context = HeatmapContextHead(64, 3, 32, 2, 1.25).eval()
    context.single.load_state_dict(single.state_dict())
    return single, context


def test_untrained_context_head_is_the_single_frame_head():
    single, context = heads()
    features = torch.randn(5, 64, 4, 4)
    same = torch.zeros(1, 5, dtype=torch.long)  # all five inputs the same frame
    torch.testing.assert_close(context(features, same), single(features[:1]))
    # the added weights start at zero: different neighbours change nothing yet
    torch.testing.assert_close(context(features, torch.arange(5)[None]), single(features[2:3]))


def test_a_frames_prediction_depends_on_its_neighbours():
    _, context = heads()
    torch.nn.init.normal_(context.project.weight, std=0.1)
    features = torch.randn(6, 64, 4, 4)
    rows = torch.arange(5)[None]
    before = context(features, rows)
    changed = features.clone()
    changed[0] = torch.randn(64, 4, 4)  # frame t-2 only
    assert not torch.allclose(context(changed, rows), before)
    torch.testing.assert_close(context(changed, rows + 1)[0], context(features, rows + 1)[0])  # t-2 now frame 1
    # a frame that is its own five neighbours (no real context) goes through the single-frame path alone
    single = HeatmapHead(64, 3, 32, 2, 1.25).eval()
    single.load_state_dict(context.single.state_dict())
    alone = torch.full((1, 5), 3)
    torch.testing.assert_close(context(features, alone), single(features[3:4]))
    torch.testing.assert_close(context(features, torch.cat([alone, rows])), torch.cat([single(features[3:4]), before]))


def test_neighbour_rows_repeat_the_edge_frames():
    assert neighbour_rows(torch.tensor([0, 5, 9]), 0, 9).tolist() == [[0, 0, 0, 1, 2], [3, 4, 5, 6, 7], [7, 8, 9, 9, 9]]
    rows = clip_context(2, 3, 10, torch.device("cpu"))
    assert rows.tolist() == [[10, 10, 10, 11, 12], [10, 10, 11, 12, 12], [10, 11, 12, 12, 12],
                             [13, 13, 13, 14, 15], [13, 13, 14, 15, 15], [13, 14, 15, 15, 15]]
    assert neighbour_path("labeled-data/v/img0099.png", 1) == "labeled-data/v/img0100.png"
    assert neighbour_path("labeled-data/v/img1.png", -2) is None
    assert neighbour_path("labeled-data/v/frame.png", 1) is None


def test_neighbours_from_files_from_the_video_or_the_frame_itself(tmp_path):
    (tmp_path / "videos").mkdir()
    frames = write_video(tmp_path / "videos" / "session1.mp4", num_frames=20, size_wh=(64, 48), seed=3)
    with av.open(str(tmp_path / "videos" / "session1.mp4")) as container:
        decoded = np.stack([frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)])
    folder = tmp_path / "labeled-data" / "session1"
    folder.mkdir(parents=True)
    Image.fromarray(decoded[10]).save(folder / "img10.png")  # neighbours from the video
    Image.fromarray(decoded[0]).save(folder / "img00.png")  # the video's first frame: edges repeat
    other = tmp_path / "labeled-data" / "other"
    other.mkdir()
    for i in range(3, 8):  # neighbours as files beside it
        Image.fromarray(frames[i]).save(other / f"img{i:03d}.png")
    Image.fromarray(frames[0]).save(other / "img100.png")  # no neighbours, no video: alone
    paths = ["labeled-data/session1/img10.png", "labeled-data/session1/img00.png", "labeled-data/other/img005.png",
             "labeled-data/other/img100.png"]
    sizes = np.array([[64, 48]] * 4, dtype=float)
    plan = plan_context(tmp_path, paths, sizes, [tmp_path / "videos"])
    assert (plan.from_files, plan.from_videos, plan.alone) == (1, 2, 1)
    assert (plan.rows[3] == 3).all()
    from lp.data.context import load_context_images
    from lp.data.images import load_images

    labeled = load_images(tmp_path, paths, 32, 32)[0]
    bank = load_context_images(plan, tmp_path, labeled, 32, 32)
    assert len(bank) == 4 + len(plan.extra)
    video_rows = plan.rows[0]
    expected = load_images(tmp_path, paths[:1], 32, 32)[0][0]
    assert (bank[video_rows[2]].float() - expected.float()).abs().mean() < 3  # the centre is the labeled frame
    assert plan.extra[video_rows[0] - 4][2] == 8 and plan.extra[video_rows[4] - 4][2] == 12
    assert [plan.extra[r - 4][2] if r >= 4 else "self" for r in plan.rows[1]] == [0, 0, "self", 1, 2]


def test_frame_numbers_that_do_not_match_the_video_stop_the_run(tmp_path):
    (tmp_path / "videos").mkdir()
    write_video(tmp_path / "videos" / "s.mp4", num_frames=20, size_wh=(64, 48), seed=3)
    folder = tmp_path / "labeled-data" / "s"
    folder.mkdir(parents=True)
    Image.fromarray(np.full((48, 64, 3), 255, np.uint8)).save(folder / "img5.png")
    plan = plan_context(tmp_path, ["labeled-data/s/img5.png"], np.array([[64.0, 48.0]]), [tmp_path / "videos"])
    from lp.data.context import load_context_images
    from lp.data.images import load_images

    with pytest.raises(UserError, match="do not count the video's frames"):
        load_context_images(plan, tmp_path, load_images(tmp_path, ["labeled-data/s/img5.png"], 32, 32)[0], 32, 32)


def test_video_prediction_in_batches_of_any_size_equals_one_window(tmp_path):
    from lp.cli import parse_train_args
    from lp.engine.loop import train
    from lp.inference import Model, frames_to_tensor

    write_project(tmp_path / "project")
    train(parse_train_args(tiny_args(tmp_path / "project", tmp_path / "run", "--model.head", "heatmap_context",
                                     "--train.max-steps", "2")))
    model = Model.from_dir(tmp_path / "run", device="cpu")
    torch.nn.init.normal_(model.network.head.project.weight, std=0.05)  # make neighbours matter
    frames = np.random.default_rng(0).integers(0, 255, (11, 60, 80, 3), dtype=np.uint8)
    tensor = frames_to_tensor(frames)
    expected = model.predict_tensor(tensor, neighbour_rows(torch.arange(11), 0, 10))
    for size in (1, 2, 3, 4, 11):
        table = model.predict_arrays(frames[i : i + size] for i in range(0, 11, size))
        assert len(table) == 11
        got = table.to_numpy().reshape(11, -1, 3)
        np.testing.assert_allclose(got, expected.numpy(), atol=1e-4)
    alone = model.predict_tensor(tensor)  # each frame its own neighbours: a different answer
    assert not torch.allclose(alone, expected)


def test_a_context_models_parts_of_a_video_join_to_the_whole_videos_predictions(tmp_path):
    """A video cut into parts across processes (lp.predict.plan_pieces): each part of a context
    model is decoded with the two frames on either side, so the frames at the seams see the
    neighbours they see in the whole video; the parts joined give the whole video's keypoints."""
    from lp.cli import parse_train_args
    from lp.data.video import probe_video
    from lp.engine.loop import train
    from lp.inference import Model
    from lp.predict import part_bounds, predict_video_frames

    write_project(tmp_path / "project")
    train(parse_train_args(tiny_args(tmp_path / "project", tmp_path / "run", "--model.head", "heatmap_context",
                                     "--train.max-steps", "2")))
    model = Model.from_dir(tmp_path / "run", device="cpu")
    torch.nn.init.normal_(model.network.head.project.weight, std=0.05)  # make neighbours matter
    write_video(tmp_path / "v.mp4", num_frames=41, size_wh=(80, 60))
    info = probe_video(tmp_path / "v.mp4")
    cpu = torch.device("cpu")
    whole = predict_video_frames(info, [model], 4, "cpu", cpu)[0]
    for parts in (2, 3):
        bounds = [part_bounds(41, 8, part, parts) for part in range(parts)]  # 6 stretches of 8 frames
        joined = np.concatenate([predict_video_frames(info, [model], 4, "cpu", cpu, *b)[0] for b in bounds])
        np.testing.assert_allclose(joined, whole, atol=1e-4)
    alone = predict_video_frames(info, [model], 4, "cpu", cpu, 16, 24)[0]  # a middle part
    np.testing.assert_allclose(alone, whole[16:24], atol=1e-4)
    with pytest.raises(ValueError, match="needs the CPU reader"):
        predict_video_frames(info, [model], 4, "dali", cpu, 16, 24)


def test_context_model_exports_to_onnx_and_predicts_labeled_frames(tmp_path, capsys):
    from lp.cli import parse_train_args
    from lp.config import PredictConfig
    from lp.engine.loop import train
    from lp.export import export_onnx
    from lp.predict import predict

    write_project(tmp_path / "project")
    train(parse_train_args(tiny_args(tmp_path / "project", tmp_path / "run", "--model.head", "heatmap_context",
                                     "--train.max-steps", "2")))
    path, report = export_onnx(tmp_path / "run")
    assert path.is_file() and "onnxruntime matches PyTorch within 0.001 px" in report
    trained = pd.read_csv(tmp_path / "run" / "predictions.csv", header=[0, 1, 2], index_col=0)
    capsys.readouterr()
    predict(PredictConfig(run_dir=(tmp_path / "run",), videos=tmp_path / "project" / "CollectedData.csv",
                          output_dir=tmp_path / "preds"))
    assert "context frames: 8 of 12" in capsys.readouterr().out
    again = pd.read_csv(tmp_path / "preds" / "CollectedData.csv", header=[0, 1, 2], index_col=0)
    # the same frames with the same neighbours as in training's final predictions
    trained.columns, again.columns = trained.columns.droplevel(0), again.columns.droplevel(0)
    columns = [c for c in trained.columns if c[1] in ("x", "y")]
    assert len(columns) == 6
    np.testing.assert_allclose(again[columns].to_numpy(), trained[columns].to_numpy(), atol=0.05)


def test_context_training_semi_supervised_and_video_prediction(tmp_path, capsys):
    from lp.cli import parse_train_args
    from lp.engine.loop import train
    from lp.predict import predict
    from lp.config import PredictConfig

    write_project(tmp_path / "project", num_frames=12)
    (tmp_path / "videos").mkdir()
    write_video(tmp_path / "videos" / "a.mp4", num_frames=9, size_wh=(80, 60))
    args = tiny_args(tmp_path / "project", tmp_path / "run", "--model.head", "heatmap_context",
                     "--unlabeled.video-dir", str(tmp_path / "videos"), "--unlabeled.clip-length", "4",
                     "--losses.temporal.enabled", "True", "--losses.unimodal.enabled", "True", "--train.grad-accum-steps", "2")
    result = train(parse_train_args(args))
    out = capsys.readouterr().out
    # img000..img011 side by side: frames 2..9 have all four neighbours as files
    assert "context frames: 8 of 12 labeled frames have their 4 neighbours (8 from image files" in out
    assert np.isfinite(result.pixel_error["train"]["mean"])
    predict(PredictConfig(run_dir=(tmp_path / "run",), videos=tmp_path / "videos"))
    table = pd.read_csv(tmp_path / "run" / "video_preds" / "a.csv", header=[0, 1, 2], index_col=0)
    assert len(table) == 9 and np.isfinite(table.to_numpy()).all()


def test_without_labeled_neighbours_the_unsupervised_losses_leave_the_context_weights_at_zero(tmp_path, capsys, monkeypatch):
    """The example's labeled frames have no neighbours (img00 ... img89 side by side are 90
    labeled frames, their numbers a count): the context head is the single-frame head, and the
    clips (which have neighbours) must not train its context weights with the unsupervised losses
    alone: they stay exactly zero, so video predictions are the single-frame model's too."""
    from safetensors.torch import load_file

    from lp.cli import parse_train_args
    from lp.engine.loop import train
    from tests.conftest import EXAMPLE, ROOT

    monkeypatch.chdir(ROOT)
    args = ["--config", "configs/mouse_semi.py", *tiny_args(EXAMPLE, tmp_path / "run")[2:], "--model.head", "heatmap_context",
            "--unlabeled.clip-length", "4", "--unlabeled.reader", "cpu", "--losses.temporal.epsilon-px", "0",
            "--losses.temporal.weight", "1", "--losses.temporal.min-confidence", "0", "--losses.unsupervised-start-steps", "0",
            "--losses.unsupervised-full-steps", "0"]  # a loss on every clip from the first step: any path it reaches moves
    train(parse_train_args(args))
    out = capsys.readouterr().out
    assert "were set aside: they differ from them" in out and "context head is the single-frame head" in out
    weights = load_file(tmp_path / "run" / "model_last.safetensors")
    assert torch.count_nonzero(weights["head.project.weight"]) == 0 and torch.count_nonzero(weights["head.project.bias"]) == 0


@pytest.mark.parametrize("arch", ["resnet18", "resnet50", "efficientnet_b0"])
def test_context_head_on_backbones_of_every_kind(arch):
    from lp.config import BackboneConfig, ModelConfig
    from lp.models import build_model

    network = build_model(ModelConfig(backbone=BackboneConfig(arch=arch), head="heatmap_context"), 4, (64, 96)).eval()
    with torch.no_grad():
        heatmaps = network(torch.rand(7, 3, 64, 96), neighbour_rows(torch.tensor([0, 3, 6]), 0, 6))
    assert heatmaps.shape == (3, 4, 16, 24)
    assert network.context_frames == 5


def test_without_neighbours_training_a_context_model_trains_the_single_frame_model(tmp_path):
    """Labeled frames with no neighbours: the context head's extra weights stay untrained, and the
    backbone and heatmap head end up exactly as `heatmap` trains them from the same seed."""
    from safetensors.torch import load_file

    from lp.cli import parse_train_args
    from lp.engine.loop import train

    write_project(tmp_path / "project", frame_step=10)
    for head in ("heatmap", "heatmap_context"):
        train(parse_train_args(tiny_args(tmp_path / "project", tmp_path / head, "--model.head", head)))
    single = load_file(tmp_path / "heatmap" / "model_last.safetensors")
    context = load_file(tmp_path / "heatmap_context" / "model_last.safetensors")
    assert torch.count_nonzero(context["head.project.weight"]) == 0
    if torch.cuda.is_available():
        return  # two GPU runs of one model differ in their last bits already (cuDNN's nondeterministic kernels)
    for name, value in single.items():
        other = context[name.replace("head.", "head.single.", 1)]
        torch.testing.assert_close(other, value, rtol=0, atol=0, msg=name)


def test_labeled_frames_without_any_neighbour_get_a_warning(tmp_path):
    from PIL import Image

    (tmp_path / "labeled-data").mkdir()
    Image.fromarray(np.zeros((48, 64, 3), np.uint8)).save(tmp_path / "labeled-data" / "img5.png")
    plan = plan_context(tmp_path, ["labeled-data/img5.png"], np.array([[64.0, 48.0]]), [tmp_path / "videos"])
    assert plan.alone == 1 and "warning: with no neighbours the context head is the single-frame head" in plan.describe()
