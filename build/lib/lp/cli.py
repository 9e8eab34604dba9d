"""Reading and writing configs: Python config files (`--config`), the command line (tyro, with
its errors folded into one line), and the saved config.yaml (read back strictly). The schema
itself, with every field documented, is lp.config."""

from __future__ import annotations

import dataclasses
import importlib.util
import io
import re
import sys
import types
import typing
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Literal

import yaml

from lp.config import TrainConfig
from lp.errors import UserError


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
        return f"invalid arguments (see {_help_command(prog)})"
    title, body = lines[0], " ".join(lines[1:])
    # tyro's box title repeats the body's first words ("Invalid choice" / "invalid choice ..."),
    # and its "Error parsing X:" names a section rather than a flag: keep what says something.
    if body.lower().startswith(title.lower().split()[0]) or title.lower() == "value error":
        title = ""
    body = re.sub(r"^Error parsing (--[\w.-]+): ", r"\1: ", body)
    body = re.sub(r"^Error parsing [\w.-]+: ", "", body)
    text = f"{title.lower()}: {body}" if title else body
    return f"{text} (see {_help_command(prog)})"


def _help_command(prog: str) -> str:
    """python train.py --help, or lp-train --help for the installed command."""
    return f"python {prog} --help" if prog.endswith(".py") else f"{prog} --help"


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
