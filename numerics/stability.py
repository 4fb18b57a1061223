"""Stability of the Q = 0 solution against the growth of inter-replica overlaps.

At a Q = 0 solution (Q = R = Qh = Rh = 0) the replicas are independent, and every
off-diagonal fluctuation sector (replicon included) reduces to the same linear problem:
the saddle-point equations for v = (Q, R, Qh, Rh) linearised at v = 0. Writing the Gaussian
field average to first order in the covariance C(v),

    E_F f(F) = f(0) + 1/2 sum_ij C_ij d_i d_j f(0) + O(C^2),

(exact to the order the Jacobian needs, and valid for covariances of either sign) the
Jacobian M = d res_v / dv is computed by central differences; a Q != 0 branch bifurcates,
and the Q = 0 solution changes stability, where det M changes sign. The field derivatives
d_i d_j f(0) of the inner averages are taken by central differences in (A, B).
"""
from __future__ import annotations

import numpy as np

from theory.model import Point

from .saddle import Problem, compiled_for

OFF = ("Q", "R", "Qh", "Rh")


def _inner(problem: Problem, theta, A, B):
    """(ln Z, <O_k>) at fixed fields (A, B)."""
    from . import quadrature
    p = np.concatenate([[A, B], problem.base(theta)])
    res = quadrature.field_average(problem.compiled.site_point, problem.compiled.site, p, 2,
                                   np.array([A, B]), np.zeros((2, 2)), 1, pairs=problem.compiled.pairs)
    return res.E_lnZ, np.asarray(res.E_avg), np.asarray(res.E_pair)


def _linear_averages(problem: Problem, theta, h=1e-3):
    """E lnZ, E<O>, E[<O_i><O_j>] to first order in the field covariance at zero mean."""
    o = problem.compiled
    out = np.zeros((5, 1))
    o.bundle.fields(np.zeros(1), problem.base(theta), out)
    C = np.array([[out[2, 0], out[3, 0]], [out[3, 0], out[4, 0]]])
    mu = out[:2, 0]
    vals = {}
    for da in (-1, 0, 1):
        for db in (-1, 0, 1):
            if da and db and (da, db) not in ((1, 1), (-1, -1), (1, -1), (-1, 1)):
                continue
            vals[(da, db)] = _inner(problem, theta, mu[0] + da * h, mu[1] + db * h)

    def combine(idx):
        f0 = vals[(0, 0)][idx]
        dAA = (vals[(1, 0)][idx] - 2 * f0 + vals[(-1, 0)][idx]) / h**2
        dBB = (vals[(0, 1)][idx] - 2 * f0 + vals[(0, -1)][idx]) / h**2
        dAB = (vals[(1, 1)][idx] - vals[(1, -1)][idx] - vals[(-1, 1)][idx] + vals[(-1, -1)][idx]) / (4 * h * h)
        return f0 + 0.5 * (C[0, 0] * dAA + 2 * C[0, 1] * dAB + C[1, 1] * dBB)

    return combine(0), combine(1), combine(2)


def _residuals(problem: Problem, theta):
    Ef, Eavg, Epair = _linear_averages(problem, theta)
    d = problem.derived
    p = np.concatenate([problem.base(theta), [Ef], np.atleast_1d(Eavg), np.atleast_1d(Epair)])
    out = np.zeros((len(d.equations) + 1 + (d.energy is not None), 1))
    problem.compiled.bundle.assemble(np.zeros(1), p, out)
    return out[: len(d.equations), 0]


def off_diagonal_jacobian(model, point: Point, para_solution: dict, delta: float = 1e-5):
    """M = d res_v/dv at the Q = 0 solution ``para_solution`` (dict from a paramagnetic solve).

    Returns (M, names of the rows/columns, max cross-coupling to the Q = 0 block).
    """
    cm = compiled_for(model, "finite" if np.isfinite(point.beta) else "chaotic", "full")
    prob = Problem(cm, point)
    names = [s.name for s in cm.derived.order_params]
    theta0 = np.array([para_solution.get(n, 0.0) for n in names], dtype=float)
    idx = [names.index(n) for n in OFF]
    rest = [i for i in range(len(names)) if i not in idx]
    M = np.zeros((len(idx), len(idx)))
    cross = 0.0
    for col, j in enumerate(idx):
        tp, tm = theta0.copy(), theta0.copy()
        tp[j] += delta
        tm[j] -= delta
        rp, rm = _residuals(prob, tp), _residuals(prob, tm)
        dr = (rp - rm) / (2 * delta)
        M[:, col] = dr[idx]
        cross = max(cross, float(np.max(np.abs(dr[rest]))))
    return M, OFF, cross


def q_zero_stability(model, point: Point, para_solution: dict) -> dict:
    """det and eigenvalues of the off-diagonal Jacobian; a sign change of det along a
    parameter path marks the instability of the Q = 0 solution (onset of Q != 0)."""
    M, names, cross = off_diagonal_jacobian(model, point, para_solution)
    ev = np.linalg.eigvals(M)
    return {"det": float(np.linalg.det(M)), "eigenvalues": [complex(e) for e in ev],
            "cross_coupling": cross, "matrix": M.tolist(), "variables": list(names)}


def q_zero_instability(model, gamma_value: float, beta: float, g_lo: float, g_hi: float,
                       xtol: float = 1e-6) -> float:
    """The coupling in [g_lo, g_hi] where det M of the Q = 0 solution changes sign."""
    from scipy.optimize import brentq

    from .continuation import solve

    def det(gv):
        pt = Point(g=gv, gamma=gamma_value, beta=beta)
        r = solve(model, pt, branch="paramagnetic")
        if not r.success:
            raise RuntimeError(f"no Q = 0 solution at g = {gv}: {r.message}")
        return q_zero_stability(model, pt, r.x)["det"]

    a, b = det(g_lo), det(g_hi)
    if a * b > 0:
        raise ValueError(f"det does not change sign on [{g_lo}, {g_hi}] ({a:.3g}, {b:.3g})")
    return brentq(det, g_lo, g_hi, xtol=xtol)
