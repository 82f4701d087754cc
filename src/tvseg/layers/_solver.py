"""Solving Eq. 3.4 to convergence, with a certificate (the implicit backward is ``_implicit.py``).

The problem and its dual. For logits ``o`` and ``lam > 0``, Eq. 3.4 is

    min_A  F(A) = -<A, o> + <A, log A> + lam * sum_c TV_iso(A_c)   over per-pixel simplices.

With ``A(eta) = softmax_C(o - lam * div eta)`` its dual is the concave

    max_{|eta| <= 1}  D(eta) = -sum_pixels logsumexp_C(o - lam * div eta),

whose gradient is ``-lam * grad A(eta)`` with Lipschitz constant ``L <= 4 lam**2`` (|div|^2 <= 8,
|softmax'| <= 1/2). The paper's iteration is projected gradient ascent with step
``step / lam``; it converges for ``step * lam <= 0.5`` (= 2 / L).

Certificate. For any dual point ``eta`` and ``A = A(eta)``, ``D(eta) = L(A, eta)`` and
``F(A) - D(eta) = lam * sum(|grad A| + <grad A, eta>) >= 0`` (the duality gap): a gap of g
proves that ``F(A)`` is within g of the optimum. The relative gap is ``g / max(1, |F(A)|)``.

Acceleration. ``method="fista"`` is FISTA on the dual with the step ``step * lam = 0.25``
(= 1 / L, the largest with FISTA's guarantee, whatever lambda is) and adaptive (gradient)
restart; its dual error falls as O(1/k^2) against the plain iteration's O(1/k).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import torch
from torch import Tensor

from tvseg.layers._native import native_usable, tv_dual_step_native
from tvseg.layers._operators import (
    SOFTMAX_STEP_LAM_BOUND,
    check_activation_input,
    check_finite,
    div,
    grad,
    project_unit_disk,
    tv_energy,
)

FISTA_STEP_LAM = 0.25  # 1 / L with L = 4 lam^2
METHODS = ("fista", "plain")
DEFAULT_METHOD = "fista"  # 7-20x fewer iterations than the plain one to a gap of 1e-4 (bench_converged.py)
DEFAULT_MAX_ITERS = 1000  # cap on the solver's iterations, in solve, tv_softmax(tol=...) and TVSoftmax(tol=...)
ON_CAP = ("warn", "raise", "ignore")


def resolve_method(method: str | None, tol: float | None) -> str:
    """The one check of ``method``: with ``tol`` (the converged solver) one of METHODS, FISTA
    unless named; without it only the paper's fixed iteration, ``"plain"``."""
    if tol is None:
        if method not in (None, "plain"):
            raise ValueError(
                f"method={method!r} chooses the converged solver; it needs tol (without it the layer is "
                "the paper's fixed iteration, Eq. 3.8)"
            )
        return "plain"
    method = DEFAULT_METHOD if method is None else method
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}; got {method!r}")
    return method


class ConvergenceWarning(UserWarning):
    """The converged layer stopped at its iteration cap with a duality gap above its tolerance."""


class NotConvergedError(RuntimeError):
    """Raised instead of :class:`ConvergenceWarning` where ``on_cap="raise"``."""


def duality_gap(probs: Tensor, eta: Tensor, lam: float | Tensor) -> Tensor:
    """``F(A) - D(eta)`` per batch item, for ``probs = A(eta)``."""
    g = grad(probs)
    return lam * (torch.sqrt((g * g).sum(dim=-3)).sum(dim=(1, 2, 3)) + (g * eta).sum(dim=(1, 2, 3, 4)))


def dual_objective(logits: Tensor, eta: Tensor, lam: float | Tensor) -> Tensor:
    return -torch.logsumexp(logits - lam * div(eta), dim=1).sum(dim=(1, 2))


@dataclass
class Certificate:
    energy: Tensor  # F(A) per batch item (Eq. 3.4)
    dual: Tensor  # D(eta) per batch item
    gap: Tensor  # energy - dual >= 0
    relative_gap: Tensor  # gap / max(1, |energy|)


def certificate(logits: Tensor, probs: Tensor, eta: Tensor, lam: float | Tensor) -> Certificate:
    """The energy of ``probs`` (Eq. 3.4) and the duality gap that the dual point ``eta`` proves.

    The gap bounds ``energy - min F`` from above. ``probs`` should be ``A(eta)`` (the solver's
    output); for any other ``probs`` the returned gap is ``energy - D(eta)``, still a valid bound.
    """
    energy = tv_energy(probs, logits, lam)
    dual = dual_objective(logits, eta, lam)
    gap = energy - dual
    return Certificate(energy, dual, gap, gap / torch.clamp(energy.abs(), min=1.0))


