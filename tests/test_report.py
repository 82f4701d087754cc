import itertools

import pandas as pd

from tvseg.reporting.report import (
    NOT_RUN,
    NOT_RUN_WHY,
    TABLE_COLUMNS,
    learned_lambdas,
    plot_noise_curves,
    render_table,
)


def _wbc_metrics() -> pd.DataFrame:
    rows = []
    for seed, (condition, level) in itertools.product(range(2), TABLE_COLUMNS):
        reading = "variance" if condition == "gaussian" else "none"
        for method, miou, re in (("Unet1", 80 - 100 * level + seed, 3.0), ("RUnet1", 82 - 50 * level + seed, 2.0)):
            for metric, value in (("miou", miou), ("accuracy", 95.0), ("re", re)):
                rows.append(dict(run="x", seed=seed, dataset="wbc", train_data="clean", method=method,
                                 condition=condition, level=level, reading=reading, metric=metric, value=value))  # fmt: skip
        rows.append(dict(run="x", seed=seed, dataset="wbc", train_data="clean", method="ground truth",
                         condition=condition, level=level, reading=reading, metric="re", value=1.25))  # fmt: skip
    return pd.DataFrame(rows)


def test_a_table_of_a_dataset_not_run_shows_the_paper_and_says_why(tmp_path):
    render_table(_wbc_metrics(), 5, "variance", tmp_path / "table5_variance")
    text = (tmp_path / "table5_variance.md").read_text()
    assert NOT_RUN_WHY["sunrgbd"] in text.splitlines()[0]
    assert "| 26.50 " in text  # the paper's Segnet1 clean mIoU
    ours = [line for line in text.splitlines() if line.startswith("|") and line.split("|")[3].strip() == "ours"]
    assert ours and all(line.count(NOT_RUN) == len(TABLE_COLUMNS) for line in ours)
    assert (tmp_path / "table5_variance.tex").exists() and (tmp_path / "table5_variance.csv").exists()


def test_re_tables_end_with_the_ground_truths_re(tmp_path):
    render_table(_wbc_metrics(), 1, "variance", tmp_path / "table1_variance")
    lines = (tmp_path / "table1_variance.md").read_text().splitlines()
    truth = [line for line in lines if line.startswith("|") and "ground truth" in line]
    assert len(truth) == 1 and truth[0].startswith("| RE ") and "| ours " in truth[0]
    assert truth[0].count("1.25") == len(TABLE_COLUMNS) and "±" not in truth[0]
    assert "over 2 seeds" in lines[0]  # the reference rows do not count as seeds


def test_figures_render_byte_identical_and_without_our_data(tmp_path):
    metrics = _wbc_metrics()
    for name in ("a", "b"):
        plot_noise_curves(metrics, "wbc", tmp_path / f"{name}.png", tmp_path / f"{name}.pdf")
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()
    assert (tmp_path / "a.pdf").read_bytes() == (tmp_path / "b.pdf").read_bytes()
    plot_noise_curves(metrics, "sunrgbd", tmp_path / "figure6.png", tmp_path / "figure6.pdf")
    assert (tmp_path / "figure6.png").stat().st_size > 10_000


def test_learned_lambdas_come_from_the_last_log_row(tmp_path):
    for run, seed, final in (("runet_wbc_clean", 0, 1.5), ("runet_wbc_noisy", 3, 1.75)):
        folder = tmp_path / "runs" / run / f"seed{seed}"
        folder.mkdir(parents=True)
        (folder / "log.csv").write_text(
            f"iteration,loss,lam,lr,seconds\n1,0.9,1.99,0.01,0.1\n2,0.8,{final},0.005,0.1\n"
        )
    logs = sorted((tmp_path / "runs").glob("*/*/log.csv"))
    table = learned_lambdas(logs, initial=2.0)
    assert table[["method", "seed", "iterations", "lam_initial", "lam_final"]].values.tolist() == [
        ["RUnet1", 0, 2, 2.0, 1.5],
        ["RUnet2", 3, 2, 2.0, 1.75],
    ]


def test_panels_carry_a_legend_of_the_class_colours(tmp_path, monkeypatch):
    import numpy as np
    from PIL import Image

    import tvseg.reporting.report as report

    for kind in ("image", "truth", "Unet1", "RUnet1"):
        (tmp_path / "panels" / "clean").mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "panels" / "clean" / f"001__{kind}.png")
    drawn = []
    monkeypatch.setattr(report, "_save_figure", lambda fig, *args, **kwargs: drawn.append(fig))
    report.plot_qualitative([tmp_path / "panels"], tmp_path / "p.png", ("clean",), dataset="wbc")
    assert [t.get_text() for t in drawn[0].legends[0].get_texts()] == ["background", "cytoplasm", "nucleus"]


def test_a_table_says_what_ran_and_which_reading_a_dataset_kept(tmp_path):
    metrics = _wbc_metrics()  # gaussian conditions under the variance reading alone
    render_table(metrics, 1, "std", tmp_path / "table1_std", note="an smp Unet on resnet18, 96x96")
    title = (tmp_path / "table1_std.md").read_text().splitlines()[0]
    assert "Ours (an smp Unet on resnet18, 96x96): mean [lowest, highest] over 2 seeds" in title
    assert "evaluated with sigma read as variance only" in title
    render_table(metrics, 1, "variance", tmp_path / "table1_variance")
    assert "only" not in (tmp_path / "table1_variance.md").read_text().splitlines()[0]


