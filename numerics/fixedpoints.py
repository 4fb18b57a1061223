"""Fixed points of dx/dt = -x + g J phi(x) + I, i.e. the zeros of E(x) with U = 0.

Each start is minimised with scipy's Levenberg-Marquardt / trust-region least squares on
the residual F(x) = x - g J phi(x) - I with the analytic Jacobian
DF = I - g J diag(phi'(x)). A start counts as a fixed point when max|F| < ``ftol_fp``
(local minima of |F|^2 with E > 0 are counted separately as ``n_nonzero_minima``).
Distinct points are clustered by the distance |x - y| / sqrt(N) < ``dedup``.

For each fixed point: q = (1/N) sum phi(x_i)^2, the stability = max Re eig(-I + g J
diag(phi')) (the Jacobian of the dynamics; stable when < 0), and
log|det(I - g J diag(phi'))|; at beta -> infinity the quasi-potential measure weights a
fixed point by 1/|det| (THEORY.md §1).

``quench`` descends given states (e.g. samples of exp(-beta E)) the same way and labels
each by the fixed point of a list it reaches: the basin decomposition of a sampled measure.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import least_squares

from .dynamics import _phi

__all__ = ["FixedPoint", "FixedPointSearch", "find_fixed_points", "quench"]


@dataclass(frozen=True)
class FixedPoint:
    x: np.ndarray = field(repr=False)
    q: float
    stability: float
    logdet: float
    residual: float
    hits: int

    @property
    def stable(self) -> bool:
        return self.stability < 0

    @property
    def weight(self) -> float:
        """1/|det(I - g J diag(phi'))| relative to nothing (use ratios)."""
        return float(np.exp(-self.logdet))


@dataclass(frozen=True)
class FixedPointSearch:
    points: list
    n_starts: int
    n_converged: int
    n_nonzero_minima: int
    min_energy_nonzero: float

    def as_dict(self) -> dict:
        return {"n_starts": self.n_starts, "n_converged": self.n_converged,
                "n_distinct": len(self.points), "n_nonzero_minima": self.n_nonzero_minima,
                "points": [{"q": p.q, "stability": p.stability, "logdet": p.logdet,
                            "residual": p.residual, "hits": p.hits} for p in self.points]}


def _residual(J, g, f, df, I):
    """F(x) = x - g J phi(x) - I and its Jacobian DF = 1 - g J diag(phi'(x))."""
    eye = np.eye(J.shape[0])
    return (lambda x: x - g * (J @ f(x)) - I), (lambda x: eye - g * J * df(x)[None, :])


def _descend(J, g, f, df, I, x0, method="lm", max_nfev=500):
    """Minimise |F|^2 from x0 (least squares, analytic Jacobian); returns (x, max|F(x)|)."""
    F, DF = _residual(J, g, f, df, I)
    s = least_squares(F, x0, jac=DF, method=method, xtol=1e-15, ftol=1e-15, gtol=1e-15,
                      max_nfev=max_nfev)
    return s.x, float(np.max(np.abs(F(s.x))))


def find_fixed_points(J, g, n_starts=20, phi="tanh", I=None, rng=None, scale=None,
                      starts=None, ftol_fp=1e-9, dedup=1e-5, method="lm",
                      max_nfev=500) -> FixedPointSearch:
    """Search fixed points from ``n_starts`` random starts x0 ~ scale N(0, 1) (default
    scale = g, the field scale of a chaotic state) or from given ``starts`` (M, N)."""
    J = np.asarray(J, dtype=float)
    N = J.shape[0]
    f, df = _phi(phi)
    I = np.zeros(N) if I is None else np.asarray(I, dtype=float)
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    if starts is None:
        scale = max(g, 0.1) if scale is None else scale
        starts = scale * rng.standard_normal((n_starts, N))
    starts = np.atleast_2d(starts)
    eye = np.eye(N)
    F, _ = _residual(J, g, f, df, I)
    found, n_conv, n_bad, e_bad = [], 0, 0, np.inf
    for x0 in starts:
        x, res = _descend(J, g, f, df, I, x0, method, max_nfev)
        if res >= ftol_fp:
            n_bad += 1
            e_bad = min(e_bad, 0.5 * float(np.sum(F(x) ** 2)) / N)
            continue
        n_conv += 1
        for k, (y, hits) in enumerate(found):
            if np.linalg.norm(x - y) / np.sqrt(N) < dedup:
                found[k] = (y, hits + 1)
                break
        else:
            found.append((x, 1))
    points = []
    for x, hits in found:
        d = df(x)
        Mdyn = -eye + g * J * d[None, :]
        stab = float(np.max(np.linalg.eigvals(Mdyn).real))
        sign, logdet = np.linalg.slogdet(eye - g * J * d[None, :])
        points.append(FixedPoint(x, float(np.mean(f(x) ** 2)), stab, float(logdet),
                                 float(np.max(np.abs(F(x)))), hits))
    points.sort(key=lambda p: p.q)
    return FixedPointSearch(points, len(starts), n_conv, n_bad, float(e_bad))


def quench(J, g, X, points, phi="tanh", I=None, ftol_fp=1e-9, dedup=1e-5, method="lm",
           max_nfev=500) -> tuple[np.ndarray, np.ndarray]:
    """Descend every row of X (M, N) by least squares on F(x) = x - g J phi(x) - I (as in
    ``find_fixed_points``) and label it by the fixed point it reaches: the index k of
    ``points`` (FixedPoint objects or (N,) arrays) with |x - x_k| / sqrt(N) < ``dedup``,
    -1 for a fixed point (max|F| < ``ftol_fp``) not in the list, -2 for a minimum of |F|^2
    with E > 0. Returns (labels (M,) int, the end states (M, N))."""
    J = np.asarray(J, dtype=float)
    N = J.shape[0]
    X = np.atleast_2d(np.asarray(X, dtype=float))
    if X.shape[1] != N:
        raise ValueError(f"states must have {N} columns, got shape {X.shape}")
    ref = np.array([getattr(p, "x", p) for p in points], dtype=float).reshape(-1, N)
    f, df = _phi(phi)
    I = np.zeros(N) if I is None else np.asarray(I, dtype=float)
    labels = np.empty(len(X), dtype=np.int64)
    ends = np.empty_like(X)
    for m, x0 in enumerate(X):
        x, res = _descend(J, g, f, df, I, x0, method, max_nfev)
        ends[m] = x
        if res >= ftol_fp:
            labels[m] = -2
            continue
        d = np.linalg.norm(ref - x, axis=1) / np.sqrt(N) if len(ref) else np.empty(0)
        k = int(np.argmin(d)) if d.size else -1
        labels[m] = k if k >= 0 and d[k] < dedup else -1
    return labels, ends
