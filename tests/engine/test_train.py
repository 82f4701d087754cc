import csv
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import (
    small_train_settings,
)

from tvseg.core.layout import RunFiles
from tvseg.engine.batches import lr_factor
from tvseg.engine.train import TrainingDivergedError, train


def _losses(run_dir: Path) -> list[float]:
    with open(run_dir / "log.csv", newline="") as f:
        return [float(r["loss"]) for r in csv.DictReader(f)]


def _weights(path: Path) -> dict:
    return torch.load(path, weights_only=False)["model"]


def test_twenty_iterations_lower_the_loss(wbc_small, tmp_path):
    train(small_train_settings(wbc_small), tmp_path / "run", progress=False)
    losses = _losses(tmp_path / "run")
    with open(tmp_path / "run" / "log.csv", newline="") as f:
        assert [int(r["iteration"]) for r in csv.DictReader(f)] == list(range(1, 21))
    assert np.mean(losses[-5:]) < 0.7 * np.mean(losses[:5])
    saved = torch.load(tmp_path / "run" / "model.pt", weights_only=False)
    assert saved["settings"]["head"] == "tv" and saved["model"]["head.lam"] != 1.0  # lambda learned


def test_same_seed_gives_the_same_checkpoint(wbc_small, tmp_path):
    for name in ("a", "b"):
        train(small_train_settings(wbc_small, iterations=6), tmp_path / name, progress=False)
    a, b = _weights(tmp_path / "a" / "model.pt"), _weights(tmp_path / "b" / "model.pt")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_the_converged_head_logs_the_gap_it_reached(wbc_small, tmp_path):
    tv = {"lam": 2.0, "step": 0.2, "train_iters": 50, "eval_iters": 50, "tol": 1e-3, "method": "fista"}
    train(small_train_settings(wbc_small, iterations=2, tv=tv), tmp_path / "run", progress=False)
    with open(tmp_path / "run" / "log.csv", newline="") as f:
        gaps = [r["gap"] for r in csv.DictReader(f)]
    assert len(gaps) == 2 and all(float(g) >= 0 for g in gaps)


def test_the_progress_bar_shows_lambda_only_for_a_regularized_net(wbc_small, tmp_path, capsys):
    for head in ("softmax", "tv"):
        train(small_train_settings(wbc_small, iterations=2, head=head), tmp_path / head, progress=True)
        shown = capsys.readouterr().err
        assert "loss=" in shown
        assert ("lam=" in shown) == (head == "tv") and "nan" not in shown


def test_poly_schedule_is_logged_per_iteration(wbc_small, tmp_path):
    train(small_train_settings(wbc_small, iterations=4, lr_schedule="poly"), tmp_path / "run", progress=False)
    with open(tmp_path / "run" / "log.csv", newline="") as f:
        logged = [float(r["lr"]) for r in csv.DictReader(f)]
    assert logged == pytest.approx([1e-2 * lr_factor("poly", t, 4) for t in range(4)], rel=1e-5)


def test_killed_training_resumes_to_the_same_weights(wbc_small, tmp_path):
    # poly schedule: the resumed run must continue the decay where the checkpoint left it
    settings = small_train_settings(wbc_small, iterations=30, checkpoint_every=4, lr_schedule="poly")
    train(settings, tmp_path / "uninterrupted", progress=False)
    interrupted = tmp_path / "interrupted"
    script = (
        "import sys; from pathlib import Path; from tvseg.core.settings import TrainSettings; from tvseg.engine.train import train; "
        f"train(TrainSettings(**{settings.record()!r}), Path({str(interrupted)!r}), progress=False)"
    )
    process = subprocess.Popen([sys.executable, "-c", script], start_new_session=True)
    deadline = time.time() + 120
    while not (interrupted / "checkpoint.pt").exists() and time.time() < deadline and process.poll() is None:
        time.sleep(0.01)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert (interrupted / "checkpoint.pt").exists() and not (interrupted / "model.pt").exists(), "killed too late"
    killed_at = torch.load(interrupted / "checkpoint.pt", weights_only=False)["iteration"]
    assert 0 < killed_at < 30
    train(settings, interrupted, progress=False)  # the same command again
    a, b = _weights(tmp_path / "uninterrupted" / "model.pt"), _weights(interrupted / "model.pt")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert _losses(interrupted) == _losses(tmp_path / "uninterrupted")  # the log has no duplicate rows


