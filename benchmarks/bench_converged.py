"""The converged TV softmax (issue 11): solver speed, training-step cost, memory, side by side.

    python benchmarks/bench_converged.py [--repeats N] [--device cpu|cuda] [--checkpoint model.pt]

(a) Iterations and time to a relative duality gap of 1e-4, FISTA against the plain iteration,
    at lambda 1, 2, 4 on 1 x 11 x 360 x 480 logits (smooth class regions plus pixel noise,
    scaled like a trained SegNet's); goal: >= 5x fewer iterations.
(b) One SGD step of RUnet* (converged layer, the cpu profile's tolerances) against Unet and
    RUnet (one iteration) at the cpu profile's size: 8 x 3 x 96 x 96, smp Unet on resnet18,
    lambda 2. The network is the trained cpu-profile Unet when its checkpoint is present (its
    logits decide how hard the problem is), else a random one; goal: RUnet*/Unet <= 1.5x.
(c) Bytes saved for backward by the layer at convergence against one iteration, and by the
    whole training step; goal <= 1.2x.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).parent))
from bench_tv_softmax import interleaved_medians  # noqa: E402

from tvseg.core.config import load_config  # noqa: E402
from tvseg.core.layout import run_files  # noqa: E402
from tvseg.core.profiling import saved_tensor_bytes  # noqa: E402
from tvseg.core.settings import TVSettings  # noqa: E402
from tvseg.engine.losses import nll_on_probabilities  # noqa: E402
from tvseg.layers import tv_softmax  # noqa: E402
from tvseg.layers._solver import solve  # noqa: E402
from tvseg.models import build_model, parameter_groups  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def camvid_like_logits(device: torch.device) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    regions = F.interpolate(torch.randn(1, 11, 9, 12, generator=g), size=(360, 480), mode="bilinear")
    return (6.0 * regions + 1.5 * torch.randn(1, 11, 360, 480, generator=g)).to(device)


def bench_solver(device: torch.device, cap: int) -> None:
    logits = camvid_like_logits(device)
    print(f"(a) iterations and time to relative gap 1e-4, 1x11x360x480 (plain capped at {cap})")
    for lam in (1.0, 2.0, 4.0):
        found = {}
        for method in ("fista", "plain"):
            start = time.perf_counter()
            solution = solve(logits, lam, tol=1e-4, max_iters=cap, method=method, check_every=10)
            found[method] = (solution.iterations, time.perf_counter() - start, solution.converged)
        (fi, ft, _), (pi, pt, pc) = found["fista"], found["plain"]
        bound = "" if pc else ">="
        print(
            f"    lambda {lam:g}: fista {fi:5d} its {ft:7.2f} s | plain {bound}{pi:5d} its {pt:7.2f} s | "
            f"fewer iterations {bound}{pi / fi:.1f}x, time {bound}{pt / ft:.1f}x (goal >= 5x)"
        )


def _wbc_batch(config: dict, device: torch.device):
    from tvseg.datasets.prepare import PreparedSplit
    from tvseg.engine.batches import make_batch

    data = REPO / config["prepared_root"] / "wbc"
    if (data / "manifest.json").exists():
        split = PreparedSplit(data, "train")
        images, labels = make_batch(split, torch.arange(8).numpy(), None, 0, 0, device)
        return images, labels, "prepared WBC training images"
    g = torch.Generator().manual_seed(0)
    return (
        torch.rand(8, 3, 96, 96, generator=g).to(device),
        torch.randint(0, 3, (8, 96, 96), generator=g).to(device),
        "random images (no prepared WBC found)",
    )


def _models(config: dict, checkpoint: Path, device: torch.device):
    tv, converged = config["tv"], config["converged"]
    one = TVSettings(lam=tv["lam"], step=tv["step"])
    star = TVSettings(
        lam=tv["lam"], step=tv["step"], train_iters=converged["max_iters"], eval_iters=converged["max_iters"],
        tol=converged["tol"], eval_tol=converged["eval_tol"], method=converged["method"],
        backward_tol=converged["backward_tol"],
    )  # fmt: skip
    encoder = config["datasets"]["wbc"]["encoder"]
    models = {
        "Unet": build_model("unet", 3, encoder, None, head="softmax"),
        "RUnet (1 iteration)": build_model("unet", 3, encoder, None, head="tv", tv=one),
        "RUnet* (converged)": build_model("unet", 3, encoder, None, head="tv", tv=star),
    }
    source = "random network weights (no checkpoint)"
    if checkpoint.exists():
        state = torch.load(checkpoint, map_location="cpu", weights_only=True)["model"]
        network = {k.removeprefix("network."): v for k, v in state.items() if k.startswith("network.")}
        for model in models.values():
            model.network.load_state_dict(network)
        source = f"network weights of {checkpoint.relative_to(REPO) if checkpoint.is_relative_to(REPO) else checkpoint}"
    return {name: m.to(device).train() for name, m in models.items()}, source, star


def bench_training_step(config: dict, checkpoint: Path, repeats: int, device: torch.device) -> None:
    images, labels, data_source = _wbc_batch(config, device)
    models, source, star = _models(config, checkpoint, device)

    def step_of(model):
        optimizer = torch.optim.SGD(parameter_groups(model, lr=1e-3, lam_lr=1e-2), momentum=0.9)

        def step():
            optimizer.zero_grad(set_to_none=True)
            nll_on_probabilities(model(images), labels).backward()

        return step

    t = interleaved_medians({name: step_of(m) for name, m in models.items()}, repeats, device)
    print(
        f"(b) one training step (forward, NLL, backward), 8x3x96x96, {config['datasets']['wbc']['encoder']}, "
        f"lambda {star.lam:g}; {source}; {data_source}"
    )
    print(f"    RUnet*: tol {star.tol:g} (relative gap), backward_tol {star.backward_tol:g}, {star.method}")
    for name, seconds in t.items():
        print(f"    {name:<20} {seconds * 1e3:8.1f} ms   {seconds / t['Unet']:5.2f}x Unet")
    print(f"    goal <= 1.5x: RUnet*/Unet {t['RUnet* (converged)'] / t['Unet']:.2f}x")


def bench_memory(config: dict, checkpoint: Path, device: torch.device) -> None:
    g = torch.Generator().manual_seed(0)
    logits = (6.0 * torch.randn(8, 3, 96, 96, generator=g)).to(device).requires_grad_()
    lam = torch.tensor(2.0, device=device, requires_grad=True)
    output_bytes = logits.numel() * logits.element_size()
    one = saved_tensor_bytes(lambda: tv_softmax(logits, lam, 0.2, 1))
    rows = {
        "converged, lambda learned": saved_tensor_bytes(lambda: tv_softmax(logits, lam, tol=1e-4, method="fista")),
        "converged, lambda fixed": saved_tensor_bytes(
            lambda: tv_softmax(logits, lam.detach(), tol=1e-4, method="fista")
        ),
    }
    print("(c) bytes saved for backward, 8x3x96x96 float32 (the layer's output is 1.00 unit)")
    print(f"    one iteration (fused): {one / output_bytes:.2f} units (the logits)")
    for name, nbytes in rows.items():
        beyond = nbytes - output_bytes  # the output is kept by the loss in any network as well
        print(
            f"    {name:<26} {nbytes / output_bytes:.2f} units = {nbytes / one:.2f}x one iteration; "
            f"beyond its own output {beyond / output_bytes:.2f} units = {beyond / one:.2f}x"
        )
    images, labels, _ = _wbc_batch(config, device)
    models, _, _ = _models(config, checkpoint, device)
    whole = {
        name: saved_tensor_bytes(lambda m=m: nll_on_probabilities(m(images), labels)) for name, m in models.items()
    }
    print("    whole training step (all tensors saved for backward):")
    for name, nbytes in whole.items():
        print(f"      {name:<20} {nbytes / 2**20:7.1f} MiB  {nbytes / whole['RUnet (1 iteration)']:.3f}x RUnet")
    print(
        f"    goal <= 1.2x: layer {rows['converged, lambda learned'] / one:.2f}x (lambda learned), "
        f"{rows['converged, lambda fixed'] / one:.2f}x (fixed); training step "
        f"{whole['RUnet* (converged)'] / whole['RUnet (1 iteration)']:.3f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument(
        "--checkpoint", type=Path, help="a trained Unet (default: the cpu profile's unet_wbc_clean seed 0)"
    )
    parser.add_argument("--plain-cap", type=int, default=60_000, help="most plain iterations in (a)")
    args = parser.parse_args()
    device = torch.device(args.device)
    config = load_config(REPO / "config.yaml", REPO / "profiles" / "cpu" / "tvseg.yaml")
    checkpoint = args.checkpoint or REPO / run_files(config, "unet_wbc_clean", 0).model
    print(f"torch {torch.__version__}, device {device}, {torch.get_num_threads()} threads")
    bench_solver(device, args.plain_cap)
    bench_training_step(config, checkpoint, args.repeats, device)
    bench_memory(config, checkpoint, device)


if __name__ == "__main__":
    main()
