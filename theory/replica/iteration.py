"""The saddle-point equations as a fixed-point map theta = T(theta) (for damped iteration).

Each equation dPhi/dv = 0 (``theory.replica.saddle.Equation``: const(theta) plus linear
combinations of Gaussian averages E_k and pair averages P_ij) is linear in the conjugate
partner of v (q <-> qh, Q <-> Qh, r <-> rh, ...; in the zero-temperature scalings the
renamed pairs, e.g. chi <-> Qh0). Solving each equation for a distinct variable that
enters it linearly (a perfect matching, conjugate partners tried first) gives

    theta_u = T_u(theta; E, P),

the classic iteration of replica theory: order parameters from site averages, conjugates
from order parameters. ``fixed_point_map`` returns the T_u in the declared order of the
order parameters; ``numerics.iteration`` iterates them with damping.
"""
from __future__ import annotations

import sympy as sp

PARTNERS = {"q": "qh", "Q": "Qh", "r": "rh", "R": "Rh", "m": "mh", "k": "kh",
            "chi": "Qh0", "R1": "Gamma", "Delta": "kappa"}
PARTNERS.update({b: a for a, b in list(PARTNERS.items())})
PARTNERS.update({"q_chi": "chih", "chih": "q"})


def _linear_in(expr: sp.Expr, v: sp.Symbol) -> bool:
    if not expr.has(v):
        return False
    d = sp.diff(expr, v)
    return not sp.simplify(d).has(v) and sp.simplify(d) != 0


def fixed_point_map(derived) -> tuple[tuple[sp.Symbol, ...], tuple[sp.Expr, ...], tuple, dict]:
    """(variables, T expressions, average symbols E, pair symbols P), T_i for variables[i].

    Raises ValueError when no assignment of equations to variables makes every equation
    linear in its variable.
    """
    exprs, E, P = derived.equation_exprs()
    variables = tuple(derived.order_params)
    cands = []
    for eq, ex in zip(derived.equations, exprs):
        lin = [v for v in variables if _linear_in(ex, v)]
        partner = PARTNERS.get(eq.var.name)
        lin.sort(key=lambda v: (v.name != partner, v == eq.var))
        cands.append(lin)
    assignment = _match(cands, len(variables))
    if assignment is None:
        raise ValueError("the equations cannot each be solved for a distinct variable "
                         f"entering linearly: candidates {[[v.name for v in c] for c in cands]}")
    T = {}
    for ex, v in zip(exprs, assignment):
        sol = sp.solve(ex, v, dict=True)
        if len(sol) != 1:
            raise ValueError(f"equation {ex} is not uniquely solvable for {v}")
        T[v] = sp.simplify(sol[0][v])
    return variables, tuple(T[v] for v in variables), E, P


def _match(cands, n):
    """A perfect matching equation -> variable (backtracking; n <= 12)."""
    used, out = set(), [None] * len(cands)
    order = sorted(range(len(cands)), key=lambda i: len(cands[i]))

    def go(k):
        if k == len(order):
            return True
        i = order[k]
        for v in cands[i]:
            if v not in used:
                used.add(v)
                out[i] = v
                if go(k + 1):
                    return True
                used.discard(v)
        return False

    return out if len(cands) == n and go(0) else None


__all__ = ["fixed_point_map", "PARTNERS"]
