"""The layer and the models on CUDA, against the CPU: these run wherever CUDA is present and skip
with a reason elsewhere (every CI machine). ``benchmarks/bench_cuda.py`` prints the same checks
with timings and memory ratios."""

import pytest
import torch

from tvseg.layers import tv_relu, tv_softmax

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (none here)"),
]

TOLERANCE = {torch.float32: 2e-5, torch.float64: 1e-10}


def _inputs(dtype, seed=0, shape=(2, 5, 40, 56)):
    g = torch.Generator().manual_seed(seed)
    return 3 * torch.randn(shape, generator=g, dtype=dtype), torch.randn(shape, generator=g, dtype=dtype)


def _forward_backward(fn, x, weights, lam):
    x = x.clone().requires_grad_()
    lam = lam.clone().requires_grad_()
    out = fn(x, lam)
    (out * weights).sum().backward()
    return out.detach().cpu(), x.grad.cpu(), lam.grad.cpu()


CASES = {
    "fused, 20 iterations": lambda x, lam: tv_softmax(x, lam, 0.2, 20, implementation="fused"),
    "eager, 20 iterations": lambda x, lam: tv_softmax(x, lam, 0.2, 20, implementation="eager"),
    "converged, fista": lambda x, lam: tv_softmax(x, lam, tol=1e-4, method="fista"),
    "converged, plain": lambda x, lam: tv_softmax(x, lam, tol=1e-4, max_iters=5000, method="plain"),
    "tv_relu, 10 iterations": lambda x, lam: tv_relu(x, lam, 0.1, 10),
}


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("case", sorted(CASES))
def test_every_implementation_agrees_with_the_cpu(case, dtype):
    x, weights = _inputs(dtype)
    lam = torch.tensor(2.0, dtype=dtype)
    cpu = _forward_backward(CASES[case], x, weights, lam)
    gpu = _forward_backward(CASES[case], x.cuda(), weights.cuda(), lam.cuda())
    # converged: both solved to the same gap, not the same iterate, so compare at the solver's tolerance
    tolerance = 1e-3 if case.startswith("converged") else TOLERANCE[dtype]
    for name, a, b in zip(("output", "d/dx", "d/dlambda"), cpu, gpu, strict=True):
        scale = max(1.0, float(a.abs().max()))
        assert float((a - b).abs().max()) <= tolerance * scale, f"{case} {dtype} {name}"


def test_memory_kept_for_backward_does_not_grow_with_iterations():
    # what the fused layer holds between forward and backward: the logits, lambda and the step,
    # whatever the iterations (backward recomputes the duals; its own peak grows with about
    # 2 sqrt(T) of them: benchmarks/bench_cuda.py prints that ratio)
    x = torch.randn(4, 11, 360, 480, device="cuda")

    def kept(iters):
        logits = x.clone().requires_grad_()
        torch.cuda.synchronize()
        base = torch.cuda.memory_allocated()
        probs = tv_softmax(logits, 1.0, 0.25, iters)
        torch.cuda.synchronize()
        held = torch.cuda.memory_allocated() - base
        probs.sum().backward()
        return held

    one, fifty = kept(1), kept(50)
    assert fifty == one, f"T=50 keeps {fifty / 2**20:.0f} MiB for backward, T=1 {one / 2**20:.0f} MiB"


@pytest.mark.parametrize("architecture, encoder", [("unet", "vgg13"), ("segnet", "vgg16_bn")])
def test_a_training_step_of_both_heads_runs_on_cuda(architecture, encoder):
    from tvseg.engine.losses import nll_on_probabilities
    from tvseg.models import build_model

    images = torch.randn(2, 3, 96, 128, device="cuda")
    target = torch.randint(0, 4, (2, 96, 128), device="cuda")
    for head in ("softmax", "tv"):
        model = build_model(architecture, 4, encoder, None, head=head, seed=0).cuda().train()
        loss = nll_on_probabilities(model(images), target)
        loss.backward()
        assert torch.isfinite(loss) and all(p.grad is None or torch.isfinite(p.grad).all() for p in model.parameters())


def test_the_evaluation_heads_give_the_same_labels_batched():
    # evaluation.head_batch passes several images' logits through a head at once; on the CPU the
    # numbers are bit-identical (tests/engine/test_evaluate.py), on CUDA the kernels' launch shapes change
    # with the batch, so this checks the labels and bounds the probabilities' difference
    from tvseg.layers.modules import TVSoftmax

    for classes, size in ((3, (300, 300)), (11, (360, 480))):
        x = 4 * torch.randn(6, classes, *size, generator=torch.Generator().manual_seed(classes)).cuda()
        head = TVSoftmax(lam=2.0, step=0.2, eval_iters=100).cuda().eval()
        with torch.no_grad():
            batched = head(x)
            alone = torch.cat([head(item) for item in x.split(1)])
        assert torch.equal(batched.argmax(dim=1), alone.argmax(dim=1)), classes
        assert float((batched - alone).abs().max()) <= 1e-6, classes


def test_a_training_step_never_waits_for_the_device():
    # torch.cuda.set_sync_debug_mode("error") raises at any host-device synchronisation: the batch's
    # copy (pinned, non-blocking), forward through the TV head, loss, backward, the SGD update,
    # the finite flag and the pending log row all run without one, after a first step (which
    # makes the momentum buffers and the allocator's blocks)
    import numpy as np

    import tvseg.engine.train as training
    from tvseg.datasets.inputs import to_device, to_input
    from tvseg.layers import deferred_checks
    from tvseg.models import build_model, parameter_groups

    device = torch.device("cuda")
    model = build_model("unet", 3, "resnet18", None, head="tv", tv={"lam": 1.0, "step": 0.25}, seed=0).to(device)
    optimizer = torch.optim.SGD(parameter_groups(model, 1e-2, 1e-1), momentum=0.9, weight_decay=5e-4)
    rng = np.random.default_rng(0)
    pixels, classes = rng.integers(0, 256, (2, 64, 64, 3), dtype=np.uint8), rng.integers(0, 3, (2, 64, 64))

    def step(checks, pending, iteration):
        images, labels = to_input(pixels, device), to_device(torch.from_numpy(classes), device).long()
        loss, finite = training._sgd_step(model, optimizer, images, labels, None)
        pending.add(iteration, loss, finite, training._lam(model), 1e-2, training._gap(model))

    with deferred_checks() as checks:
        pending = training._PendingRows(checks)
        step(checks, pending, 1)
        torch.cuda.synchronize()
        torch.cuda.set_sync_debug_mode("error")
        try:
            for iteration in (2, 3):
                step(checks, pending, iteration)
        finally:
            torch.cuda.set_sync_debug_mode(0)
        rows, problem, _ = pending.read(model)
    assert problem is None and [r["iteration"] for r in rows] == [1, 2, 3]


def test_the_sync_check_itself_catches_a_reading():
    # the test above can fail: a reading of the loss inside the step is caught
    x = torch.ones(3, device="cuda")
    torch.cuda.set_sync_debug_mode("error")
    try:
        with pytest.raises(RuntimeError, match="synchroniz"):
            float(x.sum())
    finally:
        torch.cuda.set_sync_debug_mode(0)
