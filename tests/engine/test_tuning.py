import pandas as pd
from helpers import MIRROR

from tvseg.core.config import load_config
from tvseg.core.from_config import study_train_settings, train_settings, tuning_study_settings
from tvseg.core.runs import RunId
from tvseg.core.settings import POST_TV_TUNED_SUFFIX, load_post_tv_choice
from tvseg.engine.tuning import best_post_tv_lambda, post_tv_settings, summary_markdown


def test_study_keeps_step_times_lambda_and_holds_images_out():
    config = load_config("config.yaml", "profiles/cpu/tvseg.yaml")
    run = RunId("runet", "wbc", "clean")
    study = study_train_settings(config, run, 0, 8.0, 12)
    assert study.tv.lam == 8.0 and study.tv.lam * study.tv.step == config["tv"]["lam"] * config["tv"]["step"]
    assert study.validation_count == 12
    assert config["datasets"]["wbc"]["validation_count"] == 0  # the configuration itself is untouched
    # the plain net (no lambda of its own) trains as configured, with the images held out
    plain = study_train_settings(config, RunId("unet", "wbc", "clean"), 0, None, 12)
    assert plain.tv == train_settings(config, RunId("unet", "wbc", "clean"), 0).tv and plain.validation_count == 12


def test_post_tvs_tuning_reads_sigma_as_the_noisy_training_sets_do():
    # the reading travels in the study's settings, not in a configuration rewritten to carry it
    config = load_config("config.yaml", "profiles/cpu/tvseg.yaml")
    settings = tuning_study_settings(config, [0, 1])
    assert settings.reading == config["noise"]["gaussian_reading"] and settings.lams == ()
    assert settings.post_tv_lams == tuple(config["post_tv"]["tune"]["lams"]) and settings.seeds == (0, 1)


def _row(method, head, lam, condition, level, value, seed=0):
    return dict(method=method, head=head, initial_lam=lam, final_lam=lam / 2, condition=condition, level=level,
                metric="miou", value=value, seed=seed)  # fmt: skip


def test_summary_picks_the_best_lambdas_on_the_validation_scores():
    rows = []
    for condition, level, drop in (("clean", 0.0, 0.0), ("gaussian", 0.09, 1.0)):
        rows += [
            _row("Unet1", "softmax", float("nan"), condition, level, 80 - 20 * drop),
            _row("Unet1+postTV(lam=1)", "softmax", float("nan"), condition, level, 79 - 15 * drop),
            _row("Unet1+postTV(lam=4)", "softmax", float("nan"), condition, level, 75 - 5 * drop),
            _row("RUnet1", "tv", 0.5, condition, level, 80 - 18 * drop),
            _row("RUnet1", "tv", 8.0, condition, level, 78 - 8 * drop),
        ]
    text = summary_markdown(pd.DataFrame(rows), "wbc", [0.09], "variance", 12)
    assert "Best initial lambda at gaussian 0.09 on validation: regularized, initial lambda 8." in text
    assert "Best post-TV lambda at gaussian 0.09 on validation: plain + post-TV (lam=4)." in text
    assert "initial 8 -> 4" in text


def test_post_tv_lambda_is_the_best_mean_over_validation_conditions():
    rows = []
    for seed in (0, 1):
        for condition, level, drop in (("clean", 0.0, 0.0), ("gaussian", 0.05, 0.5), ("gaussian", 0.09, 1.0)):
            rows += [
                _row("Unet1", "softmax", float("nan"), condition, level, 80 - 20 * drop, seed),
                _row("Unet1+postTV(lam=1)", "softmax", float("nan"), condition, level, 80 - 15 * drop, seed),
                _row("Unet1+postTV(lam=4)", "softmax", float("nan"), condition, level, 76 - 6 * drop, seed),
                # best at gaussian 0.09 alone, but far worse clean: the mean over conditions rejects it
                _row("Unet1+postTV(lam=8)", "softmax", float("nan"), condition, level, 70 + 0 * drop, seed),
            ]
    best, mean = best_post_tv_lambda(pd.DataFrame(rows))
    assert best == 4.0
    assert mean[1.0] == 80 - 15 * 0.5 and mean[8.0] == 70


def test_post_tv_choice_round_trips_into_an_extra_head(tmp_path):
    import json

    post = {"lam": 1.0, "step": 0.25, "iters": 100}
    settings = post_tv_settings(post, 4.0)
    assert settings == {"lam": 4.0, "step": 0.125, "iters": 100}  # step * lambda kept at the bound 0.5
    (tmp_path / "choice.json").write_text(json.dumps({"dataset": "wbc", **settings, "criterion": "x"}))
    assert load_post_tv_choice(tmp_path / "choice.json") == {POST_TV_TUNED_SUFFIX: settings}


