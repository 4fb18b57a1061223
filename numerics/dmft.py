"""Mean-field theories of the random network that need no replicas (THEORY.md §3).

Static cavity theory of fixed points
------------------------------------
gamma = 0: at a fixed point the local fields h_i = g sum_j J_ij phi(x_j) are Gaussian with
variance g^2 q, and x_i = h_i, so

    q = E_z phi(g sqrt(q) z)^2.                                              (S0)

gamma != 0: the field contains the Onsager reaction of the partner couplings; with the
integrated response R_int of phi to a local field (TAP / cavity for partially symmetric
couplings) the site equation becomes

    x = h + c phi(x),  c = g^2 gamma R_int,  h ~ N(0, g^2 q),                 (S1)
    q = E_h phi(x(h))^2,  R_int = E_h d phi(x(h))/dh = E_h[phi'(x) / (1 - c phi'(x))].

We solve (q, R_int) jointly. x(h) is the root of (S1) continuously connected to
x = h (Newton from x = h / (1 - c phi'(0))); where c phi'(x) >= 1 somewhere several roots
exist and the solver reports it (``multiple_roots``).

Dynamic mean field (Sompolinsky, Crisanti & Sommers, PRL 61, 259 (1988)), gamma = 0, I = 0
-----------------------------------------------------------------------------------------
The autocorrelation Delta(tau) = <x(t) x(t+tau)> of the chaotic state obeys

    Delta'' = Delta - g^2 C(Delta; Delta0),  C = E[phi(z1) phi(z2)], Cov(z) = [[Delta0, Delta], [Delta, Delta0]],

i.e. the motion of a particle in the potential V(Delta) = -Delta^2/2 + g^2 E_z[(E_x Phi(sqrt(Delta0 - Delta) x + sqrt(Delta) z))^2],
Phi' = phi. The chaotic solution starts at rest at Delta0 and reaches Delta = 0 at tau = inf,
so V(Delta0) = V(0):

    Delta0^2 / 2 = g^2 ( E_z Phi(sqrt(Delta0) z)^2 - (E_z Phi(sqrt(Delta0) z))^2 ).   (D0)

``delta0`` solves (D0); ``delta0_shooting`` finds the separatrix of the force equation by
bisection (an independent route that never uses Phi). The maximal Lyapunov exponent follows
from the Schrödinger problem  [-d^2/dtau^2 + 1 - g^2 C'(tau)] psi = E psi,
C'(tau) = E[phi'(z1) phi'(z2)] at covariance Delta(tau): lambda_max = -1 + sqrt(1 - E_0),
with E_0 the ground-state energy (Delta'(tau) is the zero mode, E_1 = 0).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize
from scipy.integrate import solve_ivp
from scipy.linalg import eigh_tridiagonal

__all__ = ["gauss_hermite", "gaussian_average", "static_q", "static_cavity", "StaticCavity",
           "PHI", "delta0", "delta0_shooting", "correlation", "autocorrelation", "lyapunov_dmft",
           "DMFTResult"]


def gauss_hermite(n: int = 120):
    """Nodes and weights of E_z f(z), z ~ N(0, 1): sum w f(z) (weights sum to 1).
    numpy's construction is accurate up to n ~ 400 (it overflows beyond)."""
    z, w = np.polynomial.hermite_e.hermegauss(n)
    return z, w / w.sum()


def gaussian_average(f, var: float, n: int = 120) -> float:
    """E f(sqrt(var) z)."""
    z, w = gauss_hermite(n)
    return float(w @ f(math.sqrt(max(var, 0.0)) * z))


def _logcosh(x):
    a = np.abs(x)
    return a + np.log1p(np.exp(-2.0 * a)) - math.log(2.0)


_C = math.sqrt(math.pi) / 2.0


def _erf_prim(x):
    from scipy.special import erf
    return x * erf(_C * x) + (np.exp(-(_C * x) ** 2) - 1.0) / (_C * math.sqrt(math.pi))


def _erf(x):
    from scipy.special import erf
    return erf(_C * x)


#: name -> (phi, phi', Phi with Phi(0) = 0), vectorised numpy functions
PHI = {
    "tanh": (np.tanh, lambda x: 1.0 / np.cosh(x) ** 2, _logcosh),
    "erf": (_erf, lambda x: np.exp(-math.pi * x * x / 4.0), _erf_prim),
}


def _phis(phi):
    if isinstance(phi, str):
        return PHI[phi]
    return phi


# ----------------------------------------------------------------------------- static

