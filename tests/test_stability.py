"""Stability of the Q = 0 solution (onset of inter-replica overlap)."""
import pytest

from numerics.continuation import solve
from numerics.stability import q_zero_instability, q_zero_stability
from theory.model import Point


def test_q_zero_stable_at_gamma0_and_unstable_past_paper_line_for_gamma_negative():
    """gamma = 0: det M > 0 across g; gamma = -0.3 (beta = 10): it changes sign near g(1+gamma) = 1."""
    for g in (0.8, 1.3):
        pt = Point(g=g, gamma=0.0, beta=10.0)
        r = solve("tanh", pt, branch="paramagnetic")
        s = q_zero_stability("tanh", pt, r.x)
        assert s["det"] > 0 and s["cross_coupling"] < 1e-5
    gc = q_zero_instability("tanh", -0.3, 10.0, 1.3, 1.45, xtol=1e-4)
    assert 1.3 < gc < 1.45
