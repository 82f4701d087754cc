"""SegNet (Badrinarayanan et al.) as a decoder on smp's ``vgg16_bn`` encoder.

The encoder is smp's VGG16-bn (so torchvision's ImageNet weights load unchanged); its
max-pooling layers are run with ``return_indices=True`` and the decoder mirrors it, upsampling
with max-unpooling at those indices to the exact pre-pooling size, so any H, W >= 32 works.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

# Convolutions per decoder stage, deepest first, mirroring VGG16's 2-2-3-3-3 encoder stages.
_DECODER_STAGES = ((512, 512, 512), (512, 512, 256), (256, 256, 128), (128, 64), (64,))


def _conv_bn_relu(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


def encode_with_indices(encoder: nn.Module, x: Tensor) -> tuple[Tensor, list[tuple[Tensor, torch.Size]]]:
    """Run smp's VGG encoder, keeping each pooling's argmax indices and input size."""
    pools = []
    for module in encoder.features:
        if isinstance(module, nn.MaxPool2d):
            size = x.shape[-2:]
            x, indices = F.max_pool2d(
                x,
                module.kernel_size,
                module.stride,
                module.padding,
                module.dilation,
                module.ceil_mode,
                return_indices=True,
            )
            pools.append((indices, size))
        else:
            x = module(x)
    return x, pools


class SegNetDecoder(nn.Module):
    def __init__(self, num_classes: int):
        super().__init__()
        stages = []
        in_channels = 512
        for widths in _DECODER_STAGES:
            layers = []
            for width in widths:
                layers.append(_conv_bn_relu(in_channels, width))
                in_channels = width
            stages.append(nn.Sequential(*layers))
        self.stages = nn.ModuleList(stages)
        self.classifier = nn.Conv2d(in_channels, num_classes, kernel_size=3, padding=1)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """He et al. initialisation, as SegNet's decoder."""
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu")
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def forward(self, x: Tensor, pools: list[tuple[Tensor, torch.Size]]) -> Tensor:
        if len(pools) != len(self.stages):
            raise ValueError(f"SegNet's decoder needs {len(self.stages)} poolings; the encoder gave {len(pools)}")
        for stage, (indices, size) in zip(self.stages, reversed(pools), strict=True):
            x = F.max_unpool2d(x, indices, kernel_size=2, stride=2, output_size=size)
            x = stage(x)
        return self.classifier(x)


class SegNet(nn.Module):
    """Logits of SegNet: smp ``vgg16_bn`` encoder -> mirrored max-unpooling decoder -> 3x3 conv."""

    def __init__(self, encoder: nn.Module, num_classes: int):
        super().__init__()
        self.encoder = encoder
        self.decoder = SegNetDecoder(num_classes)

    def forward(self, x: Tensor) -> Tensor:
        features, pools = encode_with_indices(self.encoder, x)
        return self.decoder(features, pools)
