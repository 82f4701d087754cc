"""Whether two results folders hold the same results: a refactor's check that nothing changed.

    python scripts/compare_results.py BEFORE AFTER

Every file under BEFORE and AFTER (the ``logs/`` folder of the jobs' messages aside) must exist in
both and be byte-identical, except a training log (``log.csv``, ``log.running.csv``), whose
``seconds`` column is the time an iteration took: those are compared column by column without it;
and a record of where a run ran (``*_provenance.json``, ``provenance.csv``), which names when it
started and the commit it ran (a refactor's before and after differ there): compared without them.
Prints the count of identical files and each difference; exits 1 where there is one. E.g. run the
quick profile (``snakemake --profile profiles/quick``) in a worktree of the commit before and in
one of the commit after, and compare their ``work/quick/results``.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from pathlib import Path

TIMED_LOGS = ("log.csv", "log.running.csv")
TIMING_COLUMN = "seconds"
PROVENANCE_TABLE = "provenance.csv"
WHEN_AND_WHICH_CODE = ("started", "commit")  # tvseg.core.provenance.FACTS that differ between two runs of one code


def files_of(root: Path) -> set[Path]:
    return {p.relative_to(root) for p in root.rglob("*") if p.is_file() and p.relative_to(root).parts[0] != "logs"}


def _without_timing(data: bytes) -> list[dict]:
    rows = list(csv.DictReader(io.StringIO(data.decode())))
    return [{k: v for k, v in row.items() if k != TIMING_COLUMN} for row in rows]


def _without_when(data: bytes, name: str) -> list[dict]:
    if name == PROVENANCE_TABLE:
        rows = list(csv.DictReader(io.StringIO(data.decode())))
        return [{k: v for k, v in row.items() if not k.endswith(WHEN_AND_WHICH_CODE)} for row in rows]
    return [{k: v for k, v in session.items() if k not in WHEN_AND_WHICH_CODE} for session in json.loads(data)]


def same(before: Path, after: Path) -> bool:
    a, b = before.read_bytes(), after.read_bytes()
    if a == b:
        return True
    if before.name == PROVENANCE_TABLE or before.name.endswith("_provenance.json"):
        return _without_when(a, before.name) == _without_when(b, before.name)
    return before.name in TIMED_LOGS and _without_timing(a) == _without_timing(b)


def compare(before: Path, after: Path) -> list[str]:
    """Every difference between the two folders, one line each."""
    ours, theirs = files_of(before), files_of(after)
    problems = [f"only in {before}: {p}" for p in sorted(ours - theirs)]
    problems += [f"only in {after}: {p}" for p in sorted(theirs - ours)]
    problems += [f"differs: {p}" for p in sorted(ours & theirs) if not same(before / p, after / p)]
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    args = parser.parse_args()
    for folder in (args.before, args.after):
        if not folder.is_dir():
            raise SystemExit(f"compare_results: {folder} is not a folder")
    problems = compare(args.before, args.after)
    common = files_of(args.before) & files_of(args.after)
    timed = sum(
        1 for p in common if p.name in TIMED_LOGS and (args.before / p).read_bytes() != (args.after / p).read_bytes()
    )
    print(f"{len(common) - len(problems)} of {len(common)} files the same "
          f"({timed} training logs apart from their '{TIMING_COLUMN}' column)")  # fmt: skip
    for line in problems:
        print(line)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
