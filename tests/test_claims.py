import itertools

import pandas as pd

from tvseg.claims import claims_report
from tvseg.report import TABLE_COLUMNS


def _metrics(regularized_gain: float) -> pd.DataFrame:
    rows = []
    for seed, (_train, index), (condition, level) in itertools.product(
        range(3), (("clean", 1), ("noisy", 2)), TABLE_COLUMNS
    ):
        noise = level if condition == "gaussian" else 0.0
        for method, miou, re in (
            (f"Unet{index}", 90 - 200 * noise / index + seed * 0.1, 2 + 50 * noise),
            (f"RUnet{index}", 90 - 200 * noise / index + regularized_gain * noise * 100 + seed * 0.1, 1.5),
            (f"Unet{index}+postTV", 89 - 200 * noise / index, 1.4),
        ):
            for metric, value in (("miou", miou), ("re", re), ("accuracy", 95.0)):
                reading = "std" if condition == "gaussian" else "none"
                rows.append(dict(run="x", seed=seed, dataset="wbc", method=method, condition=condition, level=level,
                                 reading=reading, metric=metric, value=value))  # fmt: skip
    return pd.DataFrame(rows)


def test_claims_are_judged_from_paired_differences():
    report = claims_report(_metrics(regularized_gain=0.5))
    assert "| (1) RUnet1 loses less mIoU than Unet1" in report
    assert "+4.50 mIoU ± 0.00 (3 seeds) | holds |" in report  # 0.5 * 0.09 * 100
    assert "lower at 8 of 8 conditions | holds |" in report
    assert "(3a) noisy training shrinks" in report and "+9.00 mIoU" in report


def test_a_claim_that_fails_is_reported_as_failing():
    report = claims_report(_metrics(regularized_gain=-0.2))
    assert "-1.80 mIoU ± 0.00 (3 seeds) | does not hold |" in report


def test_the_converged_extra_is_compared_with_one_iteration_training():
    metrics = _metrics(regularized_gain=0.5)
    star = metrics[metrics["method"].isin(["RUnet1", "RUnet2"])].copy()
    star["method"] = star["method"].str.replace("RUnet", "RUnet*")
    star.loc[star["metric"] == "miou", "value"] += star.loc[star["metric"] == "miou", "seed"] + 1.0  # +1, +2, +3
    report = claims_report(pd.concat([metrics, star], ignore_index=True))
    assert (
        "| (extra) RUnet*1 (converged layer) beats RUnet1 (one iteration) in mIoU at gaussian 0.09 | clean |" in report
    )
    assert "+2.00 mIoU ± 1.00 (3 seeds) | yes |" in report
    assert "RUnet*2 (converged layer) beats RUnet2" in report
