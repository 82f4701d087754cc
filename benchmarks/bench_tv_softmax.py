"""Speed and memory of the TV softmax, measured side by side in one run.

    python benchmarks/bench_tv_softmax.py [--repeats N] [--device cpu|cuda]

(a) forward+backward of TV softmax (iters 1) + NLL against softmax + NLL, B=8, C=3, 320x320;
    goal <= 1.5x.
(b) 100-iteration inference, B=1, C=11, 360x480, fast path against eager; goal >= 8x, with the
    fast path's achieved bandwidth beside a copy-bandwidth probe in the same process.
(c) bytes saved for backward at iters 1, 10 and 50; goal: 50 iterations <= 1.2x one iteration.
(d) the cost of the input checks (shape, finite values, step): the public tv_softmax against the
    fused implementation called directly, forward+backward at (a)'s size; goal: negligible (<= 1.05x).
(e) peak memory of the backward (C kernel; torch ops, CUDA's path) at T=50 against T=1, in
    segments of ceil(sqrt(T)) iterations against every dual held; each in a fresh process.

Timings alternate the compared variants and report medians, since these machines are noisy.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import torch
import torch.nn.functional as F

from tvseg.core.profiling import saved_tensor_bytes
from tvseg.layers import tv_softmax
from tvseg.layers._native import native_supports


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def interleaved_medians(fns: dict, repeats: int, device: torch.device) -> dict:
    for fn in fns.values():  # warm-up: kernel build, allocator, caches
        fn()
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            _sync(device)
            start = time.perf_counter()
            fn()
            _sync(device)
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(ts) for name, ts in times.items()}


def _training_inputs(device: torch.device):
    """Logits, target, a learnable lambda and the clamp floor of (a)'s training step, B=8 C=3 320x320."""
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(8, 3, 320, 320, generator=g).to(device).requires_grad_()
    target = torch.randint(0, 3, (8, 320, 320), generator=g).to(device)
    return logits, target, torch.tensor(1.0, device=device, requires_grad=True), torch.finfo(logits.dtype).tiny


def bench_training_step(repeats: int, device: torch.device) -> None:
    logits, target, lam, tiny = _training_inputs(device)

    def plain():
        F.nll_loss(torch.log_softmax(logits, dim=1), target).backward()

    def regularized(implementation):
        def step():
            probs = tv_softmax(logits, lam, 0.25, 1, implementation=implementation)
            F.nll_loss(torch.log(probs.clamp_min(tiny)), target).backward()

        return step

    t = interleaved_medians(
        {"softmax+NLL": plain, "TV fused+NLL": regularized("fused"), "TV eager+NLL": regularized("eager")},
        repeats,
        device,
    )
    print("(a) forward+backward, B=8 C=3 320x320, iters=1 (median of interleaved runs)")
    for name, seconds in t.items():
        print(f"    {name:<14} {seconds * 1e3:8.2f} ms   {seconds / t['softmax+NLL']:5.2f}x softmax+NLL")
    print(f"    goal <= 1.5x: fused {t['TV fused+NLL'] / t['softmax+NLL']:.2f}x")


def bench_input_checks(repeats: int, device: torch.device) -> None:
    from tvseg.layers._fused import tv_softmax_fused

    logits, target, lam, tiny = _training_inputs(device)

    def checked():
        F.nll_loss(torch.log(tv_softmax(logits, lam, 0.25, 1).clamp_min(tiny)), target).backward()

    def unchecked():
        F.nll_loss(torch.log(tv_softmax_fused(logits, lam, 0.25, 1).clamp_min(tiny)), target).backward()

    t = interleaved_medians({"checked": checked, "unchecked": unchecked}, repeats, device)
    print("(d) input checks (finite values, shape, step), forward+backward B=8 C=3 320x320, iters=1")
    print(
        f"    public tv_softmax {t['checked'] * 1e3:8.2f} ms, fused kernel called directly {t['unchecked'] * 1e3:8.2f} ms"
    )
    print(f"    goal <= 1.05x: {t['checked'] / t['unchecked']:.3f}x")


