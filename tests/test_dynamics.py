"""Original dynamics: integrator accuracy, Lyapunov exponents, fixed points; slow checks
against the dynamic mean field."""
import numpy as np
import pytest

from numerics.couplings import couplings
from numerics.dmft import delta0, lyapunov_dmft
from numerics.dynamics import integrate, lyapunov, lyapunov_samples
from numerics.fixedpoints import find_fixed_points, quench
from numerics.stats import assert_within


def test_rk4_matches_adaptive():
    N = 150
    J = couplings(N, 0.0, rng=np.random.default_rng(0))
    x0 = np.random.default_rng(1).standard_normal(N)
    a = integrate(J, 1.5, x0, 8.0, dt=0.02).X_end
    b = integrate(J, 1.5, x0, 8.0, method="DOP853", rtol=1e-11, atol=1e-13).X_end
    assert np.max(np.abs(a - b)) < 1e-7


def test_linear_decay_exact():
    """phi linear: x(t) = expm((-1 + g J) t) x0."""
    from scipy.linalg import expm
    N, g = 60, 0.5
    J = couplings(N, 0.3, rng=np.random.default_rng(2))
    x0 = np.random.default_rng(3).standard_normal(N)
    x = integrate(J, g, x0, 3.0, dt=0.01, phi="linear").X_end
    np.testing.assert_allclose(x, expm(3.0 * (-np.eye(N) + g * J)) @ x0, atol=1e-9)


def test_lyapunov_linear_exact():
    """Linear phi: the maximal exponent is -1 + g max Re eig(J)."""
    N, g = 80, 0.6
    J = couplings(N, 0.0, rng=np.random.default_rng(4))
    exact = -1 + g * np.max(np.linalg.eigvals(J).real)
    r = lyapunov(J, g, t_transient=0.0, t_total=300.0, dt=0.05, renorm=2.0, k=1,
                 phi="linear", rng=5)
    # the leading eigenvalue may be a complex pair: the growth rate oscillates, so
    # compare with the error bar plus a small allowance for the finite window
    assert_within(r.lmax, exact, 4.0, abs_tol=0.01, what="linear Lyapunov")
    lo, hi = r.interval()
    assert lo < r.lmax.mean < hi


def test_lyapunov_ordered_negative():
    N = 100
    J = couplings(N, 0.0, rng=np.random.default_rng(6))
    r = lyapunov(J, 0.5, t_transient=20, t_total=60, dt=0.05, k=2, rng=7)
    assert r.lam[0].mean < 0 and r.lam[1].mean <= r.lam[0].mean + 1e-9


def test_noise_runs_and_is_reproducible():
    J = couplings(50, 0.0, rng=np.random.default_rng(8))
    a = integrate(J, 1.2, np.zeros(50), 5.0, dt=0.01, sigma=0.3, rng=9)
    b = integrate(J, 1.2, np.zeros(50), 5.0, dt=0.01, sigma=0.3, rng=9)
    np.testing.assert_array_equal(a.X_end, b.X_end)
    assert a.delta[-1] > 0


def test_fixed_points_small():
    N = 120
    J = couplings(N, 0.0, rng=np.random.default_rng(10))
    # ordered phase: only x = 0, stable, log det = log|det(I - g J)|
    r = find_fixed_points(J, 0.6, n_starts=4, rng=11)
    assert len(r.points) == 1 and r.points[0].q < 1e-20 and r.points[0].stable
    assert abs(r.points[0].logdet - np.linalg.slogdet(np.eye(N) - 0.6 * J)[1]) < 1e-10
    # chaotic regime: non-zero fixed points, verified directly; -x* is one too (odd phi)
    g = 1.5
    r = find_fixed_points(J, g, n_starts=8, rng=12)
    nz = [p for p in r.points if p.q > 1e-6]
    assert nz and r.n_converged + r.n_nonzero_minima == 8
    for p in nz:
        for x in (p.x, -p.x):
            assert np.max(np.abs(x - g * J @ np.tanh(x))) < 1e-9
        assert abs(p.q - np.mean(np.tanh(p.x) ** 2)) < 1e-14
    # distinct points are really distinct
    for a in range(len(r.points)):
        for b in range(a):
            assert np.linalg.norm(r.points[a].x - r.points[b].x) > 1e-3


def test_quench_labels_basins():
    """States near a listed fixed point are labelled by its index; near its mirror image -x
    (a fixed point too, phi odd) by -1 when only x is listed; the end states are zeros of F."""
    N, g = 120, 1.5
    J = couplings(N, 0.0, rng=np.random.default_rng(10))
    r = find_fixed_points(J, g, n_starts=8, rng=12)
    x = max(r.points, key=lambda p: p.q).x
    assert np.mean(np.tanh(x) ** 2) > 1e-3
    noise = 1e-2 * np.random.default_rng(3).standard_normal((4, N))
    X = np.vstack([x + noise[:2], -x + noise[2:]])
    labels, ends = quench(J, g, X, [x])
    assert labels.tolist() == [0, 0, -1, -1]
    np.testing.assert_allclose(ends[:2], np.tile(x, (2, 1)), atol=1e-8)
    np.testing.assert_allclose(ends[2:], np.tile(-x, (2, 1)), atol=1e-8)
    labels2, _ = quench(J, g, X, [x, -x])
    assert labels2.tolist() == [0, 0, 1, 1]
    with pytest.raises(ValueError, match="columns"):
        quench(J, g, np.zeros((2, N - 1)), [x])


@pytest.mark.slow
def test_delta0_simulation_g15():
    """SCS Delta0 at g = 1.5 against the time-averaged <x^2> of N = 2000 networks."""
    from numerics.stats import combine
    ests = []
    for s in range(2):
        J = couplings(2000, 0.0, rng=np.random.default_rng(100 + s))
        x0 = np.random.default_rng(200 + s).standard_normal((2, 2000))
        tr = integrate(J, 1.5, x0, 600.0, dt=0.1, record_every=1.0)
        ests.append(tr.delta0(t_min=100.0))
    est = combine(ests)
    # finite-N bias: O(1/N) corrections are below 1e-2 at N = 2000
    assert_within(est, delta0(1.5), 4.0, abs_tol=0.02, what="Delta0 (g = 1.5)")


@pytest.mark.slow
def test_lyapunov_simulation_g2():
    """SCS maximal Lyapunov exponent at g = 2 against Benettin at N = 1000 (3 J samples)."""
    est = lyapunov_samples(1000, 2.0, seeds=(0, 1, 2), t_transient=50.0, t_total=300.0, dt=0.1)
    assert_within(est, lyapunov_dmft(2.0).lyapunov, 4.0, abs_tol=0.01, what="lambda_max (g = 2)")
