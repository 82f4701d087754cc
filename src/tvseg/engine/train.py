"""Training: seeded, resumable, with progress, a per-iteration log and a NaN guard.

Determinism and resumption rest on two choices: the batch of iteration ``t`` is a pure
function of (seed, t) (epoch-wise permutations, no sampler state), and checkpoints hold the
model, the optimizer and the iteration. Killing the process at any moment and running the
same command again resumes from the last checkpoint and ends with the same weights as an
uninterrupted run (on the CPU, with the same thread count).
"""

from __future__ import annotations

import csv
import io
import itertools
import math
import os
import sys
import threading
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from tvseg.core.device import resolve_device
from tvseg.core.layout import RunFiles
from tvseg.core.provenance import record_training_session
from tvseg.core.safe_io import (
    DamagedFileError,
    disk_full_named,
    folder_lock,
    load_data_file,
    process_alive,
    save_torch,
    write_atomic,
)
from tvseg.core.settings import TrainSettings
from tvseg.datasets.prepare import PreparedSplit
from tvseg.datasets.specs import IGNORE_INDEX
from tvseg.datasets.splits import validation_ids
from tvseg.engine.batches import batch_indices, curve_point, lr_factor, make_batch
from tvseg.engine.losses import CAMVID_CLASS_WEIGHTS, SUNRGBD_CLASS_WEIGHTS, nll_on_probabilities
from tvseg.layers import deferred_checks
from tvseg.models import build_model, parameter_groups

CLASS_WEIGHTS = {"camvid": CAMVID_CLASS_WEIGHTS, "sunrgbd": SUNRGBD_CLASS_WEIGHTS}
LOG_FIELDS = ("iteration", "loss", "lam", "lr", "seconds", "gap")  # gap: the converged head's reached duality gap
CURVE_FIELDS = ("val_miou", "val_accuracy")  # a run with a validation curve logs these at its points


class TrainingDivergedError(RuntimeError):
    pass


def _lam(model) -> torch.Tensor | None:
    """The head's lambda now, kept on its device (a copy: the next step changes the parameter)."""
    lam = getattr(model.head, "lam", None)
    return None if lam is None else lam.detach().clone()


def _floating_state(model: torch.nn.Module) -> list[tuple[str, torch.Tensor]]:
    return [
        (n, t) for n, t in itertools.chain(model.named_parameters(), model.named_buffers()) if t.is_floating_point()
    ]


def weights_look_finite(model: torch.nn.Module) -> torch.Tensor:
    """A 0-d bool on the model's device, False where a parameter or buffer may hold NaN or inf;
    computed without reading anything on the host. One fused pass: NaN and inf reach the total
    2-norm through its sums (finite values whose squares overflow also give False; the exact
    test, :func:`first_non_finite`, then clears or names them)."""
    named = _floating_state(model)
    if not named:
        return torch.ones((), dtype=torch.bool)
    return torch.isfinite(torch.nn.utils.get_total_norm([tensor for _, tensor in named]))


def first_non_finite(model: torch.nn.Module) -> str | None:
    """The name of the first parameter or buffer (BatchNorm statistics included) holding NaN or inf.

    A blown-up run can keep a finite loss (probabilities are clamped in the loss) while its
    weights or running statistics overflow; this catches it at the iteration it happens.
    """
    named = _floating_state(model)
    if not named or bool(weights_look_finite(model)):
        return None
    finite = torch.stack([torch.isfinite(tensor).all() for _, tensor in named])
    if bool(finite.all()):
        return None
    return named[int((~finite).nonzero()[0, 0])][0]


def _gap(model) -> torch.Tensor | None:
    """The largest relative duality gap the converged head reached in this step (None for other heads)."""
    report = getattr(model.head, "last_report", None)
    return None if report is None else report.relative_gap.max().detach()


def _trim_log(log_path: Path, last_iteration: int) -> None:
    """Keep only log rows up to the checkpoint's iteration (the rest will be redone)."""
    if not log_path.exists():
        return
    with open(log_path, newline="") as f:
        reader = csv.DictReader(f)
        rows = [r for r in reader if int(r["iteration"]) <= last_iteration]
        fields = reader.fieldnames or LOG_FIELDS
    text = io.StringIO()
    writer = csv.DictWriter(text, fields, lineterminator="\r\n")  # the csv module's own line ends, as before
    writer.writeheader()
    writer.writerows(rows)
    write_atomic(log_path, text.getvalue())


