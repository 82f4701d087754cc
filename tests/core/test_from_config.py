"""Settings built from the configuration (tvseg.core.from_config)."""

from dataclasses import replace

import pytest
from helpers import ROOT

from tvseg.core.config import ConfigError, load_config
from tvseg.core.from_config import longer_train_settings, train_settings
from tvseg.core.runs import RunId


def test_the_longer_schedule_is_the_plain_clean_nets_recipe_with_more_iterations():
    config = load_config(ROOT / "config.yaml", ROOT / "profiles/quick/tvseg.yaml")
    run = RunId.parse("segnet_camvid_clean")
    configured, longer = train_settings(config, run, 0), longer_train_settings(config, run, 0)
    assert longer == replace(configured, iterations=configured.iterations * 2)
    with pytest.raises(ConfigError, match="the levelling check trains segnet_camvid_clean alone"):
        longer_train_settings(config, RunId.parse("rsegnet_camvid_clean"), 0)
    with pytest.raises(ConfigError, match="set datasets.wbc.curve.longer"):
        longer_train_settings(config, RunId.parse("unet_wbc_clean"), 0)
