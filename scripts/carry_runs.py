"""Carry a dataset's finished runs from one session to the next through git, without their models.

    python scripts/carry_runs.py save --dataset wbc [--config config.yaml --config profiles/cpu/tvseg.yaml]
    python scripts/carry_runs.py restore --dataset wbc [...]
    python scripts/carry_runs.py tuning-models --dataset camvid --seed 1 [...]
    python scripts/carry_runs.py check --dataset camvid [...]

A long run can outlast a session, and run folders (models, checkpoints) live in DVC, not git.
``save`` copies each finished run's small files (``log.csv``, ``evaluation.csv``, the records of
where it trained and was evaluated and, for the first seed, the ``panels`` folder the qualitative
figures read) into
``<results_dir>/carried/<dataset>/<run>/seed<k>/``, kept in git; a run counts as finished when
its evaluation exists. The levelling check's longer runs (``datasets.<name>.curve.longer``) carry
their log and its record into ``carried/<dataset>/longer_schedule/<run>/seed<k>/`` once they
have finished (their log exists). ``restore`` copies them back into the run folders of a fresh clone, dated
now, and dates the dataset's committed post-TV choice now too, so Snakemake finds those runs'
outputs and plans only the runs still missing (it does not redo a finished evaluation whose
model is absent: nothing newer than it exists). ``restore`` also removes the dataset's collected
files (``datasets/<dataset>/*.csv``), so Snakemake collects them anew from the restored runs: a
collection git put back would otherwise pass as current. Restore after the data is prepared: data
prepared later is newer than the restored files, and Snakemake would redo everything behind it.
Both print what they copied. A run stopped inside a seed keeps that seed's finished runs too:
``save`` after it (a run counts as finished on its own, not with its seed).

``tuning-models`` prints the models of seed ``--seed`` that post-TV's committed choice was made
with (on a published validation split: the plain clean net of each tuning seed) and that are not
finished yet. ``run_seeds.sh`` trains them before the rest of the seed, so the restored choice,
dated after them, stays made: trained inside the full run, such a net would make the choice stale,
and making it again needs every tuning seed's net, which a fresh machine trains again (about an
hour a net for CamVid on 2 cores). The choice stays right where a training under the pin is
bit-identical from one machine to the next (``tvseg.reproducible``); that is measured, not proven:
CamVid's seed 1 Segnet1 on two AMD EPYCs, one with AVX-512 and one without
(``results/cpu/reproduce_log_camvid.md``; check a new CPU with ``scripts/reproduce_log.py``).

``check`` says whether every listed seed of the dataset is whole before it lands
(``scripts/land_seed.sh``): each run carried with its evaluation, and the dataset's collections
holding its rows (evaluations, where each ran, and a regularized run's learned lambda). It names
what is missing and exits 1.
"""

from __future__ import annotations

import argparse
import csv
import shutil
import sys
from pathlib import Path

from tvseg.core.config import load_config
from tvseg.core.layout import dataset_results, longer_run_files, post_tv_choice_path, run_files
from tvseg.core.runs import longer_seeds, runs_for, seeds_for, tuned_on_trained_nets, tuning_run

# a dataset's collections that hold a row per run and seed (lambdas.csv: regularized runs only)
COLLECTIONS = ("metrics.csv", "provenance.csv", "lambdas.csv")


def carried_folder(config: dict, run, seed: int, kind: str = "") -> Path:
    """Where a run's small files are carried; ``kind`` "longer_schedule" for the levelling check's runs."""
    return Path(config["results_dir"]) / "carried" / run.dataset / kind / str(run) / f"seed{seed}"


def longer_carried(config: dict, dataset: str):
    """Each longer run of the levelling check: its files and its folder under carried/."""
    run = tuning_run(config, dataset)
    for seed in longer_seeds(config, dataset):
        yield run, seed, longer_run_files(config, run, seed), carried_folder(config, run, seed, "longer_schedule")


def finished_runs(config: dict, dataset: str):
    for run in runs_for(config):
        if run.dataset != dataset:
            continue
        for seed in seeds_for(config, run):
            yield run, seed


def small_files(files) -> tuple[Path, ...]:
    """What a run carries: its log, its evaluation, and where each was made."""
    return (files.log, files.evaluation, files.model_provenance, files.evaluation_provenance)


