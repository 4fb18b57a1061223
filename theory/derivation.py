"""The derivation chain: Model -> DerivedModel (one frozen object from sympy to kernels).

``derive(model)`` runs THEORY.md section 2, steps 1-8, on the model's structure and
returns a :class:`DerivedModel` carrying

* the order parameters in declared order (never taken from ``free_symbols``),
* the control parameters, the Gaussian fields (A, B) with their mean and covariance,
* the free energy functional -beta f = G(theta) + E_{A,B} f(A, B), f = ln ∫ dx exp(H)
  (or max_x H at zero temperature),
* the saddle-point equations dPhi/dtheta = 0 as linear combinations of Gaussian averages
  of site observables (see :mod:`theory.replica.saddle`), and the energy equation,
* the steps that produced it (provenance), each renderable to LaTeX.

Variants are new objects: ``derived.zero_temperature("laplace")``,
``derived.restrict({Q: 0, ...})`` (a branch such as the Q = 0 solution).
"""
from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass

import sympy as sp

from .model import Model, make_model
from .replica import action, gaussian
from .replica.saddle import Equation, ObservableTable, saddle_equations
from .replica.step import Step
from .replica.zero_temperature import apply_scaling, scaling
from .symbols import Q, Qh, R, Rh, beta, k, kh, m, mh, q, qh, r, rh, x


@dataclass(frozen=True)
class DerivedModel:
    """A derived RS theory of one model, ready for code generation (see module docstring)."""

    model: Model
    kind: str                                   # "finite", "laplace" or "chaotic"
    order_params: tuple[sp.Symbol, ...]
    controls: tuple[sp.Symbol, ...]
    fields: tuple[sp.Symbol, ...]
    field_mean: tuple[sp.Expr, ...]
    field_cov: tuple[tuple[sp.Expr, ...], ...]
    G: sp.Expr
    H: sp.Expr
    inner: str                                  # "integral" or "max"
    observables: tuple[sp.Expr, ...]
    observable_names: tuple[str, ...]
    equations: tuple[Equation, ...]
    energy: Equation | None                     # dPhi/dbeta (finite beta only)
    steps: tuple[Step, ...]
    fixed: tuple[tuple[sp.Symbol, sp.Expr], ...] = ()

    # ---------------------------------------------------------------------------------
    @property
    def provenance(self) -> str:
        fixed = ", ".join(f"{a}={b}" for a, b in self.fixed)
        return (f"qpot replica derivation, steps {', '.join(s.number for s in self.steps)}; "
                f"model: {self.model.label}; kind: {self.kind}" + (f"; branch: {fixed}" if fixed else ""))

    @property
    def pairs(self) -> tuple[tuple[int, int], ...]:
        """Index pairs (i, j) of observables whose product of averages E[<O_i><O_j>] is needed."""
        seen = []
        for eq in self.equations + ((self.energy,) if self.energy else ()):
            for _, i, j in eq.pairs:
                if (i, j) not in seen:
                    seen.append((i, j))
        return tuple(seen)

    def step(self, number: str) -> Step:
        for s in self.steps:
            if s.number == number:
                return s
        raise KeyError(number)

    def latex(self) -> str:
        return "\n\n".join(s.latex() for s in self.steps)

    def text(self) -> str:
        return "\n\n".join(s.text() for s in self.steps)

    def zero_temperature(self, name: str = "laplace") -> "DerivedModel":
        """The beta -> infinity limit under the named scaling ("laplace" or "chaotic")."""
        if self.kind != "finite":
            raise ValueError("zero_temperature applies to a finite-beta derivation")
        sc = scaling(name, self.model)
        G0, H0, fields0, mean0, cov0, step = apply_scaling(
            sc, self.G, self.H, self.fields, self.field_mean, self.field_cov)
        variables = sc.new_variables or self.order_params
        fixed = tuple((a, sp.simplify(b.subs(dict(sc.substitutions)))) for a, b in self.fixed)
        if sc.new_variables:
            fixed = ()  # branch restrictions are re-applied by the caller in the new variables
        controls = tuple(c for c in self.controls if c != beta and c not in sc.drop)
        return _assemble(self.model, sc.name, variables, controls, tuple(fields0), mean0, cov0,
                         G0, H0, sc.inner, self.steps + (step,), fixed, with_energy=False)

    def restrict(self, values: dict) -> "DerivedModel":
        """The branch with some order parameters fixed (e.g. {Q: 0, R: 0, Qh: 0, Rh: 0}).

        Their own equations are dropped; the caller must check them at the solution (for
        odd phi without J0 and input, Q = 0 is an exact solution by symmetry).
        """
        values = {sp.sympify(a): sp.sympify(b) for a, b in values.items()}
        unknown = set(values) - set(self.order_params)
        if unknown:
            raise ValueError(f"not order parameters of this model: {sorted(map(str, unknown))}")
        variables = tuple(v for v in self.order_params if v not in values)
        G = self.G.subs(values)
        H = self.H.subs(values)
        mean = [sp.simplify(mu.subs(values)) for mu in self.field_mean]
        cov = [[sp.simplify(c.subs(values)) for c in row] for row in self.field_cov]
        return _assemble(self.model, self.kind, variables, self.controls, self.fields, mean, cov,
                         G, H, self.inner, self.steps, self.fixed + tuple(values.items()),
                         with_energy=self.energy is not None)

    def equation_exprs(self):
        """Equations as sympy expressions in average symbols E_k and pair symbols P_i_j."""
        E = sp.symbols(f"E_0:{len(self.observables)}")
        P = {(i, j): sp.Symbol(f"P_{i}_{j}") for i, j in self.pairs}
        return [eq.expr(E, P) for eq in self.equations], E, P


