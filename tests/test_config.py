import subprocess
import sys

import pytest

from lp.config import TrainConfig
from lp.cli import dump_config, load_config, load_config_file, parse_train_args
from lp.data.labels import read_labels
from lp.errors import UserError
from lp.models import build_model
from tests.conftest import ROOT

CONFIGS = sorted((ROOT / "configs").glob("*.py"))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_every_config_loads_and_builds(path, monkeypatch):
    monkeypatch.chdir(ROOT)
    cfg = load_config_file(path)
    frames = read_labels(cfg.data.data_dir / cfg.data.csv_file)
    cfg.model.backbone.weights = "none"  # never download in tests
    model = build_model(cfg.model, frames.num_keypoints, (cfg.data.image_height, cfg.data.image_width))
    assert sum(p.numel() for p in model.parameters()) > 0


def test_overrides_apply_on_top_of_the_config_file():
    cfg = parse_train_args(["--config", str(ROOT / "configs/mouse.py"), "--train.max-steps", "7", "--model.backbone.arch", "resnet18"])
    assert cfg.train.max_steps == 7 and cfg.model.backbone.arch == "resnet18"
    assert cfg.data.data_dir == ROOT / "data/mirror-mouse-example"


def test_paths_are_absolute_whatever_the_directory(tmp_path, monkeypatch):
    """Config files find their data from where they are; flags are taken from the current
    directory; either way the config (and so config.yaml) holds absolute paths."""
    monkeypatch.chdir(tmp_path)
    cfg = parse_train_args(["--config", str(ROOT / "configs/mouse_semi.py")])
    assert cfg.data.data_dir == ROOT / "data/mirror-mouse-example" and cfg.data.data_dir.is_dir()
    assert cfg.unlabeled.video_dir == ROOT / "data/mirror-mouse-example/videos"
    cfg = parse_train_args(["--data.data-dir", "project", "--run.output-dir", "runs/a", "--model.backbone.weights", "w.pth"])
    assert cfg.data.data_dir == tmp_path / "project" and cfg.run.output_dir == tmp_path / "runs/a"
    assert cfg.model.backbone.weights == str(tmp_path / "w.pth")
    assert parse_train_args([]).model.backbone.weights == "none"


def test_save_and_reload_round_trip(tmp_path):
    cfg = parse_train_args(["--data.flip-pairs", "a", "b", "--run.output-dir", "/x", "--optim.milestone-fractions", "0.3", "0.6"])
    path = tmp_path / "config.yaml"
    path.write_text(dump_config(cfg))
    assert load_config(path) == cfg


def test_reload_is_strict(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(dump_config(TrainConfig()).replace("max_steps:", "max_stepz:"))
    with pytest.raises(UserError, match="unknown key train.max_stepz"):
        load_config(path)
    path.write_text(dump_config(TrainConfig()).replace("head: heatmap", "head: bananas"))
    with pytest.raises(UserError, match="model.head must be one of"):
        load_config(path)


@pytest.mark.parametrize(
    "args, flag",
    [
        (["--train.max-steps", "abc"], "--train.max-steps"),
        (["--train.max-steps", "-3"], "--train.max-steps"),
        (["--model.backbone.arch", "vgg"], "--model.backbone.arch"),
        (["--data.image-height", "100"], "--data.image-height"),
        (["--train.precision", "fp8"], "--train.precision"),
    ],
)
def test_bad_values_name_the_flag(args, flag):
    with pytest.raises(UserError, match=flag) as info:
        parse_train_args(args)
    assert "\n" not in str(info.value)


def test_cli_error_is_one_line_without_traceback():
    result = subprocess.run(
        [sys.executable, "train.py", "--model.backbone.arch", "vgg"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lp: error:") and "--model.backbone.arch" in lines[0]
    assert "invalid choice: invalid choice" not in lines[0].lower()


@pytest.mark.parametrize("args", [["--train.max-steps", "abc"], ["--train.max-steps", "-3"], ["--run.seed"]])
def test_cli_errors_say_things_once(args):
    with pytest.raises(UserError) as info:
        parse_train_args(args)
    text = str(info.value)
    assert "value error" not in text.lower() and "error parsing" not in text.lower()
    assert not text.lower().startswith("missing argument: missing"), text


def test_help_documents_every_field():
    result = subprocess.run([sys.executable, "train.py", "--help"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0
    for flag in ("--config", "--train.max-steps", "--run.output-dir", "--data.data-dir", "--model.backbone.weights", "--run.resume-from"):
        assert flag in result.stdout
    assert "Number of optimizer steps" in result.stdout


def test_booleans_take_a_value():
    assert parse_train_args(["--train.compile", "True"]).train.compile is True
    assert parse_train_args(["--train.channels-last", "False"]).train.channels_last is False


def test_readme_documents_every_flag():
    import dataclasses
    import typing

    readme = (ROOT / "README.md").read_text()

    def flags(cls, prefix=""):
        for f in dataclasses.fields(cls):
            hint = typing.get_type_hints(cls)[f.name]
            if dataclasses.is_dataclass(hint):
                yield from flags(hint, prefix + f.name + ".")
            else:
                yield "--" + (prefix + f.name).replace("_", "-")

    missing = [flag for flag in flags(TrainConfig) if f"`{flag}`" not in readme]
    assert not missing, f"README.md's configuration reference lacks {missing}"


def test_no_config_says_what_it_trains(capsys):
    parse_train_args(["--model.backbone.arch", "resnet18"])
    notice = capsys.readouterr().err
    assert "no --config given: resnet18 at 256x256 for 2000 steps" in notice and "configs/mouse.py" in notice
    parse_train_args(["--config", str(ROOT / "configs/mouse.py")])
    assert capsys.readouterr().err == ""


def test_console_commands_are_the_scripts(capsys):
    """pyproject's lp-train / lp-predict / lp-render name functions that exist and parse as the
    scripts do (installing is not repeated here: it copies the same package)."""
    import importlib
    import tomllib

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert set(scripts) == {"lp-train", "lp-predict", "lp-render"}
    for name, target in scripts.items():
        module, function = target.split(":")
        assert callable(getattr(importlib.import_module(module), function)), target
    from lp.commands import train

    with pytest.raises(SystemExit) as done:
        train(["--help"], prog="lp-train")
    assert done.value.code == 0 and "usage: lp-train" in capsys.readouterr().out
    with pytest.raises(UserError, match=r"see lp-train --help"):
        train(["--train.max-steps", "x"], prog="lp-train")
