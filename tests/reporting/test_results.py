from tvseg.reporting.results import learned_lambdas


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
