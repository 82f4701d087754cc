"""Command line of tvseg: one step of the pipeline per command; the Snakemake workflow calls them.

Data: fetch, prepare, noisy-split. Training and evaluation: train, evaluate, tune-post-tv,
lambda-study. Results: collect, lambdas, table, figure, panels, summary, claims, spread.
DVC: dvc-yaml. A GPU box without the workflow: bundle, gpu-run, estimate. Commands that read the configuration take ``--config config.yaml --config
profiles/X/tvseg.yaml`` (later files override earlier ones).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tvseg.core.config import ConfigError, RunId, load_config
from tvseg.core.files import write_atomic
from tvseg.core.paper import DATASETS


def _command(commands, name: str, summary: str) -> argparse.ArgumentParser:
    """A subcommand whose summary shows both in ``tvseg --help`` and in ``tvseg <name> --help``."""
    return commands.add_parser(name, help=summary, description=summary)


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
        write_atomic(Path(args.record), json.dumps(record, indent=1) + "\n")
    print(f"{args.dataset}: upstream tree at {tree} ({record['source']}, checked)")


def cmd_prepare(args) -> None:
    import dataclasses

    from tvseg.core.config import prepared_dir
    from tvseg.datasets import fetch, prepare_dataset
    from tvseg.engine.experiment import prepare_settings

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
    from tvseg.core.config import prepared_dir
    from tvseg.datasets import make_noisy_split
    from tvseg.engine.experiment import prepare_settings

    config = load_config(*(args.config or []))
    folder = make_noisy_split(prepared_dir(config, args.dataset), prepare_settings(config, args.dataset).noisy)
    print(f"wrote the noisy training set {folder}")


def cmd_collect(args) -> None:
    from tvseg.reporting.report import load_metrics

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(out, load_metrics([Path(p) for p in args.inputs]).to_csv(index=False, float_format=args.float_format))
    print(f"collected {len(args.inputs)} files into {out}")


def cmd_curves(args) -> None:
    from tvseg.reporting.report import validation_curves

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(out, validation_curves([Path(p) for p in args.logs]).to_csv(index=False, float_format="%.6g"))
    print(f"wrote the validation curves of {len(args.logs)} runs into {out}")


def cmd_curve_figure(args) -> None:
    import pandas as pd

    from tvseg.reporting.report import plot_validation_curves

    plot_validation_curves(
        pd.read_csv(args.curves), args.dataset, Path(args.png), note=_recipe_note(args), schedule=_schedule_note(args)
    )
    print(f"wrote {args.png}")


def _schedule_note(args) -> str | None:
    """The learning-rate schedule's end for ``args.dataset``, where a configuration is given."""
    if not args.config:
        return None
    from tvseg.core.config import dataset_settings

    settings = dataset_settings(load_config(*args.config), args.dataset)
    if settings.get("lr_schedule", "constant") == "constant":
        return f"a constant learning rate, {settings['iterations']} iterations"
    return f"{settings['lr_schedule']} learning rate, 0 at iteration {settings['iterations']}"


def _recipe_note(args) -> str | None:
    """What ran for ``args.dataset`` (tvseg.engine.experiment.recipe_note), where a configuration is given."""
    if not args.config:
        return None
    from tvseg.engine.experiment import recipe_note

    return recipe_note(load_config(*args.config), args.dataset)


def cmd_lambdas(args) -> None:
    from tvseg.reporting.report import learned_lambdas

    config = load_config(*(args.config or []))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    lambdas = learned_lambdas([Path(p) for p in args.logs], config["tv"]["lam"])
    write_atomic(out, lambdas.to_csv(index=False, float_format="%.6g"))
    print(f"wrote the learned lambdas of {len(args.logs)} runs into {out}")


