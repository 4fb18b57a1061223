"""Replica-symmetric algebra with a symbolic number of replicas n.

Two small tools used by every derivation step:

* :class:`RSMatrix` -- an n x n matrix a I + b 1 1^T, with closed forms
  det = a^(n-1) (a + n b) and inverse (1/a) I - b / (a (a + n b)) 1 1^T, valid for
  symbolic n so that the n -> 0 limit can be taken afterwards.
* :func:`replica_sum` -- sum over the replica index a of an expression built from
  single-replica placeholders (``s_a``, ``p_a``, ...) and replica sums (``S_s = sum_a s_a``):
  sum_a c = n c, sum_a c f(s_a) = c S_f; what cannot be written through replica sums stays
  as a per-replica term sum_a h(s_a, p_a).
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from ..symbols import n


@dataclass(frozen=True)
class RSMatrix:
    """The replica-symmetric matrix a I_n + b 1 1^T (diagonal a + b, off-diagonal b)."""

    a: sp.Expr
    b: sp.Expr

    @classmethod
    def from_entries(cls, diag: sp.Expr, off: sp.Expr) -> "RSMatrix":
        return cls(sp.sympify(diag) - off, sp.sympify(off))

    def logdet(self) -> sp.Expr:
        """ln det = (n - 1) ln a + ln(a + n b)."""
        return (n - 1) * sp.log(self.a) + sp.log(self.a + n * self.b)

    def inverse(self) -> "RSMatrix":
        """(a I + b 11^T)^-1 = (1/a) I - b/(a (a + n b)) 11^T."""
        return RSMatrix(1 / self.a, -self.b / (self.a * (self.a + n * self.b)))

    def quadratic(self, per_replica_sq: sp.Expr, total: sp.Expr) -> sp.Expr:
        """w^T M w = a sum_a w_a^2 + b (sum_a w_a)^2, given sum_a w_a^2 and sum_a w_a."""
        return self.a * per_replica_sq + self.b * total**2


def n_to_zero(expr: sp.Expr, order: int = 1) -> sp.Expr:
    """Coefficient of n^order in the expansion of ``expr`` around n = 0."""
    ser = sp.series(expr, n, 0, order + 1).removeO()
    return sp.simplify(sp.expand(ser).coeff(n, order))


@dataclass(frozen=True)
class ReplicaSums:
    """Placeholders: single-replica symbols and the replica sums that stand for them."""

    single: tuple[sp.Symbol, ...]     # e.g. (s, p): s_a, p_a of one replica
    sums: tuple[sp.Symbol, ...]       # e.g. (S_s, S_p): sum_a s_a, sum_a p_a

    def replica_sum(self, expr: sp.Expr) -> tuple[sp.Expr, sp.Expr]:
        """sum_a expr(a) split as (per-replica part h, collective part P).

        sum_a expr = sum_a h(single_a) + P(sums, n). ``expr`` must be a polynomial in the
        single-replica placeholders and the sums; a term mixing a non-linear single-replica
        factor with a replica sum would not be replica-separable and raises ValueError.
        """
        expr = sp.expand(expr)
        per, coll = sp.S.Zero, sp.S.Zero
        single_to_sum = dict(zip(self.single, self.sums))
        for term in sp.Add.make_args(expr):
            c_part, s_part = sp.S.One, sp.S.One
            for f in sp.Mul.make_args(term):
                if f.free_symbols & set(self.single):
                    s_part *= f
                else:
                    c_part *= f
            if s_part == 1:
                coll += n * c_part
            elif s_part in single_to_sum:
                if c_part.free_symbols & set(self.sums):
                    coll += c_part * single_to_sum[s_part]
                else:
                    # linear single-replica term without sums: keep it per replica
                    per += c_part * s_part
            else:
                if c_part.free_symbols & set(self.sums):
                    raise ValueError(f"term {term} is not replica-separable")
                per += c_part * s_part
        return per, coll

    def collective_form(self, coll: sp.Expr) -> tuple[sp.Matrix, sp.Matrix, sp.Expr]:
        """Write P(T) = 1/2 T^T C T + b^T T + c for the replica sums T; return (C, b, c)."""
        T = list(self.sums)
        poly = sp.Poly(sp.expand(coll), *T)
        if poly.total_degree() > 2:
            raise ValueError(f"collective part {coll} is not quadratic in the replica sums")
        C = sp.zeros(len(T))
        bvec = sp.zeros(len(T), 1)
        const = sp.S.Zero
        for monom, coeff in poly.terms():
            deg = sum(monom)
            if deg == 0:
                const += coeff
            elif deg == 1:
                bvec[monom.index(1)] += coeff
            else:
                idx = [i for i, e in enumerate(monom) for _ in range(e)]
                i, j = idx
                if i == j:
                    C[i, i] += 2 * coeff
                else:
                    C[i, j] += coeff
                    C[j, i] += coeff
        return C, bvec, const
