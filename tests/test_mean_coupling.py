"""Mean coupling J0 without input: the magnetised RS branch, checked independently.

At gamma = 0 the RS solutions have qh = Qh = rh = Rh = k = mh = 0 and the site variable of a
replica is Gaussian: x = A + sqrt(v) xi with the shared field A ~ N(g J0 m, g^2 Q) and
v = (1 + beta g^2 (q - Q)) / beta. Then m = E tanh x, q = E tanh^2 x, Q = E_A (E[tanh x | A])^2,
a three-equation system solved here by Gauss-Hermite quadrature and plain iteration (no
generated code). The free energy of every such solution is -(1/2 beta) ln(2 pi / beta): the
Gaussian integral over x cancels the rest of the functional.
"""
import math

import numpy as np
import pytest

from numerics.branches import branches
from theory.model import Point, make_model


def _gaussian_site_solution(g, J0, beta, m=1.0, q=1.0, Q=1.0, iters=3000):
    z, w = np.polynomial.hermite_e.hermegauss(80)
    w = w / w.sum()
    for _ in range(iters):
        v = (1 + beta * g * g * (q - Q)) / beta
        A = g * J0 * m + g * math.sqrt(max(Q, 0.0)) * z            # outer nodes
        x = A[:, None] + math.sqrt(v) * z[None, :]                   # inner nodes
        t = np.tanh(x)
        inner1, inner2 = t @ w, (t * t) @ w
        m_new, q_new, Q_new = w @ inner1, w @ inner2, w @ inner1**2
        m, q, Q = 0.5 * (m + m_new), 0.5 * (q + q_new), 0.5 * (Q + Q_new)
    return m, q, Q


@pytest.mark.parametrize("J0", [3.0, 2.5])
def test_magnetised_branch_found_and_matches_gaussian_site_equations(J0):
    g, beta = 0.5, 10.0
    model = make_model("tanh", mean_coupling=True)
    rep = branches(model, Point(g=g, gamma=0.0, beta=beta, J0=J0))
    names = [b.name for b in rep.branches]
    assert names == ["Q = 0", "Q > 0"], (names, rep.failures)
    mag = rep.branches[1].solution
    m_ref, q_ref, Q_ref = _gaussian_site_solution(g, J0, beta)
    assert abs(m_ref) > 0.4                                            # magnetised
    assert abs(abs(mag.x["m"]) - abs(m_ref)) < 1e-9
    assert abs(mag.x["q"] - q_ref) < 1e-9 and abs(mag.x["Q"] - Q_ref) < 1e-9
    f_exact = -math.log(2 * math.pi / beta) / (2 * beta)
    for b in rep.branches:
        assert abs(b.solution.free_energy - f_exact) < 1e-12


def test_no_magnetised_branch_below_the_mean_field_threshold():
    """g J0 = 1 at beta = 10: the Gaussian-site iteration from m = 1 decays to m = 0 and
    the search reports no Q > 0 branch."""
    g, J0, beta = 0.5, 2.0, 10.0
    m_ref, _, _ = _gaussian_site_solution(g, J0, beta)
    assert abs(m_ref) < 1e-6
    rep = branches(make_model("tanh", mean_coupling=True), Point(g=g, gamma=0.0, beta=beta, J0=J0))
    assert [b.name for b in rep.branches] == ["Q = 0"] and "Q > 0" in rep.failures
