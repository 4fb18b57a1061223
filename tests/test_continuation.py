"""Continuation in beta to beta = 1e8 with the power-law predictor."""
import math

import numpy as np
import pytest

from numerics.continuation import _predict, continuation, solve
from numerics.zero_temperature import band_b
from theory.model import Point


def test_predictor_is_exact_for_powers_of_beta_and_linear_in_g():
    pa, pb, pc = (Point(g=0.9, gamma=0.0, beta=b) for b in (1e3, 10**3.25, 10**3.75))
    law = lambda p: np.array([5.0 / p.beta, -0.7 * p.beta**-0.5, 0.3, 2.0 * p.beta])  # noqa: E731
    pred = _predict(pa, law(pa), pb, law(pb), pc)
    assert np.allclose(pred, law(pc), rtol=1e-12, atol=0)
    ga, gb, gc = (Point(g=gv, gamma=0.0, beta=10.0) for gv in (0.5, 0.6, 0.8))
    lin = lambda p: np.array([1 + 2 * p.g, -p.g])  # noqa: E731
    assert np.allclose(_predict(ga, lin(ga), gb, lin(gb), gc), lin(gc), rtol=1e-12)
    # a sign change or noise around zero is extrapolated linearly, not as a power
    xa, xb = np.array([1e-20, -1.0]), np.array([1e-12, 1.0])
    out = _predict(pa, xa, pb, xb, pc)
    assert abs(out[0]) < 1e-10 and math.isfinite(out[1])


@pytest.mark.parametrize("g_value, gamma_value, scaling", [
    (0.9, 0.0, "collapsed"), (0.8231, 0.3, "band"), (0.7078, 0.6, "band")])
def test_q_zero_paths_reach_beta_1e8(g_value, gamma_value, scaling):
    """The Q = 0 paths that stalled at beta ~ 2e5 (collapsed, gamma = 0) and ~3e6 (band)
    reach 1e8; there chi = beta q is 1/(1 - g^2) (collapsed, gamma = 0) and beta q^2 is
    within 2e-3 of the band's closed form b (correction ~ beta^-1/2: 7e-3 at 1e6)."""
    betas = np.logspace(1, 8, 29)
    pts = [Point(g=g_value, gamma=gamma_value, beta=float(b)) for b in betas]
    start = solve("tanh", pts[0], branch="paramagnetic")
    path = list(continuation("tanh", pts, kind="finite", branch="paramagnetic",
                             x0=[start.x[k] for k in ("q", "r", "qh", "rh")]))
    assert all(r.success for r in path), [r.message for r in path if not r.success][:1]
    assert path[-1].point["beta"] == pytest.approx(1e8)
    q, beta = path[-1].x["q"], 1e8
    if scaling == "collapsed":
        assert abs(beta * q - 1 / (1 - g_value**2)) < 1e-4
    else:
        b = band_b("tanh", g_value, gamma_value)
        assert abs(beta * q * q - b) < 2e-3 * b
