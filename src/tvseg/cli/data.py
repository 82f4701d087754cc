"""The data commands: fetch, prepare, noisy-split."""

from __future__ import annotations

import json
from pathlib import Path

from tvseg.cli._common import add_config, command, config_of
from tvseg.core.paper import DATASETS
from tvseg.core.safe_io import write_atomic


@command("fetch", "download a dataset (or check the mirror's copy)")
def _fetch_parser(parser) -> None:
    parser.add_argument("--dataset", required=True, choices=DATASETS)
    parser.add_argument("--record", help="write where the upstream tree is to this JSON file")
    add_config(parser)
    parser.set_defaults(func=fetch)


def fetch(args) -> None:
    from tvseg.datasets import fetch as fetch_tree

    config = config_of(args)
    mirror = Path(config["mirror"]) if config["mirror"] else None
    tree = fetch_tree(args.dataset, Path(config["data_root"]), mirror=mirror, progress=not args.quiet)
    record = {"dataset": args.dataset, "tree": str(tree.resolve()), "source": "mirror" if mirror else "download"}
    if args.record:
        write_atomic(Path(args.record), json.dumps(record, indent=1) + "\n")
    print(f"{args.dataset}: upstream tree at {tree} ({record['source']}, checked)")


@command("prepare", "download (or use the mirror) and prepare one dataset")
def _prepare_parser(parser) -> None:
    parser.add_argument("--dataset", required=True, choices=DATASETS)
    parser.add_argument("--out", help="output folder (default: <prepared_root>/<dataset> of the configuration)")
    parser.add_argument("--without-noisy", action="store_true", help="skip the noisy training set (see noisy-split)")
    add_config(parser)
    parser.set_defaults(func=prepare)


def prepare(args) -> None:
    import dataclasses

    from tvseg.core.from_config import prepare_settings
    from tvseg.core.layout import prepared_dir
    from tvseg.datasets import fetch as fetch_tree
    from tvseg.datasets import prepare_dataset

    config = config_of(args)
    mirror = Path(config["mirror"]) if config["mirror"] else None
    tree = fetch_tree(args.dataset, Path(config["data_root"]), mirror=mirror, progress=not args.quiet)
    out = Path(args.out) if args.out else prepared_dir(config, args.dataset)
    settings = prepare_settings(config, args.dataset)
    if args.without_noisy:
        settings = dataclasses.replace(settings, noisy=None)
    prepare_dataset(args.dataset, tree, out, settings, progress=not args.quiet)
    print(f"prepared {args.dataset} into {out}")


@command("noisy-split", "build the paper's noisy training set of a prepared dataset")
def _noisy_split_parser(parser) -> None:
    parser.add_argument("--dataset", required=True, choices=DATASETS)
    add_config(parser)
    parser.set_defaults(func=noisy_split)


def noisy_split(args) -> None:
    from tvseg.core.from_config import prepare_settings
    from tvseg.core.layout import prepared_dir
    from tvseg.datasets import make_noisy_split

    config = config_of(args)
    folder = make_noisy_split(prepared_dir(config, args.dataset), prepare_settings(config, args.dataset).noisy)
    print(f"wrote the noisy training set {folder}")
