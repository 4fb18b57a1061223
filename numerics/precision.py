"""The arbitrary-precision path: mpmath twin kernels, mpmath quadrature, mpmath.findroot.

Supported where the Gaussian fields are deterministic (zero covariance), which covers the
cases that decide the transitions: the Q = 0 branch at finite beta and its chaotic
zero-temperature limit (inner integral by tanh-sinh quadrature split at the maxima of H),
and the ordered phase of the Laplace scaling at q = Q = 0 (inner maximiser by findroot on
dH0/dx). Precision is an argument (``digits``), set with ``mpmath.workdps``, never global.

A double-precision solution is used as the start and Newton is run in mpmath; the result
is a :class:`~numerics.result.SaddleResult` with ``digits`` set and mpf values.
"""
from __future__ import annotations

import math

import mpmath

from theory.codegen import compile_groups
from theory.kernels import derived_model, kernel_groups
from theory.model import Model, ModelError, Point, make_model

from .result import SaddleResult


class MPProblem:
    """theta (mpf) -> residuals (mpf) for a derived model whose fields are deterministic."""

    def __init__(self, model: Model, point: Point, kind: str, branch: str, fixed=None):
        self.d = derived_model(model, kind, branch)
        self.bundle = compile_groups(kernel_groups(self.d), backend="mpmath", tag=f"{kind}_{branch}")
        vals = {s.name: v for s, v in point.values(self.d.model).items()}
        self.controls = [vals[c.name] for c in self.d.controls]
        self.names = [s.name for s in self.d.order_params]
        self.fixed = dict(fixed or {})
        self.point = point

    def _params(self, theta):
        return [mpmath.mpf(t) for t in theta] + [mpmath.mpf(c) for c in self.controls]

    def fields(self, theta):
        o = self.bundle.fields(None, self._params(theta))
        mean, cov = o[:2], o[2:]
        scale = max(1, max(abs(c) for c in cov))
        if max(abs(c) for c in cov) > mpmath.mpf(10) ** (-mpmath.mp.dps + 5) * scale:
            raise ModelError("the arbitrary-precision path needs deterministic fields (zero covariance): "
                             f"covariance here is {[mpmath.nstr(c, 5) for c in cov]}; use the Q = 0 "
                             "branch or the ordered phase")
        return mean

    def site(self, xv, p):
        return self.bundle.site(xv, p)

    def inner(self, p):
        """(f, [O_k]) with f = ln ∫ exp(H) dx or max_x H, observables averaged / at x*."""
        K = self.d.observables
        peaks = self._maxima(p)
        if self.d.inner == "max":
            best = max(peaks, key=lambda t: t[1])
            ties = [t for t in peaks if abs(t[1] - best[1]) < mpmath.mpf(10) ** (-mpmath.mp.dps // 2)
                    and abs(t[0] - best[0]) > mpmath.mpf(10) ** (-mpmath.mp.dps // 3)]
            if ties:
                raise ModelError(f"several global maximisers of H0 at {[mpmath.nstr(t[0], 8) for t in [best] + ties]}")
            out = self.site(best[0], p)
            return best[1], out[3:3 + len(K)]
        Hmax = max(t[1] for t in peaks)
        xs = sorted(t[0] for t in peaks)
        widths = [1 / mpmath.sqrt(max(-self.site(t[0], p)[2], mpmath.mpf(10) ** -30)) for t in peaks]
        w = max(widths)
        pts = [xs[0] - 40 * w] + xs + [xs[-1] + 40 * w]
        pts = [-mpmath.inf] + pts + [mpmath.inf]

        def integrand(k):
            def f(t):
                o = self.site(t, p)
                e = mpmath.exp(o[0] - Hmax)
                return e if k < 0 else o[3 + k] * e
            return f
        Z = mpmath.quad(integrand(-1), pts)
        avgs = [mpmath.quad(integrand(k), pts) / Z for k in range(len(K))]
        return Hmax + mpmath.log(Z), avgs

    def _maxima(self, p):
        """All local maxima of H (scan, then findroot on dH/dx)."""
        grid = [mpmath.mpf(i) / 8 for i in range(-160, 161)]
        vals = [self.site(t, p) for t in grid]
        cands = [grid[i] for i in range(1, len(grid) - 1)
                 if vals[i][0] >= vals[i - 1][0] and vals[i][0] >= vals[i + 1][0]]
        if not cands:
            cands = [grid[max(range(len(grid)), key=lambda i: vals[i][0])]]
        out = []
        for c in cands:
            try:
                xm = mpmath.findroot(lambda t: self.site(t, p)[1], c,
                                     df=lambda t: self.site(t, p)[2], tol=mpmath.mpf(10) ** (-mpmath.mp.dps + 3))
            except (ValueError, ZeroDivisionError):
                xm = c
            o = self.site(xm, p)
            if o[2] <= 0 and not any(abs(xm - y) < mpmath.mpf(10) ** (-mpmath.mp.dps // 3) for y, _ in out):
                out.append((xm, o[0]))
        if not out:
            raise ModelError("no maximum of the site Hamiltonian found")
        return out

    def residuals(self, theta):
        mean = self.fields(theta)
        p = list(mean) + self._params(theta)
        f, avgs = self.inner(p)
        pairs = [avgs[i] * avgs[j] for i, j in self.d.pairs]
        out = self.bundle.assemble(None, self._params(theta) + [f] + list(avgs) + pairs)
        n = len(self.d.equations)
        return out[:n], out[n], (out[n + 1] if self.d.energy is not None else mpmath.nan)


def solve_mp(model: Model | str, point: Point, *, kind: str = "finite", branch: str = "paramagnetic",
             digits: int = 30, x0=None, tol_digits: int | None = None) -> SaddleResult:
    """Solve the saddle-point equations with ``digits`` significant digits.

    Starts from ``x0`` or from the double-precision solution. Returns a SaddleResult whose
    values are mpf; ``success`` requires max|residual| < 10^-(digits - 5).
    """
    if isinstance(model, str):
        model = make_model(model)
    if digits < 16 or digits > 200:
        raise ModelError(f"digits must be between 16 and 200, got {digits}")
    if x0 is None:
        from .continuation import solve
        if kind == "laplace" and branch == "paramagnetic":
            branch = "full"
        dbl = solve(model, point, kind=kind, branch=branch)
        if not dbl.success:
            return dbl
        x0 = list(dbl.x.values())[: len(derived_model(model, kind, branch).order_params)]
    tol = mpmath.mpf(10) ** (-(tol_digits or digits - 5))
    with mpmath.workdps(digits + 10):
        prob = MPProblem(model, point, kind, branch)
        start = [mpmath.mpf(v) for v in x0]
        try:
            sol = mpmath.findroot(lambda *th: prob.residuals(list(th))[0], start, tol=tol**2,
                                  maxsteps=50)
            sol = [sol] if not hasattr(sol, "__len__") else list(sol)
            resid, Phi, energy = prob.residuals(sol)
        except (ZeroDivisionError, ValueError, ModelError) as exc:
            return SaddleResult(dict(zip(prob.names, start)), False, 1,
                                f"mpmath Newton failed: {exc}", kind=kind, branch=branch,
                                point=vars(point).copy() if hasattr(point, "__dict__") else {},
                                method="mpmath.findroot", digits=digits)
        rnorm = max(abs(r) for r in resid)
        ok = rnorm < tol
        x = {k: +v for k, v in zip(prob.names, sol)}
        beta = point.beta
        if kind == "finite":
            chi = mpmath.mpf(beta) * (x["q"] - x.get("Q", 0))
            free = -Phi / beta
        elif kind == "laplace":
            chi, free, energy = x["chi"], -Phi, -Phi
        else:
            chi, free = mpmath.inf, mpmath.nan
        with mpmath.workdps(digits):
            x = {k: +v for k, v in x.items()}
        return SaddleResult(x, bool(ok), 0 if ok else 1,
                            (f"converged to {digits} digits: max|residual| = {mpmath.nstr(rnorm, 3)}" if ok
                             else f"not converged: max|residual| = {mpmath.nstr(rnorm, 3)}"),
                            tuple(resid), float(rnorm), 0, 0, Phi, free, energy, chi, kind, branch,
                            {k: getattr(point, k) for k in ("g", "gamma", "beta", "eta")},
                            "mpmath.findroot", digits)


__all__ = ["MPProblem", "solve_mp", "math"]
