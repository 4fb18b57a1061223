"""mpmath backend: writes the source of the arbitrary-precision twin of a kernel module.

For a group ``NAME`` the module defines ``NAME(x, p) -> list[mpmath.mpf]`` (``x`` may be
None when the group has no node argument). Literals are exact and nothing touches
mpmath's global precision: the caller chooses it with ``with mpmath.workdps(d):``.

The helpers used by the generated code (Heaviside, sign, NaN-propagating max/min and the
stable log-sum-exp / softplus / log Phi) are the functions below and in ``printer``, the
same ones sympy's ``evalf`` uses for ``logaddexp``, ``log1pexp`` and ``log_ndtr``.
"""
from __future__ import annotations

import mpmath

from .numba_backend import BANNER
from .printer import MpmathPrinter, cse_plan, docstring, local_names, scalar_module_source


def heaviside(x, h0):
    """Heaviside step with value h0 at 0, NaN for NaN."""
    if x > 0:
        return mpmath.mpf(1)
    if x < 0:
        return mpmath.mpf(0)
    if x == 0:
        return mpmath.mpf(h0)
    return mpmath.nan


def sign(x):
    """sign(x) in (-1, 0, 1), NaN for NaN."""
    if x > 0:
        return mpmath.mpf(1)
    if x < 0:
        return mpmath.mpf(-1)
    if x == 0:
        return mpmath.mpf(0)
    return mpmath.nan


def fmax(a, b):
    """max(a, b), NaN if either is NaN."""
    if mpmath.isnan(a) or mpmath.isnan(b):
        return mpmath.nan
    return a if a > b else b


def fmin(a, b):
    """min(a, b), NaN if either is NaN."""
    if mpmath.isnan(a) or mpmath.isnan(b):
        return mpmath.nan
    return a if a < b else b


_IMPORTS = """import mpmath

from theory.codegen.mpmath_backend import fmax as _fmax, fmin as _fmin
from theory.codegen.mpmath_backend import heaviside as _heaviside, sign as _sign
from theory.codegen.printer import mp_log1pexp as _log1pexp
from theory.codegen.printer import mp_log_ndtr as _log_ndtr
from theory.codegen.printer import mp_logaddexp as _logaddexp
"""


def _header(key: str, what: str) -> str:
    return f'{BANNER}\n# key: {key}\n"""{what}"""\n{_IMPORTS}'


def group_source(group) -> str:
    """``NAME(x, p) -> list[mpf]`` for one KernelGroup, as source text."""
    node = group.node_args[0] if group.node_args else None
    names = local_names(tuple(group.node_args) + tuple(group.params))
    assignments, outputs, temps = cse_plan(group.outputs)
    names.update(temps)
    printer = MpmathPrinter(names)
    where = f"group '{group.name}'"
    P = len(group.params)
    params = ", ".join(f"p[{j}]={s}" for j, s in enumerate(group.params)) or "(none)"
    node_doc = (f"x : value of the node argument {node} (anything mpmath.mpf accepts)"
                if node is not None else "x : ignored (no node argument), may be None")
    outs = "\n".join(f"    {k}: {n}" for k, n in enumerate(group.output_names))
    doc = f"\n\n{group.doc.strip()}" if group.doc.strip() else ""
    text = (f"Group '{group.name}' at one point, at the caller's mpmath precision.{doc}\n\n"
            f"Arguments, in order:\n    {node_doc}\n    p : sequence, parameters {params}\n"
            f"Returns list[mpmath.mpf], in order:\n{outs}")
    lines = [f"def {group.name}(x, p):", docstring(text),
             f"    if len(p) != {P}:",
             f'        raise ValueError("{group.name}: p must hold {P} parameters")']
    lines += [f"    {names[s]} = mpmath.mpf(p[{j}])" for j, s in enumerate(group.params)]
    if node is not None:
        lines.append(f"    {names[node]} = mpmath.mpf(x)")
    lines += [f"    {names[s]} = {printer.doprint_expr(e, where)}" for s, e in assignments]
    lines.append("    return [")
    lines += [f"        {printer.doprint_expr(e, where)}," for e in outputs]
    lines.append("    ]")
    return "\n".join(lines)


def module_source(groups, key: str, tag: str) -> str:
    """Full source of the mpmath twin for ``groups``."""
    what = f"mpmath kernels for '{tag}': " + ", ".join(g.name for g in groups) + "."
    body = "\n\n\n".join(group_source(g) for g in groups)
    return f"{_header(key, what)}\n\n{body}\n"


def scalar_source(exprs: dict, args, key: str) -> str:
    """Source of plain scalar mpmath functions ``name(*args) -> mpf``."""
    what = "mpmath scalar functions: " + ", ".join(exprs) + "."
    return scalar_module_source(exprs, args, printer_cls=MpmathPrinter, header=_header(key, what),
                                arg_setup="    {name} = mpmath.mpf({name})",
                                doc_suffix="\n\nAt the caller's mpmath precision; returns mpmath.mpf.")
