"""Train one committed run again, pinned and unpinned, and compare each log with the committed one.

    python scripts/reproduce_log.py --run unet_wbc_clean --seed 0 \
        --against results/cpu/carried/wbc/unet_wbc_clean/seed0/log.csv --work /tmp/reproduce \
        --out results/cpu/reproduce_log_wbc.md [--modes reproducible default]

Each mode trains the run with the profile's settings (``tvseg train``, 2 threads) into
``<work>/<mode>/<run>/seed<k>/``, ``reproducible`` under the ISA pin, ``default`` without it (an
overlay sets ``reproducible: false``); a finished training there is reused. Its ``log.csv`` is
compared row by row with ``--against``, the ``seconds`` column aside (time, not a result): the
Markdown names the first iteration that differs, and where each training ran (its
``model_provenance.json`` and the committed run's, beside ``--against``: ``model_provenance.json``
for a ``log.csv``, ``model_provenance_<name>.json`` for a log kept as ``log_<name>.csv``, as the
probes in ``results/cpu-camvid-probe/`` keep theirs).
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
from pathlib import Path

from tvseg.core.provenance import provenance_of, read_provenance
from tvseg.core.safe_io import write_atomic

TIME = "seconds"
SHOWN = ("cpu", "cpu_isa", "onednn_isa", "aten_isa", "threads", "reproducible", "tv_layer", "commit")


def log_rows(path: Path) -> list[dict]:
    with open(path, newline="") as handle:
        return [{k: v for k, v in row.items() if k != TIME} for row in csv.DictReader(handle)]


def first_difference(ours: list[dict], theirs: list[dict]) -> int | None:
    """The first iteration whose row differs (or that one log lacks), None where all agree."""
    for mine, committed in zip(ours, theirs, strict=False):  # a shorter log differs at its end, below
        if mine != committed:
            return int(committed["iteration"])
    if len(ours) != len(theirs):
        return int((ours if len(ours) > len(theirs) else theirs)[min(len(ours), len(theirs))]["iteration"])
    return None


def train(mode: str, args, config: list[str]) -> Path:
    out = args.work / mode / args.run / f"seed{args.seed}"
    overlay = args.work / "unpinned.yaml"
    overlay.parent.mkdir(parents=True, exist_ok=True)
    overlay.write_text("reproducible: false\n")
    configs = config + ([str(overlay)] if mode == "default" else [])
    env = {**os.environ, "TVSEG_REPRODUCIBLE": "1" if mode == "reproducible" else "0"}
    command = [sys.executable, "-m", "tvseg.cli", "train", "--run", args.run, "--seed", str(args.seed), "--out",
               str(out), "--threads", "2", "--quiet"] + [a for c in configs for a in ("--config", c)]  # fmt: skip
    subprocess.run(command, env=env, check=True)
    return out


def committed_record(log: Path) -> Path:
    """Where the committed log's training recorded where it ran (see the module's docstring)."""
    return log.with_name(f"model_provenance{log.stem.removeprefix('log')}.json")


def where(record: Path) -> str:
    if not record.exists():
        return "not recorded"
    session = read_provenance(record)[0]
    return "; ".join(f"{fact} {session.get(fact, 'not recorded')}" for fact in SHOWN)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--against", type=Path, required=True, help="the committed log.csv")
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--modes", nargs="+", default=["reproducible", "default"], choices=["reproducible", "default"])
    parser.add_argument("--config", action="append", help="default: config.yaml and profiles/cpu/tvseg.yaml")
    args = parser.parse_args()
    config = args.config or ["config.yaml", "profiles/cpu/tvseg.yaml"]
    committed = log_rows(args.against)
    lines = [
        f"# {args.run} seed {args.seed} trained again and compared with `{args.against}` "
        f"(python scripts/reproduce_log.py; every column but `{TIME}`)",
        "",
        f"- committed ({len(committed)} iterations): {where(committed_record(args.against))}",
    ]
    for mode in args.modes:
        folder = train(mode, args, config)
        ours = log_rows(folder / "log.csv")
        differs = first_difference(ours, committed)
        verdict = (
            "every row equal"
            if differs is None
            else f"rows equal up to iteration {differs - 1}, different from {differs}"
        )
        lines.append(f"- {mode} ({len(ours)} iterations): **{verdict}**; {where(provenance_of(folder / 'model.pt'))}")
    write_atomic(args.out, "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
