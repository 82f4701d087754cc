import re
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from helpers import MIRROR
from torch import nn

from tvseg.engine.losses import CAMVID_CLASS_WEIGHTS, SUNRGBD_PROTOTXT_WEIGHTS, nll_on_probabilities
from tvseg.layers import TVSoftmax
from tvseg.models import PretrainedWeightsError, SoftmaxHead, build_model, parameter_groups
from tvseg.models.segnet import SegNetDecoder, encode_with_indices

SEGNET_TUTORIAL = MIRROR / "SegNet-Tutorial"


@pytest.mark.parametrize("architecture", ["unet", "segnet"])
@pytest.mark.parametrize("size", [(300, 300), (360, 480), (97, 131)])
def test_forward_backward_at_paper_and_odd_sizes(architecture, size):
    model = build_model(architecture, num_classes=4, head="tv", seed=0)
    images = torch.randn(1, 3, *size)
    probs = model(images)
    assert probs.shape == (1, 4, *size)
    assert torch.allclose(probs.sum(dim=1), torch.ones(()), atol=1e-5) and torch.all(probs >= 0)
    nll_on_probabilities(probs, torch.randint(0, 4, (1, *size))).backward()
    assert model.head.lam.grad is not None and torch.isfinite(model.head.lam.grad)
    first_conv = next(p for p in model.network.parameters() if p.dim() == 4)
    assert first_conv.grad is not None and first_conv.grad.abs().sum() > 0


def test_segnet_unpooling_puts_values_back_at_pooled_positions():
    pools_only = nn.Module()
    pools_only.features = nn.Sequential(*[nn.MaxPool2d(2, 2) for _ in range(5)])
    x = torch.randn(1, 2, 70, 75)
    encoded, pools = encode_with_indices(pools_only, x)
    assert encoded.shape == (1, 2, 2, 2)
    decoder = SegNetDecoder(num_classes=2)
    decoder.stages = nn.ModuleList([nn.Identity() for _ in range(5)])
    restored = decoder.stages[0](encoded)
    for stage, (indices, size) in zip(decoder.stages, reversed(pools), strict=True):
        restored = stage(F.max_unpool2d(restored, indices, 2, 2, output_size=size))
    assert restored.shape == x.shape
    nonzero = restored != 0
    assert int(nonzero.sum()) == encoded.numel()
    assert torch.equal(restored[nonzero], x[nonzero])
    assert torch.equal(torch.sort(restored[nonzero]).values, torch.sort(encoded.flatten()).values)


@pytest.mark.parametrize("architecture", ["unet", "segnet"])
def test_plain_and_regularized_share_network_weights_for_a_seed(architecture):
    plain = build_model(architecture, 3, head="softmax", seed=7)
    regularized = build_model(architecture, 3, head="tv", seed=7)
    other_seed = build_model(architecture, 3, head="softmax", seed=8)
    a, b, c = (m.network.state_dict() for m in (plain, regularized, other_seed))
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)
    assert isinstance(plain.head, SoftmaxHead) and isinstance(regularized.head, TVSoftmax)


def test_saved_model_reloads_to_identical_outputs(tmp_path):
    model = build_model("unet", 3, encoder_name="resnet18", head="tv", seed=1).eval()
    with torch.no_grad():
        model.head.lam.fill_(1.7)
    torch.save(model.state_dict(), tmp_path / "model.pt")
    reloaded = build_model("unet", 3, encoder_name="resnet18", head="tv", seed=99).eval()
    reloaded.load_state_dict(torch.load(tmp_path / "model.pt", weights_only=True))
    images = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(model(images), reloaded(images))


