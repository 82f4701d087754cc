"""The converged TV softmax: solve Eq. 3.4 to a tolerance, differentiate at the solution.

Forward: :func:`~tvseg.layers._solver.solve` (FISTA or the plain iteration) until the relative
duality gap is below ``tol``. Nothing of the iterations is kept.

Backward by implicit differentiation. At the solution ``eta`` is a fixed point of
``T(eta) = P(eta - s grad S(o + lam G^T eta))`` for any ``s > 0`` (``G = grad``,
``G^T = -div``, ``S`` the softmax, ``P`` the projection on unit disks). Differentiating,
``d eta = J_P (M d eta + B d theta)`` with ``M = I - s lam G J_S G^T`` (symmetric, ``<= I``)
and ``J_P`` symmetric positive semi-definite. With ``K = J_P^(1/2)`` one solution is
``d eta = K (I - K M K)^+ K B d theta``, and ``I - K M K`` is symmetric positive semi-definite,
so the adjoint system is solved by conjugate gradients with the same grad/div/softmax
operators; its right-hand side is orthogonal to the null space (directions that do not move
the output), so CG converges in the range.

``J_P`` needs only the output. On an edge where the disk constraint is active
(``|eta - s g| > 1``, ``g = grad A``), the fixed point gives ``eta = -g / |g|`` and
``|eta - s g| = 1 + s |g|``, so ``J_P = (I - gg^T/|g|^2) / (1 + s |g|)``; elsewhere
``J_P = I``. The forward therefore saves the output, one bit per edge (active or not) and,
only when lambda needs a gradient, ``div eta``: the memory kept for backward does not depend
on how many iterations the forward took.
"""

from __future__ import annotations

import torch
from torch import Tensor

from tvseg.layers._native import native_usable, tv_adjoint_apply_native
from tvseg.layers._operators import SOFTMAX_STEP_LAM_BOUND, div, grad, softmax_jacobian_product
from tvseg.layers._solver import SolveReport, solve

_BITS = torch.tensor([1, 2, 4, 8, 16, 32, 64, 128], dtype=torch.uint8)


def pack_bits(mask: Tensor) -> Tensor:
    flat = mask.reshape(-1).to(torch.uint8)
    flat = torch.nn.functional.pad(flat, (0, (-flat.numel()) % 8))
    return (flat.view(-1, 8) * _BITS.to(flat.device)).sum(dim=1, dtype=torch.uint8)


def unpack_bits(packed: Tensor, shape: torch.Size) -> Tensor:
    bits = (packed.unsqueeze(1) & _BITS.to(packed.device)) != 0
    return bits.reshape(-1)[: shape.numel()].reshape(shape)


def _per_item_dot(a: Tensor, b: Tensor) -> Tensor:
    return torch.linalg.vecdot(a.flatten(1), b.flatten(1))


def _conjugate_gradients(operator, rhs: Tensor, tol: float, max_iters: int) -> tuple[Tensor, int]:
    """Solve ``operator(x) = rhs`` per batch item (operator symmetric PSD) to relative residual ``tol``."""
    shape = (-1,) + (1,) * (rhs.dim() - 1)
    x = torch.zeros_like(rhs)
    residual = rhs.clone()
    direction = residual.clone()
    rs = _per_item_dot(residual, residual)
    target = (tol * tol) * rs
    iterations = 0
    while iterations < max_iters and bool((rs > target).any()):
        applied = operator(direction)
        curvature = _per_item_dot(direction, applied)
        # Items already solved (or without curvature along the direction) stop moving.
        alpha = torch.where((rs > target) & (curvature > 0), rs / curvature.clamp_min(1e-300), torch.zeros_like(rs))
        x.addcmul_(direction, alpha.view(shape))
        residual.addcmul_(applied, -alpha.view(shape))
        rs_new = _per_item_dot(residual, residual)
        beta = torch.where(rs > 0, rs_new / rs.clamp_min(1e-300), torch.zeros_like(rs))
        direction.mul_(beta.view(shape)).add_(residual)
        rs = rs_new
        iterations += 1
    return x, iterations


