"""Saddle-point solvers against exact results (THEORY.md section 3)."""
import math

import mpmath
import numpy as np
import pytest

from numerics.continuation import solve
from numerics.couplings import couplings
from theory.model import ModelError, Point, make_model


def finite_n_linear(N, g, gamma, beta, eta, samples, seed):
    """(1/N) E<|x|^2> = (1/(beta N)) Tr[(A^T A + 2 eta)^-1], A = I - g J, over J samples."""
    rng = np.random.default_rng(seed)
    vals = []
    for _ in range(samples):
        J = couplings(N, gamma, rng=rng)
        A = np.eye(N) - g * J
        vals.append(np.trace(np.linalg.inv(A.T @ A + 2 * eta * np.eye(N))) / (beta * N))
    return np.mean(vals), np.std(vals) / math.sqrt(samples) + 1e-12


@pytest.mark.parametrize("gamma", [-0.5, 0.0, 0.5])
def test_linear_phi_matches_finite_n_exact(gamma):
    g, beta, eta = 0.6, 4.0, 0.2
    res = solve("linear", Point(g=g, gamma=gamma, beta=beta, eta=eta), branch="paramagnetic")
    assert res.success, res.message
    # equipartition: e = 1/(2 beta) exactly for a Gaussian measure
    assert res.energy == pytest.approx(1 / (2 * beta), rel=1e-10)
    mean, err = finite_n_linear(1500, g, gamma, beta, eta, samples=3, seed=11)
    # finite-N corrections are O(1/N); allow the sampling spread plus 1/N
    assert abs(res.x["q"] - mean) < 4 * err + 2.0 / 1500 * mean


def test_zero_temperature_ordered_chi_gamma0():
    for g in (0.3, 0.6, 0.9, 0.97):
        r = solve("tanh", Point(g=g, gamma=0.0, beta=math.inf), kind="laplace")
        assert r.success, r.message
        assert r.x["q"] == pytest.approx(0.0, abs=1e-12)
        assert r.chi == pytest.approx(1 / (1 - g * g), rel=1e-10)


@pytest.mark.parametrize("gamma", [-0.5, 0.4])
def test_ordered_chi_equals_linear_response_trace(gamma):
    """chi = (1/N) Tr[(A^T A)^-1], A = I - g phi'(0) J, within the sample spread (N = 1000)."""
    g = 0.6
    r = solve("tanh", Point(g=g, gamma=gamma, beta=math.inf), kind="laplace")
    assert r.success, r.message
    rng = np.random.default_rng(3)
    N = 1000
    vals = []
    for _ in range(8):
        A = np.eye(N) - g * couplings(N, gamma, rng=rng)
        vals.append(np.trace(np.linalg.inv(A.T @ A)) / N)
    err = np.std(vals, ddof=1) / math.sqrt(len(vals))
    assert abs(r.chi - np.mean(vals)) < 3 * err + r.chi / N


def test_chaotic_limit_is_static_cavity_gamma0():
    """At gamma = 0 the q - Q finite limit gives the fixed-point cavity q (0.1732729446 at g = 1.2)."""
    r = solve("tanh", Point(g=1.2, gamma=0.0, beta=math.inf), kind="chaotic", branch="paramagnetic")
    assert r.success, r.message
    assert r.x["q"] == pytest.approx(0.1732729446, abs=2e-10)


def test_erf_closed_form_double_and_30_digits():
    """phi = erf(sqrt(pi) x/2): E_z phi(a z)^2 = (2/pi) arcsin(pi a^2/(2 + pi a^2)), a^2 = g^2 q."""
    g = 1.3
    r = solve("erf", Point(g=g, gamma=0.0, beta=math.inf), kind="chaotic", branch="paramagnetic")
    assert r.success, r.message
    q = r.x["q"]
    a2 = g * g * q
    assert q == pytest.approx(2 / math.pi * math.asin(math.pi * a2 / (2 + math.pi * a2)), abs=1e-12)
    from numerics.precision import solve_mp
    rm = solve_mp("erf", Point(g=g, gamma=0.0, beta=math.inf), kind="chaotic",
                  branch="paramagnetic", digits=30, x0=list(r.x.values())[:4])
    assert rm.success, rm.message
    with mpmath.workdps(40):
        qm = rm.x["q"]
        a2 = mpmath.mpf(g) ** 2 * qm
        exact = 2 / mpmath.pi * mpmath.asin(mpmath.pi * a2 / (2 + mpmath.pi * a2))
        assert abs(qm - exact) < mpmath.mpf(10) ** -29


def test_finite_beta_approaches_zero_temperature_in_ordered_phase():
    """chi(beta) = beta (q - Q) -> 1/(1 - g^2) with corrections O(1/beta)."""
    g = 0.7
    exact = 1 / (1 - g * g)
    errs = []
    for beta in (1e2, 1e3, 1e4):
        r = solve("tanh", Point(g=g, gamma=0.0, beta=beta), branch="paramagnetic")
        assert r.success, r.message
        errs.append(abs(r.chi - exact))
    # error falls by about 10 per decade of beta (rate 1/beta)
    assert 5 < errs[0] / errs[1] < 20 and 5 < errs[1] / errs[2] < 20


def test_failures_are_reported_not_nan():
    from numerics.saddle import Problem, compiled_for, newton
    cm = compiled_for(make_model("tanh"), "finite", "paramagnetic")
    res = newton(Problem(cm, Point(g=1.2, beta=10.0)), [-5.0, 3.0, 50.0, -40.0], tol=1e-10)
    assert not res.success and res.message
    with pytest.raises(ModelError):
        Point(g=-1.0)
    with pytest.raises(ModelError):
        Point(g=1.0, gamma=1.5)
    with pytest.raises(ModelError):
        Point(g=1.0, beta=float("nan"))
    with pytest.raises(ModelError):
        solve("tanh", Point(g=1.0, beta=math.inf), kind="finite")


