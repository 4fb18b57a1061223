"""Gauss-Hermite rules, inner integrals ln int exp(H) dx and site maximisers.

References are independent of the code under test: closed forms (Gaussian H, Gaussian
moments), mpmath quadrature at 30 digits with breakpoints placed from the known
structure of H, and a brute-force E[ln Z] (scipy dblquad over the fields, dense
trapezoid in x).
"""
import hashlib
import math
from pathlib import Path

import mpmath as mp
import numpy as np
import pytest
from numba import njit
from scipy import integrate, optimize

from numerics import inner
from numerics.quadrature import (CAPACITY, NONFINITE, NOT_CONVERGED, UNCONFINED, field_average, field_max_average,
                                 field_nodes, hermite_nodes, inner_average, product_nodes,
                                 reduce_factor, refine_error, site_maxima)


# --------------------------------------------------------------------------------------
# test kernels (the site-kernel contract: rows H, H_x, H_xx, O_1..O_K; fields first in p)
# --------------------------------------------------------------------------------------

@njit(cache=True)
def gauss_point(x, p, out):
    """H = -a (x - A)^2 / 2 + B x; O = (x, x^2). p = [A, B, a]."""
    A, B, a = p[0], p[1], p[2]
    out[0] = -0.5 * a * (x - A) ** 2 + B * x
    out[1] = -a * (x - A) + B
    out[2] = -a
    out[3] = x
    out[4] = x * x


@njit(cache=True)
def gauss_site(nodes, p, out):
    for j in range(nodes.shape[0]):
        gauss_point(nodes[j], p, out[:, j])


@njit(cache=True)
def tanh_point(x, p, out):
    """RS-like H = -(b/2)(x - rho tanh x - A)^2 - c tanh^2 x + B tanh x;
    O = (tanh, tanh^2, x). p = [A, B, b, rho, c]."""
    A, B, b, rho, c = p[0], p[1], p[2], p[3], p[4]
    t = math.tanh(x)
    d1 = 1.0 - t * t
    d2 = -2.0 * t * d1
    g = x - rho * t - A
    g1 = 1.0 - rho * d1
    g2 = -rho * d2
    out[0] = -0.5 * b * g * g - c * t * t + B * t
    out[1] = -b * g * g1 - 2.0 * c * t * d1 + B * d1
    out[2] = -b * (g1 * g1 + g * g2) - 2.0 * c * (d1 * d1 + t * d2) + B * d2
    out[3] = t
    out[4] = t * t
    out[5] = x


@njit(cache=True)
def tanh_site(nodes, p, out):
    for j in range(nodes.shape[0]):
        tanh_point(nodes[j], p, out[:, j])


@njit(cache=True)
def htanh_point(x, p, out):
    """Same with phi = hardtanh (kinks at +-1). p = [A, B, b, rho, c]."""
    A, B, b, rho, c = p[0], p[1], p[2], p[3], p[4]
    if x > 1.0:
        f, f1 = 1.0, 0.0
    elif x < -1.0:
        f, f1 = -1.0, 0.0
    else:
        f, f1 = x, 1.0
    g = x - rho * f - A
    g1 = 1.0 - rho * f1
    out[0] = -0.5 * b * g * g - c * f * f + B * f
    out[1] = -b * g * g1 - 2.0 * c * f * f1 + B * f1
    out[2] = -b * g1 * g1 - 2.0 * c * f1 * f1
    out[3] = f
    out[4] = f * f
    out[5] = x


@njit(cache=True)
def htanh_site(nodes, p, out):
    for j in range(nodes.shape[0]):
        htanh_point(nodes[j], p, out[:, j])


@njit(cache=True)
def quartic_point(x, p, out):
    """Zero-temperature H0 = -k (x^2 - 1)^2 + B x: two wells, the global maximum jumps
    from x ~ -1 to x ~ +1 at B = 0. O = (x, x^2). p = [B, k]."""
    B, k = p[0], p[1]
    out[0] = -k * (x * x - 1.0) ** 2 + B * x
    out[1] = -4.0 * k * x * (x * x - 1.0) + B
    out[2] = -4.0 * k * (3.0 * x * x - 1.0)
    out[3] = x
    out[4] = x * x


