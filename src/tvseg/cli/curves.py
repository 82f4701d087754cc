"""The validation curves: collected from the runs' logs (curves), plotted (curve-figure), and the
levelling check that sets the plain clean net's curve against a longer schedule (levelling)."""

from __future__ import annotations

from pathlib import Path

from tvseg.cli._common import add_config, command, config_of, recipe_note, schedule_note
from tvseg.core.paper import DATASETS
from tvseg.core.safe_io import write_atomic


@command("curves", "the validation curves (val_miou, val_accuracy) from runs' log.csv")
def _curves_parser(parser) -> None:
    parser.add_argument("logs", nargs="+", help="runs/<run>/seed<k>/log.csv")
    parser.add_argument("--out", required=True)
    parser.set_defaults(func=curves)


def curves(args) -> None:
    from tvseg.reporting.results import validation_curves

    frame = validation_curves([Path(p) for p in args.logs])
    write_atomic(Path(args.out), frame.to_csv(index=False, float_format="%.6g"))
    print(f"wrote the validation curves of {len(args.logs)} runs into {args.out}")


@command("curve-figure", "plot the validation curves (mIoU against iteration)")
def _curve_figure_parser(parser) -> None:
    parser.add_argument("--curves", required=True)
    parser.add_argument("--dataset", required=True, choices=DATASETS)
    parser.add_argument("--png", required=True)
    add_config(parser)
    parser.set_defaults(func=curve_figure)


def curve_figure(args) -> None:
    import pandas as pd

    from tvseg.reporting.figures import plot_validation_curves

    plot_validation_curves(
        pd.read_csv(args.curves), args.dataset, Path(args.png), note=recipe_note(args, args.dataset),
        schedule=schedule_note(args, args.dataset),
    )  # fmt: skip
    print(f"wrote {args.png}")


@command(
    "levelling",
    "whether the plain clean net's validation curve levelled off: the configured schedule against a longer one",
)
def _levelling_parser(parser) -> None:
    parser.add_argument("--curves", required=True, help="the dataset's collected curves.csv (every seed)")
    parser.add_argument("--longer", nargs="+", required=True, help="log.csv of each run on the longer schedule")
    parser.add_argument("--dataset", required=True, choices=DATASETS)
    parser.add_argument("--md", required=True, help="the table (Markdown)")
    parser.add_argument("--png", required=True, help="the figure")
    add_config(parser)
    parser.set_defaults(func=levelling)


def levelling(args) -> None:
    import pandas as pd

    from tvseg.core.runs import tuning_run
    from tvseg.reporting.levelling import levelling as check_levelling
    from tvseg.reporting.levelling import levelling_markdown, plot_levelling
    from tvseg.reporting.results import validation_curves

    curves, longer = pd.read_csv(args.curves), validation_curves([Path(p) for p in args.longer])
    check = check_levelling(curves, longer, str(tuning_run(config_of(args), args.dataset)))
    note = recipe_note(args, args.dataset)
    write_atomic(Path(args.md), levelling_markdown(check, note))
    plot_levelling(curves, longer, check, Path(args.png), note)
    print(f"{check.sentence().replace('**', '')}\nwrote {args.md} and {args.png}")
