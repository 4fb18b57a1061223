"""On-disk cache of generated kernel modules.

A module lives at ``<cache_dir>/<tag>_<backend>_<key[:16]>/kernels.py``; numba's
``cache=True`` keeps its compiled code in the ``__pycache__`` beside it. The key is the
sha256 of the canonical inputs (srepr of every expression, argument order, names,
backend, tag, library versions, ``CODEGEN_VERSION``), never of generated text, so a
cache hit needs no sympy printing at all.

Files are created once and never replaced: the source is written to a temporary file and
hard-linked into place, so concurrent processes generating the same key (pytest-xdist
workers, a Dask cluster) all end up importing the same complete file.
"""
from __future__ import annotations

import hashlib
import importlib
import importlib.abc
import importlib.util
import json
import os
import platform
import re
import sys
import tempfile
import threading
from pathlib import Path

import mpmath
import numba
import numpy
import sympy

# Bump whenever the generated code changes for the same inputs.
CODEGEN_VERSION = "1"

# Source files written by this process (tests use it to prove a cache hit).
stats = {"generated": 0, "imported": 0}

_modules: dict[str, object] = {}
_lock = threading.RLock()

# Generated modules are importable as ``theory.codegen._generated_<directory>``: numba's
# cache reloads compiled code through the module name, and pickled kernels travel by
# reference to processes that share the cache directory (a Dask LocalCluster).
PREFIX = "theory.codegen._generated_"


class _Finder(importlib.abc.MetaPathFinder):
    """Resolves ``PREFIX + <directory>`` to ``cache_dir()/<directory>/kernels.py``."""

    prefix = PREFIX

    def find_spec(self, fullname, path=None, target=None):
        if not fullname.startswith(PREFIX):
            return None
        file = cache_dir() / fullname[len(PREFIX):] / "kernels.py"
        return importlib.util.spec_from_file_location(fullname, file) if file.is_file() else None


if not any(getattr(f, "prefix", None) == PREFIX for f in sys.meta_path):
    sys.meta_path.append(_Finder())


def cache_dir() -> Path:
    """The cache root: ``$QPOT_CACHE_DIR`` if set, else ``~/.cache/qpot``; created."""
    root = os.environ.get("QPOT_CACHE_DIR") or os.path.join("~", ".cache", "qpot")
    path = Path(root).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def versions() -> dict:
    """Library versions that enter every key."""
    return {
        "codegen": CODEGEN_VERSION,
        "python": platform.python_implementation() + " " + ".".join(map(str, sys.version_info[:3])),
        "sympy": sympy.__version__,
        "numba": numba.__version__,
        "mpmath": mpmath.__version__,
        "numpy": numpy.__version__,
    }


def make_key(payload) -> str:
    """sha256 of a JSON-serialisable description of the canonical inputs plus versions."""
    blob = json.dumps({"inputs": payload, "versions": versions()},
                      sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def module_path(tag: str, backend: str, key: str) -> Path:
    """Where the module for ``key`` lives (not created)."""
    if not re.fullmatch(r"[A-Za-z0-9_-]+", tag):
        raise ValueError(f"tag {tag!r} must use only letters, digits, '_' and '-'")
    return cache_dir() / f"{tag}_{backend}_{key[:16]}" / "kernels.py"


def _write_once(path: Path, source: str) -> None:
    """Create ``path`` with ``source`` atomically; if it already exists, leave it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".kernels-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(source)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        try:
            os.link(tmp, path)          # atomic; fails if another process got there first
        except FileExistsError:
            pass
        except OSError:                 # no hard links on this filesystem
            if not path.exists():
                os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _check_key(path: Path, key: str) -> None:
    with open(path, encoding="utf-8") as f:
        f.readline()
        line = f.readline().strip()
    if line != f"# key: {key}":
        raise RuntimeError(f"{path} holds '{line}', not key {key}; delete the directory")


def load(tag: str, backend: str, key: str, generate):
    """The imported module for ``key``, generating its source with ``generate()`` if absent.

    Returns ``(module, path)``. Repeated calls in one process return the same module.
    """
    path = module_path(tag, backend, key)
    with _lock:
        module = _modules.get(str(path))
        if module is not None:
            return module, path
        if not path.exists():
            _write_once(path, generate())
            stats["generated"] += 1
        _check_key(path, key)
        name = PREFIX + path.parent.name
        stale = sys.modules.get(name)
        if stale is not None and Path(stale.__file__) != path:  # QPOT_CACHE_DIR changed
            del sys.modules[name]
        module = importlib.import_module(name)
        stats["imported"] += 1
        _modules[str(path)] = module
        return module, path


def clear_memory_cache() -> None:
    """Forget the modules imported by this process (files on disk stay)."""
    with _lock:
        _modules.clear()
        for name in [n for n in sys.modules if n.startswith(PREFIX)]:
            del sys.modules[name]