@njit(cache=True)
def quartic_site(nodes, p, out):
    for j in range(nodes.shape[0]):
        quartic_point(nodes[j], p, out[:, j])


@njit(cache=True)
def ripple_point(x, p, out):
    """H = -x^2/2 + a x^2 sin(w x): a ripple whose H_xx swings by a w^2 x^2.
    O = x. p = [A (unused field), a, w]."""
    a, w = p[1], p[2]
    s, c = math.sin(w * x), math.cos(w * x)
    out[0] = -0.5 * x * x + a * x * x * s
    out[1] = -x + a * (2.0 * x * s + w * x * x * c)
    out[2] = -1.0 + a * (2.0 * s + 4.0 * w * x * c - w * w * x * x * s)
    out[3] = x


@njit(cache=True)
def ripple_site(nodes, p, out):
    for j in range(nodes.shape[0]):
        ripple_point(nodes[j], p, out[:, j])


@njit(cache=True)
def bad_point(x, p, out):
    """p[0] > 0: H = p[0] x^2 (no integral); p[0] <= 0: NaN for x > 1."""
    if p[0] > 0.0:
        out[0] = p[0] * x * x
        out[1] = 2.0 * p[0] * x
        out[2] = 2.0 * p[0]
    else:
        v = -x * x if x <= 1.0 else math.nan
        out[0] = v
        out[1] = -2.0 * x if x <= 1.0 else math.nan
        out[2] = -2.0
    out[3] = x


@njit(cache=True)
def bad_site(nodes, p, out):
    for j in range(nodes.shape[0]):
        bad_point(nodes[j], p, out[:, j])


# --------------------------------------------------------------------------------------
# independent references
# --------------------------------------------------------------------------------------

def H_tanh_mp(x, A, B, b, rho, c):
    t = mp.tanh(x)
    g = x - rho * t - A
    return -b * g * g / 2 - c * t * t + B * t


def tanh_maxima_mp(A, B, b, rho, c):
    """Every local maximum of the tanh H, by sign changes of H' on a fine grid and
    mpmath root polishing."""
    dH = lambda x: mp.diff(lambda y: H_tanh_mp(y, A, B, b, rho, c), x)  # noqa: E731
    A0, r0 = float(A), float(rho)
    xs = np.linspace(A0 - abs(r0) - 6, A0 + abs(r0) + 6, 24001)
    t = np.tanh(xs)
    g = xs - r0 * t - A0
    d = -float(b) * g * (1 - r0 * (1 - t * t)) - 2 * float(c) * t * (1 - t * t) + float(B) * (
        1 - t * t)
    out = []
    for i in np.nonzero((d[:-1] > 0) & (d[1:] <= 0))[0]:
        out.append(mp.findroot(dH, (mp.mpf(xs[i]), mp.mpf(xs[i + 1])), solver="anderson"))
    return out


def tanh_reference(A, B, b, rho, c, dps=30):
    """ln Z, <tanh>, <x> by mpmath.quad split at each maximum +- multiples of its width."""
    with mp.workdps(dps):
        A, B, b, rho, c = (mp.mpf(v) for v in (A, B, b, rho, c))
        peaks = tanh_maxima_mp(A, B, b, rho, c)
        Hm = max(H_tanh_mp(x, A, B, b, rho, c) for x in peaks)
        pts = set()
        for x0 in peaks:
            h2 = mp.diff(lambda y: H_tanh_mp(y, A, B, b, rho, c), x0, 2)
            w = 1 / mp.sqrt(-h2)
            pts.update(x0 + k * w for k in (-30, -12, -6, -3, -1, 0, 1, 3, 6, 12, 30))
        R = 40 + 60 / mp.sqrt(b)
        pts = [A - R] + sorted(x for x in pts if A - R < x < A + R) + [A + R]
        f = lambda x: mp.exp(H_tanh_mp(x, A, B, b, rho, c) - Hm)  # noqa: E731
        Z = mp.quad(f, pts)
        m1 = mp.quad(lambda x: f(x) * mp.tanh(x), pts) / Z
        m3 = mp.quad(lambda x: f(x) * x, pts) / Z
        return float(Hm + mp.log(Z)), float(m1), float(m3), len(peaks)


