"""Train a pose model: python train.py --config configs/mouse.py [--section.field value ...]"""

from lp.commands import train
from lp.errors import run_cli

if __name__ == "__main__":
    run_cli(train)
