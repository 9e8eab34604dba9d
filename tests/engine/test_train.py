"""Short end-to-end runs on the CPU: outputs, resume, bad input."""


from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lp.cli import dump_config, load_config, parse_train_args
from lp.engine.checkpoint import load_exported
from lp.engine.loop import train
from lp.errors import UserError
from tests.conftest import EXAMPLE, ROOT, tiny_args, write_project


def run(args: list[str]):
    return train(parse_train_args(args))


def test_train_writes_parseable_outputs(project, tmp_path):
    result = run(tiny_args(project, tmp_path / "run"))
    run_dir = tmp_path / "run"
    assert result.run_dir == run_dir
    for name in ("config.yaml", "model_best.safetensors", "model_last.safetensors", "predictions.csv", "pixel_error.csv"):
        assert (run_dir / name).is_file(), name
    assert any((run_dir / "tensorboard").iterdir())
    assert load_config(run_dir / "config.yaml").train.max_steps == 4

    predictions = pd.read_csv(run_dir / "predictions.csv", header=[0, 1, 2], index_col=0)
    assert len(predictions) == 12
    coords = predictions.drop(columns="set", level=1)
    assert list(coords.columns.get_level_values(1).unique()) == ["nose", "left", "right"]
    assert set(coords.columns.get_level_values(2)) == {"x", "y", "likelihood"}
    likelihood = coords.xs("likelihood", axis=1, level=2).to_numpy()
    assert ((likelihood >= 0) & (likelihood <= 1)).all()
    splits = predictions.xs("split", axis=1, level=2).iloc[:, 0]
    assert splits.value_counts().to_dict() == {"train": 8, "val": 2, "test": 2}

    errors = pd.read_csv(run_dir / "pixel_error.csv", index_col=0)
    assert list(errors.columns) == ["nose", "left", "right", "split"]
    assert np.isnan(errors.loc["labeled-data/img001.png", "nose"])  # unlabeled in the CSV
    assert set(result.pixel_error) == {"train", "val", "test"}
    # predictions are in original pixels (80 x 60), not the 64 x 64 network input
    x = coords.xs("x", axis=1, level=2).to_numpy()
    _, metadata = load_exported(run_dir / "model_best.safetensors")
    assert metadata["keypoint_names"] == '["nose", "left", "right"]'
    assert np.isfinite(x).all()


def test_resume_takes_a_state_saved_from_a_step_graph(project, tmp_path):
    """A GPU run's whole-step graph (lp.engine.graph) saves its optimizer with the learning rate
    as a tensor and `capturable` set, which a CPU optimizer refuses; resuming sets both back."""
    import torch

    run_dir = tmp_path / "run"
    run(tiny_args(project, run_dir))
    saved = run_dir / "state" / "optimizer.bin"
    state = torch.load(saved, weights_only=False)
    for group in state["param_groups"]:
        group["lr"], group["capturable"] = torch.tensor(1e-3), True
    torch.save(state, saved)
    result = run(["--run.resume-from", str(run_dir), "--train.max-steps", "6"])
    assert len(result.step_times_s) == 2 and np.isfinite(result.pixel_error["train"]["mean"])


def test_resume_continues_where_it_stopped(project, tmp_path):
    run_dir = tmp_path / "run"
    run(tiny_args(project, run_dir))
    result = run(["--run.resume-from", str(run_dir), "--train.max-steps", "6"])
    assert len(result.step_times_s) == 2  # steps 5 and 6 only
    # step 5 ran straight on; step 6 validated and saved, a pause counted apart from training
    assert len(result.paused_s) == 2 and result.paused_s[0] == 0 < result.paused_s[1]
    assert result.paused_s[1] < result.step_times_s[1] - result.step_times_s[0]
    assert load_config(run_dir / "config.yaml").train.max_steps == 6
    _, metadata = load_exported(run_dir / "model_last.safetensors")
    assert metadata["step"] == "6"


