import itertools

import numpy as np
import pandas as pd
import pytest

from tvseg.core.paper import TABLE_COLUMNS
from tvseg.reporting.claims import claims_report
from tvseg.reporting.statistics import Evidence, Interval, holm, verdict_of_all


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
    # 0.5 * 0.09 * 100 on every seed: a zero-width interval above 0; the paper's loss difference beside it
    assert "+4.50 mIoU [+4.50, +4.50] (3 seeds) | +6.17 | 0 | holds | **holds** |" in report
    assert "interval above 0 at 8 of 8 conditions" in report
    assert "(3a) noisy training shrinks" in report and "+9.00 mIoU" in report
    assert "lambda chosen on validation" not in report  # no tuned post-TV rows in these metrics


def test_the_paper_column_is_its_loss_difference_not_its_gap():
    report = claims_report(_metrics(regularized_gain=0.5))
    # Table 1: (89.79 - 67.67) - (90.15 - 74.20) = 6.17 (the absolute gap at 0.09 would be 6.53)
    assert "| +6.17 | 0 | holds | **holds** |" in report


def test_a_claim_that_fails_is_reported_as_failing():
    report = claims_report(_metrics(regularized_gain=-0.2))
    assert "-1.80 mIoU [-1.80, -1.80] (3 seeds) | +6.17 | 0 | fails | **fails** |" in report


def test_an_interval_that_spans_zero_is_undecided():
    metrics = _metrics(regularized_gain=0.0)
    noisy_seed = (metrics["method"] == "RUnet1") & (metrics["metric"] == "miou") & (metrics["condition"] == "gaussian")
    metrics.loc[noisy_seed, "value"] += metrics.loc[noisy_seed, "seed"].map({0: 3.0, 1: -2.0, 2: 0.5})
    report = claims_report(metrics)
    line = next(x for x in report.splitlines() if x.startswith("| (1) RUnet1"))
    assert line.endswith("| undecided | **undecided** |")
    assert "+0.50 mIoU [" in line


def test_interval_is_the_student_t_interval():
    diff = pd.Series([1.0, 2.0, 4.0, 3.0, 5.0])
    interval = Interval.of(diff)
    half = 2.7764451051977987 * np.std(diff, ddof=1) / np.sqrt(5)  # t(0.975, 4)
    assert interval.mean == pytest.approx(3.0)
    assert (interval.low, interval.high) == pytest.approx((3.0 - half, 3.0 + half))
    assert interval.verdict == "holds"
    assert Interval.of(-diff).verdict == "fails"
    assert Interval.of(diff - 3.0).verdict == "undecided"
    one = Interval.of(pd.Series([2.0]))
    assert one.verdict.startswith("undecided") and "[" not in one.text()
    assert verdict_of_all([interval, Interval.of(diff - 3.0)]) == "undecided"
    assert verdict_of_all([interval, Interval.of(-diff)]) == "fails"
    assert verdict_of_all([interval, interval]) == "holds"


def test_one_seed_is_undecided_even_with_a_large_difference():
    metrics = _metrics(regularized_gain=0.5)
    report = claims_report(metrics[metrics["seed"] == 0])
    line = next(x for x in report.splitlines() if x.startswith("| (1) RUnet1"))
    assert "undecided (one seed: no interval)" in line


def test_the_converged_extra_is_compared_with_one_iteration_training():
    metrics = _metrics(regularized_gain=0.5)
    star = metrics[metrics["method"].isin(["RUnet1", "RUnet2"])].copy()
    star["method"] = star["method"].str.replace("RUnet", "RUnet*")
    star.loc[star["metric"] == "miou", "value"] += star.loc[star["metric"] == "miou", "seed"] + 1.0  # +1, +2, +3
    report = claims_report(pd.concat([metrics, star], ignore_index=True))
    line = next(
        x
        for x in report.splitlines()
        if x.startswith("| (extra) RUnet*1 (converged layer) beats RUnet1") and "0.09" in x
    )
    # mean 2, sd 1, 3 seeds: half width t(0.975, 2) / sqrt(3) = 4.303 / 1.732 = 2.48
    assert "+2.00 mIoU [-0.48, +4.48] (3 seeds)" in line and line.endswith("| undecided | **undecided** |")
    assert "RUnet*2 (converged layer) beats RUnet2" in report


def test_seed_spread_compares_recipes_side_by_side():
    from tvseg.reporting.claims import seed_spread_markdown

    steady = _metrics(regularized_gain=0.5)
    wobbly = steady.copy()
    wobbly.loc[wobbly["method"] == "RUnet1", "value"] += wobbly.loc[wobbly["method"] == "RUnet1", "seed"] * 3.0
    text = seed_spread_markdown({"steady": steady, "wobbly": wobbly}, "wbc", "std")
    rows = {
        line.split("|")[1].strip(): line
        for line in text.splitlines()
        if line.startswith("| steady") or line.startswith("| wobbly")
    }
    # RUnet1 at gaussian 0.09: 90 - 18 + 4.5 + 0.1 * seed; sd over seeds 0.1 (steady), 3.1 (wobbly)
    assert "76.60 ± 0.10" in rows["steady"] and "± 3.10" in rows["wobbly"]
    assert "| 3 |" in rows["steady"]


def test_the_p_value_is_the_paired_t_tests():
    diff = pd.Series([1.0, 2.0, 4.0, 3.0, 5.0])
    # mean 3, sd sqrt(2.5), t = 3 / (sqrt(2.5) / sqrt(5)) = 4.243 on 4 degrees of freedom
    assert Interval.of(diff).p == pytest.approx(0.013236, abs=1e-5)
    assert np.isnan(Interval.of(pd.Series([2.0])).p)