def cmd_table(args) -> None:
    import pandas as pd

    from tvseg.core.paper import TABLES
    from tvseg.reporting.report import render_table

    dataset = TABLES[args.number][0]
    note, same_resolution = None, True
    if args.config:
        from tvseg.core.config import dataset_settings
        from tvseg.engine.experiment import recipe_note

        config = load_config(*args.config)
        note = recipe_note(config, dataset)
        same_resolution = not dataset_settings(config, dataset).get("size")  # None: the published size
    table = render_table(
        pd.read_csv(args.metrics), args.number, args.reading, Path(args.out_prefix), note, same_resolution
    )
    for path in table:
        print(f"wrote {path}")


def cmd_summary(args) -> None:
    import json

    import pandas as pd

    from tvseg.reporting.report import summary

    write_atomic(Path(args.out), json.dumps(summary(pd.read_csv(args.metrics)), indent=1, sort_keys=True) + "\n")
    print(f"wrote {args.out}")


def cmd_claims(args) -> None:
    import pandas as pd

    from tvseg.reporting.claims import claims_report
    from tvseg.reporting.report import markdown_html

    text = claims_report(pd.read_csv(args.metrics))
    write_atomic(Path(args.out), text)
    if args.html:
        write_atomic(Path(args.html), markdown_html(text, "The paper's claims"))
    print(f"wrote {args.out}")


def cmd_per_class(args) -> None:
    import pandas as pd

    from tvseg.reporting.report import per_class_markdown

    config = load_config(*(args.config or []))
    text = per_class_markdown(
        pd.read_csv(args.metrics), args.dataset, config["noise"]["gaussian_reading"], _recipe_note(args)
    )
    write_atomic(Path(args.out), text)
    print(f"wrote {args.out}")


def cmd_verdict(args) -> None:
    import pandas as pd

    from tvseg.reporting.verdict import replace_block, verdict_for_config

    block = verdict_for_config(pd.read_csv(args.metrics), load_config(*args.config))
    if args.out:
        write_atomic(Path(args.out), block)
        print(f"wrote {args.out}")
    for readme in args.readme or []:
        write_atomic(Path(readme), replace_block(Path(readme).read_text(), block))
        print(f"rewrote the verdict block of {readme}")
    if not args.out and not args.readme:
        print(block, end="")


def cmd_spread(args) -> None:
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


def cmd_dvc_yaml(args) -> None:
    from tvseg.pipeline.dvc_stages import render

    sys.stdout.write(render(args.profile))


def cmd_figure(args) -> None:
    import pandas as pd

    from tvseg.reporting.report import plot_noise_curves

    plot_noise_curves(pd.read_csv(args.metrics), args.dataset, Path(args.png), Path(args.pdf), _recipe_note(args))
    print(f"wrote {args.png} and {args.pdf}")


def cmd_panels(args) -> None:
    from tvseg.reporting.report import plot_qualitative

    panel_dirs = [Path(p) for p in args.panel_dirs]
    plot_qualitative(panel_dirs, Path(args.out), tuple(args.conditions), args.images, dataset=args.dataset)
    print(f"wrote {args.out}")


def cmd_train(args) -> None:
    import torch

    from tvseg.core.config import run_dir
    from tvseg.engine.experiment import train_settings
    from tvseg.engine.train import train

    if args.threads:
        torch.set_num_threads(args.threads)
    config = load_config(*(args.config or []))
    run = RunId.parse(args.run)
    out = Path(args.out) if args.out else run_dir(config, run, args.seed)
    stop = _stop_when_gone(args.watch_pid) if args.watch_pid else None
    final = train(
        train_settings(config, run, args.seed), out, device=args.device or config["device"],
        progress=not args.quiet, stop=stop,
    )  # fmt: skip
    print(f"trained {run} (seed {args.seed}): {final}")


def _stop_when_gone(pid: int):
    """An event set when process ``pid`` (the workflow that started this job) no longer exists, so a
    killed workflow leaves no trainer running on: training checkpoints and stops."""
    import os
    import threading
    import time

    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                stop.set()
            except PermissionError:
                pass  # exists, owned by someone else
            time.sleep(1.0)

    threading.Thread(target=watch, daemon=True, name=f"watch-{pid}").start()
    return stop