def htanh_reference(A, B, b, rho, c, dps=30):
    """Piecewise-quadratic H: each linear branch of phi integrated split at its vertex."""
    with mp.workdps(dps):
        A, B, b, rho, c = (mp.mpf(v) for v in (A, B, b, rho, c))
        one = mp.mpf(1)
        branches = [(-mp.inf, -one, 0, -1), (-one, one, 1, 0), (one, mp.inf, 0, 1)]
        quad = []
        for lo, hi, s, t in branches:           # phi = s x + t on (lo, hi)
            g1, g0 = 1 - rho * s, -rho * t - A
            a2 = -b / 2 * g1 ** 2 - c * s * s
            a1 = -b * g1 * g0 - 2 * c * s * t + B * s
            a0 = -b / 2 * g0 ** 2 - c * t * t + B * t
            quad.append((lo, hi, s, t, a2, a1, a0))
        Hm = -mp.inf
        for lo, hi, s, t, a2, a1, a0 in quad:
            xv = min(max(-a1 / (2 * a2), lo), hi)
            Hm = max(Hm, a2 * xv * xv + a1 * xv + a0)
        Z = M1 = 0
        for lo, hi, s, t, a2, a1, a0 in quad:
            f = lambda x: mp.exp(a2 * x * x + a1 * x + a0 - Hm)  # noqa: E731
            xv, w = -a1 / (2 * a2), 1 / mp.sqrt(-2 * a2)
            pts = [lo] + [xv + k * w for k in (-20, -5, -1, 0, 1, 5, 20)
                          if lo < xv + k * w < hi] + [hi]
            Z += mp.quad(f, pts)
            M1 += mp.quad(lambda x: f(x) * (s * x + t), pts)
        return float(Hm + mp.log(Z)), float(M1 / Z)


# --------------------------------------------------------------------------------------
# Gauss-Hermite rules
# --------------------------------------------------------------------------------------

def double_factorial_moment(k):
    return 0.0 if k % 2 else float(np.prod(np.arange(k - 1, 0, -2))) if k else 1.0


@pytest.mark.parametrize("n", [1, 5, 40, 120, 200])
def test_hermite_rule_moments(n):
    x, w = hermite_nodes(n)
    assert x.shape == w.shape == (n,)
    assert abs(w.sum() - 1) < 1e-14
    for k in range(0, min(2 * n, 24)):
        exact = double_factorial_moment(k)
        scale = np.dot(w, np.abs(x) ** k)          # size of the terms that cancel
        assert abs(np.dot(w, x ** k) - exact) <= 1e-13 * scale, k


def test_product_rule_and_pruning():
    z, w = product_nodes(12, 2)
    assert abs(w.sum() - 1) < 1e-15 and z.shape[1] == 2
    assert abs(np.dot(w, z[:, 0] ** 2 * z[:, 1] ** 4) - 3.0) < 1e-12
    assert abs(np.dot(w, z[:, 0] * z[:, 1] ** 3)) < 1e-14
    z40, w40 = product_nodes(40, 2)
    assert len(w40) < 40 * 40 and w40.min() >= 1e-16 / 1.0001
    z0, w0 = product_nodes(7, 0)
    assert z0.shape == (1, 0) and w0.tolist() == [1.0]
    with pytest.raises(ValueError):
        hermite_nodes(0)


@pytest.mark.parametrize("m,s", [(0.3, 0.7), (-1.2, 2.0), (0.0, 1e-3)])
def test_field_expectations_closed_forms(m, s):
    f, w, r = field_nodes([m], [[s]], 30)
    a = f[:, 0]
    assert r == 1
    assert abs(np.dot(w, a ** 4) - (m ** 4 + 6 * m * m * s * s + 3 * s ** 4)) < 1e-12 * (
        1 + m ** 4 + s ** 4)
    # exp(lam a) grows by up to e^(lam s 8) where the rule's weights fall below 1e-16:
    # the full rule (prune=0) is exact to rounding; the pruned one only when |lam s| < 1
    f0, w0, _ = field_nodes([m], [[s]], 30, prune=0.0)
    for lam in (0.5, -1.3):
        exact = math.exp(lam * m + lam * lam * s * s / 2)
        assert abs(np.dot(w0, np.exp(lam * f0[:, 0])) / exact - 1) < 1e-12
        if abs(lam * s) < 1:
            assert abs(np.dot(w, np.exp(lam * a)) / exact - 1) < 1e-12


