"""The model specification: an immutable description of one member of the model family.

    dx_i/dt = -x_i + g sum_j J_ij phi(x_j) + I_i,
    E(x) = 1/2 sum_i (x_i - g sum_j J_ij phi(x_j) - I_i)^2 + sum_i U(x_i),

with E[J_ij] = J0/N, Var J_ij = 1/N, Corr(J_ij, J_ji) = gamma and quenched input
I_i ~ N(I0, sI^2) (Qiu & Huang, arXiv 2401.10009; THEORY.md section 1).

A :class:`Model` fixes the *structure* (phi, U, whether J0 and the input are present);
numeric values of the control parameters live in a separate :class:`Point`, so one derived
model serves every parameter point. Variants are new objects (``dataclasses.replace`` or
:func:`make_model`), never mutations.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import sympy as sp
from sympy.calculus.util import continuous_domain

from .formula import FormulaError, parse_formula
from .symbols import I0, J0, beta, eta, g, gamma, sI, x

#: Catalogue of transfer functions, each a formula in x.
PHI_CATALOGUE: dict[str, sp.Expr] = {
    "tanh": sp.tanh(x),
    "erf": sp.erf(sp.sqrt(sp.pi) * x / 2),
    "linear": x,
    "logistic": 1 / (1 + sp.exp(-x)) - sp.Rational(1, 2),
    "softsign": x / (1 + sp.Abs(x)),
    "relu": sp.Piecewise((0, x < 0), (x, True)),
    "hardtanh": sp.Piecewise((-1, x < -1), (x, x <= 1), (1, True)),
}

#: Default confinement U(x) = eta x^2.
DEFAULT_U = eta * x**2


class ModelError(ValueError):
    """An invalid model specification or parameter point."""


@dataclass(frozen=True)
class Model:
    """One member of the model family (structure only, no numbers).

    Attributes
    ----------
    phi_name:
        Catalogue name or the formula text the user gave.
    phi:
        The transfer function, a sympy expression in ``theory.symbols.x`` only.
    U:
        The confinement, a sympy expression in ``x`` and ``eta``.
    mean_coupling:
        Whether E[J_ij] = J0/N is kept (adds the magnetisation m and its partner k).
    quenched_input:
        Whether the quenched input I_i ~ N(I0, sI^2) is present.
    smooth:
        True when phi' is continuous (False for piecewise-linear phi such as relu).
    """

    phi_name: str
    phi: sp.Expr
    U: sp.Expr = DEFAULT_U
    mean_coupling: bool = False
    quenched_input: bool = False
    smooth: bool = field(default=True, compare=False)

    def __post_init__(self):
        _check_phi(self.phi)
        _check_U(self.U)
        object.__setattr__(self, "smooth", _is_smooth(self.phi))

    # derived expressions -------------------------------------------------------------
    @property
    def dphi(self) -> sp.Expr:
        """phi'(x)."""
        return sp.diff(self.phi, x)

    @property
    def d2phi(self) -> sp.Expr:
        """phi''(x) (zero almost everywhere for piecewise-linear phi)."""
        return sp.diff(self.phi, x, 2)

    @property
    def dU(self) -> sp.Expr:
        """U'(x)."""
        return sp.diff(self.U, x)

    @property
    def controls(self) -> tuple[sp.Symbol, ...]:
        """Control parameters in declared order: g, gamma, beta, eta [, J0] [, I0, sI]."""
        out = [g, gamma, beta, eta]
        if self.mean_coupling:
            out.append(J0)
        if self.quenched_input:
            out += [I0, sI]
        return tuple(out)

    @property
    def odd(self) -> bool:
        """Whether phi(-x) = -phi(x) (then Q = 0 is an exact solution without J0 and input)."""
        return sp.simplify(self.phi.subs(x, -x) + self.phi) == 0

    def taylor(self, order: int = 5) -> list[sp.Expr]:
        """Taylor coefficients c_0..c_order of phi at 0 (one-sided from above at a kink)."""
        expr = self.phi
        if isinstance(expr, sp.Piecewise) or expr.has(sp.Abs, sp.Max, sp.Min):
            expr = _branch_at_zero(expr)
        ser = sp.series(expr, x, 0, order + 1).removeO()
        return [sp.simplify(ser.coeff(x, i)) for i in range(order + 1)]

    @property
    def label(self) -> str:
        parts = [f"phi={self.phi_name}"]
        if self.U != DEFAULT_U:
            parts.append(f"U={sp.sstr(self.U)}")
        if self.mean_coupling:
            parts.append("J0")
        if self.quenched_input:
            parts.append("input")
        return ", ".join(parts)


