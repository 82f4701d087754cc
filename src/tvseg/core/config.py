"""The one configuration: config.yaml, overridden by profile files, validated by the schema.

Profiles only override: later files are merged into earlier ones key by key (lists are
replaced whole). The schema (``workflow/schemas/config.schema.yaml``) fills defaults and
rejects unknown keys and wrong types before any job starts.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from tvseg.core.paper import CONVERGED_NAMES, NETWORK_NAMES, TRAIN_DATA
from tvseg.core.provenance import provenance_of

REPO_ROOT = Path(__file__).resolve().parents[3]
SCHEMA_PATH = REPO_ROOT / "workflow" / "schemas" / "config.schema.yaml"


class ConfigError(ValueError):
    pass


def merge(base: dict, override: dict) -> dict:
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _with_defaults(validator_class):
    import jsonschema  # here, not at the top: a GPU box reading an already validated config needs none

    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for name, sub in properties.items():
                if "default" in sub and name not in instance:
                    instance[name] = copy.deepcopy(sub["default"])
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


# YAML 1.1 (PyYAML, Snakemake's loader) reads 1e-4 and 1.0e+9 without a dot or sign as strings.
_EXPONENT_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)[eE][+-]?\d+$")


def _numbers_from_exponent_strings(tree):
    """``"1e-4"`` -> ``1e-4`` throughout a parsed config, so exponent notation means a number."""
    if isinstance(tree, dict):
        return {key: _numbers_from_exponent_strings(value) for key, value in tree.items()}
    if isinstance(tree, list):
        return [_numbers_from_exponent_strings(value) for value in tree]
    if isinstance(tree, str) and _EXPONENT_NUMBER.match(tree.strip()):
        return float(tree)
    return tree


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def validate(config: dict, schema_path: Path = SCHEMA_PATH, sources: str = "the configuration") -> dict:
    """Validate ``config`` in place (filling defaults); raise ConfigError naming each bad key, its
    value and what was expected, in a few lines (at most 10 errors)."""
    config.update(_numbers_from_exponent_strings(config))
    schema = yaml.safe_load(Path(schema_path).read_text())
    from jsonschema import Draft202012Validator

    validator = _with_defaults(Draft202012Validator)(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        lines = []
        for error in errors[:10]:
            where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
            if error.validator == "additionalProperties":
                lines.append(
                    f"  {where}: {error.message.split(' (')[-1].rstrip(')')}; allowed: {sorted(error.schema.get('properties', {}))}"
                )
            elif error.validator in ("required",):
                lines.append(f"  {where}: {error.message}")
            else:
                problem = error.message.split(" is ")[-1] if " is " in error.message else error.message
                meaning = error.schema.get("description")
                key = str(error.absolute_path[-1]) if error.absolute_path else "the configuration"
                what = f"{key}: {meaning}" if meaning else f"expected: {_short(error.validator_value)}"
                lines.append(f"  {where} = {_short(error.instance)}: {problem} ({what})")
        raise ConfigError(f"invalid configuration in {sources}:\n" + "\n".join(lines))
    return config


def load_config(*paths: str | Path, validate_schema: bool = True) -> dict:
    """Merge the YAML files in order (config.yaml first, then profile overrides) and validate.
    ``validate_schema=False`` only merges (no defaults filled): for reading a path on a GPU box,
    which has no jsonschema."""
    if not paths:
        paths = (REPO_ROOT / "config.yaml",)
    config: dict = {}
    for path in paths:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"configuration file not found: {path}")
        loaded = yaml.safe_load(path.read_text()) or {}
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path} must hold a mapping at the top level")
        config = merge(config, loaded)
    if not validate_schema:
        return _numbers_from_exponent_strings(config)
    sources = ", ".join(str(p) for p in paths)
    try:
        return validate(config, sources=sources)
    except ConfigError as error:
        if Path(paths[0]).name != "config.yaml" and "is a required property" in str(error):
            raise ConfigError(
                f"{error}\n  hint: profile files only override config.yaml; pass --config config.yaml first, "
                f"then --config {paths[0]}"
            ) from None
        raise


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


def enabled_datasets(config: dict) -> list[str]:
    """The datasets this configuration runs, in the configuration's order."""
    return [name for name, settings in config["datasets"].items() if settings.get("enabled", True)]


def only_datasets(config: dict, names: list[str]) -> dict:
    """``config`` with every enabled dataset but ``names`` disabled (a bundle of one dataset, to
    fit a small transfer; the box then plans that dataset's jobs alone)."""
    unknown = sorted(set(names) - set(enabled_datasets(config)))
    if unknown:
        raise ConfigError(
            f"not an enabled dataset of this configuration: {unknown}; enabled: {enabled_datasets(config)}"
        )
    kept = copy.deepcopy(config)
    for name in enabled_datasets(config):
        kept["datasets"][name]["enabled"] = name in names
    return kept


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


def uses_tuned_post_tv(config: dict, run: RunId) -> bool:
    """Whether the run's evaluation adds post-TV at the lambda chosen on validation (plain nets,
    ``post_tv.tune`` enabled): its evaluation then needs the tuning's choice.json."""
    return run.head == "softmax" and config["post_tv"]["tune"]["enabled"]


def dataset_settings(config: dict, dataset: str) -> dict:
    if dataset not in config["datasets"]:
        raise ConfigError(f"dataset {dataset!r} is not configured; configured: {sorted(config['datasets'])}")
    return config["datasets"][dataset]


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
        """Held by the one process training into the folder (tvseg.core.files.folder_lock)."""
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


def run_files(config: dict, run: RunId | str, seed: int | str) -> RunFiles:
    return RunFiles(run_dir(config, run, seed))


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
