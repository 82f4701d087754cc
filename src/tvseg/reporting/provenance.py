"""provenance.csv: where each run and seed trained and was evaluated, collected from its run
folder's records (tvseg.core.provenance) or from the provenance.csv beside a collected metrics.csv."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from tvseg.core.config import RunFiles
from tvseg.core.provenance import COLLECTED_NAME, COLUMNS, provenance_of, provenance_row


def collected_rows(inputs: list[Path]) -> list[dict]:
    """The provenance rows of ``inputs``: a run's evaluation CSV gives its run's row (its run,
    seed and dataset read from its first line, its records from its run folder), a collected
    ``metrics.csv`` the rows of the ``provenance.csv`` beside it, which must exist."""
    rows = []
    for path in map(Path, inputs):
        if path.name == "metrics.csv":
            collected = path.with_name(COLLECTED_NAME)
            if not collected.exists():
                raise ValueError(f"{path} is a collection without its {COLLECTED_NAME} beside it")
            with open(collected, newline="") as table:
                rows.extend(csv.DictReader(table))
            continue
        with open(path, newline="") as handle:
            first = next(csv.DictReader(handle), None)
        if first is None:
            raise ValueError(f"{path} holds no rows")
        rows.append(provenance_row(first["dataset"], first["run"], int(first["seed"]),
                                   RunFiles(path.parent).model_provenance, provenance_of(path)))  # fmt: skip
    return rows


def provenance_csv(rows: list[dict]) -> str:
    """``rows`` as provenance.csv, sorted by dataset, run and seed."""
    text = io.StringIO()
    writer = csv.DictWriter(text, COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(sorted(rows, key=lambda r: (r["dataset"], r["run"], int(r["seed"]))))
    return text.getvalue()