def test_holm_decides_against_the_family_not_each_claim_alone():
    # p 0.01, 0.02, 0.04: each alone below 0.05; Holm compares 0.01*3, 0.02*2, then 0.04*1
    assert holm([Evidence(0.01, 1), Evidence(0.02, -1), Evidence(0.04, 1)]) == ["holds", "fails", "holds"]
    # p 0.03 twice: 0.06 adjusted, so neither survives, though each alone would
    assert holm([Evidence(0.03, 1), Evidence(0.03, 1)]) == ["undecided", "undecided"]
    # step-down: once one is kept, every larger p is kept too; a missing p is undecided
    assert holm([Evidence(0.001, 1), Evidence(0.2, 1), Evidence(0.01, 1), Evidence(float("nan"), 1)]) == [
        "holds", "undecided", "holds", "undecided",
    ]  # fmt: skip


def test_a_claim_at_every_condition_takes_the_largest_p_or_a_reversal():
    up = Interval.of(pd.Series([1.0, 2.0, 4.0, 3.0, 5.0]))
    up_weak = Interval.of(pd.Series([1.0, -2.0, 4.0, 3.0, 5.0]))
    down = Interval.of(-pd.Series([1.0, 2.0, 4.0, 3.0, 5.0]))
    assert Evidence.of_all([up, up_weak]) == Evidence(max(up.p, up_weak.p), 1)
    assert Evidence.of_all([up, down]) == Evidence(min(1.0, down.p * 2), -1)


def test_a_claim_that_holds_alone_can_be_undecided_family_wise():
    metrics = _metrics(regularized_gain=0.0)
    gaussian = (metrics["method"] == "RUnet1") & (metrics["metric"] == "miou") & (metrics["condition"] == "gaussian")
    # claim 1's paired differences 0.8, 1.0, 1.5 at 0.09: alone above 0 (p 0.034); nine other claims beside it
    metrics.loc[gaussian & np.isclose(metrics["level"], 0.09), "value"] += metrics.loc[
        gaussian & np.isclose(metrics["level"], 0.09), "seed"
    ].map({0: 0.8, 1: 1.0, 2: 1.5})
    line = next(x for x in claims_report(metrics).splitlines() if x.startswith("| (1) RUnet1"))
    assert line.endswith("| holds | **undecided** |"), line


def test_the_abstracts_claim_is_the_clean_trained_pair_on_clean_images():
    metrics = _metrics(regularized_gain=0.5)
    ahead = (metrics["method"] == "RUnet1") & (metrics["metric"] == "miou") & (metrics["condition"] == "clean")
    metrics.loc[ahead, "value"] += 1.0
    report = claims_report(metrics)
    line = next(x for x in report.splitlines() if x.startswith("| (0) RUnet1 beats Unet1 in mIoU on clean images"))
    # Table 1: RUnet1 90.15 against Unet1 89.79
    assert "| +1.00 mIoU [+1.00, +1.00] (3 seeds) | +0.36 |" in line and line.endswith("**holds** |")


def test_seeds_to_decide_is_the_fewest_whose_interval_is_half_the_papers_difference():
    from scipy import stats

    from tvseg.reporting.statistics import seeds_to_decide

    def half(n, sd):
        return stats.t.ppf(0.975, n - 1) * sd / np.sqrt(n)

    for sd, effect in ((7.16, 6.17), (2.0, -1.0), (0.5, 17.4)):
        n = seeds_to_decide(sd, effect)
        assert half(n, sd) <= abs(effect) / 2 and (n == 2 or half(n - 1, sd) > abs(effect) / 2)
    assert seeds_to_decide(1000.0, 0.01, most=50) is None


def test_each_claim_gets_a_power_line_that_says_when_it_cannot_plan():
    from tvseg.reporting.statistics import seeds_to_decide

    metrics = _metrics(regularized_gain=0.0)
    noisy = (metrics["method"] == "RUnet1") & (metrics["metric"] == "miou") & (metrics["condition"] == "gaussian")
    metrics.loc[noisy, "value"] += metrics.loc[noisy, "seed"].map({0: 3.0, 1: -2.0, 2: 0.5})
    report = claims_report(metrics)
    sd = float(np.std([3.0, -2.0, 0.5], ddof=1))
    n = seeds_to_decide(sd, 6.17)
    assert (
        f"- (1) Unet1's loss minus RUnet1's, clean to gaussian 0.09: sd {sd:.2f} over 3 seeds; {n} seeds would give"
        in report
    )
    assert "around an effect of the paper's size (+6.17)" in report
    assert "- (2) clean: a claim over several conditions; no single size to plan for" in report
    assert "the paper gives no difference to size it by" in report  # claim 4: the paper has no number
    one_seed = metrics[metrics["seed"] == 0]
    assert "one seed, no spread yet to plan from" in claims_report(one_seed)


def test_the_claims_figure_draws_each_paired_claim_and_is_the_same_file_twice(tmp_path):
    from tvseg.reporting.claims_figure import plot_claims

    metrics = _metrics(regularized_gain=0.5)
    plot_claims(metrics, "wbc", "std", tmp_path / "a.png", tmp_path / "a.pdf")
    plot_claims(metrics, "wbc", "std", tmp_path / "b.png", tmp_path / "b.pdf")
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()
    assert (tmp_path / "a.pdf").read_bytes() == (tmp_path / "b.pdf").read_bytes()
    with pytest.raises(ValueError, match="no claim of camvid"):
        plot_claims(metrics, "camvid", "std", tmp_path / "c.png")
