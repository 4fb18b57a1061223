"""Moments of the coupling sampler, with tolerances set by the sampling error at that N."""
import numpy as np
import pytest

from numerics.couplings import couplings

NSIG = 5.0  # tolerance in standard errors of the sample moment


def _pairs(J):
    iu = np.triu_indices(J.shape[0], 1)
    return J[iu], J.T[iu]


@pytest.mark.parametrize("gamma", [-1.0, -0.5, 0.0, 0.3, 1.0])
@pytest.mark.parametrize("J0", [0.0, 1.5])
def test_moments(gamma, J0):
    N = 600
    J = couplings(N, gamma, J0=J0, rng=np.random.default_rng(7))
    up, lo = _pairs(J)
    P = up.size
    # scaled entries z = sqrt(N) (J - J0/N) are N(0, 1), pair correlation gamma
    zu = np.sqrt(N) * (up - J0 / N)
    zl = np.sqrt(N) * (lo - J0 / N)
    z = np.concatenate([zu, zl])
    # mean: the two members of a pair are correlated, so the error of the mean over
    # all 2P entries is sqrt((1 + gamma) / (2P))
    err_mean = np.sqrt((1 + gamma) / (2 * P)) + 1e-300
    if gamma > -1.0:
        assert abs(z.mean()) < NSIG * err_mean
    else:  # antisymmetric: zu = -zl exactly
        np.testing.assert_allclose(zu, -zl, atol=1e-12)
    # E[J_ij] = J0/N from the raw entries
    raw_mean = np.concatenate([up, lo]).mean()
    assert abs(raw_mean - J0 / N) < NSIG * err_mean / np.sqrt(N) + 1e-15
    # variance: Var(z^2) = 2 per entry, pair members correlated with Corr(z_u^2, z_l^2) = gamma^2
    var_est = np.mean(z ** 2)
    err_var = np.sqrt(2 * (1 + gamma ** 2) / (2 * P))
    assert abs(var_est - 1.0) < NSIG * err_var
    # correlation: Var(z_u z_l) = 1 + gamma^2
    corr_est = np.mean(zu * zl)
    err_corr = np.sqrt((1 + gamma ** 2) / P)
    assert abs(corr_est - gamma) < NSIG * err_corr + 1e-12
    # diagonal: N(J0/N, 1/N)
    d = np.sqrt(N) * (np.diag(J) - J0 / N)
    assert abs(d.mean()) < NSIG / np.sqrt(N)
    assert abs(np.mean(d ** 2) - 1) < NSIG * np.sqrt(2 / N)


def test_symmetric_limits():
    J = couplings(50, 1.0, rng=np.random.default_rng(1))
    np.testing.assert_array_equal(J, J.T)
    J = couplings(50, -1.0, rng=np.random.default_rng(1))
    off = J - np.diag(np.diag(J))
    np.testing.assert_array_equal(off, -off.T)


def test_reproducible():
    a = couplings(40, 0.3, rng=np.random.default_rng(3))
    b = couplings(40, 0.3, rng=np.random.default_rng(3))
    np.testing.assert_array_equal(a, b)
    assert a.flags.c_contiguous


def test_elliptic_law_edge():
    """Spectrum fills an ellipse with real semi-axis 1 + gamma (loose check at N = 800)."""
    gamma = 0.5
    J = couplings(800, gamma, rng=np.random.default_rng(0))
    ev = np.linalg.eigvals(J)
    assert abs(ev.real.max() - (1 + gamma)) < 0.1
    assert abs(np.abs(ev.imag).max() - (1 - gamma)) < 0.1


@pytest.mark.parametrize("bad", [dict(N=1, gamma=0), dict(N=10, gamma=1.2),
                                 dict(N=10, gamma=float("nan")), dict(N=10.5, gamma=0)])
def test_bad_input(bad):
    with pytest.raises(ValueError):
        couplings(**bad, rng=np.random.default_rng(0))
