"""The files tvseg writes and reads back: atomic writes, loads as data only, one writer per folder.

* **Writes** (``write_atomic``, ``atomic_path``): every result (model, checkpoint, evaluation,
  tables, figures, panels, bundle parts) is written to a temporary file beside its target and
  moved into place only when whole, so a failed write leaves the previous file or none, never a
  half-written one. A full disk or quota (``ENOSPC``, ``EDQUOT``) is reported as such, naming the
  file.
* **Loads** (``load_data_file``): model files travel between people (a shared DVC remote, a
  colleague's checkpoint, a GPU box's results), and ``torch.load`` with ``weights_only=False``
  unpickles arbitrary objects, so a file's author could run code on the reader's machine. Every
  load is restricted to tensors and plain data; a file holding anything else is refused by name,
  before any of it runs, and a damaged file is named with what is wrong with it.
* **One writer** (``folder_lock``): a training run's folder, or an evaluation's output, has one
  writer at a time; a second is refused naming the holder (host, pid), and the lock of a holder
  that died on this host is taken over.
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import pickle
import socket
import time
from collections.abc import Iterator
from pathlib import Path

DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


class DiskFullError(OSError):
    """No space (or quota) left while writing a result; the partial file was removed."""


class UnsafeFileError(ValueError):
    """A file that holds objects other than tensors and plain data."""


class DamagedFileError(ValueError):
    """A file that cannot be read (truncated, cut short by a copy, not a torch file)."""


class FolderBusyError(RuntimeError):
    """Another process holds the folder's lock."""


# ---------- writing ----------
@contextlib.contextmanager
def disk_full_named(what: str) -> Iterator[None]:
    """Turn a full disk or quota (``ENOSPC``, ``EDQUOT``) inside the block into a
    :class:`DiskFullError` saying "no space left on device while writing <what>"."""
    try:
        yield
    except DiskFullError:
        raise
    except OSError as error:
        if error.errno in DISK_FULL:
            raise DiskFullError(error.errno, f"no space left on device while writing {what}") from error
        raise


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path`` to write to; moved onto ``path`` when the block ends
    without error, removed otherwise. A full disk raises :class:`DiskFullError` naming ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with disk_full_named(f"{path}; the previous file, if any, is kept"):
            yield tmp
            os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_atomic(path: Path, data: bytes | str) -> Path:
    """Write ``data`` (text as UTF-8) to ``path`` whole or not at all (see :func:`atomic_path`)."""
    payload = data.encode() if isinstance(data, str) else data
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(payload)
        f.flush()
        os.fsync(f.fileno())
    return Path(path)


def save_torch(obj, path: Path) -> Path:
    """``torch.save`` through :func:`write_atomic`: serialised in memory first, so a full disk
    is an ``OSError`` of the write (torch's own writer reports it as an internal error)."""
    import torch  # here: writers of text and figures need no torch

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return write_atomic(path, buffer.getvalue())


# ---------- reading ----------
def load_data_file(path: Path, map_location="cpu"):
    """``torch.load`` of ``path`` restricted to tensors and plain data; refuses anything else
    (:class:`UnsafeFileError`) and names a file it cannot read (:class:`DamagedFileError`)."""
    import torch

    path = Path(path)
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        text = str(error).strip()
        if "global" not in text.lower():  # a garbled file, not one that names code to run
            raise DamagedFileError(
                f"could not read {path}: {text.splitlines()[0] if text else 'not a torch file'}"
            ) from None
        reason = next((line.strip() for line in text.splitlines() if "global" in line.lower()), "")
        raise UnsafeFileError(
            f"refused to load {path}: it holds objects other than tensors and plain data, which could run "
            f"code when read{f' ({reason})' if reason else ''}. Model and checkpoint files are read as data "
            "only; rebuild the file with tvseg, or load it yourself only if you trust its author."
        ) from None
    except (RuntimeError, EOFError, OSError, ValueError) as error:
        if isinstance(error, FileNotFoundError):
            raise
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise DamagedFileError(f"could not read {path} (truncated or not a torch file?): {first}") from None


# ---------- one writer per folder ----------
def process_alive(pid: int) -> bool:
    """Whether a process ``pid`` runs on this host (one of another user's counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def folder_lock(lock_file: Path, what: str) -> Iterator[None]:
    """Hold ``lock_file`` (host, pid, start) for the block: ``what`` ("training of <folder>")
    has one writer. A live holder, or one on another host, is refused by name; a holder that
    died on this host leaves a lock that is taken over."""
    lock_file = Path(lock_file)
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    me = {"host": socket.gethostname(), "pid": os.getpid(), "since": time.strftime("%Y-%m-%d %H:%M:%S")}
    for _ in range(3):
        try:
            descriptor = os.open(lock_file, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                holder = json.loads(lock_file.read_text() or "{}")
            except (OSError, ValueError):
                holder = {}
            same_host = holder.get("host") == me["host"]
            if same_host and isinstance(holder.get("pid"), int) and not process_alive(holder["pid"]):
                lock_file.unlink(missing_ok=True)  # its holder died (kill -9, a crash): take the folder over
                continue
            if not holder:  # being written by its holder this instant, or empty: look again
                time.sleep(0.2)
                continue
            raise FolderBusyError(
                f"{what} is already running: {lock_file} is held by pid {holder.get('pid')} on host "
                f"{holder.get('host')} since {holder.get('since')}. Wait for it to end; if that process is "
                f"gone (another host, or a container that was stopped), remove {lock_file}."
            ) from None
        with os.fdopen(descriptor, "w") as f:
            json.dump(me, f)
        break
    else:
        raise FolderBusyError(f"{what}: could not take {lock_file}; remove it if no process holds it")
    try:
        yield
    finally:
        with contextlib.suppress(OSError, ValueError):
            if json.loads(lock_file.read_text()).get("pid") == me["pid"]:
                lock_file.unlink()