def test_two_field_expectation_and_rank_deficient_L():
    mean = np.array([0.2, -0.4])
    L = np.array([[0.8, 0.0], [0.3, 0.6]])
    lam = np.array([0.7, -0.4])
    exact = math.exp(lam @ mean + 0.5 * np.sum((L.T @ lam) ** 2))
    f, w, r = field_nodes(mean, L, 30)
    assert r == 2 and abs(np.dot(w, np.exp(f @ lam)) / exact - 1) < 1e-12
    # dependent columns (B = A/2 exactly): one direction, same law
    for Ld in (np.array([[0.8, 0.0], [0.4, 0.0]]), np.array([[0.0, 0.0], [0.6, 0.8]])):
        f, w, r = field_nodes(mean, Ld, 30)
        exact = math.exp(lam @ mean + 0.5 * np.sum((Ld.T @ lam) ** 2))
        assert r == 1 and abs(np.dot(w, np.exp(f @ lam)) / exact - 1) < 1e-12
        np.testing.assert_allclose(reduce_factor(Ld) @ reduce_factor(Ld).T, Ld @ Ld.T,
                                   atol=1e-15)
    f, w, r = field_nodes(mean, np.zeros((2, 2)), 30)
    assert r == 0 and f.shape == (1, 2) and w.tolist() == [1.0]
    np.testing.assert_array_equal(f[0], mean)


# --------------------------------------------------------------------------------------
# inner integrals
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("a", [1e-2, 0.3, 1.0, 40.0, 1e4, 1e6, 1e8])
def test_gaussian_logZ_and_moments(a):
    A, B = 0.3, 0.7
    p = np.array([A, B, a])
    logZ, avg, npk, err, status = inner_average(gauss_point, gauss_site, p)
    mean = A + B / a
    exact = 0.5 * math.log(2 * math.pi / a) + B * A + B * B / (2 * a)
    assert status == 0 and npk == 1 and err < 1e-13
    assert abs(logZ - exact) < 1e-12
    assert abs(avg[0] - mean) < 1e-12 * max(1, abs(mean))
    assert abs(avg[1] - (mean * mean + 1 / a)) < 1e-12 * (mean * mean + 1 / a)


def test_gaussian_far_from_hint():
    p = np.array([37.5, -0.2, 1e6])
    logZ, avg, npk, err, status = inner_average(gauss_point, gauss_site, p, x_hint=0.0)
    exact = 0.5 * math.log(2 * math.pi / 1e6) - 0.2 * 37.5 + 0.04 / 2e6
    assert status == 0 and abs(logZ - exact) < 1e-12
    assert abs(avg[0] - (37.5 - 0.2e-6)) < 1e-12 * 37.5


@pytest.mark.parametrize("A,B,b,rho,c", [
    (0.1, 0.05, 2.0, 3.0, 0.1),      # two wide wells and a shoulder: overlapping basins
    (0.2, -0.3, 0.05, 1.5, 0.2),     # very wide (width ~ 5)
    (-0.4, 0.3, 30.0, 1.6, 0.1),     # three well-separated maxima
    (0.05, 0.1, 1e8, 2.0, 0.1),      # three maxima of width 1e-4
])
def test_tanh_wells_against_mpmath(A, B, b, rho, c):
    p = np.array([A, B, b, rho, c])
    logZ, avg, npk, err, status = inner_average(tanh_point, tanh_site, p)
    ref_logZ, ref_t, ref_x, n_ref = tanh_reference(A, B, b, rho, c)
    tol = 1e-10 if b < 1e6 else 1e-10 * (1 + b * 1e-8 * 100)   # H itself rounds at 1e-12
    assert status == 0 and err < 1e-12
    assert abs(logZ - ref_logZ) < tol
    assert abs(avg[0] - ref_t) < tol and abs(avg[2] - ref_x) < tol
    if b >= 1.0:
        assert npk == n_ref