def test_run_resumes_from_another_directory(tmp_path, monkeypatch, capsys):
    """Relative flags are resolved once: a run started in one folder resumes from any other."""
    write_project(tmp_path / "first" / "project")
    monkeypatch.chdir(tmp_path / "first")
    run(tiny_args("project", "runs/a"))
    saved = load_config(tmp_path / "first/runs/a/config.yaml")
    assert saved.data.data_dir == tmp_path / "first/project" and saved.run.output_dir == tmp_path / "first/runs/a"
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    result = run(["--run.resume-from", str(tmp_path / "first/runs/a"), "--train.max-steps", "6"])
    assert result.run_dir == tmp_path / "first/runs/a" and len(result.step_times_s) == 2
    assert "resuming " + str(tmp_path / "first/runs/a") + " from step 4 of 6" in capsys.readouterr().out


class Killed(BaseException):
    """Stands for the process being killed (raised where a kill could land)."""


def test_a_run_killed_while_saving_resumes_from_the_last_complete_state(project, tmp_path, monkeypatch, capsys):
    """Killed half-way through writing the step-4 state (its first file written, the rest not):
    the step-2 state is intact and the run resumes from it; killed between the two renames that
    swap a new state in, it resumes from the state that was being replaced."""
    from accelerate import Accelerator

    real_save = Accelerator.save_state
    run_dir = tmp_path / "run"

    def killed_in_save(self, output_dir=None, **kwargs):
        if _saved_step(run_dir) == 2:  # the second checkpoint: write one file, then die
            Path(output_dir).mkdir(parents=True, exist_ok=True)
            (Path(output_dir) / "model.safetensors").write_bytes(b"half")
            raise Killed
        return real_save(self, output_dir, **kwargs)

    monkeypatch.setattr(Accelerator, "save_state", killed_in_save)
    with pytest.raises(Killed):
        run(tiny_args(project, run_dir, "--train.max-steps", "6"))
    assert (run_dir / "state.new").is_dir() and (run_dir / "state").is_dir()
    monkeypatch.setattr(Accelerator, "save_state", real_save)
    capsys.readouterr()
    result = run(["--run.resume-from", str(run_dir)])
    assert "from step 2 of 6" in capsys.readouterr().out and len(result.step_times_s) == 4
    assert _saved_step(run_dir) == 6 and not (run_dir / "state.new").exists()
    assert sorted(p.name for p in run_dir.iterdir() if p.name.startswith("state")) == ["state"]

    # killed after state/ was renamed to state.old/, before state.new/ took its place
    (run_dir / "state").rename(run_dir / "state.old")
    result = run(["--run.resume-from", str(run_dir), "--train.max-steps", "8"])
    assert "from step 6 of 8" in capsys.readouterr().out and len(result.step_times_s) == 2
    assert sorted(p.name for p in run_dir.iterdir() if p.name.startswith("state")) == ["state"]


def _saved_step(run_dir: Path) -> int:
    """The step of the last exported model (0 before the first)."""
    path = run_dir / "model_last.safetensors"
    return int(load_exported(path)[1]["step"]) if path.exists() else 0


def test_resume_before_the_first_checkpoint_says_so(project, tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "config.yaml").write_text(dump_config(parse_train_args(tiny_args(project, run_dir))))
    with pytest.raises(UserError, match="stopped before its first checkpoint .*train again with --run.output-dir"):
        run(["--run.resume-from", str(run_dir)])


def test_regression_head_and_accumulation(project, tmp_path):
    result = run(tiny_args(project, tmp_path / "run", "--model.head", "regression", "--train.grad-accum-steps", "2",
                           "--data.augmentation", "dlc", "--optim.optimizer", "adamw", "--train.freeze-backbone-steps", "2"))
    assert np.isfinite(result.pixel_error["test"]["mean"])


