"""The code printers behind every generated kernel, and the stable special functions.

Two printers share one whitelist of sympy objects:

* ``NumbaPrinter`` writes float-only Python that ``numba.njit`` compiles: every literal is
  a float (``1/2`` prints as ``0.5``, never as an integer division), functions come from
  ``math``.
* ``MpmathPrinter`` writes the arbitrary-precision twin: literals are exact (an Integer
  is ``mpmath.mpf(n)``, a Rational ``mpmath.mpf(p)/mpmath.mpf(q)``, a Float its exact
  binary value), so evaluation under ``mpmath.workdps(d)`` is good to ``d`` digits.

Rules both printers own: a Piecewise must end in a default (``True``) branch and prints
as nested ``a if c else b``; Heaviside (H(0) = 1/2 unless given), sign, Max and Min go
through NaN-propagating helpers; anything outside the whitelist is refused with a
``CodegenError`` naming it, at generation time.

The helpers ``_logaddexp``, ``_log1pexp`` and ``_log_ndtr`` are the printed forms of the
sympy functions ``logaddexp``, ``log1pexp`` and ``log_ndtr`` defined here; these carry
derivatives and ``evalf`` (through the mpmath implementations below) so the derivation
side can use them symbolically.
"""
from __future__ import annotations

import keyword
import re
import unicodedata

import mpmath
import sympy
from sympy import Dummy, Function, Piecewise, S
from sympy.codegen.cfunctions import expm1, log1p
from sympy.core.function import AppliedUndef, ArgumentIndexError
from sympy.core.logic import fuzzy_and
from sympy.core.relational import Relational
from sympy.logic.boolalg import And, BooleanFalse, BooleanTrue, Not, Or
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.pycode import PythonCodePrinter


class CodegenError(ValueError):
    """An expression cannot be turned into kernel code."""


# --------------------------------------------------------------------------------------
# Stable special functions: mpmath implementations (used by evalf and the mpmath twin)
# --------------------------------------------------------------------------------------

def mp_logaddexp(a, b):
    """log(exp(a) + exp(b)) at the current mpmath precision."""
    a, b = mpmath.mpf(a), mpmath.mpf(b)
    if mpmath.isnan(a) or mpmath.isnan(b):
        return a + b
    if a == b:
        return a + mpmath.log(2)
    hi, lo = (a, b) if a > b else (b, a)
    return hi + mpmath.log1p(mpmath.exp(lo - hi))


def mp_log1pexp(x):
    """log(1 + exp(x)) (softplus) at the current mpmath precision."""
    x = mpmath.mpf(x)
    if x > 0:
        return x + mpmath.log1p(mpmath.exp(-x))
    return mpmath.log1p(mpmath.exp(x))


def mp_log_ndtr(x):
    """log Phi(x), Phi the standard normal CDF, at the current mpmath precision."""
    x = mpmath.mpf(x)
    if x > 0:
        return mpmath.log1p(-mpmath.ncdf(-x))
    return mpmath.log(mpmath.ncdf(x))


# --------------------------------------------------------------------------------------
# Stable special functions: sympy side
# --------------------------------------------------------------------------------------

def _real_args(f):
    return fuzzy_and(a.is_extended_real for a in f.args)


class logaddexp(Function):
    """logaddexp(a, b) = log(exp(a) + exp(b)), printed as the overflow-free ``_logaddexp``.

    d/da = exp(a - logaddexp(a, b)), which stays finite where exp(a) would overflow.
    """

    nargs = 2

    def fdiff(self, argindex=1):
        if argindex not in (1, 2):
            raise ArgumentIndexError(self, argindex)
        return sympy.exp(self.args[argindex - 1] - self)

    def _eval_mpmath(self):
        return mp_logaddexp, self.args

    def _eval_rewrite_as_log(self, a, b, **kwargs):
        return sympy.log(sympy.exp(a) + sympy.exp(b))

    _eval_rewrite_as_exp = _eval_rewrite_as_log
    _eval_is_extended_real = _real_args


class log1pexp(Function):
    """log1pexp(x) = log(1 + exp(x)) (softplus), printed as the stable ``_log1pexp``.

    d/dx = exp(x - log1pexp(x)), the logistic function.
    """

    nargs = 1

    def fdiff(self, argindex=1):
        if argindex != 1:
            raise ArgumentIndexError(self, argindex)
        return sympy.exp(self.args[0] - self)

    def _eval_mpmath(self):
        return mp_log1pexp, self.args

    def _eval_rewrite_as_log(self, x, **kwargs):
        return sympy.log(1 + sympy.exp(x))

    _eval_rewrite_as_exp = _eval_rewrite_as_log
    _eval_is_extended_real = _real_args


