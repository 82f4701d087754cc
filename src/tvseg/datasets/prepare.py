"""Preparation of the upstream trees into one packed format that the trainer reads fast.

A prepared dataset is a folder::

    manifest.json            dataset, classes, colours, ignore index, splits, noisy choices, provenance
    <split>/images.u8        every image's RGB bytes, one after another (H x W x 3 each)
    <split>/labels.u8        every label map (H x W, classes 0..C-1, 255 = ignore)
    <split>/index.npy        per item: image offset, label offset, H, W

Splits: ``train`` and ``test`` (and ``val`` for CamVid, as published), and ``train_noisy``: the
training set with the paper's chosen images replaced by noisy copies. Reading is a memory map
and a slice: no image is decoded during training. Preparation writes into a temporary folder
and swaps it in at the end, so an error (which names the offending file) loses nothing that
was prepared before.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from tvseg.datasets.noise import add_noise, to_u8, to_unit
from tvseg.datasets.specs import (
    CAMVID_VOID,
    IGNORE_INDEX,
    SUNRGBD_UNLABELLED,
    WBC_MASK_LEVELS,
    WBC_MASK_TOLERANCE,
    get_spec,
)
from tvseg.datasets.splits import SPLIT_DIR, choose, load_split_file, random_split

FORMAT_VERSION = 1


class DataError(ValueError):
    """Bad upstream data; the message names the file."""


@dataclass(frozen=True)
class Sample:
    id: str
    image: Path
    label: Path


@dataclass
class NoisyTrainingSet:
    """The paper's noisy training set: ``count`` images get gaussian (``gaussian_level``) or
    salt-and-pepper (``salt_pepper_level``) noise, each chosen at random from the seed."""

    count: int
    gaussian_level: float
    salt_pepper_level: float = 0.01
    gaussian_reading: str = "std"
    seed: int = 0


@dataclass
class PrepareSettings:
    size: tuple[int, int] | None = None  # resize every image and label map to (H, W)
    seed: int = 0
    noisy: NoisyTrainingSet | None = None
    sunrgbd_split: str = "random"  # "random" (the paper) or "official" (the meta-data lists)
    sunrgbd_train_count: int = 5285
    limit: dict = field(default_factory=dict)  # split -> at most this many items (quick runs)


# ---------- reading upstream trees ----------
def wbc_samples(tree: Path) -> dict[str, list[Sample]]:
    folder = tree / "Dataset 2"
    if not folder.is_dir():
        raise DataError(f"WBC: {folder} does not exist (expected the upstream 'Dataset 2' folder)")
    ids = sorted(p.stem for p in folder.glob("*.bmp"))
    samples = {i: Sample(i, folder / f"{i}.bmp", folder / f"{i}.png") for i in ids}
    split = load_split_file(SPLIT_DIR / "wbc.json")
    missing = sorted(set(split["train"] + split["test"]) - set(samples))
    if missing:
        raise DataError(f"WBC: images named in the split file are missing from {folder}: {missing[:5]}")
    return {name: [samples[i] for i in split[name]] for name in ("train", "test")}


def camvid_samples(tree: Path) -> dict[str, list[Sample]]:
    root = tree / "CamVid"
    splits = {}
    for name in ("train", "val", "test"):
        listing = root / f"{name}.txt"
        if not listing.is_file():
            raise DataError(f"CamVid: list file {listing} does not exist")
        items = []
        for line in listing.read_text().split("\n"):
            if not line.strip():
                continue
            image_path, label_path = line.split()
            # Upstream lists use absolute /SegNet/CamVid/... paths; keep the last two parts.
            image = root / Path(image_path).parent.name / Path(image_path).name
            label = root / Path(label_path).parent.name / Path(label_path).name
            items.append(Sample(image.stem, image, label))
        splits[name] = items
    return splits


def sunrgbd_samples(tree: Path, settings: PrepareSettings) -> dict[str, list[Sample]]:
    """ankurhanda/sunrgbd-meta-data layout: SUNRGBD-{train,test}_images/img-NNNNNN.jpg and
    sunrgbd_train_test_labels/img-NNNNNN.png, whose first 5050 labels are the test images' and
    whose labels 5051.. are the training images'."""
    labels = tree / "sunrgbd_train_test_labels"
    pools = {}
    for part in ("test", "train"):
        folder = tree / f"SUNRGBD-{part}_images"
        if not folder.is_dir():
            raise DataError(f"SUN-RGBD: {folder} does not exist")
        pools[part] = sorted(folder.glob("img-*.jpg"))
    n_test = len(pools["test"])
    official: dict[str, list[Sample]] = {"train": [], "test": []}
    for part in ("test", "train"):
        for image in pools[part]:
            number = int(image.stem.split("-")[1])
            label_number = number if part == "test" else n_test + number
            official[part].append(Sample(f"{part}-{number:06d}", image, labels / f"img-{label_number:06d}.png"))
    if settings.sunrgbd_split == "official":
        return official
    if settings.sunrgbd_split != "random":
        raise ValueError(f"sunrgbd_split must be 'random' or 'official'; got {settings.sunrgbd_split!r}")
    everything = {s.id: s for s in official["train"] + official["test"]}
    train_ids, test_ids = random_split(
        list(everything), min(settings.sunrgbd_train_count, len(everything)), settings.seed
    )
    return {"train": [everything[i] for i in train_ids], "test": [everything[i] for i in test_ids]}


