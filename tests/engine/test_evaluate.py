import csv

import pytest
from helpers import (
    small_train_settings,
)

from tvseg.core.provenance import provenance_of
from tvseg.core.settings import Condition, EvaluationSettings, Panels
from tvseg.engine.evaluate import evaluate_run
from tvseg.engine.train import train


def test_evaluation_is_deterministic_and_complete(wbc_small, tmp_path):
    train(small_train_settings(wbc_small, head="softmax", iterations=4), tmp_path / "run", progress=False)
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
        train(small_train_settings(wbc_small, iterations=2, **overrides), tmp_path / run, progress=False)
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


def test_the_networks_batch_gives_the_same_evaluation_on_a_small_net(wbc_small, tmp_path):
    # images are treated apart (batch norm in eval mode); a larger net can move a near-tie pixel through
    # the rounding of batched convolutions (results/cpu/bench_evaluate.txt), this small one does not
    train(small_train_settings(wbc_small, head="softmax", iterations=2), tmp_path / "run", progress=False)
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


def test_a_model_evaluated_as_another_run_or_on_other_classes_is_refused(wbc_small, tmp_path):
    import json
    import shutil

    train(small_train_settings(wbc_small, head="softmax", iterations=2), tmp_path / "run", progress=False)
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
