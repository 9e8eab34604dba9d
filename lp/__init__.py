"""lp: semi-supervised animal pose estimation in plain PyTorch."""

__version__ = "0.1.0"
