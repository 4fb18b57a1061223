"""Lyapunov sign-change tools: the crossing estimator on synthetic data (value and
coverage of its interval), the batched Benettin integrator against the single-g one, and
the exact linear case lambda_max = -1 + g max Re eig(J)."""
import math

import numpy as np
import pytest

from numerics.chaos import (LyapunovScan, disorder_mean, extrapolate, lyapunov_batch,
                            lyapunov_scan, zero_crossing)
from numerics.couplings import couplings
from numerics.dynamics import lyapunov
from numerics.stats import Estimate


def test_zero_crossing_exact_line():
    gs = np.linspace(0.8, 1.3, 6)
    lam = 0.7 * (gs - 1.0371)
    z = zero_crossing(gs, lam, np.full(6, 1e-6))
    assert abs(z.g - 1.0371) < 1e-12
    assert z.lo < 1.0371 < z.hi and z.hi - z.lo < 1e-4
    assert z.bracket == (1.0, 1.1) and z.n_sign_changes == 1
    assert abs(z.slope - 0.7) < 1e-9
    assert z.dof == 0 and z.chi2 < 1e-12 and z.inside
    z2 = zero_crossing(gs, lam, np.full(6, 1e-6), n_side=3)
    assert abs(z2.g - 1.0371) < 1e-12
    assert z2.dof == 4 and z2.chi2 < 1e-6


def test_zero_crossing_chi2_and_outside_bracket():
    """chi2 is the weighted residual sum of the fitted line, computed here independently;
    a low outlier that makes the last sign change gives a crossing outside the bracket."""
    gs = np.array([0.72, 0.76, 0.80, 0.84, 0.88])
    lam = np.array([-0.0001, 0.0002, -0.0011, 0.0064, 0.0097])
    err = np.array([0.0006, 0.0009, 0.0032, 0.0017, 0.0008])
    z = zero_crossing(gs, lam, err, which="last", n_side=2)
    assert z.bracket == (0.80, 0.84) and z.dof == 2
    x, y, w = gs[1:], lam[1:], 1 / err[1:] ** 2
    coef = np.polyfit(x, y, 1, w=np.sqrt(w))
    assert abs(z.chi2 - np.sum(w * (y - np.polyval(coef, x)) ** 2)) < 1e-9
    assert abs(z.g - (-coef[1] / coef[0])) < 1e-12
    assert not z.inside and z.g < 0.80


@pytest.mark.parametrize("n_side", [1, 2])
def test_zero_crossing_interval_coverage(n_side):
    """Noisy straight lines with known crossing: the 90 % interval covers it in about
    90 % of 600 draws (binomial sd 1.2 %), and the delta-method error matches the spread."""
    rng = np.random.default_rng(0)
    g0, gs = 0.8165, np.linspace(0.6, 1.0, 9)
    sig = 0.002 + 0.003 * rng.random(gs.size)
    hits, est = 0, []
    for _ in range(600):
        lam = 1.5 * (gs - g0) + sig * rng.standard_normal(gs.size)
        z = zero_crossing(gs, lam, sig, level=0.9, n_side=n_side)
        hits += z.lo <= g0 <= z.hi
        est.append((z.g, z.err))
    cover = hits / 600
    assert 0.86 < cover < 0.94, cover
    g, e = np.array(est).T
    assert abs(np.std(g) / np.median(e) - 1) < 0.15


def test_zero_crossing_first_and_last():
    gs = np.array([1.0, 1.1, 1.2, 1.3, 1.4, 1.5])
    lam = np.array([-0.1, 0.05, -0.02, -0.01, 0.1, 0.2])
    err = np.full(6, 1e-3)
    assert zero_crossing(gs, lam, err).bracket == (1.0, 1.1)
    z = zero_crossing(gs, lam, err, which="last")
    assert z.bracket == (1.3, 1.4) and z.n_sign_changes == 3
    assert abs(z.g - (1.3 + 0.01 / 0.11 * 0.1)) < 1e-12


