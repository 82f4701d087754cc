"""The slurm profile on a real one-node SLURM cluster (scripts/slurm_cluster.sh)."""

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from helpers import (
    BIN,
    MIRROR,
    ROOT,
)

SCRIPT = ROOT / "scripts" / "slurm_cluster.sh"


def _missing() -> str | None:
    for program in ("munged", "slurmctld", "slurmd", "sbatch", "squeue"):
        if shutil.which(program) is None:
            return f"{program} is not installed (apt-get install slurm-wlm munge)"
    try:
        import snakemake_executor_plugin_slurm  # noqa: F401
    except ImportError:
        return "snakemake-executor-plugin-slurm is not installed (pip install -r requirements-slurm.txt)"
    if os.geteuid() != 0:
        return "the test cluster runs its daemons as root"
    if not MIRROR.is_dir():
        return "the dataset mirror ../shared/datasets is not beside the repo"
    return None


@pytest.fixture
def cluster(tmp_path):
    reason = _missing()
    if reason:
        pytest.skip(reason)
    state = tmp_path / "cluster"
    started = subprocess.run(["bash", str(SCRIPT), "start", str(state)], capture_output=True, text=True, check=False)
    if started.returncode != 0:
        subprocess.run(["bash", str(SCRIPT), "stop", str(state)], check=False)
        pytest.fail(f"the test cluster did not start:\n{started.stdout}\n{started.stderr}")
    try:
        yield state / "slurm.conf"
    finally:
        subprocess.run(["bash", str(SCRIPT), "stop", str(state)], check=False)


def _snakemake(env, *args):
    start = time.perf_counter()
    result = subprocess.run(
        [str(BIN / "snakemake"), *args], cwd=ROOT, capture_output=True, text=True, env=env, check=False
    )
    if result.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return result.stdout + result.stderr, time.perf_counter() - start


# WBC alone on the quick profile's tiny settings, without post-TV's tuning and the converged
# extras: every kind of job the cluster runs (preparation, noisy split, training, evaluation,
# collection, rendering) submitted through SLURM, in a DAG a fraction of the whole one's size
# (the whole quick profile runs end to end in tests/workflow/test_workflow.py).
WBC_ALONE = "datasets: {camvid: {enabled: false}}\nconverged: {datasets: []}\npost_tv: {tune: {enabled: false}}\n"
TARGETS = (
    "tables/table1_variance.csv",
    "tables/table2_std.csv",
    "figures/figure2_wbc.png",
    "figures/panels_wbc_noisy.png",
)


@pytest.mark.slow
def test_wbc_through_slurm_matches_a_local_run(cluster, tmp_path, capsys):
    env = {**os.environ, "PATH": f"{BIN}:{os.environ.get('PATH', '')}", "SLURM_CONF": str(cluster)}
    (tmp_path / "wbc_alone.yaml").write_text(WBC_ALONE)
    outputs = {}
    for name in ("local", "slurm"):
        results = tmp_path / name / "results"
        paths = tmp_path / f"{name}.yaml"
        paths.write_text(
            f"data_root: {tmp_path / name}/data\nprepared_root: {tmp_path / name}/prepared\nresults_dir: {results}\n"
        )
        profile = "profiles/quick" if name == "local" else "profiles/slurm-local"
        extra = [] if name == "local" else ["--slurm-logdir", str(tmp_path / "slurm-logs")]
        targets = [str(results / target) for target in TARGETS]
        configs = ["profiles/quick/tvseg.yaml", str(paths), str(tmp_path / "wbc_alone.yaml")]
        outputs[name] = _snakemake(env, *targets, "--profile", profile, "--configfile", *configs, *extra)

    log, seconds = outputs["slurm"]
    job_count = int(re.search(r"^total\s+(\d+)$", log, re.MULTILINE).group(1))
    submitted = re.findall(r"submitted with SLURM jobid (\d+) \(log: (\S+)\)", log)
    assert len(submitted) == job_count  # every job ran as a SLURM job (the targets are files: no local rule)
    for job_id, slurm_log in submitted:
        assert Path(slurm_log.rstrip(").")).is_file(), f"no SLURM log for job {job_id}"
    for kind in ("train_model", "evaluate_model", "render_table", "plot_noise_curves", "plot_qualitative_panels"):
        assert re.search(rf"^{kind}\s+\d+$", log, re.MULTILINE), f"no {kind} job went through SLURM"
    tables = sorted((tmp_path / "local" / "results" / "tables").glob("*.csv"))
    assert [t.name for t in tables] == ["table1_variance.csv", "table2_std.csv"]
    for table in tables:
        assert (tmp_path / "slurm" / "results" / "tables" / table.name).read_bytes() == table.read_bytes(), table.name
    for figure in ("figure2_wbc.png", "panels_wbc_noisy.png"):
        assert (tmp_path / "slurm" / "results" / "figures" / figure).stat().st_size > 10_000
    with capsys.disabled():
        print(f"\nWBC on the quick profile: local {outputs['local'][1]:.0f} s, through SLURM {seconds:.0f} s "
              f"({len(submitted)} SLURM jobs)")  # fmt: skip
