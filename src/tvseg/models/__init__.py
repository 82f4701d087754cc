"""Segmentation networks of the paper: Unet/RUnet and SegNet/RSegNet on smp encoders.

A model assembles network -> head: the network gives logits, the head (plain softmax or
:class:`~tvseg.layers.TVSoftmax`) gives probabilities. The plain and regularized variants of
one seed differ only in the head. ``tv_head`` builds a TV head from its ``TVSettings`` (the
regularized nets', post-TV's, the converged one's); ``load_trained`` rebuilds a trained run
from its ``model.pt``.
"""

from __future__ import annotations

from pathlib import Path

import segmentation_models_pytorch as smp
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from tvseg.core.device import resolve_device
from tvseg.core.safe_io import load_data_file
from tvseg.core.settings import TrainSettings, TVSettings
from tvseg.layers import TVSoftmax
from tvseg.models.segnet import SegNet

ARCHITECTURES = ("unet", "segnet")
HEADS = ("softmax", "tv")
SEGNET_ENCODER = "vgg16_bn"


class SoftmaxHead(nn.Module):
    def forward(self, logits: Tensor) -> Tensor:
        return torch.softmax(logits, dim=1)


class SegmentationModel(nn.Module):
    """network (logits) -> head (probabilities); pads inputs to the network's size multiple."""

    def __init__(self, network: nn.Module, head: nn.Module, size_multiple: int):
        super().__init__()
        self.network = network
        self.head = head
        self.size_multiple = size_multiple

    def logits(self, images: Tensor) -> Tensor:
        h, w = images.shape[-2:]
        m = self.size_multiple
        pad_h, pad_w = (-h) % m, (-w) % m
        if pad_h or pad_w:
            # Reflect where the image is large enough, else replicate; the padding is cropped off.
            mode = "reflect" if pad_h < h and pad_w < w else "replicate"
            images = F.pad(images, (0, pad_w, 0, pad_h), mode=mode)
        return self.network(images)[..., :h, :w]

    def forward(self, images: Tensor) -> Tensor:
        return self.head(self.logits(images))


class PretrainedWeightsError(RuntimeError):
    pass


def _encoder_weights(encoder_name: str, encoder_weights: str | None, in_channels: int) -> dict | None:
    """The encoder's state dict for ``encoder_weights``: None (random), 'imagenet', or a file path."""
    if encoder_weights is None:
        return None
    if encoder_weights != "imagenet":
        path = Path(encoder_weights).expanduser()
        if not path.is_file():
            raise PretrainedWeightsError(
                f"encoder_weights '{encoder_weights}' is neither 'imagenet', null, nor an existing file"
            )
        state = load_data_file(path)
        return state.get("state_dict", state) if isinstance(state, dict) else state
    try:
        encoder = smp.encoders.get_encoder(encoder_name, in_channels=in_channels, weights="imagenet")
    except Exception as error:  # network, hub and cache errors all mean the same to the user
        raise PretrainedWeightsError(
            f"could not download the ImageNet weights of encoder '{encoder_name}' ({type(error).__name__}: {error}).\n"
            "To fix it, either connect to the internet once (smp caches the weights in ~/.cache/huggingface), or\n"
            "  - set encoder_weights to a local file holding the encoder's state dict, saved on a machine\n"
            f"    with internet by: torch.save(smp.encoders.get_encoder('{encoder_name}', weights='imagenet')"
            ".state_dict(), 'encoder.pth')\n"
            "  - or set encoder_weights: null to start from random weights."
        ) from error
    return encoder.state_dict()


IN_CHANNELS = 3  # the networks see RGB images (tvseg.datasets.inputs.to_input)


