"""Accuracy of the converged layer's implicit backward against its CG tolerance (backward_tol).

For lambda 0.5, 2 and 8 and each backward_tol, the gradient of a fixed linear loss of the
output is compared with the one at backward_tol 1e-12 (the exact implicit gradient): cosine of
the logits' gradients and the relative error of dL/dlambda, with the backward's time beside.
Logits: random ("untrained", scale 1 and 3) and, with --model, a trained network's logits on
prepared test images. The documented default (tvseg.layers.DEFAULT_BACKWARD_TOL) is chosen from
this table; tests/layers/test_implicit.py holds it.

    python benchmarks/bench_backward_tol.py
    python benchmarks/bench_backward_tol.py --model results/cpu/runs/runet_wbc_clean/seed0/model.pt \
        --data data/prepared/cpu/wbc
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from tvseg.layers import tv_softmax

TOLERANCES = (1e-2, 1e-3, 1e-4)
LAMS = (0.5, 2.0, 8.0)


def _gradients(logits: torch.Tensor, weights: torch.Tensor, lam: float, backward_tol: float):
    o = logits.clone().requires_grad_()
    lam_t = torch.tensor(lam, dtype=logits.dtype, requires_grad=True)
    probs = tv_softmax(o, lam_t, tol=1e-10, max_iters=100_000, backward_tol=backward_tol, on_cap="ignore")
    tick = time.perf_counter()
    grads = torch.autograd.grad((probs * weights).sum(), (o, lam_t))
    return grads[0], float(grads[1]), time.perf_counter() - tick


def compare(name: str, logits: torch.Tensor) -> list[str]:
    weights = torch.randn(logits.shape, generator=torch.Generator().manual_seed(7), dtype=logits.dtype)
    lines = []
    for lam in LAMS:
        exact, exact_lam, _ = _gradients(logits, weights, lam, 1e-12)
        for backward_tol in TOLERANCES:
            grad, grad_lam, seconds = _gradients(logits, weights, lam, backward_tol)
            cosine = float(torch.nn.functional.cosine_similarity(grad.flatten(), exact.flatten(), dim=0))
            error = abs(grad_lam - exact_lam)
            # Where the exact value is ~0 (a flat solution), only the absolute error means anything.
            relative = f"{100 * error / abs(exact_lam):.3f} %" if abs(exact_lam) > 1e-6 else "— (exact ~0)"
            lines.append(
                f"| {name} | {lam:g} | {backward_tol:g} | {cosine:.6f} | {relative} | {error:.2g} | "
                f"{exact_lam:+.4g} | {1000 * seconds:.1f} |"
            )
    return lines


def trained_logits(model_path: Path, data_dir: Path, count: int) -> torch.Tensor:
    from tvseg.datasets.inputs import to_input
    from tvseg.datasets.prepare import PreparedSplit
    from tvseg.models import load_trained

    model, _ = load_trained(model_path, "cpu")
    test = PreparedSplit(data_dir, "test")
    import numpy as np

    images = np.stack([np.asarray(test.image(i)) for i in range(count)])
    with torch.no_grad():
        logits = model.logits(to_input(images)).double()
    h, w = logits.shape[-2:]
    return logits[..., h // 2 - 16 : h // 2 + 16, w // 2 - 16 : w // 2 + 16].contiguous()  # the cell's middle


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, help="a trained run's model.pt (its logits are measured too)")
    parser.add_argument("--data", type=Path, help="the prepared dataset folder of that run")
    parser.add_argument("--images", type=int, default=1)
    args = parser.parse_args()
    torch.manual_seed(0)
    cases = {
        "random, scale 1, 1x3x24x24": torch.randn(1, 3, 24, 24, dtype=torch.float64),
        "random, scale 3, 1x3x24x24": 3 * torch.randn(1, 3, 24, 24, dtype=torch.float64),
    }
    if args.model:
        cases[f"trained ({args.model.parent.parent.name}), {args.images}x3x32x32"] = trained_logits(
            args.model, args.data, args.images
        )
    print(
        "| logits | lambda | backward_tol | cosine to exact | dL/dlambda relative error | absolute error | "
        "dL/dlambda (exact) | backward ms |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, logits in cases.items():
        for line in compare(name, logits):
            print(line, flush=True)


if __name__ == "__main__":
    main()
