"""scripts/job_times.py: a part's wall time from Snakemake logs, across sessions."""

import subprocess
import sys

from helpers import ROOT

LOG = """[Sun Dec  6 06:27:15 2026]
localrule train_model:
    jobid: 31
    wildcards: run=unet_wbc_clean, seed=3
[Sun Dec  6 06:30:15 2026]
Finished jobid: 31 (Rule: train_model)
[Sun Dec  6 06:30:15 2026]
localrule collect_metrics:
    jobid: 2
[Sun Dec  6 06:30:21 2026]
Finished jobid: 2 (Rule: collect_metrics)
"""


def _times(*args) -> str:
    script = ROOT / "scripts" / "job_times.py"
    return subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True, check=True).stdout


def test_a_later_sessions_logs_add_to_an_earlier_output_and_replace_the_jobs_they_redid(tmp_path):
    (tmp_path / "a.log").write_text(LOG.replace("seed=3", "seed=0").replace("06:30:15", "06:29:15", 1))
    earlier = tmp_path / "earlier.md"
    earlier.write_text(_times(str(tmp_path / "a.log")))
    assert "All 2 jobs: 2.1 min" in earlier.read_text()  # 2 min of training, 6 s of collecting
    (tmp_path / "b.log").write_text(LOG)
    merged = _times("--previous", str(earlier), str(tmp_path / "b.log"))
    assert "| train_model | run=unet_wbc_clean, seed=0 | 2.0 |" in merged
    assert "| train_model | run=unet_wbc_clean, seed=3 | 3.0 |" in merged
    assert "All 3 jobs: 5.1 min" in merged  # the collection counts once, as the later session ran it


def test_previous_repeats_a_later_table_overriding_an_earlier_ones_jobs(tmp_path):
    (tmp_path / "a.log").write_text(LOG.replace("seed=3", "seed=0"))
    (tmp_path / "b.log").write_text(LOG.replace("06:30:21", "06:31:15"))  # seed 3, a slower collection
    tables = []
    for name in ("a", "b"):
        tables.append(tmp_path / f"{name}.md")
        tables[-1].write_text(_times(str(tmp_path / f"{name}.log")))
    merged = _times("--previous", str(tables[0]), "--previous", str(tables[1]))
    assert "| train_model | run=unet_wbc_clean, seed=0 | 3.0 |" in merged
    assert "| train_model | run=unet_wbc_clean, seed=3 | 3.0 |" in merged
    assert "| collect_metrics |  | 1.0 |" in merged  # the later table's
    assert "All 3 jobs: 7.0 min" in merged
