"""Kernel groups in, one compiled bundle out.

A ``KernelGroup`` is a frozen spec: K sympy expressions evaluated together (sharing common
subexpressions), the node argument they are vectorised over, and the scalar parameters in
declared order. ``compile_groups`` turns a list of groups into a ``KernelBundle`` for one
backend ("numba" or "mpmath"), going through the on-disk cache; ``scalar_functions``
does the same for a few plain scalar functions such as phi(x) and phi'(x).
"""
from __future__ import annotations

import keyword
import threading
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Sequence

import sympy

from . import cache, mpmath_backend, numba_backend

BACKENDS = {"numba": numba_backend, "mpmath": mpmath_backend}

# Names a group may not take: the bundle's own attributes and the generated modules' globals.
_TAKEN = {"groups", "key", "module_path", "backend", "tag", "math", "mpmath", "njit"}


def _check_identifier(name, what: str) -> None:
    if (not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name)
            or name.startswith("_") or name in _TAKEN):
        raise ValueError(f"{what} {name!r} must be a Python identifier, not a keyword, "
                         f"not starting with '_' and not one of {sorted(_TAKEN)}")


@dataclass(frozen=True)
class KernelGroup:
    """K expressions evaluated together at the nodes of one argument.

    name         : Python identifier; the kernels are ``name`` and ``name_point``.
    outputs      : the K sympy expressions (common subexpressions shared across them).
    output_names : K names, in the same order, for docstrings and metadata.
    node_args    : () or (x,): the one variable vectorised over quadrature nodes.
    params       : scalar parameters, in the order of the ``p`` array.
    doc          : copied into the generated docstrings.
    """

    name: str
    outputs: tuple[sympy.Expr, ...]
    output_names: tuple[str, ...]
    node_args: tuple[sympy.Symbol, ...] = ()
    params: tuple[sympy.Symbol, ...] = ()
    doc: str = ""

    def __post_init__(self):
        set_ = lambda field, value: object.__setattr__(self, field, value)  # noqa: E731
        set_("outputs", tuple(sympy.sympify(e) for e in self.outputs))
        set_("output_names", tuple(self.output_names))
        set_("node_args", tuple(self.node_args))
        set_("params", tuple(self.params))
        _check_identifier(self.name, "group name")
        if not isinstance(self.doc, str):
            raise ValueError(f"group '{self.name}': doc must be a string")
        if not self.outputs:
            raise ValueError(f"group '{self.name}' has no outputs")
        if len(self.output_names) != len(self.outputs):
            raise ValueError(f"group '{self.name}': {len(self.outputs)} outputs but "
                             f"{len(self.output_names)} output_names")
        if not all(isinstance(n, str) and n for n in self.output_names):
            raise ValueError(f"group '{self.name}': output_names must be non-empty strings")
        if len(set(self.output_names)) != len(self.output_names):
            raise ValueError(f"group '{self.name}': duplicate output_names {self.output_names}")
        if len(self.node_args) > 1:
            raise ValueError(f"group '{self.name}': at most one node argument, "
                             f"got {self.node_args}")
        args = self.node_args + self.params
        if not all(isinstance(s, sympy.Symbol) for s in args):
            raise ValueError(f"group '{self.name}': node_args and params must be sympy Symbols")
        if len(set(args)) != len(args):
            raise ValueError(f"group '{self.name}': a symbol is declared twice in "
                             f"node_args + params {args}")
        for name, e in zip(self.output_names, self.outputs):
            if not isinstance(e, sympy.Expr):
                raise ValueError(f"group '{self.name}': output '{name}' is not a sympy "
                                 f"expression: {e!r}")
            undeclared = e.free_symbols - set(args)
            if undeclared:
                raise ValueError(
                    f"group '{self.name}': output '{name}' has undeclared symbols "
                    f"{sorted(str(s) for s in undeclared)} (declared: node_args "
                    f"{[str(s) for s in self.node_args]}, params {[str(s) for s in self.params]})")

    def canonical(self) -> list:
        """The inputs that define the generated code, for the cache key."""
        return [self.name, [sympy.srepr(e) for e in self.outputs],
                [sympy.srepr(s) for s in self.node_args], [sympy.srepr(s) for s in self.params],
                list(self.output_names), self.doc]