def _assemble(model, kind, variables, controls, fields, mean, cov, G, H, inner, steps, fixed,
              with_energy) -> DerivedModel:
    table = ObservableTable()
    eqs = saddle_equations(G, H, fields, mean, cov, variables, inner, table,
                           extra=(beta,) if with_energy else ())
    energy = eqs[-1] if with_energy else None
    eqs = eqs[: len(variables)]
    step8 = Step("8", "saddle-point equations (Price's theorem, no 0/0)",
                 tuple((f"dPhi/d{e.var}", e.expr(sp.symbols(f"E_0:{len(table.exprs)}"),
                                                  {(i, j): sp.Symbol(f"P_{i}_{j}") for _, i, j in e.pairs}))
                       for e in eqs)
                 + tuple((f"E_{i}", sp.Eq(sp.Symbol(f"E_{i}"), sp.Symbol(f"<{nm}>")))
                         for i, nm in enumerate(table.names)),
                 note="E_k = E_F <O_k>, P_i_j = E_F[<O_i><O_j>]")
    steps = tuple(s for s in steps if s.number != "8") + (step8,)
    return DerivedModel(model, kind, tuple(variables), tuple(controls), tuple(fields),
                        tuple(mean), tuple(tuple(row) for row in cov), G, H, inner,
                        tuple(table.exprs), tuple(table.names), eqs, energy, steps, tuple(fixed))


def order_parameters(model: Model) -> tuple[sp.Symbol, ...]:
    """Declared order: q, Q, r, R, qh, Qh, rh, Rh (+ m, k, mh, kh with mean coupling)."""
    out = (q, Q, r, R, qh, Qh, rh, Rh)
    if model.mean_coupling:
        out += (m, k, mh, kh)
    return out


@functools.lru_cache(maxsize=64)
def derive(model: Model) -> DerivedModel:
    """Run steps 1-8 for ``model`` at finite beta."""
    s1 = action.auxiliary_field()
    s2 = action.disorder_average(model)
    s3 = action.order_parameters(model, s2)
    s4 = action.rs_entropic(model, s3)
    s5 = gaussian.gaussian_integration(model)
    s6 = gaussian.decoupling(model, s5)
    s7 = gaussian.functional(model, s4, s5, s6)
    mean = list(s6["field means"])
    C = s6["field covariance"]
    cov = [[C[i, j] for j in range(2)] for i in range(2)]
    return _assemble(model, "finite", order_parameters(model), model.controls, gaussian.FIELDS,
                     mean, cov, s7["G"], s7["H"], "integral", (s1, s2, s3, s4, s5, s6, s7), (),
                     with_energy=True)


def paramagnetic_branch(derived: DerivedModel) -> DerivedModel:
    """The Q = 0 branch (Q = R = Qh = Rh = 0, and m = k = mh = kh = 0 with mean coupling):
    exact for odd phi without input, where x -> -x in one replica is a symmetry."""
    if derived.kind != "finite":
        raise ValueError("take the branch of the finite-beta derivation, then the limit")
    fixed = {Q: 0, R: 0, Qh: 0, Rh: 0}
    if derived.model.mean_coupling:
        fixed.update({m: 0, k: 0, mh: 0, kh: 0})
    return derived.restrict(fixed)


def derive_named(phi: str = "tanh", U: str | None = None, **kw) -> DerivedModel:
    """Convenience: ``derive(make_model(phi, U, **kw))``."""
    return derive(make_model(phi, U, **kw))


__all__ = ["DerivedModel", "derive", "derive_named", "order_parameters", "paramagnetic_branch",
           "dataclasses", "x"]
