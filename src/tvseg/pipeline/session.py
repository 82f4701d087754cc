"""What a Snakemake run of the workflow does besides its jobs, called from ``workflow/rules/session.smk``.

``publish_config`` writes the merged, validated configuration as one file for the jobs and names
it in ``TVSEG_CONFIG``; ``release_stale_locks`` (``locks``) frees the directory a killed run left
locked. The rule files themselves only validate, define input functions and declare rules.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import yaml

from tvseg.pipeline.locks import release_stale_locks

CONFIG_VARIABLE = "TVSEG_CONFIG"


def publish_config(config: dict, state_dir: Path = Path(".snakemake")) -> Path:
    """Write ``config`` for the jobs (rewritten only when it changes) and set TVSEG_CONFIG to it.

    One file per results folder (as configured, relative), so runs of different profiles side
    by side never read each other's settings. Jobs find it through the environment, not through
    params, because its path is no setting of any job and must never trigger a re-run.
    """
    key = hashlib.sha256(str(config["results_dir"]).encode()).hexdigest()[:12]
    path = Path(state_dir) / "tvseg" / f"config-{key}.yaml"
    text = yaml.safe_dump(config, sort_keys=True)
    if not path.exists() or path.read_text() != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    os.environ[CONFIG_VARIABLE] = str(path)
    return path


def release_locks_of_dead_runs(state_dir: Path = Path(".snakemake")) -> list[int]:
    """Release the lock of every Snakemake run on this host that is gone, saying so on stderr, so
    the same command resumes (docs/reproducing.md: Resumable training)."""
    released = release_stale_locks(Path(state_dir))
    for pid in released:
        print(f"tvseg: released the lock of Snakemake process {pid}, which is no longer running", file=sys.stderr)
    return released
