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

from tvseg.core.config import RunFiles
from tvseg.core.provenance import provenance_of
from tvseg.core.settings import EvaluationSettings, TrainSettings
from tvseg.datasets import NoisyTrainingSet, PrepareSettings, fetch, prepare_dataset
from tvseg.engine.evaluate import Condition, Panels, evaluate_run, expand_conditions
from tvseg.engine.metrics import confusion_matrix, regularization_effect, scores
from tvseg.engine.train import TrainingDivergedError, batch_indices, lr_factor, train

MIRROR = Path(__file__).resolve().parents[2] / "shared" / "datasets"
needs_mirror = pytest.mark.skipif(
    not MIRROR.is_dir(), reason="the dataset mirror ../shared/datasets is not beside the repo"
)


# ---------- metrics ----------
def test_confusion_matrix_and_scores_by_hand():
    truth = np.array([[0, 0, 1], [1, 2, 255]])
    prediction = np.array([[0, 1, 1], [1, 2, 0]])
    cm = confusion_matrix(prediction, truth, num_classes=4, ignore_index=255)
    expected = np.zeros((4, 4), dtype=np.int64)
    expected[0, 0], expected[0, 1], expected[1, 1], expected[2, 2] = 1, 1, 2, 1
    assert np.array_equal(cm, expected)
    result = scores(cm)
    assert result["accuracy"] == pytest.approx(100 * 4 / 5)
    # IoU: class 0 = 1/(2+1-1) = 0.5, class 1 = 2/(2+3-2) = 2/3, class 2 = 1, class 3 absent -> NaN, left out
    assert np.allclose(result["iou"][:3], [50.0, 200 / 3, 100.0]) and np.isnan(result["iou"][3])
    assert result["miou"] == pytest.approx((50 + 200 / 3 + 100) / 3)


def test_confusion_matrix_rejects_unknown_truth_labels():
    with pytest.raises(ValueError, match="outside 0..2"):
        confusion_matrix(np.zeros((2, 2)), np.array([[0, 3], [1, 2]]), num_classes=3)


def test_regularization_effect_by_hand():
    u = np.array([[0, 0, 2], [0, 1, 2]])
    # forward differences, zero on the last row/column, each label change counting 1:
    # rows: [0,1,0] then 0; columns: [0,1,0] and [1,1,0]
    # |grad| = [[0, sqrt(1+1), 0], [1, 1, 0]] -> sum = sqrt(2) + 2, over 6 pixels
    assert regularization_effect(u) == pytest.approx(100 * (np.sqrt(2) + 2) / 6)
    assert regularization_effect(np.ones((5, 7))) == 0.0


def test_regularization_effect_ignores_class_numbering():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 11, size=(40, 50))
    labels[10:30, 5:45] = 3  # a smooth region beside noisy ones
    permutation = rng.permutation(11)
    assert regularization_effect(permutation[labels]) == regularization_effect(labels)
    # relabelling two classes far apart in id (0 <-> 10) changes nothing either
    swapped = np.where(labels == 0, 10, np.where(labels == 10, 0, labels))
    assert regularization_effect(swapped) == regularization_effect(labels)


def test_batches_depend_only_on_seed_and_iteration():
    n, b = 10, 4
    first_epoch = np.concatenate([batch_indices(n, b, t, seed=3) for t in range(3)])[:10]
    assert sorted(first_epoch.tolist()) == list(range(10))  # each item once per epoch
    assert np.array_equal(batch_indices(n, b, 7, 3), batch_indices(n, b, 7, 3))
    assert not np.array_equal(batch_indices(n, b, 7, 3), batch_indices(n, b, 7, 4))


def test_conditions_expand_both_readings_without_duplicates():
    conditions = expand_conditions(
        [{"kind": "clean", "level": 0}, {"kind": "gaussian", "level": 0.05}, {"kind": "pepper", "level": 0.01}],
        [0.0, 0.05, 0.1],
        ["std", "variance"],
    )
    assert [c.name for c in conditions] == [
        "clean", "gaussian0.05_std", "gaussian0.05_variance", "pepper0.01", "gaussian0.1_std", "gaussian0.1_variance",
    ]  # fmt: skip


