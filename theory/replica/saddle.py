"""Step 8: saddle-point equations without 0/0, by Gaussian integration by parts.

The functional is Phi(theta) = G(theta) + E_F f(F; theta), F = (A, B) ~ N(mu(theta), C(theta)),
with f = ln ∫ dx exp(H) at finite beta or f = max_x H0 at zero temperature. Differentiating
the Gaussian measure itself would produce E[u F(u)] terms with prefactors such as
1/sqrt(Q) that vanish or blow up at the transition. Instead Stein's lemma twice (Price's
theorem) moves the derivative onto f:

    d/dmu_i  E f = E[d_i f],
    d/dC_ii  E f = 1/2 E[d_i^2 f],     d/dC_ij E f = E[d_i d_j f]   (i != j, C symmetric),

and, with <.> the average under exp(H),

    d_i ln Z = <H_i>,   d_i d_j ln Z = <H_ij> + <H_i H_j> - <H_i><H_j>          (finite beta),
    d_i max H0 = H0_i(x*),  d_i d_j max H0 = H0_ij - H0_xi H0_xj / H0_xx at x*    (zero T,
    implicit differentiation of the maximiser x*(F)).

Every equation is therefore a linear combination of Gaussian averages E<O_k> of site
functions O_k(x; F, theta) and of products E[<O_i><O_j>], with coefficients that are
explicit functions of theta: no 0/0 reaches the numerics.
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from ..symbols import x


@dataclass(frozen=True)
class Equation:
    """dPhi/d(var) = const + sum_c coef_c E<O_k(c)> + sum_p coef_p E[<O_i(p)><O_j(p)>]."""

    var: sp.Symbol
    const: sp.Expr
    averages: tuple[tuple[sp.Expr, int], ...]
    pairs: tuple[tuple[sp.Expr, int, int], ...]

    def expr(self, avg_symbols, pair_symbols) -> sp.Expr:
        """The equation as one sympy expression in the average symbols."""
        out = self.const
        for coef, kk in self.averages:
            out += coef * avg_symbols[kk]
        for coef, i, j in self.pairs:
            out += coef * pair_symbols[(i, j)]
        return out


class ObservableTable:
    """De-duplicated list of site functions whose averages the equations need."""

    def __init__(self):
        self.exprs: list[sp.Expr] = []
        self.names: list[str] = []

    def index(self, expr: sp.Expr, name: str) -> int:
        expr = sp.sympify(expr)
        for i, e in enumerate(self.exprs):
            if e == expr:
                return i
        self.exprs.append(expr)
        self.names.append(name)
        return len(self.exprs) - 1


def saddle_equations(G, H, fields, mean, cov, variables, inner: str, table: ObservableTable,
                     extra=()):
    """Equations dPhi/d(v) for v in ``variables`` (see module docstring).

    ``inner`` is "integral" (finite beta) or "max" (zero temperature). ``extra`` lists
    further symbols (e.g. beta) whose derivative is wanted for observables such as the
    energy. Returns a tuple of :class:`Equation`.
    """
    if inner not in ("integral", "max"):
        raise ValueError(f"inner must be 'integral' or 'max', got {inner!r}")
    nf = len(fields)
    H_i = [sp.diff(H, f) for f in fields]

    def first(i):
        return [(sp.S.One, table.index(H_i[i], f"H_{fields[i]}"))], []

    def second(i, j):
        Hij = sp.diff(H, fields[i], fields[j])
        if inner == "max":
            Hx = sp.diff(H, x)
            expr = Hij - sp.diff(Hx, fields[i]) * sp.diff(Hx, fields[j]) / sp.diff(Hx, x)
            return [(sp.S.One, table.index(expr, f"d2f_{fields[i]}{fields[j]}"))], []
        avgs = [(sp.S.One, table.index(Hij, f"H_{fields[i]}{fields[j]}")),
                (sp.S.One, table.index(H_i[i] * H_i[j], f"H_{fields[i]}*H_{fields[j]}"))]
        ia = table.index(H_i[i], f"H_{fields[i]}")
        ja = table.index(H_i[j], f"H_{fields[j]}")
        return avgs, [(sp.S.NegativeOne, min(ia, ja), max(ia, ja))]

    out = []
    for var in tuple(variables) + tuple(extra):
        const = sp.diff(G, var)
        averages, pairs = [], []
        dH = sp.diff(H, var)
        if dH != 0:
            averages.append((sp.S.One, table.index(dH, f"dH/d{var}")))
        for i in range(nf):
            dmu = sp.diff(mean[i], var)
            if dmu != 0:
                a, _ = first(i)
                averages += [(dmu * c, kk) for c, kk in a]
        for i in range(nf):
            for j in range(i, nf):
                dC = sp.diff(cov[i][j], var)
                if dC == 0:
                    continue
                w = dC / 2 if i == j else dC
                a, p = second(i, j)
                averages += [(w * c, kk) for c, kk in a]
                pairs += [(w * c, ii, jj) for c, ii, jj in p]
        out.append(Equation(var, sp.simplify(const), _merge(averages), _merge_pairs(pairs)))
    return tuple(out)


def _merge(terms):
    acc: dict[int, sp.Expr] = {}
    for c, kk in terms:
        acc[kk] = acc.get(kk, 0) + c
    return tuple((sp.simplify(c), kk) for kk, c in sorted(acc.items()) if sp.simplify(c) != 0)


def _merge_pairs(terms):
    acc: dict[tuple[int, int], sp.Expr] = {}
    for c, i, j in terms:
        acc[(i, j)] = acc.get((i, j), 0) + c
    return tuple((sp.simplify(c), i, j) for (i, j), c in sorted(acc.items()) if sp.simplify(c) != 0)
