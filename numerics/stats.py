"""Means of correlated time series with an honest error bar.

Two estimators of the error of the mean of a stationary series x_t, t = 1..T:

* integrated autocorrelation time (Sokal; emcee's automatic window):
  tau = 1 + 2 sum_{t=1}^{M} rho(t), with M the smallest lag such that M >= c tau(M);
  err = sqrt(Var(x) tau / T). Several independent chains (columns) share one
  autocorrelation function, averaged over chains as emcee does.
* blocking (Flyvbjerg & Petersen 1989): the naive error of block means, with block size
  doubled until it stops growing; the plateau value is the error.

``estimate`` returns the larger of the two (conservative) inside an ``Estimate``.
``binder`` gives the Binder ratio of an overlap series with a block-jackknife error.
``assert_within`` is the one comparison used by every sampler test: it fails when the
exact value lies more than ``nsigma`` error bars away. ``weighted_lstsq`` is the one
weighted least-squares fit (finite-size extrapolations, zero crossings, power laws).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Estimate", "autocorr", "integrated_time", "blocking", "estimate",
           "assert_within", "combine", "difference", "binder", "weighted_lstsq"]


@dataclass(frozen=True)
class Estimate:
    """A mean with its autocorrelation-aware standard error and the integrated time tau
    (in units of the sampling interval of the series it came from)."""

    mean: float
    err: float
    tau: float = 1.0
    n: int = 0

    def __format__(self, spec):
        spec = spec or ".6g"
        return f"{self.mean:{spec}} ± {self.err:.2g}"

    def as_dict(self):
        return {"mean": float(self.mean), "err": float(self.err), "tau": float(self.tau)}

    def scaled(self, c: float) -> "Estimate":
        return Estimate(self.mean * c, abs(c) * self.err, self.tau, self.n)


def autocorr(x: np.ndarray) -> np.ndarray:
    """Normalised autocorrelation function rho(t) of x (T,) or chains x (T, C), averaged
    over chains. Computed with the FFT, zero-padded (no circular wrap)."""
    x = np.asarray(x, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    T = x.shape[0]
    n = 1 << int(np.ceil(np.log2(2 * T)))
    d = x - x.mean(axis=0)
    f = np.fft.rfft(d, n=n, axis=0)
    acf = np.fft.irfft(f * np.conj(f), n=n, axis=0)[:T].mean(axis=1)
    if acf[0] <= 0:
        return np.ones(T) if T else acf
    return acf / acf[0]


def integrated_time(x: np.ndarray, c: float = 5.0) -> float:
    """Integrated autocorrelation time with the self-consistent window M >= c tau(M)."""
    rho = autocorr(x)
    if rho.size < 2:
        return 1.0
    taus = 2.0 * np.cumsum(rho) - 1.0
    m = np.arange(taus.size) < c * taus
    M = int(np.argmin(m)) if not m.all() else taus.size - 1
    return float(max(taus[M], 1.0))


def blocking(x: np.ndarray) -> tuple[float, np.ndarray]:
    """Blocking analysis of x (T,) or (T, C). Returns (plateau error, errors per level).

    At level k the series is cut into blocks of 2^k samples; the naive error of the
    block means is computed. The plateau is the first level whose error agrees, within
    its own statistical uncertainty, with all later levels that have >= 16 blocks;
    failing that, the maximum over those levels.
    """
    x = np.asarray(x, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    T, C = x.shape
    errs, sigs = [], []
    b = x
    while b.shape[0] >= 16:
        nb = b.shape[0] * C
        v = b.var(ddof=1) if nb > 1 else 0.0
        e = np.sqrt(v / nb)
        errs.append(e)
        sigs.append(e / np.sqrt(2.0 * (nb - 1)))
        t = b.shape[0] // 2
        b = 0.5 * (b[:2 * t:2] + b[1:2 * t:2])
    errs = np.asarray(errs)
    if errs.size == 0:
        n = T * C
        return (float(np.sqrt(x.var(ddof=1) / n)) if n > 1 else 0.0), errs
    for k in range(errs.size):
        if np.all(np.abs(errs[k:] - errs[k]) <= 2.0 * np.hypot(sigs[k], np.asarray(sigs[k:]))):
            return float(errs[k:].max()), errs
    return float(errs.max()), errs


def estimate(x: np.ndarray, c: float = 5.0) -> Estimate:
    """Mean of a series x (T,) or of independent chains x (T, C) with an error that
    accounts for autocorrelation: max(tau estimate, blocking plateau)."""
    x = np.asarray(x, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    T, C = x.shape
    if T * C == 0:
        return Estimate(float("nan"), float("nan"), float("nan"), 0)
    mean = float(x.mean())
    if T * C == 1:
        return Estimate(mean, float("inf"), 1.0, 1)
    if np.ptp(x) == 0.0:
        return Estimate(mean, 0.0, 1.0, T * C)
    tau = integrated_time(x, c)
    var = float(x.var(ddof=1))
    err_tau = np.sqrt(var * tau / (T * C))
    err_blk, _ = blocking(x)
    return Estimate(mean, float(max(err_tau, err_blk)), tau, T * C)


def combine(estimates) -> Estimate:
    """Inverse-variance weighted mean of independent estimates (e.g. several J samples
    or seeds). Estimates with zero error dominate; infinite errors are ignored."""
    est = [e for e in estimates if np.isfinite(e.err)]
    if not est:
        return Estimate(float("nan"), float("inf"), float("nan"), 0)
    if any(e.err == 0 for e in est):
        z = [e for e in est if e.err == 0]
        return Estimate(float(np.mean([e.mean for e in z])), 0.0, 1.0, sum(e.n for e in z))
    w = np.array([1.0 / e.err ** 2 for e in est])
    m = np.array([e.mean for e in est])
    return Estimate(float(w @ m / w.sum()), float(1.0 / np.sqrt(w.sum())),
                    float(np.mean([e.tau for e in est])), sum(e.n for e in est))


def difference(a: Estimate, b: Estimate) -> Estimate:
    """a - b for estimates from independent (or, conservatively, any) runs: errors added
    in quadrature."""
    return Estimate(a.mean - b.mean, float(np.hypot(a.err, b.err)), max(a.tau, b.tau),
                    min(a.n, b.n))


def weighted_lstsq(X, y, err) -> tuple[np.ndarray, np.ndarray, float]:
    """Weighted least squares y ~ X p with independent Gaussian errors ``err``:

        p = (X^T W X)^-1 X^T W y,   Cov p = (X^T W X)^-1,   chi^2 = sum W (y - X p)^2,

    W = diag(1/err^2). Returns (p, Cov p, chi^2); the covariance is not rescaled by
    chi^2 / dof (callers that want that do it themselves). ValueError for mismatched
    shapes, non-finite values, errors <= 0, fewer points than parameters or a design
    matrix of deficient rank.
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    err = np.asarray(err, dtype=float)
    if X.ndim != 2 or y.ndim != 1 or err.shape != y.shape or X.shape[0] != y.size:
        raise ValueError(f"need X of shape (n, k) and y, err of length n; got {X.shape}, "
                         f"{y.shape}, {err.shape}")
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(y)) and np.all(np.isfinite(err))):
        raise ValueError("X, y and err must be finite")
    if np.any(err <= 0):
        raise ValueError("errors must be > 0")
    if y.size < X.shape[1] or np.linalg.matrix_rank(X) < X.shape[1]:
        raise ValueError(f"{y.size} points cannot determine {X.shape[1]} parameters "
                         f"(design matrix of rank {np.linalg.matrix_rank(X)})")
    w = 1.0 / err ** 2
    cov = np.linalg.inv(X.T @ (w[:, None] * X))
    p = cov @ (X.T @ (w * y))
    return p, cov, float(np.sum(w * (y - X @ p) ** 2))


