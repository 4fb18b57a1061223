"""Replica exchange (parallel tempering) in beta for the quasi-potential measure.

A ladder beta_1 < beta_2 < ... < beta_K at one g carries, for each of R independent
walker sets, one MALA chain per rung (the rows of ``LangevinSampler`` with G = K control
points). Every ``swap_every`` steps neighbouring rungs k, k+1 of the same walker set
exchange their configurations with the Metropolis probability

    min(1, exp[(beta_k - beta_{k+1}) (E(x_k) - E(x_{k+1}))]),            E total (not per site)

alternating the pairs (1,2), (3,4), ... with (2,3), (4,5), ... . Each exchange leaves the
product measure prod_k exp(-beta_k E(x_k)) / Z_k invariant, and so does each MALA sweep, so
every rung samples its own exp(-beta_k E) exactly; the exchanges let configurations found at
small beta (where the measure mixes) reach large beta. The gradient of E does not depend on
beta, so an exchange swaps x, grad E and E; the MALA step dt stays with its rung.

A rung spacing with acceptance of order one needs (beta_{k+1} - beta_k) * std(E) ~ 1; for
E/N ~ 1/(2 beta) per site this is beta_{k+1}/beta_k - 1 ~ sqrt(2/N) (``geometric_ladder``).

Diagnostics: ``swap_acceptance`` per neighbouring pair, and ``round_trips``: how many times
a walker (a configuration followed through its exchanges) went from the lowest rung to the
highest and back. Observables per rung are those of ``LangevinSampler.run``.
"""
from __future__ import annotations

import math

import numpy as np

from .langevin import LangevinSampler
from .stats import Estimate

__all__ = ["TemperingSampler", "geometric_ladder", "log_z_increment"]


def geometric_ladder(beta_min: float, beta_max: float, N: int, c: float = 1.0) -> np.ndarray:
    """Geometric ladder from beta_min to beta_max with ratio about 1 + c sqrt(2/N)."""
    if not (0 < beta_min < beta_max and math.isfinite(beta_max)):
        raise ValueError("need 0 < beta_min < beta_max < inf")
    if N < 2 or c <= 0:
        raise ValueError("need N >= 2 and c > 0")
    K = max(2, int(math.ceil(math.log(beta_max / beta_min) / math.log1p(c * math.sqrt(2.0 / N)))) + 1)
    return np.geomspace(beta_min, beta_max, K)


def check_ladder(betas) -> np.ndarray:
    """betas as a float array, checked: one-dimensional, at least two, finite, positive and
    increasing (ValueError otherwise)."""
    b = np.asarray(betas, dtype=float)
    if b.ndim != 1 or b.size < 2:
        raise ValueError("betas must be a 1-d ladder of at least two values")
    if not (np.all(np.isfinite(b)) and np.all(b > 0) and np.all(np.diff(b) > 0)):
        raise ValueError("betas must be finite, positive and strictly increasing")
    return b


def log_z_increment(betas, energies, errors, N: int) -> Estimate:
    """ln Z(beta_K) - ln Z(beta_1) of one coupling matrix by thermodynamic integration along
    a ladder, from the mean energies per site e_k = <E>_k / N measured on its rungs:

        d ln Z / d beta = -<E> = -N e(beta)  =>  ln Z(beta_K) - ln Z(beta_1)
                                                 = -N int (beta e) d ln beta,

    the trapezoid rule in ln beta (exact when beta e is constant, as for a quadratic E where
    beta e = 1/2). The error propagates the rung errors as if independent (neighbouring
    rungs of a tempering run are weakly correlated through the exchanges); the
    discretisation error is not included (O(h^2) in the log spacing h)."""
    b = check_ladder(betas)
    e = np.asarray(energies, dtype=float)
    s = np.asarray(errors, dtype=float)
    if e.shape != b.shape or s.shape != b.shape:
        raise ValueError("need betas, energies, errors of the same length >= 2")
    if not (np.all(np.isfinite(e)) and np.all(np.isfinite(s)) and np.all(s >= 0)):
        raise ValueError("energies and errors must be finite (errors >= 0)")
    if N < 1:
        raise ValueError(f"N must be >= 1, got {N}")
    h = np.diff(np.log(b))
    w = np.zeros_like(b)
    w[:-1] += h / 2
    w[1:] += h / 2
    return Estimate(float(-N * np.sum(w * b * e)), float(N * np.sqrt(np.sum((w * b * s) ** 2))),
                    1.0, b.size)