# ---------- training and evaluation on small WBC images ----------
@pytest.fixture(scope="module")
def wbc_small(tmp_path_factory):
    if not MIRROR.is_dir():
        pytest.skip("the dataset mirror ../shared/datasets is not beside the repo")
    root = tmp_path_factory.mktemp("data")
    tree = fetch("wbc", root, mirror=MIRROR)
    settings = PrepareSettings(size=(48, 48), noisy=NoisyTrainingSet(20, 0.05), limit={"test": 4})
    return prepare_dataset("wbc", tree, root / "wbc48", settings, progress=False)


def _settings(data_dir: Path, **overrides) -> TrainSettings:
    base = dict(
        data_dir=str(data_dir), split="train", architecture="unet", num_classes=3, encoder="resnet18",
        head="tv", lr=1e-2, lam_lr=1e-1, batch_size=4, iterations=20, checkpoint_every=5, seed=0,
    )  # fmt: skip
    return TrainSettings(**{**base, **overrides})


def _losses(run_dir: Path) -> list[float]:
    with open(run_dir / "log.csv", newline="") as f:
        return [float(r["loss"]) for r in csv.DictReader(f)]


def _weights(path: Path) -> dict:
    return torch.load(path, weights_only=False)["model"]


def test_twenty_iterations_lower_the_loss(wbc_small, tmp_path):
    train(_settings(wbc_small), tmp_path / "run", progress=False)
    losses = _losses(tmp_path / "run")
    with open(tmp_path / "run" / "log.csv", newline="") as f:
        assert [int(r["iteration"]) for r in csv.DictReader(f)] == list(range(1, 21))
    assert np.mean(losses[-5:]) < 0.7 * np.mean(losses[:5])
    saved = torch.load(tmp_path / "run" / "model.pt", weights_only=False)
    assert saved["settings"]["head"] == "tv" and saved["model"]["head.lam"] != 1.0  # lambda learned


def test_same_seed_gives_the_same_checkpoint(wbc_small, tmp_path):
    for name in ("a", "b"):
        train(_settings(wbc_small, iterations=6), tmp_path / name, progress=False)
    a, b = _weights(tmp_path / "a" / "model.pt"), _weights(tmp_path / "b" / "model.pt")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_the_converged_head_logs_the_gap_it_reached(wbc_small, tmp_path):
    tv = {"lam": 2.0, "step": 0.2, "train_iters": 50, "eval_iters": 50, "tol": 1e-3, "method": "fista"}
    train(_settings(wbc_small, iterations=2, tv=tv), tmp_path / "run", progress=False)
    with open(tmp_path / "run" / "log.csv", newline="") as f:
        gaps = [r["gap"] for r in csv.DictReader(f)]
    assert len(gaps) == 2 and all(float(g) >= 0 for g in gaps)


def test_learning_rate_schedules():
    assert [lr_factor("constant", t, 10) for t in (0, 5, 9)] == [1.0, 1.0, 1.0]
    assert lr_factor("poly", 0, 10) == 1.0 and lr_factor("poly", 5, 10) == pytest.approx(0.5**0.9)
    assert lr_factor("cosine", 5, 10) == pytest.approx(0.5) and lr_factor("cosine", 9, 10) > 0
    poly = [lr_factor("poly", t, 100) for t in range(100)]
    assert all(a > b > 0 for a, b in zip(poly, poly[1:], strict=False))  # decays, never reaches 0 in training
    with pytest.raises(ValueError, match="lr_schedule must be one of"):
        lr_factor("step", 0, 10)


def test_poly_schedule_is_logged_per_iteration(wbc_small, tmp_path):
    train(_settings(wbc_small, iterations=4, lr_schedule="poly"), tmp_path / "run", progress=False)
    with open(tmp_path / "run" / "log.csv", newline="") as f:
        logged = [float(r["lr"]) for r in csv.DictReader(f)]
    assert logged == pytest.approx([1e-2 * lr_factor("poly", t, 4) for t in range(4)], rel=1e-5)