def save(config: dict, dataset: str) -> None:
    for run, seed in finished_runs(config, dataset):
        files = run_files(config, run, seed)
        if not (files.evaluation.exists() and files.log.exists()):
            continue
        target = carried_folder(config, run, seed)
        target.mkdir(parents=True, exist_ok=True)
        for path in small_files(files):
            if path.exists():
                shutil.copy2(path, target / path.name)
        if seed == seeds_for(config, run)[0] and files.panels.is_dir():
            shutil.copytree(files.panels, target / files.panels.name, dirs_exist_ok=True)
        print(f"saved {run} seed {seed} into {target}")
    for run, seed, files, target in longer_carried(config, dataset):
        if files.log.exists():
            target.mkdir(parents=True, exist_ok=True)
            for path in (files.log, files.model_provenance):
                if path.exists():
                    shutil.copy2(path, target / path.name)
            print(f"saved {run} seed {seed} (the longer schedule) into {target}")


def restore(config: dict, dataset: str) -> None:
    # The dataset's collections are made anew from the runs restored here. One that git has put
    # back (a `git checkout -f` of a worktree) would pass as current: Snakemake does not reread
    # outputs, and restored files, dated now but equal to the checksums it recorded, do not make
    # it stale. Another dataset's collections are left alone: its run folders may be absent here.
    for path in sorted(dataset_results(config, dataset).glob("*.csv")):
        path.unlink()
        print(f"removed {path}: collected anew from the restored runs")
    for run, seed in finished_runs(config, dataset):
        source = carried_folder(config, run, seed)
        if not source.is_dir():
            continue
        files = run_files(config, run, seed)
        files.folder.mkdir(parents=True, exist_ok=True)
        # copies dated now (not copy2): newer than the data they came from, which a fresh machine
        # prepares anew, so Snakemake sees these runs as done
        for path in small_files(files):
            if (source / path.name).exists():
                shutil.copy(source / path.name, path)
        if (source / files.panels.name).is_dir():
            shutil.copytree(source / files.panels.name, files.panels, dirs_exist_ok=True, copy_function=shutil.copy)
        print(f"restored {run} seed {seed} into {files.folder}")
    for run, seed, files, source in longer_carried(config, dataset):
        if source.is_dir():
            files.folder.mkdir(parents=True, exist_ok=True)
            for path in (files.log, files.model_provenance):
                if (source / path.name).exists():
                    shutil.copy(source / path.name, path)  # dated now, as above
            print(f"restored {run} seed {seed} (the longer schedule) into {files.folder}")
    choice = post_tv_choice_path(config, dataset)
    if choice.exists():  # kept in git; dated now for the same reason, so the choice is not made again
        choice.touch()
        print(f"marked {choice} as newer than the data")


def _collected(path: Path) -> set[tuple[str, int]]:
    """The (run, seed) pairs a collection holds; none where it is missing."""
    if not path.exists():
        return set()
    with path.open(newline="") as table:
        return {(row["run"], int(row["seed"])) for row in csv.DictReader(table)}


def missing(config: dict, dataset: str) -> list[str]:
    """What a listed seed of the dataset lacks before it lands: carried files and collected rows."""
    collections = {name: _collected(dataset_results(config, dataset) / name) for name in COLLECTIONS}
    gaps = []
    for run, seed in finished_runs(config, dataset):
        carried = carried_folder(config, run, seed)
        if not (carried / "evaluation.csv").exists():
            gaps.append(f"{run} seed {seed}: no evaluation carried in {carried}")
        for name, rows in collections.items():
            if (str(run), seed) not in rows and (name != "lambdas.csv" or run.head == "tv"):
                gaps.append(f"{run} seed {seed}: no rows in {dataset_results(config, dataset) / name}")
    return gaps


def tuning_models(config: dict, dataset: str, seed: int) -> list[Path]:
    """Seed ``seed``'s unfinished nets that the dataset's committed post-TV choice was made with
    (none when there is no committed choice: the tuning job then makes it, after its nets)."""
    if not post_tv_choice_path(config, dataset).exists():
        return []
    models = []
    for run, tuning_seed in tuned_on_trained_nets(config, dataset):
        files = run_files(config, run, tuning_seed)
        if tuning_seed == seed and not files.evaluation.exists():
            models.append(files.model)
    return models


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("save", "restore", "tuning-models", "check"))
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--seed", type=int, help="tuning-models: the seed whose nets to list")
    parser.add_argument("--config", action="append", type=Path, help="repeat to override (default: the CPU profile)")
    args = parser.parse_args()
    config = load_config(*(args.config or [Path("config.yaml"), Path("profiles/cpu/tvseg.yaml")]))
    if args.action == "tuning-models":
        if args.seed is None:
            parser.error("tuning-models needs --seed")
        for model in tuning_models(config, args.dataset, args.seed):
            print(model)
    elif args.action == "check":
        gaps = missing(config, args.dataset)
        for gap in gaps:
            print(gap, file=sys.stderr)
        if gaps:
            sys.exit(1)
        print(f"every listed seed of {args.dataset} is carried and collected")
    else:
        (save if args.action == "save" else restore)(config, args.dataset)


if __name__ == "__main__":
    main()
