"""DerivedModel -> compiled kernels (numba, with an mpmath twin from the same expressions).

Three kernel groups per derived model, all with the parameter vector

    p = (fields..., order parameters..., controls...)              [site]
    p = (order parameters..., controls...)                          [fields]
    p = (order parameters..., controls..., f, E_0..E_K-1, P_...)   [assemble]

* ``site``    : node x; rows H, dH/dx, d2H/dx2, O_1..O_K (the observables of the equations);
* ``fields``  : mean (A, B) and covariance (C_AA, C_AB, C_BB) of the Gaussian fields;
* ``assemble``: the residuals dPhi/dtheta_k, Phi = G + E f, and (finite beta) the energy per
  site e = -dPhi/dbeta, from the Gaussian averages E f, E_k = E<O_k>, P_ij = E[<O_i><O_j>].

Derivations are cached on disk (pickled sympy objects) under the code-generation cache,
keyed by the model's canonical form and the engine version, so a warm start does no sympy.
"""
from __future__ import annotations

import functools
import hashlib
import os
import pickle
import sys
from dataclasses import dataclass

import sympy as sp

from .codegen import KernelGroup, cache_dir, compile_groups
from .derivation import DerivedModel, derive, paramagnetic_branch
from .model import Model
from .symbols import beta, x

#: bump when the derivation changes what it produces
ENGINE_VERSION = "2"


@dataclass(frozen=True)
class CompiledModel:
    """A derived model with its compiled kernels (one per backend)."""

    derived: DerivedModel
    backend: str
    bundle: object
    n_obs: int
    pairs: tuple[tuple[int, int], ...]

    @property
    def site(self):
        return self.bundle.site

    @property
    def site_point(self):
        return self.bundle.site_point

    @property
    def n_residuals(self) -> int:
        return len(self.derived.equations)

    def param_vector_names(self) -> tuple[str, ...]:
        d = self.derived
        return tuple(s.name for s in d.fields + d.order_params + d.controls)


def kernel_groups(d: DerivedModel) -> list[KernelGroup]:
    """The three kernel groups of :mod:`theory.kernels` for a derived model."""
    H = d.H
    Hx = sp.diff(H, x)
    Hxx = sp.diff(Hx, x)
    site_params = d.fields + d.order_params + d.controls
    site = KernelGroup(
        "site", (H, Hx, Hxx) + d.observables, ("H", "H_x", "H_xx") + d.observable_names,
        node_args=(x,), params=site_params,
        doc=f"Site Hamiltonian, its x-derivatives and the observables of the saddle-point "
            f"equations. {d.provenance}")
    base = d.order_params + d.controls
    cov = d.field_cov
    fields = KernelGroup(
        "fields", tuple(d.field_mean) + (cov[0][0], cov[0][1], cov[1][1]),
        ("mean_A", "mean_B", "C_AA", "C_AB", "C_BB"), params=base,
        doc="Mean and covariance of the Gaussian fields (A, B).")
    exprs, E, P = d.equation_exprs()
    f = sp.Symbol("Ef")
    outputs = list(exprs) + [d.G + f]
    names = [f"dPhi_d{v.name}" for v in d.order_params] + ["Phi"]
    if d.energy is not None:
        outputs.append(-d.energy.expr(E, P))
        names.append("energy")
    pair_syms = tuple(P[ij] for ij in d.pairs)
    assemble = KernelGroup(
        "assemble", tuple(outputs), tuple(names), params=base + (f,) + tuple(E) + pair_syms,
        doc="Residuals dPhi/dtheta, Phi = G + E f and the energy per site from Gaussian averages.")
    return [site, fields, assemble]


def _model_key(model: Model, kind: str, branch: str) -> str:
    canon = repr((sp.srepr(model.phi), sp.srepr(model.U), model.mean_coupling,
                  model.quenched_input, kind, branch, ENGINE_VERSION, sp.__version__,
                  sys.version_info[:2]))
    return hashlib.sha256(canon.encode()).hexdigest()


def derived_model(model: Model, kind: str = "finite", branch: str = "full") -> DerivedModel:
    """The derivation of ``model`` for ``kind`` ("finite", "laplace", "chaotic") and
    ``branch`` ("full" or "paramagnetic", i.e. Q = R = Qh = Rh = 0), cached on disk."""
    if kind not in ("finite", "laplace", "chaotic"):
        raise ValueError(f"kind must be 'finite', 'laplace' or 'chaotic', got {kind!r}")
    if branch not in ("full", "paramagnetic"):
        raise ValueError(f"branch must be 'full' or 'paramagnetic', got {branch!r}")
    return _derived_cached(model, kind, branch)


@functools.lru_cache(maxsize=64)
def _derived_cached(model: Model, kind: str, branch: str) -> DerivedModel:
    path = os.path.join(cache_dir(), "derivations", _model_key(model, kind, branch) + ".pkl")
    if os.path.exists(path):
        try:
            with open(path, "rb") as fh:
                return pickle.load(fh)
        except Exception:  # a truncated file from a killed process: derive again
            pass
    d = derive(model)
    if branch == "paramagnetic":
        d = paramagnetic_branch(d)
    if kind != "finite":
        if kind == "laplace" and branch == "paramagnetic":
            raise ValueError("the Laplace scaling has no separate paramagnetic branch: "
                             "use kind='laplace', branch='full' (q = Q = 0 solves it)")
        d = d.zero_temperature(kind)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "wb") as fh:
        pickle.dump(d, fh)
    os.replace(tmp, path)
    return d


@functools.lru_cache(maxsize=64)
def compile_model(model: Model, kind: str = "finite", branch: str = "full",
                  backend: str = "numba") -> CompiledModel:
    """Derive (cached), generate and compile the kernels of ``model``."""
    d = derived_model(model, kind, branch)
    tag = f"{kind}_{branch}"
    bundle = compile_groups(kernel_groups(d), backend=backend, tag=tag)
    return CompiledModel(d, backend, bundle, len(d.observables), d.pairs)


__all__ = ["CompiledModel", "compile_model", "derived_model", "kernel_groups", "beta"]
