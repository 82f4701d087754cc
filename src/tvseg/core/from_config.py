"""From the configuration to the settings of each step: preparation, training, evaluation, and
post-TV's tuning and the lambda study. The one place a setting is read out of the configuration;
everyone downstream takes the settings objects whole (``core.settings``).

No torch: the workflow builds the settings when it parses, to give each job exactly the params it
reads (``record()``).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from tvseg.core.config import ConfigError, dataset_settings
from tvseg.core.layout import prepared_dir
from tvseg.core.runs import RunId, longer_schedule, tuning_run
from tvseg.core.settings import (
    PAPER_TV_KEYS,
    Condition,
    EvaluationSettings,
    Panels,
    StudySettings,
    TrainSettings,
    TVSettings,
    expand_conditions,
    load_post_tv_choice,
)
from tvseg.datasets.prepare import NoisyTrainingSet, PrepareSettings
from tvseg.datasets.specs import get_spec


def prepare_settings(config: dict, dataset: str) -> PrepareSettings:
    settings = dataset_settings(config, dataset)
    noisy = settings["noisy_train"]
    return PrepareSettings(
        size=tuple(settings["size"]) if settings.get("size") else None,
        seed=0,  # the seed of SUN-RGBD's random split, fixed like WBC's committed split
        noisy=NoisyTrainingSet(
            count=noisy["count"],
            gaussian_level=noisy["gaussian_level"],
            salt_pepper_level=noisy.get("salt_pepper_level", 0.01),
            gaussian_reading=config["noise"]["gaussian_reading"],
            seed=config["noise"]["seed"],
        ),
        sunrgbd_split=settings.get("split", "random"),
        sunrgbd_train_count=settings.get("train_count", 5285),
        limit=dict(settings.get("limit", {})),
    )


def train_settings(config: dict, run: RunId, seed: int) -> TrainSettings:
    settings = dataset_settings(config, run.dataset)
    tv = config["tv"]
    return TrainSettings(
        data_dir=str(prepared_dir(config, run.dataset)),
        split=run.train_split,
        architecture=settings["architecture"],
        num_classes=get_spec(run.dataset).num_classes,
        encoder=settings["encoder"],
        encoder_weights=settings.get("encoder_weights"),
        head=run.head,
        tv=tv_settings(config, run),
        lr=settings["lr"],
        lam_lr=settings["lr"] * tv["lam_lr_factor"],
        lr_schedule=settings["lr_schedule"],
        momentum=config["training"]["momentum"],
        weight_decay=(
            config["training"]["weight_decay"] if settings.get("weight_decay") is None else settings["weight_decay"]
        ),
        batch_size=settings["batch_size"],
        iterations=settings["iterations"],
        train_crop=list(settings["train_crop"]) if settings.get("train_crop") else None,
        class_weights=settings.get("class_weights"),
        seed=seed,
        checkpoint_every=config["training"]["checkpoint_every"],
        validation_count=settings.get("validation_count", 0),
        validation_seed=config["noise"]["seed"] + 17,
        hflip=settings.get("hflip", False),
        curve_split=(settings.get("curve") or {}).get("split"),
        curve_every=(settings.get("curve") or {}).get("every", 0),
        decoder_channels=list(settings["decoder_channels"]) if settings.get("decoder_channels") else None,
        optimizer=settings.get("optimizer", "sgd"),
    )


def longer_train_settings(config: dict, run: RunId, seed: int) -> TrainSettings:
    """The levelling check's training (``datasets.<name>.curve.longer``): the plain clean net
    ``run`` as configured, but ``factor`` times the iterations (a poly rate then decays over the
    longer schedule), its validation curve at the same points."""
    longer, plain = longer_schedule(config, run.dataset), tuning_run(config, run.dataset)
    if not longer:
        raise ConfigError(f"{run} has no longer schedule: set datasets.{run.dataset}.curve.longer")
    if run != plain:
        raise ConfigError(f"{run} has no longer schedule: the levelling check trains {plain} alone")
    settings = train_settings(config, run, seed)
    return replace(settings, iterations=settings.iterations * longer["factor"])


def tv_settings(config: dict, run: RunId) -> TVSettings:
    """The regularized head of ``run`` from the configuration's ``tv`` (and ``converged`` for the
    converged extras, RUnet*): the one place the head's settings are read."""
    tv = config["tv"]
    settings = {k: tv[k] for k in PAPER_TV_KEYS}
    if run.converged:
        converged = config["converged"]
        settings.update(
            train_iters=converged["max_iters"],
            eval_iters=converged["max_iters"],
            tol=converged["tol"],
            eval_tol=converged["eval_tol"],
            method=converged["method"],
            backward_tol=converged["backward_tol"],
        )
    return TVSettings(**settings)


