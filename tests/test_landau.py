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
        assert abs(gq - exact) < 10 * info["extrapolation_error"] + 1e-6


def test_leading_conjugates_match_numerics(landau):
    """Near the onset: r -> -c1, rh -> gamma/(c1 (1+gamma)), q qh -> gamma/(2 (1+gamma))."""
    lead = {v.name: e for v, e in landau.leading.items()}
    assert sp.simplify(lead["r"] + c1) == 0
    assert sp.simplify(lead["rh"] - gamma / (c1 * (1 + gamma))) == 0