def cmd_evaluate(args) -> None:
    from tvseg.engine.experiment import evaluate_job

    config = load_config(*(args.config or []))
    run = RunId.parse(args.run)
    out = evaluate_job(
        config, run, args.seed,
        model=Path(args.model) if args.model else None,
        out=Path(args.out) if args.out else None,
        qualitative=Path(args.qualitative) if args.qualitative else None,
        post_tv_choice=Path(args.post_tv_choice) if args.post_tv_choice else None,
        device=args.device or config["device"],
        progress=not args.quiet,
    )  # fmt: skip
    print(f"evaluated {run} (seed {args.seed}): {out}")


def cmd_tune_post_tv(args) -> None:
    from tvseg.core.config import post_tv_choice_path
    from tvseg.engine.tuning import tune_post_tv

    config = load_config(*(args.config or []))
    out = Path(args.out) if args.out else post_tv_choice_path(config, args.dataset).parent
    choice = tune_post_tv(config, args.dataset, out, device=args.device or config["device"], progress=not args.quiet)
    print(f"post-TV lambda for {args.dataset} chosen on validation: {choice['lam']:g} ({out / 'choice.json'})")


def cmd_lambda_study(args) -> None:
    from tvseg.engine.tuning import lambda_study

    config = load_config(*(args.config or []))
    out = Path(args.out) if args.out else Path(config["results_dir"]) / "lambda_study" / args.dataset
    lambda_study(
        config, args.dataset, args.lams, args.post_tv_lams, args.seeds or list(config["seeds"]),
        args.validation_count, args.levels, out, device=args.device or config["device"], progress=not args.quiet,
    )  # fmt: skip
    print((out / "summary.md").read_text())


def cmd_bundle(args) -> None:
    from tvseg.core.config import bundle_dir, only_datasets
    from tvseg.gpu.bundle import describe, make_bundle

    config = load_config(*(args.config or []))
    if args.datasets:
        config = only_datasets(config, args.datasets)
    out = Path(args.out) if args.out else bundle_dir(config)
    print(describe(make_bundle(config, out, args.part_size)))
    print(f"wrote {out}")


def cmd_gpu_run(args) -> None:
    import os

    # cuBLAS needs a fixed workspace for the deterministic algorithms training asks for
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    from tvseg.gpu.run import RECORD, gpu_run

    estimate = json.loads(Path(args.estimate).read_text()) if args.estimate else None
    if (args.budget is None) != (estimate is None):
        raise SystemExit("tvseg gpu-run: --budget and --estimate go together (the estimate says what fits the budget)")
    record = gpu_run(Path(args.bundle), Path(args.work), args.device, args.results, progress=not args.quiet,
                     jobs_at_once=args.jobs, budget=args.budget, estimate=estimate)  # fmt: skip
    print(f"ran {len(record['jobs'])} jobs on {record['device']} in {record['seconds']:.0f} s; see {RECORD}")


def cmd_estimate(args) -> None:
    from tvseg.gpu.estimate import estimate

    if args.bundle:
        from tvseg.gpu.run import unpack_once

        config = unpack_once(Path(args.bundle), Path(args.work))
    else:
        config = load_config(*(args.config or []))
    from tvseg.gpu.estimate import estimate_record

    record = estimate_record(config, args.device or config["device"], args.iterations, args.eval_images, args.jobs)
    text = estimate(config, record=record)
    print(text)
    if args.out:
        write_atomic(Path(args.out), text)
    if args.json:
        write_atomic(Path(args.json), json.dumps(record, indent=1) + "\n")


