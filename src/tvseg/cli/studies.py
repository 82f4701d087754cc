"""Studies on validation splits, never the test set: lambda-study, tune-post-tv."""

from __future__ import annotations

from pathlib import Path

from tvseg.cli._common import add_config, command, config_of, set_threads
from tvseg.core.paper import DATASETS


@command("lambda-study", "train at several initial lambdas and score on a validation split (not the test set)")
def _lambda_study_parser(parser) -> None:
    parser.add_argument("--dataset", default="wbc", choices=DATASETS)
    parser.add_argument("--lams", type=float, nargs="+", default=[0.5, 2.0, 8.0], help="initial lambdas")
    parser.add_argument("--post-tv-lams", type=float, nargs="+", default=[0.5, 1.0, 2.0, 4.0, 8.0])
    parser.add_argument("--seeds", type=int, nargs="+", help="default: the configured seeds")
    parser.add_argument("--validation-count", type=int, default=12, help="training images held out")
    parser.add_argument("--levels", type=float, nargs="+", default=[0.05, 0.09], help="gaussian sigmas")
    parser.add_argument("--out", help="default: <results_dir>/lambda_study/<dataset>")
    parser.add_argument("--device", help="override the configured device")
    add_config(parser)
    parser.set_defaults(func=lambda_study)


def lambda_study(args) -> None:
    from tvseg.core.from_config import study_settings
    from tvseg.engine.tuning import lambda_study as study

    config = config_of(args)
    set_threads(config)
    out = Path(args.out) if args.out else Path(config["results_dir"]) / "lambda_study" / args.dataset
    settings = study_settings(config, args.lams, args.post_tv_lams, args.seeds, args.validation_count, args.levels)
    study(config, args.dataset, settings, out, device=args.device or config["device"], progress=not args.quiet)
    print((out / "summary.md").read_text())


@command("tune-post-tv", "choose post-TV's lambda on a validation split carved from the training set")
def _tune_post_tv_parser(parser) -> None:
    parser.add_argument("--dataset", required=True, choices=DATASETS)
    parser.add_argument(
        "--out", help="folder of the tuning runs and choice.json (default: <results_dir>/post_tv/<dataset>)"
    )
    parser.add_argument("--device", help="override the configured device")
    add_config(parser)
    parser.set_defaults(func=tune_post_tv)


def tune_post_tv(args) -> None:
    from tvseg.core.layout import post_tv_choice_path
    from tvseg.engine.tuning import tune_post_tv as tune

    config = config_of(args)
    set_threads(config)
    out = Path(args.out) if args.out else post_tv_choice_path(config, args.dataset).parent
    choice = tune(config, args.dataset, out, device=args.device or config["device"], progress=not args.quiet)
    print(f"post-TV lambda for {args.dataset} chosen on validation: {choice['lam']:g} ({out / 'choice.json'})")