def _adjoint_operators(probs: Tensor, active: Tensor, lam: float, s: float):
    g = grad(probs)
    norm = torch.sqrt((g * g).sum(dim=-3, keepdim=True))
    active = active.unsqueeze(-3) & (norm > 0)
    unit = torch.where(active, g / norm.clamp_min(torch.finfo(probs.dtype).tiny), torch.zeros_like(g))
    scale = torch.where(active, torch.rsqrt(1.0 + s * norm), torch.ones_like(norm))

    def K(x: Tensor) -> Tensor:
        # J_P^(1/2): identity on inactive edges, (tangential projection) / sqrt(1 + s|g|) on active ones.
        return (x - unit * (unit * x).sum(dim=-3, keepdim=True)) * scale

    if native_usable(probs):
        probs_c, unit_c, scale_c = probs.contiguous(), unit.contiguous(), scale.squeeze(-3).contiguous()

        def Q(y: Tensor) -> Tensor:
            return tv_adjoint_apply_native(probs_c, unit_c, scale_c, y.contiguous(), s * lam)

    else:

        def Q(y: Tensor) -> Tensor:
            ky = K(y)
            return y - K(ky + (s * lam) * grad(softmax_jacobian_product(probs, div(ky))))

    return K, Q


class ConvergedTVSoftmax(torch.autograd.Function):
    @staticmethod
    def forward(ctx, logits, lam_t, tol, max_iters, method, backward_tol, backward_iters, reports):
        lam = float(lam_t)
        with torch.no_grad():
            solution = solve(logits.detach(), lam, tol=tol, max_iters=max_iters, method=method)
            reports.append(solution.report)
            probs = solution.probs
            s = SOFTMAX_STEP_LAM_BOUND / lam
            xi = solution.eta - s * grad(probs)
            active = (xi * xi).sum(dim=-3) > 1.0
            div_eta = div(solution.eta) if ctx.needs_input_grad[1] else logits.new_empty(0)
        ctx.shape = active.shape
        ctx.backward_tol = backward_tol
        ctx.backward_iters = backward_iters
        ctx.save_for_backward(probs, pack_bits(active), div_eta, lam_t)
        return probs

    @staticmethod
    def backward(ctx, grad_probs):
        probs, packed, div_eta, lam_t = ctx.saved_tensors
        lam = float(lam_t)
        s = SOFTMAX_STEP_LAM_BOUND / lam
        with torch.no_grad():
            K, Q = _adjoint_operators(probs, unpack_bits(packed, ctx.shape), lam, s)
            direct = softmax_jacobian_product(probs, grad_probs)
            y, _ = _conjugate_gradients(Q, K(lam * grad(direct)), ctx.backward_tol, ctx.backward_iters)
            grad_logits = direct + s * softmax_jacobian_product(probs, div(K(y)))
            grad_lam = None
            if ctx.needs_input_grad[1]:
                # d(loss)/d(lam) = -<div eta, d(loss)/d(logits)>; see the module docstring.
                grad_lam = -(div_eta * grad_logits).sum().reshape(lam_t.shape).to(lam_t.dtype)
        return grad_logits, grad_lam, None, None, None, None, None, None


def tv_softmax_converged(
    logits: Tensor,
    lam,
    tol: float,
    max_iters: int,
    method: str,
    backward_tol: float,
    backward_iters: int | None = None,
) -> tuple[Tensor, SolveReport]:
    """The converged output and what the solver reached (iterations, per-item gap)."""
    lam_t = torch.as_tensor(lam, dtype=logits.dtype, device=logits.device)
    if backward_iters is None:
        backward_iters = max(1000, max_iters)
    needs_grad = torch.is_grad_enabled() and (logits.requires_grad or lam_t.requires_grad)
    if not needs_grad:
        solution = solve(logits.detach(), float(lam_t.detach()), tol=tol, max_iters=max_iters, method=method)
        return solution.probs, solution.report
    reports: list[SolveReport] = []
    probs = ConvergedTVSoftmax.apply(logits, lam_t, tol, max_iters, method, backward_tol, backward_iters, reports)
    return probs, reports[0]
