"""The run catalogue: a run's id (``RunId``: network, dataset, training data), the runs and seeds a
configuration asks for, the run post-TV's lambda is chosen on, and the seeds of the levelling check
(that run trained on a longer schedule)."""

from __future__ import annotations

from dataclasses import dataclass

from tvseg.core.config import ConfigError, dataset_settings
from tvseg.core.paper import CONVERGED_NAMES, NETWORK_NAMES, TRAIN_DATA


@dataclass(frozen=True)
class RunId:
    network: str  # unet | runet | segnet | rsegnet
    dataset: str
    train_data: str  # clean | noisy

    @classmethod
    def parse(cls, text: str) -> RunId:
        parts = text.split("_")
        if len(parts) != 3 or parts[0] not in NETWORK_NAMES or parts[2] not in TRAIN_DATA:
            raise ConfigError(f"run id must look like runet_wbc_noisy (network_dataset_data); got {text!r}")
        return cls(*parts)

    def __str__(self) -> str:
        return f"{self.network}_{self.dataset}_{self.train_data}"

    @property
    def head(self) -> str:
        return "tv" if self.network.startswith("r") else "softmax"

    @property
    def train_split(self) -> str:
        """The prepared split it trains on."""
        return "train_noisy" if self.train_data == "noisy" else "train"

    @property
    def converged(self) -> bool:
        return self.network in CONVERGED_NAMES

    @property
    def paper_name(self) -> str:
        return f"{NETWORK_NAMES[self.network]}{1 if self.train_data == 'clean' else 2}"


def runs_for(config: dict) -> list[RunId]:
    """The paper's variants for every enabled dataset: plain and regularized, clean and noisy;
    then the converged extras (``runetstar``...) for the datasets listed in ``converged.datasets``."""
    runs = []
    extras = config.get("converged", {}).get("datasets", [])
    for dataset, settings in config["datasets"].items():
        if not settings.get("enabled", True):
            continue
        plain = plain_network(config, dataset)
        networks = (plain, f"r{plain}") + ((f"r{plain}star",) if dataset in extras else ())
        for train_data in TRAIN_DATA:
            for network in networks:
                runs.append(RunId(network, dataset, train_data))
    return runs


def plain_network(config: dict, dataset: str) -> str:
    """The paper's plain network that ``dataset``'s pair stands for, which names its runs and
    variants (``segnet``: segnet_camvid_clean = Segnet1): ``paper_network`` where a profile
    builds another architecture in its place (``architecture``, recorded in every run), else
    the architecture itself."""
    settings = dataset_settings(config, dataset)
    return settings.get("paper_network") or settings["architecture"]


def seeds_for(config: dict, run: RunId) -> list[int]:
    """The run's seeds: the converged extras' own (``converged.seeds``), else the dataset's, else the top level's."""
    converged = config.get("converged", {}).get("seeds") if run.converged else None
    return list(converged or config["datasets"][run.dataset].get("seeds") or config["seeds"])


def tuning_run(config: dict, dataset: str) -> RunId:
    """The plain net trained on clean data, whose outputs post-TV's lambda is chosen on."""
    return RunId(plain_network(config, dataset), dataset, "clean")


def tuning_seeds(config: dict, dataset: str) -> list[int]:
    """The seeds of that net post-TV's lambda is chosen with (``post_tv.tune.seeds``, else its first)."""
    return list(config["post_tv"]["tune"]["seeds"] or seeds_for(config, tuning_run(config, dataset))[:1])


def tune_split(config: dict, dataset: str) -> str | None:
    """The published validation split post-TV's lambda of ``dataset`` is chosen on with the trained
    plain nets (``datasets.<name>.tune_split``), or None: the tuning then trains its own nets on the
    training images it does not hold out."""
    return dataset_settings(config, dataset).get("tune_split")


def tuned_on_trained_nets(config: dict, dataset: str) -> list[tuple[RunId, int]]:
    """The trained nets (run, seed) post-TV's lambda of ``dataset`` is chosen with: on a published
    validation split (:func:`tune_split`), the plain clean net of each tuning seed, listed in the
    dataset's seeds or not; none otherwise (the tuning then trains on held-out training images)."""
    if not tune_split(config, dataset):
        return []
    run = tuning_run(config, dataset)
    return [(run, seed) for seed in tuning_seeds(config, dataset)]


def uses_tuned_post_tv(config: dict, run: RunId) -> bool:
    """Whether the run's evaluation adds post-TV at the lambda chosen on validation (plain nets,
    ``post_tv.tune`` enabled): its evaluation then needs the tuning's choice.json."""
    return run.head == "softmax" and config["post_tv"]["tune"]["enabled"]


def longer_schedule(config: dict, dataset: str) -> dict | None:
    """The levelling check of ``dataset`` (``datasets.<name>.curve.longer``: factor, seeds), or None."""
    return (config["datasets"][dataset].get("curve") or {}).get("longer")


def longer_seeds(config: dict, dataset: str) -> list[int]:
    """The seeds whose plain clean net is also trained on the longer schedule (none without a
    levelling check): those listed that the net is trained with at the configured length, whose
    end each is set against. A listed seed not (yet) among them waits: scripts/run_seeds.sh adds
    the seeds one by one, and the check takes each as its seed arrives."""
    longer = longer_schedule(config, dataset)
    if not longer:
        return []
    trained = seeds_for(config, tuning_run(config, dataset))
    return [seed for seed in longer["seeds"] if seed in trained]