def test_zero_crossing_bad_input():
    gs = np.linspace(0.5, 1.0, 5)
    with pytest.raises(ValueError, match="does not change sign"):
        zero_crossing(gs, -np.ones(5), np.full(5, 0.1))
    with pytest.raises(ValueError, match="not significant"):
        zero_crossing(gs, np.array([-1, -1, -0.01, 0.01, 1.0]), np.array([1, 1, 1, 1, 1.0]))
    with pytest.raises(ValueError, match="equal length"):
        zero_crossing(gs, np.ones(4), np.ones(5))
    with pytest.raises(ValueError, match="increasing"):
        zero_crossing(gs[::-1], gs - 0.7, np.ones(5))
    with pytest.raises(ValueError, match="errors must be > 0"):
        zero_crossing(gs, gs - 0.7, np.zeros(5))
    with pytest.raises(ValueError, match="finite"):
        zero_crossing(gs, np.array([-1, np.nan, 1, 1, 1.0]), np.ones(5))
    with pytest.raises(ValueError, match="which"):
        zero_crossing(gs, gs - 0.7, np.ones(5), which="middle")
    with pytest.raises(ValueError, match="gains"):
        lyapunov_batch(np.eye(3), [-1.0])
    with pytest.raises(ValueError, match="square"):
        lyapunov_batch(np.ones((3, 2)), [1.0])
    with pytest.raises(ValueError, match="distinct N"):
        extrapolate([500, 500], [1.0, 1.1], [0.1, 0.1])


def test_extrapolate_exact():
    Ns = np.array([500, 1000, 2000, 4000])
    y = 0.8165 + 12.0 / Ns
    e = extrapolate(Ns, y, np.full(4, 1e-3))
    assert abs(e.y_inf - 0.8165) < 1e-12 and abs(e.c - 12.0) < 1e-9 and e.dof == 2
    assert e.chi2 < 1e-20
    e = extrapolate(Ns, 1.0 + 3.0 / np.sqrt(Ns), np.full(4, 1e-3), power=0.5)
    assert abs(e.y_inf - 1.0) < 1e-12
    # the error of y_inf for two points follows from the 2x2 solve: check by hand
    e = extrapolate([1000, 2000], [1.1, 1.05], [0.01, 0.02])
    x1, x2 = 1e-3, 5e-4        # y_inf = (x1 y2 - x2 y1)/(x1 - x2)
    assert abs(e.y_inf - (x1 * 1.05 - x2 * 1.1) / (x1 - x2)) < 1e-12
    assert abs(e.err - math.hypot(x1 * 0.02, x2 * 0.01) / (x1 - x2)) < 1e-12


def test_disorder_mean_equal_weights():
    ests = [Estimate(-0.01, 1e-6), Estimate(0.05, 0.005), Estimate(0.02, 0.004)]
    d = disorder_mean(ests)
    assert abs(d.mean - 0.02) < 1e-15
    assert abs(d.err - np.std([-0.01, 0.05, 0.02], ddof=1) / math.sqrt(3)) < 1e-15


def test_batch_equals_single_g_benettin():
    """Batching gains over rows does not change the arithmetic: same rates as
    numerics.dynamics.lyapunov (k = 1) from the same x0 and v0."""
    N = 120
    J = couplings(N, 0.5, rng=np.random.default_rng(1))
    x0 = np.random.default_rng(2).standard_normal(N)
    gs = [0.5, 1.2, 2.0]
    kw = dict(t_transient=10.0, t_total=20.0, dt=0.05, renorm=1.0)
    b = lyapunov_batch(J, gs, x0=x0, v0=np.random.default_rng(3).standard_normal(N), **kw)
    for i, g in enumerate(gs):
        r = lyapunov(J, g, x0=x0, rng=np.random.default_rng(3), **kw)   # draws v0 first
        np.testing.assert_allclose(b.rates[:, i], r.rates[:, 0], rtol=0, atol=1e-9)
        assert abs(b.lam[i].mean - r.lmax.mean) < 1e-10
    assert b.lam[0].mean < -0.3


def test_linear_crossing_is_inverse_spectral_edge():
    """Linear phi: lambda_max(g) = -1 + g mu, mu = max Re eig(J), so the measured
    crossing must contain 1/mu (mu from an independent eigenvalue computation)."""
    N, gamma = 200, 0.5
    J = couplings(N, gamma, rng=np.random.default_rng(7))
    mu = float(np.max(np.linalg.eigvals(J).real))
    gs = np.array([0.6, 0.64, 0.68, 0.72])
    assert gs[0] < 1 / mu < gs[-1]
    b = lyapunov_batch(J, gs, t_transient=0.0, t_align=150.0, t_total=400.0, dt=0.1,
                       renorm=2.0, phi="linear", rng=8)
    lam = np.array([e.mean for e in b.lam])
    err = np.array([e.err for e in b.lam])
    assert np.all(np.abs(lam - (-1 + gs * mu)) < 4 * err + 1e-3)
    z = zero_crossing(gs, lam, err, level=0.99)
    assert z.lo <= 1 / mu <= z.hi, (z, 1 / mu)
    assert z.hi - z.lo < 0.02