@pytest.mark.parametrize("A,B,b,rho", [
    (0.3, 0.4, 3.0, 0.7),         # strong kinks at +-1 inside the support
    (-0.9985, 0.3, 1e4, 0.0),     # rho = 0: the kink only in -c phi^2 + B phi, 1.5 widths away
    (-1.0003, -0.2, 1e7, 0.0),    # same at width 3e-4
    (-0.601, 0.2, 1e7, 1.6),      # two narrow maxima outside the linear zone
])
def test_hardtanh_kinks_against_exact(A, B, b, rho):
    c = 0.1
    p = np.array([A, B, b, rho, c])
    logZ, avg, npk, err, status = inner_average(htanh_point, htanh_site, p)
    ref_logZ, ref_phi = htanh_reference(A, B, b, rho, c)
    assert status == 0
    assert abs(logZ - ref_logZ) < 1e-10 and abs(avg[0] - ref_phi) < 1e-10


def test_unresolvable_structure_is_reported():
    # width 1e4 over tanh features of width 1: ~6e5 trapezoid nodes would be needed,
    # more than the 1.3e5 allowed; the estimate says how far off the result is
    p = np.array([0.0, 0.3, 1e-8, 1.5, 0.2])
    logZ, avg, npk, err, status = inner_average(tanh_point, tanh_site, p)
    assert status == NOT_CONVERGED and 1e-13 < err < 1e-3 and math.isfinite(logZ)
    res = field_average(tanh_point, tanh_site, p, 1, [0.0], [[0.1]], 3)
    assert res.status == NOT_CONVERGED and "above rtol" in res.message
    assert res.inner_err_mean <= res.inner_err
    # H_xx oscillating by 1e3 on a scale of 6e-6: the scan refuses it
    logZ, avg, npk, err, status = inner_average(ripple_point, ripple_site,
                                                np.array([0.0, 1e-9, 1e6]))
    assert status & CAPACITY and math.isnan(logZ)
    with pytest.raises(ValueError):
        inner_average(tanh_point, tanh_site, np.zeros(5), rtol=1e-17)


def test_failures_are_reported_not_silent():
    logZ, avg, npk, err, status = inner_average(bad_point, bad_site, np.array([0.5]))
    assert status & UNCONFINED and math.isnan(logZ)
    logZ, avg, npk, err, status = inner_average(bad_point, bad_site, np.array([-1.0]))
    assert status & NONFINITE and math.isnan(logZ)
    res = field_average(bad_point, bad_site, np.array([-1.0]), 1, [-1.0], [[0.1]], 5)
    assert not res.success and "non-finite" in res.message and math.isnan(res.E_lnZ)


# --------------------------------------------------------------------------------------
# field averages
# --------------------------------------------------------------------------------------

def brute_lnZ(A, B, b, rho, c):
    x = np.linspace(A - 14, A + 14, 1501)         # step 0.019: exact to rounding here
    t = np.tanh(x)
    H = -0.5 * b * (x - rho * t - A) ** 2 - c * t * t + B * t
    Hm = H.max()
    return Hm + math.log(np.trapezoid(np.exp(H - Hm), x))


def test_field_average_tanh_against_bruteforce():
    b, rho, c = 4.0, 0.5, 0.2
    mean = np.array([0.1, -0.2])
    L = np.array([[0.7, 0.0], [0.2, 0.5]])
    p = np.array([0.0, 0.0, b, rho, c])
    # ln Z(A, B) is analytic but singular where Z vanishes at complex fields: the
    # product rule converges geometrically (error 7e-9 at n = 30, 3e-12 at n = 60)
    res = field_average(tanh_point, tanh_site, p, 2, mean, L, 60)
    assert res.success and res.inner_err < 1e-12 and res.rank == 2
    phi = lambda z: math.exp(-z * z / 2) / math.sqrt(2 * math.pi)  # noqa: E731

    def integrand(z2, z1):
        A = mean[0] + L[0, 0] * z1
        B = mean[1] + L[1, 0] * z1 + L[1, 1] * z2
        return phi(z1) * phi(z2) * brute_lnZ(A, B, b, rho, c)

    ref, _ = integrate.dblquad(integrand, -9, 9, -9, 9, epsabs=1e-12, epsrel=1e-12)
    assert abs(res.E_lnZ - ref) < 1e-9
    # averages and pairs against a plain node loop over inner_average
    res = field_average(tanh_point, tanh_site, p, 2, mean, L, 10, pairs=[(0, 0), (0, 2)])
    f, w, _ = field_nodes(mean, L, 10)
    avgs = np.array([inner_average(tanh_point, tanh_site, np.r_[fi, b, rho, c])[1]
                     for fi in f])
    np.testing.assert_allclose(res.E_avg, w @ avgs, atol=1e-14)
    np.testing.assert_allclose(res.E_pair, [w @ avgs[:, 0] ** 2,
                                            w @ (avgs[:, 0] * avgs[:, 2])], atol=1e-14)


