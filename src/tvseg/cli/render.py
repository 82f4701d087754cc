"""What a reader looks at, rendered from the collected results: table, figure, panels, claims,
per-class, verdict."""

from __future__ import annotations

from pathlib import Path

from tvseg.cli._common import add_config, command, config_of, recipe_note
from tvseg.core.paper import DATASETS
from tvseg.core.safe_io import write_atomic


@command("table", "render one of Tables 1-6 (Markdown, LaTeX, CSV)")
def _table_parser(parser) -> None:
    parser.add_argument("--metrics", required=True)
    parser.add_argument("--number", type=int, required=True, choices=range(1, 7))
    parser.add_argument("--reading", choices=["std", "variance"], default="std")
    parser.add_argument("--out-prefix", required=True)
    add_config(parser)
    parser.set_defaults(func=table)


def table(args) -> None:
    import pandas as pd

    from tvseg.core.config import dataset_settings
    from tvseg.core.paper import TABLES
    from tvseg.reporting.tables import render_table

    dataset = TABLES[args.number][0]
    # RE is set beside the paper's raw only where our images have the paper's size (size: null)
    same_resolution = not dataset_settings(config_of(args), dataset).get("size") if args.config else True
    written = render_table(
        pd.read_csv(args.metrics), args.number, args.reading, Path(args.out_prefix), recipe_note(args, dataset),
        same_resolution,
    )  # fmt: skip
    for path in written:
        print(f"wrote {path}")


@command("claims-figure", "each claim of a dataset as its spread over seeds against the paper's run")
def _claims_figure_parser(parser) -> None:
    parser.add_argument("--metrics", required=True)
    parser.add_argument("--dataset", required=True, choices=DATASETS)
    parser.add_argument("--reading", choices=["std", "variance"], default="variance")
    parser.add_argument("--png", required=True)
    parser.add_argument("--pdf")
    parser.set_defaults(func=claims_figure)


def claims_figure(args) -> None:
    import pandas as pd

    from tvseg.reporting.claims_figure import plot_claims

    plot_claims(
        pd.read_csv(args.metrics), args.dataset, args.reading, Path(args.png), Path(args.pdf) if args.pdf else None
    )
    print(f"wrote {args.png}" + (f" and {args.pdf}" if args.pdf else ""))


@command("figure", "render Figure 2, 4 or 6 (mIoU against gaussian sigma)")
def _figure_parser(parser) -> None:
    parser.add_argument("--metrics", required=True)
    parser.add_argument("--dataset", required=True, choices=DATASETS)
    parser.add_argument("--png", required=True)
    parser.add_argument("--pdf", required=True)
    add_config(parser)
    parser.set_defaults(func=figure)


def figure(args) -> None:
    import pandas as pd

    from tvseg.reporting.figures import plot_noise_curves

    note = recipe_note(args, args.dataset)
    plot_noise_curves(pd.read_csv(args.metrics), args.dataset, Path(args.png), Path(args.pdf), note)
    print(f"wrote {args.png} and {args.pdf}")


@command("panels", "qualitative panels from saved label maps")
def _panels_parser(parser) -> None:
    parser.add_argument("panel_dirs", nargs="+")
    parser.add_argument("--out", required=True)
    parser.add_argument("--conditions", nargs="+", default=["clean", "gaussian0.05_std", "salt0.01"])
    parser.add_argument("--images", type=int, default=2)
    parser.add_argument("--dataset", default=None, help="draw a legend of this dataset's class colours")
    parser.set_defaults(func=panels)


def panels(args) -> None:
    from tvseg.reporting.panels import plot_qualitative

    panel_dirs = [Path(p) for p in args.panel_dirs]
    plot_qualitative(panel_dirs, Path(args.out), tuple(args.conditions), args.images, dataset=args.dataset)
    print(f"wrote {args.out}")


@command("claims", "check the paper's four claims on the metrics (Markdown)")
def _claims_parser(parser) -> None:
    parser.add_argument("--metrics", required=True)
    parser.add_argument("--out", required=True, help="Markdown file")
    parser.add_argument("--html", help="also write the claims as an HTML page (for the report)")
    parser.set_defaults(func=claims)


def claims(args) -> None:
    import pandas as pd

    from tvseg.reporting.claims import claims_report
    from tvseg.reporting.pages import markdown_html

    text = claims_report(pd.read_csv(args.metrics))
    write_atomic(Path(args.out), text)
    if args.html:
        write_atomic(Path(args.html), markdown_html(text, "The paper's claims"))
    print(f"wrote {args.out}")


@command("per-class", "each class's IoU per method, clean and at gaussian 0.09 (Markdown)")
def _per_class_parser(parser) -> None:
    parser.add_argument("--metrics", required=True)
    parser.add_argument("--dataset", required=True, choices=DATASETS)
    parser.add_argument("--out", required=True, help="Markdown file")
    add_config(parser)
    parser.set_defaults(func=per_class)


def per_class(args) -> None:
    import pandas as pd

    from tvseg.reporting.tables import per_class_markdown

    reading = config_of(args)["noise"]["gaussian_reading"]
    text = per_class_markdown(pd.read_csv(args.metrics), args.dataset, reading, recipe_note(args, args.dataset))
    write_atomic(Path(args.out), text)
    print(f"wrote {args.out}")


@command("verdict", "the README's verdict from the metrics and the profile (Markdown)")
def _verdict_parser(parser) -> None:
    parser.add_argument("--metrics", required=True)
    parser.add_argument("--out", help="Markdown file (default: print)")
    parser.add_argument("--readme", action="append", help="rewrite the verdict block of this file; repeat for more")
    add_config(parser)
    parser.set_defaults(func=verdict)


def verdict(args) -> None:
    import pandas as pd

    from tvseg.reporting.verdict import replace_block, verdict_for_config

    block = verdict_for_config(pd.read_csv(args.metrics), config_of(args))
    if args.out:
        write_atomic(Path(args.out), block)
        print(f"wrote {args.out}")
    for readme in args.readme or []:
        write_atomic(Path(readme), replace_block(Path(readme).read_text(), block))
        print(f"rewrote the verdict block of {readme}")
    if not args.out and not args.readme:
        print(block, end="")
