"""What a WBC training step costs at each crop size of the 300x300 images, side by side in one run.

    python benchmarks/bench_train_crop.py [--crops 64 96 128 160] [--repeats 3] [--threads 2]

profiles/cpu trains WBC on random crops of the published images and evaluates at 300x300. A step
(forward, NLL, backward, SGD update) of the profile's network (smp Unet on resnet18, batch 8, the
regularized head, whose one training iteration costs little beside the network) at each crop
size, interleaved (median of ``--repeats``); prints seconds per step, the ratio to the smallest
crop, and what 600 iterations cost: the budget a crop size buys.
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crops", type=int, nargs="+", default=[64, 96, 128, 160])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--iterations", type=int, default=600, help="the schedule to project")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = build_model("unet", 3, "resnet18", None, head="tv", tv={"lam": 2.0, "step": 0.2}, seed=0).train()
    steps = {}
    for crop in args.crops:
        g = torch.Generator().manual_seed(crop)
        images = torch.randn(8, 3, crop, crop, generator=g)
        target = torch.randint(0, 3, (8, crop, crop), generator=g)
        steps[crop] = training_step(model, images, target)
    seconds = interleaved_medians(steps, args.repeats, torch.device("cpu"))
    smallest = seconds[min(args.crops)]
    print(f"WBC training step, smp Unet-resnet18 with the TV head, batch 8, {args.threads} threads, "
          f"median of {args.repeats} (interleaved)")  # fmt: skip
    for crop, s in seconds.items():
        print(f"  crop {crop}x{crop}: {s:.3f} s/step, {s / smallest:.2f}x the {min(args.crops)} crop, "
              f"{s * args.iterations / 60:.1f} min for {args.iterations} iterations")  # fmt: skip


if __name__ == "__main__":
    main()
