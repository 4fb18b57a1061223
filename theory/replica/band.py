"""Step 9e: the band scaling q ~ sqrt(b / beta) between the two candidate lines.

At zero temperature the Q = 0 branch has two scalings: the collapsed one (q = chi / beta,
chi finite), which ends on g_chi = 1/(c1 (1 + gamma)) where chi diverges, and the q - Q
finite one, where q leaves zero on g_q = 1/(c1 sqrt(1 + gamma)). For gamma != 0 the lines
differ and between them (g_chi < g < g_q for gamma > 0, g_q < g < g_chi for gamma < 0)
neither applies. There the finite-beta solution follows a third scaling,

    q = eps,   beta = b / eps^2    (q ~ sqrt(b / beta), chi = beta q ~ sqrt(b beta)),

with g held fixed. In the finite-beta paramagnetic equations the site weight
beta/(1 + beta g^2 q) = 1/(g^2 eps + eps^2/b) then differs from the q - Q finite one,
1/(g^2 eps), at relative order eps / (b g^2): the same order as the Landau correction. With
x = sqrt(eps) y and phi = c1 x + c3 x^3 + ..., the leading order of the equations fixes the
conjugates (qh ~ qh_{-1}/eps, r, rh), and the solvability of the next order fixes b:

    b = c1^3 (c1^2 g^2 (1+gamma)^2 - 1) / (6 c3 g^2 (1+gamma) (c1^2 g^2 (1+gamma) - 1)).

For c3 < 0 (tanh, erf) b > 0 exactly between the lines: b -> 0 at g_chi (where the
collapsed scaling's chi^2/beta -> 0 joins) and b -> infinity at g_q (where q becomes
finite). At gamma = 0 the band is empty (b = c1^3/(6 c3 g^2) < 0). Requires eta = 0: a
confinement beta eta x^2 = eta b y^2 / eps would dominate the site measure.
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from ..symbols import beta, eta, g, gamma
from .landau import (_require_deterministic, c1, eps, expansion_unknowns, leading_family,
                     next_order_condition, two_orders)
from .step import Step

b = sp.Symbol("b", positive=True)
_t = sp.Symbol("t", positive=True)


@dataclass(frozen=True)
class BandScaling:
    """b(g, gamma) of q ~ sqrt(b / beta) and the leading conjugates, symbolic in c1, c3."""

    b: sp.Expr
    leading: dict       # order parameter -> leading behaviour in eps (= q)
    system: tuple       # leading-order equations and the solvability condition (= 0)
    solution: dict      # their unknowns (leading coefficients and b) -> closed form
    step: Step

    def numeric(self, coeffs: dict, g_value, gamma_value) -> float:
        subs = dict(coeffs)
        subs.update({g: g_value, gamma: gamma_value})
        return float(self.b.subs(subs))


def rational_series(expr: sp.Expr, top: int) -> sp.Expr:
    """Laurent series of expr in eps up to eps^top for expressions rational in sqrt(eps).

    eps = t^2 makes expr a ratio of polynomials in t; the denominator t^k D(t), D(0) != 0,
    is inverted as a power series term by term. (sympy's ``series`` leaves unexpanded
    quotients for the finite-beta weights here.) Odd powers of t raise ValueError.
    """
    e = sp.expand(expr).subs(eps, _t**2)
    num, den = sp.fraction(sp.cancel(sp.together(e)))
    pn, pd = sp.Poly(num, _t), sp.Poly(den, _t)
    dd = {m[0]: c for m, c in pd.terms()}
    kd = min(dd)
    n_terms = 2 * (top + 1) + kd - min(m[0] for m, _ in pn.terms()) + 1
    D = [dd.get(kd + j, sp.S.Zero) for j in range(max(n_terms, 1))]
    inv = [1 / D[0]]
    for k in range(1, len(D)):
        inv.append(sp.cancel(-sum(D[j] * inv[k - j] for j in range(1, k + 1)) / D[0]))
    out = sp.S.Zero
    for (pw,), cn in pn.terms():
        for k, ik in enumerate(inv):
            if pw + k - kd <= 2 * top:
                out += cn * ik * _t**(pw + k - kd)
    out = sp.expand(out)
    res = sp.S.Zero
    for pw in range(-2 * len(D) - 2 * abs(kd), 2 * top + 1):
        c = out.coeff(_t, pw)
        if c != 0:
            if pw % 2:
                raise ValueError("the expansion has an odd power of sqrt(eps)")
            res += sp.cancel(c) * eps**(pw // 2)
    return sp.expand(res)


def band_scaling(derived, singular=None) -> BandScaling:
    """Expand the finite-beta Q = 0 equations with q = eps, beta = b/eps^2, eta = 0.

    ``derived``: a finite-beta paramagnetic derivation (zero fields). The leading order is
    solved for the conjugates; the next order is linear in their corrections, singular, and
    its solvability condition is solved for b.
    """
    _require_deterministic(derived, "band_scaling")
    if derived.kind != "finite":
        raise ValueError("band_scaling expands a finite-beta derivation")
    coeffs, subs = expansion_unknowns(derived, singular)
    subs.update({beta: b / eps**2, eta: 0})
    system, _ = two_orders(derived, subs, rational_series)
    lead = [c[0] if c[0] != 0 else c[1] for c in coeffs.values()]
    nxt = [c[1] if c[0] != 0 else c[2] for c in coeffs.values()]
    lead_sol, eq0 = leading_family(system, lead, "leading-order family of the band scaling")
    _, _, cond = next_order_condition(system, lead_sol, nxt)
    roots = sp.solve(cond, b)
    if len(roots) != 1:
        raise ValueError(f"the solvability condition {cond} does not fix b uniquely")
    b_expr = sp.factor(roots[0])
    leading = {v: sp.factor(lead_sol.get(c[0], 0) / eps + lead_sol.get(c[1], 0)) if c[0] != 0
               else sp.factor(lead_sol.get(c[1], c[1])) for v, c in coeffs.items()}
    step = Step("9e", "band scaling between the lines: q ~ sqrt(b / beta)",
                (("q", eps), ("beta", b / eps**2), ("b = beta q^2", b_expr)),
                note="finite-beta Q = 0 equations, eta = 0, x = sqrt(epsilon) y, "
                     "phi = c1 x + c3 x^3 + c5 x^5; b from the next-order solvability condition")
    solution = {**{k: sp.factor(v) for k, v in lead_sol.items()}, b: b_expr}
    return BandScaling(b_expr, leading, tuple(eq0) + (cond,), solution, step)


def band_limits(scaling: BandScaling) -> dict:
    """Where b vanishes and where 1/b vanishes, as expressions in (c1, gamma): the two lines."""
    num, den = sp.fraction(sp.together(scaling.b))
    zeros = [r for r in sp.solve(num, g) if r.subs({c1: 1, gamma: sp.Rational(3, 10)}).is_positive]
    poles = [r for r in sp.solve(den, g) if r.subs({c1: 1, gamma: sp.Rational(3, 10)}).is_positive]
    return {"b_zero": [sp.simplify(r) for r in zeros], "b_pole": [sp.simplify(r) for r in poles]}
