"""The public TV-regularized activations: ``tv_softmax`` and ``tv_relu`` check their arguments and
dispatch to an implementation (eager autograd and the pure operators in ``_operators``, the fused
fixed-iteration path in ``_fused``, the converged solver with its implicit backward in
``_implicit``/``_solver``). Imports run one way: this module imports the implementations; they
import ``_operators`` (the leaf, importing nothing of the package) and, for the compiled CPU
kernels, ``_native``.
"""

from __future__ import annotations

import torch
from torch import Tensor

from tvseg.layers._fused import tv_softmax_fused
from tvseg.layers._implicit import tv_softmax_converged
from tvseg.layers._operators import (
    DEFAULT_BACKWARD_TOL,
    HALF_PRECISION,
    RELU_STEP_LAM_BOUND,
    SOFTMAX_STEP_LAM_BOUND,
    check_activation_input,
    check_convergent,
    check_finite,
    check_regularization,
    tv_relu_eager,
    tv_softmax_eager,
)
from tvseg.layers._solver import DEFAULT_MAX_ITERS, resolve_method


def tv_softmax(
    logits: Tensor,
    lam: float | Tensor = 1.0,
    step: float | Tensor = 0.25,
    iters: int | None = None,
    *,
    tol: float | None = None,
    max_iters: int | None = None,
    method: str | None = None,
    backward_tol: float = DEFAULT_BACKWARD_TOL,
    on_cap: str = "warn",
    return_report: bool = False,
    implementation: str = "fused",
):
    """TV-regularized softmax over dim 1 of ``logits`` (B, C, H, W); see docs/layer.md.

    Two modes:

    * **Fixed iterations** (``tol=None``, the paper's): ``iters`` (default 1, Eq. 3.21)
      iterations of Eq. 3.8 from ``eta = 0`` with the given ``step`` (the paper's tau*lambda),
      differentiated exactly through the iterations. ``step * lam`` must be <= 0.5, where the
      iteration converges (:func:`convergent_step` shrinks a step into range). ``iters=0`` is
      plain softmax. ``implementation``: ``"fused"`` (default: the iterations run without
      autograd and a hand-written backward recomputes them, so the memory kept for backward
      does not grow with ``iters``) or ``"eager"`` (plain autograd).
    * **Converged** (``tol`` given): the minimiser of Eq. 3.4, solved until every item's
      relative duality gap (:func:`~tvseg.layers.certificate`) is <= ``tol``, or ``max_iters``
      (default 1000) iterations have run, by ``method`` ``"fista"`` (default) or ``"plain"``.
      The solver picks its step from lambda, so ``step`` is not used and any lambda converges.
      Reaching the cap above ``tol`` warns (``on_cap="warn"``, a :class:`ConvergenceWarning`),
      raises (``"raise"``) or passes silently (``"ignore"``); ``return_report=True`` returns
      ``(probs, SolveReport)`` with the iterations and each item's gap. Gradients come from
      implicit differentiation at the solution, the linear system solved by conjugate gradients
      to the relative residual ``backward_tol``. The memory kept for backward is the output plus
      one bit per pixel and class (plus ``div eta`` when lambda needs a gradient), however many
      iterations the forward took.

    Non-finite logits are refused. float16 and bfloat16 inputs are computed in float32 and the
    output cast back to the input's dtype (the iteration's differences of probabilities would
    lose most of their digits in half precision). ``lam`` (and ``step``) may be floats or 0-d
    tensors; gradients flow to tensors that need them.
    """
    check_activation_input(logits)
    check_finite(logits)
    if logits.dtype in HALF_PRECISION:
        out = tv_softmax(
            logits.float(), lam, step, iters, tol=tol, max_iters=max_iters, method=method,
            backward_tol=backward_tol, on_cap=on_cap, return_report=return_report, implementation=implementation,
        )  # fmt: skip
        if return_report:
            return out[0].to(logits.dtype), out[1]
        return out.to(logits.dtype)
    if tol is not None:
        if iters is not None:
            raise ValueError(
                "iters counts the fixed iterations of the paper's mode; with tol, cap the solver by max_iters"
            )
        method = resolve_method(method, tol)
        max_iters = DEFAULT_MAX_ITERS if max_iters is None else max_iters
        check_regularization(lam, step, max_iters)
        if not (tol >= 0):
            raise ValueError(f"tol must be a non-negative number; got {tol!r}")
        if not (backward_tol > 0):
            raise ValueError(f"backward_tol must be positive; got {backward_tol!r}")
        probs, report = tv_softmax_converged(
            logits, lam, tol=float(tol), max_iters=max_iters, method=method, backward_tol=backward_tol
        )
        report.check(on_cap)
        return (probs, report) if return_report else probs
    resolve_method(method, tol)
    if max_iters is not None or return_report:
        raise ValueError("max_iters and return_report belong to the converged mode; they need tol")
    iters = 1 if iters is None else iters
    check_regularization(lam, step, iters)
    check_convergent(lam, step, SOFTMAX_STEP_LAM_BOUND)
    if iters == 0:
        return torch.softmax(logits, dim=1)
    if implementation == "eager":
        return tv_softmax_eager(logits, lam, step, iters)
    if implementation == "fused":
        return tv_softmax_fused(logits, lam, step, iters)
    raise ValueError(f"implementation must be 'fused' or 'eager'; got {implementation!r}")


def tv_relu(x: Tensor, lam: float | Tensor = 1.0, step: float | Tensor = 0.125, iters: int = 1) -> Tensor:
    """TV-regularized ReLU (Eq. 3.12-3.15): ``iters`` iterations of Eq. 3.14, starting from ReLU(x).

    Same conventions as :func:`tv_softmax`; ``step * lam`` must be <= 0.25, where it converges.
    Non-finite input is refused; half precision is computed in float32 and cast back.
    """
    check_activation_input(x, name="x")
    check_finite(x, name="x")
    check_regularization(lam, step, iters)
    check_convergent(lam, step, RELU_STEP_LAM_BOUND)
    if x.dtype in HALF_PRECISION:
        return tv_relu_eager(x.float(), lam, step, iters).to(x.dtype)
    return tv_relu_eager(x, lam, step, iters)