def test_field_average_gaussian_closed_form_and_rank_deficient():
    # H = -a (x - A)^2/2 + B x: ln Z = const + B A + B^2/(2a), <x> = A + B/a
    a = 2.5
    mean = np.array([0.3, -0.1])
    for L in (np.array([[0.6, 0.0], [0.2, 0.4]]), np.array([[0.6, 0.0], [0.3, 0.0]]),
              np.zeros((2, 2))):
        C = L @ L.T
        res = field_average(gauss_point, gauss_site, np.array([0.0, 0.0, a]), 2, mean, L,
                            12, pairs=[(0, 0)])
        EAB = mean[0] * mean[1] + C[0, 1]
        EBB = mean[1] ** 2 + C[1, 1]
        exact = 0.5 * math.log(2 * math.pi / a) + EAB + EBB / (2 * a)
        assert res.success and abs(res.E_lnZ - exact) < 1e-12
        assert abs(res.E_avg[0] - (mean[0] + mean[1] / a)) < 1e-12
        Exx = (mean[0] + mean[1] / a) ** 2 + C[0, 0] + 2 * C[0, 1] / a + C[1, 1] / a ** 2
        assert abs(res.E_pair[0] - Exx) < 1e-12
    assert res.n_nodes == 1


def test_refine_error_reports_gauss_hermite_change():
    p = np.array([0.0, 0.0, 4.0, 0.5, 0.2])
    res = refine_error(tanh_point, tanh_site, p, 2, [0.1, -0.2], [[0.7, 0], [0.2, 0.5]], 8)
    assert res.n_gh == 12 and res.gh_err is not None
    assert res.gh_err == max(res.gh_err_lnZ, *res.gh_err_avg)
    conv = field_average(tanh_point, tanh_site, p, 2, [0.1, -0.2], [[0.7, 0], [0.2, 0.5]],
                         80)
    assert abs(res.E_lnZ - conv.E_lnZ) < res.gh_err_lnZ   # bounds the error of n = 12
    assert np.all(np.abs(res.E_avg - conv.E_avg) < res.gh_err_avg)
    assert 0 < res.gh_err < 1e-3


# --------------------------------------------------------------------------------------
# zero temperature
# --------------------------------------------------------------------------------------

def test_site_maxima_two_wells_and_ties():
    # H0 = -(x - 3 tanh x - A)^2/2 + B tanh x: fixed points of x = 3 tanh x + A
    p = np.array([0.0, 0.05, 1.0, 3.0, 0.0])
    r = site_maxima(tanh_point, p)
    assert r.success and len(r) == 3 and r.ties == 1
    assert np.all(np.diff(r.H) <= 0)
    for x0 in r.x:
        t = math.tanh(x0)
        assert abs(-(x0 - 3 * t) * (1 - 3 * (1 - t * t)) + 0.05 * (1 - t * t)) < 1e-12
    roots = [optimize.brentq(lambda x: x - 3 * math.tanh(x), lo, hi)
             for lo, hi in ((-4, -1), (1, 4))]
    assert abs(r.x[0] - roots[1]) < 0.02 and r.observables[0, 0] > 0.99
    # B = 0: the three fixed points all have H0 = 0, an exact three-way tie; B tilts
    # them by ~ B tanh x*: 1e-12 is below the tie tolerance (1e-9), 1e-6 is not
    assert site_maxima(tanh_point, np.array([0.0, 0.0, 1.0, 3.0, 0.0])).ties == 3
    assert site_maxima(tanh_point, np.array([0.0, 1e-12, 1.0, 3.0, 0.0])).ties == 3
    assert site_maxima(tanh_point, np.array([0.0, 1e-6, 1.0, 3.0, 0.0])).ties == 1


