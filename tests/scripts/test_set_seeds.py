"""scripts/set_seeds.py: a long run's seed list set in a profile, the file's comments kept."""

import importlib.util

import pytest
import yaml
from helpers import ROOT

PROFILE = """datasets:
  wbc:
    seeds: [0, 1]        # ten seeds (issue #40)
  camvid:
    curve:
      seeds: [0]         # not the dataset's list
    seeds: [0]           # to five (issue #41)
"""


def _set_seeds():
    spec = importlib.util.spec_from_file_location("set_seeds", ROOT / "scripts" / "set_seeds.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.set_seeds


def test_only_the_datasets_own_list_changes_and_its_comment_keeps_its_column():
    text = _set_seeds()(PROFILE, "camvid", 2)
    assert yaml.safe_load(text)["datasets"]["camvid"]["seeds"] == [0, 1, 2]
    assert yaml.safe_load(text)["datasets"]["camvid"]["curve"]["seeds"] == [0]
    assert "    seeds: [0, 1, 2]     # to five (issue #41)\n" in text
    assert text.replace("[0, 1, 2]     #", "[0]           #") == PROFILE


def test_a_list_longer_than_the_comments_column_pushes_the_comment_right():
    text = _set_seeds()(PROFILE, "wbc", 9)
    assert "    seeds: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]  # ten seeds (issue #40)\n" in text


def test_a_dataset_without_a_seed_list_is_refused():
    with pytest.raises(ValueError, match="no seeds"):
        _set_seeds()(PROFILE, "sunrgbd", 1)
