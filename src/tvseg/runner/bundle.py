"""A profile's prepared data as one compact, checksummed bundle, for a GPU box without the workflow.

    tvseg bundle --config config.yaml --config profiles/gpu/tvseg.yaml --part-size 50M   (into <prepared_root>/bundle)

The bundle folder holds:

    bundle.json            format, per dataset its archive's parts (name, bytes, sha256), the
                           archive's sha256, the prepared bytes it holds; the bundled packages
    config.yaml            the resolved configuration (config.yaml merged with the profile and
                           validated here), so the GPU box needs no schema and no profile files
    <dataset>.tar.xz.NNN   the prepared folder of each dataset (manifest and splits), xz-compressed
                           (lossless; a byte delta of 3 first, since neighbouring RGB pixels are
                           alike), cut into parts of at most --part-size bytes so each part fits a
                           size limit on transfers. The noisy training set is not in it: it is
                           the training set with seeded noise, so ``unbundle`` makes it again and
                           checks it against the checksums of the one bundled from
    site.tar.xz.NNN        pure-Python packages the run needs beyond PyTorch and the scientific
                           stack (segmentation_models_pytorch), copied from this environment

``unbundle`` checks every part and each archive's checksum before it writes anything, then
unpacks each dataset through a temporary folder, so a corrupt or missing part changes nothing.
"""

from __future__ import annotations

import hashlib
import io
import json
import lzma
import os
import re
import shutil
import sys
import tarfile
import tempfile
from pathlib import Path

import yaml

from tvseg.core.config import enabled_datasets
from tvseg.core.layout import prepared_dir
from tvseg.core.safe_io import disk_full_named, write_atomic
from tvseg.datasets.sources import sha256_of

FORMAT_VERSION = 1
MANIFEST = "bundle.json"
CONFIG = "config.yaml"
SITE = "site"
# Beyond torch, numpy, pandas, pillow, tqdm, pyyaml and timm (found on a CUDA image), the run
# imports only these; they are pure Python, so copying the installed package is enough.
BUNDLED_PACKAGES = ("segmentation_models_pytorch",)
NOISY = "train_noisy"  # made again on unpacking, from the configuration (bundle.json holds its checksums)
# Delta over 3 bytes then LZMA2 at preset 1: on CamVid's images 46 % of the raw size at ~10 MB/s,
# against 45 % at ~1.5 MB/s for plain xz at preset 6 (and 44 % for PNG).
FILTERS = [{"id": lzma.FILTER_DELTA, "dist": 3}, {"id": lzma.FILTER_LZMA2, "preset": 1}]


class BundleError(RuntimeError):
    pass


def parse_size(text: str | int) -> int:
    """Bytes from ``50M``, ``1.5G``, ``500k`` or a plain number."""
    if isinstance(text, int):
        return text
    match = re.fullmatch(r"\s*([\d.]+)\s*([kKmMgG]?)i?[bB]?\s*", str(text))
    if not match:
        raise ValueError(f"not a size: {text!r} (e.g. 50M, 1.5G, 500k)")
    factor = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}[match.group(2).lower()]
    size = int(float(match.group(1)) * factor)
    if size < 1 << 16:
        raise ValueError(f"part size {text!r} is below 64k")
    return size


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _write_parts(name: str, add_members, out_dir: Path, part_size: int) -> dict:
    """Write the xz tar that ``add_members(tar)`` fills as ``name.tar.xz.NNN`` parts of ``part_size``
    (each part whole or not at all; a full disk is named)."""
    with disk_full_named(f"the bundle into {out_dir}"):
        with tempfile.TemporaryFile(dir=out_dir) as archive:
            with (
                lzma.open(archive, "wb", format=lzma.FORMAT_XZ, filters=FILTERS) as xz,
                tarfile.open(fileobj=xz, mode="w|", format=tarfile.PAX_FORMAT) as tar,
            ):
                add_members(tar)
            archive.seek(0)
            whole = hashlib.sha256()
            parts = []
            while chunk := archive.read(part_size):
                whole.update(chunk)
                part = write_atomic(out_dir / f"{name}.tar.xz.{len(parts):03d}", chunk)
                parts.append({"file": part.name, "bytes": len(chunk), "sha256": hashlib.sha256(chunk).hexdigest()})
        return {"parts": parts, "sha256": whole.hexdigest(), "bytes": sum(p["bytes"] for p in parts)}


