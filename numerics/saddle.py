"""Saddle-point solvers for the derived RS equations (double precision).

The derived model (``theory.kernels``) gives, for order parameters theta at a parameter
point, Phi(theta) = G(theta) + E_F f(F; theta), F = (A, B) ~ N(mu(theta), C(theta)), and the
residuals dPhi/dtheta_k as combinations of Gaussian averages of site observables. This
module evaluates them with the quadrature engine (:mod:`numerics.quadrature`) and solves

    dPhi/dtheta = 0

with a Newton/hybrid method (scipy.optimize.root, "hybr" or "lm"), started from the exact
g = 0 solution and continued in g (and beta) when no start is given. Solvers are iterators
(:func:`continuation` yields one :class:`~numerics.result.SaddleResult` per step) and
:func:`solve` drives them. Failures come back as ``success=False`` with a message.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from theory.kernels import CompiledModel, compile_model
from theory.model import Model, ModelError, Point, make_model

from .result import SaddleResult

KINDS = ("finite", "laplace", "chaotic")


class DomainError(ValueError):
    """Order parameters outside the domain of the functional (e.g. a negative variance)."""


@dataclass
class Problem:
    """A compiled model at a parameter point: theta -> residuals, Phi, energy."""

    compiled: CompiledModel
    point: Point
    n_gh: int = 48
    nfev: int = 0
    #: while iterating, a field covariance outside the PSD cone is replaced by its
    #: projection (eigenvalues clipped at 0), a continuous extension of the residuals that
    #: lets Newton approach solutions on the boundary (Q -> 0, Qh -> 0); every solution lies
    #: in the cone (Q = E<phi>^2, Qh = g^2 E<O_A>^2, |Rh| <= g sqrt(Q Qh)), and results are
    #: always re-evaluated with ``extend=False``, where leaving the cone is a DomainError
    extend: bool = False

    def __post_init__(self):
        d = self.compiled.derived
        vals = self.point.values(d.model) if hasattr(self.point, "values") else {}
        table = {s.name: v for s, v in vals.items()}
        self.controls = np.array([table[c.name] for c in d.controls], dtype=float)
        self.names = tuple(s.name for s in d.order_params)
        self._fields_out = np.zeros((5, 1))
        self._asm_out = np.zeros((len(d.equations) + 1 + (d.energy is not None), 1))

    @property
    def derived(self):
        return self.compiled.derived

    def base(self, theta) -> np.ndarray:
        return np.concatenate([np.asarray(theta, dtype=float), self.controls])

    def fields(self, theta):
        """(mean, L) of the Gaussian fields, L lower-triangular with L L^T = C."""
        p = self.base(theta)
        self.compiled.bundle.fields(np.zeros(1), p, self._fields_out)
        o = self._fields_out[:, 0]
        mean = o[:2].copy()
        C = np.array([[o[2], o[3]], [o[3], o[4]]])
        if self.extend and np.all(np.isfinite(C)):
            C = _psd_projection(C)
        return mean, _psd_cholesky(C)

    def averages(self, theta):
        """Gaussian averages of the site observables at theta."""
        from . import quadrature
        mean, L = self.fields(theta)
        p = np.concatenate([np.zeros(2), self.base(theta)])
        pairs = self.compiled.pairs
        if self.derived.inner == "max":
            res = quadrature.field_max_average(self.compiled.site_point, self.compiled.site, p, 2,
                                               mean, L, self.n_gh, pairs=pairs)
        else:
            res = quadrature.field_average(self.compiled.site_point, self.compiled.site, p, 2,
                                           mean, L, self.n_gh, pairs=pairs)
        self.nfev += 1
        return res

    def evaluate(self, theta):
        """(residuals, Phi, energy, averages-result) at theta."""
        theta = np.asarray(theta, dtype=float)
        if not np.all(np.isfinite(theta)):
            raise DomainError(f"non-finite order parameters {theta}")
        res = self.averages(theta)
        if not _ok(res):
            raise DomainError(f"quadrature failed: {_message(res)}")
        E_f = _f_average(res)
        p = np.concatenate([self.base(theta), [E_f], np.asarray(res.E_avg, dtype=float),
                            np.asarray(getattr(res, "E_pair", ()), dtype=float)])
        self.compiled.bundle.assemble(np.zeros(1), p, self._asm_out)
        out = self._asm_out[:, 0].copy()
        n = len(self.derived.equations)
        resid = out[:n]
        Phi = out[n]
        energy = out[n + 1] if self.derived.energy is not None else math.nan
        if not np.all(np.isfinite(resid)) or not math.isfinite(Phi):
            raise DomainError("non-finite residual (outside the domain of the functional)")
        return resid, Phi, energy, res

    def residuals(self, theta) -> np.ndarray:
        return self.evaluate(theta)[0]


def _psd_cholesky(C: np.ndarray, tol: float = 1e-12) -> np.ndarray:
    """Lower-triangular L with L L^T = C for a positive semi-definite 2x2 C (rank 0, 1 or 2)."""
    if not np.all(np.isfinite(C)):
        raise DomainError("non-finite field covariance")
    scale = max(1.0, float(np.max(np.abs(C))))
    a, b, c = C[0, 0], C[0, 1], C[1, 1]
    if a < -tol * scale or c < -tol * scale or a * c - b * b < -tol * scale**2:
        raise DomainError(f"field covariance [[{a}, {b}], [{b}, {c}]] is not positive semi-definite")
    a, c = max(a, 0.0), max(c, 0.0)
    if a > tol * scale:
        l11 = math.sqrt(a)
        l21 = b / l11
        l22 = math.sqrt(max(c - l21 * l21, 0.0))
        return np.array([[l11, 0.0], [l21, l22]])
    return np.array([[0.0, 0.0], [0.0, math.sqrt(c)]])


def _psd_projection(C: np.ndarray) -> np.ndarray:
    """The nearest (Frobenius) positive semi-definite matrix to the symmetric C."""
    w, V = np.linalg.eigh(C)
    if w[0] >= 0.0:
        return C
    return (V * np.maximum(w, 0.0)) @ V.T


def _ok(res) -> bool:
    status = getattr(res, "status", 0)
    return status in (0, "ok", True) or (isinstance(status, str) and status.startswith("ok"))


def _message(res) -> str:
    return str(getattr(res, "message", getattr(res, "status", "")))


def _f_average(res) -> float:
    for name in ("E_lnZ", "E_H", "E_max", "E_f"):
        if hasattr(res, name):
            return float(getattr(res, name))
    raise AttributeError("quadrature result has no E_lnZ / E_max")


# ---------------------------------------------------------------------------------------
def compiled_for(model: Model | str, kind: str, branch: str) -> CompiledModel:
    if isinstance(model, str):
        model = make_model(model)
    if kind not in KINDS:
        raise ModelError(f"kind must be one of {KINDS}, got {kind!r}")
    return compile_model(model, kind, branch)


def finish(problem: Problem, theta, *, success, status, message, nit, method, kind, branch,
           qerr=math.nan) -> SaddleResult:
    """Package theta into a SaddleResult with free energy, energy and chi."""
    d = problem.derived
    names = problem.names
    theta = np.asarray(theta, dtype=float)
    try:
        resid, Phi, energy, res = problem.evaluate(theta)
        rnorm = float(np.max(np.abs(resid)))
    except DomainError as exc:
        return SaddleResult(dict(zip(names, map(float, theta))), False, 2, f"{message}; {exc}",
                            nit=nit, nfev=problem.nfev, kind=kind, branch=branch,
                            point=_point_dict(problem.point), method=method)
    x = dict(zip(names, map(float, theta)))
    pt = problem.point
    beta = pt.beta
    if kind == "finite":
        Q = x.get("Q", 0.0)
        chi = beta * (x["q"] - Q)
        free = -Phi / beta
    elif kind == "laplace":
        chi = x["chi"]
        free, energy = -Phi, -Phi    # e = f at zero temperature (per site, units of E)
    else:
        # q - Q finite scaling: chi = beta (q - Q) diverges; the energy and free energy per
        # site vanish at T = 0 (E >= 0, and along the finite-beta path e = 1/(2 beta) + o(1/beta),
        # f -> 0: tests/test_saddle.py), as in the collapsed scaling (-Phi = 0 there)
        chi = math.inf
        free, energy = 0.0, 0.0
    if kind != "laplace":
        x.setdefault("Q", 0.0)   # Q = 0 on the paramagnetic branch, reported explicitly
    return SaddleResult(x, bool(success), int(status), message, tuple(map(float, resid)), rnorm,
                        nit, problem.nfev, float(Phi), float(free), float(energy), float(chi),
                        kind, branch, _point_dict(pt), method, None, qerr)


def _point_dict(pt: Point) -> dict:
    return {k: getattr(pt, k) for k in ("g", "gamma", "beta", "eta", "J0", "I0", "sI")}


def newton(problem: Problem, x0, *, tol=1e-10, maxiter=200, method="hybr", kind="finite",
           branch="full", fallback: bool = True) -> SaddleResult:
    """Solve dPhi/dtheta = 0 from x0 with scipy.optimize.root ("hybr", "lm", ...) or, with
    method="damped", by damped fixed-point iteration (``numerics.iteration``); never
    returns a silent NaN. method="newton" is Newton's method with a line search
    (``_line_search_newton``); a failed "hybr" solve is retried with "newton" and then "lm"
    from x0 unless ``fallback`` is False."""
    x0 = np.asarray(x0, dtype=float)
    if method == "damped":
        from .iteration import damped_iteration
        return damped_iteration(problem, x0, tol=tol, maxiter=max(maxiter, 2000), kind=kind,
                                branch=branch)
    if method == "newton":
        return _line_search_newton(problem, x0, tol=tol, maxiter=min(maxiter, 50), kind=kind,
                                   branch=branch)
    state = {"err": None}

    def fun(th):
        try:
            return problem.residuals(th)
        except DomainError as exc:
            state["err"] = str(exc)
            return np.full(len(th), 1e6)

    problem.extend = True
    try:
        sol = optimize.root(fun, x0, method=method, tol=tol * 1e-2,
                            options={"maxfev": maxiter * (len(x0) + 1)} if method == "hybr"
                            else {"maxiter": maxiter})
    except Exception as exc:  # scipy raising on bad input
        return SaddleResult(dict(zip(problem.names, map(float, x0))), False, 1,
                            f"root finder failed: {exc}", kind=kind, branch=branch,
                            point=_point_dict(problem.point), method=method)
    finally:
        problem.extend = False
    r = finish(problem, sol.x, success=True, status=0, message="", nit=int(getattr(sol, "nfev", 0)),
               method=method, kind=kind, branch=branch)
    ok = r.status != 2 and r.residual_norm < tol
    msg = (f"converged: max|residual| = {r.residual_norm:.2e}" if ok else
           f"not converged: max|residual| = {r.residual_norm:.2e} > tol = {tol:g}; "
           f"{sol.message}" + (f"; last domain error: {state['err']}" if state["err"] else ""))
    if not ok and method == "hybr" and fallback:
        # Powell's hybrid method can stall next to the edge of the domain (a conjugate at 0
        # whose negative values make the site measure non-normalisable, e.g. linear phi with
        # mean coupling and input next to g = 0) although the Jacobian is regular there:
        # plain Newton with a line search that stays in the domain, then Levenberg-Marquardt
        for alt in ("newton", "lm"):
            r2 = newton(problem, x0, tol=tol, maxiter=maxiter, method=alt, kind=kind, branch=branch)
            if r2.success:
                return _replace(r2, message=f"{r2.message} ({alt} after hybr: {msg})")
    return _replace(r, success=ok, status=0 if ok else (r.status or 1), message=msg)


def _line_search_newton(problem: Problem, x0, *, tol, maxiter, kind, branch) -> SaddleResult:
    """Newton's method with a forward-difference Jacobian (backward where the forward point
    leaves the domain) and a backtracking line search: the step is halved until the new
    point is in the domain and max|residual| decreases."""
    theta = np.asarray(x0, dtype=float).copy()
    n = len(theta)
    msg = ""
    try:
        f = problem.residuals(theta)
    except DomainError as exc:
        return finish(problem, theta, success=False, status=2, message=f"start outside the domain: {exc}",
                      nit=0, method="newton", kind=kind, branch=branch)
    it = 0
    for it in range(1, maxiter + 1):
        if np.max(np.abs(f)) < tol:
            break
        J = np.empty((n, n))
        for j in range(n):
            h = 1e-7 * max(1.0, abs(theta[j]))
            e = np.zeros(n)
            e[j] = h
            try:
                J[:, j] = (problem.residuals(theta + e) - f) / h
            except DomainError:
                try:
                    J[:, j] = (f - problem.residuals(theta - e)) / h
                except DomainError as exc:
                    msg = f"both difference points of {problem.names[j]} outside the domain: {exc}"
                    J = None
                    break
        if J is None:
            break
        try:
            step = -np.linalg.solve(J, f)
        except np.linalg.LinAlgError:
            msg = "singular Jacobian"
            break
        lam, norm0 = 1.0, np.max(np.abs(f))
        while lam > 1e-4:
            try:
                f_new = problem.residuals(theta + lam * step)
                if np.max(np.abs(f_new)) < norm0:
                    break
            except DomainError:
                pass
            lam /= 2
        else:
            msg = "line search failed"
            break
        theta, f = theta + lam * step, f_new
    r = finish(problem, theta, success=True, status=0, message="", nit=it, method="newton",
               kind=kind, branch=branch)
    ok = r.status != 2 and r.residual_norm < tol
    text = (f"converged: max|residual| = {r.residual_norm:.2e}" if ok else
            f"not converged after {it} Newton steps: max|residual| = {r.residual_norm:.2e} > "
            f"tol = {tol:g}" + (f"; {msg}" if msg else ""))
    return _replace(r, success=ok, status=0 if ok else (r.status or 1), message=text)


def _replace(r: SaddleResult, **kw) -> SaddleResult:
    import dataclasses
    return dataclasses.replace(r, **kw)
