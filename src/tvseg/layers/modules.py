"""Thin modules around the functional TV activations (see ``_functional.py``)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from tvseg.layers._functional import tv_relu, tv_softmax
from tvseg.layers._operators import (
    DEFAULT_BACKWARD_TOL,
    RELU_STEP_LAM_BOUND,
    SOFTMAX_STEP_LAM_BOUND,
    convergent_step,
)
from tvseg.layers._solver import DEFAULT_MAX_ITERS, ON_CAP, SolveReport, resolve_method


class _TVActivation(nn.Module):
    step_lam_bound: float

    def __init__(
        self,
        lam: float = 1.0,
        step: float = 0.25,
        train_iters: int = 1,
        eval_iters: int = 100,
        learn_lam: bool = True,
        keep_convergent: bool = True,
        min_lam: float = 1e-3,
        check_step: bool = True,
    ):
        super().__init__()
        if not (float(lam) > 0) or not (float(step) > 0):
            raise ValueError(f"lam and step must be positive; got lam={lam}, step={step}")
        if train_iters < 0 or eval_iters < 0:
            raise ValueError(f"iteration counts must be >= 0; got train_iters={train_iters}, eval_iters={eval_iters}")
        if check_step and keep_convergent and step * lam > self.step_lam_bound:
            raise ValueError(
                f"step * lam = {step * lam:g} exceeds {self.step_lam_bound}, where the iteration stops converging; "
                f"lower step to at most {self.step_lam_bound / lam:g}"
            )
        self.step = float(step)
        self.train_iters = int(train_iters)
        self.eval_iters = int(eval_iters)
        self.keep_convergent = keep_convergent
        self.min_lam = float(min_lam)
        lam_tensor = torch.tensor(float(lam))
        if learn_lam:
            self.lam = nn.Parameter(lam_tensor)
        else:
            self.register_buffer("lam", lam_tensor)

    @property
    def learn_lam(self) -> bool:
        return isinstance(self.lam, nn.Parameter)

    def effective_lam(self) -> Tensor:
        """lambda kept positive: a learned value below ``min_lam`` is held there (no gradient below)."""
        return self.lam.clamp(min=self.min_lam)

    def effective_step(self, lam: Tensor) -> Tensor | float:
        """``step``, shrunk to ``bound / lam`` when a learned lambda would leave the convergent range."""
        if not self.keep_convergent:
            return self.step
        return convergent_step(self.step, lam, self.step_lam_bound)

    def iterations(self) -> int:
        return self.train_iters if self.training else self.eval_iters

    def extra_repr(self) -> str:
        return (
            f"lam={float(self.lam.detach()):.4g}, step={self.step:g}, train_iters={self.train_iters}, "
            f"eval_iters={self.eval_iters}, learn_lam={self.learn_lam}, keep_convergent={self.keep_convergent}"
        )


class TVSoftmax(_TVActivation):
    """TV-regularized softmax over the class dimension (Eq. 3.4); see docs/layer.md.

    Input logits (B, C, H, W) with H, W >= 2; output probabilities of the same shape.

    * ``lam``: initial lambda (> 0); learned by gradient descent (Eq. 3.23-3.24) unless
      ``learn_lam=False``, the fixed-lambda mode of the paper's post-TV baseline. A learned
      lambda is held at ``min_lam`` or above.
    * Fixed iterations (``tol=None``, the paper's): ``train_iters`` (default 1, Eq. 3.21) and
      ``eval_iters`` (default 100) iterations of Eq. 3.8 with ``step`` (the paper's tau*lambda).
      Convergence needs ``step * lam <= 0.5``; with ``keep_convergent`` (default) the step used
      is ``min(step, 0.5 / lam)``, so the iteration stays convergent wherever lambda goes.
    * Converged (``tol`` given): Eq. 3.4 solved to the relative duality gap ``tol`` in training
      and ``eval_tol`` (default: ``tol``) in evaluation, by ``method`` (default ``"fista"``),
      capped at ``max_iters`` (default 1000) iterations, as :func:`~tvseg.layers.tv_softmax`
      with the same arguments; ``step``, ``train_iters`` and ``eval_iters`` are not used. After
      each forward ``last_report`` holds what the solver reached (iterations, per-item gap);
      ``on_cap`` says what a stop at the cap above the tolerance does (warn, raise, ignore).
      Gradients by implicit differentiation (``backward_tol``).
    """

    step_lam_bound = SOFTMAX_STEP_LAM_BOUND

    def __init__(
        self,
        lam: float = 1.0,
        step: float = 0.25,
        *,
        tol: float | None = None,
        eval_tol: float | None = None,
        max_iters: int = DEFAULT_MAX_ITERS,
        method: str | None = None,
        backward_tol: float = DEFAULT_BACKWARD_TOL,
        on_cap: str = "warn",
        **kwargs,
    ):
        # The step only matters in the fixed-iteration mode; the solver picks its own.
        super().__init__(lam=lam, step=step, check_step=tol is None, **kwargs)
        method = resolve_method(method, tol)
        if tol is None and eval_tol is not None:
            raise ValueError("eval_tol needs tol (without it the layer is the paper's fixed iteration)")
        for name, value in (("tol", tol), ("eval_tol", eval_tol), ("backward_tol", backward_tol)):
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be positive; got {value}")
        if isinstance(max_iters, bool) or not isinstance(max_iters, int) or max_iters < 1:
            raise ValueError(f"max_iters must be a positive int; got {max_iters!r}")
        if on_cap not in ON_CAP:
            raise ValueError(f"on_cap must be one of {ON_CAP}; got {on_cap!r}")
        self.tol = tol
        self.eval_tol = tol if eval_tol is None else eval_tol
        self.max_iters = max_iters
        self.method = method
        self.backward_tol = backward_tol
        self.on_cap = on_cap
        self.last_report: SolveReport | None = None

    def forward(self, logits: Tensor) -> Tensor:
        lam = self.effective_lam().to(logits.dtype)
        if self.tol is not None:
            probs, self.last_report = tv_softmax(
                logits,
                lam,
                tol=self.tol if self.training else self.eval_tol,
                max_iters=self.max_iters,
                method=self.method,
                backward_tol=self.backward_tol,
                on_cap=self.on_cap,
                return_report=True,
            )
            return probs
        return tv_softmax(logits, lam, self.effective_step(lam), self.iterations())

    def extra_repr(self) -> str:
        if self.tol is None:
            return super().extra_repr()
        return (
            f"lam={float(self.lam.detach()):.4g}, learn_lam={self.learn_lam}, tol={self.tol:g}, "
            f"eval_tol={self.eval_tol:g}, max_iters={self.max_iters}, method={self.method}, "
            f"backward_tol={self.backward_tol:g}"
        )


class TVReLU(_TVActivation):
    """TV-regularized ReLU (Eq. 3.12-3.15), same options as :class:`TVSoftmax`; converges for
    ``step * lam <= 0.25``."""

    step_lam_bound = RELU_STEP_LAM_BOUND

    def __init__(self, lam: float = 1.0, step: float = 0.125, **kwargs):
        super().__init__(lam=lam, step=step, **kwargs)

    def forward(self, x: Tensor) -> Tensor:
        lam = self.effective_lam().to(x.dtype)
        return tv_relu(x, lam, self.effective_step(lam), self.iterations())