def test_post_tv_is_chosen_on_a_published_split_with_the_trained_plain_nets(tmp_path):
    # CamVid's way (tune_split: val): no net is trained for the choice; the trained Segnet1 runs
    # of the tuning seeds are scored on every image of the published split
    import json

    import pytest

    from tvseg.core.from_config import train_settings
    from tvseg.core.layout import prepared_dir, run_files
    from tvseg.core.runs import RunId
    from tvseg.datasets import NoisyTrainingSet, PrepareSettings, fetch, prepare_dataset
    from tvseg.engine.train import train
    from tvseg.engine.tuning import tune_post_tv

    mirror = MIRROR
    if not mirror.is_dir():
        pytest.skip("the dataset mirror ../shared/datasets is not beside the repo")
    override = tmp_path / "tiny.yaml"
    override.write_text(
        f"prepared_root: {tmp_path / 'prepared'}\nresults_dir: {tmp_path / 'results'}\n"
        "datasets:\n  camvid: {architecture: unet, paper_network: segnet, encoder: resnet18, encoder_weights: null,\n"
        "    size: [32, 48], iterations: 2, batch_size: 2, tune_split: val}\n"
        "post_tv: {tune: {lams: [1.0, 4.0], seeds: [0, 1], levels: [0.09]}}\n"
    )
    config = load_config("config.yaml", override)
    tree = fetch("camvid", tmp_path / "data", mirror=mirror)
    settings = PrepareSettings(size=(32, 48), noisy=NoisyTrainingSet(0, 0.03), limit={"train": 4, "val": 3, "test": 1})
    prepare_dataset("camvid", tree, prepared_dir(config, "camvid"), settings, progress=False)
    run = RunId.parse("segnet_camvid_clean")
    for seed in (0, 1):
        train(train_settings(config, run, seed), run_files(config, run, seed).folder, progress=False)
    choice = tune_post_tv(config, "camvid", tmp_path / "choice", device="cpu", progress=False)
    assert choice["validation_split"] == "val" and choice["validation_count"] == 3 and choice["seeds"] == [0, 1]
    assert choice["lam"] in (1.0, 4.0) and set(choice["validation_mean_miou"]) == {"1", "4"}
    assert json.loads((tmp_path / "choice" / "choice.json").read_text()) == choice
    scores = pd.read_csv(tmp_path / "choice" / "scores.csv")
    assert set(scores["seed"]) == {0, 1} and set(scores["condition"]) == {"clean", "gaussian"}
    assert not (tmp_path / "choice" / "runs").exists()  # nothing trained for the choice


def test_a_dataset_may_keep_its_own_evaluation_grid():
    from tvseg.core.from_config import conditions
    from tvseg.reporting.captions import recipe_note

    config = load_config("config.yaml", "profiles/cpu/tvseg.yaml")
    camvid = {c.name for c in conditions(config, "camvid")}
    assert camvid == {"clean", "pepper0.01", "salt0.01"} | {
        f"gaussian{level}_variance" for level in (0.01, 0.03, 0.05, 0.07, 0.09)
    }  # Figure 4's points are the tables' levels, one reading
    wbc = {c.name for c in conditions(config, "wbc")}  # Figure 2's whole grid, sigma read as a variance
    assert wbc == {"clean", "pepper0.01", "salt0.01", "salt_pepper0.05"} | {
        f"gaussian{level:g}_variance" for level in (0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.09, 0.1)
    }
    assert len(conditions(config)) == 24  # the shared grid: both readings
    assert "300x300 (as published), trained on 96x96 crops" in recipe_note(config, "wbc")
    assert recipe_note(config, "sunrgbd") is None  # off in this profile
    config["datasets"]["camvid"].update(decoder_channels=None, optimizer="sgd")
    assert recipe_note(config, "camvid").startswith("an smp Unet on resnet18 in the paper's SegNet's place, 120x160")
    assert recipe_note(config, "camvid").endswith("iterations, random initialisation")  # SGD goes unnamed
    config["datasets"]["camvid"]["decoder_channels"] = [128, 64, 32, 16, 8]  # what ran names a lighter decoder
    assert recipe_note(config, "camvid").startswith("an smp Unet on resnet18 with a (128, 64, 32, 16, 8) decoder in")
    config["datasets"]["camvid"]["optimizer"] = "adamw"
    assert recipe_note(config, "camvid").endswith("iterations, AdamW, random initialisation")