def _resume(files: RunFiles, model, optimizer, settings: TrainSettings, device) -> int:
    """Load the newest checkpoint that can be read into ``model`` and ``optimizer`` and trim the
    running log to it; returns the iteration to start from (0, with any stale log removed, where
    there is no checkpoint). A newest checkpoint that cannot be read (a disk fault, a copy cut
    short) is skipped, saying so, for the previous one; none readable is an error naming them."""
    log_path = files.running_log
    candidates = [path for path in (files.checkpoint, files.previous_checkpoint) if path.exists()]
    if not candidates:
        if log_path.exists():
            log_path.unlink()
        return 0
    problems = []
    for path in candidates:
        try:
            checkpoint = load_data_file(path, map_location=device)
        except DamagedFileError as error:
            problems.append(str(error))
            print(f"tvseg: skipped {path}: {error}", file=sys.stderr)
            continue
        if checkpoint["fingerprint"] != settings.fingerprint():
            raise RuntimeError(f"{path} was written with other settings; delete it (or the run folder) to start anew")
        model.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        if problems:
            print(f"tvseg: resuming {files.folder} from {path} (iteration {checkpoint['iteration']})", file=sys.stderr)
        _trim_log(log_path, checkpoint["iteration"])
        return checkpoint["iteration"]
    raise DamagedFileError(
        f"no checkpoint of {files.folder} can be read ({'; '.join(problems)}); delete "
        + " and ".join(str(p) for p in candidates)
        + " to train this run from the start"
    )


def _build(settings: TrainSettings, device):
    """The model, its optimizer (SGD, or AdamW where configured, with lambda's own rate) and the
    loss's class weights."""
    model = build_model(
        settings.architecture, settings.num_classes, settings.encoder, settings.encoder_weights,
        head=settings.head, tv=settings.tv, seed=settings.seed, decoder_channels=settings.decoder_channels,
    ).to(device)  # fmt: skip
    groups = parameter_groups(model, settings.lr, settings.lam_lr)
    if settings.optimizer == "adamw":
        optimizer = torch.optim.AdamW(groups, weight_decay=settings.weight_decay)
    elif settings.optimizer == "sgd":
        optimizer = torch.optim.SGD(groups, momentum=settings.momentum, weight_decay=settings.weight_decay)
    else:
        raise ValueError(f"optimizer must be sgd or adamw; got {settings.optimizer!r}")
    weight = None
    if settings.class_weights:
        weight = torch.tensor(CLASS_WEIGHTS[settings.class_weights], dtype=torch.float32, device=device)
    return model, optimizer, weight


def _save_checkpoint(files: RunFiles, model, optimizer, iteration: int, settings: TrainSettings) -> None:
    """The new checkpoint written whole beside the newest, then the newest kept as the previous
    one: a fault at any moment leaves at least one readable checkpoint."""
    fresh = files.checkpoint.with_name("checkpoint.new.pt")
    save_torch(
        {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "iteration": iteration,
         "fingerprint": settings.fingerprint()},
        fresh,
    )  # fmt: skip
    if files.checkpoint.exists():
        os.replace(files.checkpoint, files.previous_checkpoint)
    os.replace(fresh, files.checkpoint)


def _diverged(out_dir: Path, what: str, iteration: int | None, last_saved: int | None, checkpoint_path: Path):
    """The error of a run that went non-finite at ``iteration`` (1-based; None: ``what`` names it)."""
    kept = (
        f"the last good checkpoint (iteration {last_saved}) is kept in {checkpoint_path}"
        if last_saved
        else "no checkpoint had been written yet"
    )
    where = "" if iteration is None else f" at iteration {iteration}"
    return TrainingDivergedError(
        f"run {out_dir}: {what}{where}; training stopped and {kept}. "
        "Lower the learning rate (or lambda's), or check the data."
    )


def _sgd_step(model, optimizer, images, labels, weight) -> tuple[torch.Tensor, torch.Tensor]:
    """One step of SGD; returns the loss and whether the weights look finite after it, both
    still on the device: nothing here reads a value on the host, so on a GPU the host queues
    the next steps while this one runs (:class:`_PendingRows` reads them every few steps)."""
    optimizer.zero_grad(set_to_none=True)
    loss = nll_on_probabilities(model(images), labels, weight=weight, ignore_index=IGNORE_INDEX)
    loss.backward()
    optimizer.step()
    return loss.detach(), weights_look_finite(model)