def test_field_max_average_closed_form():
    # linear phi: H0 = -(x - A)^2/2 + B x, max at x* = A + B, max H0 = A B + B^2/2
    mean = np.array([0.4, -0.3])
    L = np.array([[0.5, 0.0], [0.2, 0.3]])
    C = L @ L.T
    res = field_max_average(gauss_point, gauss_site, np.array([0.0, 0.0, 1.0]), 2, mean, L,
                            10, pairs=[(0, 0)])
    EAB = mean[0] * mean[1] + C[0, 1]
    EBB = mean[1] ** 2 + C[1, 1]
    assert res.success and res.n_multi == 0 and res.n_tie == 0
    assert abs(res.E_H - (EAB + EBB / 2)) < 1e-12
    assert abs(res.E_avg[0] - mean.sum()) < 1e-12
    Vs = C[0, 0] + 2 * C[0, 1] + C[1, 1]
    assert abs(res.E_pair[0] - (mean.sum() ** 2 + Vs)) < 1e-12


def test_field_max_average_counts_switching_and_ties():
    # two wells; the B field decides which wins; the odd rule has a node at B = 0 (tie)
    p = np.array([0.0, 0.0, 1.0, 3.0, 0.0])
    L = [[0.0, 0.0], [0.0, 0.3]]
    res = field_max_average(tanh_point, tanh_site, p, 2, [0.0, 0.0], L, 9, split=False)
    assert res.success and res.rank == 1 and res.n_nodes == 9
    assert res.n_multi == 9 and res.n_tie == 1 and res.n_switch == 0
    x, w = hermite_nodes(9)
    assert abs(res.tie_weight - w[4]) < 1e-15
    assert abs(res.E_avg[0]) < 1e-12                       # symmetric: E tanh(x*) = 0
    assert res.min_gap == 0.0
    split = field_max_average(tanh_point, tanh_site, p, 2, [0.0, 0.0], L, 9)
    assert split.success and split.n_switch == 1 and split.n_split == 1
    assert abs(split.E_avg[0]) < 1e-12


def quartic_reference(m, s, k):
    """E over B = m + s z of x*(B) and of max H0, split at the switch z = -m/s, each
    branch solved by brentq."""
    def xr(B):            # right-well maximum
        return optimize.brentq(lambda x: -4 * k * x * (x * x - 1) + B, 1 / math.sqrt(3), 3,
                               xtol=1e-15, rtol=1e-15)
    phi = lambda z: math.exp(-z * z / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    Hmax = lambda x, B: -k * (x * x - 1) ** 2 + B * x               # noqa: E731
    zs = -m / s
    out = []
    for f in (lambda B, x: x, lambda B, x: Hmax(x, B)):
        left, _ = integrate.quad(lambda z: phi(z) * f(m + s * z, -xr(-(m + s * z))), -12, zs,
                                 epsabs=1e-14, epsrel=1e-12, limit=200)
        right, _ = integrate.quad(lambda z: phi(z) * f(m + s * z, xr(m + s * z)), zs, 12,
                                  epsabs=1e-14, epsrel=1e-12, limit=200)
        out.append(left + right)
    return out


def test_field_max_average_splits_at_the_switch():
    m, s, k = 0.1, 0.5, 1.0
    ref_x, ref_H = quartic_reference(m, s, k)
    plain = field_max_average(quartic_point, quartic_site, np.array([0.0, k]), 1, [m], [[s]],
                              40, split=False)
    res = field_max_average(quartic_point, quartic_site, np.array([0.0, k]), 1, [m], [[s]],
                            40)
    assert res.success and res.n_switch == 1
    assert abs(res.E_avg[0] - ref_x) < 1e-10 and abs(res.E_H - ref_H) < 1e-10
    assert abs(plain.E_avg[0] - ref_x) > 1e-4          # what the jump costs without splitting


def test_compiled_cache_cannot_go_stale():
    """inner.py records a digest of maximiser.py, whose kernels its cached machine code
    links in: a change to maximiser.py must come with an edit of inner.py."""
    src = Path(inner.__file__).with_name("maximiser.py").read_bytes()
    assert hashlib.sha256(src).hexdigest()[:16] == inner.MAXIMISER_SHA256, (
        "maximiser.py changed: update MAXIMISER_SHA256 in numerics/inner.py")
