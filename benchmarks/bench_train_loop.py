"""The training loop's own work against the step it drives, measured side by side in one run.

    python benchmarks/bench_train_loop.py [--device cuda] [--iterations 30] [--repeats 15]
        [--bundle BUNDLE --work WORK | --config config.yaml --config profiles/gpu/tvseg.yaml]
        [--crop H W]

For RUnet1 on WBC as the configuration trains it (by default the GPU profile: 8 images of
300x300, the vgg13-like Unet; ``--crop`` trains on random crops, to keep a CPU run short):
(a) building a batch: the pixels normalised on the host in numpy, then copied to the device
    (the loop until now), against ``make_batch`` (the uint8 pixels copied, normalised there);
(b) the training loop's time per iteration (``train``, batch, step, checks and log included:
    the wall time of a run of W + N iterations less that of W, so model building and warm-up
    cancel) against a bare SGD step on a batch already on the device, with the loop reading the
    device every iteration (``check_every=1``) and as it does by default (every 25 on a GPU).
On a GPU the loop's share above the bare step is host time during which the GPU idles.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from bench_tv_softmax import interleaved_medians  # noqa: E402

from tvseg.core.config import REPO_ROOT, load_config  # noqa: E402
from tvseg.core.from_config import train_settings  # noqa: E402
from tvseg.core.runs import RunId  # noqa: E402
from tvseg.datasets.inputs import MEAN, STD  # noqa: E402
from tvseg.datasets.prepare import PreparedSplit  # noqa: E402
from tvseg.engine.batches import batch_indices, make_batch  # noqa: E402
from tvseg.engine.losses import nll_on_probabilities  # noqa: E402
from tvseg.engine.train import _build, default_check_every, train  # noqa: E402

RUN = RunId.parse("runet_wbc_clean")


def host_normalised_batch(split: PreparedSplit, items, device):
    """The batch as the loop built it before: numpy arithmetic on the host, then float32 copied."""
    images = np.stack([np.asarray(split.image(i)) for i in items]).astype(np.float32) / 255.0
    normalised = (images - np.asarray(MEAN, np.float32)) / np.asarray(STD, np.float32)
    labels = np.stack([np.asarray(split.label(i)) for i in items]).astype(np.int64)
    return (
        torch.from_numpy(normalised.transpose(0, 3, 1, 2).copy()).to(device),
        torch.from_numpy(labels).to(device),
    )


def bench_batch(settings, device, repeats: int) -> None:
    split = PreparedSplit(Path(settings.data_dir), settings.split)
    items = batch_indices(len(split), settings.batch_size, 0, settings.seed)
    old, new = host_normalised_batch(split, items, device), make_batch(split, items, None, 0, settings.seed, device)
    same = torch.equal(old[0], new[0]) and torch.equal(old[1], new[1])
    times = interleaved_medians(
        {"host": lambda: host_normalised_batch(split, items, device),
         "device": lambda: make_batch(split, items, None, 0, settings.seed, device)},
        repeats, device,
    )  # fmt: skip
    shape = "x".join(str(n) for n in new[0].shape)
    print(f"(a) a batch of {shape}: normalised on the host {1000 * times['host']:.2f} ms, on the device "
          f"{1000 * times['device']:.2f} ms; ratio device/host {times['device'] / times['host']:.3f}; "
          f"bit-identical: {same}")  # fmt: skip


WARM_UP = 5  # iterations whose run's wall time is subtracted (building, first kernels)


def loop_seconds(settings, device, iterations: int, check_every: int | None) -> float:
    """Seconds per iteration of ``train`` past the warm-up: (wall(W + N) - wall(W)) / N."""
    walls = []
    for count in (WARM_UP, WARM_UP + iterations):
        run = replace(settings, iterations=count, checkpoint_every=10**9)
        with tempfile.TemporaryDirectory(prefix="tvseg-bench-loop-") as scratch:
            begin = time.perf_counter()
            train(run, Path(scratch), device=str(device), progress=False, check_every=check_every)
            walls.append(time.perf_counter() - begin)
    return (walls[1] - walls[0]) / iterations


def bench_loop(settings, device, iterations: int, repeats: int) -> None:
    every_step = loop_seconds(settings, device, iterations, check_every=1)
    loop = loop_seconds(settings, device, iterations, check_every=None)

    model, optimizer, weight = _build(settings, device)
    split = PreparedSplit(Path(settings.data_dir), settings.split)
    items = batch_indices(len(split), settings.batch_size, 0, settings.seed)
    images, labels = make_batch(split, items, settings.train_crop, 0, settings.seed, device)
    model.train()

    def bare_step():
        optimizer.zero_grad(set_to_none=True)
        nll_on_probabilities(model(images), labels, weight=weight).backward()
        optimizer.step()

    bare = interleaved_medians({"bare": bare_step}, repeats, device)["bare"]
    print(f"(b) {RUN.paper_name} per iteration over {iterations}: the training loop {1000 * loop:.1f} ms "
          f"(reading the device every {default_check_every(device)}), {1000 * every_step:.1f} ms reading it "
          f"every iteration; a bare step {1000 * bare:.1f} ms; ratios loop/step {loop / bare:.3f}, "
          f"every-iteration/step {every_step / bare:.3f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--iterations", type=int, default=30, help="iterations of the timed training run")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--crop", type=int, nargs=2, metavar=("H", "W"), help="train on random crops of this size")
    parser.add_argument("--bundle", help="read the data and configuration from this bundle (a GPU box)")
    parser.add_argument("--work", default="work/gpu-run", help="where a bundle is unpacked (default: work/gpu-run)")
    parser.add_argument("--config", action="append", help="configuration files (default: the GPU profile)")
    args = parser.parse_args()
    if args.bundle:
        from tvseg.runner.unpack import unpack_once

        config = unpack_once(Path(args.bundle), Path(args.work), say=lambda _: None)
    else:
        config = load_config(*(args.config or [REPO_ROOT / "config.yaml", REPO_ROOT / "profiles/gpu/tvseg.yaml"]))
    settings = train_settings(config, RUN, 0)
    if args.crop:
        settings = replace(settings, train_crop=list(args.crop))
    device = torch.device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu, {torch.get_num_threads()} threads"
    print(f"torch {torch.__version__}, {name}; data {settings.data_dir}")
    bench_batch(settings, device, args.repeats)
    bench_loop(settings, device, args.iterations, args.repeats)


if __name__ == "__main__":
    main()