def _add_data_commands(commands) -> None:
    """The data: fetch, prepare, noisy-split."""
    fetch = _command(commands, "fetch", "download a dataset (or check the mirror's copy)")
    fetch.add_argument("--dataset", required=True, choices=DATASETS)
    fetch.add_argument("--record", help="write where the upstream tree is to this JSON file")
    _add_config(fetch)
    fetch.set_defaults(func=cmd_fetch)

    prepare = _command(commands, "prepare", "download (or use the mirror) and prepare one dataset")
    prepare.add_argument("--dataset", required=True, choices=DATASETS)
    prepare.add_argument("--out", help="output folder (default: <prepared_root>/<dataset> of the configuration)")
    prepare.add_argument("--without-noisy", action="store_true", help="skip the noisy training set (see noisy-split)")
    _add_config(prepare)
    prepare.set_defaults(func=cmd_prepare)

    noisy = _command(commands, "noisy-split", "build the paper's noisy training set of a prepared dataset")
    noisy.add_argument("--dataset", required=True, choices=DATASETS)
    _add_config(noisy)
    noisy.set_defaults(func=cmd_noisy_split)


def _add_run_commands(commands) -> None:
    """One run: train, evaluate."""
    train = _command(commands, "train", "train one run, resuming from its checkpoint if there is one")
    train.add_argument("--run", required=True, help="run id, e.g. runet_wbc_noisy")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--out", help="run folder (default: <results_dir>/runs/<run>/seed<seed>)")
    train.add_argument("--device", help="override the configured device (auto, cpu, cuda, cuda:N)")
    train.add_argument("--threads", type=int, help="CPU threads for torch (default: torch's choice)")
    train.add_argument(
        "--watch-pid", type=int, metavar="PID",
        help="checkpoint and stop when process PID ends (the workflow passes its own, so killing it stops training)",
    )  # fmt: skip
    _add_config(train)
    train.set_defaults(func=cmd_train)

    evaluate = _command(commands, "evaluate", "evaluate one trained run under every noise condition")
    evaluate.add_argument("--run", required=True)
    evaluate.add_argument("--seed", type=int, default=0)
    evaluate.add_argument("--model", help="model.pt (default: the run folder's)")
    evaluate.add_argument("--out", help="tidy CSV (default: the run folder's evaluation.csv)")
    evaluate.add_argument("--qualitative", help="folder for predicted label maps (PNG)")
    evaluate.add_argument("--device")
    evaluate.add_argument(
        "--post-tv-choice",
        metavar="JSON",
        help="also evaluate post-TV at the lambda of this choice.json (tune-post-tv)",
    )
    _add_config(evaluate)
    evaluate.set_defaults(func=cmd_evaluate)


def _add_gpu_commands(commands) -> None:
    """The GPU box's path: bundle, gpu-run, estimate."""
    bundle = _command(commands, "bundle", "pack the prepared data of a profile for a GPU box (checksummed parts)")
    bundle.add_argument("--out", help="bundle folder (default: <prepared_root>/bundle)")
    bundle.add_argument("--part-size", default="50M", help="largest part, e.g. 50M or 1G (default: 50M)")
    bundle.add_argument(
        "--datasets", nargs="+", metavar="DATASET", help="bundle these datasets alone (default: every enabled one)"
    )
    _add_config(bundle)
    bundle.set_defaults(func=cmd_bundle)

    gpu_run = _command(commands, "gpu-run", "unpack a bundle and run every training and evaluation job, no workflow")
    gpu_run.add_argument("--bundle", required=True, help="folder written by `tvseg bundle`")
    gpu_run.add_argument("--work", default="work/gpu-run", help="where the data is unpacked (default: work/gpu-run)")
    gpu_run.add_argument("--device", default="auto", help="auto, cuda, cuda:N or cpu (default: auto)")
    gpu_run.add_argument("--results", help="results folder (default: the bundled configuration's results_dir)")
    gpu_run.add_argument("--quiet", action="store_true", help="no progress bars")
    gpu_run.add_argument("--jobs", type=int, default=1, help="jobs at once on the device, each its own process")
    gpu_run.add_argument("--budget", type=float, help="seconds this call may take: run only the whole seeds that fit")
    gpu_run.add_argument("--estimate", help="`tvseg estimate --json` output the budget is planned with")
    gpu_run.set_defaults(func=cmd_gpu_run)

    estimate = _command(commands, "estimate", "time a few iterations per network and project the profile's cost")
    estimate.add_argument("--bundle", help="read the data and configuration from this bundle instead of --config")
    estimate.add_argument("--work", default="work/gpu-run", help="where a bundle is unpacked (default: work/gpu-run)")
    estimate.add_argument("--device", help="override the configured device")
    estimate.add_argument("--iterations", type=int, default=8, help="training iterations timed per network")
    estimate.add_argument("--eval-images", type=int, default=2, help="test images evaluated per network")
    estimate.add_argument("--out", help="also write the Markdown here")
    estimate.add_argument("--jobs", type=int, default=1, help="also time N trainings at once (gpu-run --jobs N)")
    estimate.add_argument("--json", help="write the measurements here (for gpu-run --estimate)")
    _add_config(estimate)
    estimate.set_defaults(func=cmd_estimate)


