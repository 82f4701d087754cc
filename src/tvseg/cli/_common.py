"""What every command module shares: the registry of commands, the configuration option, the
threads of a job, and the captions' notes where a configuration is given."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from tvseg.core.config import load_config

# name -> (summary, the function adding its arguments and handler to its parser)
REGISTRY: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None]]] = {}


def command(name: str, summary: str):
    """Register the decorated function as the parser of command ``name``; its summary shows both
    in ``tvseg --help`` and in ``tvseg <name> --help``."""

    def register(define: Callable[[argparse.ArgumentParser], None]):
        REGISTRY[name] = (summary, define)
        return define

    return register


def add_config(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", action="append", default=None, metavar="YAML",
        help="configuration file; repeat to override (default: config.yaml)",
    )  # fmt: skip
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def config_of(args) -> dict:
    """The command's configuration, loaded and validated once: a command may read it for its own
    settings and again for its captions' notes."""
    if getattr(args, "_config", None) is None:
        args._config = load_config(*(args.config or []))
    return args._config


def set_threads(config: dict, requested: int | None = None) -> None:
    """torch's CPU threads for a job: those asked for, else under reproducible mode the
    configuration's ``resources.train_threads`` (the thread count changes the order of sums, so a
    pinned run fixes it whatever the machine), else torch's own choice."""
    from tvseg import reproducible_requested

    threads = requested or (config["resources"]["train_threads"] if reproducible_requested() else None)
    if threads:
        import torch

        torch.set_num_threads(threads)


def recipe_note(args, dataset: str) -> str | None:
    """What ran for ``dataset`` (tvseg.reporting.captions), where a configuration is given."""
    from tvseg.reporting import captions  # here: it loads numpy and PIL, which most commands need not

    return captions.recipe_note(config_of(args), dataset) if args.config else None


def schedule_note(args, dataset: str) -> str | None:
    """The learning-rate schedule's end for ``dataset`` (tvseg.reporting.captions), where a configuration is given."""
    from tvseg.reporting import captions

    return captions.schedule_note(config_of(args), dataset) if args.config else None
