import numpy as np
import pytest
import scipy.sparse as sp
import torch

from tvseg.core.profiling import saved_tensor_bytes
from tvseg.engine.metrics import regularization_effect
from tvseg.layers import TVReLU, TVSoftmax, convergent_step, div, grad, project_unit_disk, solve, tv_relu, tv_softmax
from tvseg.layers._fused import _iterate
from tvseg.layers._native import native_available, tv_softmax_native


def _difference_matrix(n: int) -> sp.csr_matrix:
    """Forward differences on n points, zero in the last row (Chambolle 2004)."""
    d = sp.lil_matrix((n, n))
    for i in range(n - 1):
        d[i, i], d[i, i + 1] = -1.0, 1.0
    return d.tocsr()


def _reference_operators(h: int, w: int):
    # Row-major flattening of an (H, W) image: index = i * W + j.
    d_rows = sp.kron(_difference_matrix(h), sp.identity(w)).tocsr()
    d_cols = sp.kron(sp.identity(h), _difference_matrix(w)).tocsr()
    return d_rows, d_cols


def _apply(matrix, x: np.ndarray) -> np.ndarray:
    """matrix @ each image in x (..., H*W)."""
    return (matrix @ x.reshape(-1, x.shape[-1]).T).T.reshape(x.shape)


def reference_tv_softmax(o: np.ndarray, lam: float, step: float, iters: int) -> np.ndarray:
    b, c, h, w = o.shape
    d_rows, d_cols = _reference_operators(h, w)
    flat = o.reshape(b, c, h * w)

    def softmax(z):
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    a = softmax(flat)
    p_rows = np.zeros_like(flat)
    p_cols = np.zeros_like(flat)
    for _ in range(iters):
        x_rows = p_rows - step * _apply(d_rows, a)
        x_cols = p_cols - step * _apply(d_cols, a)
        norm = np.maximum(1.0, np.sqrt(x_rows**2 + x_cols**2))
        p_rows, p_cols = x_rows / norm, x_cols / norm
        divergence = -_apply(d_rows.T, p_rows) - _apply(d_cols.T, p_cols)  # div = -grad^T
        a = softmax(flat - lam * divergence)
    return a.reshape(b, c, h, w)


def _logits(shape=(2, 3, 9, 11), dtype=torch.float64, seed=0, scale=3.0):
    g = torch.Generator().manual_seed(seed)
    return (scale * torch.randn(shape, generator=g)).to(dtype)


# ---------- operators ----------


def test_div_is_negative_adjoint_of_grad():
    g = torch.Generator().manual_seed(1)
    u = torch.randn(2, 3, 7, 5, generator=g, dtype=torch.float64)
    p = torch.randn(2, 3, 2, 7, 5, generator=g, dtype=torch.float64)
    assert torch.allclose((grad(u) * p).sum(), -(u * div(p)).sum(), atol=1e-12)


def test_grad_is_forward_differences_with_zero_last_row_and_column():
    u = torch.arange(12.0).reshape(3, 4) ** 2
    g = grad(u)
    assert torch.equal(g[0, :-1], u[1:] - u[:-1]) and torch.all(g[0, -1] == 0)
    assert torch.equal(g[1, :, :-1], u[:, 1:] - u[:, :-1]) and torch.all(g[1, :, -1] == 0)


def test_projection_onto_unit_disk():
    xi = torch.tensor([[3.0, 0.3], [4.0, 0.4]]).reshape(2, 2, 1)
    eta = project_unit_disk(xi)
    assert torch.allclose(eta[:, 0, 0], torch.tensor([0.6, 0.8]))
    assert torch.allclose(eta[:, 1, 0], torch.tensor([0.3, 0.4]))


# ---------- values ----------