class log_ndtr(Function):
    """log_ndtr(x) = log Phi(x) = log(erfc(-x/sqrt(2))/2), printed as ``_log_ndtr``.

    Accurate for x -> -inf (Gaussian tail asymptotics) and x -> +inf (log1p of the tail).
    d/dx = exp(-x**2/2 - log_ndtr(x))/sqrt(2*pi), the inverse Mills ratio.
    """

    nargs = 1

    def fdiff(self, argindex=1):
        if argindex != 1:
            raise ArgumentIndexError(self, argindex)
        x = self.args[0]
        return sympy.exp(-x**2 / 2 - self) / sympy.sqrt(2 * S.Pi)

    def _eval_mpmath(self):
        return mp_log_ndtr, self.args

    def _eval_rewrite_as_erfc(self, x, **kwargs):
        return sympy.log(sympy.erfc(-x / sympy.sqrt(2)) / 2)

    _eval_rewrite_as_log = _eval_rewrite_as_erfc
    _eval_is_extended_real = _real_args


# --------------------------------------------------------------------------------------
# The whitelist
# --------------------------------------------------------------------------------------

# sympy function class -> (numba callable, mpmath callable); one positional call each.
FUNCTIONS = {
    sympy.exp: ("math.exp", "mpmath.exp"),
    sympy.log: ("math.log", "mpmath.log"),
    log1p: ("math.log1p", "mpmath.log1p"),
    expm1: ("math.expm1", "mpmath.expm1"),
    sympy.sin: ("math.sin", "mpmath.sin"),
    sympy.cos: ("math.cos", "mpmath.cos"),
    sympy.tan: ("math.tan", "mpmath.tan"),
    sympy.asin: ("math.asin", "mpmath.asin"),
    sympy.acos: ("math.acos", "mpmath.acos"),
    sympy.atan: ("math.atan", "mpmath.atan"),
    sympy.atan2: ("math.atan2", "mpmath.atan2"),
    sympy.sinh: ("math.sinh", "mpmath.sinh"),
    sympy.cosh: ("math.cosh", "mpmath.cosh"),
    sympy.tanh: ("math.tanh", "mpmath.tanh"),
    sympy.asinh: ("math.asinh", "mpmath.asinh"),
    sympy.acosh: ("math.acosh", "mpmath.acosh"),
    sympy.atanh: ("math.atanh", "mpmath.atanh"),
    sympy.erf: ("math.erf", "mpmath.erf"),
    sympy.erfc: ("math.erfc", "mpmath.erfc"),
    sympy.gamma: ("math.gamma", "mpmath.gamma"),
    sympy.loggamma: ("math.lgamma", "mpmath.loggamma"),
    sympy.Abs: ("abs", "abs"),
    sympy.sign: ("_sign", "_sign"),
    sympy.Heaviside: ("_heaviside", "_heaviside"),
    sympy.Max: ("_fmax", "_fmax"),
    sympy.Min: ("_fmin", "_fmin"),
    logaddexp: ("_logaddexp", "_logaddexp"),
    log1pexp: ("_log1pexp", "_log1pexp"),
    log_ndtr: ("_log_ndtr", "_log_ndtr"),
}

_ALLOWED = (
    sympy.Symbol, sympy.Integer, sympy.Rational, sympy.Float,
    sympy.core.numbers.Infinity, sympy.core.numbers.NegativeInfinity, sympy.core.numbers.NaN,
    sympy.core.numbers.Pi, sympy.core.numbers.Exp1, sympy.core.numbers.EulerGamma,
    sympy.Add, sympy.Mul, sympy.Pow, Piecewise, sympy.functions.elementary.piecewise.ExprCondPair,
    Relational, And, Or, Not, BooleanTrue, BooleanFalse,
)


def _describe(node) -> str:
    if isinstance(node, AppliedUndef):
        return f"undefined function '{node.func.__name__}'"
    if isinstance(node, sympy.Function):
        return f"function '{node.func.__name__}'"
    return f"'{type(node).__name__}' ({node})"


def check_supported(expr, where: str = "expression") -> None:
    """Raise CodegenError naming the first object in ``expr`` outside the whitelist.

    Walks the expression as a DAG (shared subtrees visited once).
    """
    seen = set()
    stack = [expr]
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        if type(node) not in FUNCTIONS and not isinstance(node, _ALLOWED):
            raise CodegenError(
                f"{where}: unsupported {_describe(node)}; supported functions are "
                + ", ".join(sorted(f.__name__ for f in FUNCTIONS)))
        stack.extend(node.args)


# --------------------------------------------------------------------------------------
# Names, common subexpressions, docstrings
# --------------------------------------------------------------------------------------

# Names the generated modules use themselves; sanitised user symbols never take them.
RESERVED = frozenset(keyword.kwlist) | {
    "math", "mpmath", "njit", "abs", "range", "len", "float", "list", "ValueError",
    "nodes", "p", "out", "True", "False", "None",
}


