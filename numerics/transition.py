"""Transition analysis at zero temperature: the response line g_chi and the onset g_q.

Two lines that THEORY.md asks to keep apart:

* g_chi(gamma): where the response chi of the collapsed ("laplace") zero-temperature
  solution with q = 0 diverges. At q = Q = 0 the fields vanish, the maximiser is x* = 0 and
  the saddle-point equations are algebraic (no integrals): they are evaluated from the
  derived equations with x = A = B0 = 0 and solved with mpmath at any precision;
  s(g) = 1/chi(g) is analytic through the divergence and its root is g_chi.
* g_q(gamma): where the order parameter q of the non-collapsed ("chaotic", q - Q finite)
  zero-temperature solution leaves zero. Along that branch q -> 0 linearly; fixing q = eps
  and solving for g gives g(eps) = g_q + g_1 eps + g_2 eps^2 + ..., extrapolated to eps -> 0
  (Richardson). The amplitude of q near g_q is 1/g_1.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import mpmath
import numpy as np
import sympy as sp

from theory.kernels import derived_model
from theory.model import Model, ModelError, Point, make_model
from theory.symbols import Qh0, beta, eta, g, gamma, kappa, q, x


@dataclass(frozen=True)
class TransitionResult:
    gamma: float
    g_chi: object = None          # mpf or float
    g_q: object = None
    amplitude: object = None      # A in q ~ A (g - g_q)
    digits: int | None = None
    details: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        conv = (lambda v: None if v is None else (mpmath.nstr(v, self.digits) if self.digits else float(v)))
        out = {"gamma": self.gamma, "g_chi": conv(self.g_chi), "g_q": conv(self.g_q),
               "amplitude": conv(self.amplitude), "digits": self.digits}
        if self.digits:
            out = {k: (str(v) if k in ("g_chi", "g_q", "amplitude") and v is not None else v)
                   for k, v in out.items()}
        out.update(self.details)
        return out


# -- the response line --------------------------------------------------------------------
def ordered_equations(model: Model):
    """The q = 0 collapsed zero-T equations as sympy expressions (x* = 0, fields zero).

    Returns (unknowns, equations, chi symbol); the trivially satisfied equations (those
    identically zero at q = Qh0 = kappa = 0) are dropped.
    """
    d = derived_model(model, "laplace", "full")
    A, B0 = d.fields
    at = {q: 0, Qh0: 0, kappa: 0, x: 0, A: 0, B0: 0}
    unknowns = [v for v in d.order_params if v not in (q, Qh0, kappa)]
    eqs = []
    for e in d.equations:
        ex = e.const + sum(c * d.observables[k] for c, k in e.averages)
        ex = sp.simplify(ex.subs(at))
        if ex != 0:
            eqs.append(ex)
    return unknowns, eqs, d


def _independent(eqs, unknowns, point_values):
    """A maximal set of equations with independent gradients at a numerical point."""
    J = sp.Matrix([[sp.diff(e, u) for u in unknowns] for e in eqs])
    Jn = np.array(J.subs(point_values).evalf(), dtype=float)
    Jn = Jn / np.maximum(np.abs(Jn).max(axis=0, keepdims=True), 1e-300)   # column scaling
    chosen, rows = [], []
    for i in range(len(eqs)):
        row = Jn[i] / max(np.abs(Jn[i]).max(), 1e-300)
        trial = rows + [row]
        if len(trial) > len(unknowns):
            break
        sv = np.linalg.svd(np.array(trial), compute_uv=False)
        if len(sv) == len(trial) and sv[-1] > 1e-10 * sv[0]:
            chosen.append(i)
            rows.append(row)
    return [eqs[i] for i in chosen]


@functools.lru_cache(maxsize=32)
def _ordered_system(model: Model, gamma_value, eta_value):
    """Lambdified q = 0 equations and Jacobian in (unknowns..., g) for fixed gamma, eta."""
    unknowns, eqs, d = ordered_equations(model)
    exact = {gamma: sp.Rational(str(gamma_value)), eta: sp.Rational(str(eta_value))}  # 0.3 means 3/10
    eqs_n = [e.subs(exact) for e in eqs]
    return unknowns, eqs_n


def response_chi(model: Model, g_value, gamma_value, eta_value=0.0, digits: int = 30, start=None):
    """chi of the q = 0 collapsed solution at (g, gamma), from the algebraic equations."""
    unknowns, eqs_g = _ordered_system(model, gamma_value, eta_value)
    eqs_n = [e.subs(g, g_value) for e in eqs_g]
    if start is None:
        from .continuation import solve
        r = solve(model, Point(g=float(g_value), gamma=float(gamma_value), beta=math.inf,
                               eta=float(eta_value)), kind="laplace")
        if not r.success:
            raise ModelError(f"no collapsed zero-temperature solution at g = {g_value}: {r.message}")
        start = [r.x[u.name] for u in unknowns]
    vals = dict(zip(unknowns, start))
    eqs_sq = _independent(eqs_n, unknowns, vals)
    if len(eqs_sq) != len(unknowns):
        raise ModelError(f"{len(eqs_sq)} independent equations for {len(unknowns)} unknowns")
    jac = sp.lambdify(unknowns, sp.Matrix([[sp.diff(e, u) for u in unknowns] for e in eqs_sq]), "mpmath")
    with mpmath.workdps(digits + 10):
        fs = [sp.lambdify(unknowns, e, "mpmath") for e in eqs_sq]
        sol = mpmath.findroot(lambda *a: [f(*a) for f in fs], [mpmath.mpf(s) for s in start],
                              J=lambda *a: mpmath.matrix(jac(*a).tolist()),
                              tol=mpmath.mpf(10) ** (-2 * digits))
        sol = list(sol) if hasattr(sol, "__len__") else [sol]
    return dict(zip([u.name for u in unknowns], sol))


def g_chi(model: Model | str, gamma_value: float, eta_value: float = 0.0, digits: int = 30,
          g_guess: float | None = None):
    """The coupling where the collapsed q = 0 response chi diverges.

    s = 1/chi is evaluated from the algebraic q = 0 equations at ``digits`` (+10) precision
    at couplings just below the divergence (each solve continued from the previous one),
    and g(s), analytic at s = 0, is extrapolated to s = 0 by Lagrange interpolation; the
    difference with one point fewer is returned as the error estimate.
    """
    if isinstance(model, str):
        model = make_model(model)
    g0 = g_guess if g_guess is not None else _g_chi_double(model, gamma_value, eta_value)
    g0 = min(g0, _g_below(model, gamma_value, eta_value, g0))
    names = None
    start = None
    pts = []
    npts = max(8, digits // 2 + 6)
    with mpmath.workdps(digits + 20):
        delta = mpmath.mpf("1.5e-3")
        for i in range(npts, 0, -1):
            gv = mpmath.mpf(g0) * (1 - 2 * delta - delta * (i - 1) / 2)
            sol = response_chi(model, gv, gamma_value, eta_value, digits=digits + 20, start=start)
            names = names or list(sol.keys())
            start = [sol[n] for n in names]
            pts.append((1 / sol["chi"], gv))
        # inverse interpolation: g(s) is analytic at s = 0; Lagrange extrapolation to s = 0
        def extrapolate(points):
            total = mpmath.mpf(0)
            for j, (sj, gj) in enumerate(points):
                w = mpmath.mpf(1)
                for m_, (sm, _) in enumerate(points):
                    if m_ != j:
                        w *= (0 - sm) / (sj - sm)
                total += w * gj
            return total
        gc = extrapolate(pts)
        err = abs(gc - extrapolate(pts[1:]))
    with mpmath.workdps(digits):
        gc = +gc
    return gc, {"residual": float(err), "extrapolation_error": float(err)}


def _g_below(model, gamma_value, eta_value, g0):
    """A coupling safely below the divergence (the double estimate may overshoot)."""
    gv = g0
    for _ in range(40):
        try:
            sol = response_chi(model, gv * (1 - 3e-3), gamma_value, eta_value, digits=20)
            if sol["chi"] > 0:
                return gv
        except (ModelError, ZeroDivisionError, ValueError):
            pass
        gv *= 1 - 1e-3
    raise ModelError("could not get below the response divergence")


def _g_chi_double(model, gamma_value, eta_value):
    """A double-precision estimate: 1/chi along the collapsed branch, extrapolated linearly."""
    from .continuation import continuation
    gs = np.linspace(0.0, 0.98 / (1 + max(gamma_value, -0.99)), 50)
    prev = None
    last = []
    for r in continuation(model, [Point(g=float(gv), gamma=gamma_value, beta=math.inf, eta=eta_value)
                                  for gv in gs], kind="laplace"):
        if not r.success or r.chi <= 0:
            break
        last.append((r.point["g"], 1.0 / r.chi))
        prev = r
    if len(last) < 2:
        raise ModelError("could not follow the collapsed branch towards the response divergence")
    (g1, s1), (g2, s2) = last[-2], last[-1]
    return g2 - s2 * (g2 - g1) / (s2 - s1)


# -- the onset of q (chaotic scaling) -----------------------------------------------------
def g_of_q(model: Model, q_value: float, gamma_value: float, g_start: float, x_start=None, tol=1e-13,
           q_start: float | None = None, polish_digits: int | None = None):
    """Solve the chaotic (q - Q finite) Q = 0 equations with q fixed, for g and the rest.

    ``x_start`` (r, qh, rh) is a start, obtained at ``q_start`` if given: qh ~ 1/q is then
    rescaled to q_value. Returns (g, rest, max|residual| in double precision).

    Near the onset the equations depend on g only at O(q), so the rounding of the double
    residuals (~1e-15 .. 1e-12 at q ~ 5e-4) becomes an error of g growing like 1/q. With
    ``polish_digits`` the double solution z = (rest, g) is refined by one Newton step
    z - J^-1 F(z), F evaluated at that many digits (``numerics.precision.MPProblem``, the
    mpmath twin) and J by central differences of the double residuals: the error left is
    O(|step| x relative error of J), far below the step. The arbitrary-precision residuals
    need deterministic fields (true on this Q = 0 branch without input); otherwise
    ModelError says so."""
    from scipy import optimize

    from .saddle import DomainError, Problem, compiled_for
    cm = compiled_for(model, "chaotic", "paramagnetic")
    names = [s.name for s in cm.derived.order_params]
    iq = names.index("q")
    others = [i for i in range(len(names)) if i != iq]
    # qh ~ 1/q near the onset: solve for q*qh, which stays finite; the equations depend on
    # g only at O(q) there, so the unknown is w = (g - g_start)/q (well conditioned)
    scale = np.array([q_value if names[i] == "qh" else 1.0 for i in others])
    if x_start is not None and q_start is not None:
        x_start = np.array([v * q_start / q_value if names[i] == "qh" else v
                            for i, v in zip(others, x_start)])

    def fun(z):
        gv = g_start + q_value * z[-1]
        if gv <= 0:
            return np.full(len(z), 1e3)
        th = np.empty(len(names))
        th[iq] = q_value
        th[others] = z[:-1] / scale
        try:
            return Problem(cm, Point(g=gv, gamma=gamma_value, beta=math.inf)).residuals(th)
        except DomainError:
            return np.full(len(z), 1e3)

    z0 = np.append((np.zeros(len(others)) if x_start is None else np.asarray(x_start)) * scale, 0.0)
    sol = optimize.root(fun, z0, method="hybr", tol=1e-15)
    res = np.max(np.abs(fun(sol.x)))
    if res > tol * 1e3:
        raise ModelError(f"fixed-q solve failed at q = {q_value}: max|residual| = {res:.2e}")
    gv, rest = g_start + q_value * sol.x[-1], sol.x[:-1] / scale
    if polish_digits is not None:
        gv, rest = _polish_fixed_q(model, cm, q_value, gamma_value, gv, rest, iq, polish_digits)
    return gv, rest, res


def _polish_fixed_q(model, cm, q_value, gamma_value, gv, rest, iq, digits):
    """One Newton step on the fixed-q equations in (rest, g) with residuals at ``digits``
    digits and the Jacobian by central differences of the double residuals (g_of_q)."""
    from .precision import MPProblem
    from .saddle import Problem

    def theta(z):
        return np.insert(np.asarray(z[:-1], dtype=float), iq, q_value)

    def f_double(z):
        return Problem(cm, Point(g=z[-1], gamma=gamma_value, beta=math.inf)).residuals(theta(z))

    z = np.append(rest, gv)
    J = np.empty((z.size, z.size))
    for j in range(z.size):
        h = 1e-6 * max(abs(z[j]), 1e-2)
        zp, zm = z.copy(), z.copy()
        zp[j] += h
        zm[j] -= h
        J[:, j] = (f_double(zp) - f_double(zm)) / (2 * h)
    with mpmath.workdps(digits):
        prob = MPProblem(model, Point(g=gv, gamma=gamma_value, beta=math.inf), "chaotic", "paramagnetic")
        prob.controls[[c.name for c in prob.d.controls].index("g")] = mpmath.mpf(gv)
        F = np.array([float(v) for v in prob.residuals([mpmath.mpf(t) for t in theta(z)])[0]])
    z = z - np.linalg.solve(J, F)
    return float(z[-1]), z[:-1]


def g_q(model: Model | str, gamma_value: float, eps0: float = 3.2e-2, levels: int = 7, g_guess=None,
        polish_digits: int | None = 25):
    """g_q and the amplitude of q by Richardson extrapolation of g(q = eps), eps = eps0/2^k.

    With the defaults (q from 3.2e-2 down to 5e-4, 7 levels, each g(eps) polished at 25
    digits, see ``g_of_q``) g_q agrees with the Landau closed form 1/(c1 sqrt(1+gamma)) to
    < 1e-12 and the amplitude to ~1e-9 (tests). Unpolished (``polish_digits=None``) the
    rounding of g at the smallest q, amplified ~3.4x by the Richardson weights, reaches
    ~1.5e-12 (tanh, gamma = -0.3). The returned error estimate is the Richardson truncation
    only; the largest double fixed-q residual is info["max_residual"]."""
    if isinstance(model, str):
        model = make_model(model)
    gs, epss = [], []
    gguess = g_guess if g_guess is not None else 1.0
    # approach small q along the fixed-q family from a converged chaotic solution
    from .continuation import solve
    r = None
    for factor in (1.1, 1.2, 1.4, 1.05):
        r = solve(model, Point(g=gguess * factor, gamma=gamma_value, beta=math.inf), kind="chaotic",
                  branch="paramagnetic")
        if r.success and r.x["q"] > 1e-3:
            break
    if r is None or not r.success:
        raise ModelError(f"no chaotic solution above the onset to start from: {r.message if r else ''}")
    names = list(r.x.keys())[:4]
    xs = np.array([r.x[n] for n in names if n != "q"])
    gguess = r.point["g"]
    qv = r.x["q"]
    while qv > 2 * eps0:
        qnew = max(qv / 2, eps0)
        gguess, xs, _ = g_of_q(model, qnew, gamma_value, gguess, xs, q_start=qv)
        qv = qnew
    worst = 0.0
    for kk in range(levels):
        e = eps0 / 2**kk
        gv, xs, res = g_of_q(model, e, gamma_value, gguess, xs, q_start=qv,
                             polish_digits=polish_digits)
        worst = max(worst, float(res))
        gs.append(gv)
        epss.append(e)
        gguess, qv = gv, e
    # Richardson extrapolation of g(eps) = g_q + g_1 eps + ..., and of (g(eps) - g_q)/eps -> g_1
    table = _richardson(gs)
    gq = table[-1][0]
    # truncation estimate: the last two diagonal entries of the table (it does not see the
    # rounding of the fixed-q solves: up to ~4e-13 at q = 5e-4 unpolished, ~1e-15 polished)
    err = abs(table[-1][0] - table[-2][-1])
    g1 = _richardson([(gs[i] - gq) / epss[i] for i in range(levels)])[-1][0]
    # exponent of q ~ (g - g_q)^b from the two smallest q (local slope on a log-log plot)
    b_exp = math.log(epss[-1] / epss[-2]) / math.log((gs[-1] - gq) / (gs[-2] - gq))
    return gq, 1.0 / g1, {"g_of_eps": list(zip(epss, gs)), "extrapolation_error": err,
                          "max_residual": worst, "exponent": b_exp, "polish_digits": polish_digits}


def _richardson(values):
    """Richardson table for values at eps0/2^k of a function analytic in eps (last row: limit)."""
    table = [list(values)]
    for j in range(1, len(values)):
        prev = table[-1]
        table.append([(2**j * prev[i + 1] - prev[i]) / (2**j - 1) for i in range(len(prev) - 1)])
    return table


def transition(model: Model | str = "tanh", gamma_value: float = 0.0, eta_value: float = 0.0,
               digits: int | None = None) -> TransitionResult:
    """Both lines at one gamma: g_chi (response divergence) and g_q (onset of q)."""
    if isinstance(model, str):
        model = make_model(model)
    if not -1 < gamma_value <= 1:
        raise ModelError(f"gamma must lie in (-1, 1], got {gamma_value}")
    gc, info = g_chi(model, gamma_value, eta_value, digits=digits or 20)
    gq, amp, qinfo = g_q(model, gamma_value, g_guess=float(gc))
    return TransitionResult(gamma_value, gc if digits else float(gc), gq, amp, digits,
                            {"g_chi_residual": info["residual"], "g_q_error": qinfo["extrapolation_error"]})


def g_q_landau(model: Model | str, gamma_value, digits: int = 30):
    """g_q from the engine's Landau expansion (closed form in phi's Taylor coefficients),
    evaluated at ``digits`` precision; gamma is read as the decimal it prints as."""
    from theory.kernels import derived_model as _dm
    from theory.replica.landau import c1, c3, c5, landau_deterministic
    if isinstance(model, str):
        model = make_model(model)
    if not model.odd:
        raise ModelError("the Landau expansion assumes an odd phi")
    res = _landau_cached(model)
    t = model.taylor(5)
    subs = {c1: t[1], c3: t[3], c5: t[5], gamma: sp.Rational(str(gamma_value))}
    with mpmath.workdps(digits):
        val = mpmath.mpf(sp.N(res.g_c.subs(subs), digits + 5))
    return val, sp.simplify(res.g_c.subs({c1: t[1], c3: t[3], c5: t[5]}))


def amplitude_landau(model: Model | str, gamma_value, digits: int = 30):
    """(g_q, A, closed form of A) of q ~ A (g - g_q) from the engine's second-order Landau
    expansion (``theory.replica.landau.landau_amplitude``), evaluated at ``digits``."""
    from theory.replica.landau import c1, c3, c5
    if isinstance(model, str):
        model = make_model(model)
    if not model.odd:
        raise ModelError("the Landau expansion assumes an odd phi")
    t = model.taylor(5)
    if t[3] == 0:
        raise ModelError("the Landau amplitude needs a cubic Taylor coefficient c3 != 0")
    res = _amplitude_cached(model)
    subs = {c1: t[1], c3: t[3], c5: t[5], gamma: sp.Rational(str(gamma_value))}
    with mpmath.workdps(digits):
        gq = mpmath.mpf(sp.N(res.g_c.subs(subs), digits + 5))
        amp = mpmath.mpf(sp.N(res.amplitude.subs(subs), digits + 5))
    return gq, amp, res.amplitude


@functools.lru_cache(maxsize=16)
def _amplitude_cached(model: Model):
    from theory.kernels import derived_model as _dm
    from theory.replica.landau import landau_amplitude
    return landau_amplitude(_dm(model, "chaotic", "paramagnetic"))


@functools.lru_cache(maxsize=16)
def _landau_cached(model: Model):
    from theory.kernels import derived_model as _dm
    from theory.replica.landau import landau_deterministic
    return landau_deterministic(_dm(model, "chaotic", "paramagnetic"))
