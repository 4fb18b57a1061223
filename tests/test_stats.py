"""Error bars on an AR(1) process with known tau and variance."""
import numpy as np
import pytest
from scipy.signal import lfilter

from numerics.stats import (Estimate, assert_within, autocorr, binder, blocking, combine, estimate,
                            integrated_time, weighted_lstsq)


def ar1(a, T, C=1, seed=0):
    """x_t = a x_{t-1} + sqrt(1 - a^2) e_t: stationary variance 1, rho(t) = a^t,
    tau = (1 + a)/(1 - a)."""
    rng = np.random.default_rng(seed)
    e = rng.standard_normal((T, C))
    e[0] /= np.sqrt(1 - a * a)  # start in the stationary law
    return lfilter([np.sqrt(1 - a * a)], [1, -a], e, axis=0)


@pytest.mark.parametrize("a", [0.0, 0.5, 0.9])
def test_tau_and_acf(a):
    x = ar1(a, 200_000, seed=1)
    tau_exact = (1 + a) / (1 - a)
    assert abs(integrated_time(x) / tau_exact - 1) < 0.1
    rho = autocorr(x)
    np.testing.assert_allclose(rho[:4], a ** np.arange(4), atol=0.02)
    assert abs(x.var() - 1) < 0.05


def test_error_matches_exact_standard_error():
    a, T = 0.9, 50_000
    tau_exact = (1 + a) / (1 - a)
    err_exact = np.sqrt(tau_exact / T)
    est = estimate(ar1(a, T, seed=2))
    assert abs(est.err / err_exact - 1) < 0.2
    blk, levels = blocking(ar1(a, T, seed=3))
    assert abs(blk / err_exact - 1) < 0.25
    assert levels[0] < blk  # naive error underestimates


def test_coverage_over_independent_runs():
    """About 95 % of independent runs must fall within 2 error bars of the true mean 0."""
    a, T, C = 0.8, 4000, 400
    x = ar1(a, T, C, seed=4)
    z = np.array([estimate(x[:, k]).mean / estimate(x[:, k]).err for k in range(C)])
    frac = np.mean(np.abs(z) < 2)
    assert 0.90 < frac < 0.995
    # several chains at once
    est = estimate(x[:, :8])
    assert_within(est, 0.0, 4.0, what="AR(1) chains")
    assert abs(est.tau / ((1 + a) / (1 - a)) - 1) < 0.25


def test_assert_within_fails_when_it_should():
    with pytest.raises(AssertionError):
        assert_within(Estimate(1.0, 0.1), 2.0, 4.0)
    assert assert_within(Estimate(1.0, 0.1), 1.2, 4.0) == pytest.approx(2.0)
    with pytest.raises(AssertionError):
        assert_within(Estimate(1.0, float("nan")), 1.0)


def test_combine_and_constant():
    c = combine([Estimate(1.0, 0.1), Estimate(2.0, 0.1)])
    assert c.mean == pytest.approx(1.5) and c.err == pytest.approx(0.1 / np.sqrt(2))
    e = estimate(np.ones(100))
    assert e.mean == 1 and e.err == 0


def test_binder_gaussian_bimodal_and_errors():
    rng = np.random.default_rng(7)
    # Gaussian: B = 0; two-valued +-c: B = 1; uniform on [-1, 1]: <x^4>/<x^2>^2 = 9/5, B = 0.6
    for x, exact in ((rng.standard_normal(200_000), 0.0),
                     (0.3 * rng.choice([-1.0, 1.0], 200_000), 1.0),
                     (rng.uniform(-1, 1, 200_000), 0.6)):
        b = binder(x)
        assert b.err < 0.02
        assert_within(b, exact, nsigma=4, abs_tol=1e-12)
    # the jackknife error covers the spread over independent Gaussian series
    vals = [binder(rng.standard_normal(4000)) for _ in range(200)]
    z = np.array([v.mean / v.err for v in vals])
    assert 0.7 < z.std() < 1.4 and abs(z.mean()) < 0.3
    with pytest.raises(ValueError):
        binder(np.zeros(100))
    with pytest.raises(ValueError):
        binder(np.ones(10))
    with pytest.raises(ValueError):
        binder(np.array([np.nan] * 64))


def test_weighted_lstsq_matches_polyfit_and_the_weighted_mean():
    """weighted_lstsq against numpy.polyfit with weights 1/err (an independent solver) for
    a line, and against the closed form of the weighted mean (one parameter)."""
    rng = np.random.default_rng(3)
    x = np.linspace(0.0, 2.0, 9)
    err = rng.uniform(0.05, 0.3, x.size)
    y = 1.5 - 0.7 * x + err * rng.standard_normal(x.size)
    p, cov, chi2 = weighted_lstsq(np.c_[np.ones_like(x), x], y, err)
    (b, a), C = np.polyfit(x, y, 1, w=1 / err, cov="unscaled")
    assert p == pytest.approx([a, b], rel=1e-10)
    assert cov[1, 1] == pytest.approx(C[0, 0], rel=1e-8) and cov[0, 1] == pytest.approx(C[0, 1], rel=1e-8)
    assert chi2 == pytest.approx(np.sum(((y - a - b * x) / err) ** 2), rel=1e-10)
    (m,), cov, chi2 = weighted_lstsq(np.ones((x.size, 1)), y, err)
    w = err ** -2
    assert m == pytest.approx(w @ y / w.sum()) and cov[0, 0] == pytest.approx(1 / w.sum())
    for X, yy, ee in ((np.ones((3, 2)), y[:3], err[:3]),           # rank 1 < 2 parameters
                      (np.c_[np.ones(1), x[:1]], y[:1], err[:1]),   # one point, two parameters
                      (np.ones((3, 1)), y[:3], np.r_[err[:2], 0.0]),
                      (np.ones((3, 1)), np.r_[y[:2], np.nan], err[:3]),
                      (np.ones((3, 1)), y[:2], err[:2])):
        with pytest.raises(ValueError):
            weighted_lstsq(X, yy, ee)