def test_killed_training_resumes_to_the_same_weights(wbc_small, tmp_path):
    # poly schedule: the resumed run must continue the decay where the checkpoint left it
    settings = _settings(wbc_small, iterations=30, checkpoint_every=4, lr_schedule="poly")
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
        train(_settings(wbc_small, iterations=6, checkpoint_every=4), tmp_path / "run", progress=False, stop=stop)
    assert torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=False)["iteration"] == 1
    assert not (tmp_path / "run" / "log.csv").exists()  # a workflow deleting log.csv loses nothing
    train(_settings(wbc_small, iterations=6, checkpoint_every=4), tmp_path / "run", progress=False)
    with open(tmp_path / "run" / "log.csv", newline="") as f:
        assert [int(r["iteration"]) for r in csv.DictReader(f)] == list(range(1, 7))
    assert not (tmp_path / "run" / "log.running.csv").exists()


def test_the_stop_event_fires_when_the_watched_process_ends():
    from tvseg.engine.train import stop_when_gone as _stop_when_gone

    parent = subprocess.Popen(["sleep", "60"])
    stop = _stop_when_gone(parent.pid)
    assert not stop.wait(1.5)
    parent.kill()
    parent.wait()
    assert stop.wait(5)


def test_resuming_with_other_settings_is_refused(wbc_small, tmp_path):
    final = train(_settings(wbc_small, iterations=5), tmp_path / "run", progress=False)
    stamp = final.stat().st_mtime_ns
    assert train(_settings(wbc_small, iterations=5), tmp_path / "run", progress=False) == final
    assert final.stat().st_mtime_ns == stamp  # a finished run is not trained again
    with pytest.raises(RuntimeError, match="other settings"):
        train(_settings(wbc_small, iterations=5, lr=0.5), tmp_path / "run", progress=False)


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
    settings = _settings(wbc_small, iterations=11, checkpoint_every=5, curve_split="test", curve_every=4)
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
            train(_settings(wbc_small, iterations=20, checkpoint_every=5), folder, progress=False, check_every=every)
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
        train(_settings(wbc_small, iterations=20, checkpoint_every=5), tmp_path / "run", progress=False)
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
        train(_settings(wbc_small, iterations=20, checkpoint_every=5), tmp_path / "run", progress=False)
    assert torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=False)["iteration"] == 5
    assert not (tmp_path / "run" / "model.pt").exists()


def test_evaluation_is_deterministic_and_complete(wbc_small, tmp_path):
    train(_settings(wbc_small, head="softmax", iterations=4), tmp_path / "run", progress=False)
    conditions = [Condition("clean", 0.0), Condition("gaussian", 0.05, "std"), Condition("salt", 0.01)]
    outputs = []
    settings = EvaluationSettings(
        tuple(conditions),
        post_tv={"": {"lam": 2.0, "step": 0.25, "iters": 100}},
        panels=Panels(tmp_path / "panels", images=1),
    )
    for name in ("a.csv", "b.csv"):
        outputs.append(
            evaluate_run(
                tmp_path / "run" / "model.pt",
                wbc_small,
                tmp_path / name,
                settings,
                run="unet_wbc_clean",
                progress=False,
            )  # fmt: skip
        )
    assert outputs[0].read_bytes() == outputs[1].read_bytes()
    with open(outputs[0], newline="") as f:
        rows = list(csv.DictReader(f))
    methods = {r["method"] for r in rows}
    assert methods == {"Unet1", "Unet1+postTV", "ground truth"}
    truth_re = {r["value"] for r in rows if r["method"] == "ground truth"}
    assert {r["metric"] for r in rows if r["method"] == "ground truth"} == {"re"} and len(truth_re) == 1
    for method in methods - {"ground truth"}:
        for condition in ("clean", "gaussian", "salt"):
            metrics = {
                r["metric"]: float(r["value"]) for r in rows if r["method"] == method and r["condition"] == condition
            }
            assert {"miou", "accuracy", "re", "iou/nucleus"} <= set(metrics)
            assert 0 <= metrics["accuracy"] <= 100 and metrics["re"] >= 0
    assert (tmp_path / "panels" / "gaussian0.05_std").is_dir()
    assert any(p.name.endswith("__Unet1+postTV.png") for p in (tmp_path / "panels" / "clean").iterdir())