def test_scan_roundtrip_and_average():
    s = lyapunov_scan(60, [0.5, 2.0], 0.0, seeds=(0, 1), t_transient=5.0, t_align=100.0,
                      t_total=100.0, progress=False, spectrum=True)
    assert s.lam.shape == (2, 2) and np.all(np.isfinite(s.mu))
    assert np.allclose(s.mean, s.lam.mean(axis=0))
    t = LyapunovScan.from_dict(s.to_dict())
    np.testing.assert_array_equal(t.lam, s.lam)
    assert t.params == s.params and t.seeds == s.seeds
    # ordered phase at g = 0.5: the zero fixed point, lambda = -1 + 0.5 mu
    np.testing.assert_allclose(s.lam[:, 0], -1 + 0.5 * s.mu, atol=0.02)


def test_other_initial_states_same_network_agree_where_x0_is_attracting():
    """init_seed changes only x0, v0: at g = 0.5 (every start falls to x = 0) lambda_max is
    -1 + 0.5 max Re eig(J) whatever the start, and the runs differ in their initial state."""
    from numerics.chaos import lyapunov_scan
    a = lyapunov_scan(80, [0.5], 0.0, seeds=(3,), t_transient=60.0, t_total=120.0, progress=False,
                      spectrum=True)
    b = lyapunov_scan(80, [0.5], 0.0, seeds=(3,), t_transient=60.0, t_total=120.0, progress=False,
                      init_seed=1)
    assert a.params["init_seed"] == 0 and b.params["init_seed"] == 1
    exact = -1 + 0.5 * a.mu[0]
    for s in (a, b):
        assert abs(s.lam[0, 0] - exact) < 5 * s.err[0, 0] + 1e-3
    assert a.first[0, 0] != b.first[0, 0]


def test_per_row_initial_states_and_delta0_series():
    """x0, v0 of shape (len(gs), N): each row is the single-start run from its own state
    (same arithmetic), and x2 is (1/N)|x|^2 at the end of each recorded interval, checked
    against the exact decay |x0|^2 e^{-2t} / N at g = 0 (RK4 error ~ dt^4)."""
    N = 90
    J = couplings(N, 0.0, rng=np.random.default_rng(4))
    rng = np.random.default_rng(5)
    x0, v0 = rng.standard_normal((3, N)), rng.standard_normal((3, N))
    gs = [1.5, 1.5, 0.7]
    kw = dict(t_transient=5.0, t_align=2.0, t_total=10.0, dt=0.05, renorm=1.0)
    b = lyapunov_batch(J, gs, x0=x0, v0=v0, **kw)
    assert b.x2.shape == (10, 3)
    for i, g in enumerate(gs):
        r = lyapunov_batch(J, [g], x0=x0[i], v0=v0[i], **kw)
        np.testing.assert_allclose(b.rates[:, i], r.rates[:, 0], rtol=0, atol=1e-12)
        np.testing.assert_allclose(b.x2[:, i], r.x2[:, 0], rtol=1e-12)
    assert abs(b.lam[0].mean - b.lam[1].mean) > 1e-6   # different starts, different runs
    z = lyapunov_batch(J, [0.0, 0.0], x0=x0[:2], v0=v0[:2], **kw)
    t = 5.0 + 2.0 + np.arange(1, 11)
    exact = np.sum(x0[:2] ** 2, axis=1)[None, :] / N * np.exp(-2 * t)[:, None]
    h = 0.05   # RK4 on dx/dt = -x multiplies x by R(h) per step, exactly
    R = 1 - h + h ** 2 / 2 - h ** 3 / 6 + h ** 4 / 24
    np.testing.assert_allclose(z.x2, exact * (R * np.exp(h)) ** (2 * t / h)[:, None],
                               rtol=1e-11)
    np.testing.assert_allclose(z.x2, exact, rtol=3e-6)    # and close to the flow itself
    np.testing.assert_allclose([e.mean for e in z.lam], -1.0, atol=1e-8)
    with pytest.raises(ValueError, match="shape"):
        lyapunov_batch(J, gs, x0=x0[:2])
    with pytest.raises(ValueError, match="finite"):
        lyapunov_batch(J, [1.0], x0=np.full(N, np.nan))