class KernelBundle:
    """The compiled kernels of a list of groups for one backend.

    Attributes: ``NAME`` (and for numba ``NAME_point``) per group, ``groups``,
    ``backend``, ``tag``, ``key`` (cache hash) and ``module_path`` (the generated file).
    Pickles as its inputs, so a worker process rebuilds it from its own cache.
    """

    def __init__(self, groups, backend, tag, key, module, module_path):
        self.groups = tuple(groups)
        self.backend = backend
        self.tag = tag
        self.key = key
        self.module_path = module_path
        for g in self.groups:
            setattr(self, g.name, getattr(module, g.name))
            if backend == "numba":
                setattr(self, g.name + "_point", getattr(module, g.name + "_point"))

    def __reduce__(self):
        return compile_groups, (self.groups, self.backend, self.tag)

    def __repr__(self):
        names = ", ".join(g.name for g in self.groups)
        return f"KernelBundle({self.backend!r}, tag={self.tag!r}, groups=[{names}], key={self.key[:16]})"


_bundles: dict = {}
_lock = threading.Lock()


def _backend(backend: str):
    try:
        return BACKENDS[backend]
    except KeyError:
        raise ValueError(f"unknown backend {backend!r}; choose from {sorted(BACKENDS)}") from None


def compile_groups(groups: Sequence[KernelGroup], backend: str = "numba",
                   tag: str = "model") -> KernelBundle:
    """Generate (or load from the cache) the kernels of ``groups`` for ``backend``."""
    gen = _backend(backend)
    groups = tuple(groups)
    if not groups or not all(isinstance(g, KernelGroup) for g in groups):
        raise ValueError("compile_groups needs a non-empty sequence of KernelGroup")
    memo = (groups, backend, tag, str(cache.cache_dir()))
    with _lock:
        bundle = _bundles.get(memo)
    if bundle is not None:
        return bundle
    names = [g.name for g in groups]
    if backend == "numba":
        names += [g.name + "_point" for g in groups]
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate kernel names in {names}")
    key = cache.make_key({"kind": "groups", "backend": backend, "tag": tag,
                          "groups": [g.canonical() for g in groups]})
    module, path = cache.load(tag, backend, key, lambda: gen.module_source(groups, key, tag))
    bundle = KernelBundle(groups, backend, tag, key, module, path)
    with _lock:
        _bundles[memo] = bundle
    return bundle


def scalar_functions(exprs: dict, args: tuple, backend: str = "numba") -> SimpleNamespace:
    """Plain scalar functions ``name(*args)``: njit(cache=True) floats, or mpmath mpf.

    ``exprs`` maps function names to sympy expressions in the symbols ``args``.
    """
    gen = _backend(backend)
    exprs = {name: sympy.sympify(e) for name, e in exprs.items()}
    args = tuple(args)
    if not exprs:
        raise ValueError("scalar_functions needs at least one expression")
    if not all(isinstance(a, sympy.Symbol) for a in args) or len(set(args)) != len(args):
        raise ValueError(f"args must be distinct sympy Symbols, got {args}")
    for name, e in exprs.items():
        _check_identifier(name, "function name")
        if not isinstance(e, sympy.Expr):
            raise ValueError(f"function '{name}' is not a sympy expression: {e!r}")
        undeclared = e.free_symbols - set(args)
        if undeclared:
            raise ValueError(f"function '{name}' has undeclared symbols "
                             f"{sorted(str(s) for s in undeclared)} (args: {[str(a) for a in args]})")
    memo = ("scalar", tuple(exprs.items()), args, backend, str(cache.cache_dir()))
    with _lock:
        found = _bundles.get(memo)
    if found is not None:
        return found
    key = cache.make_key({"kind": "scalar", "backend": backend,
                          "functions": [[n, sympy.srepr(e)] for n, e in exprs.items()],
                          "args": [sympy.srepr(a) for a in args]})
    module, _ = cache.load("scalar", backend, key, lambda: gen.scalar_source(exprs, args, key))
    found = SimpleNamespace(**{name: getattr(module, name) for name in exprs})
    with _lock:
        _bundles[memo] = found
    return found


def clear_memory_cache() -> None:
    """Forget every bundle and module held by this process (the disk cache stays)."""
    with _lock:
        _bundles.clear()
    cache.clear_memory_cache()