def make_model(phi: str | sp.Expr = "tanh", U: str | sp.Expr | None = None, *,
               mean_coupling: bool = False, quenched_input: bool = False) -> Model:
    """Build a validated :class:`Model`.

    ``phi`` is a catalogue name (:data:`PHI_CATALOGUE`) or a formula string in ``x``;
    ``U`` a formula string in ``x`` and ``eta`` (default ``eta*x**2``).
    """
    if isinstance(phi, str):
        name = phi.strip()
        if name in PHI_CATALOGUE:
            phi_expr = PHI_CATALOGUE[name]
        else:
            try:
                phi_expr = parse_formula(name, allowed=("x",))
            except FormulaError as exc:
                raise ModelError(
                    f"phi {name!r} is neither a catalogue name ({', '.join(PHI_CATALOGUE)}) "
                    f"nor a valid formula in x: {exc}") from None
    elif isinstance(phi, sp.Expr):
        name, phi_expr = sp.sstr(phi), phi
    else:
        raise ModelError(f"phi must be a name, a formula string or a sympy expression, got {phi!r}")
    if U is None:
        U_expr = DEFAULT_U
    elif isinstance(U, str):
        try:
            U_expr = parse_formula(U, allowed=("x", "eta"))
        except FormulaError as exc:
            raise ModelError(f"invalid confinement U: {exc}") from None
    else:
        U_expr = sp.sympify(U)
    return Model(name, phi_expr, U_expr, bool(mean_coupling), bool(quenched_input))


# validation ---------------------------------------------------------------------------
def _check_phi(phi: sp.Expr) -> None:
    if not isinstance(phi, sp.Expr):
        raise ModelError(f"phi must be a sympy expression, got {type(phi).__name__}")
    extra = phi.free_symbols - {x}
    if extra:
        raise ModelError(f"phi may depend on x only; it also depends on {sorted(map(str, extra))}")
    if phi.has(sp.Heaviside, sp.sign):
        raise ModelError("phi contains a step (Heaviside/sign): it is not continuous, "
                         "the derivation needs phi continuous and piecewise differentiable")
    if x not in phi.free_symbols:
        raise ModelError("phi must depend on x (a constant transfer function has no dynamics)")
    dom = _continuous_domain(phi)
    if dom != sp.S.Reals:
        raise ModelError(f"phi is not continuous on the real line (continuous on {dom})")
    dphi = sp.diff(phi, x)
    bad = sp.S.Reals - _continuous_domain(dphi)
    if bad != sp.S.EmptySet:
        if not isinstance(bad, sp.FiniteSet):
            raise ModelError(f"phi is not differentiable on {bad}")
        for x0 in bad:
            for side in ("+", "-"):
                lim = sp.limit(dphi, x, x0, side)
                if not lim.is_finite:
                    raise ModelError(
                        f"phi is not differentiable at x = {x0}: phi' -> {lim} from the {side} side; "
                        "the derivation needs finite one-sided derivatives")
    for x0 in (sp.Integer(0), sp.Rational(1, 3), sp.Integer(-2)):
        val = dphi.subs(x, x0).evalf()
        if not val.is_real or not val.is_finite:
            raise ModelError(f"phi' is not real and finite at x = {x0} (got {val})")


def _check_U(U: sp.Expr) -> None:
    extra = U.free_symbols - {x, eta}
    if extra:
        raise ModelError(f"U may depend on x and eta only; it also depends on {sorted(map(str, extra))}")
    if _continuous_domain(U.subs(eta, sp.Rational(1, 10))) != sp.S.Reals:
        raise ModelError("U must be continuous on the real line")
    probe = U.subs(eta, sp.Rational(1, 10))
    for side in (sp.oo, -sp.oo):
        lim = sp.limit(probe, x, side)
        if lim == -sp.oo or (lim.is_real and lim.is_finite is False and lim.is_negative):
            raise ModelError(f"U does not confine: U -> {lim} as x -> {side} (eta = 1/10); "
                             "exp(-beta E) would not be normalisable")
    if U.free_symbols and eta in U.free_symbols:
        at_zero = U.subs(eta, 0)
        for side in (sp.oo, -sp.oo):
            if sp.limit(at_zero, x, side) == -sp.oo:
                raise ModelError(f"U does not confine at eta = 0 (U -> -oo as x -> {side})")


def _is_smooth(phi: sp.Expr) -> bool:
    return _continuous_domain(sp.diff(phi, x)) == sp.S.Reals


_ENTIRE = (sp.erf, sp.erfc, sp.tanh, sp.exp, sp.sin, sp.cos, sp.sinh, sp.cosh, sp.atan)


