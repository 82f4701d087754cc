"""Reading back the files training writes (``model.pt``, ``checkpoint.pt``) as data, never as code.

Model files travel between people (a shared DVC remote, a colleague's checkpoint, a GPU box's
results). ``torch.load`` with ``weights_only=False`` unpickles arbitrary objects, so a file's
author could run code on the reader's machine; here every load is restricted to tensors and
plain data (dicts, lists, strings, numbers), and a file holding anything else is refused by
name, with the reason, before any of it runs.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import torch


class UnsafeFileError(ValueError):
    """A file that holds objects other than tensors and plain data."""


def load_data_file(path: Path, map_location="cpu"):
    """``torch.load`` of ``path`` restricted to tensors and plain data; refuses anything else."""
    try:
        return torch.load(Path(path), map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise UnsafeFileError(
            f"refused to load {path}: it holds objects other than tensors and plain data, which could run "
            f"code when read ({reason}). Model and checkpoint files are read as data only; rebuild the file "
            "with tvseg, or load it yourself only if you trust its author."
        ) from None
