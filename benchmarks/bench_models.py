"""Training-step cost of the regularized networks against the plain ones, side by side.

    python benchmarks/bench_models.py [--repeats N] [--device cpu|cuda]

One SGD step (forward, NLL, backward, update) at the paper's image sizes and batch sizes:
RUnet vs Unet on WBC (8 x 3 x 300 x 300, encoder vgg13), RSegNet vs SegNet on CamVid
(4 x 3 x 360 x 480, encoder vgg16_bn). Goal: the regularized variant costs <= 5 % more per step.
The variants alternate and the medians are compared, since these machines are noisy.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from bench_tv_softmax import interleaved_medians  # noqa: E402

from tvseg.engine.losses import nll_on_probabilities  # noqa: E402
from tvseg.models import build_model, parameter_groups  # noqa: E402

CASES = (
    ("WBC", "unet", "vgg13", 3, 8, (300, 300)),
    ("CamVid", "segnet", "vgg16_bn", 11, 4, (360, 480)),
)


def training_step(model, images, target):
    optimizer = torch.optim.SGD(parameter_groups(model, lr=1e-4, lam_lr=1e-3), momentum=0.9)

    def step():
        optimizer.zero_grad(set_to_none=True)
        nll_on_probabilities(model(images), target).backward()
        optimizer.step()

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    print(f"torch {torch.__version__}, device {device}, {torch.get_num_threads()} threads, {args.repeats} repeats")
    for dataset, architecture, encoder, classes, batch, size in CASES:
        g = torch.Generator().manual_seed(0)
        images = torch.randn(batch, 3, *size, generator=g).to(device)
        target = torch.randint(0, classes, (batch, *size), generator=g).to(device)
        steps = {}
        for head in ("softmax", "tv"):
            model = build_model(architecture, classes, encoder, None, head=head, seed=0).to(device).train()
            steps[head] = training_step(model, images, target)
        t = interleaved_medians(steps, args.repeats, device)
        name = "Unet" if architecture == "unet" else "SegNet"
        print(
            f"{dataset}: {name} {t['softmax']:.3f} s/step, R{name} {t['tv']:.3f} s/step, "
            f"ratio {t['tv'] / t['softmax']:.3f} (goal <= 1.05), batch {batch} x {size[0]}x{size[1]}"
        )


if __name__ == "__main__":
    main()
