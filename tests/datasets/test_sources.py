import json
import zipfile
from pathlib import Path

import pytest
from helpers import (
    digest,
    make_sunrgbd_fixture,
)

from tvseg.datasets import (
    DataSourceError,
    fetch,
    sources,
)


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
        sources.ARCHIVES, "sunrgbd", (sources.Archive(archive.as_uri(), digest(archive), strip="whole"),)
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
    assert json.loads(lock.read_text()) == {archive.url: digest(archive_file)}
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
