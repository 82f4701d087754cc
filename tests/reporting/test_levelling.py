"""The levelling check: a recipe's validation curve after the configured schedule against a longer one."""

import pandas as pd
import pytest

from tvseg.reporting.levelling import levelling, levelling_markdown, plot_levelling
from tvseg.reporting.results import validation_curves

RUN = "segnet_camvid_clean"


def _write_logs(root, ends: dict[int, float], iterations: int) -> list:
    """A log.csv per seed under root/runs/<RUN>/seed<k>, its curve rising to ``ends[seed]`` at ``iterations``."""
    logs = []
    for seed, end in ends.items():
        folder = root / "runs" / RUN / f"seed{seed}"
        folder.mkdir(parents=True)
        half = iterations // 2
        (folder / "log.csv").write_text(
            "iteration,loss,lam,lr,seconds,gap,val_miou,val_accuracy\n"
            f"{half},1.5,,0.01,0.1,,{end - 5},60\n{iterations},1.0,,0.0,0.1,,{end},70\n"
        )
        logs.append(folder / "log.csv")
    return logs


def _check(tmp_path, configured: dict, longer: dict):
    curves = validation_curves(_write_logs(tmp_path / "configured", configured, 1500))
    extended = validation_curves(_write_logs(tmp_path / "longer", longer, 3000))
    return curves, extended, levelling(curves, extended, RUN)


def test_a_gain_within_one_seeds_spread_is_levelled_off(tmp_path):
    curves, extended, check = _check(tmp_path, {0: 40.0, 1: 44.0, 2: 42.0}, {0: 41.0, 1: 44.5})
    assert (check.iterations, check.longer_iterations, check.method) == (1500, 3000, "Segnet1")
    assert check.gain == pytest.approx(0.75)
    assert check.spread == pytest.approx(2.0)
    assert check.verdict == "levelled off"
    text = levelling_markdown(check, note="120x160")
    assert "| 2 | 42.00 |  |  |" in text  # a seed without the longer schedule keeps its row, unpaired
    assert "| mean of the seeds with both | 42.00 | 42.75 | +0.75 |" in text
    assert "**levelled off**: 3000 iterations instead of 1500 gain +0.75 validation mIoU (seeds 0, 1)" in text
    assert "sd 2.00 over 3 seeds" in text
    plot_levelling(curves, extended, check, tmp_path / "levelling.png", note="120x160")
    assert (tmp_path / "levelling.png").stat().st_size > 10_000


def test_a_gain_beyond_the_spread_is_still_rising_and_one_seed_decides_nothing(tmp_path):
    _, _, rising = _check(tmp_path / "a", {0: 40.0, 1: 41.0}, {0: 44.0})
    assert (rising.verdict, rising.gain) == ("still rising", pytest.approx(4.0))
    assert "**still rising**" in levelling_markdown(rising)
    _, _, alone = _check(tmp_path / "b", {0: 40.0}, {0: 40.5})
    assert alone.verdict == "undecided"
    assert "gives no spread" in alone.sentence()


def test_curves_that_cannot_be_paired_are_refused(tmp_path):
    curves = validation_curves(_write_logs(tmp_path / "configured", {0: 40.0}, 1500))
    extended = validation_curves(_write_logs(tmp_path / "longer", {3: 41.0}, 3000))
    with pytest.raises(ValueError, match=r"seeds \[3\] of the longer schedule"):
        levelling(curves, extended, RUN)
    with pytest.raises(ValueError, match="after both schedules"):
        levelling(curves, extended.iloc[0:0], RUN)
    uneven = pd.concat([curves, curves.assign(seed=1, iteration=curves["iteration"] * 2)])
    with pytest.raises(ValueError, match="end at different iterations"):
        levelling(uneven, extended.assign(seed=0), RUN)
