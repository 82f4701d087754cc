"""Fast path of the TV softmax: in-place iterations and a hand-written adjoint (Eq. 3.16-3.19).

The forward runs without autograd into preallocated buffers and keeps only the logits, lambda
and step for backward, so the memory saved between forward and backward does not depend on
``iters``. Backward recomputes the dual iterates xi^1..xi^T (the pre-projection duals of
Eq. 3.8) and runs the reverse sweep of section 3.4, with exact gradients for the logits,
lambda and the step (the step may depend on lambda through ``convergent_step``). A long
backward (C kernel and torch ops alike) holds the duals of one segment of about sqrt(T)
iterations at a time, recomputed from a checkpoint of the dual at the segment's start, not all
T of them.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from tvseg.layers._native import all_finite, native_usable, tv_softmax_native, tv_softmax_native_gradients
from tvseg.layers._operators import div, grad, project_unit_disk, reads_at_once, softmax_jacobian_product


def _grad_into(u: Tensor, out: Tensor) -> Tensor:
    torch.sub(u[..., 1:, :], u[..., :-1, :], out=out[..., 0, :-1, :])
    out[..., 0, -1, :].zero_()
    torch.sub(u[..., :, 1:], u[..., :, :-1], out=out[..., 1, :, :-1])
    out[..., 1, :, -1].zero_()
    return out


def _div_into(p: Tensor, out: Tensor) -> Tensor:
    p_rows = p[..., 0, :-1, :]
    p_cols = p[..., 1, :, :-1]
    out[..., :-1, :].copy_(p_rows)
    out[..., -1, :].zero_()
    out[..., 1:, :].sub_(p_rows)
    out[..., :, :-1].add_(p_cols)
    out[..., :, 1:].sub_(p_cols)
    return out


def _project_(xi: Tensor, scratch: Tensor) -> Tensor:
    """In place: xi <- xi * rsqrt(max(1, |xi|^2)); ``scratch`` has xi's shape without the 2-axis."""
    torch.mul(xi[..., 0, :, :], xi[..., 0, :, :], out=scratch)
    scratch.addcmul_(xi[..., 1, :, :], xi[..., 1, :, :]).clamp_(min=1.0).rsqrt_()
    return xi.mul_(scratch.unsqueeze(-3))


def _projection_adjoint(xi: Tensor, g: Tensor) -> Tensor:
    """P'(xi)^T g for P(xi) = xi * r, r = rsqrt(max(1, |xi|^2)): r g - r^3 (xi . g) xi where |xi| > 1."""
    squared_norm = (xi * xi).sum(dim=-3, keepdim=True)
    r = torch.rsqrt(torch.clamp(squared_norm, min=1.0))
    outside = (squared_norm > 1.0).to(xi.dtype)
    radial = (xi * g).sum(dim=-3, keepdim=True) * r.pow(3) * outside
    return g * r - xi * radial


class _Workspace:
    """Buffers reused across iterations: duals (B, C, 2, H, W) and one (B, C, H, W) scratch."""

    def __init__(self, logits: Tensor):
        b, c, h, w = logits.shape
        self.dual = logits.new_zeros((b, c, 2, h, w))
        self.gradient = logits.new_empty((b, c, 2, h, w))
        self.divergence = logits.new_empty((b, c, h, w))
        self.shifted = logits.new_empty((b, c, h, w))


def _scalar(value: Tensor) -> float | Tensor:
    """A 0-d lambda or step as a number where reading it is free (the CPU); on a GPU it stays a
    tensor, since reading it would make the host wait for the device."""
    return float(value) if reads_at_once(value) else value


def _primal(logits: Tensor, lam: float | Tensor, ws: _Workspace) -> Tensor:
    """A = softmax_C(o - lam * div(eta)) at the workspace's dual eta."""
    _div_into(ws.dual, ws.divergence)
    if isinstance(lam, Tensor):
        torch.addcmul(logits, ws.divergence, lam, value=-1, out=ws.shifted)
    else:
        torch.add(logits, ws.divergence, alpha=-lam, out=ws.shifted)
    return torch.softmax(ws.shifted, dim=1)


def _iterate(logits: Tensor, lam, step, iters: int, keep_duals: bool = False, start=None):
    """Run Eq. 3.8 ``iters`` times from the dual ``start`` (None: zero); returns A, the list of
    xi^k if asked (k = 1..iters), and the final dual eta. From a dual the run reached, it goes on
    bit for bit as the run did (the backward's segments rest on this). ``lam`` and ``step`` are
    numbers, or 0-d tensors on the logits' device (see :func:`_scalar`)."""
    ws = _Workspace(logits)
    if start is None:
        probs = torch.softmax(logits, dim=1)
    else:
        ws.dual.copy_(start)
        probs = _primal(logits, lam, ws)
    duals = []
    for _ in range(iters):
        _grad_into(probs, ws.gradient)
        if isinstance(step, Tensor):
            ws.dual.addcmul_(ws.gradient, step, value=-1)
        else:
            ws.dual.sub_(ws.gradient, alpha=step)
        if keep_duals:
            duals.append(ws.dual.clone())
        _project_(ws.dual, ws.shifted)
        probs = _primal(logits, lam, ws)
    return probs, duals, ws.dual