def _reset(info: tarfile.TarInfo) -> tarfile.TarInfo:
    """Members without owner or time, so the same data gives the same bundle."""
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mtime = 0
    return info


def _add_folder(tar: tarfile.TarFile, folder: Path, arcname: str, skip: tuple[str, ...] = ()) -> None:
    for path in sorted(folder.rglob("*")):
        parts = path.relative_to(folder).parts
        if path.is_file() and "__pycache__" not in parts and not path.name.startswith(".") and parts[0] not in skip:
            tar.add(path, arcname=f"{arcname}/{path.relative_to(folder).as_posix()}", filter=_reset)


def make_bundle(config: dict, out_dir: Path, part_size: int | str = "50M", packages=BUNDLED_PACKAGES) -> dict:
    """Bundle the prepared data of every enabled dataset of ``config`` into ``out_dir``."""
    part_size = parse_size(part_size)
    out_dir = Path(out_dir)
    datasets = enabled_datasets(config)
    for dataset in datasets:
        folder = prepared_dir(config, dataset)
        missing = [s for s in ("manifest.json", "train/ids.json", "train_noisy/ids.json") if not (folder / s).is_file()]
        if missing:
            raise BundleError(
                f"{folder} lacks {', '.join(missing)}: prepare it first "
                f"(snakemake --profile <profile> {folder / 'train_noisy' / 'ids.json'})"
            )
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    manifest: dict = {"format_version": FORMAT_VERSION, "part_size": part_size, "datasets": {}, "packages": {}}
    for dataset in datasets:
        folder = prepared_dir(config, dataset)
        entry = _write_parts(
            dataset, lambda tar, f=folder, d=dataset: _add_folder(tar, f, d, skip=(NOISY,)), out_dir, part_size
        )
        entry["prepared_bytes"] = _folder_bytes(folder)
        entry[NOISY] = _checksums(folder / NOISY)
        manifest["datasets"][dataset] = entry
    if packages:
        import importlib

        folders = {name: Path(importlib.import_module(name).__file__).parent for name in packages}

        def add_site(tar):
            for name, folder in folders.items():
                _add_folder(tar, folder, f"{SITE}/{name}")

        manifest["packages"] = {name: _package_version(name) for name in packages}
        manifest[SITE] = _write_parts(SITE, add_site, out_dir, part_size)
    write_atomic(out_dir / CONFIG, yaml.safe_dump(config, sort_keys=True))
    manifest["config_sha256"] = sha256_of(out_dir / CONFIG)
    write_atomic(out_dir / MANIFEST, json.dumps(manifest, indent=1) + "\n")
    return manifest


def _checksums(folder: Path) -> dict[str, str]:
    return {p.name: sha256_of(p) for p in sorted(folder.iterdir()) if p.is_file()}


def _package_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    for distribution in (name, name.replace("_", "-")):
        try:
            return version(distribution)
        except PackageNotFoundError:
            continue
    return "unknown"


def read_manifest(bundle_dir: Path) -> dict:
    path = Path(bundle_dir) / MANIFEST
    if not path.is_file():
        raise BundleError(f"{bundle_dir} is not a tvseg bundle (no {MANIFEST}); make one with `tvseg bundle`")
    manifest = json.loads(path.read_text())
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BundleError(f"{path}: bundle format {manifest.get('format_version')}, this tvseg reads {FORMAT_VERSION}")
    return manifest


class _Parts(io.RawIOBase):
    """The parts of one archive read as one stream."""

    def __init__(self, paths: list[Path]):
        self._paths = list(paths)
        self._current = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while True:
            if self._current is None:
                if not self._paths:
                    return 0
                self._current = open(self._paths.pop(0), "rb")  # noqa: SIM115 (closed below)
            count = self._current.readinto(buffer)
            if count:
                return count
            self._current.close()
            self._current = None


