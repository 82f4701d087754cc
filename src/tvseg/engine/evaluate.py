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
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

from tvseg.core.layout import panel_file_kind
from tvseg.core.provenance import record_evaluation, session_facts
from tvseg.core.runs import RunId
from tvseg.core.safe_io import folder_lock, write_atomic
from tvseg.core.settings import Condition, EvaluationSettings, TVSettings
from tvseg.datasets.inputs import to_input
from tvseg.datasets.noise import add_noise, to_u8, to_unit
from tvseg.datasets.prepare import PreparedSplit
from tvseg.engine.metrics import GROUND_TRUTH, confusion_matrix, regularization_effect, scores
from tvseg.models import load_trained, tv_head

CSV_FIELDS = (
    "run", "seed", "dataset", "architecture", "head", "train_data", "method",
    "condition", "level", "reading", "metric", "value",
)  # fmt: skip


def colourize(labels: np.ndarray, colours: list, ignore_index: int = 255) -> np.ndarray:
    palette = np.zeros((256, 3), dtype=np.uint8)
    palette[: len(colours)] = np.asarray(colours, dtype=np.uint8)
    palette[ignore_index] = (0, 0, 0)
    return palette[labels]


def evaluate_run(
    model_path: Path,
    data_dir: Path,
    out_csv: Path,
    settings: EvaluationSettings,
    run: str | None = None,
    seed: int = 0,
    device: str | torch.device = "auto",
    progress: bool = True,
) -> Path:
    """Evaluate one trained run under every condition of ``settings`` into a tidy CSV; ``run`` and
    ``seed`` name its rows (the model's folder name where ``run`` is None)."""
    out_csv = Path(out_csv)
    with folder_lock(out_csv.with_name(f".{out_csv.name}.lock"), f"evaluation into {out_csv}"):
        evaluation = _Evaluation(model_path, data_dir, settings, run, device)
        facts = session_facts(evaluation.device)
        rows = evaluation.rows(seed, progress)
        record_evaluation(out_csv, facts)  # before the CSV, which a workflow takes as the evaluation's end
    return _write_rows(rows, out_csv)


class _Evaluation:
    """A trained model, its heads (post-TV's too for a plain run) and the images it is scored on."""

    def __init__(self, model_path, data_dir, settings: EvaluationSettings, run: str | None, device):
        self.model, trained = load_trained(model_path, device)
        self.settings = settings
        self.run_id = RunId.parse(run) if run else None
        self.device = next(self.model.parameters()).device
        self.images = PreparedSplit(Path(data_dir), settings.split)
        _refuse_a_mismatch(model_path, trained, self.run_id, self.images.manifest, data_dir)
        paper_name = self.run_id.paper_name if self.run_id else trained.architecture
        self.heads = {paper_name: self.model.head}
        if trained.head == "softmax":
            if not settings.post_tv:  # its settings live in the configuration alone (post_tv), not here
                raise ValueError(f"{model_path} is a plain network: its evaluation adds post-TV; pass post_tv")
            for suffix, post in settings.post_tv.items():
                head = tv_head(TVSettings.for_post_tv(post)).to(self.device).eval()
                self.heads[f"{paper_name}+postTV{suffix}"] = head
        self.base = {
            "run": str(self.run_id) if self.run_id else Path(model_path).parent.name,
            "dataset": self.images.manifest["dataset"],
            "architecture": trained.architecture,
            "head": trained.head,
            "train_data": trained.train_data,
        }
        wanted = set(settings.image_ids) if settings.image_ids is not None else None
        self.indices = [i for i, image_id in enumerate(self.images.ids) if wanted is None or image_id in wanted]
        if wanted is not None and len(self.indices) != len(wanted):
            raise ValueError(
                f"{len(wanted) - len(self.indices)} of the requested images are not in {data_dir}/{settings.split}"
            )

    def rows(self, seed: int, progress: bool) -> list[dict]:
        conditions = self.settings.conditions
        base = {**self.base, "seed": seed}
        bar = tqdm(total=len(conditions) * len(self.indices), desc=f"evaluate {base['run']}", disable=not progress,
                   dynamic_ncols=True)  # fmt: skip
        rows, truth_roughness = [], []  # RE of the ground truth: the reference row of the RE tables
        with torch.no_grad():
            for condition in conditions:
                first = condition == conditions[0]
                confusion, roughness = self._condition(condition, truth_roughness if first else None, bar)
                common = {**base, "condition": condition.kind, "level": condition.level, "reading": condition.reading}
                rows += _score_rows(common, confusion, roughness, self.images.manifest["classes"])
                truth = float(np.mean(truth_roughness))
                rows.append({**common, "method": GROUND_TRUTH, "metric": "re", "value": truth})
        bar.close()
        return rows

    def _condition(self, condition: Condition, truth_roughness: list | None, bar):
        """Every image under ``condition``: per head, the confusion matrix and each image's RE;
        the ground truth's RE is appended to ``truth_roughness`` when it is a list."""
        images, settings = self.images, self.settings
        manifest = images.manifest
        num_classes = len(manifest["classes"])
        confusion = {name: np.zeros((num_classes, num_classes), dtype=np.int64) for name in self.heads}
        roughness = {name: [] for name in self.heads}
        network_batch = settings.network_batch
        for group in _head_groups(images, self.indices, max(settings.head_batch, network_batch)):
            noisy = [
                add_noise(to_unit(images.image(i)), images.ids[i], condition.kind, condition.level,
                          settings.noise_seed, condition.reading if condition.reading != "none" else "std")
                for i in group
            ]  # fmt: skip
            logits = torch.cat(
                [
                    self.model.logits(to_input(np.stack(noisy[start : start + network_batch]), self.device))
                    for start in range(0, len(noisy), network_batch)
                ]
            )
            truths = [np.asarray(images.label(i)) for i in group]
            if truth_roughness is not None:
                truth_roughness.extend(regularization_effect(truth) for truth in truths)
            for name, head in self.heads.items():
                # a head that stops on the whole batch's gap (the converged one) takes one image at a time
                per_image = getattr(head, "tol", None) is not None
                chunks = logits.split(1 if per_image else settings.head_batch)
                labels = torch.cat([head(chunk).argmax(dim=1) for chunk in chunks]).cpu().numpy().astype(np.uint8)
                for i, image, truth, prediction in zip(group, noisy, truths, labels, strict=True):
                    confusion[name] += confusion_matrix(prediction, truth, num_classes, manifest["ignore_index"])
                    roughness[name].append(regularization_effect(prediction))
                    if settings.panels is not None and settings.panels.wanted(i, condition):
                        _save_panel(settings.panels.folder, name, condition, images.ids[i], prediction, image, truth,
                                    manifest)  # fmt: skip
            bar.update(len(group))
        return confusion, roughness


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
        if run_id.train_data != settings.train_data:
            problems.append(
                f"run {run_id} is trained on {run_id.train_data} data, the model on {settings.train_data} data"
            )
    if problems:
        raise ValueError(f"{model_path} does not fit this evaluation: " + "; ".join(problems))


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
