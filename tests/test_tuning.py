import pandas as pd

from tvseg.config import load_config
from tvseg.evaluate import POST_TV_TUNED_SUFFIX, load_post_tv_choice
from tvseg.tuning import _study_config, best_post_tv_lambda, post_tv_settings, summary_markdown


def test_study_keeps_step_times_lambda_and_holds_images_out():
    config = load_config("config.yaml", "profiles/cpu/tvseg.yaml")
    study = _study_config(config, "wbc", 8.0, 12)
    assert study["tv"]["lam"] * study["tv"]["step"] == config["tv"]["lam"] * config["tv"]["step"]
    assert study["datasets"]["wbc"]["validation_count"] == 12
    assert config["datasets"]["wbc"]["validation_count"] == 0  # the configuration itself is untouched


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
