"""numerics.complexity: spectrum and log-determinant of I - J diag(d) against closed forms and
finite random matrices."""
import math

import numpy as np
import pytest

from numerics.complexity import cavity_logdet, profile_logdet, spectral_u
from numerics.couplings import couplings
from numerics.dmft import static_q


@pytest.mark.parametrize("g", [1.3, 2.0, 4.0])
def test_constant_profile_is_the_uniform_disk(g):
    # d = g for every site: Ginibre of radius g, u = 1 - r^2/g^2, L = ln g - (1 - 1/g^2)/2
    for r in (0.0, 0.4 * g, 0.9 * g):
        assert spectral_u(r, [g * g]) == pytest.approx(1 - r * r / (g * g), abs=1e-13)
    assert spectral_u(1.01 * g, [g * g]) == 0.0
    assert profile_logdet([g * g]) == pytest.approx(math.log(g) - (1 - 1 / g ** 2) / 2, rel=1e-10)


def test_inside_the_unit_disk_the_logdet_vanishes():
    assert profile_logdet([0.81]) == 0.0
    assert cavity_logdet(0.9).L == 0.0 and cavity_logdet(0.9).q == 0.0
    assert cavity_logdet(0.9).n_star == math.inf


def test_finite_matrices_follow_the_profile_formula():
    # J diag(d) with d = g phi'(x), x from the cavity statistics at g = 3 (L ~ 0.025): the
    # radial distribution of the eigenvalues and (1/N) ln|det(I - J diag d)| of four N = 600
    # matrices against 1 - u(r) and L of the same profile. A uniform disk of radius rho would
    # give L = 0.079, half the formula 0.013.
    g, N = 3.0, 600
    q = static_q(g)
    ld, pred = [], []
    for s in range(4):
        rng = np.random.default_rng(s)
        J = couplings(N, 0.0, rng=rng)
        d = g / np.cosh(g * math.sqrt(q) * rng.standard_normal(N)) ** 2
        M = J * d[None, :]
        ev = np.abs(np.linalg.eigvals(M))
        rho = math.sqrt(np.mean(d * d))
        for f in (0.3, 0.6, 0.9):
            assert np.mean(ev <= f * rho) == pytest.approx(1 - spectral_u(f * rho, d * d), abs=0.03)
        ld.append(np.linalg.slogdet(np.eye(N) - M)[1] / N)
        pred.append(profile_logdet(d * d))
    assert np.mean(ld) == pytest.approx(np.mean(pred), abs=0.004)
    assert np.mean(pred) == pytest.approx(cavity_logdet(g).L, abs=0.004)


def test_cavity_logdet_grows_from_zero_above_g_one():
    Ls = [cavity_logdet(g).L for g in (1.05, 1.2, 1.5, 2.0)]
    assert 0 < Ls[0] < Ls[1] < Ls[2] < Ls[3]
    c = cavity_logdet(1.2)
    assert c.q == pytest.approx(0.1732729446, abs=1e-9)
    assert c.n_star == pytest.approx(1 / c.L)


def test_bad_input_is_rejected():
    with pytest.raises(ValueError):
        spectral_u(0.5, [])
    with pytest.raises(ValueError):
        spectral_u(0.5, [1.0, -1.0])
    with pytest.raises(ValueError):
        spectral_u(float("nan"), [1.0])
    with pytest.raises(ValueError):
        profile_logdet([1.0, 2.0], [1.0])
    with pytest.raises(ValueError):
        cavity_logdet(-1.0)