def test_the_heads_batch_changes_no_number_or_panel(wbc_small, tmp_path, monkeypatch):
    # head_batch is speed alone: the fused kernel treats items apart, and the converged head,
    # which stops on its whole batch's gap, takes one image at a time
    from tvseg.layers.modules import TVSoftmax

    seen, forward = [], TVSoftmax.forward

    def spy(head, x):
        if not head.training:
            seen.append((head.tol, len(x)))
        return forward(head, x)

    monkeypatch.setattr(TVSoftmax, "forward", spy)
    converged = {"lam": 2.0, "step": 0.2, "train_iters": 50, "eval_iters": 50, "tol": 2e-2, "method": "fista"}
    runs = {"unet_wbc_clean": {"head": "softmax"}, "runet_wbc_clean": {}, "runetstar_wbc_clean": {"tv": converged}}
    conditions = [Condition("clean", 0.0), Condition("gaussian", 0.05, "std")]
    for run, overrides in runs.items():
        train(_settings(wbc_small, iterations=2, **overrides), tmp_path / run, progress=False)
        made = {}
        for head_batch in (1, 3):  # 4 test images: groups of 3 and 1
            out = tmp_path / f"{run}_{head_batch}"
            two_heads = {"": {"lam": 2.0, "step": 0.25, "iters": 100}, "-val": {"lam": 4.0, "step": 0.1, "iters": 100}}
            settings = EvaluationSettings(
                tuple(conditions), post_tv=two_heads, panels=Panels(out / "panels", images=4), head_batch=head_batch
            )
            evaluate_run(
                tmp_path / run / "model.pt", wbc_small, out / "evaluation.csv", settings, run=run, progress=False
            )
            # (the evaluation's provenance record names when it started: not a result)
            made[head_batch] = {
                p.relative_to(out): p.read_bytes()
                for p in out.rglob("*")
                if p.is_file() and p != provenance_of(out / "evaluation.csv")
            }
        assert len(made[1]) > 10 and made[1] == made[3], run
    assert {size for tol, size in seen if tol is None} == {1, 3}  # the fixed-iteration heads batched
    assert {size for tol, size in seen if tol is not None} == {1}  # the converged head never


