import subprocess
import sys

from helpers import DATA, MIRROR, ROOT, needs_mirror


@needs_mirror
def test_cli_prepares_trains_and_evaluates(tmp_path):
    profile = tmp_path / "tiny.yaml"
    profile.write_text(
        f"data_root: {tmp_path / 'data'}\nprepared_root: {tmp_path / 'prepared'}\nmirror: {MIRROR}\n"
        f"results_dir: {tmp_path / 'results'}\n"
        "datasets:\n  wbc: {size: [32, 32], iterations: 2, batch_size: 2, encoder: resnet18, limit: {test: 2}}\n"
        "evaluation:\n  figure_sigmas: [0.0]\n  table_conditions: [{kind: clean, level: 0}]\n"
    )
    config = ["--config", "config.yaml", "--config", str(profile), "--quiet"]
    root = ROOT
    for command in (
        ["prepare", "--dataset", "wbc"],
        ["train", "--run", "runet_wbc_noisy"],
        ["evaluate", "--run", "runet_wbc_noisy"],
    ):
        result = subprocess.run(
            [sys.executable, "-m", "tvseg.cli", *command, *config],
            cwd=root,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr
    assert (tmp_path / "results" / "runs" / "runet_wbc_noisy" / "seed0" / "evaluation.csv").is_file()
    bad = subprocess.run(
        [sys.executable, "-m", "tvseg.cli", "train", "--run", "runet_wbc", *config],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 1 and "run id must look like" in bad.stderr


def test_a_full_disk_is_one_line_naming_the_file_and_leaves_nothing(tmp_path, monkeypatch, capsys):
    import errno

    from tvseg import cli
    from tvseg.core import safe_io

    source = tmp_path / "evaluation.csv"
    source.write_text("run,seed,value\nx,0,1.0\n")
    out = tmp_path / "collected" / "metrics.csv"

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(safe_io.os, "replace", full)
    assert cli.main(["collect", str(source), "--out", str(out)]) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "Traceback" not in error, error
    assert f"no space left on device while writing {out}" in error
    assert list(out.parent.iterdir()) == []  # neither the file nor its temporary


def test_the_command_lines_help_is_as_it_was(monkeypatch):
    # tests/data/cli_help.txt: every command's --help as reviewed (since: train --longer and levelling, the levelling check)
    import argparse

    from tvseg.cli import build_parser

    monkeypatch.setenv("COLUMNS", "80")
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    texts = [f"===== tvseg\n{parser.format_help()}"]
    texts += [f"===== {name}\n{commands[name].format_help()}" for name in sorted(commands)]
    expected = (DATA / "cli_help.txt").read_text()
    assert "".join(texts) == expected


def test_gpu_run_uses_the_configured_device_unless_told(monkeypatch, tmp_path):
    import tvseg.runner.execute as execute
    import tvseg.runner.unpack as unpack
    from tvseg import cli

    asked = []
    monkeypatch.setattr(unpack, "unpack_once", lambda bundle, work: {"device": "cuda:1", "results_dir": str(tmp_path)})
    monkeypatch.setattr(
        execute,
        "run_all",
        lambda config, device, **kwargs: asked.append(device) or {"jobs": [], "device": device, "seconds": 0},
    )
    assert cli.main(["gpu-run", "--bundle", str(tmp_path)]) == 0
    assert cli.main(["gpu-run", "--bundle", str(tmp_path), "--device", "cpu"]) == 0
    assert asked == ["cuda:1", "cpu"]