def test_bundled_example_trains(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    result = run(["--config", "configs/mouse.py", *tiny_args(EXAMPLE, tmp_path / "run")[2:], "--train.max-steps", "2"])
    predictions = pd.read_csv(tmp_path / "run" / "predictions.csv", header=[0, 1, 2], index_col=0)
    assert predictions.shape == (90, 17 * 3 + 1)
    assert result.pixel_error["val"]["count"] > 0


def test_bad_inputs_fail_before_writing(tmp_path):
    project = tmp_path / "p"
    write_project(project, num_frames=6)
    (project / "labeled-data" / "img003.png").unlink()
    with pytest.raises(UserError, match="img003.png is listed in the labels but missing"):
        run(tiny_args(project, tmp_path / "run"))
    assert not (tmp_path / "run").exists()

    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(UserError, match="is empty"):
        run(tiny_args(empty, tmp_path / "run"))
    with pytest.raises(UserError, match="not found"):
        run(tiny_args(tmp_path / "nowhere", tmp_path / "run"))
    with pytest.raises(UserError, match="CollectedData.csv not found"):
        (project / "CollectedData.csv").rename(project / "labels.csv")
        run(tiny_args(project, tmp_path / "run"))
    with pytest.raises(UserError, match="not an lp run directory"):
        run(["--run.resume-from", str(project)])
    write_project(project, num_frames=6)
    with pytest.raises(UserError, match="flip-pairs names 'tail'"):
        run(tiny_args(project, tmp_path / "run", "--data.flip-pairs", "left", "tail"))
    assert not (tmp_path / "run").exists()


def test_semi_supervised_example_trains_and_logs_each_term(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    args = ["--config", "configs/mouse_semi.py", *tiny_args(EXAMPLE, tmp_path / "run")[2:],
            "--unlabeled.clip-length", "4", "--unlabeled.augment", "True", "--losses.unimodal.enabled", "True",
            "--losses.unsupervised-start-steps", "0", "--losses.unsupervised-full-steps", "0"]
    result = run(args)
    assert np.isfinite(result.pixel_error["test"]["mean"])
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(tmp_path / "run" / "tensorboard"))
    events.Reload()
    tags = set(events.Tags()["scalars"])
    for name in ("temporal", "pca_singleview", "pca_multiview", "unimodal"):
        assert {f"train/{name}", f"train/{name}_weighted"} <= tags
        assert all(np.isfinite(e.value) for e in events.Scalars(f"train/{name}"))
    saved = load_config(tmp_path / "run" / "config.yaml")
    assert saved.losses.pca_multiview.views == ((0, 1, 2, 3, 4, 5, 6), (8, 9, 10, 11, 12, 13, 14))

    # predict.py adds each frame's PCA errors for a run trained with PCA losses
    from lp.config import PredictConfig
    from lp.predict import predict
    from tests.data.test_video import write_video

    write_video(tmp_path / "v.mp4", num_frames=5, size_wh=(96, 64))
    predict(PredictConfig(run_dir=(tmp_path / "run",), videos=tmp_path / "v.mp4", output_dir=tmp_path / "preds"))
    single = pd.read_csv(tmp_path / "preds" / "v_pca_singleview_error.csv", index_col=0)
    multi = pd.read_csv(tmp_path / "preds" / "v_pca_multiview_error.csv", index_col=0)
    assert len(single) == len(multi) == 5
    assert list(single.columns) == [f"{part}_{view}" for view in ("top", "bot") for part in
                                    ("paw1LH", "paw2LF", "paw3RF", "paw4RH", "tailBase", "tailMid", "nose")]
    assert list(multi.columns) == list(single.columns) and (single.to_numpy() >= 0).all()


def test_unsupervised_loss_needs_videos(project, tmp_path):
    with pytest.raises(UserError, match="set --unlabeled.video-dir"):
        run(tiny_args(project, tmp_path / "run", "--losses.temporal.enabled", "True"))
    assert not (tmp_path / "run").exists()


def test_images_per_s_leaves_out_validation_pauses(project, tmp_path, monkeypatch):
    """The logged (and shown) images/s is the training rate: a 3-second validation pause between
    two log steps does not drag it down."""
    import time

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    import lp.engine.loop as loop

    validate = loop.validate

    def slow_validate(run, step):
        validate(run, step)
        time.sleep(3.0)

    monkeypatch.setattr(loop, "validate", slow_validate)
    run(tiny_args(project, tmp_path / "run", "--train.max-steps", "6", "--eval.val-every-steps", "3"))
    events = EventAccumulator(str(tmp_path / "run" / "tensorboard"))
    events.Reload()
    rates = {event.step: event.value for event in events.Scalars("train/images_per_s")}
    # the log at step 4 covers steps 3 and 4 (8 frames) and the pause after step 3: counting the
    # pause would give under 8 / 3 images/s
    assert rates[4] > 8 / 3, rates


def test_train_twice_in_one_process_with_different_precisions(project, tmp_path):
    """Accelerate keeps the first Accelerator's precision for the process unless lp clears it."""
    first = run(tiny_args(project, tmp_path / "a", "--train.max-steps", "2"))
    second = run(tiny_args(project, tmp_path / "b", "--train.max-steps", "2", "--train.precision", "bf16"))
    assert np.isfinite(first.pixel_error["train"]["mean"]) and np.isfinite(second.pixel_error["train"]["mean"])
    assert load_config(tmp_path / "b" / "config.yaml").train.precision == "bf16"


@pytest.mark.parametrize("compile_", [False, True])
def test_the_clip_pass_normalises_with_the_labeled_frames_statistics(tmp_path, monkeypatch, compile_):
    """Semi-supervised step: the clips are normalised with the labeled frames' batch statistics
    (one pass over both, each batch norm splitting its rows), which alone update the running
    statistics; the same compiled (torch.compile on the CPU: one graph, the same terms)."""
    import torch
    from accelerate import Accelerator
    from accelerate.state import AcceleratorState

    from lp.engine.loop import build_forward, build_run

    monkeypatch.chdir(ROOT)
    cfg = parse_train_args(["--config", "configs/mouse_semi.py", *tiny_args(EXAMPLE, tmp_path / "run")[2:],
                            "--unlabeled.clip-length", "4", "--unlabeled.reader", "cpu"])
    AcceleratorState._reset_state()  # fp32, whatever precision an earlier test left
    run_ = build_run(cfg, Accelerator(cpu=True))
    run_.model.train()
    if compile_:  # build_run compiles on CUDA only
        torch._dynamo.reset()
        run_.forward_terms = build_forward(cfg, run_.model, run_.network, run_.losses, run_.data.image_hw, False, "default")
    norms = [m for m in run_.network.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    assert norms and all(hasattr(m, "shared") for m in norms)
    start = {name: value.clone() for name, value in run_.network.state_dict().items()}
    batch, clips = run_.make_batch(0), run_.stream.next(0)
    run_.forward_terms(batch, None)
    labeled_only = [m.running_mean.clone() for m in norms]
    run_.network.load_state_dict(start)
    terms = run_.forward_terms(batch, clips)
    assert all(torch.isfinite(value) for value in terms.values()) and "temporal" in terms
    for norm, expected in zip(norms, labeled_only):
        # the same update (ordinary batch norm without clips, lp's record pass with them), to float32's last bits
        torch.testing.assert_close(norm.running_mean, expected, rtol=1e-5, atol=1e-6)
        assert norm.training and norm.shared == "off"
    if not compile_:  # what the first batch norm saw and gave: one pass over [labeled; clips]
        calls = []
        norms[0].register_forward_hook(lambda layer, args, out: calls.append((layer.shared, layer.labeled_rows, args[0], out)))
        run_.forward_terms(batch, clips)
        [(mode, rows, x_both, y_both)] = calls
        assert (mode, rows) == ("split", len(batch.images)) and len(x_both) == rows + len(clips.images)
        x_labeled, x_clips, y_clips = x_both[:rows], x_both[rows:], y_both[rows:]
        mean, var = x_labeled.mean((0, 2, 3)), x_labeled.var((0, 2, 3), unbiased=False)
        expected = (x_clips - mean[:, None, None]) / torch.sqrt(var[:, None, None] + norms[0].eps)
        expected = expected * norms[0].weight[:, None, None] + norms[0].bias[:, None, None]
        # (the output as the in-place ReLU after it left it)
        torch.testing.assert_close(y_clips, expected.clamp(min=0), rtol=1e-4, atol=1e-4)
    assert not torch.equal(labeled_only[0], start["backbone.body.1.running_mean"])  # the labeled pass did update them


def compare_compiled_with_eager(tmp_path, make_accelerator, reader: str) -> None:
    """Semi-supervised forward terms, their gradients and the running statistics after each of
    three calls, eager and compiled, from the same weights and batches."""
    import torch
    from accelerate.state import AcceleratorState

    from lp.engine.loop import build_forward, build_run

    cfg = parse_train_args(["--config", "configs/mouse_semi.py", *tiny_args(EXAMPLE, tmp_path / "run")[2:],
                            "--unlabeled.clip-length", "4", "--unlabeled.reader", reader, "--losses.unsupervised-start-steps", "0"])
    AcceleratorState._reset_state()  # fp32, whatever precision an earlier test left
    run_ = build_run(cfg, make_accelerator())
    run_.model.train()
    norms = [m for m in run_.network.modules() if hasattr(m, "shared")]
    params = [p for p in run_.network.parameters() if p.requires_grad]
    start = {name: value.clone() for name, value in run_.network.state_dict().items()}
    steps = [(run_.make_batch(s), run_.stream.next(s)) for s in range(3)]

    def trace(compiled: bool) -> list:
        torch._dynamo.reset()
        forward_terms = build_forward(cfg, run_.model, run_.network, run_.losses, run_.data.image_hw, cfg.train.channels_last
                                      and run_.accelerator.device.type == "cuda", "reduce-overhead" if compiled else None)
        run_.network.load_state_dict(start)
        calls = []
        for batch, clips in steps:
            torch.compiler.cudagraph_mark_step_begin()
            terms = forward_terms(batch, clips)
            grads = torch.autograd.grad(sum(terms.values()), params)
            calls.append(({k: v.detach().clone() for k, v in terms.items()}, torch.cat([g.flatten() for g in grads]),
                          torch.cat([torch.cat([n.running_mean, n.running_var]) for n in norms])))
        return calls

    for call, ((terms_e, grads_e, stats_e), (terms_c, grads_c, stats_c)) in enumerate(zip(trace(False), trace(True))):
        assert terms_e.keys() == terms_c.keys() and {"heatmap_mse", "temporal"} <= terms_e.keys()
        gaps = {name: float((terms_c[name] - terms_e[name]).abs() / terms_e[name].abs()) for name in terms_e}
        gaps |= {"running statistics": float((stats_c - stats_e).norm() / stats_e.norm()),
                 "gradients": float((grads_c - grads_e).norm() / grads_e.norm())}
        print(f"call {call}, compiled vs eager, relative: " + ", ".join(f"{k} {v:.1e}" for k, v in gaps.items()))
        for name in terms_e:
            torch.testing.assert_close(terms_c[name], terms_e[name], rtol=1e-4, atol=1e-6)
        torch.testing.assert_close(stats_c, stats_e, rtol=1e-5, atol=1e-6)  # updated on every call, replays too
        # the clip losses' gradients pass through the recorded statistics (invstd cubed), which
        # magnifies rounding on some batches (printed above); a stale or missing statistic would
        # be off by the gradient's own size
        assert gaps["gradients"] < 0.05


def test_compiled_semi_steps_equal_eager_ones(tmp_path, monkeypatch):
    """--train.compile (here torch.compile on the CPU; tests/test_gpu.py: CUDA graphs): the
    compiled forward gives the eager loss terms, gradients and running statistics, call after
    call, where the compiled graph reads the statistics the same call recorded."""
    from accelerate import Accelerator

    monkeypatch.chdir(ROOT)
    compare_compiled_with_eager(tmp_path, lambda: Accelerator(cpu=True), "cpu")
