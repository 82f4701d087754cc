"""The GPU path without a GPU: the bundle, the workflow-free run, the estimate, the gpu profile."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import (
    ROOT,
    needs_mirror,
    prepare_wbc,
    tiny_config,
)

from tvseg.core.config import load_config
from tvseg.core.layout import bundle_dir
from tvseg.runner.bundle import BundleError, make_bundle, parse_size, unbundle, verify


@needs_mirror
def test_a_bundle_round_trips_in_parts_and_refuses_a_corrupt_part(tmp_path):
    config = tiny_config(tmp_path)
    prepare_wbc(config)
    manifest = make_bundle(config, tmp_path / "bundle", part_size="64k")
    parts = manifest["datasets"]["wbc"]["parts"]
    assert len(parts) > 1 and all(p["bytes"] <= 64 * 1024 for p in parts)
    assert manifest["datasets"]["wbc"]["bytes"] < manifest["datasets"]["wbc"]["prepared_bytes"]
    assert not any("train_noisy" in p["file"] for p in parts)
    unpacked = unbundle(tmp_path / "bundle", tmp_path / "there", site_dir=tmp_path / "site")
    assert unpacked["prepared_root"] == str(tmp_path / "there")
    original, copy = Path(config["prepared_root"]) / "wbc", tmp_path / "there" / "wbc"
    files = sorted(p.relative_to(original) for p in original.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(copy) for p in copy.rglob("*") if p.is_file())
    assert all((original / f).read_bytes() == (copy / f).read_bytes() for f in files)  # the noisy set too
    assert (tmp_path / "site" / "segmentation_models_pytorch" / "__init__.py").is_file()
    # a box without segmentation_models_pytorch (the CUDA image has none): unpacking needs the
    # models (the noisy set is remade), so the bundled copy must be usable before the datasets
    hide_installed = (
        "import importlib.machinery, sys\n"
        "class HideInstalled:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name != 'segmentation_models_pytorch': return None\n"
        "        spec = importlib.machinery.PathFinder.find_spec(name, [p for p in sys.path if p.endswith('site')])\n"
        "        if spec is None: raise ModuleNotFoundError(f'No module named {name!r}')\n"
        "        return spec\n"
        "sys.meta_path.insert(0, HideInstalled())\n"
        "from tvseg.runner.unpack import unpack_once\n"
        "unpack_once(sys.argv[1], sys.argv[2], say=lambda text: None)\n"
        "import segmentation_models_pytorch as smp\n"
        "print(smp.__file__)\n"
    )
    box = subprocess.run(
        [sys.executable, "-c", hide_installed, str(tmp_path / "bundle"), str(tmp_path / "box")],
        capture_output=True, text=True, check=False, env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )  # fmt: skip
    assert box.returncode == 0, box.stderr[-2000:]
    assert box.stdout.strip().startswith(str(tmp_path / "box" / "site"))

    part = tmp_path / "bundle" / parts[1]["file"]
    data = bytearray(part.read_bytes())
    data[100] ^= 1
    part.write_bytes(bytes(data))
    with pytest.raises(BundleError, match=parts[1]["file"]):
        verify(tmp_path / "bundle")
    part.unlink()
    with pytest.raises(BundleError, match="missing"):
        unbundle(tmp_path / "bundle", tmp_path / "elsewhere")
    assert not (tmp_path / "elsewhere").exists()  # nothing written from a bad bundle


def test_the_makefiles_bundle_is_the_gpu_profiles_bundle_dir_without_the_schema(tmp_path):
    # make's BUNDLE default is computed on the GPU box too, where jsonschema is missing
    (tmp_path / "jsonschema.py").write_text("raise ImportError('no jsonschema on this box')\n")
    python = tmp_path / "python"  # the interpreter, with the blocker ahead of site-packages
    python.write_text(f'#!/bin/sh\nPYTHONPATH="$PYTHONPATH:{tmp_path}" exec {sys.executable} "$@"\n')
    python.chmod(0o755)
    made = subprocess.run(
        ["make", "-n", "reproduce-gpu", f"PYTHON={python}"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert made.returncode == 0, made.stderr[-2000:]
    expected = bundle_dir(load_config(ROOT / "config.yaml", ROOT / "profiles/gpu/tvseg.yaml"))
    assert f"--bundle {expected}" in made.stdout


def test_part_sizes_read_as_bytes():
    assert (
        parse_size("50M") == 50 * 2**20 and parse_size("1.5G") == int(1.5 * 2**30) and parse_size("500k") == 500 * 1024
    )
    with pytest.raises(ValueError, match="not a size"):
        parse_size("fifty")
