"""The commands that run the plan's jobs without the workflow (a GPU box, or the CPU): bundle, gpu-run, estimate."""

from __future__ import annotations

import json
from pathlib import Path

from tvseg.cli._common import add_config, command, config_of
from tvseg.core.safe_io import write_atomic


@command("bundle", "pack the prepared data of a profile for a GPU box (checksummed parts)")
def _bundle_parser(parser) -> None:
    parser.add_argument("--out", help="bundle folder (default: <prepared_root>/bundle)")
    parser.add_argument("--part-size", default="50M", help="largest part, e.g. 50M or 1G (default: 50M)")
    parser.add_argument(
        "--datasets", nargs="+", metavar="DATASET", help="bundle these datasets alone (default: every enabled one)"
    )
    add_config(parser)
    parser.set_defaults(func=bundle)


def bundle(args) -> None:
    from tvseg.core.config import only_datasets
    from tvseg.core.layout import bundle_dir
    from tvseg.runner.bundle import describe, make_bundle

    config = config_of(args)
    if args.datasets:
        config = only_datasets(config, args.datasets)
    out = Path(args.out) if args.out else bundle_dir(config)
    print(describe(make_bundle(config, out, args.part_size)))
    print(f"wrote {out}")


@command("gpu-run", "unpack a bundle and run every training and evaluation job, no workflow")
def _gpu_run_parser(parser) -> None:
    parser.add_argument("--bundle", required=True, help="folder written by `tvseg bundle`")
    parser.add_argument("--work", default="work/gpu-run", help="where the data is unpacked (default: work/gpu-run)")
    parser.add_argument("--device", help="auto, cuda, cuda:N or cpu (default: the bundled configuration's device)")
    parser.add_argument("--results", help="results folder (default: the bundled configuration's results_dir)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument("--jobs", type=int, default=1, help="jobs at once on the device, each its own process")
    parser.add_argument("--budget", type=float, help="seconds this call may take: run only the whole seeds that fit")
    parser.add_argument("--estimate", help="`tvseg estimate --json` output the budget is planned with")
    parser.set_defaults(func=gpu_run)


def gpu_run(args) -> None:
    import os

    # cuBLAS needs a fixed workspace for the deterministic algorithms training asks for
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    from tvseg.runner.execute import RECORD, run_all
    from tvseg.runner.unpack import unpack_once

    estimate = json.loads(Path(args.estimate).read_text()) if args.estimate else None
    if (args.budget is None) != (estimate is None):
        raise SystemExit("tvseg gpu-run: --budget and --estimate go together (the estimate says what fits the budget)")
    config = unpack_once(Path(args.bundle), Path(args.work))  # once: a second call finds it unpacked
    if args.results:
        config["results_dir"] = args.results
    device = args.device or config.get("device", "auto")  # the bundled configuration's, as every command reads it
    record = run_all(config, device, progress=not args.quiet and args.jobs == 1, jobs_at_once=args.jobs,
                     budget=args.budget, estimate=estimate)  # fmt: skip
    print(f"ran {len(record['jobs'])} jobs on {record['device']} in {record['seconds']:.0f} s; see {RECORD}")


@command("estimate", "time a few iterations per network and project the profile's cost")
def _estimate_parser(parser) -> None:
    parser.add_argument("--bundle", help="read the data and configuration from this bundle instead of --config")
    parser.add_argument("--work", default="work/gpu-run", help="where a bundle is unpacked (default: work/gpu-run)")
    parser.add_argument("--device", help="override the configured device")
    parser.add_argument("--iterations", type=int, default=8, help="training iterations timed per network")
    parser.add_argument("--eval-images", type=int, default=2, help="test images evaluated per network")
    parser.add_argument("--out", help="also write the Markdown here")
    parser.add_argument("--jobs", type=int, default=1, help="also time N trainings at once (gpu-run --jobs N)")
    parser.add_argument("--json", help="write the measurements here (for gpu-run --estimate)")
    add_config(parser)
    parser.set_defaults(func=estimate)


def estimate(args) -> None:
    from tvseg.runner.estimate import estimate as project
    from tvseg.runner.estimate import estimate_record

    if args.bundle:
        from tvseg.runner.unpack import unpack_once

        config = unpack_once(Path(args.bundle), Path(args.work))
    else:
        config = config_of(args)
    record = estimate_record(config, args.device or config["device"], args.iterations, args.eval_images, args.jobs)
    text = project(config, record=record)
    print(text)
    if args.out:
        write_atomic(Path(args.out), text)
    if args.json:
        write_atomic(Path(args.json), json.dumps(record, indent=1) + "\n")