# ---------- decoding ----------
def read_image(path: Path) -> np.ndarray:
    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB"), dtype=np.uint8)
    except FileNotFoundError as error:
        raise DataError(f"image file is missing: {path}") from error
    except OSError as error:
        raise DataError(f"image file cannot be read: {path} ({error})") from error


def read_label(path: Path, dataset: str) -> np.ndarray:
    try:
        with Image.open(path) as image:
            raw = np.asarray(image)
    except FileNotFoundError as error:
        raise DataError(f"label file is missing: {path}") from error
    except OSError as error:
        raise DataError(f"label file cannot be read: {path} ({error})") from error
    if raw.ndim != 2:
        raise DataError(f"label file is not a single-channel map: {path} (shape {raw.shape})")
    raw = raw.astype(np.int64)
    if dataset == "wbc":
        levels = np.asarray(WBC_MASK_LEVELS)
        distance = np.abs(raw[..., None] - levels)
        nearest = distance.argmin(axis=-1)
        bad = distance.min(axis=-1) > WBC_MASK_TOLERANCE
        if bad.any():
            raise DataError(f"label value {int(raw[bad][0])} is outside the class set {WBC_MASK_LEVELS}: {path}")
        return nearest.astype(np.uint8)
    if dataset == "camvid":
        if raw.max() > CAMVID_VOID or raw.min() < 0:
            raise DataError(f"label value {int(raw.max())} is outside CamVid's 0..{CAMVID_VOID}: {path}")
        return np.where(raw == CAMVID_VOID, IGNORE_INDEX, raw).astype(np.uint8)
    if dataset == "sunrgbd":
        if raw.max() > 37 or raw.min() < 0:
            raise DataError(f"label value {int(raw.max())} is outside SUN-RGBD's 0..37: {path}")
        return np.where(raw == SUNRGBD_UNLABELLED, IGNORE_INDEX, raw - 1).astype(np.uint8)
    raise ValueError(f"unknown dataset {dataset!r}")


def load_pair(sample: Sample, dataset: str, size: tuple[int, int] | None) -> tuple[np.ndarray, np.ndarray]:
    image = read_image(sample.image)
    label = read_label(sample.label, dataset)
    if image.shape[:2] != label.shape:
        raise DataError(
            f"image and label sizes differ for {sample.id}: {sample.image} is {image.shape[1]}x{image.shape[0]}, "
            f"{sample.label} is {label.shape[1]}x{label.shape[0]}"
        )
    if size is not None and image.shape[:2] != tuple(size):
        h, w = size
        image = np.asarray(Image.fromarray(image).resize((w, h), Image.BILINEAR))
        label = np.asarray(Image.fromarray(label).resize((w, h), Image.NEAREST))
    return image, label


# ---------- the packed format ----------
class PackedWriter:
    def __init__(self, folder: Path):
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self._images = open(folder / "images.u8", "wb")  # noqa: SIM115 (closed by close())
        self._labels = open(folder / "labels.u8", "wb")  # noqa: SIM115
        self.index: list[tuple[int, int, int, int]] = []
        self.ids: list[str] = []

    def add(self, item_id: str, image: np.ndarray, label: np.ndarray) -> None:
        h, w = label.shape
        self.index.append((self._images.tell(), self._labels.tell(), h, w))
        self._images.write(np.ascontiguousarray(image, dtype=np.uint8).tobytes())
        self._labels.write(np.ascontiguousarray(label, dtype=np.uint8).tobytes())
        self.ids.append(item_id)

    def close(self) -> None:
        self._images.close()
        self._labels.close()
        np.save(self.folder / "index.npy", np.asarray(self.index, dtype=np.int64).reshape(-1, 4))
        (self.folder / "ids.json").write_text(json.dumps(self.ids) + "\n")


