"""Smoke test of the Monte Carlo baseline (benchmarks/published_mc.py).

At g = 0.9, gamma = 0 (ordered phase) the zero-temperature solution is q = 0 and
chi = 1/(1 - g^2); a small Monte Carlo run must land on it within its own error: the spread
of chi over its last iterations plus the sampling error of the last update.
"""
import math
import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "benchmarks"))

import published_mc as pm  # noqa: E402


def test_golden_section_finds_elementwise_maxima():
    c = np.linspace(-3.0, 3.0, 7)
    x = pm.golden_section_max(lambda t: -(t - c) ** 2, np.full(7, -10.0), np.full(7, 10.0), tol=1e-10)
    assert np.max(np.abs(x - c)) < 1e-8


def test_ordered_phase_lands_on_exact_chi():
    g = 0.9
    exact = 1.0 / (1.0 - g * g)
    r = pm.run(g, 0.0, n_samples=300, n_iter=150, seed=0)
    assert all(s.finite for s in r.states)
    s = pm.summary(r, k=20, exact_chi=exact)
    err_bar = s["chi_tail_std"] + s["chi_mc_stderr_last"]
    assert 0 < err_bar < 1e-2                      # the error bar itself is meaningful
    assert abs(s["chi"] - exact) < 3 * err_bar
    assert s["q"] < 1e-6
    assert s["samples_at_bracket_edge_last"] == 0
    assert math.isfinite(s["seconds_per_iteration"])


def test_states_carry_mc_errors_and_are_reproducible():
    a = [st.theta["chi"] for st in pm.iterate(0.9, 0.0, n_samples=200, n_iter=5, seed=3)]
    b = [st.theta["chi"] for st in pm.iterate(0.9, 0.0, n_samples=200, n_iter=5, seed=3)]
    assert a == b
    st = next(pm.iterate(1.2, 0.0, n_samples=200, n_iter=1, seed=0))
    assert st.stderr["chi"] > 0 and st.stderr["q"] > 0


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
