"""Command line: ``tvseg prepare | train | evaluate | tables | figures``.

Every command reads the same configuration (``--config config.yaml --config profiles/X/config.yaml``,
later files overriding earlier ones) and does one step; the Snakemake workflow calls them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tvseg.config import ConfigError, RunId, load_config


def _add_config(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", action="append", default=None, metavar="YAML",
        help="configuration file; repeat to override (default: config.yaml)",
    )  # fmt: skip
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def cmd_prepare(args) -> None:
    from tvseg.config import prepared_dir
    from tvseg.datasets import fetch, prepare_dataset
    from tvseg.experiment import prepare_settings

    config = load_config(*(args.config or []))
    mirror = Path(config["mirror"]) if config["mirror"] else None
    tree = fetch(args.dataset, Path(config["data_root"]), mirror=mirror, progress=not args.quiet)
    out = Path(args.out) if args.out else prepared_dir(config, args.dataset)
    prepare_dataset(args.dataset, tree, out, prepare_settings(config, args.dataset), progress=not args.quiet)
    print(f"prepared {args.dataset} into {out}")


def cmd_train(args) -> None:
    from tvseg.experiment import run_dir, train_settings
    from tvseg.train import train

    config = load_config(*(args.config or []))
    run = RunId.parse(args.run)
    out = Path(args.out) if args.out else run_dir(config, run, args.seed)
    final = train(
        train_settings(config, run, args.seed), out, device=args.device or config["device"], progress=not args.quiet
    )
    print(f"trained {run} (seed {args.seed}): {final}")


def cmd_evaluate(args) -> None:
    from tvseg.config import prepared_dir
    from tvseg.evaluate import evaluate_run
    from tvseg.experiment import conditions, run_dir

    config = load_config(*(args.config or []))
    run = RunId.parse(args.run)
    folder = run_dir(config, run, args.seed)
    out = evaluate_run(
        Path(args.model) if args.model else folder / "model.pt",
        prepared_dir(config, run.dataset),
        Path(args.out) if args.out else folder / "evaluation.csv",
        conditions(config),
        noise_seed=config["evaluation"]["seed"],
        post_tv=config["post_tv"],
        run=str(run),
        seed=args.seed,
        qualitative_dir=Path(args.qualitative) if args.qualitative else None,
        qualitative_images=config["evaluation"]["qualitative_images"],
        device=args.device or config["device"],
        progress=not args.quiet,
    )
    print(f"evaluated {run} (seed {args.seed}): {out}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tvseg", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    prepare = commands.add_parser("prepare", help="download (or use the mirror) and prepare one dataset")
    prepare.add_argument("--dataset", required=True, choices=["wbc", "camvid", "sunrgbd"])
    prepare.add_argument("--out", help="output folder (default: <data_root>/prepared/<dataset>)")
    _add_config(prepare)
    prepare.set_defaults(func=cmd_prepare)

    train = commands.add_parser("train", help="train one run, resuming from its checkpoint if there is one")
    train.add_argument("--run", required=True, help="run id, e.g. runet_wbc_noisy")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--out", help="run folder (default: <results_dir>/runs/<run>/seed<seed>)")
    train.add_argument("--device", help="override the configured device (auto, cpu, cuda, cuda:N)")
    _add_config(train)
    train.set_defaults(func=cmd_train)

    evaluate = commands.add_parser("evaluate", help="evaluate one trained run under every noise condition")
    evaluate.add_argument("--run", required=True)
    evaluate.add_argument("--seed", type=int, default=0)
    evaluate.add_argument("--model", help="model.pt (default: the run folder's)")
    evaluate.add_argument("--out", help="tidy CSV (default: the run folder's evaluation.csv)")
    evaluate.add_argument("--qualitative", help="folder for predicted label maps (PNG)")
    evaluate.add_argument("--device")
    _add_config(evaluate)
    evaluate.set_defaults(func=cmd_evaluate)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except (ConfigError, FileNotFoundError, ValueError, RuntimeError) as error:
        print(f"tvseg {args.command}: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
