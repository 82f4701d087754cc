"""The CUDA checks, measured: the layer against the CPU, its memory in iterations, and the
regularized networks' training step against the plain ones at the paper's sizes.

    python benchmarks/bench_cuda.py [--repeats N]

(1) every implementation of the layer (fused, eager, converged fista/plain, tv_relu), forward
and backward, float32 and float64: the largest difference to the CPU's result;
(2) peak allocated memory of forward+backward at T=50 iterations against T=1 (4 x 11 x 360 x 480):
what forward keeps for backward is flat in T (tests/layers/test_cuda.py); backward recomputes the
duals, from 16 iterations on one segment of ceil(sqrt(T)) at a time, so this peak grows with
about 2 sqrt(T) duals (it held all T until this version: 5.45x at T=50 on an H200);
(3) one SGD step of RUnet vs Unet (8 x 3 x 300 x 300, vgg13) and RSegNet vs SegNet
(4 x 3 x 360 x 480, vgg16_bn): time (interleaved medians) and peak memory ratios.
Prints one line and exits 0 where there is no CUDA device.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
from bench_models import CASES, training_step  # noqa: E402
from bench_tv_softmax import interleaved_medians  # noqa: E402

from tvseg.layers import tv_softmax  # noqa: E402
from tvseg.models import build_model  # noqa: E402


def layer_agreement() -> None:
    from test_cuda import CASES as LAYER_CASES
    from test_cuda import _forward_backward, _inputs

    for dtype in (torch.float32, torch.float64):
        x, weights = _inputs(dtype)
        lam = torch.tensor(2.0, dtype=dtype)
        for name, fn in sorted(LAYER_CASES.items()):
            cpu = _forward_backward(fn, x, weights, lam)
            gpu = _forward_backward(fn, x.cuda(), weights.cuda(), lam.cuda())
            diffs = ", ".join(
                f"{what} {float((a - b).abs().max()):.1e}"
                for what, a, b in zip(("out", "d/dx", "d/dlam"), cpu, gpu, strict=True)
            )
            print(f"  {name:24s} {str(dtype)[6:]:8s} max |cuda - cpu|: {diffs}")


def peak_bytes(fn) -> int:
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    fn()
    torch.cuda.synchronize()
    return torch.cuda.max_memory_allocated() - base


def layer_memory() -> None:
    x = torch.randn(4, 11, 360, 480, device="cuda")

    def run(iters):
        logits = x.clone().requires_grad_()
        tv_softmax(logits, 1.0, 0.25, iters).sum().backward()

    one, fifty = peak_bytes(lambda: run(1)), peak_bytes(lambda: run(50))
    print(f"  peak memory T=1 {one / 2**20:.0f} MiB, T=50 {fifty / 2**20:.0f} MiB, ratio {fifty / one:.2f}")


def training_steps(repeats: int) -> None:
    device = torch.device("cuda")
    for dataset, architecture, encoder, classes, batch, size in CASES:
        g = torch.Generator().manual_seed(0)
        images = torch.randn(batch, 3, *size, generator=g).to(device)
        target = torch.randint(0, classes, (batch, *size), generator=g).to(device)
        steps, peaks = {}, {}
        for head in ("softmax", "tv"):
            model = build_model(architecture, classes, encoder, None, head=head, seed=0).to(device).train()
            steps[head] = training_step(model, images, target)
            steps[head]()  # optimizer state exists before the peak is read
            peaks[head] = peak_bytes(steps[head])
        t = interleaved_medians(steps, repeats, device)
        name = "Unet" if architecture == "unet" else "SegNet"
        print(
            f"  {dataset}: {name} {t['softmax'] * 1e3:.1f} ms/step, R{name} {t['tv'] * 1e3:.1f} ms/step, "
            f"time ratio {t['tv'] / t['softmax']:.3f}; peak memory {peaks['softmax'] / 2**30:.2f} GiB vs "
            f"{peaks['tv'] / 2**30:.2f} GiB, ratio {peaks['tv'] / peaks['softmax']:.3f} "
            f"(batch {batch} x {size[0]}x{size[1]})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("bench_cuda: no CUDA device here; nothing measured")
        return
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name()}")
    print("(1) the layer on CUDA against the CPU")
    layer_agreement()
    print("(2) peak memory of forward+backward in iterations (fused; backward holds ~2 sqrt(T) duals)")
    layer_memory()
    print("(3) a training step at the paper's sizes, regularized against plain")
    training_steps(args.repeats)


if __name__ == "__main__":
    main()