@pytest.mark.parametrize("iters", [1, 2, 5, 17, 100])
@pytest.mark.parametrize("implementation", ["eager", "fused"])
def test_matches_independent_reference(iters, implementation):
    o = _logits()
    expected = reference_tv_softmax(o.numpy(), lam=1.7, step=0.25, iters=iters)
    got = tv_softmax(o, lam=1.7, step=0.25, iters=iters, implementation=implementation)
    assert np.abs(got.numpy() - expected).max() < 1e-6


def test_zero_iterations_is_softmax():
    o = _logits()
    assert torch.equal(tv_softmax(o, lam=2.0, step=0.1, iters=0), torch.softmax(o, dim=1))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("iters", [1, 10, 100])
def test_outputs_are_probabilities(dtype, iters):
    a = tv_softmax(_logits(dtype=dtype), lam=2.0, step=0.25, iters=iters)
    assert a.shape == (2, 3, 9, 11) and a.dtype == dtype
    assert torch.all(a >= 0)
    tol = 1e-5 if dtype == torch.float32 else 1e-12
    assert torch.allclose(a.sum(dim=1), torch.ones((), dtype=dtype), atol=tol)


@pytest.mark.parametrize("shape", [(1, 2, 2, 2), (1, 4, 2, 9), (3, 5, 13, 2), (1, 11, 37, 48)])
def test_fused_equals_eager_in_float32(shape):
    o = _logits(shape, dtype=torch.float32, seed=3)
    for iters in (1, 100):
        eager = tv_softmax(o, 1.5, 0.25, iters, implementation="eager")
        fused = tv_softmax(o, 1.5, 0.25, iters, implementation="fused")
        assert (eager - fused).abs().max() < 1e-5


@pytest.mark.skipif(not native_available(), reason="no C compiler: the fused CPU kernel is not built")
def test_native_kernel_equals_torch_path():
    o = _logits((2, 6, 23, 31), dtype=torch.float64, seed=4)
    for iters in (0, 1, 3, 50):
        torch_path = _iterate(o, 2.0, 0.2, iters)[0]
        assert (tv_softmax_native(o, 2.0, 0.2, iters) - torch_path).abs().max() < 1e-12


def test_convergent_regime_iterates_settle():
    """At step * lam <= 0.5 the change between successive iterates shrinks towards zero."""
    o = _logits((1, 3, 16, 16), seed=5, scale=1.0)
    lam = 2.0
    changes = []
    previous = tv_softmax(o, lam, 0.25, 50)
    for iters in (100, 200, 400, 800):
        current = tv_softmax(o, lam, 0.25, iters)
        changes.append(float((current - previous).abs().max()))
        previous = current
    assert changes[-1] < changes[0] / 4
    assert changes[-1] < 1e-2


def test_module_keeps_learned_lambda_in_convergent_range():
    layer = TVSoftmax(lam=1.0, step=0.25)
    with torch.no_grad():
        layer.lam.fill_(8.0)  # as if training had pushed lambda up
    lam = layer.effective_lam()
    assert float((layer.effective_step(lam) * lam).detach()) == pytest.approx(0.5)
    assert float(layer.effective_step(torch.tensor(1.0))) == pytest.approx(0.25)


def test_one_training_iteration_sees_lambda_only_below_the_convergent_bound():
    # One iteration from eta = 0 moves lam * div(eta) by step * lam * div(grad A0) (the projection
    # is inactive: |grad A0| <= sqrt(2) < 1 / step); with the step held at 0.5 / lam above the
    # bound, the output no longer depends on lambda and its gradient vanishes: a learned lambda
    # stops at 0.5 / step (CamVid's RSegnets: results/README.md, Learned lambda)
    o = _logits((2, 4, 8, 8), dtype=torch.float64)

    def output_and_grad(lam: float):
        layer = TVSoftmax(lam=2.0, step=0.2, train_iters=1).double()
        with torch.no_grad():
            layer.lam.fill_(lam)
        out = layer(o)
        (out * torch.linspace(0, 1, out.numel(), dtype=out.dtype).view_as(out)).sum().backward()
        return out.detach(), float(layer.lam.grad)

    below, grad_below = output_and_grad(2.0)
    at_bound, _ = output_and_grad(2.5)
    beyond, grad_beyond = output_and_grad(3.0)
    assert not torch.allclose(below, at_bound)
    assert torch.allclose(beyond, at_bound, rtol=0, atol=1e-12)
    assert abs(grad_below) > 1e-4
    assert abs(grad_beyond) < 1e-9 * abs(grad_below)


