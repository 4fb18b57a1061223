"""Static cavity and SCS dynamic mean field: known values and independent routes."""
import math

import numpy as np
import pytest

from numerics.dmft import (correlation, delta0, delta0_shooting, gauss_hermite, lyapunov_dmft,
                           static_cavity, static_q)


def test_static_q_tanh_g12():
    q = static_q(1.2, "tanh")
    assert abs(q - 0.1732729446) < 1e-9
    # converged in the number of nodes
    assert abs(static_q(1.2, "tanh", n=160) - static_q(1.2, "tanh", n=300)) < 1e-13


def test_static_q_erf_closed_form():
    """phi = erf(sqrt(pi) x/2): E_z phi(a z)^2 = (2/pi) arcsin(pi a^2 / (2 + pi a^2))."""
    from scipy.optimize import brentq
    for g in (1.1, 1.5, 3.0):
        def F(q):
            a2 = g * g * q
            return 2 / math.pi * math.asin(math.pi * a2 / (2 + math.pi * a2)) - q
        exact = brentq(F, 1e-9, 1.0, xtol=1e-15, rtol=1e-15)
        assert abs(static_q(g, "erf") - exact) < 1e-12


def test_static_q_zero_below_transition():
    assert static_q(0.9) == 0.0


def test_static_cavity_gamma():
    c0 = static_cavity(1.2, 0.0)
    assert c0.success and abs(c0.q - static_q(1.2)) < 1e-10
    # with the Onsager reaction q leaves zero at g (1 + gamma) = 1 (gamma = 0.3: g = 0.769)
    lo = static_cavity(0.74, 0.3, q0=0.3)
    hi = static_cavity(0.82, 0.3, q0=0.3)
    assert hi.success and hi.q > 1e-3 and not hi.multiple_roots
    assert lo.q < 1e-8
    # the solution satisfies its own equations at the quadrature nodes
    z, w = gauss_hermite(160)
    x = np.sqrt(0.82 ** 2 * hi.q) * z
    for _ in range(200):
        x = np.sqrt(0.82 ** 2 * hi.q) * z + hi.c * np.tanh(x)
    assert abs(w @ np.tanh(x) ** 2 - hi.q) < 1e-10


def test_correlation_limits():
    D0 = 0.7
    zz, ww = gauss_hermite(160)
    # Delta = Delta0: E phi^2; Delta = 0: (E phi)^2 = 0 for odd phi
    assert abs(correlation(D0, D0, np.tanh, n=160) - ww @ np.tanh(np.sqrt(D0) * zz) ** 2) < 1e-12
    assert abs(correlation(0.0, D0, np.tanh)) < 1e-14
    # linear phi: C = Delta exactly
    assert abs(correlation(0.3, D0, lambda x: x) - 0.3) < 1e-12


def test_delta0_two_routes():
    """Energy condition (uses Phi) against the separatrix of the force equation (does not)."""
    g = 1.5
    d = delta0(g)
    s = delta0_shooting(g, lo=0.95 * d, hi=1.05 * d, tol=1e-6, n=40)
    assert abs(s / d - 1) < 1e-5
    # Delta0 grows from 0 at g = 1
    assert delta0(1.0) == 0.0 and 0 < delta0(1.05) < delta0(1.2) < d


def test_lyapunov_dmft_zero_mode_and_sign():
    r = lyapunov_dmft(1.5, tau_max=40.0, dtau=0.01)
    # Delta'(tau) is an exact zero mode of the stability operator: E1 = 0
    assert abs(r.E1) < 1e-4
    assert r.E0 < 0 and r.lyapunov > 0
    r2 = lyapunov_dmft(2.0, tau_max=40.0, dtau=0.01)
    assert r2.lyapunov > r.lyapunov
