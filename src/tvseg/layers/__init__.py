"""TV-regularized activations: functional forms and thin modules."""

from tvseg.layers._functional import tv_relu, tv_softmax
from tvseg.layers._native import native_build
from tvseg.layers._operators import (
    DEFAULT_BACKWARD_TOL,
    SOFTMAX_STEP_LAM_BOUND,
    DeferredChecks,
    convergent_step,
    deferred_checks,
    div,
    grad,
    project_unit_disk,
    tv_energy,
)
from tvseg.layers._solver import (
    DEFAULT_MAX_ITERS,
    DEFAULT_METHOD,
    Certificate,
    ConvergenceWarning,
    NotConvergedError,
    Solution,
    SolveReport,
    certificate,
    resolve_method,
    solve,
)
from tvseg.layers.modules import TVReLU, TVSoftmax

__all__ = [
    "DEFAULT_BACKWARD_TOL",
    "DEFAULT_MAX_ITERS",
    "DEFAULT_METHOD",
    "SOFTMAX_STEP_LAM_BOUND",
    "Certificate",
    "ConvergenceWarning",
    "NotConvergedError",
    "Solution",
    "SolveReport",
    "certificate",
    "resolve_method",
    "solve",
    "TVReLU",
    "TVSoftmax",
    "convergent_step",
    "DeferredChecks",
    "deferred_checks",
    "div",
    "grad",
    "native_build",
    "project_unit_disk",
    "tv_energy",
    "tv_relu",
    "tv_softmax",
]
