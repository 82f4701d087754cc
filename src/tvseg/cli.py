"""Command line: ``tvseg fetch | prepare | noisy-split | train | evaluate | collect | table | figure | panels``.

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


def cmd_fetch(args) -> None:
    import json

    from tvseg.datasets import fetch

    config = load_config(*(args.config or []))
    mirror = Path(config["mirror"]) if config["mirror"] else None
    tree = fetch(args.dataset, Path(config["data_root"]), mirror=mirror, progress=not args.quiet)
    record = {"dataset": args.dataset, "tree": str(tree.resolve()), "source": "mirror" if mirror else "download"}
    if args.record:
        Path(args.record).parent.mkdir(parents=True, exist_ok=True)
        Path(args.record).write_text(json.dumps(record, indent=1) + "\n")
    print(f"{args.dataset}: upstream tree at {tree} ({record['source']}, checked)")


def cmd_prepare(args) -> None:
    import dataclasses

    from tvseg.config import prepared_dir
    from tvseg.datasets import fetch, prepare_dataset
    from tvseg.experiment import prepare_settings

    config = load_config(*(args.config or []))
    mirror = Path(config["mirror"]) if config["mirror"] else None
    tree = fetch(args.dataset, Path(config["data_root"]), mirror=mirror, progress=not args.quiet)
    out = Path(args.out) if args.out else prepared_dir(config, args.dataset)
    settings = prepare_settings(config, args.dataset)
    if args.without_noisy:
        settings = dataclasses.replace(settings, noisy=None)
    prepare_dataset(args.dataset, tree, out, settings, progress=not args.quiet)
    print(f"prepared {args.dataset} into {out}")


def cmd_noisy_split(args) -> None:
    from tvseg.config import prepared_dir
    from tvseg.datasets import make_noisy_split
    from tvseg.experiment import prepare_settings

    config = load_config(*(args.config or []))
    folder = make_noisy_split(prepared_dir(config, args.dataset), prepare_settings(config, args.dataset).noisy)
    print(f"wrote the noisy training set {folder}")


def cmd_collect(args) -> None:
    from tvseg.report import load_metrics

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    load_metrics([Path(p) for p in args.inputs]).to_csv(out, index=False)
    print(f"collected {len(args.inputs)} evaluation files into {out}")


def cmd_table(args) -> None:
    import pandas as pd

    from tvseg.report import render_table

    for path in render_table(pd.read_csv(args.metrics), args.number, args.reading, Path(args.out_prefix)):
        print(f"wrote {path}")


def cmd_summary(args) -> None:
    import json

    import pandas as pd

    from tvseg.report import summary

    Path(args.out).write_text(json.dumps(summary(pd.read_csv(args.metrics)), indent=1, sort_keys=True) + "\n")
    print(f"wrote {args.out}")


def cmd_claims(args) -> None:
    import pandas as pd

    from tvseg.claims import claims_report

    Path(args.out).write_text(claims_report(pd.read_csv(args.metrics)))
    print(f"wrote {args.out}")


def cmd_dvc_yaml(args) -> None:
    from tvseg.dvc_stages import render

    sys.stdout.write(render(args.profile))


def cmd_figure(args) -> None:
    import pandas as pd

    from tvseg.report import plot_noise_curves

    plot_noise_curves(pd.read_csv(args.metrics), args.dataset, Path(args.png), Path(args.pdf))
    print(f"wrote {args.png} and {args.pdf}")


def cmd_panels(args) -> None:
    from tvseg.report import plot_qualitative

    plot_qualitative([Path(p) for p in args.panel_dirs], Path(args.out), tuple(args.conditions), args.images)
    print(f"wrote {args.out}")


def cmd_train(args) -> None:
    import torch

    from tvseg.experiment import run_dir, train_settings
    from tvseg.train import train

    if args.threads:
        torch.set_num_threads(args.threads)
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
        qualitative_conditions=tuple(config["evaluation"]["qualitative_conditions"]),
        device=args.device or config["device"],
        progress=not args.quiet,
    )
    print(f"evaluated {run} (seed {args.seed}): {out}")


def cmd_lambda_study(args) -> None:
    from tvseg.tuning import lambda_study

    config = load_config(*(args.config or []))
    out = Path(args.out) if args.out else Path(config["results_dir"]) / "lambda_study" / args.dataset
    lambda_study(
        config, args.dataset, args.lams, args.post_tv_lams, args.seeds or list(config["seeds"]),
        args.validation_count, args.levels, out, device=args.device or config["device"],
    )  # fmt: skip
    print((out / "summary.md").read_text())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tvseg", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    datasets = ["wbc", "camvid", "sunrgbd"]
    fetch = commands.add_parser("fetch", help="download a dataset (or check the mirror's copy)")
    fetch.add_argument("--dataset", required=True, choices=datasets)
    fetch.add_argument("--record", help="write where the upstream tree is to this JSON file")
    _add_config(fetch)
    fetch.set_defaults(func=cmd_fetch)

    prepare = commands.add_parser("prepare", help="download (or use the mirror) and prepare one dataset")
    prepare.add_argument("--dataset", required=True, choices=datasets)
    prepare.add_argument("--out", help="output folder (default: <data_root>/prepared/<dataset>)")
    prepare.add_argument("--without-noisy", action="store_true", help="skip the noisy training set (see noisy-split)")
    _add_config(prepare)
    prepare.set_defaults(func=cmd_prepare)

    noisy = commands.add_parser("noisy-split", help="build the paper's noisy training set of a prepared dataset")
    noisy.add_argument("--dataset", required=True, choices=datasets)
    _add_config(noisy)
    noisy.set_defaults(func=cmd_noisy_split)

    train = commands.add_parser("train", help="train one run, resuming from its checkpoint if there is one")
    train.add_argument("--run", required=True, help="run id, e.g. runet_wbc_noisy")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--out", help="run folder (default: <results_dir>/runs/<run>/seed<seed>)")
    train.add_argument("--device", help="override the configured device (auto, cpu, cuda, cuda:N)")
    train.add_argument("--threads", type=int, help="CPU threads for torch (default: torch's choice)")
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
    collect = commands.add_parser("collect", help="concatenate evaluation CSVs")
    collect.add_argument("inputs", nargs="+")
    collect.add_argument("--out", required=True)
    collect.set_defaults(func=cmd_collect)

    table = commands.add_parser("table", help="render one of Tables 1-6 (Markdown, LaTeX, CSV)")
    table.add_argument("--metrics", required=True)
    table.add_argument("--number", type=int, required=True, choices=range(1, 7))
    table.add_argument("--reading", choices=["std", "variance"], default="std")
    table.add_argument("--out-prefix", required=True)
    table.set_defaults(func=cmd_table)

    summarize = commands.add_parser("summary", help="headline metrics as JSON (DVC metrics)")
    summarize.add_argument("--metrics", required=True)
    summarize.add_argument("--out", required=True)
    summarize.set_defaults(func=cmd_summary)

    claims = commands.add_parser("claims", help="check the paper's four claims on the metrics (Markdown)")
    claims.add_argument("--metrics", required=True)
    claims.add_argument("--out", required=True)
    claims.set_defaults(func=cmd_claims)

    dvc_yaml = commands.add_parser("dvc-yaml", help="print dvc.yaml for a profile (stages calling Snakemake)")
    dvc_yaml.add_argument("--profile", default="profiles/cpu")
    dvc_yaml.set_defaults(func=cmd_dvc_yaml)

    figure = commands.add_parser("figure", help="render Figure 2, 4 or 6 (mIoU against gaussian sigma)")
    figure.add_argument("--metrics", required=True)
    figure.add_argument("--dataset", required=True, choices=datasets)
    figure.add_argument("--png", required=True)
    figure.add_argument("--pdf", required=True)
    figure.set_defaults(func=cmd_figure)

    study = commands.add_parser(
        "lambda-study", help="train at several initial lambdas and score on a validation split (not the test set)"
    )
    study.add_argument("--dataset", default="wbc", choices=datasets)
    study.add_argument("--lams", type=float, nargs="+", default=[0.5, 2.0, 8.0], help="initial lambdas")
    study.add_argument("--post-tv-lams", type=float, nargs="+", default=[0.5, 1.0, 2.0, 4.0, 8.0])
    study.add_argument("--seeds", type=int, nargs="+", help="default: the configured seeds")
    study.add_argument("--validation-count", type=int, default=12, help="training images held out")
    study.add_argument("--levels", type=float, nargs="+", default=[0.05, 0.09], help="gaussian sigmas")
    study.add_argument("--out", help="default: <results_dir>/lambda_study/<dataset>")
    study.add_argument("--device", help="override the configured device")
    _add_config(study)
    study.set_defaults(func=cmd_lambda_study)

    panels = commands.add_parser("panels", help="qualitative panels from saved label maps")
    panels.add_argument("panel_dirs", nargs="+")
    panels.add_argument("--out", required=True)
    panels.add_argument("--conditions", nargs="+", default=["clean", "gaussian0.05_std", "salt0.01"])
    panels.add_argument("--images", type=int, default=2)
    panels.set_defaults(func=cmd_panels)
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
