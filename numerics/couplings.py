"""Random couplings of the recurrent network (THEORY.md §1).

The pairs (J_ij, J_ji), i < j, are independent bivariate Gaussians with

    E[J_ij] = J0/N,   Var[J_ij] = 1/N,   Corr(J_ij, J_ji) = gamma,   gamma in [-1, 1].

They are drawn as J = (A_s + k A_a)/sqrt(1 + k^2), k = sqrt((1 - gamma)/(1 + gamma)),
with A_s symmetric and A_a antisymmetric, independent N(0, 1/N) entries above the
diagonal. Written without k, the same matrix is

    J = sqrt((1 + gamma)/2) A_s + sqrt((1 - gamma)/2) A_a,

which stays finite at gamma = -1 (purely antisymmetric) and gamma = 1 (symmetric).
Diagonal entries are drawn independently, J_ii ~ N(J0/N, 1/N), so that every entry has
variance 1/N (the diagonal does not matter as N -> infinity).
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["couplings", "symmetry_weights"]


def symmetry_weights(gamma: float) -> tuple[float, float]:
    """Weights (a, b) of J = a A_s + b A_a: a = sqrt((1+gamma)/2), b = sqrt((1-gamma)/2)."""
    gamma = float(gamma)
    if not math.isfinite(gamma) or abs(gamma) > 1.0:
        raise ValueError(f"gamma must be a finite number in [-1, 1], got {gamma!r}")
    return math.sqrt((1.0 + gamma) / 2.0), math.sqrt((1.0 - gamma) / 2.0)


def couplings(N: int, gamma: float, J0: float = 0.0, rng: np.random.Generator | None = None,
              dtype=np.float64) -> np.ndarray:
    """Draw an N x N coupling matrix with the moments of THEORY.md §1.

    Parameters
    ----------
    N : number of units (>= 2).
    gamma : correlation Corr(J_ij, J_ji) in [-1, 1].
    J0 : mean coupling, E[J_ij] = J0/N.
    rng : a seeded ``numpy.random.Generator`` (required for reproducibility; a fresh
        unseeded one is used if None).

    Returns a C-contiguous array of shape (N, N).
    """
    if int(N) != N or N < 2:
        raise ValueError(f"N must be an integer >= 2, got {N!r}")
    N = int(N)
    if not math.isfinite(float(J0)):
        raise ValueError(f"J0 must be finite, got {J0!r}")
    a, b = symmetry_weights(gamma)
    if rng is None:
        rng = np.random.default_rng()
    s = 1.0 / math.sqrt(N)
    iu = np.triu_indices(N, 1)
    n_pairs = iu[0].size
    J = np.zeros((N, N), dtype=dtype)
    # independent N(0, 1/N) upper-triangular entries of A_s and A_a
    zs = rng.standard_normal(n_pairs) * s
    za = rng.standard_normal(n_pairs) * s
    J[iu] = a * zs + b * za          # J_ij, i < j
    J.T[iu] = a * zs - b * za        # J_ji
    J[np.diag_indices(N)] = rng.standard_normal(N) * s
    if J0 != 0.0:
        J += J0 / N
    return J
