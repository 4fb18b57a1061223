"""The band scaling q ~ sqrt(b / beta) between the lines g_chi and g_q (step 9e).

The closed form of b comes from the engine's expansion of the finite-beta equations; it is
checked against the finite-beta solutions themselves, followed in beta up to 1e6 and
extrapolated in powers of beta^-1/2 (an independent computation: quadrature of the full
equations, no expansion).
"""
import math

import numpy as np
import pytest
import sympy as sp

from numerics.continuation import continuation, solve
from numerics.zero_temperature import band_b, lines, scalings, solve_zero_temperature
from theory.kernels import derived_model
from theory.model import ModelError, Point, make_model
from theory.replica.band import band_limits, band_scaling
from theory.replica.landau import c1, c3
from theory.symbols import g, gamma


@pytest.fixture(scope="module")
def band():
    return band_scaling(derived_model(make_model("tanh"), "finite", "paramagnetic"))


def test_b_closed_form_and_its_zeros_are_the_two_lines(band):
    expected = c1**3 * (c1**2 * g**2 * (1 + gamma)**2 - 1) / (
        6 * c3 * g**2 * (1 + gamma) * (c1**2 * g**2 * (1 + gamma) - 1))
    assert sp.simplify(band.b - expected) == 0
    lim = band_limits(band)
    assert [sp.simplify(r - 1 / (c1 * (1 + gamma))) for r in lim["b_zero"]] == [0]
    assert [sp.simplify(r**2 - 1 / (c1**2 * (1 + gamma))) for r in lim["b_pole"]] == [0]
    # gamma = 0: the band is empty (b < 0 for c3 < 0 at every g)
    b0 = sp.simplify(band.b.subs(gamma, 0))
    assert sp.simplify(b0 - c1**3 / (6 * c3 * g**2)) == 0
    # the leading conjugates solve the leading-order equations exactly
    for e in band.system[:-1]:
        assert sp.simplify(e.subs(band.solution)) == 0


def test_leading_conjugates_join_the_landau_ones_at_g_q(band):
    """At g = g_q the band's r and rh equal the Landau leading values of the q - Q finite
    branch (r -> -c1, rh -> gamma/(c1 (1+gamma))), and q qh -> gamma/(2 (1+gamma))."""
    lead = {v.name: e for v, e in band.leading.items()}
    at_gq = {g: 1 / (c1 * sp.sqrt(1 + gamma))}
    assert sp.simplify(lead["r"].subs(at_gq) + c1) == 0
    assert sp.simplify(lead["rh"] - gamma / (c1 * (1 + gamma))) == 0
    from theory.replica.landau import eps
    assert sp.simplify((lead["qh"] * eps).subs(at_gq) - gamma / (2 * (1 + gamma))) == 0


def _beta_path(phi, gamma_value, g_value, betas):
    pts = [Point(g=g_value, gamma=gamma_value, beta=float(b)) for b in betas]
    start = solve(phi, pts[0], branch="paramagnetic")
    assert start.success, start.message
    x0 = [start.x[k] for k in ("q", "r", "qh", "rh")]
    out = list(continuation(phi, pts, kind="finite", branch="paramagnetic", x0=x0))
    assert all(r.success for r in out), [r.message for r in out if not r.success][:1]
    return out


