"""Every training and evaluation records where it ran, and collect gathers the records into provenance.csv."""

import csv
import json
from pathlib import Path

import pytest

from tvseg.core.layout import RunFiles
from tvseg.core.provenance import (
    COLUMNS,
    FACTS,
    cpu_isa,
    provenance_of,
    provenance_row,
    read_provenance,
    record_evaluation,
    record_training_session,
    session_facts,
)
from tvseg.reporting.provenance import collected_rows, provenance_csv


def test_a_sessions_facts_name_the_machine_the_libraries_and_the_code():
    facts = session_facts("cpu")
    assert set(facts) == set(FACTS)
    assert facts["device"] == "cpu" and facts["threads"] >= 1
    assert facts["aten_isa"] in ("DEFAULT", "AVX2", "AVX512", "ZVECTOR", "SVE256", "VSX")
    assert facts["tv_layer"].startswith(("fused kernel", "torch implementation"))
    assert facts["torch"].startswith("2.") and facts["smp"] != "absent"
    assert len(facts["commit"].removesuffix("+changes")) == 40 or facts["commit"].startswith("unknown")
    assert facts["reproducible"] is False  # this process was not pinned


def test_the_widest_isa_is_read_from_the_cpus_flags():
    assert cpu_isa("fpu sse4_2 avx avx2 avx512f") == "AVX-512"
    assert cpu_isa("fpu sse4_2 avx avx2 fma") == "AVX2"
    assert cpu_isa("fpu sse4_2") == "SSE4.2"


def test_a_resumed_training_adds_a_session_and_a_redone_one_replaces_what_it_redid(tmp_path):
    model = tmp_path / "model.pt"
    record_training_session(model, "cpu", 0)
    record_training_session(model, "cpu", 200)
    sessions = read_provenance(provenance_of(model))
    assert [s["from_iteration"] for s in sessions] == [0, 200]
    record_training_session(model, "cpu", 100)  # resumed from an older checkpoint: 200.. is redone
    assert [s["from_iteration"] for s in read_provenance(provenance_of(model))] == [0, 100]
    record_training_session(model, "cpu", 0)  # trained anew
    assert [s["from_iteration"] for s in read_provenance(provenance_of(model))] == [0]


def _run_folder(root: Path, run: str, seed: int, cpus: list[str]) -> Path:
    files = RunFiles(root / run / f"seed{seed}")
    files.folder.mkdir(parents=True)
    files.evaluation.write_text(f"run,seed,dataset,metric,value\n{run},{seed},wbc,miou,90.0\n")
    facts = {fact: "x" for fact in FACTS}
    sessions = [{"from_iteration": 300 * i, **facts, "cpu": cpu} for i, cpu in enumerate(cpus)]
    files.model_provenance.write_text(json.dumps(sessions))
    record_evaluation(files.evaluation, {**facts, "cpu": cpus[-1]})
    return files.evaluation


def test_collect_makes_one_row_per_run_and_seed_naming_every_machine_of_its_training(tmp_path):
    a = _run_folder(tmp_path, "unet_wbc_clean", 1, ["CPU A"])
    b = _run_folder(tmp_path, "unet_wbc_clean", 0, ["CPU A", "CPU B", "CPU A"])
    rows = list(csv.DictReader(provenance_csv(collected_rows([a, b])).splitlines()))
    assert tuple(rows[0]) == COLUMNS
    assert [(r["run"], r["seed"]) for r in rows] == [("unet_wbc_clean", "0"), ("unet_wbc_clean", "1")]
    assert rows[0]["train_cpu"] == "CPU A | CPU B" and rows[0]["train_sessions"] == "3"
    assert rows[0]["evaluate_cpu"] == "CPU A" and rows[0]["origin"] == "recorded by the run"


def test_a_collection_carries_its_rows_and_refuses_to_lose_them(tmp_path):
    dataset = tmp_path / "datasets" / "wbc"
    dataset.mkdir(parents=True)
    evaluation = _run_folder(tmp_path, "runet_wbc_clean", 0, ["CPU A"])
    (dataset / "metrics.csv").write_text(evaluation.read_text())
    with pytest.raises(ValueError, match="provenance.csv"):
        collected_rows([dataset / "metrics.csv"])
    (dataset / "provenance.csv").write_text(provenance_csv(collected_rows([evaluation])))
    assert collected_rows([dataset / "metrics.csv"])[0]["train_cpu"] == "CPU A"


def test_a_run_without_records_says_so(tmp_path):
    row = provenance_row("wbc", "unet_wbc_clean", 0, tmp_path / "none.json", tmp_path / "nothing.json")
    assert row["origin"] == "not recorded" and row["train_cpu"] == "not recorded" and row["train_sessions"] == 0


def test_a_record_is_read_as_data_and_a_wrong_one_is_named(tmp_path):
    path = tmp_path / "model_provenance.json"
    path.write_text('{"cpu": "not a list"}')
    with pytest.raises(ValueError, match="model_provenance.json"):
        read_provenance(path)


def test_the_machines_page_groups_seeds_by_where_they_ran(tmp_path):
    from tvseg.reporting.provenance import machines_markdown

    folders = [_run_folder(tmp_path, run, seed, [cpu]) for run, seed, cpu in (
        ("unet_wbc_clean", 0, "CPU A"), ("unet_wbc_clean", 1, "CPU A"), ("unet_wbc_clean", 2, "CPU A"),
        ("unet_wbc_clean", 4, "CPU A"), ("unet_wbc_clean", 3, "CPU B"), ("runet_wbc_clean", 0, "CPU A"),
    )]  # fmt: skip
    page = machines_markdown(collected_rows(folders))
    lines = [line for line in page.splitlines() if line.startswith("| wbc")]
    assert lines[0].startswith("| wbc | 0-2, 4 | 5 | CPU A (x) |") and lines[1].startswith(
        "| wbc | 3 | 1 | CPU B (x) |"
    )
