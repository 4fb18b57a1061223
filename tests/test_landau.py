"""Landau expansion of the q - Q finite (chaotic) Q = 0 branch around q = 0."""
import math

import pytest
import sympy as sp

from theory.kernels import derived_model
from theory.model import make_model
from theory.replica.landau import c1, c3, landau_deterministic
from theory.symbols import gamma


@pytest.fixture(scope="module")
def landau():
    return landau_deterministic(derived_model(make_model("tanh"), "chaotic", "paramagnetic"))


def test_gamma0_critical_coupling_is_one_over_phi_prime(landau):
    gc = landau.g_c.subs(gamma, 0)
    assert sp.simplify(gc**2 - 1 / c1**2) == 0
    # leading order of the conjugates at the onset: qh ~ gamma/(2 (1+gamma) q) etc. vanish at gamma = 0
    for v, val in landau.leading.items():
        if v.name in ("qh", "rh"):
            assert sp.simplify(val.subs(gamma, 0)) == 0


def test_critical_manifold_closed_form(landau):
    """g_c = 1/(c1 sqrt(1 + gamma)) for any odd phi; checked against the numerical onset."""
    assert sp.simplify(landau.g_c**2 - 1 / (c1**2 * (1 + gamma))) == 0
    assert landau.g_c.subs({c1: 1, gamma: sp.Rational(3, 10)}).is_positive
    from numerics.transition import g_q
    for gv in (0.3, -0.3):
        gq, amp, info = g_q("tanh", gv, g_guess=1 / math.sqrt(1 + gv))
        exact = float(landau.g_c.subs({c1: 1, gamma: sp.Rational(str(gv))}))
        # the 1e-12 target (measured 1.4e-13 and 2.4e-13 for gamma = 0.3, -0.3 with the
        # default 25-digit polish of g(q); 1.5e-12 at gamma = -0.3 without it)
        assert abs(gq - exact) < 1e-12 and info["extrapolation_error"] < 1e-11


def test_leading_conjugates_match_numerics(landau):
    """Near the onset: r -> -c1, rh -> gamma/(c1 (1+gamma)), q qh -> gamma/(2 (1+gamma))."""
    lead = {v.name: e for v, e in landau.leading.items()}
    assert sp.simplify(lead["r"] + c1) == 0
    assert sp.simplify(lead["rh"] - gamma / (c1 * (1 + gamma))) == 0


@pytest.fixture(scope="module")
def amplitude():
    from theory.replica.landau import landau_amplitude
    return landau_amplitude(derived_model(make_model("tanh"), "chaotic", "paramagnetic"))


def test_amplitude_closed_form_and_gamma0_cavity_limit(amplitude):
    """A = -c1^4 sqrt(1+gamma)/(c3 (3+gamma)); at gamma = 0 it is the small-q expansion of
    the static cavity equation q = E phi(g sqrt(q) z)^2: q (1 - c1^2 g^2) = 6 c1 c3 g^4 q^2,
    i.e. A = -c1^4/(3 c3) independently of the engine."""
    from theory.replica.landau import c1, c3
    expected = -c1**4 * sp.sqrt(1 + gamma) / (c3 * (3 + gamma))
    val = {c1: sp.Rational(7, 5), c3: sp.Rational(-2, 9)}
    for gv in (sp.Rational(-1, 2), 0, sp.Rational(3, 10), sp.Rational(9, 10)):
        assert sp.simplify((amplitude.amplitude - expected).subs({**val, gamma: gv})) == 0
    for a, b in ((1, sp.Rational(-1, 3)), (sp.Rational(7, 5), sp.Rational(-2, 9)), (2, sp.Rational(1, 4))):
        assert sp.simplify(amplitude.amplitude.subs({gamma: 0, c1: a, c3: b}) + a**4 / (3 * b)) == 0
    assert sp.simplify(amplitude.g_c**2 - 1 / (c1**2 * (1 + gamma))) == 0


@pytest.mark.parametrize("phi, gv", [("tanh", 0.3), ("tanh", -0.3), ("erf", 0.3)])
def test_amplitude_matches_numerical_extrapolation(phi, gv):
    """Landau amplitude against the Richardson extrapolation of the solved chaotic branch
    (independent numerics: g(q) at q = 8e-3/2^k)."""
    from numerics.transition import amplitude_landau, g_q
    gq_l, amp_l, _ = amplitude_landau(phi, gv, digits=20)
    gq, amp, info = g_q(phi, gv, g_guess=float(gq_l))
    assert info["polish_digits"] == 25
    assert abs(float(gq_l) - gq) < 1e-12          # measured 1.0e-14 (erf), 1.4e-13, 2.4e-13
    # measured |difference| 5e-10 .. 2e-9 (Richardson of (g - g_q)/q loses one order)
    assert abs(float(amp_l) - amp) < 1e-8, (float(amp_l), amp)
    # the fitted exponent of q ~ (g - g_q)^b is the mean-field 1 (Landau: analytic g(q))
    assert abs(info["exponent"] - 1) < 2e-3, info["exponent"]