def test_training_asked_to_stop_checkpoints_and_resumes_with_the_whole_log(wbc_small, tmp_path):
    import threading

    from tvseg.engine.train import TrainingStopped

    stop = threading.Event()
    stop.set()
    with pytest.raises(TrainingStopped, match="stopped after iteration 1"):
        train(
            small_train_settings(wbc_small, iterations=6, checkpoint_every=4),
            tmp_path / "run",
            progress=False,
            stop=stop,
        )
    assert torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=False)["iteration"] == 1
    assert not (tmp_path / "run" / "log.csv").exists()  # a workflow deleting log.csv loses nothing
    train(small_train_settings(wbc_small, iterations=6, checkpoint_every=4), tmp_path / "run", progress=False)
    with open(tmp_path / "run" / "log.csv", newline="") as f:
        assert [int(r["iteration"]) for r in csv.DictReader(f)] == list(range(1, 7))
    assert not (tmp_path / "run" / "log.running.csv").exists()


def test_adamw_trains_and_resumes_with_its_moments_to_the_same_weights(wbc_small, tmp_path):
    import threading

    from tvseg.engine.train import TrainingStopped

    settings = small_train_settings(wbc_small, iterations=6, checkpoint_every=2, optimizer="adamw", lr=1e-3)
    train(settings, tmp_path / "whole", progress=False)
    stop = threading.Event()
    stop.set()
    with pytest.raises(TrainingStopped):
        train(settings, tmp_path / "resumed", progress=False, stop=stop)
    state = torch.load(tmp_path / "resumed" / "checkpoint.pt", weights_only=False)["optimizer"]["state"]
    assert all("exp_avg_sq" in s for s in state.values())  # Adam's moments travel in the checkpoint
    train(settings, tmp_path / "resumed", progress=False)
    a, b = _weights(tmp_path / "whole" / "model.pt"), _weights(tmp_path / "resumed" / "model.pt")
    assert all(torch.equal(a[k], b[k]) for k in a)
    train(small_train_settings(wbc_small, iterations=6, lr=1e-3), tmp_path / "sgd", progress=False)
    sgd = _weights(tmp_path / "sgd" / "model.pt")
    assert not all(torch.equal(a[k], sgd[k]) for k in a)  # the setting reaches the optimizer
    with pytest.raises(ValueError, match="optimizer must be sgd or adamw; got 'adam'"):
        train(small_train_settings(wbc_small, iterations=1, optimizer="adam"), tmp_path / "bad", progress=False)


def test_the_stop_event_fires_when_the_watched_process_ends():
    from tvseg.engine.train import stop_when_gone as _stop_when_gone

    parent = subprocess.Popen(["sleep", "60"])
    stop = _stop_when_gone(parent.pid)
    assert not stop.wait(1.5)
    parent.kill()
    parent.wait()
    assert stop.wait(5)


def test_resuming_with_other_settings_is_refused(wbc_small, tmp_path):
    final = train(small_train_settings(wbc_small, iterations=5), tmp_path / "run", progress=False)
    stamp = final.stat().st_mtime_ns
    assert train(small_train_settings(wbc_small, iterations=5), tmp_path / "run", progress=False) == final
    assert final.stat().st_mtime_ns == stamp  # a finished run is not trained again
    with pytest.raises(RuntimeError, match="other settings"):
        train(small_train_settings(wbc_small, iterations=5, lr=0.5), tmp_path / "run", progress=False)


def test_a_training_step_reads_nothing_on_the_host(device_path, monkeypatch):
    # What would stall a GPU's stream from Python: a tensor turned into a bool, a number or a
    # list. The step (forward, loss, backward, update, the finite flag) and its pending row do none.
    import tvseg.engine.train as training
    from tvseg.layers import deferred_checks
    from tvseg.models import build_model, parameter_groups

    model = build_model("unet", 3, "resnet18", None, head="tv", tv={"lam": 1.0, "step": 0.25}, seed=0)
    optimizer = torch.optim.SGD(parameter_groups(model, 1e-2, 1e-1), momentum=0.9, weight_decay=5e-4)
    images, labels = torch.randn(2, 3, 32, 32), torch.randint(0, 3, (2, 32, 32))
    training._sgd_step(model, optimizer, images, labels, None)  # the first step makes the momentum buffers

    def refuse(*args, **kwargs):
        raise AssertionError("a host reading inside the training step")

    with deferred_checks() as checks:
        pending = training._PendingRows(checks)
        for name in ("__bool__", "__float__", "__int__", "__index__", "item", "tolist", "numpy"):
            monkeypatch.setattr(torch.Tensor, name, refuse)
        loss, finite = training._sgd_step(model, optimizer, images, labels, None)
        pending.add(2, loss, finite, training._lam(model), 1e-2, training._gap(model))
        monkeypatch.undo()
        assert len(checks) == 4  # the head's checks wait too
        rows, problem, where = pending.read(model)
    assert problem is None and [r["iteration"] for r in rows] == [2] and float(rows[0]["loss"]) > 0