def _add_result_commands(commands) -> None:
    """From evaluations to results: collect, lambdas, table, summary, claims, spread, dvc-yaml, figure."""
    collect = _command(commands, "collect", "concatenate evaluation CSVs")
    collect.add_argument("inputs", nargs="+")
    collect.add_argument("--out", required=True)
    collect.add_argument("--float-format", default=None, help="printf format of the floats (default: as read)")
    collect.set_defaults(func=cmd_collect)

    curves = _command(commands, "curves", "the validation curves (val_miou, val_accuracy) from runs' log.csv")
    curves.add_argument("logs", nargs="+", help="runs/<run>/seed<k>/log.csv")
    curves.add_argument("--out", required=True)
    curves.set_defaults(func=cmd_curves)

    curve_figure = _command(commands, "curve-figure", "plot the validation curves (mIoU against iteration)")
    curve_figure.add_argument("--curves", required=True)
    curve_figure.add_argument("--dataset", required=True, choices=DATASETS)
    curve_figure.add_argument("--png", required=True)
    _add_config(curve_figure)
    curve_figure.set_defaults(func=cmd_curve_figure)

    lambdas = _command(commands, "lambdas", "the learned lambda at the end of each run, from its log.csv")
    lambdas.add_argument("logs", nargs="+", help="runs/<run>/seed<k>/log.csv of regularized runs")
    lambdas.add_argument("--out", required=True)
    _add_config(lambdas)
    lambdas.set_defaults(func=cmd_lambdas)

    table = _command(commands, "table", "render one of Tables 1-6 (Markdown, LaTeX, CSV)")
    table.add_argument("--metrics", required=True)
    table.add_argument("--number", type=int, required=True, choices=range(1, 7))
    table.add_argument("--reading", choices=["std", "variance"], default="std")
    table.add_argument("--out-prefix", required=True)
    _add_config(table)
    table.set_defaults(func=cmd_table)

    summarize = _command(commands, "summary", "headline metrics as JSON (DVC metrics)")
    summarize.add_argument("--metrics", required=True)
    summarize.add_argument("--out", required=True)
    summarize.set_defaults(func=cmd_summary)

    claims = _command(commands, "claims", "check the paper's four claims on the metrics (Markdown)")
    claims.add_argument("--metrics", required=True)
    claims.add_argument("--out", required=True, help="Markdown file")
    claims.add_argument("--html", help="also write the claims as an HTML page (for the report)")
    claims.set_defaults(func=cmd_claims)

    per_class = _command(commands, "per-class", "each class's IoU per method, clean and at gaussian 0.09 (Markdown)")
    per_class.add_argument("--metrics", required=True)
    per_class.add_argument("--dataset", required=True, choices=DATASETS)
    per_class.add_argument("--out", required=True, help="Markdown file")
    _add_config(per_class)
    per_class.set_defaults(func=cmd_per_class)

    verdict = _command(commands, "verdict", "the README's verdict from the metrics and the profile (Markdown)")
    verdict.add_argument("--metrics", required=True)
    verdict.add_argument("--out", help="Markdown file (default: print)")
    verdict.add_argument("--readme", action="append", help="rewrite the verdict block of this file; repeat for more")
    _add_config(verdict)
    verdict.set_defaults(func=cmd_verdict)

    spread = _command(commands, "spread", "the seeds' spread under each training recipe (Markdown)")
    spread.add_argument("--metrics", nargs="+", required=True, metavar="LABEL=PATH", help="metrics.csv per recipe")
    spread.add_argument("--dataset", default="wbc", choices=DATASETS)
    spread.add_argument("--reading", default="variance", choices=["std", "variance"])
    spread.add_argument("--out", required=True)
    spread.set_defaults(func=cmd_spread)

    dvc_yaml = _command(commands, "dvc-yaml", "print dvc.yaml for a profile (stages calling Snakemake)")
    dvc_yaml.add_argument("--profile", default="profiles/cpu", help="a profile whose results git tracks")
    dvc_yaml.set_defaults(func=cmd_dvc_yaml)

    figure = _command(commands, "figure", "render Figure 2, 4 or 6 (mIoU against gaussian sigma)")
    figure.add_argument("--metrics", required=True)
    figure.add_argument("--dataset", required=True, choices=DATASETS)
    figure.add_argument("--png", required=True)
    figure.add_argument("--pdf", required=True)
    _add_config(figure)
    figure.set_defaults(func=cmd_figure)


