"""What the workflow tools need generated: dvc-yaml."""

from __future__ import annotations

import sys

from tvseg.cli._common import command


@command("dvc-yaml", "print dvc.yaml for a profile (stages calling Snakemake)")
def _dvc_yaml_parser(parser) -> None:
    parser.add_argument("--profile", default="profiles/cpu", help="a profile whose results git tracks")
    parser.set_defaults(func=dvc_yaml)


def dvc_yaml(args) -> None:
    from tvseg.pipeline.dvc_stages import render

    sys.stdout.write(render(args.profile))
