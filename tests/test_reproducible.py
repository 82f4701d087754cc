"""Reproducible mode (``TVSEG_REPRODUCIBLE=1``, ``reproducible: true``): the same bits on any x86-64 CPU with AVX2.

A tiny training of each head (quick-profile scale: 32x32 WBC images, batch 4, 6 iterations, 2
threads) runs in a child process under the pin; its per-iteration losses and a checksum of its
final weights must equal the golden values in ``tests/data/reproducible_golden.json``, written on
another machine (the file names its CPU). Rewrite them only for a change meant to alter the
numbers: ``python tests/test_reproducible.py --write``.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MIRROR = ROOT.parent / "shared" / "datasets"
GOLDEN = Path(__file__).parent / "data" / "reproducible_golden.json"
HEADS = {
    "softmax": {"head": "softmax"},
    "tv": {"head": "tv", "tv": {"lam": 2.0, "step": 0.2}},
    "converged": {"head": "tv", "tv": {"lam": 2.0, "step": 0.2, "train_iters": 30, "eval_iters": 30, "tol": 2e-2}},
}
BASE = {
    "split": "train", "architecture": "unet", "num_classes": 3, "encoder": "resnet18", "lr": 1e-2,
    "lam_lr": 1e-1, "lr_schedule": "poly", "batch_size": 4, "iterations": 6, "checkpoint_every": 3, "seed": 0,
}  # fmt: skip

# In a child: tvseg first, so the pin acts before torch loads.
TRAIN = """
import csv, hashlib, json, sys
from pathlib import Path
import tvseg
import torch
from tvseg.core.settings import TrainSettings
from tvseg.engine.train import train
torch.set_num_threads(2)
out = Path(sys.argv[2])
train(TrainSettings(**json.loads(sys.argv[1])), out, progress=False)
with open(out / "log.csv", newline="") as f:
    losses = [row["loss"] for row in csv.DictReader(f)]
state = torch.load(out / "model.pt", weights_only=False)["model"]
digest = hashlib.sha256()
for name in sorted(state):
    digest.update(name.encode()); digest.update(state[name].detach().contiguous().numpy().tobytes())
print(json.dumps({"losses": losses, "weights_sha256": digest.hexdigest(), "aten": torch.backends.cpu.get_cpu_capability()}))
"""


def pinned_env(on: bool = True) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("ONEDNN_MAX_CPU_ISA", "ATEN_CPU_CAPABILITY")}
    env["TVSEG_REPRODUCIBLE"] = "1" if on else "0"
    return env


def prepare(root: Path) -> Path:
    from tvseg.datasets import NoisyTrainingSet, PrepareSettings, fetch, prepare_dataset

    tree = fetch("wbc", root, mirror=MIRROR)
    settings = PrepareSettings(size=(32, 32), noisy=NoisyTrainingSet(8, 0.05), limit={"test": 2})
    return prepare_dataset("wbc", tree, root / "wbc32", settings, progress=False)


def train_pinned(data: Path, head: str, out: Path) -> dict:
    record = {**BASE, **HEADS[head], "data_dir": str(data)}
    result = subprocess.run([sys.executable, "-c", TRAIN, json.dumps(record), str(out)], env=pinned_env(),
                            capture_output=True, text=True, check=False)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def needs_avx2():
    from tvseg.core.provenance import _cpuinfo

    flags = set(_cpuinfo().get("flags", "").split())
    if not {"avx2", "fma"} <= flags:
        pytest.skip("reproducible mode pins x86-64 CPUs with AVX2 and FMA; this one has none")


@pytest.fixture(scope="module")
def wbc32(tmp_path_factory):
    if not MIRROR.is_dir():
        pytest.skip("the dataset mirror ../shared/datasets is not beside the repo")
    return prepare(tmp_path_factory.mktemp("data"))


@pytest.mark.parametrize("head", sorted(HEADS))
def test_a_pinned_training_gives_the_golden_bits(wbc32, tmp_path, head):
    needs_avx2()
    golden = json.loads(GOLDEN.read_text())
    made = train_pinned(wbc32, head, tmp_path / head)
    assert made["aten"] == "AVX2"
    assert made["losses"] == golden["heads"][head]["losses"], f"{head}: the losses differ from {golden['written_on']}'s"
    assert made["weights_sha256"] == golden["heads"][head]["weights_sha256"], f"{head}: the final weights differ"


THREADS = """
import json
import tvseg
import torch
from tvseg.layers import native_build, tv_softmax

