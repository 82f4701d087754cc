"""The pure operators of the TV-regularized activations (Jia, Liu & Tai, sections 3.2-3.5).

The leaf of ``tvseg.layers``: it imports nothing of the package, and every implementation
(``_fused``, ``_solver``, ``_implicit``) and the public dispatch (``_functional``) import it.

Conventions (Chambolle 2004), held exactly everywhere in this package:

* ``grad(u)`` is forward differences, zero on the last row and column. It returns the two
  components stacked in a new dimension just before the spatial ones: ``(..., 2, H, W)``,
  component 0 along rows (H), component 1 along columns (W).
* ``div`` is the negative adjoint of ``grad``: ``<grad u, p> = -<u, div p>``.
* The dual variable ``eta`` holds one 2-vector per pixel and class; ``project_unit_disk``
  projects each of them onto the unit disk (Eq. 3.9).

The regularized softmax (Eq. 3.8, in projected form) starts from ``eta = 0`` and
``A = softmax(o)``; each iteration does::

    eta <- P_B(eta - step * grad(A))
    A   <- softmax_C(o - lam * div(eta))

``step`` is the paper's tau*lambda (section 3.5). With ``iters=1`` this is Eq. 3.21.

Convergence. The iteration is projected gradient ascent on the dual of Eq. 3.4 with an
effective step ``step / lam`` against a gradient whose Lipschitz constant is
``lam**2 * ||div||**2 * ||S'|| <= lam**2 * 8 * 1/2``. It therefore converges for
``step * lam <= 0.5`` and oscillates beyond (measured before the package was written, and
held by the step check below).
For the ReLU (slope <= 1) the bound is ``step * lam <= 0.25``. ``convergent_step`` shrinks a
step into that range for a given (possibly learned) lambda.

Checks of the input (finite values, a positive lambda, a convergent step) read their tensors on
the host: free on the CPU, a wait for the device on a GPU. Inside ``deferred_checks()`` the checks
of device tensors stay on the device, and the context reads them all at once when asked (a
training loop: every few steps) or on exit, raising the first failure's message then.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch import Tensor

SOFTMAX_STEP_LAM_BOUND = 0.5
RELU_STEP_LAM_BOUND = 0.25
# Step * lambda may exceed the bound by this much (rounding of a step computed as bound / lam).
_BOUND_SLACK = 1e-6
# CG's relative residual in the implicit backward. Measured (benchmarks/bench_backward_tol.py) at
# lambda 0.5, 2 and 8 on random and on trained WBC logits: at 1e-4 the gradient's cosine to the
# exact one is >= 0.9998 and dL/dlambda within 0.05 % (2e-3 absolute where it is ~0); at 1e-3
# the cosine fell to 0.989 and at 1e-2 to 0.62 (random logits, lambda 8). Documented as: cosine
# >= 0.999 and dL/dlambda within 1 % (or 0.01 absolute); tests/layers/test_implicit.py holds it.
DEFAULT_BACKWARD_TOL = 1e-4
HALF_PRECISION = (torch.float16, torch.bfloat16)


def grad(u: Tensor) -> Tensor:
    """Forward differences of ``u`` (..., H, W) -> (..., 2, H, W), zero on the last row/column."""
    d_rows = F.pad(u[..., 1:, :] - u[..., :-1, :], (0, 0, 0, 1))
    d_cols = F.pad(u[..., :, 1:] - u[..., :, :-1], (0, 1, 0, 0))
    return torch.stack((d_rows, d_cols), dim=-3)


def div(p: Tensor) -> Tensor:
    """Discrete divergence (..., 2, H, W) -> (..., H, W), the negative adjoint of :func:`grad`."""
    p_rows = p[..., 0, :-1, :]
    p_cols = p[..., 1, :, :-1]
    d_rows = F.pad(p_rows, (0, 0, 0, 1)) - F.pad(p_rows, (0, 0, 1, 0))
    d_cols = F.pad(p_cols, (0, 1, 0, 0)) - F.pad(p_cols, (1, 0, 0, 0))
    return d_rows + d_cols


def project_unit_disk(xi: Tensor) -> Tensor:
    """Project each 2-vector ``xi[..., :, i, j]`` onto the unit disk (Eq. 3.9).

    Written as ``xi * rsqrt(max(1, |xi|^2))`` so that the gradient stays finite where ``xi``
    is zero (saturated probabilities); ``xi / max(1, |xi|)`` gives NaN gradients there.
    """
    squared_norm = (xi * xi).sum(dim=-3, keepdim=True)
    return xi * torch.rsqrt(torch.clamp(squared_norm, min=1.0))


def convergent_step(step: float | Tensor, lam: Tensor, bound: float = SOFTMAX_STEP_LAM_BOUND) -> Tensor:
    """The largest step <= ``step`` with ``step * lam <= bound``, so the iteration converges."""
    lam = torch.as_tensor(lam)
    if isinstance(step, Tensor):
        return torch.minimum(step.to(dtype=lam.dtype, device=lam.device), bound / lam)
    # a number stays a kernel argument: a tensor made of it on a GPU would be a host copy
    return torch.clamp(bound / lam, max=float(step))


def softmax_jacobian_product(probs: Tensor, x: Tensor) -> Tensor:
    """``J x`` for the softmax over dim 1 at ``probs``; ``J`` is symmetric, so this is also ``J^T x``."""
    return probs * (x - (probs * x).sum(dim=1, keepdim=True))


def check_activation_input(x: Tensor, name: str = "logits") -> None:
    """Raise a ValueError that says what is wrong with an activation's input."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.dim() != 4:
        raise ValueError(f"{name} must have shape (B, C, H, W); got rank {x.dim()} with shape {tuple(x.shape)}")
    if not x.is_floating_point():
        raise ValueError(f"{name} must be a floating-point tensor; got dtype {x.dtype}")
    if x.shape[-2] < 2 or x.shape[-1] < 2:
        raise ValueError(f"{name} needs H >= 2 and W >= 2 for a total variation; got H={x.shape[-2]}, W={x.shape[-1]}")


