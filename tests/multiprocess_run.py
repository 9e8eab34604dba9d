"""Run by tests/test_multiprocess.py under `accelerate launch --multi_gpu --num_processes 2`
(two gloo processes on a CPU): trains with the given flags, then every process writes what the
test compares: its weights after the last step and the unlabeled clips its stream reads.

    accelerate launch ... tests/multiprocess_run.py OUT_DIR [--step-graph] [--rank1-video-dir DIR] [train.py flags]

--step-graph: the steps go through lp.engine.graph.StepGraph, whatever the device: on a CPU its
eager form (the gradients all-reduced in one flat buffer instead of by DDP), on GPUs its graphs.
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
    if args[:1] == ["--step-graph"]:
        args = args[1:]
        use_step_graph()
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


def use_step_graph() -> None:
    """train() builds its run with a StepGraph (as compiled runs on GPUs do), the network called
    directly."""
    import lp.engine.loop as loop
    from lp.engine.graph import StepGraph

    build_run = loop.build_run

    def with_step_graph(cfg, accelerator):
        run = build_run(cfg, accelerator)
        if run.graph is None:
            run.graph = StepGraph(accelerator.num_processes)
            run.forward_terms = loop.build_forward(cfg, run.network, run.network, run.losses, run.data.image_hw,
                                                   run.channels_last, None)
        return run

    loop.build_run = with_step_graph


if __name__ == "__main__":
    main()