def _continuous_domain(expr: sp.Expr) -> sp.Set:
    """Where ``expr`` is continuous on the reals.

    sympy's ``continuous_domain`` cannot handle some special functions (erf); an
    expression built from entire functions with polynomial arguments, sums, products and
    non-negative integer powers is continuous everywhere, so that case is decided
    structurally.
    """
    if expr.has(sp.Abs, sp.sign, sp.Max, sp.Min, sp.Piecewise):
        expr = sp.piecewise_fold(expr.rewrite(sp.Piecewise))
    if isinstance(expr, sp.Piecewise):
        return _piecewise_continuous_domain(expr)
    try:
        return continuous_domain(expr, x, sp.S.Reals)
    except NotImplementedError:
        pass
    for node in sp.preorder_traversal(expr):
        if isinstance(node, sp.Function) and not isinstance(node, _ENTIRE):
            raise ModelError(f"cannot decide where {expr} is continuous (function {node.func})")
        if isinstance(node, sp.Pow) and node.base.has(x) and not (
                (node.exp.is_Integer and node.exp >= 0) or node.base.is_positive):
            # division or root: fall back on the part without special functions
            raise ModelError(f"cannot decide where {expr} is continuous (power {node})")
    return sp.S.Reals


def _piecewise_continuous_domain(pw: sp.Piecewise) -> sp.Set:
    """Continuity of a Piecewise in x: each branch on its set, and matching at the joins."""
    bad = sp.S.EmptySet
    joins = set()
    for e, s in pw.as_expr_set_pairs(sp.S.Reals):
        bad = bad | (s - _continuous_domain(e))
        joins |= set(s.boundary) if s != sp.S.Reals else set()
    for x0 in joins:
        if not x0.is_finite:
            continue
        eps = sp.Symbol("eps", positive=True)
        left = sp.limit(pw.subs(x, x0 - eps), eps, 0, "+")
        right = sp.limit(pw.subs(x, x0 + eps), eps, 0, "+")
        if sp.simplify(left - right) != 0 or sp.simplify(pw.subs(x, x0) - right) != 0:
            bad = bad | sp.FiniteSet(x0)
    return sp.S.Reals - bad


def _branch_at_zero(expr: sp.Expr) -> sp.Expr:
    """The analytic branch of a piecewise expression just above x = 0."""
    eps = sp.Symbol("eps", positive=True)
    expr = sp.piecewise_fold(expr.rewrite(sp.Piecewise))
    if isinstance(expr, sp.Piecewise):
        for e, c in expr.args:
            if c == True or bool(c.subs(x, eps / 10**6).subs(eps, sp.Rational(1, 10**6))):  # noqa: E712
                return e
    return expr


# parameter points ------------------------------------------------------------------------
@dataclass(frozen=True)
class Point:
    """Numeric control parameters. ``beta = math.inf`` denotes zero temperature.

    Raises :class:`ModelError` for |gamma| > 1, g < 0, beta <= 0, eta < 0, sI < 0 or any
    NaN/infinite value (infinite beta excepted).
    """

    g: float
    gamma: float = 0.0
    beta: float = 1.0
    eta: float = 0.0
    J0: float = 0.0
    I0: float = 0.0
    sI: float = 0.0

    def __post_init__(self):
        for f in dataclasses.fields(self):
            val = getattr(self, f.name)
            try:
                val = float(val)
            except (TypeError, ValueError):
                raise ModelError(f"{f.name} must be a number, got {val!r}") from None
            if math.isnan(val):
                raise ModelError(f"{f.name} is NaN")
            if math.isinf(val) and not (f.name == "beta" and val > 0):
                raise ModelError(f"{f.name} must be finite, got {val}")
            object.__setattr__(self, f.name, val)
        if self.g < 0:
            raise ModelError(f"g must be >= 0, got {self.g}")
        if abs(self.gamma) > 1:
            raise ModelError(f"gamma must lie in [-1, 1], got {self.gamma}")
        if self.beta <= 0:
            raise ModelError(f"beta must be > 0 (or inf for zero temperature), got {self.beta}")
        if self.eta < 0:
            raise ModelError(f"eta must be >= 0, got {self.eta}")
        if self.sI < 0:
            raise ModelError(f"sI (input standard deviation) must be >= 0, got {self.sI}")

    @property
    def zero_temperature(self) -> bool:
        return math.isinf(self.beta)

    def values(self, model: Model) -> dict[sp.Symbol, float]:
        """Map the model's control symbols to this point's values."""
        table = {g: self.g, gamma: self.gamma, beta: self.beta, eta: self.eta,
                 J0: self.J0, I0: self.I0, sI: self.sI}
        if not model.mean_coupling and self.J0 != 0:
            raise ModelError("J0 != 0 given for a model without mean coupling (make_model(..., mean_coupling=True))")
        if not model.quenched_input and (self.I0 != 0 or self.sI != 0):
            raise ModelError("input given for a model without quenched input (make_model(..., quenched_input=True))")
        return {s: table[s] for s in model.controls}
