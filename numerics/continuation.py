"""Continuation of saddle-point solutions along a path of parameter points, and `solve`.

``continuation`` is a generator: it yields one SaddleResult per point of the path, each
Newton solve started from a linear extrapolation of the previous two solutions; when a step
fails it is bisected (up to ``max_halvings`` times) before giving up with success=False.
``solve`` drives it from the exact g = 0 solution up to the requested point.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np
from tqdm.auto import tqdm

from theory.model import Model, ModelError, Point, make_model

from .result import SaddleResult
from .saddle import KINDS, Problem, compiled_for, newton


def _interp(p0: Point, p1: Point, t: float) -> Point:
    vals = {}
    for f in dataclasses.fields(Point):
        a, b = getattr(p0, f.name), getattr(p1, f.name)
        if a == b:
            vals[f.name] = a
        elif f.name == "beta" and a > 0 and b > 0 and math.isfinite(a) and math.isfinite(b):
            vals[f.name] = math.exp((1 - t) * math.log(a) + t * math.log(b))  # log-scale in beta
        else:
            vals[f.name] = (1 - t) * a + t * b
    return Point(**vals)


def continuation(model, points, *, kind="finite", branch="full", x0=None, tol=1e-10,
                 method="hybr", n_gh=48, max_halvings=6, progress=False):
    """Yield a SaddleResult for each Point in ``points``, continuing from ``x0``.

    ``x0`` is the solution at ``points[0]`` or a start for it (a sequence in the declared
    order of the order parameters). Intermediate points inserted by step halving are not
    yielded.
    """
    mdl = make_model(model) if isinstance(model, str) else model
    points = list(points)
    if not points:
        return
    if branch == "full" and kind == "finite" and _symmetric(mdl):
        # Q = 0 is exact by symmetry: continue it on its own branch, embed each point
        px0 = None if x0 is None else [v for v, s_ in zip(x0, ("q", "Q", "r", "R", "qh", "Qh", "rh", "Rh"))
                                       if s_ in ("q", "r", "qh", "rh")]
        for para in continuation(mdl, points, kind=kind, branch="paramagnetic", x0=px0, tol=tol,
                                 method=method, n_gh=n_gh, max_halvings=max_halvings,
                                 progress=progress):
            pt = Point(**para.point)
            yield _full_from_paramagnetic(mdl, pt, para=para, tol=tol, method=method, n_gh=n_gh)
        return
    cm = compiled_for(model, kind, branch)
    nvar = len(cm.derived.order_params)
    if x0 is not None and len(x0) != nvar:
        raise ModelError(f"x0 has {len(x0)} values but the {kind}/{branch} equations have "
                         f"{nvar} order parameters {[s.name for s in cm.derived.order_params]}")
    prev_pt, prev_x, prev2 = None, None, None
    it = tqdm(points, disable=not progress, desc=f"continuation ({kind})", leave=False)
    for pt in it:
        if prev_x is None:
            start = np.asarray(x0 if x0 is not None else default_start(cm, pt, kind), dtype=float)
            res = newton(Problem(cm, pt, n_gh), start, tol=tol, method=method, kind=kind, branch=branch)
        else:
            res = _step(cm, prev_pt, pt, prev_x, prev2, kind, branch, tol, method, n_gh, max_halvings)
        yield res
        if not res.success:
            return
        prev2 = (prev_pt, prev_x)
        prev_pt, prev_x = pt, np.array(list(res.x.values())[: len(cm.derived.order_params)])


def _step(cm, p0, p1, x_prev, prev2, kind, branch, tol, method, n_gh, max_halvings):
    """Newton at p1 from a prediction (``_predict`` from the last two solutions), then from
    the last solution itself; the step is bisected on failure."""
    t_done, x_cur, pt_cur = 0.0, x_prev, p0
    before = prev2 if prev2 is not None and prev2[0] is not None else None
    dt = 1.0
    last = None
    for _ in range(64):
        t_next = min(1.0, t_done + dt)
        pt_next = _interp(p0, p1, t_next)
        start = x_cur if before is None else _predict(before[0], before[1], pt_cur, x_cur, pt_next)
        res = newton(Problem(cm, pt_next, n_gh), start, tol=tol, method=method, kind=kind, branch=branch)
        if not res.success and start is not x_cur:
            res = newton(Problem(cm, pt_next, n_gh), x_cur, tol=tol, method=method, kind=kind, branch=branch)
        last = res
        if res.success:
            before = (pt_cur, x_cur)
            t_done, x_cur, pt_cur = t_next, np.array(list(res.x.values())[: len(x_cur)]), pt_next
            if t_done >= 1.0:
                return res
            dt = min(dt * 2, 1.0 - t_done)
        else:
            dt /= 2
            if dt < 2.0**-max_halvings:
                break
    return dataclasses.replace(last, success=False, status=1,
                               message=f"continuation stalled at t = {t_done:.4f} of the step "
                                       f"towards {p1}: {last.message}")


def _coordinate(pa: Point, pb: Point):
    """(name, transform) of the one control that changes between pa and pb, log for beta."""
    for f in dataclasses.fields(Point):
        a, b = getattr(pa, f.name), getattr(pb, f.name)
        if a != b:
            if f.name == "beta" and a > 0 and b > 0 and math.isfinite(a) and math.isfinite(b):
                return f.name, math.log
            return f.name, float
    return None, None


def _predict(pa: Point, xa, pb: Point, xb, pc: Point):
    """Predict the solution at pc from those at pa and pb along a one-control path.

    Linear in the control (in log beta for beta); in a beta path, a variable of one sign at
    both points is extrapolated as a power of beta (geometric in log beta), which is exact
    for the large-beta scalings q ~ 1/beta, beta^-1/2, beta^0. A power beyond |3| (noise
    around zero) falls back to linear. Points that differ in more than that control give
    the last solution xb.
    """
    name, tr = _coordinate(pa, pb)
    if name is None or _coordinate(pb, pc)[0] != name:
        return xb
    sa, sb, sc = tr(getattr(pa, name)), tr(getattr(pb, name)), tr(getattr(pc, name))
    if sb == sa:
        return xb
    s = (sc - sb) / (sb - sa)
    xa, xb = np.asarray(xa, dtype=float), np.asarray(xb, dtype=float)
    out = xb + s * (xb - xa)
    if name == "beta":
        same = (xa * xb > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            lr = np.where(same, np.log(np.abs(xb) / np.abs(np.where(same, xa, 1.0))), 0.0)
        power = same & (np.abs(lr) <= 3 * abs(sb - sa))
        out = np.where(power, xb * np.exp(s * lr), out)
    return out


def default_start(cm, pt: Point, kind: str):
    """A start for Newton: zeros (the g = 0 solution has all conjugates and Q, R zero) with
    q from the single-site average; for the chaotic scaling the static cavity q."""
    d = cm.derived
    names = [s.name for s in d.order_params]
    x = np.zeros(len(names))
    if kind == "chaotic":
        qc = _cavity_guess(d.model, pt.g)
        if "q" in names:
            x[names.index("q")] = qc
        if "Q" in names:
            x[names.index("Q")] = 0.0
        return x
    if "q" in names:
        x[names.index("q")] = 0.0
    return x


def _cavity_guess(model: Model, g: float) -> float:
    """Start value only: iterate q <- E_z phi(g sqrt(q) z)^2 (static cavity, gamma = 0)."""
    import sympy as sp
    from theory.symbols import x as xs
    f = sp.lambdify(xs, model.phi, ["scipy", "numpy"])
    z, w = np.polynomial.hermite_e.hermegauss(80)
    w = w / w.sum()
    q = 1.0
    for _ in range(500):
        q = float(w @ np.asarray(f(g * math.sqrt(q) * z), dtype=float) ** 2)
    return max(q, 1e-3)


def solve(model: Model | str = "tanh", point: Point | None = None, *, kind: str = "finite",
          branch: str = "full", x0=None, tol: float = 1e-10, method: str = "hybr",
          n_gh: int = 48, g_step: float = 0.1, progress: bool = False) -> SaddleResult:
    """Solve the saddle-point equations at ``point``.

    Without ``x0`` the solution is continued from g = 0 (exact start) in steps of at most
    ``g_step``; for kind="chaotic" (zero temperature, q - Q finite) Newton starts from the
    static cavity solution at the target point.
    """
    if point is None:
        raise ModelError("a parameter point is required, e.g. Point(g=1.2, gamma=0.0, beta=10)")
    if kind not in KINDS:
        raise ModelError(f"kind must be one of {KINDS}, got {kind!r}")
    if kind in ("laplace", "chaotic") and math.isfinite(point.beta):
        raise ModelError(f"kind={kind!r} is a zero-temperature scaling: use beta=inf")
    if kind == "finite" and not math.isfinite(point.beta):
        raise ModelError("beta=inf needs a zero-temperature scaling: kind='laplace' or 'chaotic'")
    mdl = model if not isinstance(model, str) else None
    if mdl is None:
        from theory.model import make_model
        mdl = make_model(model)
    if branch == "full" and x0 is None and kind == "finite" and _symmetric(mdl):
        return _full_from_paramagnetic(mdl, point, tol=tol, method=method, n_gh=n_gh,
                                       g_step=g_step, progress=progress)
    if x0 is not None or kind == "chaotic":
        path = [point]
    else:
        nsteps = max(1, int(math.ceil(point.g / g_step)))
        path = [dataclasses.replace(point, g=point.g * i / nsteps) for i in range(nsteps)] + [point]
    result = None
    for result in continuation(model, path, kind=kind, branch=branch, x0=x0, tol=tol,
                               method=method, n_gh=n_gh, progress=progress):
        pass
    if result is None:
        raise RuntimeError("continuation produced no result")
    if not result.success or result.point.get("g") != point.g:
        return dataclasses.replace(result, success=False, status=max(result.status, 1),
                                   message=f"could not reach g = {point.g}: {result.message}")
    return result


def _symmetric(model: Model) -> bool:
    """Odd phi without quenched input: x -> -x in one replica maps solutions to solutions,
    so Q = R = Qh = Rh = 0 (and m = k = mh = kh = 0) solves the full equations exactly."""
    return model.odd and not model.quenched_input


def _q_positive_starts(names, x, point, model=None):
    """Starts for the Q > 0 search next to the Q = 0 solution x: Q = q/2, and with mean
    coupling magnetised starts: m = +-sqrt(q/2) and, where the mean-field magnetisation
    m* = E_z phi(g J0 m* + g sqrt(q) z) is non-zero, the saturated start m = m*, Q = m*^2,
    q = max(q, m*^2) (kh = g J0 m from dPhi/dk = 0)."""
    base = {"q": x["q"], "Q": 0.5 * x["q"], "r": x["r"], "R": 0.0, "qh": x["qh"], "Qh": 0.1,
            "rh": x["rh"], "Rh": 0.0}
    if "m" not in names:
        return [[base[n] for n in names]]

    def magnetised(m0, extra=None):
        d = {**base, **(extra or {}), "m": m0, "k": 0.0, "mh": 0.0, "kh": point.g * point.J0 * m0}
        return [d.get(n, 0.0) for n in names]

    m0 = math.sqrt(0.5 * x["q"])
    starts = [magnetised(m0), [{**base, "m": 0.0, "k": 0.0, "mh": 0.0, "kh": 0.0}.get(n, 0.0) for n in names]]
    if model is not None:
        ms = _magnetised_guess(model, point.g, point.J0, x["q"])
        if abs(ms) > 1e-3:
            starts.insert(1, magnetised(ms, {"q": max(x["q"], ms * ms + 1e-3), "Q": ms * ms}))
    return starts


def _magnetised_guess(model: Model, g: float, J0: float, q: float) -> float:
    """Start value only: iterate m <- E_z phi(g J0 m + g sqrt(q) z) from m = 1 (mean-field
    magnetisation with the Q = 0 solution's q as field variance)."""
    import sympy as sp
    from theory.symbols import x as xs
    f = sp.lambdify(xs, model.phi, ["scipy", "numpy"])
    z, w = np.polynomial.hermite_e.hermegauss(60)
    w = w / w.sum()
    m = 1.0
    for _ in range(300):
        m = float(w @ np.asarray(f(g * J0 * m + g * math.sqrt(max(q, 0.0)) * z), dtype=float))
    return m if math.isfinite(m) else 0.0


def embed_paramagnetic(model, point, para, n_gh: int = 48, tol: float = 1e-10) -> SaddleResult:
    """The Q = 0 solution ``para`` (paramagnetic branch) in the full order parameters,
    with the omitted ones 0, checked by the residuals of the full equations."""
    from .saddle import finish
    cm = compiled_for(model, "finite", "full")
    theta = [para.x.get(s.name, 0.0) for s in cm.derived.order_params]
    emb = finish(Problem(cm, point, n_gh), theta, success=True, status=0, message="",
                 nit=para.nit, method=para.method, kind="finite", branch="full")
    ok = emb.status == 0 and emb.residual_norm < tol
    return dataclasses.replace(
        emb, success=ok, status=0 if ok else 1,
        message=(f"Q = 0 solution (exact by symmetry), full residual {emb.residual_norm:.2e}"
                 if ok else f"embedded Q = 0 solution fails the full equations: "
                            f"{emb.message or f'{emb.residual_norm:.2e}'}"))


def _full_from_paramagnetic(model, point, para=None, **kw):
    """Full-branch solve for odd phi without input (with or without J0).

    Q = R = Qh = Rh = 0 (and m = k = mh = kh = 0) solves the full equations by symmetry, but
    Newton steps taken from g = 0 wander to Q < 0 where the field covariance is not
    positive. So the Q = 0 solution is found on its own branch and embedded; its full
    residuals are checked (they must vanish), and a Q > 0 solution is then searched from
    Q = q/2 (with J0, first from a magnetised start). The Q > 0 solution, when one
    converges, is returned (with the Q = 0 one in ``extra``); else the Q = 0 one.
    """
    if para is None:
        para = solve(model, point, kind="finite", branch="paramagnetic", **kw)
    if not para.success:
        return dataclasses.replace(para, branch="full")
    cm = compiled_for(model, "finite", "full")
    names = [s.name for s in cm.derived.order_params]
    embedded = embed_paramagnetic(model, point, para, n_gh=kw.get("n_gh") or 48,
                                  tol=kw.get("tol", 1e-10))
    for start in _q_positive_starts(names, para.x, point, model):
        qpos = newton(Problem(cm, point, kw.get("n_gh") or 48), start, tol=kw.get("tol", 1e-10),
                      method=kw.get("method", "hybr"), kind="finite", branch="full")
        if qpos.success and qpos.x["Q"] > 1e-8:
            break
    if qpos.success and qpos.x["Q"] > 1e-8:
        return dataclasses.replace(qpos, message=qpos.message + "; Q > 0 solution",
                                   extra={"Q0_solution_phi": embedded.phi,
                                          "Q0_solution_q": embedded.x["q"]})
    return dataclasses.replace(embedded, extra={"Q_positive_search": qpos.message})
