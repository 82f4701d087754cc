"""Where every file of a configuration lives: run folders and their files (``RunFiles``), the
levelling check's longer runs, the collected results, post-TV's choice, the prepared data and its bundle. The one place each path
pattern is spelled; the workflow, the commands and the scripts import it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tvseg.core.provenance import provenance_of
from tvseg.core.runs import RunId


def run_dir(config: dict, run: RunId | str, seed: int | str) -> Path:
    """A run's folder (its files: :class:`RunFiles`) under the configuration's results. The
    workflow passes the wildcards ``"{run}"`` and ``"{seed}"`` to get its file patterns."""
    return run_dir_under(Path(config["results_dir"]), run, seed)


def runs_root(results: Path) -> Path:
    """The folder of every run under ``results`` (a profile's results, or a study's folder)."""
    return Path(results) / "runs"


def run_dir_under(results: Path, run: RunId | str, seed: int | str) -> Path:
    """A run's folder under ``results``: the one place its pattern is spelled."""
    return runs_root(results) / str(run) / f"seed{seed}"


@dataclass(frozen=True)
class RunFiles:
    """The files of one run's folder, named once: training writes ``checkpoint`` and
    ``running_log`` while it runs and ``model`` and ``log`` when it ends (the log is renamed then,
    so a workflow manager that deletes an interrupted job's outputs never deletes the iterations a
    resumed run keeps); evaluation writes ``evaluation`` and the ``panels`` folder."""

    folder: Path

    @property
    def model(self) -> Path:
        return self.folder / "model.pt"

    @property
    def log(self) -> Path:
        return self.folder / "log.csv"

    @property
    def running_log(self) -> Path:
        return self.folder / "log.running.csv"

    @property
    def checkpoint(self) -> Path:
        return self.folder / "checkpoint.pt"

    @property
    def previous_checkpoint(self) -> Path:
        """The checkpoint before the newest: resumed from where the newest cannot be read."""
        return self.folder / "checkpoint.previous.pt"

    @property
    def lock(self) -> Path:
        """Held by the one process training into the folder (tvseg.core.safe_io.folder_lock)."""
        return self.folder / ".train.lock"

    @property
    def evaluation(self) -> Path:
        return self.folder / "evaluation.csv"

    @property
    def panels(self) -> Path:
        return self.folder / "panels"

    @property
    def model_provenance(self) -> Path:
        """Where the model was trained, session by session (tvseg.core.provenance)."""
        return provenance_of(self.model)

    @property
    def evaluation_provenance(self) -> Path:
        """Where the evaluation ran (tvseg.core.provenance)."""
        return provenance_of(self.evaluation)


def panel_file_kind(method: str) -> str:
    """A method name as it appears in the panels' file names (``<image id>__<kind>.png``):
    'RUnet*1' -> 'RUnet-star1' (no '*' in paths)."""
    return method.replace("*", "-star")


def method_from_panel_kind(kind: str) -> str:
    return kind.replace("-star", "*")


def run_files(config: dict, run: RunId | str, seed: int | str) -> RunFiles:
    return RunFiles(run_dir(config, run, seed))


def longer_run_files(config: dict, run: RunId | str, seed: int | str) -> RunFiles:
    """A run of the levelling check (``datasets.<name>.curve.longer``): the plain clean net trained
    on the longer schedule, in a runs/ folder of its own so nothing collects it with the profile's runs."""
    return RunFiles(run_dir_under(Path(config["results_dir"]) / "longer_schedule", run, seed))


def dataset_results(config: dict, dataset: str) -> Path:
    """One dataset's collected results (``metrics.csv``, ``lambdas.csv``, ``curves.csv``), kept in
    git: the profile's ``metrics.csv`` and ``lambdas.csv`` join those of every dataset, so adding a
    dataset re-collects its own evaluations alone and never needs another's run folders."""
    return Path(config["results_dir"]) / "datasets" / dataset


def post_tv_choice_path(config: dict, dataset: str) -> Path:
    """Where ``tune_post_tv`` writes post-TV's lambda chosen on validation."""
    return Path(config["results_dir"]) / "post_tv" / dataset / "choice.json"


def bundle_dir(config: dict) -> Path:
    """Where ``tvseg bundle`` packs the prepared data of this configuration for a GPU box."""
    return Path(config["prepared_root"]) / "bundle"


def prepared_dir(config: dict, dataset: str) -> Path:
    return Path(config["prepared_root"]) / dataset


def source_record(config: dict, dataset: str) -> Path:
    """What ``tvseg fetch`` found of ``dataset`` (the mirror or the download), which preparation reads."""
    return Path(config["prepared_root"]) / "sources" / f"{dataset}.json"


def manifest_path(config: dict, dataset: str) -> Path:
    """The prepared dataset's manifest (classes, colours, sizes), written last by its preparation."""
    return prepared_dir(config, dataset) / "manifest.json"


def split_ids_path(config: dict, dataset: str, split: str) -> Path:
    """The image ids of one prepared split (``train``, ``train_noisy``, ``val``, ``test``)."""
    return prepared_dir(config, dataset) / split / "ids.json"
