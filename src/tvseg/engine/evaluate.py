"""Evaluation of a trained run on its test set under every noise condition.

For each condition every test image gets seeded noise (``tvseg.datasets.noise``), the network
runs once, and each method's head turns the logits into a label map: a regularized run's own
TV head (its evaluation iteration count), or for a plain run both its softmax and the paper's
post-TV baseline (a fixed-lambda TV softmax applied at test time). The network sees
``network_batch`` images at a time and the heads take the logits of ``head_batch`` (on a GPU a
100-iteration head is a few thousand small kernels, whatever the batch, so batching divides
that cost). head_batch changes no label; network_batch can move a near-tie pixel (batched
convolutions round differently), so a profile's results hold for its own value.
Confusion matrices are accumulated over the test set; RE (Eq. 4.1) is the mean over images. The result is one tidy
CSV: run, seed, dataset, architecture, head, train_data, method, condition, level, reading,
metric, value.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

from tvseg.core.config import RunId
from tvseg.core.files import folder_lock, write_atomic
from tvseg.core.settings import TVSettings
from tvseg.datasets.inputs import to_input
from tvseg.datasets.noise import add_noise, to_u8, to_unit
from tvseg.datasets.prepare import PreparedSplit
from tvseg.engine.metrics import GROUND_TRUTH, confusion_matrix, regularization_effect, scores
from tvseg.models import load_trained, tv_head

CSV_FIELDS = (
    "run", "seed", "dataset", "architecture", "head", "train_data", "method",
    "condition", "level", "reading", "metric", "value",
)  # fmt: skip


@dataclass(frozen=True)
class Condition:
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


def colourize(labels: np.ndarray, colours: list, ignore_index: int = 255) -> np.ndarray:
    palette = np.zeros((256, 3), dtype=np.uint8)
    palette[: len(colours)] = np.asarray(colours, dtype=np.uint8)
    palette[ignore_index] = (0, 0, 0)
    return palette[labels]


@dataclass(frozen=True)
class Panels:
    """Qualitative label maps to save: the first ``images`` test images under ``conditions``
    (names; None: all), into ``folder/<condition>/``."""

    folder: Path
    images: int
    conditions: tuple[str, ...] | None = None

    def wanted(self, index: int, condition: Condition) -> bool:
        return index < self.images and (self.conditions is None or condition.name in self.conditions)


def evaluate_run(
    model_path: Path,
    data_dir: Path,
    out_csv: Path,
    conditions: list[Condition],
    noise_seed: int = 0,
    post_tv: dict[str, dict] | None = None,
    run: str | None = None,
    seed: int = 0,
    panels: Panels | None = None,
    device: str = "auto",
    progress: bool = True,
    split: str = "test",
    image_ids: list[str] | None = None,
    head_batch: int = 1,
    network_batch: int = 1,
) -> Path:
    """Evaluate one trained run under every condition into a tidy CSV.

    ``post_tv`` (a plain run's, required there): post-TV heads by method-name suffix ("" for
    ``+postTV``, ``-val`` for the lambda chosen on validation...) -> settings (lam, step, iters).
    ``split``/``image_ids`` choose other images than the test set (the tuning study evaluates
    on training images held out from training). ``head_batch``: images whose logits go through
    each head together (see the module's header); ``network_batch``: images through the network
    at once.
    """
    for name, value in (("head_batch", head_batch), ("network_batch", network_batch)):
        if value < 1:
            raise ValueError(f"{name} must be at least 1; got {value}")
    out_csv = Path(out_csv)
    with folder_lock(out_csv.with_name(f".{out_csv.name}.lock"), f"evaluation into {out_csv}"):
        return _evaluate_into(
            model_path, data_dir, out_csv, conditions, noise_seed, post_tv, run, seed, panels, device, progress,
            split, image_ids, head_batch, network_batch,
        )  # fmt: skip


def _evaluate_into(
    model_path, data_dir, out_csv, conditions, noise_seed, post_tv, run, seed, panels, device, progress, split,
    image_ids, head_batch, network_batch,
) -> Path:  # fmt: skip
    model, settings = load_trained(model_path, device)
    run_id = RunId.parse(run) if run else None
    torch_device = next(model.parameters()).device
    images = PreparedSplit(Path(data_dir), split)
    _refuse_a_mismatch(model_path, settings, run_id, images.manifest, data_dir)
    paper_name = run_id.paper_name if run_id else settings.architecture
    heads = {paper_name: model.head}
    if settings.head == "softmax":
        if not post_tv:  # its settings live in the configuration alone (post_tv), not here
            raise ValueError(f"{model_path} is a plain network: its evaluation adds post-TV; pass post_tv")
        for suffix, post in post_tv.items():
            heads[f"{paper_name}+postTV{suffix}"] = tv_head(TVSettings.for_post_tv(post)).to(torch_device).eval()
    base = {
        "run": str(run_id) if run_id else Path(model_path).parent.name,
        "seed": seed,
        "dataset": images.manifest["dataset"],
        "architecture": settings.architecture,
        "head": settings.head,
        "train_data": "noisy" if settings.split == "train_noisy" else "clean",
    }
    wanted = set(image_ids) if image_ids is not None else None
    indices = [i for i, image_id in enumerate(images.ids) if wanted is None or image_id in wanted]
    if wanted is not None and len(indices) != len(wanted):
        raise ValueError(f"{len(wanted) - len(indices)} of the requested images are not in {data_dir}/{split}")
    bar = tqdm(
        total=len(conditions) * len(indices), desc=f"evaluate {base['run']}", disable=not progress, dynamic_ncols=True
    )
    rows, truth_roughness = [], []  # RE of the ground truth: the reference row of the RE tables
    with torch.no_grad():
        for condition in conditions:
            confusion, roughness = _run_condition(
                model, heads, images, indices, condition, noise_seed, panels, torch_device,
                truth_roughness if condition == conditions[0] else None, bar, head_batch, network_batch,
            )  # fmt: skip
            common = {**base, "condition": condition.kind, "level": condition.level, "reading": condition.reading}
            rows += _score_rows(common, confusion, roughness, images.manifest["classes"])
            rows.append({**common, "method": GROUND_TRUTH, "metric": "re", "value": float(np.mean(truth_roughness))})
    bar.close()
    return _write_rows(rows, Path(out_csv))


def _refuse_a_mismatch(model_path, settings, run_id: RunId | None, manifest: dict, data_dir) -> None:
    """A model evaluated as a run it is not, or on data of other classes, is refused naming both:
    its numbers would be meaningless, not wrong-looking."""
    classes = manifest["classes"]
    problems = []
    if settings.num_classes != len(classes):
        problems.append(
            f"it predicts {settings.num_classes} classes, {data_dir} has {len(classes)} ({manifest['dataset']})"
        )
    if run_id is not None:
        if run_id.dataset != manifest["dataset"]:
            problems.append(f"run {run_id} is a {run_id.dataset} run, {data_dir} holds {manifest['dataset']}")
        if run_id.head != settings.head:
            problems.append(f"run {run_id} has a {run_id.head} head, the model a {settings.head} head")
        trained_on = "noisy" if settings.split == "train_noisy" else "clean"
        if run_id.train_data != trained_on:
            problems.append(f"run {run_id} is trained on {run_id.train_data} data, the model on {trained_on} data")
    if problems:
        raise ValueError(f"{model_path} does not fit this evaluation: " + "; ".join(problems))


def _run_condition(
    model, heads, images, indices, condition, noise_seed, panels, device, truth_roughness, bar, head_batch,
    network_batch=1,
):  # fmt: skip
    """Every image under ``condition``: per head, the confusion matrix and each image's RE;
    the ground truth's RE is appended to ``truth_roughness`` when it is a list."""
    manifest = images.manifest
    num_classes = len(manifest["classes"])
    confusion = {name: np.zeros((num_classes, num_classes), dtype=np.int64) for name in heads}
    roughness = {name: [] for name in heads}
    for group in _head_groups(images, indices, max(head_batch, network_batch)):
        noisy = [
            add_noise(to_unit(images.image(i)), images.ids[i], condition.kind, condition.level, noise_seed,
                      condition.reading if condition.reading != "none" else "std")
            for i in group
        ]  # fmt: skip
        logits = torch.cat(
            [
                model.logits(to_input(np.stack(noisy[start : start + network_batch]), device))
                for start in range(0, len(noisy), network_batch)
            ]
        )
        truths = [np.asarray(images.label(i)) for i in group]
        if truth_roughness is not None:
            truth_roughness.extend(regularization_effect(truth) for truth in truths)
        for name, head in heads.items():
            # a head that stops on the whole batch's gap (the converged one) takes one image at a time
            per_image = getattr(head, "tol", None) is not None
            chunks = logits.split(1 if per_image else head_batch)
            labels = torch.cat([head(chunk).argmax(dim=1) for chunk in chunks]).cpu().numpy().astype(np.uint8)
            for i, image, truth, prediction in zip(group, noisy, truths, labels, strict=True):
                confusion[name] += confusion_matrix(prediction, truth, num_classes, manifest["ignore_index"])
                roughness[name].append(regularization_effect(prediction))
                if panels is not None and panels.wanted(i, condition):
                    _save_panel(panels.folder, name, condition, images.ids[i], prediction, image, truth, manifest)
        bar.update(len(group))
    return confusion, roughness


def _head_groups(images, indices: list[int], head_batch: int) -> list[list[int]]:
    """``indices`` in order, cut into groups of at most ``head_batch`` images of one size."""
    groups: list[list[int]] = []
    for i in indices:
        if groups and len(groups[-1]) < head_batch and images.size(groups[-1][0]) == images.size(i):
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


def _score_rows(common: dict, confusion: dict, roughness: dict, classes: list[str]) -> list[dict]:
    rows = []
    for name in confusion:
        result = scores(confusion[name])
        method = {**common, "method": name}
        rows.append({**method, "metric": "miou", "value": result["miou"]})
        rows.append({**method, "metric": "accuracy", "value": result["accuracy"]})
        rows.append({**method, "metric": "re", "value": float(np.mean(roughness[name]))})
        for class_name, iou in zip(classes, result["iou"], strict=True):
            rows.append({**method, "metric": f"iou/{class_name}", "value": iou})
    return rows


def _write_rows(rows: list[dict], out_csv: Path) -> Path:
    text = io.StringIO()
    writer = csv.DictWriter(text, CSV_FIELDS, lineterminator="\r\n")  # the csv module's own line ends, as before
    writer.writeheader()
    for row in rows:
        writer.writerow({**row, "value": f"{row['value']:.6g}"})
    return write_atomic(out_csv, text.getvalue())


POST_TV_TUNED_SUFFIX = "-val"  # Unet1+postTV-val: post-TV at the lambda chosen on the validation split


def load_post_tv_choice(path: Path) -> dict[str, dict]:
    """The extra post-TV head of ``evaluate_run`` from a choice.json written by ``tune_post_tv``."""
    choice = json.loads(Path(path).read_text())
    return {POST_TV_TUNED_SUFFIX: {key: choice[key] for key in ("lam", "step", "iters")}}


def panel_file_kind(method: str) -> str:
    """A method name as it appears in panel file names: 'RUnet*1' -> 'RUnet-star1' (no '*' in paths)."""
    return method.replace("*", "-star")


def method_from_panel_kind(kind: str) -> str:
    return kind.replace("-star", "*")


def _save_panel(folder: Path, method: str, condition: Condition, image_id: str, prediction, noisy, truth, manifest):
    colours = manifest["colours"]
    target = Path(folder) / condition.name
    target.mkdir(parents=True, exist_ok=True)
    _save_png(
        colourize(prediction, colours, manifest["ignore_index"]), target / f"{image_id}__{panel_file_kind(method)}.png"
    )
    if not (target / f"{image_id}__image.png").exists():
        _save_png(to_u8(noisy), target / f"{image_id}__image.png")
        _save_png(colourize(np.asarray(truth), colours, manifest["ignore_index"]), target / f"{image_id}__truth.png")


def _save_png(pixels: np.ndarray, path: Path) -> None:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="png")
    write_atomic(path, buffer.getvalue())
