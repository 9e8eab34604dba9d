"""Where predict.py's fixed cost goes: one process, stages timed from its start (imports, model
load, DALI/PyAV reader start, first batch, all frames, outputs written).

    python bench/predict_startup.py RUN_DIR VIDEO [--precision bf16] [--reader auto]
"""

import time

start = time.perf_counter()
import argparse  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
stamps = {}


def mark(name: str) -> None:
    stamps[name] = round(time.perf_counter() - start, 3)


import torch  # noqa: E402

mark("import torch")
from lp.predict import predict_video_frames, write_video_outputs  # noqa: E402

mark("import lp.predict")
from lp.data.video import open_videos  # noqa: E402
from lp.inference import Model  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("run_dir", type=Path)
parser.add_argument("video", type=Path)
parser.add_argument("--precision", default="bf16")
parser.add_argument("--reader", default="auto")
args = parser.parse_args()
model = Model.from_dir(args.run_dir, precision=args.precision)
if model.device.type == "cuda":
    torch.cuda.synchronize()
mark("model loaded")
[(info, reader)] = open_videos(args.video, args.reader, model.device, "--reader")  # predict.py's per-video choice
mark("video probed")
if reader == "dali":
    import nvidia.dali  # noqa: F401
mark(f"import reader ({reader})")
result = predict_video_frames(info, [model], 64, reader, model.device)[0]
mark(f"{info.num_frames} frames predicted")
write_video_outputs(model, Path("/tmp/predict_startup"), info, result, 1.0)
mark("outputs written")
print("BENCH predict_startup " + str(stamps))
