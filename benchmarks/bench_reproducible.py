"""What the reproducible pin costs: a WBC training step by default and under TVSEG_REPRODUCIBLE=1, side by side.

    python benchmarks/bench_reproducible.py [--rounds 3] [--steps 5] [--threads 2] [--crop 96]

The pin acts when torch is first loaded, so each measurement is a child process; the two modes
alternate, ``--rounds`` times, and the median seconds per step of each is printed with their
ratio. The step is profiles/cpu's WBC step (smp Unet-resnet18, batch 8, the regularized head,
one TV iteration, random crops of --crop pixels) and, apart, the regularized head's evaluation
(100 iterations on a 300x300 image), where the pinned kernel's scalar exp shows most.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

CHILD = """
import json, sys, time
import tvseg  # first: the pin (if asked) acts before torch loads
import torch
sys.path.insert(0, {bench!r})
from bench_models import training_step
from tvseg.layers import native_build, tv_softmax
from tvseg.models import build_model

torch.set_num_threads({threads})
model = build_model("unet", 3, "resnet18", None, head="tv", tv={{"lam": 2.0, "step": 0.2}}, seed=0).train()
g = torch.Generator().manual_seed(0)
images = torch.randn(8, 3, {crop}, {crop}, generator=g)
target = torch.randint(0, 3, (8, {crop}, {crop}), generator=g)
step = training_step(model, images, target)
step()  # warm-up: kernels chosen, buffers allocated
start = time.perf_counter()
for _ in range({steps}):
    step()
step = (time.perf_counter() - start) / {steps}
logits = torch.randn(1, 3, 300, 300, generator=g)
tv_softmax(logits, 2.0, 0.2, 100)
start = time.perf_counter()
for _ in range(3):
    tv_softmax(logits, 2.0, 0.2, 100)
head = (time.perf_counter() - start) / 3
print(json.dumps({{"step": step, "head": head, "isa": torch.backends.cpu.get_cpu_capability(), "tv": native_build()}}))
"""


def measure(reproducible: bool, args) -> dict:
    env = {**os.environ, "TVSEG_REPRODUCIBLE": "1" if reproducible else "0"}
    code = CHILD.format(bench=str(Path(__file__).parent), threads=args.threads, crop=args.crop, steps=args.steps)
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--crop", type=int, default=96)
    args = parser.parse_args()
    runs = {False: [], True: []}
    for _ in range(args.rounds):
        for reproducible in (False, True):
            runs[reproducible].append(measure(reproducible, args))
    print(f"WBC training step (batch 8, {args.crop}x{args.crop} crops, TV head) and the TV head's evaluation "
          f"(100 iterations, 300x300), {args.threads} threads, median of {args.rounds} alternating rounds")  # fmt: skip
    from tvseg.core.provenance import _cpuinfo, cpu_name

    print(f"  CPU: {cpu_name(_cpuinfo())}")
    for reproducible, label in ((False, "default"), (True, "reproducible")):
        last = runs[reproducible][-1]
        print(f"  {label:12s} ATen {last['isa']}; TV layer: {last['tv']}")
    medians = {r: {k: statistics.median(m[k] for m in runs[r]) for k in ("step", "head")} for r in runs}
    for key, what in (("step", "training step"), ("head", "TV head, 100 iterations")):
        base, pinned = medians[False][key], medians[True][key]
        print(f"  {what:25s} default {base:.3f} s, reproducible {pinned:.3f} s: {pinned / base:.2f}x")


if __name__ == "__main__":
    main()
