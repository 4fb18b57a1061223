"""Code generation: sympy expressions -> cached numba kernels and their mpmath twin.

    bundle = compile_groups([KernelGroup(...), ...], backend="numba", tag="model")
    bundle.NAME(nodes, p, out); bundle.NAME_point(x, p, out)

See ``bundle`` for the specs, ``printer`` for what can be printed, ``cache`` for where
the generated files live.
"""
from .bundle import KernelBundle, KernelGroup, clear_memory_cache, compile_groups, scalar_functions
from .cache import CODEGEN_VERSION, cache_dir
from .printer import CodegenError, log1pexp, log_ndtr, logaddexp

__all__ = [
    "KernelGroup", "KernelBundle", "compile_groups", "scalar_functions", "cache_dir",
    "clear_memory_cache", "CODEGEN_VERSION", "CodegenError", "logaddexp", "log1pexp",
    "log_ndtr",
]
