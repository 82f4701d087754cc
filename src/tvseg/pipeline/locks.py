"""Snakemake's directory lock, made safe against `kill -9`: a dead owner's lock is released.

Snakemake locks the working directory by writing the files a run reads and writes to
``.snakemake/locks/<n>.{input,output}.lock`` and removes them when it ends. A run killed with
SIGKILL never removes them, and the next run refuses to start until ``snakemake --unlock``.
These lock files name no owner, so the workflow records one (``record_owner``, from its
``onstart`` hook, after Snakemake has locked): this host, this process id and the lock files it
holds. Before the next run locks, ``release_stale_locks`` removes the lock files of owners on
this host whose process is gone. A lock with no record (a run older than this, or another
host's) is left alone: Snakemake's own message then tells the user what to do.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

from tvseg.core.safe_io import process_alive

OWNERS = Path("tvseg") / "lock-owners"


def _alive(pid: int) -> bool:
    """Whether ``pid`` is a running Snakemake process (a reused pid of another program is not)."""
    if not process_alive(pid):
        return False
    cmdline = Path(f"/proc/{pid}/cmdline")
    if cmdline.exists():
        try:
            return b"snakemake" in cmdline.read_bytes()
        except OSError:
            return True
    return True


def record_owner(state_dir: Path, lock_files: list[str]) -> Path:
    """Record that this process holds ``lock_files`` (paths under ``state_dir``/locks)."""
    owners = Path(state_dir) / OWNERS
    owners.mkdir(parents=True, exist_ok=True)
    host = socket.gethostname()
    record = owners / f"{host}-{os.getpid()}.json"
    record.write_text(json.dumps({"host": host, "pid": os.getpid(), "lock_files": sorted(lock_files)}) + "\n")
    return record


def forget_owner(state_dir: Path) -> None:
    """Drop this process's record (its run ended and Snakemake removed its locks)."""
    (Path(state_dir) / OWNERS / f"{socket.gethostname()}-{os.getpid()}.json").unlink(missing_ok=True)


def release_stale_locks(state_dir: Path) -> list[int]:
    """Remove the lock files of recorded owners on this host that are no longer running.

    Returns the process ids whose locks were released.
    """
    owners = Path(state_dir) / OWNERS
    if not owners.is_dir():
        return []
    host = socket.gethostname()
    released = []
    for path in sorted(owners.glob("*.json")):
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if record.get("host") != host or _alive(int(record["pid"])):
            continue
        for lock_file in record.get("lock_files", []):
            Path(lock_file).unlink(missing_ok=True)
        path.unlink(missing_ok=True)
        released.append(int(record["pid"]))
    return released
