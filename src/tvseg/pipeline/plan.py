"""The job graph of a configuration: every job the workflow runs, with the files it reads and writes.

Pure: the configuration in, no Snakemake, no torch. One :class:`Job` per run of a Snakemake rule
(``step`` is the rule's name, ``wildcards`` its wildcards), its named ``inputs`` and ``outputs``
spelled by the functions below and :class:`tvseg.core.layout.RunFiles`. Everyone who needs the
graph reads it here: the Snakemake input functions and ``rule all`` (``workflow/rules/common.smk``,
whose rules spell their output patterns with the same functions), the stages of ``dvc.yaml``
(``pipeline/dvc_stages.py``) and the GPU runner's schedule and cost estimate (``runner/schedule.py``,
``runner/estimate.py``). ``tests/pipeline/test_plan.py`` holds the Snakefile's DAG and ``dvc.yaml`` to it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tvseg.core.config import enabled_datasets
from tvseg.core.layout import (
    dataset_results,
    longer_run_files,
    manifest_path,
    post_tv_choice_path,
    run_files,
    source_record,
    split_ids_path,
)
from tvseg.core.paper import FIGURES, TABLES, TRAIN_DATA
from tvseg.core.provenance import COLLECTED_NAME
from tvseg.core.runs import (
    RunId,
    longer_seeds,
    runs_for,
    seeds_for,
    tuned_on_trained_nets,
    tuning_run,
    uses_tuned_post_tv,
)

TABLE_FORMATS = ("md", "tex", "csv", "html")
FIGURE_FORMATS = ("png", "pdf")
# the steps whose outputs are the workflow's results (what `rule all` asks for), in this order
FINAL_STEPS = (
    "summarize_metrics", "summarize_machines", "check_claims", "render_verdict", "collect_lambdas", "render_table",
    "render_per_class_table", "plot_noise_curves", "plot_claims", "plot_qualitative_panels", "plot_validation_curves",
    "check_levelling",
)  # fmt: skip
DATA_STEPS = ("download_dataset", "prepare_dataset", "make_noisy_split")
# a dataset's steps after training: its evaluations and what is collected of them alone
DATASET_EVALUATION_STEPS = (
    "tune_post_tv", "evaluate_model", "collect_dataset_metrics", "collect_dataset_lambdas", "collect_curves",
)  # fmt: skip


@dataclass(frozen=True)
class Job:
    """One job: a step and its wildcards (the job's identity), and the files it reads and writes
    by name (a name may stand for several inputs: a collection's evaluations)."""

    step: str
    wildcards: tuple[tuple[str, str], ...] = ()
    inputs: dict[str, tuple[Path, ...]] = field(default_factory=dict, compare=False)
    outputs: dict[str, Path] = field(default_factory=dict, compare=False)

    def wildcard(self, name: str) -> str | None:
        return dict(self.wildcards).get(name)

    @property
    def dataset(self) -> str | None:
        run = self.run
        return run.dataset if run else self.wildcard("dataset")

    @property
    def run(self) -> RunId | None:
        text = self.wildcard("run")
        return RunId.parse(text) if text else None

    @property
    def seed(self) -> int | None:
        text = self.wildcard("seed")
        return int(text) if text is not None else None

    @property
    def stage(self) -> str:
        """The DVC stage that versions its outputs (``pipeline/dvc_stages.py``)."""
        if self.step in DATA_STEPS:
            return "data"
        if self.step in ("train_model", "train_longer_schedule"):
            return f"train_{self.dataset}"
        if self.step in DATASET_EVALUATION_STEPS:
            return f"evaluate_{self.dataset}"
        return "report"

    def input_files(self) -> list[Path]:
        return [path for paths in self.inputs.values() for path in paths]

    def output_files(self) -> list[Path]:
        return list(self.outputs.values())

    def __str__(self) -> str:
        if self.step == "tune_post_tv":
            return f"tune post-TV on {self.dataset}"
        if self.step in ("train_model", "evaluate_model"):
            return f"{self.step.split('_')[0]} {self.run} seed {self.seed}"
        return f"{self.step} ({', '.join(f'{k}={v}' for k, v in self.wildcards)})" if self.wildcards else self.step


def _job(step: str, wildcards: dict, inputs: dict, outputs: dict) -> Job:
    return Job(
        step,
        tuple((name, str(value)) for name, value in wildcards.items()),
        {name: tuple(paths) if isinstance(paths, list | tuple) else (paths,) for name, paths in inputs.items()},
        outputs,
    )


# The files of the report, each spelled once; the Snakemake rules pass wildcard patterns ("{number}").
def results_file(config: dict, name: str) -> Path:
    return Path(config["results_dir"]) / name


def table_files(config: dict, number, reading) -> dict[str, Path]:
    folder = results_file(config, "tables")
    return {ext: folder / f"table{number}_{reading}.{ext}" for ext in TABLE_FORMATS}


def per_class_table(config: dict, dataset) -> Path:
    return results_file(config, "tables") / f"per_class_{dataset}.md"


def _figure_files(config: dict, stem: str) -> dict[str, Path]:
    """A figure's files, one per format."""
    folder = results_file(config, "figures")
    return {ext: folder / f"{stem}.{ext}" for ext in FIGURE_FORMATS}


def noise_figure_files(config: dict, number, dataset) -> dict[str, Path]:
    return _figure_files(config, f"figure{number}_{dataset}")


def claims_figure_files(config: dict, dataset) -> dict[str, Path]:
    """Each claim of ``dataset`` as its spread over seeds (tvseg.reporting.claims_figure)."""
    return _figure_files(config, f"claims_{dataset}")


def panels_figure(config: dict, dataset, train_data) -> Path:
    return results_file(config, "figures") / f"panels_{dataset}_{train_data}.png"


def curves_figure(config: dict, dataset) -> Path:
    return results_file(config, "figures") / f"curves_{dataset}.png"


def levelling_files(config: dict, dataset) -> dict[str, Path]:
    """The levelling check of ``dataset``: its table and its figure (tvseg.reporting.levelling)."""
    return {
        "md": results_file(config, "tables") / f"levelling_{dataset}.md",
        "png": results_file(config, "figures") / f"levelling_{dataset}.png",
    }


def collected_file(config: dict, dataset, name: str) -> Path:
    """A dataset's collected ``metrics.csv``, ``provenance.csv``, ``lambdas.csv`` or ``curves.csv``."""
    return dataset_results(config, dataset) / name


def has_curve(config: dict, dataset: str) -> bool:
    return bool(config["datasets"][dataset].get("curve"))


class Plan:
    """Every job of ``config`` in an order that puts each after the jobs it reads from."""

    def __init__(self, config: dict):
        self.config = config
        self.runs = runs_for(config)
        self.datasets = [d for d in enabled_datasets(config) if any(r.dataset == d for r in self.runs)]
        self.jobs: list[Job] = self._data_jobs() + self._run_jobs() + self._collect_jobs() + self._report_jobs()
        self._by_identity = {job: job for job in self.jobs}
        self._producers = {path: job for job in self.jobs for path in job.output_files()}

    # --- the jobs, stage by stage
    def _data_jobs(self) -> list[Job]:
        steps = ("download_dataset", "prepare_dataset", "make_noisy_split")
        return [self.build(step, dataset=dataset) for dataset in self.datasets for step in steps]

    def _run_jobs(self) -> list[Job]:
        """Every run's training (and the levelling check's longer ones), post-TV's choices, then
        every run's evaluation."""
        runs = [(run, seed) for run in self.runs for seed in seeds_for(self.config, run)]
        longer = [(tuning_run(self.config, d), seed) for d in self.datasets for seed in longer_seeds(self.config, d)]
        tuned = [
            d for d in self.datasets if any(uses_tuned_post_tv(self.config, r) for r in self.runs if r.dataset == d)
        ]
        # post-TV chosen on a published split takes the plain nets of its tuning seeds, listed or not yet
        tuning = [net for d in tuned for net in tuned_on_trained_nets(self.config, d)]
        return (
            [self.build("train_model", run=run, seed=seed) for run, seed in runs + [t for t in tuning if t not in runs]]
            + [self.build("train_longer_schedule", run=run, seed=seed) for run, seed in longer]
            + [self.build("tune_post_tv", dataset=dataset) for dataset in tuned]
            + [self.build("evaluate_model", run=run, seed=seed) for run, seed in runs]
        )

    def _collect_jobs(self) -> list[Job]:
        """Each dataset's evaluations, learned lambdas and curves collected, then joined."""
        jobs = []
        for dataset in self.datasets:
            steps = ("collect_dataset_metrics", "collect_dataset_lambdas")
            steps += ("collect_curves",) if has_curve(self.config, dataset) else ()
            jobs += [self.build(step, dataset=dataset) for step in steps]
        return jobs + [self.build("collect_metrics"), self.build("collect_lambdas")]

    def _report_jobs(self) -> list[Job]:
        """What renders the joined metrics, then each dataset's own tables and figures by its
        name (dvc.yaml's order)."""
        by_name = sorted(self.datasets)
        readings = self.config["evaluation"]["gaussian_readings"]
        return (
            [self.build(step) for step in ("summarize_metrics", "summarize_machines", "check_claims", "render_verdict")]
            + [self.build("render_table", number=n, reading=r) for n in TABLES for r in readings]
            + [self.build("render_per_class_table", dataset=d) for d in by_name]
            + [self.build("plot_noise_curves", number=n, dataset=d) for d, n in FIGURES.items()]
            + [self.build("plot_claims", dataset=d) for d in by_name]
            + [self.build("plot_qualitative_panels", dataset=d, train_data=t) for d in by_name for t in TRAIN_DATA]
            + [self.build("plot_validation_curves", dataset=d) for d in by_name if has_curve(self.config, d)]
            + [self.build("check_levelling", dataset=d) for d in by_name if longer_seeds(self.config, d)]
        )

    # --- looking jobs up
    def job(self, step: str, **wildcards) -> Job:
        """The planned job of ``step`` with these wildcards; one outside the plan (a target the
        configuration does not list, e.g. another seed) is built the same way."""
        identity = Job(step, tuple((name, str(value)) for name, value in wildcards.items()))
        return self._by_identity.get(identity) or self.build(step, **wildcards)

    def of(self, *steps: str, dataset: str | None = None) -> list[Job]:
        """The planned jobs of ``steps`` (of ``dataset``), in the plan's order."""
        return [j for j in self.jobs if j.step in steps and (dataset is None or j.dataset == dataset)]

    def requirements(self, job: Job) -> list[Job]:
        """The planned jobs whose outputs ``job`` reads."""
        found = [self._producers.get(path) for path in job.input_files()]
        return list(dict.fromkeys(j for j in found if j is not None))

    def final_outputs(self) -> list[Path]:
        """What ``rule all`` asks for: every table and figure of the paper (those of datasets not
        run show the paper's numbers and say why ours are missing), the claims, the verdict, the
        learned lambdas, and the panels and curves of the datasets that ran."""
        return [path for step in FINAL_STEPS for job in self.of(step) for path in job.output_files()]

    # --- one job from its step and wildcards
    def build(self, step: str, **wildcards) -> Job:
        inputs, outputs = getattr(self, f"_{step}")(**wildcards)
        return _job(step, wildcards, inputs, outputs)

    def _download_dataset(self, dataset):
        return {}, {"record": source_record(self.config, dataset)}

    def _prepare_dataset(self, dataset):
        return {"record": source_record(self.config, dataset)}, {
            "manifest": manifest_path(self.config, dataset), "train": split_ids_path(self.config, dataset, "train")
        }  # fmt: skip

    def _make_noisy_split(self, dataset):
        return {
            "manifest": manifest_path(self.config, dataset), "train": split_ids_path(self.config, dataset, "train")
        }, {"ids": split_ids_path(self.config, dataset, "train_noisy")}  # fmt: skip

    def _training(self, run, files):
        """A training of ``run`` into ``files``: it reads the prepared data and its split."""
        return {
            "manifest": manifest_path(self.config, run.dataset),
            "split": split_ids_path(self.config, run.dataset, run.train_split),
        }, {"model": files.model, "log_csv": files.log}

    def _train_model(self, run, seed):
        run = RunId.parse(str(run))
        return self._training(run, run_files(self.config, run, seed))

    def _train_longer_schedule(self, run, seed):
        """The levelling check's training: the plain clean net ``run``, the longer schedule."""
        run = RunId.parse(str(run))
        return self._training(run, longer_run_files(self.config, run, seed))

    def _tune_post_tv(self, dataset):
        """The prepared data; on a published validation split (``tune_split``), also the trained
        plain clean nets of the tuning seeds that post-TV's lambda is chosen with."""
        inputs = {
            "manifest": manifest_path(self.config, dataset),
            "split": split_ids_path(self.config, dataset, "train"),
        }
        for run, seed in tuned_on_trained_nets(self.config, dataset):
            inputs[f"model_seed{seed}"] = run_files(self.config, run, seed).model
        return inputs, {"choice": post_tv_choice_path(self.config, dataset)}

    def _evaluate_model(self, run, seed):
        """The model, and for a plain run the post-TV lambda chosen on validation (post_tv.tune)."""
        run = RunId.parse(str(run))
        files = run_files(self.config, run, seed)
        inputs = {"model": files.model}
        if uses_tuned_post_tv(self.config, run):
            inputs["post_tv"] = post_tv_choice_path(self.config, run.dataset)
        return inputs, {"csv": files.evaluation, "panels": files.panels}

    def _runs_of(self, dataset, head: str | None = None):
        return [
            run_files(self.config, run, seed)
            for run in self.runs
            if run.dataset == dataset and (head is None or run.head == head)
            for seed in seeds_for(self.config, run)
        ]

    def _collect_dataset_metrics(self, dataset):
        evaluations = [files.evaluation for files in self._runs_of(dataset)]
        return {"evaluations": evaluations}, {
            "csv": collected_file(self.config, dataset, "metrics.csv"),
            "provenance": collected_file(self.config, dataset, COLLECTED_NAME),
        }

    def _collect_dataset_lambdas(self, dataset):
        logs = [files.log for files in self._runs_of(dataset, head="tv")]
        return {"logs": logs}, {"csv": collected_file(self.config, dataset, "lambdas.csv")}

    def _collect_curves(self, dataset):
        logs = [files.log for files in self._runs_of(dataset)]
        return {"logs": logs}, {"csv": collected_file(self.config, dataset, "curves.csv")}

    def _collect_metrics(self):
        files = [collected_file(self.config, d, "metrics.csv") for d in self.datasets]
        provenance = [collected_file(self.config, d, COLLECTED_NAME) for d in self.datasets]  # read beside each
        return {"metrics": files, "provenance": provenance}, {
            "csv": results_file(self.config, "metrics.csv"),
            "provenance": results_file(self.config, COLLECTED_NAME),
        }

    def _collect_lambdas(self):
        files = [collected_file(self.config, d, "lambdas.csv") for d in self.datasets]
        return {"lambdas": files}, {"csv": results_file(self.config, "lambdas.csv")}

    def _metrics(self):
        return {"metrics": results_file(self.config, "metrics.csv")}

    def _summarize_metrics(self):
        return self._metrics(), {"json": results_file(self.config, "summary.json")}

    def _summarize_machines(self):
        return {"provenance": results_file(self.config, COLLECTED_NAME)}, {
            "md": results_file(self.config, "machines.md")
        }

    def _check_claims(self):
        return self._metrics(), {"md": results_file(self.config, "claims.md"),
                                 "html": results_file(self.config, "claims.html")}  # fmt: skip

    def _render_verdict(self):
        return self._metrics(), {"md": results_file(self.config, "verdict.md")}

    def _render_table(self, number, reading):
        return self._metrics(), table_files(self.config, number, reading)

    def _render_per_class_table(self, dataset):
        return self._metrics(), {"md": per_class_table(self.config, dataset)}

    def _plot_noise_curves(self, number, dataset):
        return self._metrics(), noise_figure_files(self.config, number, dataset)

    def _plot_claims(self, dataset):
        return self._metrics(), claims_figure_files(self.config, dataset)

    def _plot_qualitative_panels(self, dataset, train_data):
        """The panels of each run's first seed."""
        folders = [
            run_files(self.config, run, seeds_for(self.config, run)[0]).panels
            for run in self.runs
            if run.dataset == dataset and run.train_data == train_data
        ]
        return {"panels": folders}, {"png": panels_figure(self.config, dataset, train_data)}

    def _check_levelling(self, dataset):
        """The plain clean net's curves after the configured schedule (collected, every seed) and
        after the longer one."""
        longer = [
            longer_run_files(self.config, tuning_run(self.config, dataset), seed).log
            for seed in longer_seeds(self.config, dataset)
        ]
        return {"curves": collected_file(self.config, dataset, "curves.csv"), "longer": longer}, levelling_files(
            self.config, dataset
        )

    def _plot_validation_curves(self, dataset):
        return {"curves": collected_file(self.config, dataset, "curves.csv")}, {
            "png": curves_figure(self.config, dataset)
        }