def test_fixed_q_polish_removes_the_double_rounding():
    """g(q) on the chaotic branch at q = 5e-4 (tanh, gamma = -0.3), reached by halving q from
    a solved point as g_q does: the residual of the double solution, evaluated at 30 digits
    (mpmath twin), is ~1e-12 although the double residual says ~1e-14; one polishing step at
    25 digits brings it to the rounding of the double-stored unknowns and moves g by the
    amount that rounding had cost (~4e-13 here; < 1e-11)."""
    import mpmath
    import numpy as np

    from numerics.continuation import solve
    from numerics.precision import MPProblem
    from numerics.transition import g_of_q
    from theory.model import Point
    m, gv = make_model("tanh"), -0.3
    r = solve(m, Point(g=1.1 / math.sqrt(1 + gv), gamma=gv, beta=math.inf), kind="chaotic",
              branch="paramagnetic")
    assert r.success
    names = list(r.x)[:4]
    xs, g0, qv = np.array([r.x[n] for n in names if n != "q"]), r.point["g"], r.x["q"]
    while qv > 1e-3:
        g0, xs, _ = g_of_q(m, qv / 2, gv, g0, xs, q_start=qv)
        qv /= 2
    g_d, x_d, res_d = g_of_q(m, 5e-4, gv, g0, xs, q_start=qv)
    g_p, x_p, res_p = g_of_q(m, 5e-4, gv, g0, xs, q_start=qv, polish_digits=25)

    def mp_residual(gval, rest):
        with mpmath.workdps(30):
            prob = MPProblem(m, Point(g=gval, gamma=gv, beta=math.inf), "chaotic", "paramagnetic")
            th = [mpmath.mpf(float(t)) for t in np.insert(rest, names.index("q"), 5e-4)]
            return max(abs(float(v)) for v in prob.residuals(th)[0])

    before, after = mp_residual(g_d, x_d), mp_residual(g_p, x_p)
    assert res_d < 1e-13 < before      # the double residual does not see its own rounding
    assert after < before / 20, (before, after)
    assert 0 < abs(g_p - g_d) < 1e-11


@pytest.mark.parametrize("phi, c1_value", [("tanh", 1), ("tanh(2*x)", 2)])
def test_collapsed_response_line_closed_form(phi, c1_value):
    """The engine's q = 0 collapsed equations give chi in closed form: at gamma = 0 the
    phi-fluctuation of E = |(1 - g c1 J) x|^2/2, chi = c1^2/(1 - c1^2 g^2) (THEORY.md
    section 3 for c1 = 1), and a divergence on g c1 (1 + gamma) = 1."""
    from theory.replica.landau import response_line
    from theory.symbols import g
    res = response_line(derived_model(make_model(phi), "laplace", "full"))
    assert sp.simplify(res.g_chi - sp.Rational(1, c1_value) / (1 + gamma)) == 0
    assert sp.simplify(res.chi.subs(gamma, 0) - c1_value**2 / (1 - c1_value**2 * g**2)) == 0
    # against the numerical 30-digit extrapolation at gamma = 0.3 (tanh)
    if phi == "tanh":
        from numerics.transition import response_chi
        val = response_chi(make_model(phi), sp.Rational(7, 10), 0.3, digits=20)["chi"]
        exact = res.chi.subs({g: sp.Rational(7, 10), gamma: sp.Rational(3, 10)})
        assert abs(float(val) - float(exact)) < 1e-15 * abs(float(exact))


def test_collapsed_q_zero_solution_is_regular_below_the_response_line():
    """Within the collapsed scaling q cannot leave zero before g_chi: the Jacobian of all
    eight equations at the q = 0 solution is non-singular on (0, g_chi) (no sign change of
    det on a grid) and tends to singular at g_chi = 1/(1 + gamma), where chi diverges."""
    from theory.replica.landau import collapsed_linearisation
    lin = collapsed_linearisation(derived_model(make_model("tanh"), "laplace", "full"))
    for gv in (0.3, -0.3):
        gchi = 1 / (1 + gv)
        dets = [lin.det(f * gchi, gv) for f in (0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.99)]
        assert all(d_ > 0 for d_ in dets) or all(d_ < 0 for d_ in dets), dets
        near = abs(lin.det(gchi * (1 - 1e-4), gv))     # at g_chi itself chi is infinite
        assert near < 1e-6 * max(abs(d_) for d_ in dets), (near, dets)