# Pending checks a context holds before it reads them by itself (bounds its memory).
MAX_PENDING_CHECKS = 1024
# Device types whose tensors the layer reads at once (no device to wait for). The tests empty
# it to run a GPU's path, tensors kept on the device, on the CPU.
READ_AT_ONCE = ("cpu",)


def reads_at_once(x: Tensor) -> bool:
    """Whether reading ``x`` on the host is free (it lives where the host computes)."""
    return x.device.type in READ_AT_ONCE


class DeferredChecks:
    """Checks of device tensors kept on the device: each is a count of failures (0: passed) and
    the message to raise, which may name the count as ``{count}``. :meth:`raise_first` reads
    them all in one transfer; ``where`` (e.g. ``"iteration 12"``) prefixes the messages of the
    checks added while it is set."""

    def __init__(self) -> None:
        self.where = ""
        self._counts: list[Tensor] = []
        self._messages: list[str] = []

    def __len__(self) -> int:
        return len(self._counts)

    def add(self, failures: Tensor, message: str) -> None:
        self._counts.append(failures.detach().reshape(()).to(torch.int64))
        self._messages.append(f"{self.where}: {message}" if self.where else message)
        if len(self._counts) >= MAX_PENDING_CHECKS:
            self.raise_first()

    def raise_first(self) -> None:
        """Read every pending check (one host reading) and raise the first failure's ValueError."""
        if not self._counts:
            return
        device = self._counts[0].device
        counts = torch.stack([count.to(device) for count in self._counts]).cpu().tolist()
        messages = self._messages
        self._counts, self._messages = [], []
        for count, message in zip(counts, messages, strict=True):
            if count:
                raise ValueError(message.format(count=count))


_active = threading.local()


@contextlib.contextmanager
def deferred_checks() -> Iterator[DeferredChecks]:
    """Inside it the layer's checks of GPU tensors (finite input, lambda and step) wait on the
    device instead of stopping the host at every forward; call ``raise_first()`` on what it
    yields to read them (one reading), which also happens on a normal exit. CPU tensors are
    checked at once as outside it (a reading costs nothing there)."""
    checks, previous = DeferredChecks(), getattr(_active, "checks", None)
    _active.checks = checks
    try:
        yield checks
    finally:
        _active.checks = previous
    checks.raise_first()