def test_module_refuses_a_divergent_start():
    with pytest.raises(ValueError, match="exceeds 0.5"):
        TVSoftmax(lam=4.0, step=0.25)


def _two_regions(seed: int):
    """Logits of a noisy two-region image: left half class 0, right half class 1."""
    g = torch.Generator().manual_seed(seed)
    truth = torch.zeros(32, 32, dtype=torch.long)
    truth[:, 16:] = 1
    clean = torch.stack([(truth == 0).double(), (truth == 1).double()]) * 2.0 - 1.0
    return (clean + 1.5 * torch.randn(2, 32, 32, generator=g, dtype=torch.float64)).unsqueeze(0), truth


def test_more_iterations_regularize_a_noisy_two_region_image():
    o, truth = _two_regions(seed=6)
    results = []
    for iters in (0, 5, 100):
        labels = tv_softmax(o, lam=1.0, step=0.25, iters=iters).argmax(dim=1)[0]
        results.append((regularization_effect(labels), float((labels == truth).double().mean())))
    (re0, acc0), (re5, acc5), (re100, acc100) = results
    assert re0 > re5 > re100
    assert acc100 > acc5 > acc0


# ---------- gradients ----------


@pytest.mark.parametrize("iters", [1, 3])
@pytest.mark.parametrize("implementation", ["eager", "fused"])
def test_gradcheck_logits_and_lambda(iters, implementation):
    o = _logits((1, 3, 4, 5), seed=7).requires_grad_()
    lam = torch.tensor(1.3, dtype=torch.float64, requires_grad=True)

    def fn(o, lam):
        return tv_softmax(o, lam, 0.3, iters, implementation=implementation)

    assert torch.autograd.gradcheck(fn, (o, lam))


def test_gradcheck_through_convergent_step():
    o = _logits((1, 3, 4, 4), seed=8).requires_grad_()
    layer = TVSoftmax(lam=1.0, step=0.25).double()
    layer.train_iters = 3
    with torch.no_grad():
        layer.lam.fill_(3.0)  # step is clamped to 0.5 / lam, so it depends on lambda
    assert torch.autograd.gradcheck(lambda o: layer(o), (o,))
    assert torch.autograd.gradcheck(
        lambda lam: tv_softmax(o.detach(), lam, 0.5 / lam, 3), (layer.lam.detach().clone().requires_grad_(),)
    )


