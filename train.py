"""Train a pose model: python train.py --config configs/mouse.py [--section.field value ...]"""


from lp.errors import run_cli


def main(argv: list[str]) -> None:
    from lp.cli import parse_train_args

    cfg = parse_train_args(argv, prog="train.py")
    from lp.engine.loop import train

    train(cfg)


if __name__ == "__main__":
    run_cli(main)
