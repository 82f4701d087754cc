from helpers import wbc_metrics

from tvseg.reporting.figures import plot_noise_curves


def test_figures_render_byte_identical_and_without_our_data(tmp_path):
    metrics = wbc_metrics()
    for name in ("a", "b"):
        plot_noise_curves(metrics, "wbc", tmp_path / f"{name}.png", tmp_path / f"{name}.pdf")
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()
    assert (tmp_path / "a.pdf").read_bytes() == (tmp_path / "b.pdf").read_bytes()
    plot_noise_curves(metrics, "sunrgbd", tmp_path / "figure6.png", tmp_path / "figure6.pdf")
    assert (tmp_path / "figure6.png").stat().st_size > 10_000


def test_validation_curves_are_read_from_the_logs_and_plotted(tmp_path):
    from tvseg.reporting.figures import plot_validation_curves
    from tvseg.reporting.results import validation_curves

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
