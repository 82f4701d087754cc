"""scripts/reproduce_log.py: where a committed log's record of its machine is found."""

import importlib.util
from pathlib import Path

from helpers import ROOT


def _script():
    spec = importlib.util.spec_from_file_location("reproduce_log", ROOT / "scripts" / "reproduce_log.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_committed_logs_record_is_beside_it_by_the_logs_name():
    record = _script().committed_record
    assert record(Path("r/run/seed0/log.csv")) == Path("r/run/seed0/model_provenance.json")
    assert record(Path("probe/log_8000_seed1.csv")) == Path("probe/model_provenance_8000_seed1.json")
