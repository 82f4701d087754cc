"""Where a training or an evaluation ran, recorded beside what it wrote, and collected as rows.

Rounding differs by CPU (oneDNN, ATen and MKL pick their kernels by the instruction set, the TV
layer's kernel is built for the CPU at hand) and by thread count, and the differences grow
through training into different nets: a seed's numbers are one draw, reproduced to the bit only
on the same kind of machine, or under the ISA pin (``tvseg.pin_instruction_set``). So each
training writes ``model_provenance.json`` (one entry per session: a resumed run may span
machines) and each evaluation ``<evaluation>_provenance.json``; :func:`provenance_row` turns a
run folder's two files into one row of ``provenance.csv``.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path

from tvseg.core.safe_io import write_atomic

# The facts of one session, in the order provenance.csv lists them (prefixed by its stage).
FACTS = (
    "cpu", "cpu_isa", "onednn_isa", "aten_isa", "threads", "device", "reproducible", "tv_layer",
    "torch", "smp", "numpy", "python", "commit", "started",
)  # fmt: skip
STAGES = ("train", "evaluate")
# A row's identity, then where its two stages ran.
COLUMNS = ("dataset", "run", "seed", "origin", "train_sessions") + tuple(f"{s}_{f}" for s in STAGES for f in FACTS)
RECORDED = "recorded by the run"
# The collected table's name, beside each collected metrics.csv it describes.
COLLECTED_NAME = "provenance.csv"
# The widest SIMD extension a CPU offers, as /proc/cpuinfo names its flag, widest first.
_ISA_FLAGS = (("avx512f", "AVX-512"), ("avx2", "AVX2"), ("avx", "AVX"), ("sse4_2", "SSE4.2"))


def provenance_of(path: Path) -> Path:
    """The provenance file beside ``path`` (the model or the evaluation it records)."""
    path = Path(path)
    return path.with_name(f"{path.stem}_provenance.json")


def _cpuinfo() -> dict[str, str]:
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return {"model name": platform.processor() or platform.machine(), "flags": ""}
    info = {}
    for line in lines:
        key, _, value = line.partition(":")
        info.setdefault(key.strip(), value.strip())
    return info


def cpu_name(info: dict[str, str]) -> str:
    """The CPU's model name, with its family and model numbers where the name alone is vague
    ("AMD EPYC" is several generations)."""
    name = info.get("model name", "unknown")
    if "cpu family" in info and "model" in info:
        return f"{name} (family {info['cpu family']}, model {info['model']})"
    return name


def cpu_isa(flags: str) -> str:
    present = set(flags.split())
    return next((name for flag, name in _ISA_FLAGS if flag in present), platform.machine())


@lru_cache(maxsize=1)
def onednn_isa() -> str:
    """The instruction set oneDNN dispatches to in a process started as this one (its own
    verbose report, from a child with this environment: oneDNN says it nowhere else)."""
    probe = "import torch; torch.nn.functional.conv2d(torch.randn(1, 32, 32, 32), torch.randn(32, 32, 3, 3))"
    env = {**os.environ, "ONEDNN_VERBOSE": "1"}
    try:
        result = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True,
                                timeout=120, check=False)  # fmt: skip
    except (OSError, subprocess.SubprocessError) as error:
        return f"unknown ({error})"
    for line in result.stdout.splitlines():
        if ",cpu,isa:" in line:
            return line.split(",cpu,isa:", 1)[1].strip()
    return "unknown (oneDNN printed no ISA)"


@lru_cache(maxsize=1)
def code_commit() -> str:
    """The git commit of the package's source, with "+changes" where tracked files differ from it."""
    here = Path(__file__).resolve().parent

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=here, capture_output=True, text=True, timeout=30,
                              check=True).stdout.strip()  # fmt: skip

    try:
        commit = git("rev-parse", "HEAD")
        changed = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return "unknown (not a git checkout)"
    return commit + ("+changes" if changed else "")


def _version(module: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(module)
    except PackageNotFoundError:
        return "absent"


def session_facts(device) -> dict:
    """Where this process runs: the CPU and the instruction sets its libraries use, threads,
    device, the reproducible pin, what computes the TV layer, versions and the commit."""
    import torch

    from tvseg import reproducible_requested
    from tvseg.layers import native_build

    info = _cpuinfo()
    device = torch.device(device)
    return {
        "cpu": cpu_name(info),
        "cpu_isa": cpu_isa(info.get("flags", "")),
        "onednn_isa": onednn_isa() if device.type == "cpu" else "not used (GPU)",
        "aten_isa": torch.backends.cpu.get_cpu_capability(),
        "threads": torch.get_num_threads(),
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else str(device),
        "reproducible": reproducible_requested(),
        "tv_layer": native_build() if device.type == "cpu" else "torch implementation (GPU)",
        "torch": torch.__version__,
        "smp": _version("segmentation-models-pytorch"),
        "numpy": _version("numpy"),
        "python": platform.python_version(),
        "commit": code_commit(),
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def record_training_session(model_path: Path, device, from_iteration: int) -> None:
    """Add this session of a training (started or resumed at ``from_iteration``) to its record."""
    path = provenance_of(model_path)
    sessions = read_provenance(path) if path.exists() and from_iteration > 0 else []
    sessions = [s for s in sessions if s.get("from_iteration", 0) < from_iteration]  # a redone stretch replaced
    sessions.append({"from_iteration": from_iteration, **session_facts(device)})
    write_atomic(path, json.dumps(sessions, indent=1) + "\n")


def record_evaluation(evaluation_path: Path, facts: dict) -> None:
    """Record an evaluation's :func:`session_facts` (taken when it started) beside its CSV."""
    write_atomic(provenance_of(evaluation_path), json.dumps([facts], indent=1) + "\n")


def read_provenance(path: Path) -> list[dict]:
    """A provenance file's sessions (a JSON list of flat objects: data, never code)."""
    sessions = json.loads(Path(path).read_text())
    if not isinstance(sessions, list) or not all(isinstance(s, dict) for s in sessions):
        raise ValueError(f"{path}: not a provenance record (a list of sessions)")
    return sessions


def _joined(sessions: list[dict], fact: str) -> str:
    """One fact over sessions: its value, or each distinct value joined with " | " in session order."""
    values = []
    for session in sessions:
        value = str(session.get(fact, "unknown"))
        if value not in values:
            values.append(value)
    return " | ".join(values) if values else "not recorded"


def provenance_row(dataset: str, run: str, seed: int, train_file: Path, evaluate_file: Path) -> dict:
    """The row of one run and seed from its training's record and its evaluation's (the run
    folder's ``model_provenance`` and ``evaluation_provenance``); "not recorded" where one is missing."""
    stages = {
        "train": read_provenance(train_file) if train_file.exists() else [],
        "evaluate": read_provenance(evaluate_file) if evaluate_file.exists() else [],
    }
    origins = {s.get("origin", RECORDED) for sessions in stages.values() for s in sessions}
    row = {"dataset": dataset, "run": run, "seed": seed,
           "origin": " | ".join(sorted(origins)) or "not recorded", "train_sessions": len(stages["train"])}  # fmt: skip
    for stage, sessions in stages.items():
        for fact in FACTS:
            row[f"{stage}_{fact}"] = _joined(sessions, fact)
    return row
