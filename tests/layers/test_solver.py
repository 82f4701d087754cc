import numpy as np
import pytest
import scipy.sparse as sp
import torch

from tvseg.layers import tv_softmax
from tvseg.layers._solver import certificate, solve

cp = pytest.importorskip("cvxpy", reason="CVXPY (a test-only extra: pip install cvxpy clarabel) is not installed")


def _difference(n: int) -> sp.csr_matrix:
    d = sp.lil_matrix((n, n))
    for i in range(n - 1):
        d[i, i], d[i, i + 1] = -1.0, 1.0
    return d.tocsr()


def convex_reference(o: np.ndarray, lam: float) -> np.ndarray:
    """Eq. 3.4 solved by a general conic solver (Clarabel through CVXPY)."""
    c, h, w = o.shape
    d_rows = sp.kron(_difference(h), sp.identity(w)).tocsr()
    d_cols = sp.kron(sp.identity(h), _difference(w)).tocsr()
    a = cp.Variable((c, h * w))
    tv = sum(cp.sum(cp.norm(cp.vstack([d_rows @ a[k], d_cols @ a[k]]), 2, axis=0)) for k in range(c))
    objective = -cp.sum(cp.multiply(a, o.reshape(c, -1))) - cp.sum(cp.entr(a)) + lam * tv
    problem = cp.Problem(cp.Minimize(objective), [cp.sum(a, axis=0) == 1, a >= 0])
    problem.solve(solver="CLARABEL", tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10)
    return a.value.reshape(c, h, w)


@pytest.mark.parametrize("lam", [0.5, 2.0, 8.0])
def test_converged_output_equals_a_general_convex_solver(lam):
    o = np.random.default_rng(int(lam * 10)).normal(size=(3, 6, 6)) * 1.5
    solution = solve(torch.tensor(o)[None], lam, tol=1e-9, max_iters=50_000)
    assert solution.converged
    assert np.abs(solution.probs[0].numpy() - convex_reference(o, lam)).max() < 1e-4


def test_certificate_bounds_the_distance_to_the_optimum():
    o = torch.tensor(np.random.default_rng(1).normal(size=(1, 3, 6, 6)) * 2.0)
    lam = 2.0
    best = solve(o, lam, tol=1e-12, max_iters=50_000)
    optimum = certificate(o, best.probs, best.eta, lam).energy
    for iters in (1, 10, 100):
        # The plain method at step * lam = 0.5 is the paper's iteration with step 0.25 at lam 2.
        rough = solve(o, lam, tol=0.0, max_iters=iters, method="plain")
        assert torch.allclose(rough.probs, tv_softmax(o, lam, 0.25, iters), atol=1e-12)
        cert = certificate(o, rough.probs, rough.eta, lam)
        assert float(cert.gap) >= 0
        assert float(cert.energy - optimum) <= float(cert.gap) + 1e-9  # the gap is an upper bound


def test_fista_needs_far_fewer_iterations_than_the_plain_iteration():
    o = torch.tensor(np.random.default_rng(2).normal(size=(1, 3, 16, 16)) * 2.0)
    counts = {
        m: solve(o, 2.0, tol=1e-6, max_iters=20_000, method=m, check_every=5).iterations for m in ("fista", "plain")
    }
    assert counts["fista"] * 3 < counts["plain"], counts
