"""Run by tests/test_multiprocess.py under `accelerate launch --multi_gpu --num_processes 2`
(two gloo processes on a CPU): trains with the given flags, then every process writes what the
test compares: its weights after the last step and the unlabeled clips its stream reads.

    accelerate launch ... tests/multiprocess_run.py OUT_DIR [--rank1-video-dir DIR] [train.py flags]
"""

import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lp.cli import parse_train_args  # noqa: E402
from lp.engine.loop import train  # noqa: E402


def main() -> None:
    out, args = Path(sys.argv[1]), sys.argv[2:]
    from accelerate import PartialState

    state = PartialState(cpu=not torch.cuda.is_available())  # as train() makes it
    rank, world = state.process_index, state.num_processes
    if args[:1] == ["--rank1-video-dir"]:  # a folder of videos for process 1 only (a failure on one process)
        folder, args = args[1], args[2:]
        if rank == 1:
            args += ["--unlabeled.video-dir", folder]
    cfg = parse_train_args(args)
    result = train(cfg)
    weights = {name: value.float().numpy() for name, value in result.last_weights.items()}
    arrays = {f"w/{name}": value for name, value in weights.items()}
    if cfg.unlabeled.video_dir is not None:  # the clips this process's stream reads first
        from lp.data.unlabeled import ClipStream

        stream = ClipStream(cfg.unlabeled, (64, 64), torch.device("cpu"), rank, world, cfg.run.seed, 0, "none")
        arrays["clips"] = np.stack([stream.next(step).images.numpy() for step in range(3)])
    out.mkdir(parents=True, exist_ok=True)
    np.savez(out / f"rank{rank}.npz", world=world, **arrays)


if __name__ == "__main__":
    main()
