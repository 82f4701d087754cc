"""The GPU path without a GPU: the bundle, the workflow-free run, the estimate, the gpu profile."""

import os
import subprocess
import sys

import pytest
import torch
import yaml
from helpers import ROOT, needs_mirror, prepare_wbc, tiny_config

from tvseg.core.config import load_config


def test_the_papers_schedule_is_read_without_the_schema(tmp_path):
    # the GPU box has no jsonschema: estimate reads config.yaml's schedule as plain YAML
    resolved = tmp_path / "config.yaml"
    resolved.write_text(yaml.safe_dump(load_config(ROOT / "config.yaml", ROOT / "profiles/gpu/tvseg.yaml")))
    code = (
        "import sys, yaml\n"
        "sys.modules['jsonschema'] = None\n"
        "from tvseg.runner.estimate import paper_schedule\n"
        "paper = paper_schedule(yaml.safe_load(open(sys.argv[1])))\n"
        "print(paper['datasets']['wbc']['iterations'], paper['datasets']['camvid']['iterations'], *paper['seeds'])\n"
    )
    box = subprocess.run(
        [sys.executable, "-c", code, str(resolved)],
        capture_output=True, text=True, check=False, env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )  # fmt: skip
    assert box.returncode == 0, box.stderr[-2000:]
    raw = yaml.safe_load((ROOT / "config.yaml").read_text())
    expected = [raw["datasets"]["wbc"]["iterations"], raw["datasets"]["camvid"]["iterations"], *raw["seeds"]]
    assert box.stdout.split() == [str(v) for v in expected]


@pytest.mark.slow
@needs_mirror
def test_the_estimate_projects_the_profile_and_the_paper(tmp_path):
    from tvseg.runner.estimate import estimate

    config = tiny_config(tmp_path)
    prepare_wbc(config)
    text = estimate(config, "cpu", iterations=3, eval_images=1)
    assert "| wbc | unet |" in text and "| wbc | runet |" in text
    assert "## This profile:" in text and "## The paper's schedule" in text and "| 20000 |" in text


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is present: the benchmark measures")
def test_the_cuda_benchmark_says_it_skipped_without_cuda():
    result = subprocess.run([sys.executable, "benchmarks/bench_cuda.py"], cwd=ROOT, capture_output=True, text=True,
                            check=False)  # fmt: skip
    assert result.returncode == 0 and "no CUDA device here; nothing measured" in result.stdout


# ---------- several jobs at once, and the seeds a budget fits ----------