def verify(bundle_dir: Path) -> dict:
    """Check every part's size and checksum and each archive's; returns the manifest."""
    bundle_dir = Path(bundle_dir)
    manifest = read_manifest(bundle_dir)
    problems = []
    config = bundle_dir / CONFIG
    if not config.is_file() or sha256_of(config) != manifest["config_sha256"]:
        problems.append(f"{config}: missing or changed")
    for name, entry in _archives(manifest):
        whole = hashlib.sha256()
        for part in entry["parts"]:
            path = bundle_dir / part["file"]
            if not path.is_file():
                problems.append(f"{path}: missing")
                continue
            data = path.read_bytes()
            if len(data) != part["bytes"] or hashlib.sha256(data).hexdigest() != part["sha256"]:
                problems.append(f"{path}: {len(data)} bytes, checksum differs from {MANIFEST}")
            whole.update(data)
        if not problems and whole.hexdigest() != entry["sha256"]:
            problems.append(f"{name}: the parts put together differ from the archive that was bundled")
    if problems:
        raise BundleError("the bundle is incomplete or corrupt:\n  " + "\n  ".join(problems))
    return manifest


def _archives(manifest: dict):
    yield from manifest["datasets"].items()
    if SITE in manifest:
        yield SITE, manifest[SITE]


def _extract(bundle_dir: Path, entry: dict, member_root: str, destination: Path) -> None:
    """Unpack the archive of ``entry`` (members under ``member_root``/) to ``destination``, atomically."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{destination.name}-", dir=destination.parent))
    try:
        stream = io.BufferedReader(_Parts([bundle_dir / p["file"] for p in entry["parts"]]), 1 << 20)
        with tarfile.open(fileobj=stream, mode="r|xz") as tar:
            for member in tar:
                name = Path(member.name)
                if member.isdir():
                    continue
                if not member.isfile() or name.is_absolute() or ".." in name.parts or name.parts[0] != member_root:
                    raise BundleError(f"unexpected member {member.name!r} in the {member_root} archive")
                target = staging.joinpath(*name.parts[1:])
                target.parent.mkdir(parents=True, exist_ok=True)
                with tar.extractfile(member) as source, open(target, "wb") as out:
                    shutil.copyfileobj(source, out)
        if destination.exists():
            shutil.rmtree(destination)
        os.replace(staging, destination)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def unbundle(bundle_dir: Path, prepared_root: Path, site_dir: Path | None = None) -> dict:
    """Verify the bundle, then unpack each dataset to ``prepared_root/<dataset>`` and the packages
    to ``site_dir``; returns the resolved configuration with ``prepared_root`` pointing there.
    The packages come first and are put on ``sys.path`` where missing: remaking the noisy sets
    imports the models (segmentation_models_pytorch)."""
    bundle_dir = Path(bundle_dir)
    manifest = verify(bundle_dir)
    if site_dir is not None and SITE in manifest:
        _extract(bundle_dir, manifest[SITE], SITE, Path(site_dir))
        use_bundled_packages(Path(site_dir))

    from tvseg.core.from_config import prepare_settings
    from tvseg.datasets.prepare import make_noisy_split

    config = yaml.safe_load((bundle_dir / CONFIG).read_text())
    config["prepared_root"] = str(prepared_root)
    for dataset, entry in manifest["datasets"].items():
        folder = prepared_dir(config, dataset)
        _extract(bundle_dir, entry, dataset, folder)
        noisy = make_noisy_split(folder, prepare_settings(config, dataset).noisy)
        if _checksums(noisy) != entry[NOISY]:
            raise BundleError(
                f"{dataset}: the noisy training set made here differs from the bundled one's checksums "
                f"({noisy}); numpy's random generator or the noise code differ between the two machines"
            )
    return config


def use_bundled_packages(site_dir: Path) -> None:
    """Put the bundled packages on ``sys.path`` (at its end: an installed copy wins) if the
    interpreter cannot import them already."""
    import importlib

    for name in BUNDLED_PACKAGES:
        try:
            importlib.import_module(name)
        except ImportError:
            if str(site_dir) not in sys.path:
                sys.path.append(str(site_dir))


def describe(manifest: dict) -> str:
    """One line per archive: its size, its parts, and the prepared bytes it holds."""
    lines = []
    for name, entry in _archives(manifest):
        held = f", {entry['prepared_bytes'] / 2**20:.1f} MiB prepared" if "prepared_bytes" in entry else ""
        lines.append(f"{name}: {entry['bytes'] / 2**20:.1f} MiB in {len(entry['parts'])} part(s){held}")
    total = sum(entry["bytes"] for _, entry in _archives(manifest))
    lines.append(f"total: {total / 2**20:.1f} MiB (parts of at most {manifest['part_size'] / 2**20:.1f} MiB)")
    return "\n".join(lines)
