"""Parallel tempering in beta: exact per-rung measure (linear phi, Gaussian closed form),
exchange bookkeeping, and input checks."""
import math

import numpy as np
import pytest

from numerics.couplings import couplings
from numerics.stats import assert_within
from numerics.tempering import TemperingSampler, geometric_ladder
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
