"""Thin modules around the functional TV activations (see ``_functional.py``)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from tvseg.layers._functional import (
    RELU_STEP_LAM_BOUND,
    SOFTMAX_STEP_LAM_BOUND,
    convergent_step,
    tv_relu,
    tv_softmax,
)


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
    ):
        super().__init__()
        if lam <= 0 or step <= 0:
            raise ValueError(f"lam and step must be positive; got lam={lam}, step={step}")
        if train_iters < 0 or eval_iters < 0:
            raise ValueError(f"iteration counts must be >= 0; got train_iters={train_iters}, eval_iters={eval_iters}")
        if keep_convergent and step * lam > self.step_lam_bound:
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
    """TV-regularized softmax over the class dimension (Eq. 3.4, solved by Eq. 3.8).

    Input logits (B, C, H, W) with H, W >= 2; output probabilities of the same shape.

    * ``lam``: initial lambda; learned by gradient descent (Eq. 3.23-3.24) unless
      ``learn_lam=False``, the fixed-lambda mode used for the paper's post-TV baseline.
    * ``step``: the paper's tau*lambda, a fixed constant (section 3.5).
    * ``train_iters`` (default 1, Eq. 3.21) and ``eval_iters`` (default 100) iterations in
      training and evaluation mode.
    * Convergence needs ``step * lam <= 0.5``. The defaults (lam 1, step 0.25) sit at 0.25, and
      with ``keep_convergent`` (default) the step used is ``min(step, 0.5 / lam)``, so however
      lambda moves in training the iteration stays convergent.
    * ``tol`` (default None): solve Eq. 3.4 to this relative duality gap in training, and to
      ``eval_tol`` (default: ``tol``) in evaluation: the converged layer (``RUnet*``), with
      ``train_iters``/``eval_iters`` as caps, ``method`` ``"fista"`` or ``"plain"``, and gradients
      by implicit differentiation (``backward_tol``: see :func:`~tvseg.layers.tv_softmax`). The
      step is then chosen from lambda by the solver and is convergent for any lambda.
    """

    step_lam_bound = SOFTMAX_STEP_LAM_BOUND

    def __init__(
        self,
        lam: float = 1.0,
        step: float = 0.25,
        *,
        tol: float | None = None,
        eval_tol: float | None = None,
        method: str = "plain",
        backward_tol: float = 1e-2,
        **kwargs,
    ):
        super().__init__(lam=lam, step=step, **kwargs)
        if method not in ("plain", "fista"):
            raise ValueError(f"method must be 'plain' or 'fista'; got {method!r}")
        if tol is None and (method != "plain" or eval_tol is not None):
            raise ValueError("method='fista' and eval_tol need tol (without it, the layer is the paper's iteration)")
        for name, value in (("tol", tol), ("eval_tol", eval_tol), ("backward_tol", backward_tol)):
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be positive; got {value}")
        self.tol = tol
        self.eval_tol = tol if eval_tol is None else eval_tol
        self.method = method
        self.backward_tol = backward_tol

    def forward(self, logits: Tensor) -> Tensor:
        lam = self.effective_lam().to(logits.dtype)
        if self.tol is not None:
            return tv_softmax(
                logits,
                lam,
                iters=self.iterations(),
                tol=self.tol if self.training else self.eval_tol,
                method=self.method,
                backward_tol=self.backward_tol,
            )
        return tv_softmax(logits, lam, self.effective_step(lam), self.iterations())

    def extra_repr(self) -> str:
        converged = (
            f", tol={self.tol:g}, eval_tol={self.eval_tol:g}, method={self.method}" if self.tol is not None else ""
        )
        return super().extra_repr() + converged


class TVReLU(_TVActivation):
    """TV-regularized ReLU (Eq. 3.12-3.15), same options as :class:`TVSoftmax`; converges for
    ``step * lam <= 0.25``."""

    step_lam_bound = RELU_STEP_LAM_BOUND

    def __init__(self, lam: float = 1.0, step: float = 0.125, **kwargs):
        super().__init__(lam=lam, step=step, **kwargs)

    def forward(self, x: Tensor) -> Tensor:
        lam = self.effective_lam().to(x.dtype)
        return tv_relu(x, lam, self.effective_step(lam), self.iterations())