def test_validation_curves_are_read_from_the_logs_and_plotted(tmp_path):
    from tvseg.reporting.report import plot_validation_curves, validation_curves

    for run, seed in (("segnet_camvid_clean", 0), ("segnet_camvid_clean", 1), ("rsegnet_camvid_clean", 0)):
        folder = tmp_path / "runs" / run / f"seed{seed}"
        folder.mkdir(parents=True)
        (folder / "log.csv").write_text(
            "iteration,loss,lam,lr,seconds,gap,val_miou,val_accuracy\n"
            f"1,2.0,2,0.01,0.1,,,\n2,1.5,2,0.01,0.1,,{30 + seed},60\n3,1.2,2,0.01,0.1,,,\n4,1.0,2,0.0,0.1,,{35 + seed},70\n"
        )
    curves = validation_curves(sorted((tmp_path / "runs").glob("*/*/log.csv")))
    assert curves[["method", "seed", "iteration", "val_miou"]].values.tolist() == [
        ["RSegnet1", 0, 2, 30.0], ["RSegnet1", 0, 4, 35.0],
        ["Segnet1", 0, 2, 30.0], ["Segnet1", 0, 4, 35.0], ["Segnet1", 1, 2, 31.0], ["Segnet1", 1, 4, 36.0],
    ]  # fmt: skip
    plot_validation_curves(curves, "camvid", tmp_path / "curves.png", note="120x160")
    assert (tmp_path / "curves.png").stat().st_size > 10_000
    (tmp_path / "runs" / "segnet_camvid_clean" / "seed1" / "log.csv").write_text("iteration,loss,lam\n1,2.0,2\n")
    import pytest

    with pytest.raises(ValueError, match="no validation curve"):
        validation_curves(sorted((tmp_path / "runs").glob("*/*/log.csv")))


def test_few_seeds_show_their_range_and_no_row_is_empty(tmp_path):
    metrics = _wbc_metrics()
    post = metrics[metrics["method"] == "Unet1"].assign(method="Unet1+postTV")
    render_table(pd.concat([metrics, post], ignore_index=True), 1, "variance", tmp_path / "t")
    lines = [line for line in (tmp_path / "t.md").read_text().splitlines() if line.startswith("| mIoU")]
    # seeds 0 and 1 at clean: Unet1 80 and 81
    assert any("| Unet1 " in line and "| ours " in line and "80.50 [80.00, 81.00]" in line for line in lines)
    for line in (tmp_path / "t.md").read_text().splitlines()[4:]:
        cells = [c.strip() for c in line.strip("|").split("|")][3:]
        assert any(cells), f"an empty row: {line}"
    assert not [line for line in lines if "Unet1+postTV" in line and "ours - paper" in line]
    many = pd.concat([metrics.assign(seed=metrics["seed"] + 2 * k) for k in range(2)], ignore_index=True)
    render_table(many, 1, "variance", tmp_path / "four")
    text = (tmp_path / "four.md").read_text()
    assert "mean ± standard deviation over 4 seeds" in text.splitlines()[0] and "80.50 ± 0.58" in text


def test_re_is_compared_with_the_paper_through_its_ratio_to_the_ground_truth(tmp_path):
    from tvseg.reporting.report import RE_RATIO_OURS, RE_RATIO_PAPER

    render_table(_wbc_metrics(), 1, "variance", tmp_path / "same", same_resolution=True)
    render_table(_wbc_metrics(), 1, "variance", tmp_path / "other", same_resolution=False)
    same = (tmp_path / "same.md").read_text().splitlines()
    other = (tmp_path / "other.md").read_text().splitlines()
    ours = [line for line in same if line.startswith("| RE ") and "| Unet1 " in line and RE_RATIO_OURS in line]
    assert ours and ours[0].count("| 2.40 ") == len(TABLE_COLUMNS)  # Unet1's RE 3.0 over the truth's 1.25
    paper = next(line for line in same if line.startswith("| RE ") and "| Unet1 " in line and RE_RATIO_PAPER in line)
    assert "| 1.47 " in paper  # the paper's clean 1.82 over the truth's 1.24 at 300x300
    assert any(line.startswith("| RE ") and "ours - paper" in line for line in same)
    assert not any(line.startswith("| RE ") and "ours - paper" in line for line in other)
    assert any(line.startswith("| mIoU ") and "ours - paper" in line for line in other)


def test_the_ground_truths_re_reference_is_the_calibrations():
    import re
    from pathlib import Path

    from tvseg.core.paper import GROUND_TRUTH_RE

    calibration = (Path(__file__).resolve().parents[1] / "results" / "re_calibration.md").read_text()
    reference = pd.read_csv(GROUND_TRUTH_RE, comment="#")
    for row in reference.itertuples():
        found = re.search(rf"^\| {row.dataset} \(\d+ images {row.resolution}\) \| ([\d.]+) ", calibration, re.M)
        assert found and float(found.group(1)) == row.re