def run(threads):
    torch.set_num_threads(threads)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 67, 45, generator=g, requires_grad=True)
    lam = torch.tensor(2.0, requires_grad=True)
    p = tv_softmax(x, lam, step=0.2, iters=7)
    (p * torch.randn(p.shape, generator=g)).sum().backward()
    return [p.detach(), x.grad, lam.grad]

one, two = run(1), run(2)
print(json.dumps({"equal": [bool(torch.equal(a, b)) for a, b in zip(one, two)], "build": native_build()}))
"""


def test_the_pinned_tv_kernel_gives_the_same_bits_at_one_and_two_threads():
    needs_avx2()
    result = subprocess.run(
        [sys.executable, "-c", THREADS], env=pinned_env(), capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    made = json.loads(result.stdout.strip().splitlines()[-1])
    assert "x86-64-v3" in made["build"] and "fixed row chunks" in made["build"], made["build"]
    assert made["equal"] == [True, True, True]  # probabilities, the logits' gradient, lambda's


def test_asking_for_the_pin_after_torch_is_loaded_is_an_error_that_says_what_to_do():
    code = "import os, torch; os.environ['TVSEG_REPRODUCIBLE'] = '1'; import tvseg"
    result = subprocess.run([sys.executable, "-c", code], env=pinned_env(False), capture_output=True, text=True,
                            check=False)  # fmt: skip
    assert result.returncode != 0
    assert "import tvseg before torch" in result.stderr and "ONEDNN_MAX_CPU_ISA=AVX2" in result.stderr


def test_the_configuration_asks_for_the_pin_before_any_command_runs(tmp_path):
    from argparse import Namespace

    from tvseg.cli import configured_reproducible

    on, off = tmp_path / "on.yaml", tmp_path / "off.yaml"
    on.write_text("reproducible: true\n")
    off.write_text("reproducible: false\n")
    config = str(ROOT / "config.yaml")
    assert configured_reproducible(Namespace(config=[config, str(on)]))
    assert not configured_reproducible(Namespace(config=[config, str(off)]))
    assert not configured_reproducible(Namespace(config=[config]))  # config.yaml: off by default
    assert not configured_reproducible(Namespace())  # a command without a configuration


def test_a_pinned_job_runs_on_the_configured_threads_whatever_the_machine():
    code = (
        "import tvseg, torch; from tvseg.cli._common import set_threads; "
        "torch.set_num_threads(3); set_threads({'resources': {'train_threads': 1}}); print(torch.get_num_threads())"
    )
    for on, expected in ((True, "1"), (False, "3")):
        result = subprocess.run([sys.executable, "-c", code], env=pinned_env(on), capture_output=True, text=True,
                                check=False)  # fmt: skip
        assert result.returncode == 0, result.stderr[-2000:]
        assert result.stdout.split()[-1] == expected


def main() -> None:  # python tests/test_reproducible.py --write
    import argparse
    import tempfile

    from tvseg.core.provenance import _cpuinfo, cpu_isa, cpu_name

    parser = argparse.ArgumentParser(description="rewrite the golden values of tests/test_reproducible.py")
    parser.add_argument("--write", action="store_true", required=True)
    parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = prepare(Path(tmp))
        heads = {head: train_pinned(data, head, Path(tmp) / head) for head in sorted(HEADS)}
    info = _cpuinfo()
    golden = {
        "written_on": f"{cpu_name(info)}, {cpu_isa(info.get('flags', ''))}",
        "heads": {head: {k: v for k, v in made.items() if k != "aten"} for head, made in heads.items()},
    }
    GOLDEN.write_text(json.dumps(golden, indent=1) + "\n")
    print(f"wrote {GOLDEN} on {golden['written_on']}")


if __name__ == "__main__":
    main()