@dataclass
class SolveReport:
    """What the converged solver reached: iterations run, each item's relative duality gap, and
    whether every gap is within ``tol`` (False: the ``max_iters`` cap stopped it first)."""

    iterations: int
    relative_gap: Tensor  # per batch item, at the returned point (detached)
    tol: float
    max_iters: int
    converged: bool

    def check(self, on_cap: str = "warn") -> None:
        """Warn (or raise, or stay silent) when the cap stopped the solver above ``tol``."""
        if on_cap not in ON_CAP:
            raise ValueError(f"on_cap must be one of {ON_CAP}; got {on_cap!r}")
        if self.converged or on_cap == "ignore":
            return
        message = (
            f"the TV softmax stopped at its cap of {self.max_iters} iterations with a relative duality gap of "
            f"{float(self.relative_gap.max()):.3g} (asked: {self.tol:g}); raise max_iters, loosen tol, or lower lambda"
        )
        if on_cap == "raise":
            raise NotConvergedError(message)
        warnings.warn(message, ConvergenceWarning, stacklevel=4)


@dataclass
class Solution:
    probs: Tensor
    eta: Tensor
    iterations: int
    relative_gap: Tensor  # per batch item, at the returned point
    converged: bool
    tol: float = 0.0
    max_iters: int = 0

    @property
    def report(self) -> SolveReport:
        return SolveReport(self.iterations, self.relative_gap.detach(), self.tol, self.max_iters, self.converged)


def solve(
    logits: Tensor,
    lam: float,
    tol: float = 1e-4,
    max_iters: int = DEFAULT_MAX_ITERS,
    method: str = DEFAULT_METHOD,
    check_every: int = 10,
    eta0: Tensor | None = None,
) -> Solution:
    """Solve Eq. 3.4 until every item's relative duality gap is <= ``tol`` (or ``max_iters``).

    No autograd (see :func:`~tvseg.layers.tv_softmax` with ``tol`` for gradients). The step is
    chosen from lambda (``step * lam = 0.25`` for FISTA, 0.5 for the plain iteration), so the
    iteration converges whatever lambda is. The gap is checked every ``check_every`` iterations.
    """
    resolve_method(method, tol)
    if tol < 0 or max_iters < 0:
        raise ValueError(f"tol and max_iters must be >= 0; got tol={tol}, max_iters={max_iters}")
    check_activation_input(logits)
    check_finite(logits)
    lam = float(lam)
    if not lam > 0:
        raise ValueError(f"lam must be positive; got {lam}")
    step = (FISTA_STEP_LAM if method == "fista" else SOFTMAX_STEP_LAM_BOUND) / lam
    per_item = (-1,) + (1,) * 4
    if native_usable(logits):
        logits = logits.detach().contiguous()

        def dual_step(point: Tensor, out: Tensor) -> Tensor:
            return tv_dual_step_native(logits, point.contiguous(), lam, step, out=out)

    else:

        def dual_step(point: Tensor, out: Tensor) -> Tensor:
            return project_unit_disk(point - step * grad(torch.softmax(logits - lam * div(point), dim=1)))

    with torch.no_grad():
        eta = torch.zeros_like(grad(logits)) if eta0 is None else eta0.clone()
        # Dual-sized buffers are recycled: fresh tensors of this size are page-faulted in on every
        # allocation, which costs more than the arithmetic.
        spare: list[Tensor] = []

        def take() -> Tensor:
            return spare.pop() if spare else torch.empty_like(eta)

        point = eta  # where the gradient is taken: eta itself (plain) or FISTA's extrapolation
        t = logits.new_ones((logits.shape[0], 1, 1, 1, 1))
        iterations = 0
        while True:
            if iterations % check_every == 0 or iterations >= max_iters:
                probs = torch.softmax(logits - lam * div(eta), dim=1)
                relative = _gap(logits, probs, eta, lam)
                if bool((relative <= tol).all()) or iterations >= max_iters:
                    break
            previous, eta = eta, dual_step(point, take())
            if method == "fista":
                # Gradient restart per item (O'Donoghue & Candes): drop momentum when it points uphill.
                uphill_from = torch.sub(point, eta, out=take())
                moved = torch.sub(eta, previous, out=take())
                uphill = torch.linalg.vecdot(uphill_from.flatten(1), moved.flatten(1)).view(per_item) > 0
                t = torch.where(uphill, torch.ones_like(t), t)
                t_next = (1.0 + torch.sqrt(1.0 + 4.0 * t * t)) / 2.0
                spare.append(uphill_from)
                if point is not previous:
                    spare.append(point)
                spare.append(previous)
                point = moved.mul_((t - 1.0) / t_next).add_(eta)
                t = t_next
            else:
                spare.append(previous)
                point = eta
            iterations += 1
    return Solution(probs, eta, iterations, relative, bool((relative <= tol).all()), float(tol), int(max_iters))


def _gap(logits: Tensor, probs: Tensor, eta: Tensor, lam: float) -> Tensor:
    gap = duality_gap(probs, eta, lam)
    energy = tv_energy(probs, logits, lam)
    return gap / torch.clamp(energy.abs(), min=1.0)
