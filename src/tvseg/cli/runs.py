"""One run's commands: train, evaluate."""

from __future__ import annotations

from pathlib import Path

from tvseg.cli._common import add_config, command, config_of, set_threads
from tvseg.core.runs import RunId


@command("train", "train one run, resuming from its checkpoint if there is one")
def _train_parser(parser) -> None:
    parser.add_argument("--run", required=True, help="run id, e.g. runet_wbc_noisy")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", help="run folder (default: <results_dir>/runs/<run>/seed<seed>)")
    parser.add_argument(
        "--longer", action="store_true",
        help="the levelling check's longer schedule (datasets.<name>.curve.longer: factor times the iterations; "
        "default folder <results_dir>/longer_schedule/runs/<run>/seed<seed>)",
    )  # fmt: skip
    parser.add_argument("--device", help="override the configured device (auto, cpu, cuda, cuda:N)")
    parser.add_argument(
        "--threads", type=int,
        help="CPU threads for torch (default: torch's choice; under reproducible, resources.train_threads)",
    )  # fmt: skip
    parser.add_argument(
        "--watch-pid", type=int, metavar="PID",
        help="checkpoint and stop when process PID ends (the workflow passes its own, so killing it stops training)",
    )  # fmt: skip
    add_config(parser)
    parser.set_defaults(func=train)


def train(args) -> None:
    from tvseg.core.from_config import longer_train_settings, train_settings
    from tvseg.core.layout import longer_run_files, run_dir
    from tvseg.engine.train import stop_when_gone
    from tvseg.engine.train import train as train_run

    config = config_of(args)
    set_threads(config, args.threads)
    run = RunId.parse(args.run)
    settings = (longer_train_settings if args.longer else train_settings)(config, run, args.seed)
    default_out = longer_run_files(config, run, args.seed).folder if args.longer else run_dir(config, run, args.seed)
    out = Path(args.out) if args.out else default_out
    stop = stop_when_gone(args.watch_pid) if args.watch_pid else None
    final = train_run(
        settings, out, device=args.device or config["device"],
        progress=not args.quiet, stop=stop,
    )  # fmt: skip
    print(f"trained {run} (seed {args.seed}): {final}")


@command("evaluate", "evaluate one trained run under every noise condition")
def _evaluate_parser(parser) -> None:
    parser.add_argument("--run", required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", help="model.pt (default: the run folder's)")
    parser.add_argument("--out", help="tidy CSV (default: the run folder's evaluation.csv)")
    parser.add_argument("--qualitative", help="folder for predicted label maps (PNG)")
    parser.add_argument("--device")
    parser.add_argument(
        "--post-tv-choice",
        metavar="JSON",
        help="also evaluate post-TV at the lambda of this choice.json (tune-post-tv)",
    )
    add_config(parser)
    parser.set_defaults(func=evaluate)


def evaluate(args) -> None:
    from tvseg.core.from_config import evaluation_settings
    from tvseg.core.layout import prepared_dir, run_files
    from tvseg.engine.evaluate import evaluate_run

    config = config_of(args)
    set_threads(config)
    run = RunId.parse(args.run)
    files = run_files(config, run, args.seed)
    settings = evaluation_settings(
        config, run.dataset, post_tv_choice=Path(args.post_tv_choice) if args.post_tv_choice else None,
        panels=Path(args.qualitative) if args.qualitative else None,
    )  # fmt: skip
    out = evaluate_run(
        Path(args.model) if args.model else files.model, prepared_dir(config, run.dataset),
        Path(args.out) if args.out else files.evaluation, settings, run=str(run), seed=args.seed,
        device=args.device or config["device"], progress=not args.quiet,
    )  # fmt: skip
    print(f"evaluated {run} (seed {args.seed}): {out}")
