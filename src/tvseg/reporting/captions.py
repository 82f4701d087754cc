"""Caption prose from the configuration: what ran for a dataset (``recipe_note``) and how its
learning rate ended (``schedule_note``), for the titles and captions of tables and figures."""

from __future__ import annotations

from tvseg.core.config import dataset_settings
from tvseg.core.runs import plain_network
from tvseg.datasets.specs import get_spec

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
    if settings.get("decoder_channels"):  # a lighter decoder than smp's is part of what ran
        network += f" with a ({', '.join(str(c) for c in settings['decoder_channels'])}) decoder"
    if plain_network(config, dataset) != settings["architecture"]:
        network = f"an smp {network} in the paper's {ARCHITECTURE_NAMES[plain_network(config, dataset)]}'s place"
    size = _resolution(dataset, settings)
    weights = settings.get("encoder_weights")
    start = "random initialisation" if weights is None else f"{weights} encoder weights"
    optimizer = ", AdamW" if settings.get("optimizer", "sgd") == "adamw" else ""  # the paper's SGD goes unnamed
    return f"{network}, {size}, {settings['iterations']} iterations{optimizer}, {start}"


def _resolution(dataset: str, settings: dict) -> str:
    """The resolution a dataset's nets are evaluated at, and the crops they train on if any."""
    if settings.get("size"):
        size = "x".join(str(n) for n in settings["size"])
    else:
        native = get_spec(dataset).native_size
        size = "x".join(str(n) for n in native) + " (as published)" if native else "full size"
    crop = settings.get("train_crop")
    return f"{size}, trained on {'x'.join(str(n) for n in crop)} crops" if crop else size


def schedule_note(config: dict, dataset: str) -> str:
    """The learning-rate schedule's end for ``dataset``, e.g. "poly learning rate, 0 at iteration 600"."""
    settings = dataset_settings(config, dataset)
    if settings.get("lr_schedule", "constant") == "constant":
        return f"a constant learning rate, {settings['iterations']} iterations"
    return f"{settings['lr_schedule']} learning rate, 0 at iteration {settings['iterations']}"
