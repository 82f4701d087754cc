"""The slurm profile on a real one-node SLURM cluster (scripts/slurm_cluster.sh)."""

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MIRROR = ROOT.parent / "shared" / "datasets"
BIN = Path(sys.executable).parent
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


@pytest.mark.slow
def test_quick_profile_through_slurm_matches_a_local_run(cluster, tmp_path, capsys):
    env = {**os.environ, "PATH": f"{BIN}:{os.environ.get('PATH', '')}", "SLURM_CONF": str(cluster)}
    outputs = {}
    for name in ("local", "slurm"):
        paths = tmp_path / f"{name}.yaml"
        paths.write_text(
            f"data_root: {tmp_path / name}/data\nprepared_root: {tmp_path / name}/prepared\nresults_dir: {tmp_path / name}/results\n"
        )
        profile = "profiles/quick" if name == "local" else "profiles/slurm-local"
        extra = [] if name == "local" else ["--slurm-logdir", str(tmp_path / "slurm-logs")]
        outputs[name] = _snakemake(
            env, "--profile", profile, "--configfile", "profiles/quick/tvseg.yaml", str(paths), *extra
        )

    log, seconds = outputs["slurm"]
    job_count = int(re.search(r"^total\s+(\d+)$", log, re.MULTILINE).group(1))
    submitted = re.findall(r"submitted with SLURM jobid (\d+) \(log: (\S+)\)", log)
    assert len(submitted) == job_count - 1  # every job but the local target rule `all` ran as a SLURM job
    for job_id, slurm_log in submitted:
        assert Path(slurm_log.rstrip(").")).is_file(), f"no SLURM log for job {job_id}"
    tables = sorted((tmp_path / "local" / "results" / "tables").glob("*.csv"))
    assert len(tables) == 6 * 2  # Tables 1-6 for both readings (5-6 with the paper's numbers only)
    for table in tables:
        assert (tmp_path / "slurm" / "results" / "tables" / table.name).read_bytes() == table.read_bytes(), table.name
    for figure in ("figure2_wbc.png", "figure4_camvid.png", "panels_wbc_noisy.png"):
        assert (tmp_path / "slurm" / "results" / "figures" / figure).stat().st_size > 10_000
    with capsys.disabled():
        print(
            f"\nquick profile: local {outputs['local'][1]:.0f} s, through SLURM {seconds:.0f} s ({len(submitted)} SLURM jobs)"
        )