def _log_without_times(folder: Path) -> list[dict]:
    with open(folder / "log.csv", newline="") as f:
        return [{k: v for k, v in row.items() if k != "seconds"} for row in csv.DictReader(f)]


def test_reading_every_few_steps_changes_no_number(wbc_small, tmp_path, device_path):
    settings = small_train_settings(wbc_small, iterations=11, checkpoint_every=5, curve_split="test", curve_every=4)
    for every in (1, 4):
        train(settings, tmp_path / f"every{every}", progress=False, check_every=every)
    assert _log_without_times(tmp_path / "every1") == _log_without_times(tmp_path / "every4")
    assert len(_log_without_times(tmp_path / "every4")) == 11
    one, four = (torch.load(tmp_path / f"every{e}" / "model.pt")["model"] for e in (1, 4))
    assert all(torch.equal(one[k], four[k]) for k in one)


def test_a_blow_up_read_late_is_named_at_its_own_iteration(wbc_small, tmp_path, monkeypatch, device_path):
    import tvseg.engine.train as training

    real_factor = training.lr_factor
    monkeypatch.setattr(training, "lr_factor", lambda s, t, n: real_factor(s, t, n) * (1e11 if t >= 6 else 1.0))
    messages = {}
    for every in (1, 4):
        folder = tmp_path / f"e{every}"
        with pytest.raises(TrainingDivergedError) as error:
            train(
                small_train_settings(wbc_small, iterations=20, checkpoint_every=5),
                folder,
                progress=False,
                check_every=every,
            )
        messages[every] = str(error.value).replace(str(folder), "RUN")
        named = int(re.search(r"after the update at iteration (\d+)", messages[every]).group(1))
        assert named >= 7  # the rate blows up from iteration 7 on
        assert torch.load(folder / "checkpoint.pt", weights_only=False)["iteration"] == 5
        with open(RunFiles(folder).running_log, newline="") as f:
            assert [int(r["iteration"]) for r in csv.DictReader(f)] == list(range(1, named))  # the good ones
    assert messages[1] == messages[4], messages


def test_an_exploding_learning_rate_stops_with_the_tensor_named(wbc_small, tmp_path, monkeypatch):
    import tvseg.engine.train as training

    real_factor = training.lr_factor
    # a sane rate for 6 iterations (a checkpoint at 5), then 1e9 times it: weights and BatchNorm overflow
    monkeypatch.setattr(training, "lr_factor", lambda s, t, n: real_factor(s, t, n) * (1e11 if t >= 6 else 1.0))
    with pytest.raises(
        TrainingDivergedError, match=r"run .*run: .* holds non-finite values .*iteration \d+.*iteration 5"
    ):
        train(small_train_settings(wbc_small, iterations=20, checkpoint_every=5), tmp_path / "run", progress=False)
    kept = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=False)
    assert kept["iteration"] == 5
    assert all(torch.isfinite(t).all() for t in kept["model"].values() if t.is_floating_point())
    assert not (tmp_path / "run" / "model.pt").exists()


def test_nan_loss_stops_with_a_clear_error_and_keeps_the_checkpoint(wbc_small, tmp_path, monkeypatch):
    import tvseg.engine.train as training

    real_loss = training.nll_on_probabilities
    calls = {"n": 0}

    def poisoned(*args, **kwargs):
        calls["n"] += 1
        loss = real_loss(*args, **kwargs)
        return loss * float("nan") if calls["n"] == 8 else loss

    monkeypatch.setattr(training, "nll_on_probabilities", poisoned)
    with pytest.raises(TrainingDivergedError, match=r"loss is nan at iteration 8.*iteration 5"):
        train(small_train_settings(wbc_small, iterations=20, checkpoint_every=5), tmp_path / "run", progress=False)
    assert torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=False)["iteration"] == 5
    assert not (tmp_path / "run" / "model.pt").exists()