def copy_bandwidth(nbytes: int, repeats: int, device: torch.device) -> float:
    src = torch.empty(nbytes // 4, dtype=torch.float32, device=device).uniform_()
    dst = torch.empty_like(src)
    t = interleaved_medians({"copy": lambda: dst.copy_(src)}, repeats * 5, device)["copy"]
    return 2 * nbytes / t / 1e9


def bench_inference(repeats: int, device: torch.device) -> None:
    b, c, h, w, iters = 1, 11, 360, 480, 100
    logits = torch.randn(b, c, h, w, generator=torch.Generator().manual_seed(1)).to(device)
    with torch.no_grad():
        t = interleaved_medians(
            {
                "eager": lambda: tv_softmax(logits, 1.0, 0.25, iters, implementation="eager"),
                "fused": lambda: tv_softmax(logits, 1.0, 0.25, iters, implementation="fused"),
            },
            max(3, repeats // 3),
            device,
        )
        error = (
            (
                tv_softmax(logits, 1.0, 0.25, iters, implementation="eager")
                - tv_softmax(logits, 1.0, 0.25, iters, implementation="fused")
            )
            .abs()
            .max()
        )
    element = logits.element_size() * b * h * w
    # Modelled traffic of the fused kernel per iteration: read o (C) and the old dual (2C),
    # write the new dual (2C); plus one last pass reading o and the dual and writing A.
    traffic = iters * 5 * c * element + 4 * c * element
    probe = copy_bandwidth(64 * 2**20, repeats, device)
    kernel = "C kernel" if native_supports(logits) else "torch in-place path"
    print(f"(b) 100-iteration inference, B=1 C=11 360x480, float32 (fast path: {kernel})")
    print(
        f"    eager {t['eager'] * 1e3:8.1f} ms   fused {t['fused'] * 1e3:8.1f} ms   "
        f"speed-up {t['eager'] / t['fused']:.1f}x (goal >= 8x); max |difference| {float(error):.1e}"
    )
    print(
        f"    fused achieved {traffic / t['fused'] / 1e9:.1f} GB/s of modelled traffic; "
        f"copy probe (64 MiB) {probe:.1f} GB/s in this process"
    )


def bench_memory(device: torch.device) -> None:
    logits = torch.randn(8, 3, 320, 320, device=device, requires_grad=True)
    lam = torch.tensor(1.0, device=device, requires_grad=True)
    print("(c) bytes saved for backward, B=8 C=3 320x320 float32")
    rows = {}
    for implementation in ("fused", "eager"):
        rows[implementation] = {
            t: saved_tensor_bytes(
                lambda t=t, impl=implementation: tv_softmax(logits, lam, 0.25, t, implementation=impl)
            )
            for t in (1, 10, 50)
        }
        r = rows[implementation]
        print(
            f"    {implementation:<6} iters 1: {r[1] / 2**20:7.1f} MiB   10: {r[10] / 2**20:7.1f} MiB   "
            f"50: {r[50] / 2**20:7.1f} MiB   50/1 = {r[50] / r[1]:.2f}x"
        )
    print(
        f"    goal 50 iterations <= 1.2x one: fused {rows['fused'][50] / rows['fused'][1]:.2f}x "
        "(backward recomputes the iterates; they live only during backward)"
    )


PEAK_SHAPE = (2, 11, 180, 240)  # B, C, H, W of (e): the probe's input and the timed one
_PEAK_PROBE = """
import resource, sys, torch
from tvseg.layers import _fused, tv_softmax
if sys.argv[3] == "torch":
    _fused.native_usable = lambda x: False  # the torch backward (CUDA's), here on the CPU
_fused.CHECKPOINT_FROM_ITERS = int(sys.argv[2])
iters = int(sys.argv[1])
lam = torch.tensor(1.0, requires_grad=True)
# libraries and kernels warmed on a small input, so the high-water mark before the measured call is
# the process's and its input's alone (warming at full size set it to the call's own peak)
small = torch.randn(1, 11, 16, 16, requires_grad=True)
tv_softmax(small, lam, 0.25, iters, implementation="fused").sum().backward()
x = torch.randn(*SHAPE, requires_grad=True)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
tv_softmax(x, lam, 0.25, iters, implementation="fused").sum().backward()
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)
"""


def bench_backward_peak() -> None:
    """(e) the backward's peak memory, T=50 against T=1, with and without its segments, for the
    C kernel and the torch ops (CUDA's path); each in a fresh process (the growth of its peak
    resident memory), B=2 C=11 180x240."""
    import subprocess
    import sys

    from tvseg.layers import _fused
    from tvseg.layers._fused import CHECKPOINT_FROM_ITERS

    def peak_kib(iters: int, threshold: int, path: str) -> int:
        probe = f"SHAPE = {PEAK_SHAPE}\n{_PEAK_PROBE}"
        out = subprocess.run([sys.executable, "-c", probe, str(iters), str(threshold), path],
                             capture_output=True, text=True, check=True)  # fmt: skip
        return int(out.stdout.strip())

    print("(e) peak memory of forward+backward, B=2 C=11 180x240 float32, on the CPU")
    # the input alone is 3.6 MiB in float32: a call that keeps anything for backward raises the
    # peak by at least that; a smaller rise means the probe saw none of it
    floor_kib = math.prod(PEAK_SHAPE) * 4 // 1024
    for path in ("native", "torch"):
        fifty = {}
        for label, threshold in (("segments of ceil(sqrt(T))", CHECKPOINT_FROM_ITERS), ("every dual held", 10**9)):
            one, fifty[label] = peak_kib(1, threshold, path), peak_kib(50, threshold, path)
            if min(one, fifty[label]) < floor_kib:
                print(f"    {path:<6} {label:<26} cannot be measured here: the peak resident memory rose by "
                      f"{one} and {fifty[label]} KiB, less than the input's {floor_kib} KiB (this machine's "
                      "allocator served the call from memory the process held already)")  # fmt: skip
                fifty[label] = None
                continue
            print(f"    {path:<6} {label:<26} T=1: {one / 1024:7.1f} MiB   T=50: {fifty[label] / 1024:7.1f} MiB   "
                  f"50/1 = {fifty[label] / one:.2f}x")  # fmt: skip
        segmented, whole = fifty.values()
        if segmented is None or whole is None:
            print(f"    {path:<6} at T=50, segments against every dual held: not measured (above)")
        else:
            print(f"    {path:<6} at T=50, segments against every dual held: {segmented / whole:.3f}x")
    x = torch.randn(*PEAK_SHAPE, requires_grad=True)
    lam = torch.tensor(1.0, requires_grad=True)

    def step(threshold):
        def run():
            _fused.CHECKPOINT_FROM_ITERS = threshold
            tv_softmax(x, lam, 0.25, 50, implementation="fused").sum().backward()

        return run

    times = interleaved_medians({"segments": step(CHECKPOINT_FROM_ITERS), "whole": step(10**9)}, 5, torch.device("cpu"))
    _fused.CHECKPOINT_FROM_ITERS = CHECKPOINT_FROM_ITERS
    print(f"    time of forward+backward at T=50 (the C kernel), segments against every dual held: "
          f"{times['segments'] / times['whole']:.3f}x")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    print(f"torch {torch.__version__}, device {device}, {torch.get_num_threads()} threads")
    bench_training_step(args.repeats, device)
    bench_inference(args.repeats, device)
    bench_memory(device)
    bench_input_checks(args.repeats, device)
    bench_backward_peak()


if __name__ == "__main__":
    main()
