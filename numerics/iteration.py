"""Damped fixed-point iteration of the saddle-point equations.

theta_{n+1} = (1 - a) theta_n + a T(theta_n), with T the generated fixed-point map of
``theory.replica.iteration`` (order parameters from site averages, conjugates from order
parameters) and a the damping. This is the iteration replica papers (and the published
Monte Carlo solver) use; it converges linearly at best and can settle on a spurious or
unstable solution, so the result is judged like every other solver's: by the residuals of
the full equations (``numerics.saddle.finish``), never by the size of the last step.
"""
from __future__ import annotations

import math

import numpy as np
from tqdm.auto import tqdm

from theory.codegen import KernelGroup, compile_groups
from theory.replica.iteration import fixed_point_map

from .result import SaddleResult
from .saddle import DomainError, Problem, _f_average, _message, _ok, _point_dict, finish


_MAPS: dict = {}


def _map_kernel(compiled):
    """The compiled fixed-point map of a compiled model (kept per model object)."""
    key = id(compiled)
    hit = _MAPS.get(key)
    if hit is not None and hit[0] is compiled:
        return hit[1]
    d = compiled.derived
    variables, T, E, P = fixed_point_map(d)
    pair_syms = tuple(P[ij] for ij in d.pairs)
    group = KernelGroup("fixed_point", T, tuple(f"T_{v.name}" for v in variables),
                        params=tuple(d.order_params) + tuple(d.controls) + tuple(E) + pair_syms,
                        doc=f"Fixed-point map theta = T(theta; E, P). {d.provenance}")
    bundle = compile_groups([group], backend="numba", tag=f"fixedpoint_{d.kind}")
    _MAPS[key] = (compiled, bundle)
    return bundle


def damped_iteration(problem: Problem, x0, *, damping: float = 0.5, tol: float = 1e-10,
                     maxiter: int = 5000, kind: str = "finite", branch: str = "full",
                     progress: bool = False) -> SaddleResult:
    """Iterate theta <- (1 - damping) theta + damping T(theta) from x0.

    Stops when the step is below tol/10 (then the residuals decide success), on a domain
    error (success=False, status 2) or after maxiter steps (success=False, status 1).
    """
    if not 0 < damping <= 1:
        raise ValueError(f"damping must lie in (0, 1], got {damping}")
    theta = np.asarray(x0, dtype=float).copy()
    if theta.shape != (len(problem.names),):
        raise ValueError(f"x0 must have {len(problem.names)} entries {problem.names}, got {theta.shape}")
    bundle = _map_kernel(problem.compiled)
    out = np.zeros((len(theta), 1))
    step = math.inf
    it = 0
    bar = tqdm(total=maxiter, disable=not progress, desc="damped iteration", leave=False)
    for it in range(1, maxiter + 1):
        try:
            if not np.all(np.isfinite(theta)):
                raise DomainError(f"non-finite order parameters {theta}")
            res = problem.averages(theta)
            if not _ok(res):
                raise DomainError(f"quadrature failed: {_message(res)}")
        except DomainError as exc:
            bar.close()
            return SaddleResult(dict(zip(problem.names, map(float, theta))), False, 2,
                                f"damped iteration left the domain after {it - 1} steps: {exc}",
                                nit=it - 1, nfev=problem.nfev, kind=kind, branch=branch,
                                point=_point_dict(problem.point), method="damped")
        p = np.concatenate([problem.base(theta), np.asarray(res.E_avg, dtype=float),
                            np.asarray(getattr(res, "E_pair", ()), dtype=float)])
        bundle.fixed_point(np.zeros(1), p, out)
        new = (1 - damping) * theta + damping * out[:, 0]
        step = float(np.max(np.abs(new - theta)))
        theta = new
        bar.update(1)
        if step < tol / 10:
            break
    bar.close()
    r = finish(problem, theta, success=True, status=0, message="", nit=it, method="damped",
               kind=kind, branch=branch)
    ok = r.status == 0 and r.residual_norm < tol
    if ok:
        msg = f"converged after {it} damped steps: max|residual| = {r.residual_norm:.2e}"
    else:
        msg = (f"not converged after {it} damped steps (last step {step:.2e}): "
               f"max|residual| = {r.residual_norm:.2e} > tol = {tol:g}")
        if r.status == 2:
            msg += f"; {r.message}"
    from dataclasses import replace
    return replace(r, success=ok, status=0 if ok else (r.status or 1), message=msg)


__all__ = ["damped_iteration"]