def _ascii(name: str) -> str:
    """Spell non-ASCII letters by their Unicode name: 'χ' -> 'chi'."""
    out = []
    for ch in name:
        if ch.isascii():
            out.append(ch)
        else:
            word = unicodedata.name(ch, "").split(" ")[-1].lower()
            out.append(f"_{word}_" if word.isalpha() else "_")
    return "".join(out)


def local_names(symbols) -> dict:
    """Map each symbol to a distinct, readable Python identifier (never starting with _)."""
    names, taken = {}, set(RESERVED)
    for s in symbols:
        base = re.sub(r"_+", "_", re.sub(r"[^0-9A-Za-z_]", "_", _ascii(s.name))).strip("_") or "s"
        if base[0].isdigit():
            base = "s" + base
        candidates = [base, base + "_"] + [f"{base}_{k}" for k in range(2, len(taken) + 3)]
        name = next(c for c in candidates if c not in taken)
        names[s] = name
        taken.add(name)
    return names


def _outer_piecewise(outputs) -> dict:
    """Each outermost Piecewise in ``outputs`` -> a fresh Dummy (shared subtrees once)."""
    found, seen, stack = {}, set(), list(reversed(outputs))
    while stack:
        e = stack.pop()
        if e in seen:
            continue
        seen.add(e)
        if isinstance(e, Piecewise):
            found.setdefault(e, Dummy("pw"))
        else:
            stack.extend(reversed(e.args))
    return found


def cse_plan(outputs):
    """Common subexpressions across ``outputs``: (assignments, reduced_outputs, names).

    Each Piecewise is kept whole (assigned to a ``_pwN`` local before the CSE
    temporaries ``_cN``), so a branch's expressions are only evaluated when the branch is
    taken: CSE never hoists, say, ``1/x`` out of ``Piecewise((sin(x)/x, Ne(x, 0)), (1, True))``.
    ``names`` maps the new Dummy symbols to their local names.
    """
    pieces = _outer_piecewise(outputs)
    hidden = [e.xreplace(pieces) for e in outputs]
    replacements, reduced = sympy.cse(
        hidden, symbols=sympy.numbered_symbols("c", cls=Dummy), order="canonical")
    names = {}
    assignments = []
    for i, (pw, d) in enumerate(pieces.items()):
        names[d] = f"_pw{i}"
        assignments.append((d, pw))
    for i, (d, e) in enumerate(replacements):
        names[d] = f"_c{i}"
        assignments.append((d, e))
    return assignments, list(reduced), names


def docstring(text: str, indent: str = "    ") -> str:
    """A triple-quoted docstring block for ``text`` (backslashes and quotes escaped)."""
    text = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"').strip("\n")
    body = "\n".join((indent + line).rstrip() for line in text.splitlines())
    return f'{indent}"""{body.lstrip()}\n{indent}"""'


# --------------------------------------------------------------------------------------
# Printers
# --------------------------------------------------------------------------------------

class _KernelPrinter(PythonCodePrinter):
    """Shared printing rules; subclasses choose literals and the function column."""

    _column = 0          # which entry of FUNCTIONS to use
    _sqrt = ""

    def __init__(self, names: dict):
        super().__init__({"fully_qualified_modules": True, "strict": True})
        self._names = dict(names)

    def doprint_expr(self, expr, where: str = "expression") -> str:
        check_supported(expr, where)
        return self._print(expr)

    # literals -------------------------------------------------------------------------
    def _print_Integer(self, expr):
        raise NotImplementedError

    def _int_exponent(self, exp) -> str:
        """An integer exponent prints as an integer (float base ** int stays float)."""
        return str(int(exp)) if int(exp) >= 0 else f"({int(exp)})"

    _print_Zero = _print_One = _print_NegativeOne = lambda self, e: self._print_Integer(e)
    _print_Half = lambda self, e: self._print_Rational(e)
    _print_BooleanTrue = lambda self, e: "True"
    _print_BooleanFalse = lambda self, e: "False"

    def _print_ComplexInfinity(self, expr):
        raise CodegenError("complex infinity (zoo) cannot be printed")

    def _print_ImaginaryUnit(self, expr):
        raise CodegenError("complex values (I) cannot be printed")

    # symbols --------------------------------------------------------------------------
    def _print_Symbol(self, expr):
        try:
            return self._names[expr]
        except KeyError:
            raise CodegenError(f"undeclared symbol '{expr}' in generated code") from None

    _print_Dummy = _print_Symbol

    # structure ------------------------------------------------------------------------
    def _print_Pow(self, expr, rational=False):
        if expr.exp.is_Integer:
            base = self.parenthesize(expr.base, PRECEDENCE["Pow"], strict=True)
            return f"{base}**{self._int_exponent(expr.exp)}"
        return self._hprint_Pow(expr, rational=False, sqrt=self._sqrt)

    def _print_Piecewise(self, expr):
        if expr.args[-1].cond is not S.true:
            raise CodegenError(
                f"Piecewise without a default (True) branch: {expr}; "
                "add a final (value, True) pair")
        text = self._print(expr.args[-1].expr)
        for pair in reversed(expr.args[:-1]):
            cond = self._print(pair.cond)
            if not isinstance(pair.cond, Relational):
                cond = f"({cond})"
            text = f"({self._print(pair.expr)} if {cond} else {text})"
        return text

    def _print(self, expr, **kwargs):
        spec = FUNCTIONS.get(type(expr))
        if spec is None:
            return super()._print(expr, **kwargs)
        func = spec[self._column]
        args = [self._print(a) for a in expr.args]
        if func in ("_fmax", "_fmin"):
            text = args[-1]
            for a in reversed(args[:-1]):
                text = f"{func}({a}, {text})"
            return text
        return f"{func}({', '.join(args)})"


