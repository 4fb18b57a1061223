"""The planted (annealed) ensemble: couplings drawn together with an equilibrium state.

For gamma = 0, J0 = 0, I = 0 the couplings J_ij (i != j) are i.i.d. N(0, 1/N), J_ii = 0
(``numerics.couplings.couplings(N, 0.0)`` with its diagonal set to zero). The joint density of (J, x)

    P(J, x) = p(J) exp(-beta E(x; J)) / E_J Z,   E = 1/2 |x - g J phi(x)|^2 + eta |x|^2,

has two exact conditionals that make it easy to sample:

* the x-marginal (the annealed measure) is site-separable up to one scalar. Row i of
  g J phi(x) is Gaussian with variance g^2 q_i, q_i = (1/N) sum_{j != i} phi(x_j)^2, so

      P(x) ∝ prod_i s_i^(-1/2) exp(-beta x_i^2 / (2 s_i) - beta eta x_i^2),
      s_i = 1 + beta g^2 q_i;                                                         (A)

* given x the rows of J are independent Gaussians: with f = phi(x) restricted to j != i,
  |f|^2 = N q_i,

      J_i. | x ~ N( beta g x_i f / (N s_i),  (1/N) [I - (1 - 1/s_i) f f^T / |f|^2] ).      (B)

Under P the state x is an exact sample of the Boltzmann measure of the coupling matrix J it
was planted in (the Nishimori property of planting), and the planted J are distributed as
p(J) Z(J) / E_J Z. Hence, for any observable O,

    E_{J planted} < O >_J = E_{x ~ (A)} O(x)                                            (N)

exactly at every N: a sampler run on planted couplings must return, averaged over J, the
annealed value. This tests equilibration of a sampler where no closed form exists, and it
separates the two ways in which a sampled quenched value can differ from the replica
symmetric Q = 0 (annealed) solution: a sampler that does not equilibrate fails (N) on
planted J; if (N) holds, a difference on typical J is a property of the quenched measure
(typical J are not planted J: Z(J) fluctuates on the exponential scale).

(A) is sampled with MALA (many independent chains, O(N) per step); (B) directly.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .langevin import _map
from .tempering import check_ladder, log_z_increment
from .transfer import builtin_kernels

__all__ = ["annealed_logdensity", "annealed_energy", "AnnealedSample", "sample_annealed",
           "planted_couplings", "annealed_log_z_increment"]


def _check(g, beta, eta):
    if not (math.isfinite(g) and g >= 0):
        raise ValueError(f"g must be finite and >= 0, got {g}")
    if not (math.isfinite(beta) and beta > 0):
        raise ValueError(f"beta must be finite and > 0, got {beta}")
    if not (math.isfinite(eta) and eta >= 0):
        raise ValueError(f"eta must be finite and >= 0, got {eta}")


def annealed_logdensity(X, g, beta, eta=0.0, kernels=None):
    """ln P(x) of (A) up to a constant, and its gradient, for each row of X (shape (C, N)).

    d ln P / dx_k = -beta x_k / s_k - 2 beta eta x_k
                    + (2 beta g^2 / N) phi_k phi'_k sum_{i != k} d_i,
    d_i = -1 / (2 s_i) + beta x_i^2 / (2 s_i^2).
    """
    k = kernels or builtin_kernels("tanh")
    X = np.atleast_2d(np.asarray(X, dtype=float))
    N = X.shape[1]
    P = _map(k.phi, X)
    dP = _map(k.dphi, X)
    P2 = P * P
    S = P2.sum(axis=1, keepdims=True)
    s = 1.0 + beta * g * g * (S - P2) / N
    logp = (-0.5 * np.log(s) - beta * X * X / (2 * s) - beta * eta * X * X).sum(axis=1)
    d = -0.5 / s + beta * X * X / (2 * s * s)
    D = d.sum(axis=1, keepdims=True)
    grad = -beta * X / s - 2 * beta * eta * X + (2 * beta * g * g / N) * P * dP * (D - d)
    return logp, grad


def annealed_energy(X, g, beta, eta=0.0, kernels=None):
    """E[E(x; J) | x] / N under (B), for each row of X: with the residual
    r_i = x_i - g (J phi)_i ~ N(x_i / s_i, g^2 q_i / s_i) given x,

        e(x) = (1/N) sum_i [ (x_i^2 / s_i^2 + g^2 q_i / s_i) / 2 + eta x_i^2 ].

    Its mean over (A) is E_{J planted} <E/N>_J, the energy target of a sampler on planted J.
    """
    k = kernels or builtin_kernels("tanh")
    X = np.atleast_2d(np.asarray(X, dtype=float))
    N = X.shape[1]
    P2 = _map(k.phi, X) ** 2
    q_i = (P2.sum(axis=1, keepdims=True) - P2) / N
    s = 1.0 + beta * g * g * q_i
    return (0.5 * (X * X / (s * s) + g * g * q_i / s) + eta * X * X).mean(axis=1)


def _chain_mean(series):
    cm = series.mean(axis=0)
    return float(cm.mean()), float(cm.std(ddof=1) / math.sqrt(cm.size))


@dataclass(frozen=True)
class AnnealedSample:
    """Independent draws of (A): ``x`` (chains, N), the q(x) = |phi(x)|^2/N and e(x)
    (``annealed_energy``) series of every chain after burn-in (``q_series``, ``e_series``,
    shape (records, chains)), MALA acceptance."""

    x: np.ndarray
    q_series: np.ndarray
    e_series: np.ndarray
    acceptance: float

    @property
    def q(self):
        """Mean of q(x) over chains and records, with the error from the spread of the
        chain means (chains are independent)."""
        return _chain_mean(self.q_series)

    @property
    def energy(self):
        """Mean of e(x) (energy per site averaged over planted J), with its error."""
        return _chain_mean(self.e_series)


def sample_annealed(N, g, beta, eta=0.0, kernels=None, chains=16, steps=20000, dt=0.02,
                    thin=10, rng=None) -> AnnealedSample:
    """Sample the annealed x-marginal (A) with ``chains`` independent MALA chains of
    ``steps`` steps (the first half is burn-in) and step ``dt``."""
    _check(g, beta, eta)
    if int(N) != N or N < 2:
        raise ValueError(f"N must be an integer >= 2, got {N!r}")
    if chains < 2 or steps < 2 or not (dt > 0 and math.isfinite(dt)):
        raise ValueError("need chains >= 2, steps >= 2 and a finite dt > 0")
    k = kernels or builtin_kernels("tanh")
    rng = rng if rng is not None else np.random.default_rng()
    X = 0.5 * rng.standard_normal((chains, int(N)))
    lp, gr = annealed_logdensity(X, g, beta, eta, k)
    acc, qs, es = 0.0, [], []
    for t in range(steps):
        Y = X + dt * gr + math.sqrt(2 * dt) * rng.standard_normal(X.shape)
        ly, gy = annealed_logdensity(Y, g, beta, eta, k)
        log_a = (ly - lp - ((X - Y - dt * gy) ** 2).sum(axis=1) / (4 * dt)
                 + ((Y - X - dt * gr) ** 2).sum(axis=1) / (4 * dt))
        ok = np.log(rng.random(chains)) < log_a
        X[ok], lp[ok], gr[ok] = Y[ok], ly[ok], gy[ok]
        if t >= steps // 2:
            acc += ok.mean()
            if (t - steps // 2) % thin == 0:
                qs.append((_map(k.phi, X) ** 2).mean(axis=1))
                es.append(annealed_energy(X, g, beta, eta, k))
    if not np.all(np.isfinite(X)):
        raise FloatingPointError(f"non-finite state in the annealed sampler (dt = {dt} too large?)")
    return AnnealedSample(X.copy(), np.asarray(qs), np.asarray(es), acc / (steps - steps // 2))


def annealed_log_z_increment(N, g, betas, eta=0.0, kernels=None, chains=16, steps=20000,
                             dt=0.02, rng=None, progress=False):
    """ln E_J Z(beta_K) - ln E_J Z(beta_1) along a ladder, by thermodynamic integration of the
    annealed energy:

        d ln E_J Z / d beta = -E_J[Z(J) <E>_J] / E_J Z = -N e_A(beta),

    e_A the energy per site of the planted ensemble (``AnnealedSample.energy``, sampled at
    every rung; ``log_z_increment`` integrates). Its quenched twin is the mean over typical J
    of ``log_z_increment`` from tempering runs on the same ladder; by Jensen
    ln E_J Z - E_J ln Z >= 0 at every beta, and the difference of the two increments is
    the growth of that gap from beta_1 to beta_K: O(1) in N where typical and planted
    couplings are contiguous (quenched = annealed free energy), O(N) where they are not.

    Returns (Estimate, e_A per rung, its errors)."""
    from tqdm.auto import tqdm
    b = check_ladder(betas)                 # before any sampling
    rng = rng if rng is not None else np.random.default_rng()
    e, s = np.empty(b.size), np.empty(b.size)
    for k in tqdm(range(b.size), disable=not progress, desc=f"annealed e, N={N}", unit="rung"):
        e[k], s[k] = sample_annealed(N, g, b[k], eta, kernels, chains, steps, dt, rng=rng).energy
    return log_z_increment(b, e, s, int(N)), e, s


def planted_couplings(x, g, beta, kernels=None, rng=None) -> np.ndarray:
    """Draw J from (B) given the state x (zero diagonal, gamma = 0)."""
    x = np.asarray(x, dtype=float)
    if x.ndim != 1 or x.size < 2 or not np.all(np.isfinite(x)):
        raise ValueError("x must be a finite 1-d state of length >= 2")
    _check(g, beta, 0.0)
    k = kernels or builtin_kernels("tanh")
    rng = rng if rng is not None else np.random.default_rng()
    N = x.size
    f = _map(k.phi, x[None, :])[0]
    P2 = f @ f - f * f                             # |f|^2 without site i, per row
    if np.any(P2 <= 0):
        raise ValueError("phi(x) vanishes off some site: the planted rows are undefined")
    Z = rng.standard_normal((N, N)) / math.sqrt(N)
    np.fill_diagonal(Z, 0.0)
    s = 1.0 + beta * g * g * P2 / N
    shrink = (1.0 - 1.0 / np.sqrt(s)) * (Z @ f) / P2          # along f: sd 1/sqrt(N s_i)
    mean = beta * g * x / (N * s)
    J = Z + np.outer(mean - shrink, f)
    np.fill_diagonal(J, 0.0)
    return J
