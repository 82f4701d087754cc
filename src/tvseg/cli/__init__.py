"""Command line of tvseg: one step of the pipeline per command; the Snakemake workflow calls them.

Data: fetch, prepare, noisy-split (``cli.data``). Training and evaluation: train, evaluate
(``cli.runs``), tune-post-tv, lambda-study (``cli.studies``). Results: collect, machines,
lambdas, summary, spread (``cli.results``); curves, curve-figure, levelling (``cli.curves``); table,
figure, panels, claims, claims-figure, per-class, verdict (``cli.render``). The jobs without the workflow (a GPU box, or the
CPU): bundle, gpu-run, estimate (``cli.runner``). DVC's stages: dvc-yaml (``cli.pipeline``). Each module holds its commands' parsers beside their handlers; ``ORDER`` is the
order ``tvseg --help`` lists them in. Commands that read the configuration take ``--config
config.yaml --config profiles/X/tvseg.yaml`` (later files override earlier ones).
"""

from __future__ import annotations

import argparse
import sys

from tvseg import pin_instruction_set
from tvseg.cli import curves, data, pipeline, render, results, runner, runs, studies  # noqa: F401  (each registers its commands)
from tvseg.cli._common import REGISTRY
from tvseg.core.config import ConfigError, load_config

ORDER = (
    "fetch", "prepare", "noisy-split", "train", "evaluate", "bundle", "gpu-run", "estimate", "collect", "machines",
    "curves", "curve-figure", "levelling", "lambdas", "table", "summary", "claims", "claims-figure", "per-class", "verdict",
    "spread", "dvc-yaml", "figure", "lambda-study", "tune-post-tv", "panels",
)  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tvseg", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    if set(ORDER) != set(REGISTRY):
        raise RuntimeError(f"tvseg.cli.ORDER and the registered commands differ: {set(ORDER) ^ set(REGISTRY)}")
    for name in ORDER:
        summary, define = REGISTRY[name]
        define(commands.add_parser(name, help=summary, description=summary))
    return parser


def configured_reproducible(args) -> bool:
    """Whether the command's configuration asks for bit-identical CPU runs (``reproducible``):
    read before the command imports torch, so the ISA pins can still act."""
    if not hasattr(args, "config"):
        return False
    try:
        config = load_config(*(args.config or []), validate_schema=False)
    except ConfigError:
        return False  # the command itself names the problem
    return bool(config.get("reproducible", False))


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if configured_reproducible(args):
            pin_instruction_set()
        args.func(args)
    except (ConfigError, OSError, ValueError, RuntimeError) as error:  # OSError: a full disk, a refused write...
        print(f"tvseg {args.command}: error: {error}", file=sys.stderr)
        return 1
    return 0
