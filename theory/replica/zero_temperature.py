"""Step 9a: zero-temperature limits of the RS functional, two scalings.

``laplace`` (THEORY.md "Ordered-phase scaling"; replicas collapse onto one state):

    Q = q - chi/beta,  qh = beta chih - beta^2 Qh0/2,  Qh = beta^2 Qh0,  Rh = beta kappa,
    rh = beta kappa + Gamma,  R = beta R1,  r = beta R1 + Delta,  B = beta B0
    (J0: mh = beta mh0, k = beta k0),

so that sigma^2 -> 1 + g^2 chi, H = beta H0 and -beta f = beta [G0 + E max_x H0] + o(beta).

``chaotic`` (two replicas on different fixed points; q - Q stays finite):

    all order parameters finite, eta = o(1/beta), beta/sigma^2 -> 1/(g^2 (q - Q)),

so that H -> H_inf (no Laplace concentration: the x-integral stays an integral) and
-beta f + ln(beta)/2 -> G_inf + E ln ∫ dx exp(H_inf).

Both limits are taken by sympy on the finite-beta G and H of step 7 (no hand-typed result).
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from ..model import Model
from ..symbols import (Delta, Gamma, Q, Qh, Qh0, R, R1, Rh, beta, chi, chih, eta, k, k0, kappa,
                       mh, mh0, q, qh, r, rh)
from .step import Step


@dataclass(frozen=True)
class Scaling:
    name: str
    substitutions: tuple[tuple[sp.Symbol, sp.Expr], ...]
    new_variables: tuple[sp.Symbol, ...]
    field_scale: tuple[sp.Expr, ...]     # F = scale * F_new
    power: int                           # Phi ~ beta^power
    offset: sp.Expr                      # added to G before the limit
    inner: str                           # "max" or "integral"
    drop: tuple[sp.Symbol, ...] = ()     # controls set to zero (eta for chaotic)


def scaling(name: str, model: Model) -> Scaling:
    """The named zero-temperature scaling for ``model``."""
    if name == "laplace":
        subs = [(Q, q - chi / beta), (qh, beta * chih - beta**2 * Qh0 / 2), (Qh, beta**2 * Qh0),
                (Rh, beta * kappa), (rh, beta * kappa + Gamma), (R, beta * R1), (r, beta * R1 + Delta)]
        new = [q, chi, R1, Delta, chih, Qh0, kappa, Gamma]
        if model.mean_coupling:
            from ..symbols import kh, m
            subs += [(mh, beta * mh0), (k, beta * k0)]
            new += [m, k0, mh0, kh]
        return Scaling("laplace", tuple(subs), tuple(new), (sp.S.One, beta), 1, sp.S.Zero, "max")
    if name == "chaotic":
        return Scaling("chaotic", (), (), (sp.S.One, sp.S.One), 0, sp.log(beta) / 2, "integral",
                       drop=(eta,))
    raise ValueError(f"unknown scaling {name!r}; known: laplace, chaotic")


def _leading(expr: sp.Expr, power: int) -> sp.Expr:
    """lim_{beta -> oo} expr / beta^power, term by term.

    Logarithms that contain beta are first combined into one (their divergent parts must
    cancel, e.g. ln(beta)/2 - ln(1 + beta g^2 (q - Q))/2); rational terms are handled by
    comparing the leading powers of numerator and denominator, the rest by sympy's limit.
    """
    expr = sp.expand(expr / beta**power)
    logs = [t for t in sp.Add.make_args(expr) if t.has(sp.log) and t.has(beta)]
    others = [t for t in sp.Add.make_args(expr) if not (t.has(sp.log) and t.has(beta))]
    out = sp.S.Zero
    if logs:
        combined = sp.logcombine(sp.Add(*logs), force=True)
        lim = sp.limit(combined, beta, sp.oo)
        if lim.has(sp.oo, -sp.oo, sp.zoo, sp.nan):
            raise ValueError(f"logarithmic terms {sp.Add(*logs)} diverge as beta -> oo in this scaling")
        out += lim
    for term in others:
        out += _term_limit(term)
    return sp.simplify(out)


def _term_limit(term: sp.Expr) -> sp.Expr:
    num, den = sp.fraction(sp.together(term))
    try:
        pn, pd = sp.Poly(num, beta), sp.Poly(den, beta)
    except sp.PolynomialError:
        pn = pd = None
    if pn is not None:
        if pn.degree() > pd.degree():
            raise ValueError(f"term {term} diverges as beta -> oo in this scaling")
        if pn.degree() < pd.degree():
            return sp.S.Zero
        return pn.LC() / pd.LC()
    lim = sp.limit(term, beta, sp.oo)
    if lim.has(sp.oo, -sp.oo, sp.zoo, sp.nan):
        raise ValueError(f"term {term} diverges as beta -> oo in this scaling")
    return lim


def apply_scaling(sc: Scaling, G, H, fields, mean, cov) -> tuple[sp.Expr, sp.Expr, list, list, Step]:
    """Leading order of G, H, field mean and covariance under the scaling."""
    subs = dict(sc.substitutions)
    drop = {d: 0 for d in sc.drop}
    new_fields = [sp.Symbol(f"{f.name}0", real=True) if s != 1 else f
                  for f, s in zip(fields, sc.field_scale)]
    fsub = {f: s * nf for f, s, nf in zip(fields, sc.field_scale, new_fields)}
    G0 = _leading((G + sc.offset).subs(subs).subs(drop), sc.power)
    H0 = _leading(H.subs(subs).subs(drop).subs(fsub), sc.power)
    mean0 = [_leading(mu.subs(subs) / s, 0) for mu, s in zip(mean, sc.field_scale)]
    cov0 = [[_leading(cov[i][j].subs(subs) / (sc.field_scale[i] * sc.field_scale[j]), 0)
             for j in range(len(fields))] for i in range(len(fields))]
    step = Step("9a", f"zero-temperature limit ({sc.name} scaling)",
                (("substitutions", sp.Matrix([[a, b] for a, b in sc.substitutions]) if sc.substitutions else sp.S.Zero),
                 ("G0", G0), ("H0", H0), ("field means", sp.Matrix(mean0)),
                 ("field covariance", sp.Matrix(cov0))),
                note=("-beta f = beta [G0 + E max_x H0] + o(beta)" if sc.inner == "max"
                      else "-beta f + ln(beta)/2 -> G0 + E ln ∫ dx exp(H0)"))
    return G0, H0, new_fields, mean0, cov0, step
