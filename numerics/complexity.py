"""Typical weight of a fixed point at beta -> infinity, and how many such points there are.

At eta = 0 and beta -> infinity the quasi-potential measure exp(-beta E) puts on a fixed point
x* (F(x*) = x* - g J phi(x*) = 0) the weight (2 pi / beta)^(N/2) / |det A|, A = I - g J D,
D = diag(phi'(x*)) (THEORY.md §1). Summed over fixed points, the annealed average is the
Kac-Rice integral with the determinant cancelled,

    E_J sum_{x*} 1/|det A(x*)| = int dx p_{F(x)}(0),                                  (K)

whose exponent is the replica-symmetric Q = 0 (annealed) free energy: zero at gamma = 0,
dominated by x with the static-cavity statistics (x_i ~ N(0, g^2 q), q from
``numerics.dmft.static_q``). If |det A| self-averages at those points,

    (1/N) ln |det A| -> L,     and the number of those points is ~ exp(N L)            (C)

(Kac-Rice with |det A| in the numerator), so the typical sum over them has the annealed
exponent only when N L >> 1: L is the complexity of the fixed points that carry the
zero-temperature measure, and N* = 1/L the size beyond which there are many of them.

L follows from the spectrum of g J D (J with i.i.d. entries of variance 1/N, d_i = g phi'(x_i)):
it is rotation invariant in the complex plane with radius rho = sqrt(E d^2) and radial
distribution function F(r) = 1 - u(r), where u(r) > 0 solves

    E[ d^2 / (r^2 + d^2 u) ] = 1      (r < rho;  u = 0 for r >= rho),                    (R)

(the variance-profile formula of Cook, Hachem, Najim & Renfrew, Electron. J. Probab. 23
(2018) 110, for the rank-one profile d_i d_j / N; for constant d = g it gives the uniform
disk, u = 1 - r^2/g^2). Since the angular mean of ln|1 - r e^(i theta)| is ln max(1, r),

    L = int_1^rho ln r dF(r) = int_1^rho u(r) / r dr     (0 when rho <= 1).              (L)

For linear phi: L = ln g - (1 - 1/g^2)/2 for g > 1.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import integrate, optimize

from .dmft import _phis, gauss_hermite, static_q

__all__ = ["spectral_u", "profile_logdet", "CavityLogdet", "cavity_logdet"]


def _check_profile(d2, w):
    d2 = np.asarray(d2, dtype=float).ravel()
    w = np.ones(d2.size) if w is None else np.asarray(w, dtype=float).ravel()
    if d2.size == 0 or d2.shape != w.shape:
        raise ValueError("d2 and w must be non-empty and of equal length")
    if not (np.all(np.isfinite(d2)) and np.all(d2 >= 0) and np.all(np.isfinite(w))
            and np.all(w >= 0) and w.sum() > 0):
        raise ValueError("d2 and w must be finite and non-negative, with positive total weight")
    return d2, w / w.sum()


def spectral_u(r: float, d2, w=None) -> float:
    """u(r) of (R) for the profile d^2 (values ``d2`` with weights ``w``, uniform if None);
    1 - u(r) is the fraction of eigenvalues of J diag(d) with modulus <= r."""
    d2, w = _check_profile(d2, w)
    r = float(r)
    if not math.isfinite(r) or r < 0:
        raise ValueError(f"r must be finite and >= 0, got {r}")
    rho2 = float(w @ d2)
    if r * r >= rho2:
        return 0.0
    if r == 0.0:
        return float(w @ (d2 > 0))          # E[d^2/(d^2 u)] = P(d > 0) / u = 1

    def G(u):
        return float(w @ (d2 / (r * r + d2 * u))) - 1.0

    hi = 1.0
    while G(hi) > 0:
        hi *= 2.0
    return optimize.brentq(G, 0.0, hi, xtol=1e-15, rtol=4 * np.finfo(float).eps)


def profile_logdet(d2, w=None) -> float:
    """L of (L): the N -> infinity limit of (1/N) ln|det(I - J diag(d))| for the profile d^2."""
    d2, w = _check_profile(d2, w)
    rho = math.sqrt(float(w @ d2))
    if rho <= 1.0:
        return 0.0
    val, err = integrate.quad(lambda r: spectral_u(r, d2, w) / r, 1.0, rho,
                              epsabs=1e-13, epsrel=1e-11, limit=200)
    if not math.isfinite(val) or err > 1e-8 * max(1.0, abs(val)):
        raise RuntimeError(f"quadrature of L did not converge (value {val}, error {err})")
    return float(val)


@dataclass(frozen=True)
class CavityLogdet:
    """(C) at the static-cavity fixed points of dx/dt = -x + g J phi(x), gamma = 0.

    q: cavity order parameter E phi(x)^2; rho: spectral radius of g J D; L: (1/N) ln|det A|
    = complexity of the 1/|det|-weighted fixed points; n_star = 1/L (inf where L = 0)."""

    g: float
    q: float
    rho: float
    L: float

    @property
    def n_star(self) -> float:
        return 1.0 / self.L if self.L > 0 else math.inf


def cavity_logdet(g: float, phi="tanh", n: int = 300) -> CavityLogdet:
    """L at the static-cavity solution: d = g phi'(x), x ~ N(0, g^2 q) on ``n`` Gauss-Hermite
    nodes (phi: 'tanh', 'erf' or a (phi, phi', Phi) triple as in ``numerics.dmft``)."""
    if not (math.isfinite(g) and g > 0):
        raise ValueError(f"g must be finite and > 0, got {g}")
    f, df, _ = _phis(phi)
    q = static_q(g, phi=phi)
    z, w = gauss_hermite(n)
    d2 = (g * df(g * math.sqrt(q) * z)) ** 2
    return CavityLogdet(g=float(g), q=float(q), rho=math.sqrt(float(w @ d2)),
                        L=profile_logdet(d2, w))
