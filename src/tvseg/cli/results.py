"""From evaluations and training logs to collected results: collect, machines, lambdas, summary,
spread."""

from __future__ import annotations

import json
from pathlib import Path

from tvseg.cli._common import add_config, command, config_of
from tvseg.core.paper import DATASETS
from tvseg.core.safe_io import write_atomic


@command("collect", "concatenate evaluation CSVs")
def _collect_parser(parser) -> None:
    parser.add_argument("inputs", nargs="+")
    parser.add_argument("--out", required=True)
    parser.add_argument("--float-format", default=None, help="printf format of the floats (default: as read)")
    parser.add_argument(
        "--provenance", metavar="CSV",
        help="also write where each run trained and was evaluated (from the runs' provenance files, "
        "or the provenance.csv beside a collected metrics.csv)",
    )  # fmt: skip
    parser.set_defaults(func=collect)


def collect(args) -> None:
    from tvseg.reporting.provenance import collected_rows, provenance_csv
    from tvseg.reporting.results import load_metrics

    metrics = load_metrics([Path(p) for p in args.inputs])
    provenance = provenance_csv(collected_rows(args.inputs)) if args.provenance else None
    write_atomic(Path(args.out), metrics.to_csv(index=False, float_format=args.float_format))
    if provenance is not None:
        write_atomic(Path(args.provenance), provenance)
    print(f"collected {len(args.inputs)} files into {args.out}" + (f" and {args.provenance}" if provenance else ""))


@command("machines", "which machines made which seeds, from provenance.csv (Markdown)")
def _machines_parser(parser) -> None:
    parser.add_argument("--provenance", required=True, help="a collected provenance.csv")
    parser.add_argument("--out", required=True)
    parser.set_defaults(func=machines)


def machines(args) -> None:
    import csv

    from tvseg.reporting.provenance import machines_markdown

    with open(args.provenance, newline="") as handle:
        rows = list(csv.DictReader(handle))
    write_atomic(Path(args.out), machines_markdown(rows))
    print(f"wrote {args.out}")


@command("lambdas", "the learned lambda at the end of each run, from its log.csv")
def _lambdas_parser(parser) -> None:
    parser.add_argument("logs", nargs="+", help="runs/<run>/seed<k>/log.csv of regularized runs")
    parser.add_argument("--out", required=True)
    add_config(parser)
    parser.set_defaults(func=lambdas)


def lambdas(args) -> None:
    from tvseg.reporting.results import learned_lambdas

    frame = learned_lambdas([Path(p) for p in args.logs], config_of(args)["tv"]["lam"])
    write_atomic(Path(args.out), frame.to_csv(index=False, float_format="%.6g"))
    print(f"wrote the learned lambdas of {len(args.logs)} runs into {args.out}")


@command("summary", "headline metrics as JSON (DVC metrics)")
def _summary_parser(parser) -> None:
    parser.add_argument("--metrics", required=True)
    parser.add_argument("--out", required=True)
    parser.set_defaults(func=summary)


def summary(args) -> None:
    import pandas as pd

    from tvseg.reporting.results import summary as headline

    write_atomic(Path(args.out), json.dumps(headline(pd.read_csv(args.metrics)), indent=1, sort_keys=True) + "\n")
    print(f"wrote {args.out}")


@command("spread", "the seeds' spread under each training recipe (Markdown)")
def _spread_parser(parser) -> None:
    parser.add_argument("--metrics", nargs="+", required=True, metavar="LABEL=PATH", help="metrics.csv per recipe")
    parser.add_argument("--dataset", default="wbc", choices=DATASETS)
    parser.add_argument("--reading", default="variance", choices=["std", "variance"])
    parser.add_argument("--out", required=True)
    parser.set_defaults(func=spread)


def spread(args) -> None:
    import pandas as pd

    from tvseg.reporting.claims import seed_spread_markdown

    recipes = {}
    for item in args.metrics:
        label, sep, path = item.partition("=")
        if not sep:
            raise ValueError(f"--metrics takes LABEL=PATH; got {item!r}")
        recipes[label] = pd.read_csv(path)
    write_atomic(Path(args.out), seed_spread_markdown(recipes, args.dataset, args.reading))
    print(f"wrote {args.out}")
