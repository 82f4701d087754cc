"""The one configuration: config.yaml, overridden by profile files, validated by the schema, and
its datasets (``dataset_settings``, ``enabled_datasets``, ``only_datasets``).

Profiles only override: later files are merged into earlier ones key by key (lists are
replaced whole). The schema (``workflow/schemas/config.schema.yaml``) fills defaults and
rejects unknown keys and wrong types before any job starts. The runs a configuration asks for
are in ``core.runs``; where their files go, in ``core.layout``.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import yaml

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


def dataset_settings(config: dict, dataset: str) -> dict:
    if dataset not in config["datasets"]:
        raise ConfigError(f"dataset {dataset!r} is not configured; configured: {sorted(config['datasets'])}")
    return config["datasets"][dataset]