def test_fused_gradients_equal_eager_gradients():
    o = _logits((2, 4, 10, 12), seed=9).requires_grad_()
    lam = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    weights = torch.randn(2, 4, 10, 12, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    grads = []
    for implementation in ("eager", "fused"):
        out = tv_softmax(o, lam, 0.25, 20, implementation=implementation)
        grads.append(torch.autograd.grad((out * weights).sum(), (o, lam)))
    assert torch.allclose(grads[0][0], grads[1][0], atol=1e-12)
    assert torch.allclose(grads[0][1], grads[1][1], atol=1e-12)


def test_gradients_are_finite_on_saturated_probabilities():
    """Flat, saturated logits make grad(A) zero; a naive projection gives NaN gradients there."""
    o = torch.zeros(1, 3, 8, 8, dtype=torch.float64)
    o[:, 0] = 40.0
    o.requires_grad_()
    lam = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
    for implementation in ("eager", "fused"):
        out = tv_softmax(o, lam, 0.25, 3, implementation=implementation)
        g_o, g_lam = torch.autograd.grad(torch.log(out[:, 0]).sum(), (o, lam))
        assert torch.isfinite(g_o).all() and torch.isfinite(g_lam)


def test_fused_memory_saved_for_backward_does_not_grow_with_iterations():
    o = _logits((1, 3, 32, 32), dtype=torch.float32).requires_grad_()
    lam = torch.tensor(1.0, requires_grad=True)
    fused = [saved_tensor_bytes(lambda t=t: tv_softmax(o, lam, 0.25, t)) for t in (1, 10, 50)]
    eager = [saved_tensor_bytes(lambda t=t: tv_softmax(o, lam, 0.25, t, implementation="eager")) for t in (1, 50)]
    assert fused[0] == fused[1] == fused[2]
    assert eager[1] > 10 * eager[0]


def test_module_learns_lambda_and_switches_iteration_counts():
    layer = TVSoftmax(lam=1.0, step=0.25, train_iters=1, eval_iters=7)
    assert layer.iterations() == 1
    o = _logits((1, 3, 6, 6), dtype=torch.float32).requires_grad_()
    layer(o)[:, 0].sum().backward()
    assert layer.lam.grad is not None and layer.lam.grad != 0
    layer.eval()
    assert layer.iterations() == 7
    assert torch.allclose(layer(o), tv_softmax(o, 1.0, 0.25, 7))


def test_fixed_lambda_mode_has_no_parameters():
    layer = TVSoftmax(lam=2.0, step=0.2, learn_lam=False)
    assert list(layer.parameters()) == []
    assert "lam" in layer.state_dict()


# ---------- the regularized ReLU ----------


def reference_tv_relu(x: np.ndarray, lam: float, step: float, iters: int) -> np.ndarray:
    b, c, h, w = x.shape
    d_rows, d_cols = _reference_operators(h, w)
    flat = x.reshape(b, c, h * w)
    a = np.maximum(flat, 0)
    p_rows = np.zeros_like(flat)
    p_cols = np.zeros_like(flat)
    for _ in range(iters):
        x_rows, x_cols = p_rows - step * _apply(d_rows, a), p_cols - step * _apply(d_cols, a)
        norm = np.maximum(1.0, np.sqrt(x_rows**2 + x_cols**2))
        p_rows, p_cols = x_rows / norm, x_cols / norm
        a = np.maximum(flat + lam * (_apply(d_rows.T, p_rows) + _apply(d_cols.T, p_cols)), 0)
    return a.reshape(b, c, h, w)


def test_tv_relu_matches_reference_and_module():
    x = _logits((1, 2, 6, 7), seed=10)
    for iters in (0, 1, 30):
        got = tv_relu(x, 0.8, 0.125, iters)
        assert np.abs(got.numpy() - reference_tv_relu(x.numpy(), 0.8, 0.125, iters)).max() < 1e-10
        assert torch.all(got >= 0)
    layer = TVReLU(lam=0.8, step=0.125, eval_iters=30).double().eval()
    assert torch.allclose(layer(x), tv_relu(x, 0.8, 0.125, 30))


def test_tv_relu_gradcheck():
    x = _logits((1, 2, 4, 4), seed=11).requires_grad_()
    lam = torch.tensor(0.7, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, lam: tv_relu(x, lam, 0.125, 3), (x, lam))


# ---------- bad input ----------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((torch.zeros(3, 4, 4),), "rank 3"),
        ((torch.zeros(1, 3, 4, 4, dtype=torch.long),), "floating-point"),
        ((torch.zeros(1, 3, 1, 4),), "H >= 2"),
        ((torch.zeros(1, 3, 4, 1),), "W=1"),
        ((torch.zeros(1, 3, 4, 4), 0.0), "lam must be one positive"),
        ((torch.zeros(1, 3, 4, 4), -1.0), "lam must be one positive"),
        ((torch.zeros(1, 3, 4, 4), 1.0, 0.0), "step must be one positive"),
        ((torch.zeros(1, 3, 4, 4), 1.0, 0.1, -1), "iters must be"),
        ((torch.zeros(1, 3, 4, 4), 2.0, 0.5), r"step \* lam = 1 exceeds 0.5"),  # the functional form checks too
    ],
)
def test_bad_input_is_named(args, message):
    with pytest.raises(ValueError, match=message):
        tv_softmax(*args)


