"""Parallel tempering in beta: exact per-rung measure (linear phi, Gaussian closed form),
exchange bookkeeping, and input checks."""
import math

import numpy as np
import pytest

from numerics.couplings import couplings
from numerics.stats import assert_within
from numerics.tempering import TemperingSampler, geometric_ladder, log_z_increment
from numerics.transfer import kernels

N, G, ETA = 24, 0.5, 0.1


def _exact_trace():
    J = couplings(N, 0.0, rng=np.random.default_rng(1))
    A = np.eye(N) - G * J
    M = A.T @ A + 2 * ETA * np.eye(N)
    return J, float(np.trace(np.linalg.inv(M)) / N)


def _run(swap=None):
    J, tr = _exact_trace()
    betas = geometric_ladder(1.0, 10.0, N)
    s = TemperingSampler(J, kernels("linear"), G, betas, eta=ETA, replicas=2,
                         rng=np.random.default_rng(3), dt=0.1, swap_every=5)
    if swap is not None:
        s._swap = swap.__get__(s)
    return s, betas, tr, s.run(20000, burn=4000, thin=5, progress=False)


def test_every_rung_samples_its_own_gaussian_measure():
    """Linear phi: E/N = 1/(2 beta) and q = Tr M^-1 / (beta N) exactly at finite N, on every
    rung, while configurations travel the ladder."""
    s, betas, tr, res = _run()
    assert len(res) == betas.size
    for b, r in zip(betas, res):
        assert_within(r.energy, 1 / (2 * b), 4.0, what=f"energy at beta {b:.3g}")
        assert_within(r.q, tr / b, 4.0, what=f"q at beta {b:.3g}")
    acc = s.swap_acceptance
    assert np.all((acc > 0.2) & (acc < 0.95))
    assert s.round_trips > 0
    assert sorted(s.walker.ravel()) == list(range(betas.size * 2))     # a permutation
    # thermodynamic integration over the measured rung energies: E is quadratic, so
    # Z(beta) ∝ beta^(-N/2) and ln Z(10) - ln Z(1) = -(N/2) ln 10 exactly
    dlnz = log_z_increment(betas, [r.energy.mean for r in res], [r.energy.err for r in res], N)
    assert_within(dlnz, -N / 2 * math.log(10.0), 4.0, what="ln Z(10) - ln Z(1)")


def test_wrong_exchange_rule_is_detected():
    """Negative control: exchanging always (no Metropolis test) breaks the rungs' measures,
    and the comparison above sees it."""
    def always(self):
        K, R = self.G, self.R
        for k in range(self._parity, K - 1, 2):
            for r in range(R):
                a, b = k * R + r, (k + 1) * R + r
                self.X[[a, b]] = self.X[[b, a]]
                self.grad[[a, b]] = self.grad[[b, a]]
                self.E[[a, b]] = self.E[[b, a]]
        self._parity ^= 1

    _, betas, tr, res = _run(always)
    z = [(r.energy.mean - 1 / (2 * b)) / r.energy.err for b, r in zip(betas, res)]
    assert max(abs(x) for x in z) > 6


def test_log_z_increment_two_level_system():
    """Z = 1 + exp(-beta D) (one site): the trapezoid rule in ln beta converges to the exact
    ln Z increment at second order in the log spacing; errors propagate per rung."""
    D, b0, b1 = 1.0, 0.3, 30.0

    def e(b):
        return D / (1.0 + np.exp(b * D))

    exact = math.log1p(math.exp(-b1 * D)) - math.log1p(math.exp(-b0 * D))
    errs = []
    for K in (20, 40, 80):
        b = np.geomspace(b0, b1, K)
        errs.append(abs(log_z_increment(b, e(b), np.zeros(K), 1).mean - exact))
    assert errs[2] < 1e-3
    assert 3.0 < errs[0] / errs[1] < 5.0 and 3.0 < errs[1] / errs[2] < 5.0
    b = np.array([1.0, math.e])                       # one interval of unit log length
    r = log_z_increment(b, [0.0, 0.0], [0.1, 0.2], 10)
    assert r.mean == 0.0 and math.isclose(r.err, 10 * math.hypot(0.5 * 0.1, 0.5 * math.e * 0.2))
    with pytest.raises(ValueError, match="increasing"):
        log_z_increment([2.0, 1.0], [0.1, 0.2], [0.0, 0.0], 5)
    with pytest.raises(ValueError, match="finite"):
        log_z_increment([1.0, 2.0], [0.1, float("nan")], [0.0, 0.0], 5)
    with pytest.raises(ValueError, match="same length"):
        log_z_increment([1.0, 2.0], [0.1], [0.0], 5)


def test_ladder_and_input_checks():
    lad = geometric_ladder(10.0, 1000.0, 500)
    assert lad[0] == 10.0 and math.isclose(lad[-1], 1000.0)
    assert np.all(lad[1:] / lad[:-1] <= 1 + math.sqrt(2 / 500) + 1e-12)
    J = couplings(10, 0.0, rng=np.random.default_rng(0))
    k = kernels("tanh")
    with pytest.raises(ValueError, match="increasing"):
        TemperingSampler(J, k, 1.0, [2.0, 1.0])
    with pytest.raises(ValueError, match="one gain"):
        TemperingSampler(J, k, [1.0, 1.1], [1.0, 2.0])
    with pytest.raises(ValueError, match="response"):
        TemperingSampler(J, k, 1.0, [1.0, 2.0], response=0.01)
    with pytest.raises(ValueError, match="beta_min"):
        geometric_ladder(2.0, 1.0, 100)
