import pandas as pd

from tvseg.config import load_config
from tvseg.tuning import _study_config, summary_markdown


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