def test_bad_module_settings_are_named():
    with pytest.raises(ValueError, match="lam and step must be positive"):
        TVSoftmax(lam=0.0, learn_lam=False)
    with pytest.raises(ValueError, match="lam and step must be positive"):
        TVSoftmax(lam=-5.0)  # refused at construction, not clamped
    with pytest.raises(ValueError, match="method"):
        TVSoftmax(method="fista")  # the solver's method needs tol
    with pytest.raises(ValueError, match="implementation"):
        tv_softmax(torch.zeros(1, 2, 3, 3), implementation="fast")


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_input_is_refused_by_every_form(bad):
    logits = torch.randn(1, 3, 8, 8)
    logits[0, 1, 4, 4] = bad
    for call in (
        lambda: tv_softmax(logits, 1.0, 0.25, 10),
        lambda: tv_softmax(logits, 1.0, tol=1e-3),
        lambda: TVSoftmax()(logits),
        lambda: TVSoftmax(tol=1e-3)(logits),
        lambda: tv_relu(logits),
        lambda: solve(logits, 1.0),
    ):
        with pytest.raises(ValueError, match=r"non-finite values \(NaN or inf\) at 1 of 192 entries"):
            call()


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_is_computed_in_float32_and_cast_back(dtype):
    logits = torch.randn(1, 3, 12, 12, generator=torch.Generator().manual_seed(3)).to(dtype)
    for kwargs in ({"iters": 20}, {"tol": 1e-4}):
        out = tv_softmax(logits.clone().requires_grad_(), 2.0, 0.2, **kwargs)
        assert out.dtype == dtype
        assert torch.equal(out, tv_softmax(logits.float(), 2.0, 0.2, **kwargs).to(dtype))
        out.sum().backward()  # differentiable through the casts


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu():
    o = _logits((2, 5, 33, 47), dtype=torch.float32, seed=12)
    lam = torch.tensor(1.5, requires_grad=True)
    cpu = tv_softmax(o, lam, 0.25, 20)
    gpu = tv_softmax(o.cuda(), lam.cuda(), 0.25, 20)
    assert (cpu - gpu.cpu()).abs().max() < 1e-5
    layer = TVSoftmax().cuda()
    oc = o.cuda().requires_grad_()
    layer(oc).sum().backward()
    assert oc.grad.is_cuda and torch.isfinite(oc.grad).all()