def default_check_every(device: torch.device) -> int:
    """Iterations between host readings of the losses and the finite checks: every iteration on
    the CPU (a reading costs nothing there), every 25 on a GPU (a reading waits for the device)."""
    return 1 if device.type == "cpu" else 25


class _PendingRows:
    """The log rows of the iterations since the last reading, their values still on the device.
    :meth:`read` reads them all at once, finds the first iteration whose loss or weights (or
    the layer's deferred checks) went non-finite, and returns the rows as text."""

    def __init__(self, checks) -> None:
        self.checks = checks  # the layer's deferred checks (tvseg.layers deferred_checks)
        self.rows: list[dict] = []
        self.started = time.perf_counter()

    def start_iteration(self) -> None:
        """The block's clock starts with its first iteration, so the time spent between blocks
        (a checkpoint, a point of the validation curve) is no iteration's."""
        if not self.rows:
            self.started = time.perf_counter()

    def add(self, iteration: int, loss, weights_finite, lam, lr: float, gap) -> None:
        self.rows.append({"iteration": iteration, "loss": loss, "finite": weights_finite, "lam": lam, "lr": lr,
                          "gap": gap})  # fmt: skip

    def read(self, model) -> tuple[list[dict], str | None, int | None]:
        """The rows as the log writes them, what went wrong (None: nothing) and at which iteration."""
        if not self.rows:
            return [], None, None
        try:
            self.checks.raise_first()
        except ValueError as error:  # its message starts with the iteration (the checks' ``where``)
            return [], str(error), None
        values = torch.stack([torch.stack([
            r["loss"].double(), r["finite"].double(),  # float64 holds every float32 exactly
            r["lam"].double() if r["lam"] is not None else torch.full_like(r["loss"], math.nan, dtype=torch.float64),
            r["gap"].double() if r["gap"] is not None else torch.full_like(r["loss"], math.nan, dtype=torch.float64),
        ]) for r in self.rows]).cpu().tolist()  # fmt: skip  # one reading for the whole block
        seconds = (time.perf_counter() - self.started) / len(self.rows)
        rows, problem, where = [], None, None
        for r, (loss, finite, lam, gap) in zip(self.rows, values, strict=True):
            if not math.isfinite(loss):
                problem, where = f"the loss is {loss}", r["iteration"]
                break
            if not finite:
                bad = first_non_finite(model)  # the exact test; overflowing squares alone pass it
                if bad is not None:
                    problem, where = f"{bad} holds non-finite values after the update", r["iteration"]
                    break
            rows.append({"iteration": r["iteration"], "loss": f"{loss:.6g}", "lam": f"{lam:.6g}", "lr": f"{r['lr']:.6g}",
                         "seconds": f"{seconds:.4f}", "gap": "" if r["gap"] is None else f"{gap:.3g}"})  # fmt: skip
        self.rows = []
        return rows, problem, where


class TrainingStopped(RuntimeError):
    """Training was asked to stop (``stop`` was set); a checkpoint of the last finished iteration is kept."""