def static_q(g: float, phi="tanh", n: int = 300, xtol: float = 1e-15) -> float:
    """Non-trivial root of (S0), q = E_z phi(g sqrt(q) z)^2; 0.0 when only q = 0 exists
    (g phi'(0) <= 1 for a sigmoid)."""
    f = _phis(phi)[0]
    z, w = gauss_hermite(n)

    def F(q):
        return float(w @ f(g * math.sqrt(q) * z) ** 2) - q

    lo, hi = 1e-14, 1.0
    while F(hi) > 0:
        hi *= 2
        if hi > 1e6:
            raise ValueError("no bracket for the static cavity q")
    if F(lo) <= 0:
        return 0.0
    return optimize.brentq(F, lo, hi, xtol=xtol, rtol=4 * np.finfo(float).eps, maxiter=500)


@dataclass(frozen=True)
class StaticCavity:
    q: float
    R_int: float
    c: float
    success: bool
    message: str
    multiple_roots: bool


def _site_x(h, c, f, df, iters=100):
    """Root of x = h + c phi(x) by Newton, started on x = h / (1 - c phi'(0))."""
    x = h / (1.0 - c * df(0.0)) if abs(1.0 - c * df(0.0)) > 1e-3 else h.copy()
    for _ in range(iters):
        F = x - h - c * f(x)
        dF = 1.0 - c * df(x)
        step = F / dF
        x = x - step
        if np.max(np.abs(step)) < 1e-15 * (1 + np.max(np.abs(x))):
            break
    return x


def static_cavity(g: float, gamma: float, phi="tanh", n: int = 160, q0: float = 0.5) -> StaticCavity:
    """Solve (S1) for (q, R_int) at coupling symmetry gamma (gamma = 0 reduces to (S0))."""
    f, df, _ = _phis(phi)
    z, w = gauss_hermite(n)

    def eqs(p):
        q, Ri = p
        q = abs(q)
        c = g * g * gamma * Ri
        h = g * math.sqrt(q) * z
        x = _site_x(h, c, f, df)
        P, D = f(x), df(x)
        return [float(w @ P ** 2) - q, float(w @ (D / (1.0 - c * D))) - Ri]

    sol = optimize.root(eqs, [q0, 0.5], method="hybr", tol=1e-14)
    q, Ri = abs(sol.x[0]), sol.x[1]
    c = g * g * gamma * Ri
    x = _site_x(g * math.sqrt(q) * z, c, f, df)
    multiple = bool(np.any(c * df(x) >= 1.0)) or c * df(0.0) >= 1.0
    res = np.max(np.abs(eqs(sol.x)))
    ok = bool(sol.success and res < 1e-10)
    return StaticCavity(q, Ri, c, ok, f"{sol.message} (residual {res:.2e})", multiple)


# ----------------------------------------------------------------------------- dynamic

def correlation(Delta, Delta0, fn, n: int = 80) -> np.ndarray:
    """E[fn(z1) fn(z2)] for (z1, z2) Gaussian with variances Delta0 and covariance Delta
    (0 <= Delta <= Delta0), by nested Gauss-Hermite: E_z (E_x fn(sqrt(D0 - D) x + sqrt(D) z))^2."""
    z, w = gauss_hermite(n)
    D = np.atleast_1d(np.asarray(Delta, dtype=float))
    D = np.clip(D, 0.0, Delta0)
    a = np.sqrt(Delta0 - D)[:, None, None]
    b = np.sqrt(D)[:, None, None]
    inner = np.einsum("j,kij->ki", w, fn(a * z[None, None, :] + b * z[None, :, None]))
    out = inner ** 2 @ w
    return out if np.ndim(Delta) else float(out[0])


def _v_diff(D0, g, Phi, n):
    """V(Delta0) - V(0) of the SCS particle (zero on the chaotic solution)."""
    z, w = gauss_hermite(n)
    P = Phi(math.sqrt(D0) * z)
    return -0.5 * D0 * D0 + g * g * (float(w @ P ** 2) - float(w @ P) ** 2)


def delta0(g: float, phi="tanh", n: int = 160) -> float:
    """Delta0 = <x^2> of the chaotic state from the energy condition (D0); 0 for g <= 1/phi'(0)."""
    f, df, Phi = _phis(phi)
    if g * df(0.0) <= 1.0:
        return 0.0
    lo = 1e-8
    while _v_diff(lo, g, Phi, n) <= 0:
        lo *= 10
        if lo > 1:
            raise ValueError("no bracket for Delta0")
    hi = 1.0
    while _v_diff(hi, g, Phi, n) > 0:
        hi *= 2
    return optimize.brentq(lambda d: _v_diff(d, g, Phi, n), lo, hi, xtol=1e-14, rtol=1e-14)