@pytest.mark.skipif(not native_available(), reason="no C compiler: the fused CPU kernel is not built")
@pytest.mark.parametrize("iters", [0, 1, 4])
def test_native_backward_equals_torch_backward(iters):
    from tvseg.layers._native import tv_softmax_native_gradients

    o = _logits((2, 5, 12, 17), seed=13)
    weights = torch.randn(o.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    probs = tv_softmax_native(o, 1.4, 0.3, iters)
    got_o, got_lam, got_step = tv_softmax_native_gradients(o, weights, 1.4, 0.3, iters, max(iters, 1))
    o_ = o.clone().requires_grad_()
    lam = torch.tensor(1.4, dtype=torch.float64, requires_grad=True)
    step = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
    out = tv_softmax(o_, lam, step, iters, implementation="eager") if iters else torch.softmax(o_, 1)
    want = torch.autograd.grad((out * weights).sum(), (o_, lam, step), allow_unused=True)
    assert torch.allclose(probs, out, atol=1e-12)
    assert torch.allclose(got_o, want[0], atol=1e-12)
    if iters:
        assert got_lam == pytest.approx(float(want[1]), abs=1e-10)
        assert got_step == pytest.approx(float(want[2]), abs=1e-10)


@pytest.mark.parametrize("path", ["torch", "native"])
def test_the_backward_in_segments_is_the_whole_sweep_bit_for_bit(path, monkeypatch):
    # past CHECKPOINT_FROM_ITERS the backward holds one segment's duals at a time, recomputed
    # from a checkpoint: the same gradients, about 2 sqrt(T) duals instead of T
    from tvseg.layers import _fused, _native

    if path == "torch":
        monkeypatch.setattr(_fused, "native_usable", lambda x: False)  # CUDA's path, here on the CPU
        module, name = _fused, "_iterate"
    elif not native_available():
        pytest.skip("no C compiler: the fused CPU kernel is not built")
    else:
        module, name = _native, "_forward"
    o, weights = _logits((2, 4, 19, 23), seed=21), torch.randn(2, 4, 19, 23, dtype=torch.float64)
    kept, original = [], getattr(module, name)

    def counted(logits, lam, step, iters, *args, **kwargs):
        result = original(logits, lam, step, iters, *args, **kwargs)
        kept.append(0 if result[1] is None else len(result[1]))
        return result

    monkeypatch.setattr(module, name, counted)

    def gradients():
        x = o.clone().requires_grad_()
        lam = torch.tensor(1.7, dtype=torch.float64, requires_grad=True)
        step = torch.tensor(0.25, dtype=torch.float64, requires_grad=True)
        out = tv_softmax(x, lam, step, 50, implementation="fused")
        return torch.autograd.grad((out * weights).sum(), (x, lam, step))

    segmented = gradients()
    assert max(kept) == _fused.segment_length(50) == 8  # no more than one segment's duals at once
    monkeypatch.setattr(_fused, "CHECKPOINT_FROM_ITERS", 10**9)
    kept.clear()
    whole = gradients()
    assert max(kept) == 50
    assert all(torch.equal(a, b) for a, b in zip(segmented, whole, strict=True))


# ---------- checks that wait on the device (deferred_checks) ----------


def test_deferred_checks_hold_a_non_finite_input_until_read(device_path):
    from tvseg.layers import deferred_checks

    logits = torch.randn(1, 3, 8, 8)
    logits[0, 1, 2, 3] = float("nan")
    failure = r"iteration 7: logits hold non-finite values \(NaN or inf\) at 1 of 192"
    with pytest.raises(ValueError, match=failure), deferred_checks() as checks:
        checks.where = "iteration 7"
        tv_softmax(logits, torch.tensor(1.0), torch.tensor(0.25), 3)  # no error yet: pending
        assert len(checks) == 4  # logits, lambda, step, their product; nothing read
        checks.raise_first()
    with deferred_checks() as checks:  # a good input passes, and the context reads nothing twice
        tv_softmax(torch.randn(1, 3, 8, 8), torch.tensor(1.0), torch.tensor(0.25), 3)
        checks.raise_first()
        assert len(checks) == 0
    with pytest.raises(ValueError, match="lam must be one positive finite number"), deferred_checks():  # read on exit
        tv_softmax(torch.randn(1, 3, 8, 8), torch.tensor(-1.0), torch.tensor(0.25), 3)


def test_the_device_path_computes_what_the_host_path_does(device_path, monkeypatch):
    # lambda and step as device tensors (addcmul) against numbers (add with alpha): same values
    import tvseg.layers._operators as operators

    logits, weights = torch.randn(2, 4, 12, 10, dtype=torch.float64), torch.randn(2, 4, 12, 10, dtype=torch.float64)
    results = {}
    for path in ("device", "host"):
        if path == "host":
            monkeypatch.setattr(operators, "READ_AT_ONCE", ("cpu",))
        x, lam = logits.clone().requires_grad_(), torch.tensor(1.5, dtype=torch.float64, requires_grad=True)
        out = tv_softmax(x, lam, convergent_step(0.3, lam), 20)
        (out * weights).sum().backward()
        results[path] = (out.detach(), x.grad, lam.grad)
    for a, b in zip(results["device"], results["host"], strict=True):
        assert torch.allclose(a, b, rtol=1e-12, atol=1e-12)
