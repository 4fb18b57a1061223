"""Shared test fixtures."""
import importlib.util
import pathlib

import pytest

BENCHMARKS = pathlib.Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture
def bench_script():
    """Loader for a script in benchmarks/ (not a package): bench_script("name") imports
    benchmarks/name.py from its path and returns the module."""
    def load(name):
        spec = importlib.util.spec_from_file_location(f"{name}_script", BENCHMARKS / f"{name}.py")
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        return mod
    return load
