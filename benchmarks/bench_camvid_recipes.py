"""CamVid's candidate networks per CPU-second: a training step of each, side by side in one run.

    python benchmarks/bench_camvid_recipes.py [--repeats 3] [--threads 2] [--iterations 3000]

A step (forward, NLL, backward, SGD update; batch 4 at 120x160, 11 classes, the regularized
head) of each candidate, interleaved (median of ``--repeats``): the smp Unet on resnet18 of
profiles/cpu with smp's decoder (256, 128, 64, 32, 16) and with the lighter one (128, 64, 32,
16, 8: ``datasets.camvid.decoder_channels``), and smp Unets on mobilenet_v2 and
efficientnet-b0 with the lighter decoder. Prints seconds per step, each one's ratio to today's
recipe, parameters, and what ``--iterations`` cost: how long a schedule a budget buys.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from bench_models import training_step  # noqa: E402
from bench_tv_softmax import interleaved_medians  # noqa: E402

from tvseg.models import build_model  # noqa: E402

LIGHT = [128, 64, 32, 16, 8]
CANDIDATES = {
    "resnet18, smp's decoder (today)": ("resnet18", None),
    "resnet18, light decoder": ("resnet18", LIGHT),
    "mobilenet_v2, light decoder": ("mobilenet_v2", LIGHT),
    "efficientnet-b0, light decoder": ("efficientnet-b0", LIGHT),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--iterations", type=int, default=3000, help="the schedule to project")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(0)
    images = torch.randn(4, 3, 120, 160, generator=g)
    target = torch.randint(0, 11, (4, 120, 160), generator=g)
    steps, sizes = {}, {}
    for name, (encoder, decoder) in CANDIDATES.items():
        model = build_model(
            "unet", 11, encoder, None, head="tv", tv={"lam": 2.0, "step": 0.2}, seed=0, decoder_channels=decoder
        ).train()
        steps[name] = training_step(model, images, target)
        sizes[name] = sum(p.numel() for p in model.parameters()) / 1e6
    seconds = interleaved_medians(steps, args.repeats, torch.device("cpu"))
    today = seconds[next(iter(CANDIDATES))]
    print(f"CamVid training step, batch 4 x 120x160, 11 classes, TV head, {args.threads} threads, "
          f"median of {args.repeats} (interleaved)")  # fmt: skip
    for name, s in seconds.items():
        print(f"  {name}: {s:.3f} s/step, {s / today:.2f}x today's, {sizes[name]:.1f} M parameters, "
              f"{s * args.iterations / 60:.1f} min for {args.iterations} iterations")  # fmt: skip


if __name__ == "__main__":
    main()
