"""What is known of where the CPU profile's runs made before provenance was recorded ran, written
as their provenance records, marked as reconstructed.

    python scripts/reconstruct_provenance.py [--results results/cpu]

Runs since record themselves (tvseg.core.provenance). The runs committed before did not; this
writes the facts known of them, each with its source, and "not recorded" for the rest:
- CamVid seeds 0 and 1 (no run folders in git): results/cpu/datasets/camvid/provenance.csv itself;
- WBC's first seed 0, made on an AVX2 machine and superseded by its re-run under the pin: the
  record of its Unet1 training beside the log kept as scripts/reproduce_log.py's reference
  (results/cpu/reproduce/avx2_seed0/).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from tvseg.core.provenance import COLLECTED_NAME, FACTS, provenance_of, provenance_row
from tvseg.reporting.provenance import provenance_csv

NOT_RECORDED = "not recorded"
# requirements.txt's pins at both landings (git show <commit>:requirements.txt)
PINNED = {"torch": "2.14.1", "smp": "0.6.0", "numpy": "2.4.6"}
# src/tvseg/layers/_native.py's flags at both landings (git show <commit>:src/tvseg/layers/_native.py)
KERNEL = "fused kernel: compiler not recorded -O3 -march=native -ffast-math -fopenmp -shared -fPIC"

WBC_SEED0 = {
    "origin": "reconstructed: 0bb30c3 (landed), issue #39 (the machine), session 9's note (the commit run)",
    # issue #39: "the committed WBC seed 0 was made on one with AVX2 only"; pinned to AVX2, an
    # AVX-512 machine reproduced its Unet1 log to every digit, so oneDNN and ATen ran AVX2 there
    "cpu": "not recorded (2 cores, AVX2 without AVX-512; 0.637 s per WBC training step, results/cpu/bench_train_crop_wbc.txt)",
    "cpu_isa": "AVX2",
    "onednn_isa": "AVX2 (the CPU's widest)",
    "aten_isa": "AVX2 (the CPU's widest)",
    "device": "cpu",
    "reproducible": False,  # the switch did not exist
    "tv_layer": KERNEL,
    **PINNED,
    "commit": "6524836 (the worktree the run was made from)",
}
CAMVID = {
    "origin": "reconstructed: 5eccbdf (landed)",
    "cpu": NOT_RECORDED,
    "cpu_isa": NOT_RECORDED,
    "onednn_isa": NOT_RECORDED,
    "aten_isa": NOT_RECORDED,
    "device": "cpu",
    "reproducible": False,
    "tv_layer": KERNEL,
    **PINNED,
    "commit": "not recorded (landed in 5eccbdf)",
}
# training: resources.train_threads of profiles/cpu; evaluation: torch's default, the machine's 2 cores
THREADS = {"train": 2, "evaluate": 2}
CAMVID_RUNS = ("segnet_camvid_clean", "rsegnet_camvid_clean", "segnet_camvid_noisy", "rsegnet_camvid_noisy")


def records(known: dict) -> dict[str, list[dict]]:
    """The training's and the evaluation's records of a run made on ``known``'s machine."""

    def session(stage: str) -> dict:
        facts = {fact: known.get(fact, NOT_RECORDED) for fact in FACTS}
        return {**facts, "threads": THREADS[stage], "origin": known["origin"]}

    return {"model.pt": [{"from_iteration": 0, **session("train")}], "evaluation.csv": [session("evaluate")]}


def write_records(folder: Path, known: dict) -> None:
    for name, sessions in records(known).items():
        provenance_of(folder / name).write_text(json.dumps(sessions, indent=1) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=Path("results/cpu"))
    args = parser.parse_args()
    reference = args.results / "reproduce" / "avx2_seed0"
    sessions = records(WBC_SEED0)["model.pt"]
    provenance_of(reference / "model.pt").write_text(json.dumps(sessions, indent=1) + "\n")
    print(f"wrote {provenance_of(reference / 'model.pt')}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for run in CAMVID_RUNS:
            for seed in (0, 1):
                folder = Path(tmp) / run / f"seed{seed}"
                folder.mkdir(parents=True)
                write_records(folder, CAMVID)
                rows.append(provenance_row("camvid", run, seed, provenance_of(folder / "model.pt"),
                                           provenance_of(folder / "evaluation.csv")))  # fmt: skip
    out = args.results / "datasets" / "camvid" / COLLECTED_NAME
    out.write_text(provenance_csv(rows))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