class NumbaPrinter(_KernelPrinter):
    """Float-only Python for ``numba.njit`` (functions from ``math``)."""

    _column = 0
    _sqrt = "math.sqrt"

    def _float(self, value) -> str:
        try:
            f = float(value)
        except OverflowError:
            raise CodegenError(f"literal {value} does not fit a float64") from None
        if f != f or f in (float("inf"), float("-inf")):
            raise CodegenError(f"literal {value} does not fit a float64")
        return repr(f)

    def parenthesize(self, item, level, strict=False):
        if isinstance(item, (sympy.Rational, sympy.Float)) and item >= 0:
            return self._print(item)       # one float literal needs no parentheses
        return super().parenthesize(item, level, strict)

    def _print_Integer(self, expr):
        return self._float(expr)

    def _print_Rational(self, expr):
        return self._float(expr)

    def _print_Float(self, expr):
        return self._float(expr)

    def _print_Pi(self, expr):
        return "math.pi"

    def _print_Exp1(self, expr):
        return "math.e"

    def _print_EulerGamma(self, expr):
        return repr(float(expr))

    def _print_Infinity(self, expr):
        return "math.inf"

    def _print_NegativeInfinity(self, expr):
        return "(-math.inf)"

    def _print_NaN(self, expr):
        return "math.nan"


class MpmathPrinter(_KernelPrinter):
    """Exact-literal Python for mpmath; precision comes from the caller's ``workdps``."""

    _column = 1
    _sqrt = "mpmath.sqrt"

    def _print_Integer(self, expr):
        return f"mpmath.mpf({int(expr)})"

    def _print_Rational(self, expr):
        return f"mpmath.mpf({expr.p})/mpmath.mpf({expr.q})"

    def _print_Float(self, expr):
        # the exact binary value sympy holds, as evalf uses it
        sign, man, exp, bc = expr._mpf_
        return f"mpmath.mpf(({int(sign)}, {int(man)}, {int(exp)}, {int(bc)}))"

    def _print_Pi(self, expr):
        return "mpmath.pi"

    def _print_Exp1(self, expr):
        return "mpmath.e"

    def _print_EulerGamma(self, expr):
        return "mpmath.euler"

    def _print_Infinity(self, expr):
        return "mpmath.inf"

    def _print_NegativeInfinity(self, expr):
        return "(-mpmath.inf)"

    def _print_NaN(self, expr):
        return "mpmath.nan"


def scalar_module_source(exprs: dict, args, *, printer_cls, header: str,
                         decorator: str | None = None, arg_setup: str | None = None,
                         doc_suffix: str = "") -> str:
    """Source of plain scalar functions ``name(*args)``, one per entry of ``exprs``, shared
    by the backends: ``printer_cls`` prints the expressions, ``decorator`` (a line) goes
    above each def, ``arg_setup`` (a format string with {name}) converts each argument,
    ``doc_suffix`` ends each docstring, ``header`` starts the module."""
    names = local_names(tuple(args))
    arglist = ", ".join(names[a] for a in args)
    blocks = []
    for fname, expr in exprs.items():
        assignments, (out,), temps = cse_plan([expr])
        printer = printer_cls({**names, **temps})
        where = f"function '{fname}'"
        text = str(expr)
        text = text if len(text) <= 300 else text[:300] + " ..."
        lines = [decorator] if decorator else []
        lines += [f"def {fname}({arglist}):",
                  docstring(f"{fname}({', '.join(str(a) for a in args)}) = {text}{doc_suffix}")]
        if arg_setup:
            lines += [arg_setup.format(name=names[a]) for a in args]
        lines += [f"    {temps[s]} = {printer.doprint_expr(e, where)}" for s, e in assignments]
        lines.append(f"    return {printer.doprint_expr(out, where)}")
        blocks.append("\n".join(lines))
    return f"{header}\n\n" + "\n\n\n".join(blocks) + "\n"