@pytest.mark.parametrize("phi", ["tanh", "erf"])
def test_finite_beta_solution_follows_the_band(phi):
    """gamma = 0.3, g midway between the lines: beta q^2 -> b with corrections in powers of
    beta^-1/2 (measured: 4-term fit on beta in [5.6e3, 1e6] within 1.5e-5 of b, leading
    correction exponent -0.49); r, rh, q qh tend to the band's leading values."""
    ln = lines(phi, 0.3)
    gv = 0.5 * (ln["g_chi"] + ln["g_q"])
    betas = np.logspace(1, 6, 21)
    path = _beta_path(phi, 0.3, gv, betas)
    v = np.array([r.point["beta"] * r.x["q"]**2 for r in path])
    bb = band_b(phi, gv, 0.3)
    sel = [-10, -7, -4, -1]
    A = np.vstack([betas[sel]**(-k / 2) for k in range(4)]).T
    fit = np.linalg.solve(A, v[sel])[0]
    assert abs(fit - bb) < 1e-4 * bb
    slope = math.log((bb - v[-1]) / (bb - v[-5])) / math.log(betas[-1] / betas[-5])
    assert abs(slope + 0.5) < 0.05
    zt = solve_zero_temperature(phi, Point(g=gv, gamma=0.3, beta=math.inf))
    assert zt.success and zt.kind == "band" and zt.residual_norm < 1e-12
    last = path[-1].x
    assert abs(last["r"] - zt.x["r"]) < 2e-3
    assert abs(last["rh"] - zt.x["rh"]) < 2e-3
    assert abs(last["q"] * last["qh"] - zt.x["q_qh"]) < 2e-3


def test_classification_of_the_zero_temperature_scalings():
    inf = math.inf
    # gamma > 0: exactly one scaling off the lines (g_chi = 0.769, g_q = 0.877 at 0.3)
    assert scalings("tanh", Point(g=0.7, gamma=0.3, beta=inf)) == ["laplace"]
    assert scalings("tanh", Point(g=0.8, gamma=0.3, beta=inf)) == ["band"]
    assert scalings("tanh", Point(g=0.9, gamma=0.3, beta=inf)) == ["chaotic"]
    # gamma = 0: no band
    assert scalings("tanh", Point(g=0.9, gamma=0.0, beta=inf)) == ["laplace"]
    assert scalings("tanh", Point(g=1.1, gamma=0.0, beta=inf)) == ["chaotic"]
    # gamma < 0: the three coexist between g_q = 1.195 and g_chi = 1.429
    assert scalings("tanh", Point(g=1.3, gamma=-0.3, beta=inf)) == ["laplace", "band", "chaotic"]
    res = solve_zero_temperature("tanh", Point(g=1.3, gamma=-0.3, beta=inf))
    assert not res.success and "coexist" in res.message


def test_bad_input_is_refused():
    with pytest.raises(ModelError):
        scalings("tanh", Point(g=0.8, gamma=0.3, beta=math.inf, eta=0.1))
    with pytest.raises(ModelError):
        solve_zero_temperature("tanh", Point(g=0.8, gamma=0.3, beta=10.0))
    with pytest.raises(ModelError):
        lines("tanh", -1.0)
    out = solve_zero_temperature("tanh", Point(g=0.7, gamma=0.3, beta=math.inf))
    assert out.success and out.extra["scaling"] == "laplace"


def test_zero_temperature_branches_with_replicon_limits():
    """beta = inf branches: each scaling with a solution, and the replicon limit along the
    beta path on the one it follows: collapsed stable, band marginal (replicon ~ beta^-1/2),
    gamma = -0.3 between the lines three scalings with the path on q finite, unstable."""
    from numerics.zero_temperature import branches_zero_temperature
    inf = math.inf
    rep = branches_zero_temperature("tanh", Point(g=0.7, gamma=0.3, beta=inf))
    (b,) = rep.branches
    assert b.scaling == "laplace" and b.followed_by_path and b.stable is True and b.replicon > 0.2
    rep = branches_zero_temperature("tanh", Point(g=0.82, gamma=0.3, beta=inf))
    (b,) = rep.branches
    assert b.scaling == "band" and b.stable is None and abs(b.replicon_exponent + 0.5) < 0.05
    rep = branches_zero_temperature("tanh", Point(g=1.3, gamma=-0.3, beta=inf))
    assert [b.scaling for b in rep.branches] == ["laplace", "band", "chaotic"]
    assert rep.path_scaling == "chaotic" and all(b.solution.success for b in rep.branches)
    cha = rep.branches[2]
    assert cha.stable is False and cha.replicon < -0.1
    assert [b.followed_by_path for b in rep.branches] == [False, False, True]
    assert "UNSTABLE" in rep.note