class PreparedSplit:
    """Read access to one split of a prepared dataset (memory-mapped, no decoding)."""

    def __init__(self, root: Path, split: str):
        self.root = Path(root)
        self.split = split
        self.manifest = read_manifest(self.root)
        folder = self.root / split
        if not (folder / "ids.json").is_file():
            available = sorted(p.parent.name for p in self.root.glob("*/ids.json"))
            raise DataError(
                f"{self.root} has no split {split!r}; it has {available}"
                + (" (build it with `tvseg noisy-split`)" if split == "train_noisy" else "")
            )
        self.ids: list[str] = json.loads((folder / "ids.json").read_text())
        self.index = np.load(folder / "index.npy")
        self._images = np.memmap(folder / "images.u8", dtype=np.uint8, mode="r") if len(self.ids) else None
        self._labels = np.memmap(folder / "labels.u8", dtype=np.uint8, mode="r") if len(self.ids) else None

    def __len__(self) -> int:
        return len(self.ids)

    def image(self, i: int) -> np.ndarray:
        offset, _, h, w = self.index[i]
        return self._images[offset : offset + h * w * 3].reshape(h, w, 3)

    def label(self, i: int) -> np.ndarray:
        _, offset, h, w = self.index[i]
        return self._labels[offset : offset + h * w].reshape(h, w)

    def size(self, i: int) -> tuple[int, int]:
        """(height, width) of item ``i``, without reading it."""
        _, _, h, w = self.index[i]
        return int(h), int(w)

    @property
    def num_classes(self) -> int:
        return len(self.manifest["classes"])


def read_manifest(root: Path) -> dict:
    path = Path(root) / "manifest.json"
    if not path.is_file():
        raise FileNotFoundError(f"{root} is not a prepared dataset (no manifest.json); run `tvseg prepare` first")
    return json.loads(path.read_text())


def noisy_choices(train_ids: list[str], noisy: NoisyTrainingSet) -> dict[str, dict]:
    """Which training images get noise, and which kind: both drawn from the seed."""
    chosen = choose(train_ids, min(noisy.count, len(train_ids)), noisy.seed)
    kinds = np.random.default_rng(noisy.seed + 1).integers(0, 2, size=len(chosen))
    return {
        image_id: (
            {"kind": "gaussian", "level": noisy.gaussian_level}
            if kind == 0
            else {"kind": "salt_pepper", "level": noisy.salt_pepper_level}
        )
        for image_id, kind in zip(chosen, kinds, strict=True)
    }


def prepare_dataset(dataset: str, tree: Path, out_dir: Path, settings: PrepareSettings, progress: bool = True) -> Path:
    """Prepare ``dataset`` from its upstream ``tree`` into ``out_dir`` (replaced atomically)."""
    from tqdm import tqdm

    spec = get_spec(dataset)
    if dataset == "wbc":
        splits = wbc_samples(tree)
    elif dataset == "camvid":
        splits = camvid_samples(tree)
    else:
        splits = sunrgbd_samples(tree, settings)
    for name, limit in settings.limit.items():
        if name in splits:
            splits[name] = splits[name][: int(limit)]
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))
    try:
        for name, samples in splits.items():
            writer = PackedWriter(staging / name)
            for sample in tqdm(samples, desc=f"{dataset} {name}", disable=not progress, leave=False):
                writer.add(sample.id, *load_pair(sample, dataset, settings.size))
            writer.close()
        split_ids = {name: [s.id for s in samples] for name, samples in splits.items()}
        manifest = {
            "format_version": FORMAT_VERSION,
            "dataset": dataset,
            "classes": list(spec.classes),
            "colours": [list(c) for c in spec.colours],
            "ignore_index": IGNORE_INDEX,
            "size": list(settings.size) if settings.size else None,
            "seed": settings.seed,
            "splits": split_ids,
            "sources": {
                name: {s.id: [str(s.image.relative_to(tree)), str(s.label.relative_to(tree))] for s in samples}
                for name, samples in splits.items()
            },
        }
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
        if settings.noisy:
            make_noisy_split(staging, settings.noisy)
        if out_dir.exists():
            previous = out_dir.with_name(out_dir.name + ".previous")
            shutil.rmtree(previous, ignore_errors=True)
            os.replace(out_dir, previous)
            os.replace(staging, out_dir)
            shutil.rmtree(previous, ignore_errors=True)
        else:
            os.replace(staging, out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out_dir


def make_noisy_split(root: Path, noisy: NoisyTrainingSet) -> Path:
    """Write ``train_noisy``: the prepared training set with the paper's chosen images noisy.

    The choices and settings go to ``train_noisy/noise.json``. Written beside the other splits
    through a temporary folder, so a failure leaves any earlier ``train_noisy`` in place.
    """
    root = Path(root)
    train = PreparedSplit(root, "train")
    choices = noisy_choices(train.ids, noisy)
    staging = Path(tempfile.mkdtemp(prefix=".train_noisy-", dir=root))
    try:
        writer = PackedWriter(staging)
        for i, image_id in enumerate(train.ids):
            image = np.asarray(train.image(i))
            choice = choices.get(image_id)
            if choice is not None:
                noisy_image = add_noise(
                    to_unit(image), image_id, choice["kind"], choice["level"], noisy.seed, noisy.gaussian_reading
                )
                image = to_u8(noisy_image)
            writer.add(image_id, image, np.asarray(train.label(i)))
        writer.close()
        (staging / "noise.json").write_text(json.dumps({"settings": vars(noisy), "choices": choices}, indent=1) + "\n")
        target = root / "train_noisy"
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return root / "train_noisy"