# From this many iterations on, the backward keeps the duals of one segment at a time.
CHECKPOINT_FROM_ITERS = 16


def segment_length(iters: int) -> int:
    """Iterations per segment of the backward: all of them below CHECKPOINT_FROM_ITERS
    (no recomputation where the duals are few: T = 1 in training), else ceil(sqrt(T)), which
    holds about 2 sqrt(T) duals (checkpoints and one segment) for T more forward iterations."""
    return max(1, iters) if iters < CHECKPOINT_FROM_ITERS else math.ceil(math.sqrt(iters))


def _checkpoints(logits: Tensor, lam: float, step: float, iters: int, length: int) -> dict:
    """The dual at the start of each segment: {first iteration: eta} (None for zero at 0)."""
    starts, eta = {0: None}, None
    for first in range(length, iters, length):
        eta = _iterate(logits, lam, step, length, start=eta)[2]
        starts[first] = eta
    return starts


def _forward_values(logits: Tensor, lam: float, step: float, iters: int) -> Tensor:
    if native_usable(logits):
        return tv_softmax_native(logits, lam, step, iters)
    return _iterate(logits, lam, step, iters)[0]


class _TVSoftmaxFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, logits: Tensor, lam: Tensor, step: Tensor, iters: int) -> Tensor:
        ctx.native = native_usable(logits)
        with torch.no_grad():
            if ctx.native:
                probs = tv_softmax_native(logits, float(lam), float(step), iters)
            else:
                probs = _iterate(logits, _scalar(lam), _scalar(step), iters)[0]
        ctx.iters = iters
        ctx.save_for_backward(logits, lam, step)
        return probs

    @staticmethod
    def backward(ctx, grad_probs: Tensor):
        logits, lam_t, step_t = ctx.saved_tensors
        if ctx.native and all_finite(grad_probs):
            lam, step, iters = float(lam_t), float(step_t), ctx.iters
            grad_logits, grad_lam, grad_step = tv_softmax_native_gradients(
                logits, grad_probs, lam, step, iters, segment_length(iters)
            )
            return (
                grad_logits,
                lam_t.new_tensor(grad_lam) if ctx.needs_input_grad[1] else None,
                step_t.new_tensor(grad_step) if ctx.needs_input_grad[2] else None,
                None,
            )
        return _torch_backward(ctx, logits, lam_t, step_t, grad_probs)


def _torch_backward(ctx, logits, lam_t, step_t, grad_probs):
    """The reverse sweep of section 3.4 in torch ops (CUDA, and CPU without the C kernel), one
    segment of iterations at a time (:func:`segment_length`), last segment first."""
    lam, step, iters = _scalar(lam_t), _scalar(step_t), ctx.iters
    with torch.no_grad():
        length = segment_length(iters)
        starts = _checkpoints(logits, lam, step, iters, length)
        grad_logits = torch.zeros_like(logits)
        grad_lam = logits.new_zeros(())
        grad_step = logits.new_zeros(())
        grad_probs_k = grad_probs
        grad_dual_next = None
        duals, first = [], iters
        for k in range(iters, 0, -1):
            if k == first:  # entering the segment of k from above: recompute its duals
                first = (k - 1) // length * length
                duals = _iterate(logits, lam, step, k - first, keep_duals=True, start=starts[first])[1]
            xi = duals[k - first - 1]
            eta = project_unit_disk(xi)
            div_eta = div(eta)
            probs_k = torch.softmax(logits - lam * div_eta, dim=1)
            if grad_dual_next is not None:
                grad_probs_k = step * div(grad_dual_next)
                grad_step -= (grad_dual_next * grad(probs_k)).sum()
            grad_shifted = softmax_jacobian_product(probs_k, grad_probs_k)
            grad_logits += grad_shifted
            grad_lam -= (grad_shifted * div_eta).sum()
            grad_eta = lam * grad(grad_shifted)
            if grad_dual_next is not None:
                grad_eta += grad_dual_next
            grad_dual_next = _projection_adjoint(xi, grad_eta)
            duals[k - first - 1] = None  # free as we go
        probs_0 = torch.softmax(logits, dim=1)
        grad_probs_0 = step * div(grad_dual_next)
        grad_step -= (grad_dual_next * grad(probs_0)).sum()
        grad_logits += softmax_jacobian_product(probs_0, grad_probs_0)
    return (
        grad_logits,
        grad_lam.to(lam_t.dtype).reshape(lam_t.shape) if ctx.needs_input_grad[1] else None,
        grad_step.to(step_t.dtype).reshape(step_t.shape) if ctx.needs_input_grad[2] else None,
        None,
    )


def tv_softmax_fused(logits: Tensor, lam, step, iters: int) -> Tensor:
    lam_t = torch.as_tensor(lam, dtype=logits.dtype, device=logits.device)
    step_t = torch.as_tensor(step, dtype=logits.dtype, device=logits.device)
    needs_grad = torch.is_grad_enabled() and (logits.requires_grad or lam_t.requires_grad or step_t.requires_grad)
    if not needs_grad:
        with torch.no_grad():
            return _forward_values(logits, _scalar(lam_t.detach()), _scalar(step_t.detach()), iters)
    return _TVSoftmaxFunction.apply(logits, lam_t, step_t, iters)
