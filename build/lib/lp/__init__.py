"""lp: semi-supervised animal pose estimation in plain PyTorch.

    from lp import Model
    model = Model.from_dir("outputs/2026-11-25/10-00-00")
    table = model.predict_video("session1.mp4")
"""

__version__ = "0.1.0"


def __getattr__(name: str):
    if name == "Model":  # imported on first use: `import lp` stays light
        from lp.inference import Model

        return Model
    raise AttributeError(f"module 'lp' has no attribute {name!r}")
