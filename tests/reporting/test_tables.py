import pandas as pd
from helpers import ROOT, wbc_metrics

from tvseg.core.paper import TABLE_COLUMNS
from tvseg.reporting.results import NOT_RUN, NOT_RUN_WHY
from tvseg.reporting.tables import render_table


def test_a_table_of_a_dataset_not_run_shows_the_paper_and_says_why(tmp_path):
    render_table(wbc_metrics(), 5, "variance", tmp_path / "table5_variance")
    text = (tmp_path / "table5_variance.md").read_text()
    assert NOT_RUN_WHY["sunrgbd"] in text.splitlines()[0]
    assert "| 26.50 " in text  # the paper's Segnet1 clean mIoU
    ours = [line for line in text.splitlines() if line.startswith("|") and line.split("|")[3].strip() == "ours"]
    assert ours and all(line.count(NOT_RUN) == len(TABLE_COLUMNS) for line in ours)
    assert (tmp_path / "table5_variance.tex").exists() and (tmp_path / "table5_variance.csv").exists()


def test_re_tables_end_with_the_ground_truths_re(tmp_path):
    render_table(wbc_metrics(), 1, "variance", tmp_path / "table1_variance")
    lines = (tmp_path / "table1_variance.md").read_text().splitlines()
    truth = [line for line in lines if line.startswith("|") and "ground truth" in line]
    assert len(truth) == 1 and truth[0].startswith("| RE ") and "| ours " in truth[0]
    assert truth[0].count("1.25") == len(TABLE_COLUMNS) and "±" not in truth[0]
    assert "over 2 seeds" in lines[0]  # the reference rows do not count as seeds


def test_a_table_says_what_ran_and_which_reading_a_dataset_kept(tmp_path):
    metrics = wbc_metrics()  # gaussian conditions under the variance reading alone
    render_table(metrics, 1, "std", tmp_path / "table1_std", note="an smp Unet on resnet18, 96x96")
    title = (tmp_path / "table1_std.md").read_text().splitlines()[0]
    assert "Ours (an smp Unet on resnet18, 96x96): mean [lowest, highest] over 2 seeds" in title
    assert "evaluated with sigma read as variance only" in title
    render_table(metrics, 1, "variance", tmp_path / "table1_variance")
    assert "only" not in (tmp_path / "table1_variance.md").read_text().splitlines()[0]


def test_few_seeds_show_their_range_and_no_row_is_empty(tmp_path):
    metrics = wbc_metrics()
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
    from tvseg.reporting.tables import RE_RATIO_OURS, RE_RATIO_PAPER

    render_table(wbc_metrics(), 1, "variance", tmp_path / "same", same_resolution=True)
    render_table(wbc_metrics(), 1, "variance", tmp_path / "other", same_resolution=False)
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

    from tvseg.core.paper import GROUND_TRUTH_RE

    calibration = (ROOT / "results" / "re_calibration.md").read_text()
    reference = pd.read_csv(GROUND_TRUTH_RE, comment="#")
    for row in reference.itertuples():
        found = re.search(rf"^\| {row.dataset} \(\d+ images {row.resolution}\) \| ([\d.]+) ", calibration, re.M)
        assert found and float(found.group(1)) == row.re