def test_the_finite_check_names_the_first_bad_tensor_and_passes_huge_finite_ones():
    from tvseg.engine.train import first_non_finite

    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.Conv2d(4, 2, 1))
    assert first_non_finite(net) is None
    with torch.no_grad():
        net[2].weight.fill_(1e30)  # finite, but its squares overflow the total norm
    assert first_non_finite(net) is None
    net[1].running_var[2] = float("nan")
    assert first_non_finite(net) == "1.running_var"
    with torch.no_grad():
        net[0].bias[0] = float("-inf")
    assert first_non_finite(net) == "0.bias"  # parameters come before buffers


def test_a_validation_curve_is_logged_and_changes_no_weight(wbc_small, tmp_path):
    # the curve scores a published split (WBC has none: its test split stands in here)
    train(small_train_settings(wbc_small, iterations=7, head="tv"), tmp_path / "plain", progress=False)
    with_curve = small_train_settings(wbc_small, iterations=7, head="tv", curve_split="test", curve_every=3)
    train(with_curve, tmp_path / "curve", progress=False)
    a, b = _weights(tmp_path / "plain" / "model.pt"), _weights(tmp_path / "curve" / "model.pt")
    assert all(torch.equal(a[k], b[k]) for k in a)
    with open(tmp_path / "curve" / "log.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    points = {int(r["iteration"]): float(r["val_miou"]) for r in rows if r["val_miou"]}
    assert sorted(points) == [3, 6, 7] and all(0 <= v <= 100 for v in points.values())
    with open(tmp_path / "plain" / "log.csv", newline="") as f:
        assert "val_miou" not in next(csv.reader(f))  # a run without a curve keeps the old log


def test_a_resumed_run_keeps_its_curve_up_to_the_checkpoint(wbc_small, tmp_path, monkeypatch):
    import tvseg.engine.train as training

    settings = small_train_settings(wbc_small, iterations=8, checkpoint_every=4, curve_split="test", curve_every=2)
    train(settings, tmp_path / "whole", progress=False)
    calls, step = {"n": 0}, training._sgd_step

    def crash_after_six(*args):
        calls["n"] += 1
        if calls["n"] == 7:
            raise KeyboardInterrupt
        return step(*args)

    monkeypatch.setattr(training, "_sgd_step", crash_after_six)
    with pytest.raises(KeyboardInterrupt):
        train(settings, tmp_path / "cut", progress=False)
    monkeypatch.setattr(training, "_sgd_step", step)
    train(settings, tmp_path / "cut", progress=False)

    def curve(folder):
        with open(folder / "log.csv", newline="") as f:
            return [(r["iteration"], r["val_miou"], r["val_accuracy"]) for r in csv.DictReader(f) if r["val_miou"]]

    assert curve(tmp_path / "cut") == curve(tmp_path / "whole") and len(curve(tmp_path / "whole")) == 4


def test_a_second_trainer_on_the_same_folder_is_refused_and_the_first_log_stays_whole(wbc_small, tmp_path):
    from tvseg.core.safe_io import FolderBusyError

    settings = small_train_settings(wbc_small, iterations=30, checkpoint_every=10)
    folder = tmp_path / "run"
    script = (
        "from pathlib import Path; from tvseg.core.settings import TrainSettings; from tvseg.engine.train import train; "
        f"train(TrainSettings(**{settings.record()!r}), Path({str(folder)!r}), progress=False)"
    )
    first = subprocess.Popen([sys.executable, "-c", script])
    deadline = time.time() + 120
    while not (folder / "log.running.csv").exists() and time.time() < deadline and first.poll() is None:
        time.sleep(0.01)
    assert first.poll() is None, "the first trainer ended too soon"
    with pytest.raises(FolderBusyError, match=rf"training of .*run is already running: .* pid {first.pid} on host"):
        train(settings, folder, progress=False)
    assert first.wait(120) == 0
    assert _losses(folder) and len(_losses(folder)) == 30
    assert not (folder / ".train.lock").exists()  # released on exit


def test_the_lock_of_a_trainer_that_died_is_taken_over(wbc_small, tmp_path):
    import json
    import socket

    from tvseg.core.safe_io import FolderBusyError

    folder = tmp_path / "run"
    folder.mkdir()
    holder = subprocess.Popen(["sleep", "60"])
    (folder / ".train.lock").write_text(json.dumps({"host": socket.gethostname(), "pid": holder.pid, "since": "x"}))
    with pytest.raises(FolderBusyError, match=f"pid {holder.pid}"):
        train(small_train_settings(wbc_small, iterations=2), folder, progress=False)
    holder.kill()
    holder.wait()
    train(small_train_settings(wbc_small, iterations=2), folder, progress=False)  # its holder is gone: taken over
    assert (folder / "model.pt").exists()


def _cut_after(monkeypatch, steps: int):
    """Make training raise after ``steps`` SGD steps (a crash), as if the process had died."""
    import tvseg.engine.train as training

    calls, step = {"n": 0}, training._sgd_step

    def crash(*args):
        calls["n"] += 1
        if calls["n"] > steps:
            raise KeyboardInterrupt
        return step(*args)

    monkeypatch.setattr(training, "_sgd_step", crash)
    return lambda: monkeypatch.setattr(training, "_sgd_step", step)


def test_a_damaged_newest_checkpoint_resumes_from_the_previous_one(wbc_small, tmp_path, monkeypatch, capsys):
    from tvseg.core.safe_io import DamagedFileError

    settings = small_train_settings(wbc_small, iterations=8, checkpoint_every=2, lr_schedule="poly")
    train(settings, tmp_path / "whole", progress=False)
    folder = tmp_path / "cut"
    restore = _cut_after(monkeypatch, 7)
    with pytest.raises(KeyboardInterrupt):
        train(settings, folder, progress=False)
    restore()
    newest, previous = folder / "checkpoint.pt", folder / "checkpoint.previous.pt"
    assert torch.load(newest, weights_only=True)["iteration"] == 6
    assert torch.load(previous, weights_only=True)["iteration"] == 4
    newest.write_bytes(newest.read_bytes()[:1000])  # what a failing disk or a copy cut short leaves
    train(settings, folder, progress=False)
    said = capsys.readouterr().err
    assert f"skipped {newest}" in said and "resuming" in said and "(iteration 4)" in said
    a, b = _weights(tmp_path / "whole" / "model.pt"), _weights(folder / "model.pt")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert _losses(folder) == _losses(tmp_path / "whole")  # the log trimmed to the checkpoint resumed
    assert not newest.exists() and not previous.exists()

    restore = _cut_after(monkeypatch, 5)
    with pytest.raises(KeyboardInterrupt):
        train(settings, tmp_path / "both", progress=False)
    restore()
    for path in (tmp_path / "both" / "checkpoint.pt", tmp_path / "both" / "checkpoint.previous.pt"):
        path.write_bytes(b"not a checkpoint")
    with pytest.raises(
        DamagedFileError, match=r"no checkpoint of .*both can be read .* to train this run from the start"
    ):
        train(settings, tmp_path / "both", progress=False)


class _FullDisk:
    """A file whose writes fail as on a full filesystem."""

    def __init__(self, path, mode):
        self.file = open(path, mode)  # noqa: SIM115

    def write(self, data):
        import errno

        self.file.write(data[: len(data) // 2])  # a part lands, as on a real disk
        raise OSError(errno.ENOSPC, "No space left on device")

    def __getattr__(self, name):
        return getattr(self.file, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.file.close()


def test_a_full_disk_is_named_and_leaves_no_partial_file(wbc_small, tmp_path, monkeypatch):
    import tvseg.core.safe_io
    from tvseg.core.safe_io import DiskFullError, write_atomic

    target = tmp_path / "evaluation.csv"
    target.write_text("the last good one\n")
    monkeypatch.setattr(tvseg.core.safe_io, "open", _FullDisk, raising=False)
    with pytest.raises(DiskFullError, match=f"no space left on device while writing {target}"):
        write_atomic(target, "a new table\n" * 100)
    assert target.read_text() == "the last good one\n" and sorted(tmp_path.iterdir()) == [target]

    folder = tmp_path / "run"  # a trainer writing its checkpoint into a full disk keeps the last good one
    monkeypatch.undo()
    restore = _cut_after(monkeypatch, 4)
    with pytest.raises(KeyboardInterrupt):
        train(small_train_settings(wbc_small, iterations=8, checkpoint_every=2), folder, progress=False)
    restore()
    monkeypatch.setattr(tvseg.core.safe_io, "open", _FullDisk, raising=False)
    with pytest.raises(
        DiskFullError, match=r"no space left on device while writing .*run/(log.running.csv|checkpoint)"
    ):
        train(small_train_settings(wbc_small, iterations=8, checkpoint_every=2), folder, progress=False)
    monkeypatch.undo()
    assert torch.load(folder / "checkpoint.pt", weights_only=True)["iteration"] == 4
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp") or p.name == "checkpoint.new.pt"]