def _add_study_commands(commands) -> None:
    """Studies on validation splits: lambda-study, tune-post-tv."""
    study = _command(
        commands, "lambda-study", "train at several initial lambdas and score on a validation split (not the test set)"
    )
    study.add_argument("--dataset", default="wbc", choices=DATASETS)
    study.add_argument("--lams", type=float, nargs="+", default=[0.5, 2.0, 8.0], help="initial lambdas")
    study.add_argument("--post-tv-lams", type=float, nargs="+", default=[0.5, 1.0, 2.0, 4.0, 8.0])
    study.add_argument("--seeds", type=int, nargs="+", help="default: the configured seeds")
    study.add_argument("--validation-count", type=int, default=12, help="training images held out")
    study.add_argument("--levels", type=float, nargs="+", default=[0.05, 0.09], help="gaussian sigmas")
    study.add_argument("--out", help="default: <results_dir>/lambda_study/<dataset>")
    study.add_argument("--device", help="override the configured device")
    _add_config(study)
    study.set_defaults(func=cmd_lambda_study)

    tune = _command(
        commands, "tune-post-tv", "choose post-TV's lambda on a validation split carved from the training set"
    )
    tune.add_argument("--dataset", required=True, choices=DATASETS)
    tune.add_argument(
        "--out", help="folder of the tuning runs and choice.json (default: <results_dir>/post_tv/<dataset>)"
    )
    tune.add_argument("--device", help="override the configured device")
    _add_config(tune)
    tune.set_defaults(func=cmd_tune_post_tv)


def _add_panel_command(commands) -> None:
    """The qualitative panels."""
    panels = _command(commands, "panels", "qualitative panels from saved label maps")
    panels.add_argument("panel_dirs", nargs="+")
    panels.add_argument("--out", required=True)
    panels.add_argument("--conditions", nargs="+", default=["clean", "gaussian0.05_std", "salt0.01"])
    panels.add_argument("--images", type=int, default=2)
    panels.add_argument("--dataset", default=None, help="draw a legend of this dataset's class colours")
    panels.set_defaults(func=cmd_panels)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tvseg", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    _add_data_commands(commands)
    _add_run_commands(commands)
    _add_gpu_commands(commands)
    _add_result_commands(commands)
    _add_study_commands(commands)
    _add_panel_command(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except (ConfigError, OSError, ValueError, RuntimeError) as error:  # OSError: a full disk, a refused write...
        print(f"tvseg {args.command}: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