class TemperingSampler(LangevinSampler):
    """Parallel tempering in beta on one J: ``LangevinSampler`` with the ladder ``betas``
    (strictly increasing) at one gain g as its control points, ``replicas`` independent walker
    sets, and configuration exchanges between neighbouring rungs every ``swap_every`` steps.
    Other parameters as for ``LangevinSampler`` (CPU backend, no response partners)."""

    def __init__(self, J, kernels, g, betas, swap_every=10, **kw):
        betas = check_ladder(betas)
        if not np.isscalar(g) and np.ndim(g) != 0:
            raise ValueError("one gain g for the whole ladder")
        if kw.get("response") is not None:
            raise ValueError("response partners are not supported with tempering")
        if kw.get("backend", "cpu") != "cpu":
            raise ValueError("tempering runs on the CPU backend")
        if int(swap_every) != swap_every or swap_every < 1:
            raise ValueError("swap_every must be a positive integer")
        super().__init__(J, kernels, float(g), betas, **kw)
        self.swap_every = int(swap_every)
        K, R = self.G, self.R
        self.n_tried = np.zeros(K - 1, dtype=np.int64)
        self.n_accepted = np.zeros(K - 1, dtype=np.int64)
        self._parity = 0
        # walker bookkeeping: walker[k, r] = id of the configuration on rung k of set r;
        # _dir[id] = +1 once it has visited the bottom rung, -1 once it went on to the top
        self.walker = np.arange(K * R).reshape(K, R)
        self._dir = np.zeros(K * R, dtype=np.int64)
        self._dir[self.walker[0]] = 1
        self.round_trips = 0

    @property
    def swap_acceptance(self) -> np.ndarray:
        """Accepted fraction of the exchanges tried between rungs k and k + 1 (NaN if none)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.n_tried > 0, self.n_accepted / np.maximum(self.n_tried, 1), np.nan)

    def _advance(self, n):
        fracs, done = [], 0
        while done < n:
            m = min(self.swap_every - self.step % self.swap_every, n - done)
            fracs.append(super()._advance(m) * m)
            done += m
            if self.step % self.swap_every == 0:
                self._swap()
        return np.sum(fracs, axis=0) / n

    def _swap(self):
        K, R = self.G, self.R
        beta = self.beta_points
        for k in range(self._parity, K - 1, 2):
            for r in range(R):
                a, b = k * R + r, (k + 1) * R + r
                self.n_tried[k] += 1
                x = (beta[k] - beta[k + 1]) * (self.E[a] - self.E[b])
                if x >= 0 or self.rng.random() < math.exp(x):
                    self.n_accepted[k] += 1
                    self.X[[a, b]] = self.X[[b, a]]
                    self.grad[[a, b]] = self.grad[[b, a]]
                    self.E[[a, b]] = self.E[[b, a]]
                    self.walker[[k, k + 1], r] = self.walker[[k + 1, k], r]
        self._parity ^= 1
        bottom, top = self.walker[0], self.walker[-1]
        self.round_trips += int(np.count_nonzero(self._dir[bottom] == -1))   # bottom-top-bottom
        self._dir[bottom] = 1
        self._dir[top] = np.where(self._dir[top] == 1, -1, self._dir[top])

    def diagnostics(self) -> dict:
        return {"betas": self.beta_points.tolist(), "swap_every": self.swap_every,
                "swap_acceptance": self.swap_acceptance.tolist(),
                "round_trips": int(self.round_trips), "walker_sets": int(self.R),
                "dt": self.dt.reshape(self.G, self.R).mean(axis=1).tolist()}
