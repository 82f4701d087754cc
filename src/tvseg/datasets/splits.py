"""Deterministic random splits, drawn from a seed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

SPLIT_DIR = Path(__file__).parent / "splits"


def random_split(ids: list[str], n_first: int, seed: int) -> tuple[list[str], list[str]]:
    """Split ``ids`` into ``n_first`` and the rest, at random from ``seed``; each part sorted."""
    ids = sorted(ids)
    if not 0 <= n_first <= len(ids):
        raise ValueError(f"cannot take {n_first} of {len(ids)} items")
    order = np.random.default_rng(seed).permutation(len(ids))
    first = sorted(ids[i] for i in order[:n_first])
    chosen = set(first)
    return first, [i for i in ids if i not in chosen]


def choose(ids: list[str], count: int, seed: int) -> list[str]:
    """``count`` of ``ids`` chosen at random from ``seed``, sorted."""
    return random_split(ids, count, seed)[0]


def load_split_file(path: Path) -> dict[str, list[str]]:
    data = json.loads(Path(path).read_text())
    return {name: list(ids) for name, ids in data["splits"].items()}


def validation_ids(train_ids: list[str], count: int, seed: int) -> list[str]:
    """Training images held out for tuning (never test images), drawn from the seed."""
    return choose(list(train_ids), count, seed) if count else []