def test_mean_coupling_solves_reach_the_psd_boundary_and_the_symmetric_branch():
    """J0 variants: with input the solution is reached through iterates that leave the PSD
    cone of the field covariance (continuous extension during Newton only), and verified
    independently by the RS pair relations of the replicon module; without input the
    m = Q = 0 solution is exact by symmetry and must satisfy the full equations."""
    from numerics.replicon import replicon
    m = make_model("tanh", mean_coupling=True, quenched_input=True)
    pt = Point(g=1.0, gamma=0.2, beta=4, eta=0.05, J0=2.0, I0=0.3, sI=0.5)
    r = solve(m, pt)
    assert r.success and r.residual_norm < 1e-10 and r.x["Q"] > 0.05
    assert replicon(m, pt, r).rs_residual < 1e-10
    m0 = make_model("tanh", mean_coupling=True)
    r0 = solve(m0, Point(g=1.0, gamma=0.2, beta=4, eta=0.05, J0=1.5))
    assert r0.success and r0.residual_norm < 1e-12
    assert r0.x["m"] == 0.0 and r0.x["Q"] == 0.0


def finite_n_linear_input(N, g, gamma, beta, eta, J0, I0, sI, samples, seed):
    """Linear phi with mean coupling and input: exp(-beta E) is Gaussian with mean
    mu = (A^T A + 2 eta)^-1 A^T I and covariance (beta (A^T A + 2 eta))^-1, A = I - g J,
    J = J0/N 11^T + random part; returns per-sample (m, Q, q) = (mean mu, |mu|^2/N,
    Q + Tr C/N)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(samples):
        J = couplings(N, gamma, rng=rng) + J0 / N
        inp = I0 + sI * rng.standard_normal(N)
        A = np.eye(N) - g * J
        M = A.T @ A + 2 * eta * np.eye(N)
        mu = np.linalg.solve(M, A.T @ inp)
        Q = mu @ mu / N
        out.append((mu.mean(), Q, Q + np.trace(np.linalg.inv(M)) / (beta * N)))
    return np.array(out)


@pytest.mark.parametrize("sI", [0.0, 0.3])
def test_linear_phi_with_mean_coupling_and_input_matches_finite_n_exact(sI):
    """Solved from g = 0 (Newton with a line search takes over where hybr stalls next to
    the domain edge Qh = 0) and compared with the exact Gaussian measure at N = 1500."""
    pt = Point(g=0.5, gamma=0.3, beta=10.0, eta=0.1, J0=0.5, I0=0.2, sI=sI)
    res = solve(make_model("linear", mean_coupling=True, quenched_input=True), pt)
    assert res.success, res.message
    vals = finite_n_linear_input(1500, 0.5, 0.3, 10.0, 0.1, 0.5, 0.2, sI, samples=3, seed=5)
    mean, err = vals.mean(axis=0), vals.std(axis=0) / math.sqrt(3) + 1e-12
    for i, name in enumerate(("m", "Q", "q")):
        assert abs(res.x[name] - mean[i]) < 4 * err[i] + 2.0 / 1500 * abs(mean[i]), name


def test_line_search_newton_reports_domain_failures_without_raising():
    """A start where the site measure is not normalisable (linear phi, qh << 0) comes back
    as success=False with status 2 and a message, from method='newton' and from the hybr
    fallback chain alike."""
    from numerics.saddle import Problem, compiled_for, newton
    cm = compiled_for("linear", "finite", "paramagnetic")
    prob = Problem(cm, Point(g=0.5, gamma=0.0, beta=4.0, eta=0.0))
    bad = [0.1, -0.5, -50.0, 0.0]                     # q, r, qh, rh
    for method in ("newton", "hybr"):
        r = newton(prob, bad, method=method)
        assert not r.success and r.status in (1, 2) and r.message
        assert all(math.isfinite(v) for v in r.x.values())


@pytest.mark.parametrize("g_value, gamma_value", [(1.2, 0.0), (0.9648, 0.3)])
def test_zero_temperature_energy_of_the_q_finite_scaling_is_the_limit_of_the_path(g_value, gamma_value):
    """Above g_q the finite-beta solution tends to the q - Q finite one with beta e -> 1/2
    and beta f growing like (1/2) ln beta: e, f -> 0, the values the chaotic solve reports."""
    from numerics.continuation import continuation
    betas = np.logspace(1, 7, 13)
    pts = [Point(g=g_value, gamma=gamma_value, beta=float(b)) for b in betas]
    r0 = solve("tanh", pts[0], branch="paramagnetic")
    path = list(continuation("tanh", pts, branch="paramagnetic",
                             x0=[r0.x[k] for k in ("q", "r", "qh", "rh")]))
    assert all(r.success for r in path)
    be = [r.point["beta"] * r.energy for r in path]
    assert abs(be[-1] - 0.5) < 1e-6 and abs(be[-1] - 0.5) <= abs(be[0] - 0.5)
    bf = [r.point["beta"] * r.free_energy for r in path]
    slope = (bf[-1] - bf[-3]) / (math.log(betas[-1]) - math.log(betas[-3]))
    assert abs(slope - 0.5) < 1e-3 and abs(path[-1].free_energy) < 1e-6
    cha = solve("tanh", Point(g=g_value, gamma=gamma_value, beta=math.inf), kind="chaotic",
                branch="paramagnetic")
    assert cha.success and cha.energy == 0.0 and cha.free_energy == 0.0
    assert abs(cha.x["q"] - path[-1].x["q"]) < 1e-5