def evaluation_grid(config: dict, dataset: str | None = None) -> dict:
    """The ``evaluation`` section as it applies to ``dataset``: its own ``datasets.<name>.evaluation``
    (figure_sigmas, gaussian_readings, extra_conditions, batch) over the shared one."""
    own = dataset_settings(config, dataset).get("evaluation") if dataset else None
    return {**config["evaluation"], **(own or {})}


def conditions(config: dict, dataset: str | None = None) -> list[Condition]:
    """Every test condition of ``dataset`` (the tables', the figure's grid, the extras)."""
    evaluation = evaluation_grid(config, dataset)
    return expand_conditions(
        evaluation["table_conditions"] + evaluation["extra_conditions"],
        evaluation["figure_sigmas"],
        evaluation["gaussian_readings"],
    )


def evaluation_settings(
    config: dict, dataset: str, post_tv_choice: Path | None = None, panels: Path | None = None
) -> EvaluationSettings:
    """A workflow evaluation's settings (``tvseg evaluate``, the ``evaluate_model`` job): every
    condition of ``dataset``, post-TV at the configured lambda (and at the one of ``post_tv_choice``),
    the configured batches, and panels into ``panels`` where given."""
    evaluation = config["evaluation"]
    chosen = load_post_tv_choice(post_tv_choice) if post_tv_choice else {}
    return EvaluationSettings(
        tuple(conditions(config, dataset)),
        noise_seed=evaluation["seed"],
        post_tv={"": config["post_tv"], **chosen},
        head_batch=evaluation["head_batch"],
        network_batch=evaluation_grid(config, dataset).get("batch", 1),
        panels=Panels(panels, evaluation["qualitative_images"], tuple(evaluation["qualitative_conditions"]))
        if panels is not None
        else None,
    )


def study_train_settings(
    config: dict, run: RunId, seed: int, lam: float | None, validation_count: int
) -> TrainSettings:
    """A lambda study's training of ``run``: ``validation_count`` training images held out, and for a
    regularized net the initial ``lam`` with step*lambda held at the configured value, so every
    start is equally convergent (``lam`` None: the configured head)."""
    settings = replace(train_settings(config, run, seed), validation_count=validation_count)
    if lam is None:
        return settings
    step_lam = config["tv"]["lam"] * config["tv"]["step"]
    return replace(settings, tv=replace(settings.tv, lam=lam, step=step_lam / lam))


def validation_conditions(levels, reading: str) -> tuple[Condition, ...]:
    """Clean and gaussian ``levels`` (sigma read as ``reading``): what tuning and studies score on."""
    return (Condition("clean", 0.0),) + tuple(Condition("gaussian", level, reading) for level in levels)


def study_evaluation_settings(
    config: dict, study: StudySettings, split: str, image_ids, post_tv: dict | None
) -> EvaluationSettings:
    """A lambda study's scoring of one trained net on its held-out ``image_ids`` of ``split``
    (``post_tv``: the plain net's post-TV heads, None for a regularized net)."""
    evaluation = config["evaluation"]
    return EvaluationSettings(
        validation_conditions(study.levels, study.reading), noise_seed=evaluation["seed"], post_tv=post_tv,
        split=split, image_ids=tuple(image_ids), head_batch=evaluation["head_batch"],
    )  # fmt: skip


def tuning_evaluation_settings(config: dict, dataset: str, split: str, candidates: dict) -> EvaluationSettings:
    """Post-TV's tuning on a published ``split`` (CamVid's val): every image, post-TV at each of
    ``candidates``, clean and under the tuning's gaussian levels, sigma read as the noisy training
    sets read it."""
    evaluation = config["evaluation"]
    levels = config["post_tv"]["tune"]["levels"]
    return EvaluationSettings(
        validation_conditions(levels, config["noise"]["gaussian_reading"]), noise_seed=evaluation["seed"],
        post_tv=candidates, split=split, head_batch=evaluation["head_batch"],
        network_batch=evaluation_grid(config, dataset).get("batch", 1),
    )  # fmt: skip


def tuning_study_settings(config: dict, seeds: list[int]) -> StudySettings:
    """Post-TV's tuning where no published split exists: a study of the plain net alone, post-TV at
    each candidate lambda, on ``post_tv.tune.validation_count`` held-out training images, sigma
    read as the noisy training sets read it."""
    tune = config["post_tv"]["tune"]
    return StudySettings(
        (), tuple(tune["lams"]), tuple(seeds), tune["validation_count"], tuple(tune["levels"]),
        reading=config["noise"]["gaussian_reading"],
    )  # fmt: skip


def study_settings(config: dict, lams, post_tv_lams, seeds, validation_count: int, levels) -> StudySettings:
    """A lambda study asked for on the command line, sigma read as the profile's evaluations read it
    (the variance where they read it so)."""
    reading = "variance" if "variance" in config["evaluation"]["gaussian_readings"] else "std"
    return StudySettings(
        tuple(lams), tuple(post_tv_lams), tuple(seeds or config["seeds"]), validation_count, tuple(levels), reading
    )