@needs_mirror
def test_cli_prepares_trains_and_evaluates(tmp_path):
    profile = tmp_path / "tiny.yaml"
    profile.write_text(
        f"data_root: {tmp_path / 'data'}\nprepared_root: {tmp_path / 'prepared'}\nmirror: {MIRROR}\n"
        f"results_dir: {tmp_path / 'results'}\n"
        "datasets:\n  wbc: {size: [32, 32], iterations: 2, batch_size: 2, encoder: resnet18, limit: {test: 2}}\n"
        "evaluation:\n  figure_sigmas: [0.0]\n  table_conditions: [{kind: clean, level: 0}]\n"
    )
    config = ["--config", "config.yaml", "--config", str(profile), "--quiet"]
    root = Path(__file__).resolve().parents[1]
    for command in (
        ["prepare", "--dataset", "wbc"],
        ["train", "--run", "runet_wbc_noisy"],
        ["evaluate", "--run", "runet_wbc_noisy"],
    ):
        result = subprocess.run(
            [sys.executable, "-m", "tvseg.cli", *command, *config],
            cwd=root,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr
    assert (tmp_path / "results" / "runs" / "runet_wbc_noisy" / "seed0" / "evaluation.csv").is_file()
    bad = subprocess.run(
        [sys.executable, "-m", "tvseg.cli", "train", "--run", "runet_wbc", *config],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 1 and "run id must look like" in bad.stderr


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


def test_the_networks_batch_gives_the_same_evaluation_on_a_small_net(wbc_small, tmp_path):
    # images are treated apart (batch norm in eval mode); a larger net can move a near-tie pixel through
    # the rounding of batched convolutions (results/cpu/bench_evaluate.txt), this small one does not
    train(_settings(wbc_small, head="softmax", iterations=2), tmp_path / "run", progress=False)
    conditions = [Condition("clean", 0.0), Condition("gaussian", 0.05, "variance")]
    made = {}
    for head_batch, network_batch in ((1, 1), (1, 3), (2, 4)):  # 4 test images: uneven groups too
        out = tmp_path / f"{head_batch}_{network_batch}"
        settings = EvaluationSettings(
            tuple(conditions), post_tv={"": {"lam": 2.0, "step": 0.25, "iters": 100}},
            panels=Panels(out / "panels", images=4), head_batch=head_batch, network_batch=network_batch,
        )  # fmt: skip
        evaluate_run(tmp_path / "run" / "model.pt", wbc_small, out / "evaluation.csv", settings, run="unet_wbc_clean",
                     progress=False)  # fmt: skip
        made[(head_batch, network_batch)] = {
            p.relative_to(out): p.read_bytes()
            for p in out.rglob("*")
            if p.is_file() and p != provenance_of(out / "evaluation.csv")
        }
    assert len(made[(1, 1)]) > 10
    assert made[(1, 1)] == made[(1, 3)] == made[(2, 4)]
    with pytest.raises(ValueError, match="network_batch must be at least 1"):
        evaluate_run(
            tmp_path / "run" / "model.pt",
            wbc_small,
            tmp_path / "x.csv",
            EvaluationSettings(tuple(conditions), network_batch=0),
        )


def test_flips_are_drawn_from_seed_and_iteration_and_leave_crops_alone(wbc_small):
    from tvseg.datasets.prepare import PreparedSplit
    from tvseg.engine.train import make_batch

    split = PreparedSplit(wbc_small, "train")
    items = np.arange(8)
    plain_images, plain_labels = make_batch(split, items, (32, 32), 3, 0)
    images, labels = make_batch(split, items, (32, 32), 3, 0, hflip=True)
    again_images, again_labels = make_batch(split, items, (32, 32), 3, 0, hflip=True)
    assert torch.equal(images, again_images) and torch.equal(labels, again_labels)
    flipped = [not torch.equal(images[k], plain_images[k]) for k in range(len(items))]
    assert 0 < sum(flipped) < len(items)  # some items flipped, some not
    for k, was_flipped in enumerate(flipped):  # the same crop, mirrored where flipped
        expected = plain_labels[k].flip(-1) if was_flipped else plain_labels[k]
        assert torch.equal(labels[k], expected)
        assert torch.equal(images[k], plain_images[k].flip(-1) if was_flipped else plain_images[k])


def test_a_validation_curve_is_logged_and_changes_no_weight(wbc_small, tmp_path):
    # the curve scores a published split (WBC has none: its test split stands in here)
    train(_settings(wbc_small, iterations=7, head="tv"), tmp_path / "plain", progress=False)
    with_curve = _settings(wbc_small, iterations=7, head="tv", curve_split="test", curve_every=3)
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

    settings = _settings(wbc_small, iterations=8, checkpoint_every=4, curve_split="test", curve_every=2)
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


def test_settings_added_later_leave_the_old_runs_records_alone():
    from tvseg.core.settings import OPTIONAL_TRAIN_KEYS

    old = _settings(Path("data"))
    assert not set(OPTIONAL_TRAIN_KEYS) & set(old.record())  # the committed runs' params and fingerprints hold
    new = _settings(Path("data"), hflip=True, curve_split="val", curve_every=300, decoder_channels=[64, 32, 16, 8, 4])
    assert {k: new.record()[k] for k in OPTIONAL_TRAIN_KEYS} == {
        "hflip": True,
        "curve_split": "val",
        "curve_every": 300,
        "decoder_channels": [64, 32, 16, 8, 4],
    }
    assert new.fingerprint() != old.fingerprint()
    assert TrainSettings(**new.record()) == new  # a stored record reads back whole


# ---------- a run folder that survives faults (one writer, two checkpoints, a full disk) ----------
def test_a_second_trainer_on_the_same_folder_is_refused_and_the_first_log_stays_whole(wbc_small, tmp_path):
    from tvseg.core.files import FolderBusyError

    settings = _settings(wbc_small, iterations=30, checkpoint_every=10)
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

    from tvseg.core.files import FolderBusyError

    folder = tmp_path / "run"
    folder.mkdir()
    holder = subprocess.Popen(["sleep", "60"])
    (folder / ".train.lock").write_text(json.dumps({"host": socket.gethostname(), "pid": holder.pid, "since": "x"}))
    with pytest.raises(FolderBusyError, match=f"pid {holder.pid}"):
        train(_settings(wbc_small, iterations=2), folder, progress=False)
    holder.kill()
    holder.wait()
    train(_settings(wbc_small, iterations=2), folder, progress=False)  # its holder is gone: taken over
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
    from tvseg.core.files import DamagedFileError

    settings = _settings(wbc_small, iterations=8, checkpoint_every=2, lr_schedule="poly")
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
    import tvseg.core.files
    from tvseg.core.files import DiskFullError, write_atomic

    target = tmp_path / "evaluation.csv"
    target.write_text("the last good one\n")
    monkeypatch.setattr(tvseg.core.files, "open", _FullDisk, raising=False)
    with pytest.raises(DiskFullError, match=f"no space left on device while writing {target}"):
        write_atomic(target, "a new table\n" * 100)
    assert target.read_text() == "the last good one\n" and sorted(tmp_path.iterdir()) == [target]

    folder = tmp_path / "run"  # a trainer writing its checkpoint into a full disk keeps the last good one
    monkeypatch.undo()
    restore = _cut_after(monkeypatch, 4)
    with pytest.raises(KeyboardInterrupt):
        train(_settings(wbc_small, iterations=8, checkpoint_every=2), folder, progress=False)
    restore()
    monkeypatch.setattr(tvseg.core.files, "open", _FullDisk, raising=False)
    with pytest.raises(
        DiskFullError, match=r"no space left on device while writing .*run/(log.running.csv|checkpoint)"
    ):
        train(_settings(wbc_small, iterations=8, checkpoint_every=2), folder, progress=False)
    monkeypatch.undo()
    assert torch.load(folder / "checkpoint.pt", weights_only=True)["iteration"] == 4
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp") or p.name == "checkpoint.new.pt"]


def test_a_model_evaluated_as_another_run_or_on_other_classes_is_refused(wbc_small, tmp_path):
    import json
    import shutil

    train(_settings(wbc_small, head="softmax", iterations=2), tmp_path / "run", progress=False)
    model = tmp_path / "run" / "model.pt"
    settings = EvaluationSettings((Condition("clean", 0.0),), post_tv={"": {"lam": 1.0, "step": 0.25, "iters": 2}})
    out = tmp_path / "x.csv"
    with pytest.raises(ValueError, match=r"run segnet_camvid_clean is a camvid run, .* holds wbc"):
        evaluate_run(model, wbc_small, out, settings, run="segnet_camvid_clean", progress=False)
    with pytest.raises(ValueError, match=r"run runet_wbc_clean has a tv head, the model a softmax head"):
        evaluate_run(model, wbc_small, out, settings, run="runet_wbc_clean", progress=False)
    with pytest.raises(ValueError, match=r"run unet_wbc_noisy is trained on noisy data, the model on clean"):
        evaluate_run(model, wbc_small, out, settings, run="unet_wbc_noisy", progress=False)
    eleven = tmp_path / "eleven"
    shutil.copytree(wbc_small, eleven)
    manifest = json.loads((eleven / "manifest.json").read_text())
    manifest["classes"] = [f"class{i}" for i in range(11)]
    (eleven / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match=rf"{model} does not fit .* predicts 3 classes, .*eleven has 11"):
        evaluate_run(model, eleven, out, settings, run="unet_wbc_clean", progress=False)
    assert not out.exists()


def test_a_full_disk_is_one_line_naming_the_file_and_leaves_nothing(tmp_path, monkeypatch, capsys):
    import errno

    from tvseg import cli
    from tvseg.core import files

    source = tmp_path / "evaluation.csv"
    source.write_text("run,seed,value\nx,0,1.0\n")
    out = tmp_path / "collected" / "metrics.csv"

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files.os, "replace", full)
    assert cli.main(["collect", str(source), "--out", str(out)]) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "Traceback" not in error, error
    assert f"no space left on device while writing {out}" in error
    assert list(out.parent.iterdir()) == []  # neither the file nor its temporary
