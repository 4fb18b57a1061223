"""Whitelist parser for user formula strings (transfer functions phi(x), confinements U(x)).

User text is never passed to ``eval`` or to ``sympy.sympify``: it is parsed with Python's
``ast`` module and every node is translated by hand, so only the names listed in
:data:`FUNCTIONS` and the symbols the caller allows can appear.

>>> parse_formula("tanh(x)", allowed=("x",))
tanh(x)
"""
from __future__ import annotations

import ast
import math

import sympy as sp

from .symbols import SYMBOLS

#: Functions a formula may call, with the sympy object each name maps to.
FUNCTIONS: dict[str, object] = {
    "tanh": sp.tanh,
    "sinh": sp.sinh,
    "cosh": sp.cosh,
    "exp": sp.exp,
    "log": sp.log,
    "sqrt": sp.sqrt,
    "erf": sp.erf,
    "erfc": sp.erfc,
    "atan": sp.atan,
    "arctan": sp.atan,
    "sin": sp.sin,
    "cos": sp.cos,
    "abs": sp.Abs,
    "Abs": sp.Abs,
    "max": sp.Max,
    "Max": sp.Max,
    "min": sp.Min,
    "Min": sp.Min,
    "sign": sp.sign,
    "Heaviside": sp.Heaviside,
}

#: Named constants a formula may use.
CONSTANTS: dict[str, sp.Expr] = {"pi": sp.pi, "E": sp.E}

_BINOPS = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.Pow: lambda a, b: a**b,
}


class FormulaError(ValueError):
    """A formula string that is not a valid expression in the allowed names."""


def parse_formula(text: str, allowed: tuple[str, ...] = ("x",)) -> sp.Expr:
    """Parse ``text`` into a sympy expression using only whitelisted names.

    Parameters
    ----------
    text:
        The formula, in Python syntax (``**`` for powers), e.g. ``"x/(1+abs(x))"``.
    allowed:
        Names of symbols the formula may contain; each maps to the project's symbol of
        that name (:data:`theory.symbols.SYMBOLS`), so ``eta`` in ``U`` is the model's eta.

    Raises
    ------
    FormulaError
        For syntax errors, unknown names or functions (the message lists what is
        allowed), attribute access, keyword arguments, or non-finite numbers.
    """
    if not isinstance(text, str) or not text.strip():
        raise FormulaError("formula must be a non-empty string")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise FormulaError(f"cannot parse formula {text!r}: {exc.msg}") from None
    symbols = {}
    for name in allowed:
        if name not in SYMBOLS:
            raise FormulaError(f"unknown symbol {name!r} requested as allowed")
        symbols[name] = SYMBOLS[name]
    expr = _translate(tree.body, symbols, text)
    return sp.sympify(expr)


def _translate(node: ast.AST, symbols: dict, text: str):
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise FormulaError(f"only numbers are allowed as constants in {text!r}, got {value!r}")
        if isinstance(value, float):
            if not math.isfinite(value):
                raise FormulaError(f"non-finite number in {text!r}")
            return sp.Rational(repr(value)) if value == float(repr(value)) else sp.Float(value)
        return sp.Integer(value)
    if isinstance(node, ast.Name):
        if node.id in symbols:
            return symbols[node.id]
        if node.id in CONSTANTS:
            return CONSTANTS[node.id]
        if node.id in FUNCTIONS:
            raise FormulaError(f"{node.id!r} is a function: call it, e.g. {node.id}(x)")
        raise FormulaError(
            f"unknown name {node.id!r} in {text!r}; allowed symbols: {sorted(symbols)}, "
            f"constants: {sorted(CONSTANTS)}"
        )
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        return _BINOPS[type(node.op)](
            _translate(node.left, symbols, text), _translate(node.right, symbols, text)
        )
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        operand = _translate(node.operand, symbols, text)
        return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name):
            raise FormulaError(f"only plain function calls are allowed in {text!r}")
        name = node.func.id
        if name not in FUNCTIONS:
            raise FormulaError(
                f"unknown function {name!r} in {text!r}; allowed: {', '.join(sorted(FUNCTIONS))}"
            )
        if node.keywords:
            raise FormulaError(f"keyword arguments are not allowed in {text!r}")
        args = [_translate(a, symbols, text) for a in node.args]
        if not args:
            raise FormulaError(f"{name}() needs an argument in {text!r}")
        return FUNCTIONS[name](*args)
    raise FormulaError(f"unsupported syntax {type(node).__name__} in {text!r}")