def train(
    settings: TrainSettings,
    out_dir: Path,
    device: str = "auto",
    progress: bool = True,
    stop: threading.Event | None = None,
    check_every: int | None = None,
) -> Path:
    """Train one run into ``out_dir``, a run's folder (:class:`~tvseg.core.layout.RunFiles`: two
    generations of checkpoints and the running log while it runs, the model and the log at the
    end). One process trains into a folder at a time (a second is refused, naming the first).
    ``stop``, when set (the CLI sets it when the workflow that started it dies), ends training
    after the current iteration with a checkpoint of it. ``check_every``: iterations between
    host readings of the losses and finite checks (:func:`default_check_every`); a non-finite
    value is named with its own iteration whatever it is, and checkpoints follow a reading.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = RunFiles(out_dir)
    with folder_lock(files.lock, f"training of {out_dir}"):
        if files.model.exists():
            if load_data_file(files.model)["settings"] == settings.record():
                return files.model  # already trained with exactly these settings
            raise RuntimeError(f"{files.model} exists from other settings; delete the run folder to train anew")
        with disk_full_named(f"{files.running_log}; the last checkpoint is kept"):
            return _train_into(settings, files, device, progress, stop, check_every)


def _train_into(settings: TrainSettings, files: RunFiles, device, progress: bool, stop, check_every) -> Path:
    out_dir = files.folder
    torch_device = resolve_device(device)
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.manual_seed(settings.seed)
    split = PreparedSplit(Path(settings.data_dir), settings.split)
    held_out = set(validation_ids(split.ids, settings.validation_count, settings.validation_seed))
    keep = np.asarray([i for i, item in enumerate(split.ids) if item not in held_out])
    if len(keep) == 0:
        raise ValueError(f"no training images left in {settings.data_dir}/{settings.split}")
    model, optimizer, weight = _build(settings, torch_device)
    lr_factor(settings.lr_schedule, 0, settings.iterations)  # an unknown schedule fails before any work
    initial_lrs = [group["lr"] for group in optimizer.param_groups]

    checkpoint_path, log_path = files.checkpoint, files.running_log
    start = _resume(files, model, optimizer, settings, torch_device)
    record_training_session(files.model, torch_device, start)
    last_saved = start if start else None
    new_log = not log_path.exists()
    curve = PreparedSplit(Path(settings.data_dir), settings.curve_split) if settings.curve_every else None
    model.train()
    check_every = default_check_every(torch_device) if check_every is None else check_every
    bar = tqdm(total=settings.iterations, initial=start, desc=out_dir.name, unit="it", disable=not progress,
               dynamic_ncols=True)  # fmt: skip
    with open(log_path, "a", newline="") as log_file, bar, deferred_checks() as checks:
        log = csv.DictWriter(log_file, LOG_FIELDS + (CURVE_FIELDS if curve is not None else ()))
        if new_log:
            log.writeheader()
        pending = _PendingRows(checks)

        def write_pending(with_curve_point: bool) -> None:
            """Read the pending iterations (one wait for the device), stop at a non-finite one,
            log the rest (the last with the validation curve's point where one is due)."""
            rows, problem, where = pending.read(model)
            if problem is not None:
                log.writerows(rows)
                raise _diverged(out_dir, problem, where, last_saved, checkpoint_path)
            if with_curve_point:
                rows[-1].update(curve_point(model, curve, torch_device))
                bar.write(f"{out_dir.name}: iteration {rows[-1]['iteration']}, validation mIoU {rows[-1]['val_miou']}")
            log.writerows(rows)
            shown = {"loss": rows[-1]["loss"]}
            if rows[-1]["lam"] != "nan":  # a plain net has no lambda to show
                shown["lam"] = rows[-1]["lam"]
            bar.set_postfix(shown, refresh=False)
            bar.update(len(rows))

        for iteration in range(start, settings.iterations):
            pending.start_iteration()
            factor = lr_factor(settings.lr_schedule, iteration, settings.iterations)
            for group, initial in zip(optimizer.param_groups, initial_lrs, strict=True):
                group["lr"] = initial * factor
            items = keep[batch_indices(len(keep), settings.batch_size, iteration, settings.seed)]
            images, labels = make_batch(
                split, items, settings.train_crop, iteration, settings.seed, torch_device, hflip=settings.hflip
            )
            checks.where = f"iteration {iteration + 1}"
            loss, weights_finite = _sgd_step(model, optimizer, images, labels, weight)
            pending.add(iteration + 1, loss, weights_finite, _lam(model), settings.lr * factor, _gap(model))
            stopping = stop is not None and stop.is_set()
            at_curve = curve is not None and (
                (iteration + 1) % settings.curve_every == 0 or iteration + 1 == settings.iterations
            )
            at_checkpoint = (
                (iteration + 1) % settings.checkpoint_every == 0 or iteration + 1 == settings.iterations or stopping
            )
            if at_curve or at_checkpoint or (iteration + 1 - start) % check_every == 0:
                write_pending(with_curve_point=at_curve)
            if at_checkpoint:
                log_file.flush()
                _save_checkpoint(files, model, optimizer, iteration + 1, settings)
                last_saved = iteration + 1
            if stopping and iteration + 1 < settings.iterations:
                raise TrainingStopped(
                    f"run {out_dir}: stopped after iteration {iteration + 1}; run the same command to resume"
                )
    save_torch({"model": model.state_dict(), "settings": settings.record(), "iterations": settings.iterations},
               files.model)  # fmt: skip
    os.replace(log_path, files.log)
    for path in (checkpoint_path, files.previous_checkpoint):  # model.pt holds the weights
        path.unlink(missing_ok=True)
    return files.model


def stop_when_gone(pid: int) -> threading.Event:
    """An event set when process ``pid`` (the workflow that started this job) no longer exists, so a
    killed workflow leaves no trainer running on: training checkpoints and stops (``train(stop=...)``)."""
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            if not process_alive(pid):
                stop.set()
            time.sleep(1.0)

    threading.Thread(target=watch, daemon=True, name=f"watch-{pid}").start()
    return stop