def _table(D0, fn, n, m=2001):
    """C(Delta; D0) tabulated on m points of [0, D0] and interpolated by a cubic spline
    (C is smooth in Delta; the spline error is far below the quadrature error)."""
    from scipy.interpolate import CubicSpline
    D = np.linspace(0.0, D0, m)
    return CubicSpline(D, correlation(D, D0, fn, n))


def _shoot(D0, g, f, tmax, n, rtol=1e-10):
    """Integrate Delta'' = Delta - g^2 C(Delta) from rest at D0: +1 if the particle
    crosses zero (too much energy), -1 if it turns back, 0 if undecided by tmax."""
    C = _table(D0, f, n)

    def rhs(t, y):
        return [y[1], y[0] - g * g * float(C(min(max(y[0], 0.0), D0)))]

    def cross(t, y):
        return y[0]
    cross.terminal = True

    def turn(t, y):
        return y[1]
    turn.terminal, turn.direction = True, 1
    s = solve_ivp(rhs, (0, tmax), [D0 * (1 - 1e-12), 0.0], events=[cross, turn], rtol=rtol, atol=1e-14)
    if s.t_events[0].size:
        return 1
    if s.t_events[1].size:
        return -1
    return 0


def delta0_shooting(g: float, phi="tanh", lo=None, hi=None, tol=1e-7, tmax=200.0, n=60) -> float:
    """Delta0 as the separatrix of the force equation, by bisection (independent of Phi).
    Below the root the particle overshoots (crosses zero), above it turns back."""
    f = _phis(phi)[0]
    lo = 1e-4 if lo is None else lo
    hi = 5.0 if hi is None else hi
    if not (_shoot(lo, g, f, tmax, n) > 0 > _shoot(hi, g, f, tmax, n)):
        raise ValueError("Delta0 not bracketed")
    while hi - lo > tol * hi:
        mid = 0.5 * (lo + hi)
        if _shoot(mid, g, f, tmax, n) > 0:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def autocorrelation(g: float, phi="tanh", tau_max: float = 30.0, dtau: float = 0.01, n: int = 60,
                    D0: float | None = None):
    """Delta(tau) on tau = 0, dtau, ..., tau_max. Integrated from Delta0 until Delta
    falls to 1e-6 Delta0, continued by the linearised tail Delta ∝ exp(-kappa tau),
    kappa = sqrt(1 - g^2 (E phi'(sqrt(Delta0) z))^2)."""
    f, df, _ = _phis(phi)
    D0 = delta0(g, phi) if D0 is None else D0
    tau = np.arange(0.0, tau_max + dtau / 2, dtau)
    if D0 == 0.0:
        return tau, np.zeros_like(tau), 0.0

    C = _table(D0, f, n)

    def rhs(t, y):
        return [y[1], y[0] - g * g * float(C(min(max(y[0], 0.0), D0)))]

    def small(t, y):
        return y[0] - 1e-6 * D0
    small.terminal = True
    # start slightly off the maximum with the exact local curvature to avoid the 0/0 at rest
    s = solve_ivp(rhs, (0, tau_max), [D0, 0.0], events=[small], rtol=1e-11, atol=1e-15,
                  dense_output=True)
    t_end = s.t[-1]
    D = np.empty_like(tau)
    m = tau <= t_end
    D[m] = s.sol(tau[m])[0]
    zz, ww = gauss_hermite(160)
    kappa = math.sqrt(max(1.0 - g * g * float(ww @ df(math.sqrt(D0) * zz)) ** 2, 0.0))
    D[~m] = s.sol(t_end)[0] * np.exp(-kappa * (tau[~m] - t_end))
    return tau, np.maximum(D, 0.0), D0


@dataclass(frozen=True)
class DMFTResult:
    g: float
    delta0: float
    lyapunov: float
    E0: float
    E1: float


def lyapunov_dmft(g: float, phi="tanh", tau_max: float = 40.0, dtau: float = 0.01, n: int = 60) -> DMFTResult:
    """Maximal Lyapunov exponent of the chaotic state from the SCS Schrödinger problem,
    discretised by second-order finite differences on [-tau_max, tau_max]."""
    f, df, _ = _phis(phi)
    tau, D, D0 = autocorrelation(g, phi, tau_max, dtau, n)
    Cp = _table(D0, df, n)(D)
    V = 1.0 - g * g * Cp
    V = np.concatenate([V[:0:-1], V])                  # even in tau
    h2 = dtau * dtau
    diag = V + 2.0 / h2
    off = np.full(V.size - 1, -1.0 / h2)
    E = eigh_tridiagonal(diag, off, select="i", select_range=(0, 1), eigvals_only=True)
    lam = -1.0 + math.sqrt(1.0 - E[0])
    return DMFTResult(g, D0, lam, float(E[0]), float(E[1]))
