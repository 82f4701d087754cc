from pathlib import Path

from helpers import small_train_settings

from tvseg.core.settings import TrainSettings, expand_conditions


def test_conditions_expand_both_readings_without_duplicates():
    conditions = expand_conditions(
        [{"kind": "clean", "level": 0}, {"kind": "gaussian", "level": 0.05}, {"kind": "pepper", "level": 0.01}],
        [0.0, 0.05, 0.1],
        ["std", "variance"],
    )
    assert [c.name for c in conditions] == [
        "clean", "gaussian0.05_std", "gaussian0.05_variance", "pepper0.01", "gaussian0.1_std", "gaussian0.1_variance",
    ]  # fmt: skip


# ---------- training and evaluation on small WBC images ----------


def test_settings_added_later_leave_the_old_runs_records_alone():
    from tvseg.core.settings import OPTIONAL_TRAIN_KEYS

    old = small_train_settings(Path("data"))
    assert not set(OPTIONAL_TRAIN_KEYS) & set(old.record())  # the committed runs' params and fingerprints hold
    new = small_train_settings(
        Path("data"), hflip=True, curve_split="val", curve_every=300, decoder_channels=[64, 32, 16, 8, 4],
        optimizer="adamw",
    )  # fmt: skip
    assert {k: new.record()[k] for k in OPTIONAL_TRAIN_KEYS} == {
        "hflip": True,
        "curve_split": "val",
        "curve_every": 300,
        "decoder_channels": [64, 32, 16, 8, 4],
        "optimizer": "adamw",
    }
    assert new.fingerprint() != old.fingerprint()
    assert TrainSettings(**new.record()) == new  # a stored record reads back whole


# ---------- a run folder that survives faults (one writer, two checkpoints, a full disk) ----------
