"""From the configuration to the settings of each step (prepare, train, evaluate)."""

from __future__ import annotations

from pathlib import Path

from tvseg.core.config import RunId, dataset_settings, plain_network, prepared_dir
from tvseg.core.settings import PAPER_TV_KEYS, EvaluationSettings, Panels, TrainSettings, TVSettings
from tvseg.datasets.prepare import NoisyTrainingSet, PrepareSettings
from tvseg.datasets.specs import get_spec
from tvseg.engine.evaluate import Condition, expand_conditions, load_post_tv_choice


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
    )


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


ARCHITECTURE_NAMES = {"unet": "Unet", "segnet": "SegNet"}


def recipe_note(config: dict, dataset: str) -> str | None:
    """What this configuration trains for ``dataset``, in a line for captions and titles (None
    where the dataset is off), e.g. "an smp Unet on resnet18 in the paper's SegNet's place,
    120x160, 1500 iterations, random initialisation". The seeds are not in it: a table or figure
    counts those in its own data, which may hold fewer than the profile asks for (a cut run)."""
    settings = dataset_settings(config, dataset)
    if not settings.get("enabled", True):
        return None
    network = f"{ARCHITECTURE_NAMES[settings['architecture']]} on {settings['encoder']}"
    if plain_network(config, dataset) != settings["architecture"]:
        network = f"an smp {network} in the paper's {ARCHITECTURE_NAMES[plain_network(config, dataset)]}'s place"
    size = _resolution(dataset, settings)
    weights = settings.get("encoder_weights")
    start = "random initialisation" if weights is None else f"{weights} encoder weights"
    return f"{network}, {size}, {settings['iterations']} iterations, {start}"


def _resolution(dataset: str, settings: dict) -> str:
    """The resolution a dataset's nets are evaluated at, and the crops they train on if any."""
    if settings.get("size"):
        size = "x".join(str(n) for n in settings["size"])
    else:
        native = get_spec(dataset).native_size
        size = "x".join(str(n) for n in native) + " (as published)" if native else "full size"
    crop = settings.get("train_crop")
    return f"{size}, trained on {'x'.join(str(n) for n in crop)} crops" if crop else size


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