def test_offline_imagenet_download_fails_with_a_fix(monkeypatch, tmp_path):
    import huggingface_hub.constants as hub

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))  # an empty cache
    # the hub read both when smp was first imported (collecting this file): set them where it reads
    # them now too, or the download waits out a network timeout (23 s) before it fails
    monkeypatch.setattr(hub, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(hub, "HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    with pytest.raises(PretrainedWeightsError) as info:
        build_model("unet", 3, encoder_name="resnet18", encoder_weights="imagenet")
    message = str(info.value)
    assert "resnet18" in message and "encoder_weights: null" in message and "local file" in message


def test_encoder_weights_from_a_local_file(tmp_path):
    donor = build_model("segnet", 3, seed=5)
    torch.save(donor.network.encoder.state_dict(), tmp_path / "encoder.pth")
    model = build_model("segnet", 3, encoder_weights=str(tmp_path / "encoder.pth"), seed=6)
    for key, value in donor.network.encoder.state_dict().items():
        assert torch.equal(model.network.encoder.state_dict()[key], value)
    with pytest.raises(PretrainedWeightsError, match="neither 'imagenet', null, nor an existing file"):
        build_model("segnet", 3, encoder_weights=str(tmp_path / "missing.pth"))


def test_bad_model_settings_are_named():
    with pytest.raises(ValueError, match="architecture"):
        build_model("fcn", 3)
    with pytest.raises(ValueError, match="vgg16_bn"):
        build_model("segnet", 3, encoder_name="resnet18")
    with pytest.raises(ValueError, match="head"):
        build_model("unet", 3, head="crf")


def test_lambda_gets_its_own_learning_rate():
    model = build_model("unet", 3, encoder_name="resnet18", head="tv")
    groups = parameter_groups(model, lr=1e-4, lam_lr=1e-2)
    assert [g["name"] for g in groups] == ["network", "lambda"]
    assert groups[1]["params"][0] is model.head.lam and groups[1]["lr"] == 1e-2
    assert sum(p.numel() for g in groups for p in g["params"]) == sum(p.numel() for p in model.parameters())
    plain_groups = parameter_groups(build_model("unet", 3, encoder_name="resnet18"), lr=1e-4, lam_lr=1e-2)
    assert [g["name"] for g in plain_groups] == ["network"]


def test_nll_on_probabilities_is_safe_and_matches_cross_entropy():
    logits = torch.randn(2, 4, 5, 6)
    target = torch.randint(0, 4, (2, 5, 6))
    target[0, 0, 0] = 255
    weight = torch.tensor([0.5, 1.0, 2.0, 1.5])
    expected = F.cross_entropy(logits, target, weight=weight, ignore_index=255)
    got = nll_on_probabilities(torch.softmax(logits, 1), target, weight=weight, ignore_index=255)
    assert torch.allclose(got, expected, atol=1e-5)
    saturated = torch.zeros(1, 2, 2, 2)
    saturated[:, 0] = 1.0
    assert torch.isfinite(nll_on_probabilities(saturated, torch.ones(1, 2, 2, dtype=torch.long)))


def _prototxt_weights(path: Path) -> list[float]:
    return [float(v) for v in re.findall(r"class_weighting:\s*([0-9.]+)", path.read_text())]


@pytest.mark.skipif(not SEGNET_TUTORIAL.is_dir(), reason="the SegNet-Tutorial mirror is not beside the repo")
def test_class_weights_are_segnets_prototxt_values():
    assert _prototxt_weights(SEGNET_TUTORIAL / "Models" / "segnet_train.prototxt") == list(CAMVID_CLASS_WEIGHTS)
    sun = SEGNET_TUTORIAL / "Example_Models" / "train_segnet_sun.prototxt"
    assert _prototxt_weights(sun) == list(SUNRGBD_PROTOTXT_WEIGHTS)
    assert "ignore_label: 0" in sun.read_text()


class _Touches:
    """An object whose unpickling would run a command: here, create a file."""

    def __init__(self, target):
        self.target = str(target)

    def __reduce__(self):
        return (open, (self.target, "w"))


def test_a_model_file_that_would_run_code_is_refused_by_name(tmp_path):
    import pytest
    import torch

    from tvseg.core.layout import RunFiles
    from tvseg.core.safe_io import UnsafeFileError
    from tvseg.core.settings import TrainSettings
    from tvseg.engine.train import _resume
    from tvseg.models import build_model, load_trained

    touched = tmp_path / "ran"
    settings = TrainSettings(data_dir="x", split="train", architecture="unet", num_classes=3, encoder="resnet18")
    model = build_model("unet", 3, "resnet18")
    bad = tmp_path / "model.pt"
    torch.save({"model": model.state_dict(), "settings": {**settings.record(), "hook": _Touches(touched)}}, bad)
    with pytest.raises(UnsafeFileError, match=r"refused to load .*model\.pt: it holds objects other than tensors"):
        load_trained(bad)
    checkpoint = tmp_path / "checkpoint.pt"
    torch.save({"model": model.state_dict(), "iteration": 3, "fingerprint": _Touches(touched)}, checkpoint)
    with pytest.raises(UnsafeFileError, match="checkpoint.pt"):
        _resume(RunFiles(tmp_path), model, None, settings, "cpu")
    assert not touched.exists()  # nothing ran
    good = tmp_path / "good.pt"
    torch.save({"model": model.state_dict(), "settings": settings.record(), "iterations": 1}, good)
    assert load_trained(good)[1] == settings  # a file of tensors and plain data loads as before


def test_a_lighter_unet_decoder_is_built_recorded_and_loaded(tmp_path):
    import pytest

    from tvseg.core.settings import TrainSettings
    from tvseg.models import build_model

    default = build_model("unet", 11, "resnet18", None, seed=0)
    light = build_model("unet", 11, "resnet18", None, seed=0, decoder_channels=[128, 64, 32, 16, 8])
    count = lambda model: sum(p.numel() for p in model.parameters())  # noqa: E731
    assert count(light) < count(default)
    assert light(torch.zeros(1, 3, 64, 64)).shape == (1, 11, 64, 64)
    with pytest.raises(ValueError, match="decoder_channels sets a Unet's decoder"):
        build_model("segnet", 11, "vgg16_bn", None, decoder_channels=[128, 64, 32, 16, 8])
    base = dict(data_dir="d", split="train", architecture="unet", num_classes=11)
    assert "decoder_channels" not in TrainSettings(**base).record()  # earlier runs' fingerprints unchanged
    assert TrainSettings(**base, decoder_channels=[128, 64, 32, 16, 8]).record()["decoder_channels"] == [
        128, 64, 32, 16, 8,
    ]  # fmt: skip
