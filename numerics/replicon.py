"""Replicon (de Almeida-Thouless) stability of an RS solution at finite beta.

The equations are derived in :mod:`theory.replica.replicon` (step 10): with the site
Hamiltonian H(x; A, B) and its field derivatives O_A = dH/dA, O_B = dH/dB,

    K_{al ga}(A, B) = <H_{al ga}> + <O_al O_ga> - <O_al><O_ga>      (al, ga in {A, B}),
    M_{(al be),(ga de)} = E_{A,B}[ K_{al ga} K_{be de} ],     Lambda = W M,

W the energetic map of the step-3 couplings. Replica symmetry is stable while every
eigenvalue of Lambda stays below 1; ``replicon`` = 1 - max Re eig(Lambda) is reported (> 0
stable, < 0 unstable) with the even and odd blocks separately, and the connected overlap
susceptibility chi_SG = [M (1 - W M)^-1]_{BB,BB}.

Numerics: the Gaussian fields use the same product Gauss-Hermite rule as the solver; at
each node the inner integrals run twice on a generated kernel, first for <O_A>, <O_B>,
then for the moments centred on them (so K, a difference of large numbers at large beta,
keeps its digits). The RS relations Q = E<O_B>^2, Qh = -2 c_y E<O_A>^2,
R = -E[<O_A><O_B>], Rh = 2 c_R E[<O_A><O_B>] (the same W at the RS point) are evaluated as
a built-in check of the solution and of the map (``rs_residual``).
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import numpy as np
import sympy as sp

from theory.codegen import KernelGroup, compile_groups
from theory.model import Model, ModelError, Point, make_model
from theory.replica import replicon as sym
from theory.symbols import g as g_sym, gamma as gamma_sym, x as x_sym

from .gauss import field_rule
from .inner import node_averages
from .maximiser import describe_status
from .saddle import Problem, compiled_for

BASIS = sym.PAIR_BASIS
_EVEN = np.array([[1, 0, 0, 0], [0, 1 / math.sqrt(2), 1 / math.sqrt(2), 0], [0, 0, 0, 1]])
_ODD = np.array([[0, 1 / math.sqrt(2), -1 / math.sqrt(2), 0]])


@dataclass(frozen=True)
class RepliconResult:
    """Replicon analysis of one RS solution (see module docstring).

    eigenvalues: of Lambda (4, complex, sorted by decreasing real part); even/odd: of its
    swap-even 3 x 3 and swap-odd 1 x 1 blocks; replicon = 1 - max Re eigenvalue; stable =
    replicon > 0; chi_sg the connected overlap susceptibility; K_mean = E[K]; rs_residual
    the largest violation of the RS pair relations; quadrature_error the change of
    Lambda's entries under 1.5x the Gauss-Hermite nodes (when refined).
    """

    success: bool
    message: str
    eigenvalues: tuple = ()
    even: tuple = ()
    odd: tuple = ()
    replicon: float = math.nan
    stable: bool | None = None
    chi_sg: float = math.nan
    Lambda: np.ndarray = field(default=None, repr=False)
    M: np.ndarray = field(default=None, repr=False)
    W: np.ndarray = field(default=None, repr=False)
    K_mean: np.ndarray = field(default=None, repr=False)
    rs_residual: float = math.nan
    quadrature_error: float = math.nan
    n_nodes: int = 0

    def as_dict(self) -> dict:
        c = lambda z: [float(np.real(z)), float(np.imag(z))]  # noqa: E731
        return {"success": self.success, "message": self.message,
                "replicon": _f(self.replicon),
                "stable": None if self.stable is None else bool(self.stable),
                "eigenvalues": [c(v) for v in self.eigenvalues],
                "even": [c(v) for v in self.even], "odd": [c(v) for v in self.odd],
                "chi_sg": _f(self.chi_sg), "rs_residual": _f(self.rs_residual),
                "quadrature_error": _f(self.quadrature_error)}


def _f(v):
    v = float(v)
    return v if math.isfinite(v) else str(v)


@functools.lru_cache(maxsize=32)
def _kernels(model: Model):
    cm = compiled_for(model, "finite", "full")
    d = cm.derived
    outputs, names, params = sym.site_outputs(d)
    group = KernelGroup("replicon_site", outputs, names, node_args=(x_sym,), params=params,
                        doc=f"Replicon site kernel (step 10). {d.provenance}")
    bundle = compile_groups([group], backend="numba", tag="replicon")
    W = sym.energetic_map(d.step("3"))
    W_fn = sp.lambdify((g_sym, gamma_sym), W, "numpy")
    return cm, bundle, W_fn


def _pair_tensor(K, w):
    """M[(a b),(c d)] = sum_i w_i K_i[a, c] K_i[b, d] in the basis AA, AB, BA, BB."""
    return np.einsum("i,iac,ibd->abcd", w, K, K).reshape(4, 4)


def _moments(bundle, p_rest, fields, rtol):
    """K at every node: two passes of the inner integrals (means, then centred moments)."""
    m = fields.shape[0]
    cols = np.zeros((m, 4))
    cols[:, :2] = fields
    first = node_averages(bundle.replicon_site_point, bundle.replicon_site, np.concatenate(
        [np.zeros(4), p_rest]), cols, rtol=rtol, n_obs=8)
    cols[:, 2] = first.avg[:, 0]
    cols[:, 3] = first.avg[:, 1]
    second = node_averages(bundle.replicon_site_point, bundle.replicon_site, np.concatenate(
        [np.zeros(4), p_rest]), cols, rtol=rtol, n_obs=8)
    av = second.avg
    mA, mB = av[:, 0] - cols[:, 2], av[:, 1] - cols[:, 3]
    K = np.empty((m, 2, 2))
    K[:, 0, 0] = av[:, 5] + av[:, 2] - mA * mA
    K[:, 0, 1] = K[:, 1, 0] = av[:, 6] + av[:, 3] - mA * mB
    K[:, 1, 1] = av[:, 7] + av[:, 4] - mB * mB
    status = np.bitwise_or(first.status, second.status)
    err = np.maximum(first.err, second.err)
    return K, first.avg[:, :2], status, err


def _lambda(bundle, W, p_rest, mean, L, n_gh, rtol):
    fields, w, _, _, _ = field_rule(mean, L, n_gh)
    K, means, status, err = _moments(bundle, p_rest, fields, rtol)
    M = _pair_tensor(K, w)
    return M, W @ M, K, means, w, status, err


def replicon(model: Model | str, point: Point, solution, *, n_gh: int = 48,
             rtol: float = 1e-12, refine: bool = False) -> RepliconResult:
    """Replicon analysis of the RS solution ``solution`` (a SaddleResult or a dict of
    order parameters; absent ones, e.g. Q on the paramagnetic branch, are 0) at ``point``.

    Finite beta only: at beta = inf use a large finite beta (the finite-beta solutions are
    followed to 1e8 by ``numerics.continuation``).
    """
    mdl = make_model(model) if isinstance(model, str) else model
    if not isinstance(point, Point):
        raise ModelError(f"point must be a Point, got {point!r}")
    if not math.isfinite(point.beta):
        return RepliconResult(False, "the replicon is evaluated at finite beta; "
                                     "follow the solution to large beta instead of beta = inf")
    values = getattr(solution, "x", solution)
    if getattr(solution, "success", True) is False:
        return RepliconResult(False, f"the RS solution did not converge: {solution.message}")
    cm, bundle, W_fn = _kernels(mdl)
    prob = Problem(cm, point, n_gh=n_gh)
    try:
        theta = np.array([float(values.get(n, 0.0)) for n in prob.names])
    except (TypeError, ValueError) as exc:
        raise ValueError(f"solution must map order-parameter names to numbers: {exc}") from None
    if not np.all(np.isfinite(theta)):
        return RepliconResult(False, f"non-finite order parameters {dict(zip(prob.names, theta))}")
    mean, L = prob.fields(theta)
    W = np.array(W_fn(point.g, point.gamma), dtype=float)
    p_rest = prob.base(theta)
    M, Lam, K, means, w, status, err = _lambda(bundle, W, p_rest, mean, L, n_gh, rtol)
    bad = int(np.bitwise_or.reduce(status)) if status.size else 0
    if bad or not np.all(np.isfinite(Lam)):
        return RepliconResult(False, "inner integrals failed: " + describe_status(bad),
                              n_nodes=len(w))
    qerr = math.nan
    if refine:
        M2, Lam2, *_ = _lambda(bundle, W, p_rest, mean, L, int(math.ceil(1.5 * n_gh)), rtol)
        qerr = float(np.max(np.abs(Lam2 - Lam)))
        M, Lam = M2, Lam2
    ev = np.linalg.eigvals(Lam)
    ev = tuple(sorted(ev, key=lambda z: -z.real))
    even = tuple(sorted(np.linalg.eigvals(_EVEN @ Lam @ _EVEN.T), key=lambda z: -z.real))
    odd = tuple((_ODD @ Lam @ _ODD.T).ravel())
    rep = 1.0 - max(z.real for z in ev)
    try:
        chi = float((M @ np.linalg.inv(np.eye(4) - Lam))[3, 3])
    except np.linalg.LinAlgError:
        chi = math.inf
    # RS relations: the field covariance at theta against W applied to the pair averages
    S = np.einsum("i,ia,ib->ab", w, means, means).reshape(4)
    C_rs = W @ S
    C_theta = (L @ L.T).reshape(4)
    if cm.derived.model.quenched_input:
        C_theta[0] -= point.sI**2          # the quenched input is not an overlap
    rs_res = float(np.max(np.abs(C_rs - C_theta)))
    return RepliconResult(True, "ok", ev, even, odd, rep, rep > 0, chi, Lam, M, W,
                          np.einsum("i,iab->ab", w, K), rs_res, qerr, len(w))


__all__ = ["RepliconResult", "replicon", "BASIS"]
