"""scripts/carry_runs.py: finished runs' small files through git from one session to the next."""

import subprocess
import sys

import yaml
from helpers import ROOT, quick_config


def test_finished_runs_and_the_longer_schedules_log_are_carried_and_restored_and_recollected(tmp_path):
    config = quick_config(tmp_path)  # CamVid with the levelling check on seed 0
    results = tmp_path / "r"
    plain, longer = (
        results / "runs/segnet_camvid_clean/seed0",
        results / "longer_schedule/runs/segnet_camvid_clean/seed0",
    )
    for folder in (plain, longer):
        folder.mkdir(parents=True)
        (folder / "log.csv").write_text(f"iteration\n{folder.parent.parent.parent.name}\n")
        (folder / "model.pt").write_bytes(b"large, kept in DVC")
    (plain / "evaluation.csv").write_text("run,seed\n")
    overrides = tmp_path / "paths.yaml"
    overrides.write_text(yaml.safe_dump({k: config[k] for k in ("data_root", "prepared_root", "results_dir")}))
    configs = ["--config", "config.yaml", "--config", "profiles/quick/tvseg.yaml", "--config", str(overrides)]
    script = [sys.executable, "scripts/carry_runs.py"]
    saved = subprocess.run([*script, "save", "--dataset", "camvid", *configs], cwd=ROOT, check=True,
                           capture_output=True, text=True).stdout  # fmt: skip
    assert "saved segnet_camvid_clean seed 0 (the longer schedule)" in saved
    carried = results / "carried/camvid"
    assert sorted(p.relative_to(carried).as_posix() for p in carried.rglob("*.*")) == [
        "longer_schedule/segnet_camvid_clean/seed0/log.csv",
        "segnet_camvid_clean/seed0/evaluation.csv",
        "segnet_camvid_clean/seed0/log.csv",
    ]  # the models stay behind
    for folder in (plain, longer):
        for path in folder.iterdir():
            path.unlink()
    collections = {name: results / "datasets" / name / "metrics.csv" for name in ("camvid", "wbc")}
    for path in collections.values():  # as a `git checkout -f` puts them back
        path.parent.mkdir(parents=True)
        path.write_text("run,seed\n")
    subprocess.run([*script, "restore", "--dataset", "camvid", *configs], cwd=ROOT, check=True, capture_output=True)
    assert (longer / "log.csv").read_text() == "iteration\nlonger_schedule\n"
    assert (plain / "evaluation.csv").exists() and not (plain / "model.pt").exists()
    # the restored dataset's collection is made anew from its runs; another dataset's is kept
    assert not collections["camvid"].exists() and collections["wbc"].exists()


def test_tuning_models_lists_a_seeds_unfinished_tuning_net_once_the_choice_is_committed(tmp_path):
    config = quick_config(tmp_path)  # CamVid: post-TV chosen on val with Segnet1 of seed 0
    overrides = tmp_path / "paths.yaml"
    overrides.write_text(yaml.safe_dump({k: config[k] for k in ("data_root", "prepared_root", "results_dir")}))
    command = [sys.executable, "scripts/carry_runs.py", "tuning-models", "--dataset", "camvid", "--config",
               "config.yaml", "--config", "profiles/quick/tvseg.yaml", "--config", str(overrides)]  # fmt: skip

    def listed(seed: int) -> list[str]:
        out = subprocess.run([*command, "--seed", str(seed)], cwd=ROOT, check=True, capture_output=True, text=True)
        return out.stdout.split()

    results = tmp_path / "r"
    assert listed(0) == []  # no committed choice: the tuning job makes it after its nets
    choice = results / "post_tv/camvid/choice.json"
    choice.parent.mkdir(parents=True)
    choice.write_text("{}")
    folder = results / "runs/segnet_camvid_clean/seed0"
    assert listed(0) == [str(folder / "model.pt")]
    assert listed(1) == []  # not a tuning seed
    folder.mkdir(parents=True)
    (folder / "evaluation.csv").write_text("run,seed\n")
    assert listed(0) == []  # finished (restored from carried/): nothing to train
    failed = subprocess.run(command, check=False, cwd=ROOT, capture_output=True, text=True)
    assert failed.returncode != 0 and "needs --seed" in failed.stderr


def test_check_names_what_a_listed_seed_lacks_before_it_lands(tmp_path):
    config = quick_config(tmp_path)  # CamVid's four runs, seed 0
    overrides = tmp_path / "paths.yaml"
    overrides.write_text(yaml.safe_dump({k: config[k] for k in ("data_root", "prepared_root", "results_dir")}))
    command = [sys.executable, "scripts/carry_runs.py", "check", "--dataset", "camvid", "--config", "config.yaml",
               "--config", "profiles/quick/tvseg.yaml", "--config", str(overrides)]  # fmt: skip
    runs = ["segnet_camvid_clean", "rsegnet_camvid_clean", "segnet_camvid_noisy", "rsegnet_camvid_noisy"]
    results = tmp_path / "r"
    for run in runs:
        folder = results / "carried/camvid" / run / "seed0"
        folder.mkdir(parents=True)
        (folder / "evaluation.csv").write_text("run,seed\n")
    collected = results / "datasets/camvid"
    collected.mkdir(parents=True)
    for name, rows in (("metrics.csv", runs), ("provenance.csv", runs), ("lambdas.csv", runs[1::2])):
        (collected / name).write_text("run,seed\n" + "".join(f"{run},0\n" for run in rows))
    whole = subprocess.run(command, check=False, cwd=ROOT, capture_output=True, text=True)
    assert whole.returncode == 0, whole.stderr
    # a regularized run's lambda not collected (as when a collection passed as current), one run not carried
    (collected / "lambdas.csv").write_text("run,seed\nrsegnet_camvid_clean,0\n")
    (results / "carried/camvid/segnet_camvid_noisy/seed0/evaluation.csv").unlink()
    broken = subprocess.run(command, check=False, cwd=ROOT, capture_output=True, text=True)
    assert broken.returncode == 1
    assert broken.stderr.splitlines() == [
        f"segnet_camvid_noisy seed 0: no evaluation carried in {results / 'carried/camvid/segnet_camvid_noisy/seed0'}",
        f"rsegnet_camvid_noisy seed 0: no rows in {collected / 'lambdas.csv'}",
    ]
