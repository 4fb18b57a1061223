"""Gauss-Hermite nodes for expectations over Gaussian fields.

The replica free energy averages ln Z over a small Gaussian field vector
fields = mean + L z, z ~ N(0, I) (THEORY.md, section 2, step 6: the Cholesky factor L
of the RS coupling matrix). The rules here are tensor products of the probabilists'
Gauss-Hermite rule, exact for E_z[f(z)] when f is a polynomial of degree <= 2n - 1 in
each component.
"""
from __future__ import annotations

import functools

import numpy as np
from scipy.special import roots_hermitenorm


@functools.lru_cache(maxsize=64)
def _hermite(n):
    x, w = roots_hermitenorm(n)
    w = w / w.sum()
    # symmetrise: the rule is exactly symmetric, the computed one to rounding
    x = 0.5 * (x - x[::-1])
    w = 0.5 * (w + w[::-1])
    x.setflags(write=False)
    w.setflags(write=False)
    return x, w


def hermite_nodes(n: int):
    """Probabilists' Gauss-Hermite rule for E over N(0, 1): (nodes, weights), sum(w) = 1.

    E_z f(z) ~ sum_i w_i f(x_i), exact for polynomials of degree <= 2n - 1. Computed by
    scipy.special.roots_hermitenorm (Golub-Welsch plus Newton polishing; asymptotic
    expansions above n = 150), normalised to weights summing to one.
    """
    n = int(n)
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    x, w = _hermite(n)
    return x.copy(), w.copy()


def product_nodes(n: int, dim: int, prune: float = 1e-16):
    """Tensor-product rule for E over N(0, I_dim): (z of shape (m, dim), w of shape (m,)).

    Nodes whose product weight is below ``prune`` are dropped and the remaining weights
    rescaled to sum to one (the dropped mass, at most m * prune, is reassigned
    proportionally). Order: the last component varies fastest, so consecutive nodes are
    neighbours in z. dim = 0 gives the single node z = () with weight 1.
    """
    dim = int(dim)
    if dim < 0:
        raise ValueError(f"dim must be >= 0, got {dim}")
    if dim == 0:
        return np.zeros((1, 0)), np.ones(1)
    x, w = hermite_nodes(n)
    grids = np.meshgrid(*([x] * dim), indexing="ij")
    wgrid = functools.reduce(np.multiply.outer, [w] * dim)
    z = np.stack([g.ravel() for g in grids], axis=1)
    ww = wgrid.ravel()
    keep = ww >= prune
    z, ww = z[keep], ww[keep]
    return z, ww / ww.sum()


def reduce_factor(L, rtol: float = 1e-12):
    """Columns of L that matter: returns L_r (d x r) with L_r L_r^T = L L^T, r = rank.

    Zero columns are dropped; if the remaining columns are linearly dependent they are
    replaced by U_r S_r from the SVD of L (same covariance, r orthogonal directions).
    Independent columns are kept as given, so a lower-triangular L keeps its structure
    (field 0 depends on z_0 only, and so on).
    """
    L = np.atleast_2d(np.asarray(L, dtype=np.float64))
    if L.size == 0:
        return np.zeros((L.shape[0], 0))
    if not np.all(np.isfinite(L)):
        raise ValueError("L has non-finite entries")
    scale = np.abs(L).max()
    if scale == 0.0:
        return np.zeros((L.shape[0], 0))
    cols = [j for j in range(L.shape[1]) if np.abs(L[:, j]).max() > rtol * scale]
    Lc = L[:, cols]
    s = np.linalg.svd(Lc, compute_uv=False)
    r = int(np.sum(s > rtol * s[0]))
    if r == Lc.shape[1]:
        return Lc
    U, s, _ = np.linalg.svd(L, full_matrices=False)
    return U[:, :r] * s[:r]


def field_rule(mean, L, n: int, prune: float = 1e-16):
    """``field_nodes`` with the standard-normal coordinates kept:
    (fields, weights, rank, z of shape (m, rank), L_r of shape (d, rank)) with
    fields = mean + z @ L_r.T."""
    mean = np.atleast_1d(np.asarray(mean, dtype=np.float64))
    d = mean.shape[0]
    L = np.asarray(L, dtype=np.float64).reshape(d, -1) if d else np.zeros((0, 0))
    if not np.all(np.isfinite(mean)):
        raise ValueError("mean has non-finite entries")
    Lr = reduce_factor(L)
    r = Lr.shape[1]
    z, w = product_nodes(n, r, prune)
    fields = mean[None, :] + z @ Lr.T
    return np.ascontiguousarray(fields), w, r, z, Lr


def field_nodes(mean, L, n: int, prune: float = 1e-16):
    """Nodes and weights for E over fields = mean + L z, z ~ N(0, I).

    Returns (fields of shape (m, d), weights of shape (m,), r) with r the rank of L:
    zero or dependent columns of L are collapsed (see ``reduce_factor``), so an all-zero
    L gives the single node fields = mean with weight 1, and a rank-r L an r-dimensional
    product rule with n nodes per direction.
    """
    fields, w, r, _, _ = field_rule(mean, L, n, prune)
    return fields, w, r
