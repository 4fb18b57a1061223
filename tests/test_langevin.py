"""Exact checks of the Langevin/MALA sampler (THEORY.md §3), in units of the error bar."""
import math

import numpy as np
import pytest

from numerics.couplings import couplings
from numerics.langevin import LangevinSampler, LangevinState
from numerics.stats import Estimate, assert_within, difference
from numerics.transfer import builtin_kernels

NSIG = 4.0


@pytest.fixture(scope="module")
def linear_run():
    """Linear phi, eta > 0: the measure is Gaussian with precision beta (A^T A + 2 eta)."""
    N, g, eta, beta, gamma = 200, 0.5, 0.1, 2.0, 0.3
    J = couplings(N, gamma, rng=np.random.default_rng(0))
    A = np.eye(N) - g * J
    Minv = np.linalg.inv(A.T @ A + 2 * eta * np.eye(N))
    s = LangevinSampler(J, builtin_kernels("linear"), g, beta, eta=eta, replicas=4,
                        response=0.01, rng=np.random.default_rng(1), dt=0.1)
    res = s.run(20000, burn=2000, thin=5, progress=False)
    return dict(N=N, beta=beta, Minv=Minv, sampler=s, res=res)


def test_linear_equipartition(linear_run):
    r, beta = linear_run["res"], linear_run["beta"]
    assert_within(r.energy, 1 / (2 * beta), NSIG, what="energy per site")


def test_linear_second_moment(linear_run):
    r, N, beta, Minv = (linear_run[k] for k in ("res", "N", "beta", "Minv"))
    exact = np.trace(Minv) / (beta * N)
    assert_within(r.q, exact, NSIG, what="(1/N) E<|x|^2>")
    assert_within(r.chi, np.trace(Minv) / N, NSIG, what="chi = beta (q - Q)")
    assert_within(r.Q, 0.0, NSIG, what="Q")


def test_linear_fluctuation_response(linear_run):
    r, N, Minv, s = (linear_run[k] for k in ("res", "N", "Minv", "sampler"))
    exact = s.s @ Minv @ s.s / N
    assert_within(r.chi_fluct_s, exact, NSIG, what="fluctuation (beta/N) Var(s.phi)")
    # the response from common-noise partners is nearly deterministic for a linear model
    assert abs(r.chi_resp.mean - exact) < 1e-6 * exact
    assert_within(difference(r.chi_resp, r.chi_fluct_s), 0.0, NSIG, what="response - fluctuation")
    assert 0.4 < r.acceptance < 0.75


def test_tanh_fluctuation_response():
    """Nonlinear phi: response to a small field equals the fluctuation, at finite N."""
    N, g, beta, eta = 150, 0.9, 4.0, 0.05
    J = couplings(N, 0.0, rng=np.random.default_rng(3))
    s = LangevinSampler(J, builtin_kernels("tanh"), g, beta, eta=eta, replicas=4,
                        response=0.02, rng=np.random.default_rng(4), dt=0.1)
    r = s.run(16000, burn=2000, thin=5, progress=False)
    assert_within(difference(r.chi_resp, r.chi_fluct_s), 0.0, NSIG, what="tanh response - fluctuation")
    # the s-averaged measure chi = beta (q - Q) is of the same size
    assert abs(r.chi.mean - r.chi_fluct_s.mean) < 0.3 * r.chi.mean


def test_g0_single_site_exact():
    """g = 0: sites are independent Gaussians x ~ N(0, 1/(beta (1 + 2 eta)))."""
    N, beta, eta = 100, 3.0, 0.2
    J = couplings(N, 0.0, rng=np.random.default_rng(5))
    s = LangevinSampler(J, builtin_kernels("tanh"), 0.0, beta, eta=eta, replicas=2,
                        rng=np.random.default_rng(6), dt=0.2)
    r = s.run(8000, burn=1000, thin=4, progress=False)
    z, w = np.polynomial.hermite_e.hermegauss(80)
    sd = 1 / math.sqrt(beta * (1 + 2 * eta))
    q_exact = (w @ np.tanh(sd * z) ** 2) / w.sum()
    assert_within(r.q, q_exact, NSIG, what="q at g = 0")
    assert_within(r.energy, 1 / (2 * beta), NSIG, what="energy at g = 0")


def test_batched_points_and_generator():
    N = 60
    J = couplings(N, 0.0, rng=np.random.default_rng(7))
    s = LangevinSampler(J, builtin_kernels("tanh"), [0.5, 1.2], [2.0, 50.0], eta=0.0,
                        replicas=3, rng=np.random.default_rng(8))
    states = list(s.sample(40, burn=40, thin=20))
    assert all(isinstance(st, LangevinState) for st in states)
    assert [st.burn for st in states] == [True, True, False, False]
    assert states[-1].step == 80 and states[-1].X.shape == (6, N)
    out = s.run(400, burn=100, thin=10, progress=False)
    assert [o.g for o in out] == [0.5, 1.2] and [o.beta for o in out] == [2.0, 50.0]
    assert all(isinstance(o.q, Estimate) for o in out)


def test_reproducible_and_em():
    J = couplings(50, 0.2, rng=np.random.default_rng(9))
    k = builtin_kernels("tanh")
    a = LangevinSampler(J, k, 1.0, 5.0, rng=np.random.default_rng(1)).run(300, burn=50, progress=False)
    b = LangevinSampler(J, k, 1.0, 5.0, rng=np.random.default_rng(1)).run(300, burn=50, progress=False)
    assert a.q == b.q and a.energy == b.energy
    e = LangevinSampler(J, k, 1.0, 5.0, method="em", dt=0.05, rng=1).run(300, burn=50, progress=False)
    assert e.acceptance == 1.0 and np.isfinite(e.q.mean)


@pytest.mark.parametrize("kw", [dict(g=-1.0), dict(beta=0.0), dict(beta=float("nan")),
                                dict(eta=-0.1), dict(method="hmc"), dict(replicas=0)])
def test_bad_input(kw):
    J = couplings(10, 0.0, rng=np.random.default_rng(0))
    args = dict(g=1.0, beta=1.0)
    args.update(kw)
    with pytest.raises(ValueError):
        LangevinSampler(J, builtin_kernels("tanh"), **args)


def test_gpu_backend_logic_on_numpy():
    """The CuPy backend's algorithm, run with numpy as its array module, is exact too."""
    from numerics.langevin_gpu import CupyBackend, available

    N, g, eta, beta = 120, 0.5, 0.1, 2.0
    J = couplings(N, 0.0, rng=np.random.default_rng(11))
    A = np.eye(N) - g * J
    Minv = np.linalg.inv(A.T @ A + 2 * eta * np.eye(N))
    s = LangevinSampler(J, builtin_kernels("linear"), g, beta, eta=eta, replicas=4,
                        response=0.01, rng=np.random.default_rng(12), dt=0.1,
                        backend=CupyBackend(xp=np))
    r = s.run(8000, burn=1000, thin=10, progress=False)
    assert_within(r.q, np.trace(Minv) / (beta * N), NSIG, what="q (array backend)")
    assert_within(r.energy, 1 / (2 * beta), NSIG, what="energy (array backend)")
    assert abs(r.chi_resp.mean - s.s @ Minv @ s.s / N) < 1e-6
    ok, why = available(builtin_kernels("tanh"))
    assert ok or why