def binder(x: np.ndarray, blocks: int = 32) -> Estimate:
    """Binder ratio B = (3 - <x^4>/<x^2>^2)/2 of a series x (T,) or chains (T, C), with a
    jackknife error over ``blocks`` contiguous blocks (choose blocks much longer than the
    autocorrelation time). B = 0 for a Gaussian x of mean 0, B = 1 for x = +-c.
    """
    x = np.asarray(x, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    T = x.shape[0]
    if blocks < 2 or T < blocks:
        raise ValueError(f"need at least {max(blocks, 2)} samples and blocks >= 2, got T={T}")
    if not np.all(np.isfinite(x)):
        raise ValueError("non-finite values in the series")
    L = T // blocks
    b = x[:L * blocks].reshape(blocks, L, -1)
    m2 = (b ** 2).mean(axis=(1, 2))
    m4 = (b ** 4).mean(axis=(1, 2))
    if m2.sum() <= 0:
        raise ValueError("the series is identically zero: B is undefined")

    def ratio(s2, s4):
        return 0.5 * (3.0 - s4 / s2 ** 2)

    full = ratio(m2.mean(), m4.mean())
    loo = np.array([ratio((m2.sum() - m2[k]) / (blocks - 1), (m4.sum() - m4[k]) / (blocks - 1))
                    for k in range(blocks)])
    err = float(np.sqrt((blocks - 1) / blocks * np.sum((loo - loo.mean()) ** 2)))
    return Estimate(float(full), err, float("nan"), int(L * blocks * x.shape[1]))


def assert_within(est: Estimate, exact: float, nsigma: float = 4.0, abs_tol: float = 0.0,
                  what: str = "") -> float:
    """Assert |est.mean - exact| <= nsigma * est.err + abs_tol; return the deviation in
    error bars. ``abs_tol`` covers a known deterministic bias (finite step, finite N) and
    must be stated by the caller. The error bar must be finite and positive."""
    if not (np.isfinite(est.err) and est.err >= 0):
        raise AssertionError(f"{what}: error bar is not usable: {est}")
    dev = abs(est.mean - exact)
    z = dev / est.err if est.err > 0 else (0.0 if dev == 0 else np.inf)
    if dev > nsigma * est.err + abs_tol:
        raise AssertionError(
            f"{what}: {est.mean:.6g} ± {est.err:.3g} (tau {est.tau:.3g}) vs exact {exact:.6g}:"
            f" {z:.2f} error bars off (allowed {nsigma} + abs {abs_tol:g})")
    return float(z)