def build_model(
    architecture: str,
    num_classes: int,
    encoder_name: str | None = None,
    encoder_weights: str | None = None,
    head: str = "softmax",
    tv: TVSettings | dict | None = None,
    seed: int = 0,
    decoder_channels: list[int] | None = None,
) -> SegmentationModel:
    """Build Unet or SegNet with a plain softmax or a TV softmax head.

    ``encoder_name`` is any smp encoder for Unet (default ``vgg13``: see ``config.yaml``) and
    must be ``vgg16_bn`` for SegNet. The network's weights are drawn from ``seed`` alone, so the
    plain and the regularized model of one seed have identical network weights. ``decoder_channels``
    sets the Unet decoder's five widths (smp's default where None; a lighter decoder buys iterations).
    """
    if architecture not in ARCHITECTURES:
        raise ValueError(f"architecture must be one of {ARCHITECTURES}; got {architecture!r}")
    if head not in HEADS:
        raise ValueError(f"head must be one of {HEADS}; got {head!r}")
    if num_classes < 2:
        raise ValueError(f"num_classes must be >= 2; got {num_classes}")
    if decoder_channels and architecture != "unet":
        raise ValueError(f"decoder_channels sets a Unet's decoder; {architecture} has its own: drop the key")
    weights = _encoder_weights(
        encoder_name or ("vgg13" if architecture == "unet" else SEGNET_ENCODER), encoder_weights, IN_CHANNELS
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if architecture == "unet":
            encoder_name = encoder_name or "vgg13"
            widths = {"decoder_channels": tuple(decoder_channels)} if decoder_channels else {}
            network = smp.Unet(
                encoder_name, encoder_weights=None, in_channels=IN_CHANNELS, classes=num_classes, **widths
            )
            if weights is not None:
                network.encoder.load_state_dict(weights)
            size_multiple = network.encoder.output_stride
        else:
            encoder_name = encoder_name or SEGNET_ENCODER
            if encoder_name != SEGNET_ENCODER:
                raise ValueError(f"SegNet is built on smp's '{SEGNET_ENCODER}' encoder; got {encoder_name!r}")
            encoder = smp.encoders.get_encoder(SEGNET_ENCODER, in_channels=IN_CHANNELS, weights=None)
            if weights is not None:
                encoder.load_state_dict(weights)
            network = SegNet(encoder, num_classes)
            size_multiple = 1  # unpooling to the recorded sizes handles any size
    if head == "softmax":
        head_module: nn.Module = SoftmaxHead()
    else:
        head_module = tv_head(tv if isinstance(tv, TVSettings) else TVSettings(**(tv or {})))
    return SegmentationModel(network, head_module, size_multiple)


def tv_head(settings: TVSettings) -> TVSoftmax:
    """The TV softmax head of ``settings``: RUnet's and RSegNet's, post-TV's, the converged one's."""
    if settings.tol is None:  # the paper's head: iteration counts
        mode = {"train_iters": settings.train_iters, "eval_iters": settings.eval_iters}
    else:  # the converged head (RUnet*): the counts are its cap
        mode = {
            "tol": settings.tol, "eval_tol": settings.eval_tol, "method": settings.method,
            "max_iters": max(settings.train_iters, settings.eval_iters), "backward_tol": settings.backward_tol,
        }  # fmt: skip
    return TVSoftmax(lam=settings.lam, step=settings.step, learn_lam=settings.learn_lam, **mode)


def load_trained(path: Path, device: str = "cpu") -> tuple[SegmentationModel, TrainSettings]:
    """A trained model (in eval mode, on ``device``) and its settings, from ``model.pt``."""
    torch_device = resolve_device(device)
    saved = load_data_file(path, map_location=torch_device)
    settings = TrainSettings(**saved["settings"])
    model = build_model(
        settings.architecture, settings.num_classes, settings.encoder, None,
        head=settings.head, tv=settings.tv, seed=settings.seed, decoder_channels=settings.decoder_channels,
    )  # fmt: skip
    model.load_state_dict(saved["model"])
    return model.to(torch_device).eval(), settings


def parameter_groups(model: SegmentationModel, lr: float, lam_lr: float) -> list[dict]:
    """Optimizer groups: the network at ``lr``; lambda at its own rate tau_lambda (Eq. 3.24)."""
    lam_params = [p for name, p in model.head.named_parameters() if name == "lam"]
    other = [p for p in model.parameters() if all(p is not q for q in lam_params)]
    groups = [{"params": other, "lr": lr, "name": "network"}]
    if lam_params:
        groups.append({"params": lam_params, "lr": lam_lr, "name": "lambda", "weight_decay": 0.0})
    return groups
