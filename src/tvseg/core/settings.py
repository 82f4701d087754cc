"""The settings of a run, one object each: the regularized head's (``TVSettings``), a training
run's (``TrainSettings``), an evaluation's (``EvaluationSettings``: its noise ``Condition``s, post-TV
heads, images and ``Panels``) and a lambda study's (``StudySettings``); the conditions a
configuration's grid expands to, and post-TV's chosen lambda read back.

Plain data, no torch: the workflow builds them when it parses (its params). ``core.from_config``
builds them once from the configuration; the model, the trainer, the evaluation, post-TV, the
studies and the converged variant take them whole. ``record()`` is how a run stores them (model.pt,
the workflow's params, the checkpoint's fingerprint).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

# The paper's head is set by these four; the converged solver's settings are recorded only where
# it is on, so adding them left the records (and the workflow's params) of the paper's runs as they were.
PAPER_TV_KEYS = ("lam", "step", "train_iters", "eval_iters")
CONVERGED_TV_KEYS = ("tol", "eval_tol", "method", "backward_tol")


@dataclass(frozen=True)
class TVSettings:
    """Settings of the TV softmax head (see :class:`~tvseg.layers.TVSoftmax`, which checks ``method``
    against ``tol`` when the head is built; the schema checks a configured one)."""

    lam: float = 1.0
    step: float = 0.25
    train_iters: int = 1
    eval_iters: int = 100
    learn_lam: bool = True
    tol: float | None = None  # set: the converged layer (RUnet*), the iteration counts are its cap
    eval_tol: float | None = None  # None: tol
    method: str = "plain"
    backward_tol: float = 1e-2

    @classmethod
    def for_post_tv(cls, post_tv: dict) -> TVSettings:
        """Post-TV's head from the configuration's ``post_tv`` (lam, step, iters): lambda fixed."""
        return cls(lam=post_tv["lam"], step=post_tv["step"], eval_iters=post_tv["iters"], learn_lam=False)

    def record(self) -> dict:
        keys = PAPER_TV_KEYS + (CONVERGED_TV_KEYS if self.tol is not None else ())
        record = {key: getattr(self, key) for key in keys}
        if not self.learn_lam:
            record["learn_lam"] = False
        return record


# TrainSettings' keys added after WBC's committed runs, with the defaults those runs trained with.
OPTIONAL_TRAIN_KEYS = {
    "hflip": False, "curve_split": None, "curve_every": 0, "decoder_channels": None, "optimizer": "sgd",
}  # fmt: skip


@dataclass
class TrainSettings:
    data_dir: str
    split: str  # train | train_noisy
    architecture: str
    num_classes: int
    encoder: str | None = None
    encoder_weights: str | None = None
    head: str = "softmax"
    tv: TVSettings = field(default_factory=TVSettings)  # a dict (a stored record) is read into TVSettings
    lr: float = 1e-4
    lam_lr: float = 1e-3
    lr_schedule: str = "constant"  # constant | poly | cosine (engine.batches.lr_factor)
    momentum: float = 0.9
    weight_decay: float = 0.0
    batch_size: int = 8
    iterations: int = 20000
    train_crop: list | None = None
    class_weights: str | None = None
    seed: int = 0
    checkpoint_every: int = 500
    validation_count: int = 0  # training images held out for tuning, drawn from validation_seed
    validation_seed: int = 17
    hflip: bool = False  # random horizontal flips of the training items
    curve_split: str | None = None  # a published split scored every curve_every iterations (the log's val_*)
    curve_every: int = 0
    decoder_channels: list | None = None  # the Unet decoder's widths (None: smp's default)
    optimizer: str = "sgd"  # sgd (momentum, weight decay as L2) | adamw (weight decay decoupled)

    def __post_init__(self):
        if isinstance(self.tv, dict):
            self.tv = TVSettings(**self.tv)

    @property
    def train_data(self) -> str:
        """``clean`` or ``noisy``: the training data, as a run's id names it."""
        return "noisy" if self.split == "train_noisy" else "clean"

    def record(self) -> dict:
        """The settings as a run stores them (model.pt) and the workflow compares them (params).

        The keys added after the first runs (``OPTIONAL_TRAIN_KEYS``) are recorded only where they
        differ from their defaults, so the records and fingerprints of those runs stay as they were.
        """
        record = {**asdict(self), "tv": self.tv.record()}
        for key, default in OPTIONAL_TRAIN_KEYS.items():
            if record[key] == default:
                del record[key]
        return record

    def fingerprint(self) -> str:
        """What decides the result; a checkpoint from other settings is never resumed."""
        return hashlib.sha256(json.dumps(self.record(), sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Condition:
    """One test condition: clean, or a noise of ``kind`` at ``level``."""

    kind: str
    level: float
    reading: str = "none"  # std | variance for gaussian noise, none otherwise

    @property
    def name(self) -> str:
        if self.kind == "clean":
            return "clean"
        suffix = f"_{self.reading}" if self.kind == "gaussian" else ""
        return f"{self.kind}{self.level:g}{suffix}"


def expand_conditions(table_conditions: list[dict], figure_sigmas: list[float], readings: list[str]) -> list[Condition]:
    """The table's conditions and the figure's sigma grid, gaussian ones once per reading, deduplicated."""
    wanted = [(c["kind"], float(c["level"])) for c in table_conditions]
    wanted += [("gaussian", float(s)) if s > 0 else ("clean", 0.0) for s in figure_sigmas]
    out: list[Condition] = []
    for kind, level in wanted:
        if kind == "clean" or level == 0:
            candidates = [Condition("clean", 0.0)]
        elif kind == "gaussian":
            candidates = [Condition(kind, level, r) for r in readings]
        else:
            candidates = [Condition(kind, level)]
        out.extend(c for c in candidates if c not in out)
    return out


POST_TV_TUNED_SUFFIX = "-val"  # Unet1+postTV-val: post-TV at the lambda chosen on the validation split


def load_post_tv_choice(path: Path) -> dict[str, dict]:
    """The extra post-TV head of an evaluation from a choice.json written by ``tune_post_tv``."""
    choice = json.loads(Path(path).read_text())
    return {POST_TV_TUNED_SUFFIX: {key: choice[key] for key in ("lam", "step", "iters")}}


@dataclass(frozen=True)
class Panels:
    """Qualitative label maps to save: the first ``images`` test images under ``conditions``
    (names; None: all), into ``folder/<condition>/``."""

    folder: Path
    images: int
    conditions: tuple[str, ...] | None = None

    def wanted(self, index: int, condition: Condition) -> bool:
        return index < self.images and (self.conditions is None or condition.name in self.conditions)


@dataclass(frozen=True)
class EvaluationSettings:
    """What an evaluation reads besides its model and its images' folder, taken whole by
    ``engine.evaluate.evaluate_run`` (built in ``core.from_config``: ``evaluation_settings`` for the
    workflow's evaluations and the estimate, ``tuning_evaluation_settings`` and
    ``study_evaluation_settings`` for post-TV's tuning and the lambda study).

    ``post_tv`` (a plain run's, required there): post-TV heads by method-name suffix ("" for
    ``+postTV``, ``-val`` for the lambda chosen on validation...) -> settings (lam, step, iters).
    ``split``/``image_ids`` choose other images than the test set (the tuning study evaluates on
    training images held out from training). ``head_batch``: images whose logits go through each
    head together; ``network_batch``: images through the network at once.
    """

    conditions: tuple[Condition, ...]
    noise_seed: int = 0
    post_tv: dict[str, dict] | None = None
    split: str = "test"
    image_ids: tuple[str, ...] | None = None
    head_batch: int = 1
    network_batch: int = 1
    panels: Panels | None = None

    def __post_init__(self):
        for name in ("head_batch", "network_batch"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1; got {getattr(self, name)}")

    def record(self) -> dict:
        """What changes an evaluation's numbers, as the workflow compares it (its params): the
        conditions, the noise's seed, the configured post-TV (those chosen on validation are an
        input file of the job, not a setting) and the panels saved. The batches are left out:
        ``head_batch`` changes only the speed (tests/engine/test_evaluate.py), and a profile's results hold
        for its own ``network_batch``. ``split`` and ``image_ids`` appear where they are not the test set's."""
        record = {
            "conditions": [asdict(condition) for condition in self.conditions],
            "post_tv": (self.post_tv or {}).get(""),
            "seed": self.noise_seed,
            "qualitative_images": self.panels.images if self.panels else 0,
            "qualitative_conditions": _listed(self.panels.conditions) if self.panels else [],
        }
        if self.split != "test":
            record["split"] = self.split
        if self.image_ids is not None:
            record["image_ids"] = list(self.image_ids)
        return record


def _listed(names: tuple[str, ...] | None) -> list[str] | None:
    return None if names is None else list(names)


@dataclass(frozen=True)
class StudySettings:
    """What a lambda study trains and scores: the regularized net at each initial lambda of ``lams``,
    the plain net with post-TV at each of ``post_tv_lams``, for each of ``seeds``, on
    ``validation_count`` held-out training images, clean and under gaussian ``levels`` with sigma
    read as ``reading`` (std | variance)."""

    lams: tuple[float, ...]
    post_tv_lams: tuple[float, ...]
    seeds: tuple[int, ...]
    validation_count: int
    levels: tuple[float, ...]
    reading: str