def _deferring(x: Tensor) -> DeferredChecks | None:
    """The active context where ``x`` lives on a device (reading it would wait), else None."""
    checks = getattr(_active, "checks", None)
    return checks if checks is not None and isinstance(x, Tensor) and not reads_at_once(x) else None


def check_finite(x: Tensor, name: str = "logits") -> None:
    """Raise where ``x`` holds NaN or inf: one such value would spread through the TV coupling
    to the whole image (every output NaN), so it is refused with the count instead."""
    message = (
        f"{name} hold non-finite values (NaN or inf) at {{count}} of {x.numel()} entries; "
        "the TV coupling would spread them to every pixel. Check the network's output (or its input)."
    )
    finite = torch.isfinite(x.detach())  # detached: autograd would keep a copy of x for nothing
    checks = _deferring(x)
    if checks is not None:
        checks.add((~finite).sum(), message)
    elif not bool(finite.all()):
        raise ValueError(message.format(count=int((~finite).sum())))


def check_convergent(lam: float | Tensor, step: float | Tensor, bound: float) -> None:
    """Refuse a fixed-iteration step with ``step * lam`` above ``bound``, where the iteration oscillates."""
    checks = _deferring(lam) or _deferring(step)
    if checks is not None:
        above = torch.as_tensor(step).detach() * torch.as_tensor(lam).detach() > bound * (1 + _BOUND_SLACK)
        checks.add(above, f"step * lam exceeds {bound}, where the iteration stops converging; "
                   "e.g. convergent_step(step, lam) keeps it in range")  # fmt: skip
        return
    product = float(torch.as_tensor(step).detach()) * float(torch.as_tensor(lam).detach())
    if product > bound * (1 + _BOUND_SLACK):
        raise ValueError(
            f"step * lam = {product:g} exceeds {bound}, where the iteration stops converging "
            f"(it oscillates beyond); use step <= {bound / float(torch.as_tensor(lam).detach()):g}, "
            "e.g. convergent_step(step, lam)"
        )


def check_regularization(lam: float | Tensor, step: float | Tensor, iters: int) -> None:
    if isinstance(iters, bool) or not isinstance(iters, int) or iters < 0:
        raise ValueError(f"iters must be a non-negative int; got {iters!r}")
    for name, value in (("lam", lam), ("step", step)):
        tensor = torch.as_tensor(value).detach()
        checks = _deferring(tensor) if tensor.numel() == 1 else None
        if checks is not None:  # (a tensor's repr would read it: the message names no value)
            checks.add(~(torch.isfinite(tensor) & (tensor > 0)), f"{name} must be one positive finite number")
        elif tensor.numel() != 1 or not torch.isfinite(tensor).all() or (tensor <= 0).any():
            raise ValueError(f"{name} must be one positive finite number; got {value!r}")


def tv_softmax_eager(logits: Tensor, lam: float | Tensor, step: float | Tensor, iters: int) -> Tensor:
    """The iteration written plainly with autograd-tracked tensor ops; the reference for the fast path."""
    probs = torch.softmax(logits, dim=1)
    eta = torch.zeros_like(grad(probs)) if iters else None
    for _ in range(iters):
        eta = project_unit_disk(eta - step * grad(probs))
        probs = torch.softmax(logits - lam * div(eta), dim=1)
    return probs


def tv_relu_eager(x: Tensor, lam: float | Tensor, step: float | Tensor, iters: int) -> Tensor:
    activation = torch.relu(x)
    eta = torch.zeros_like(grad(activation)) if iters else None
    for _ in range(iters):
        eta = project_unit_disk(eta - step * grad(activation))
        activation = torch.relu(x - lam * div(eta))
    return activation


def tv_energy(probs: Tensor, logits: Tensor, lam: float | Tensor) -> Tensor:
    """Energy of Eq. 3.4 per batch item: ``-<A,o> + <A,log A> + lam * sum_c TV_iso(A_c)``."""
    g = grad(probs)
    tv = torch.sqrt((g * g).sum(dim=-3)).sum(dim=(1, 2, 3))
    entropy_term = torch.special.xlogy(probs, probs).sum(dim=(1, 2, 3))
    return -(probs * logits).sum(dim=(1, 2, 3)) + entropy_term + lam * tv
