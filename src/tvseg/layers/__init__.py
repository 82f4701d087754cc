"""TV-regularized activations: functional forms and thin modules."""

from tvseg.layers._functional import convergent_step, div, grad, project_unit_disk, tv_energy, tv_relu, tv_softmax
from tvseg.layers._solver import Certificate, Solution, certificate, solve
from tvseg.layers.modules import TVReLU, TVSoftmax

__all__ = [
    "Certificate",
    "Solution",
    "certificate",
    "solve",
    "TVReLU",
    "TVSoftmax",
    "convergent_step",
    "div",
    "grad",
    "project_unit_disk",
    "tv_energy",
    "tv_relu",
    "tv_softmax",
]
