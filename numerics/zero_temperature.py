"""The beta -> infinity limit: which zero-temperature scaling holds at (g, gamma), and its solution.

The Q = 0 solution of an odd phi (no mean coupling, no input, eta = 0) has three
zero-temperature scalings (docs/open_question.md):

* collapsed (kind "laplace"): q = chi / beta with chi finite; exists for g < g_chi =
  1/(c1 (1 + gamma)), where chi diverges;
* band (kind "band", ``theory.replica.band``): q ~ sqrt(b / beta), chi ~ sqrt(b beta), with b
  in closed form; exists where b > 0, i.e. strictly between g_chi and g_q;
* q - Q finite (kind "chaotic"): exists for g > g_q = 1/(c1 sqrt(1 + gamma)).

For gamma > 0 exactly one exists at every g off the two lines, and the finite-beta solution
follows it (checked along beta paths to 1e8, benchmarks/band_scaling.py); ``solve_zero_temperature`` solves that one.
For gamma < 0 (g_q < g_chi) all three coexist between the lines; which one the physical
state follows is not decided at T = 0 here, so the solve reports them and fails.
"""
from __future__ import annotations

import dataclasses
import functools
import math

import sympy as sp

from theory.model import Model, ModelError, Point, make_model
from theory.symbols import g as g_sym
from theory.symbols import gamma as gamma_sym

from .result import SaddleResult


@functools.lru_cache(maxsize=16)
def _band(model: Model):
    from theory.kernels import derived_model
    from theory.replica.band import band_scaling
    return band_scaling(derived_model(model, "finite", "paramagnetic"))


@functools.lru_cache(maxsize=16)
def _taylor(model: Model) -> dict:
    """{c1: phi'(0), c3: phi^(3)(0)/6} as sympy numbers, keyed by the symbols of
    theory.replica.landau (one series expansion per model)."""
    from theory.replica.landau import c1, c3
    t = model.taylor(3)
    return {c1: t[1], c3: t[3]}


def unclassified(model: Model, point: Point) -> str | None:
    """Why the scalings are not classified at ``point`` (None when they are): they need an
    odd phi with phi'(0) > 0 and a cubic Taylor term, no mean coupling or input, eta = 0."""
    if not model.odd or model.mean_coupling or model.quenched_input:
        return ("the zero-temperature scalings are classified for odd phi without mean "
                "coupling or quenched input (the Q = 0 solution must be exact)")
    if point.eta != 0:
        return "the band scaling needs eta = 0 (a confinement beta eta x^2 dominates it)"
    c1, c3 = (float(v) for v in _taylor(model).values())
    if c1 <= 0 or c3 == 0:
        return f"needs phi'(0) > 0 and a cubic Taylor coefficient != 0 (c1 = {c1}, c3 = {c3})"
    return None


def _base_checks(model: Model, point: Point) -> None:
    why = unclassified(model, point)
    if why:
        raise ModelError(why)


def lines(model: Model | str, gamma_value: float) -> dict:
    """Closed-form g_chi = 1/(c1 (1 + gamma)) and g_q = 1/(c1 sqrt(1 + gamma))."""
    model = make_model(model) if isinstance(model, str) else model
    if gamma_value <= -1:
        raise ModelError(f"gamma must be > -1, got {gamma_value}")
    c1 = float(next(iter(_taylor(model).values())))
    return {"g_chi": 1 / (c1 * (1 + gamma_value)), "g_q": 1 / (c1 * math.sqrt(1 + gamma_value))}


def band_b(model: Model | str, g_value: float, gamma_value: float) -> float:
    """b = lim beta q^2 of the band scaling at (g, gamma) (negative: no band solution)."""
    model = make_model(model) if isinstance(model, str) else model
    return _band(model).numeric(_taylor(model), g_value, gamma_value)


def scalings(model: Model | str, point: Point) -> list[str]:
    """The zero-temperature scalings with a solution at ``point`` ("laplace", "band", "chaotic")."""
    model = make_model(model) if isinstance(model, str) else model
    _base_checks(model, point)
    ln = lines(model, point.gamma)
    out = []
    if point.g < ln["g_chi"]:
        out.append("laplace")
    if min(ln.values()) < point.g < max(ln.values()) and band_b(model, point.g, point.gamma) > 0:
        out.append("band")
    if point.g > ln["g_q"]:
        out.append("chaotic")
    return out


def band_solution(model: Model | str, point: Point) -> SaddleResult:
    """The band scaling's zero-temperature solution at ``point`` (closed form).

    x holds the limits q = Q = 0, b = lim beta q^2, r, rh and q_qh = lim q qh; chi = beta q
    = infinity; the energy and free energy per site vanish (e ~ 1/(2 beta) along the
    finite-beta path). ``fun`` are the band equations (leading order and solvability)
    evaluated at these numbers; success needs b > 0.
    """
    from theory.replica.landau import eps
    model = make_model(model) if isinstance(model, str) else model
    _base_checks(model, point)
    band = _band(model)
    subs = {**_taylor(model), g_sym: sp.Float(point.g, 30), gamma_sym: sp.Float(point.gamma, 30)}
    b_val = band.b.subs(subs)
    bv = float(b_val) if b_val.is_finite else math.inf        # a pole: exactly on g = g_q
    x = {"q": 0.0, "Q": 0.0, "b": bv}
    for v, val in band.leading.items():
        if v.name == "qh":                 # qh ~ qh_{-1}/eps: report lim q qh = qh_{-1}
            x["q_qh"] = float(sp.cancel(val * eps).subs(eps, 0).subs(subs))
        else:
            x[v.name] = float(val.subs(subs))
    ok = bv > 0 and math.isfinite(bv)
    residual = _band_residual(band, subs) if ok else math.inf
    msg = (f"band scaling: q ~ sqrt(b/beta), b = {bv:.12g}; residual of the band equations {residual:.1e}"
           if ok else f"no band solution at {point}: b = {bv:.6g} <= 0 (outside the band between the lines)")
    return SaddleResult(x=x, success=ok, status=0 if ok else 2, message=msg, fun=(residual,),
                        residual_norm=residual, phi=0.0, free_energy=0.0, energy=0.0,
                        chi=math.inf, kind="band", branch="paramagnetic",
                        point={k: float(v) for k, v in vars(point).items()}, method="closed form")


def _band_residual(band, subs) -> float:
    """max |equation| of the band system (leading order and solvability) with every
    unknown replaced by its closed form evaluated in double precision."""
    values = {k: sp.Float(float(v.subs(subs))) for k, v in band.solution.items()}
    return max(abs(float(e.subs(subs).subs(values))) for e in band.system)


def solve_zero_temperature(model: Model | str, point: Point, **solve_kw) -> SaddleResult:
    """Solve the zero-temperature scaling that holds at ``point`` (beta = inf).

    One scaling exists: its solution (laplace or chaotic by ``continuation.solve``, band in
    closed form), with extra["scaling"] and extra["scalings"]. Several coexist (gamma < 0
    between the lines) or none (exactly on a line): success=False naming them.
    """
    from .continuation import solve
    model = make_model(model) if isinstance(model, str) else model
    if math.isfinite(point.beta):
        raise ModelError("solve_zero_temperature needs beta = inf")
    found = scalings(model, point)
    extra = {"scalings": ",".join(found) or "none"}
    if len(found) != 1:
        why = ("several zero-temperature scalings coexist here: " + ", ".join(found)
               + "; follow the finite-beta solution (qpot solve --branches) to choose")\
            if found else "no scaling has a solution exactly on a line"
        return SaddleResult(x={}, success=False, status=1, message=why, kind="auto",
                            point={k: float(v) for k, v in vars(point).items()}, extra=extra)
    kind = found[0]
    if kind == "band":
        res = band_solution(model, point)
    else:
        branch = "paramagnetic" if kind == "chaotic" else solve_kw.pop("branch", "full")
        res = solve(model, point, kind=kind, branch=branch, **solve_kw)
    return dataclasses.replace(res, extra={**res.extra, **extra, "scaling": kind})


@dataclasses.dataclass(frozen=True)
class ZeroTemperatureBranch:
    """One zero-temperature scaling with a solution at the point, and the replicon of the
    finite-beta Q = 0 solution that follows it (None where the beta path goes elsewhere)."""

    scaling: str                    # "laplace" (collapsed), "band", "chaotic" (q - Q finite)
    solution: SaddleResult
    replicon: float | None          # at the largest beta of the path
    replicon_exponent: float | None  # d ln(replicon)/d ln beta over the last decade
    followed_by_path: bool

    @property
    def stable(self) -> bool | None:
        """True: stable limit; False: unstable; None: not measured or marginal (-> 0)."""
        if self.replicon is None or self.replicon_exponent is None:
            return None
        if self.replicon < 0:
            return False
        return None if self.replicon_exponent < -0.25 else True


@dataclasses.dataclass(frozen=True)
class ZeroTemperatureReport:
    point: Point
    branches: tuple
    path_scaling: str | None        # the scaling the finite-beta path from beta = 10 follows
    note: str

    @property
    def found(self) -> bool:
        return any(b.solution.success for b in self.branches)

    def lines(self) -> list[str]:
        """Text summary: the note and one line per scaling."""
        out = [self.note]
        for b in self.branches:
            x = ", ".join(f"{k} = {v:.10g}" for k, v in b.solution.x.items())
            out.append(f"  {b.scaling:8s} {'ok' if b.solution.success else 'FAILED'}  {x}  chi = {b.solution.chi}"
                       + (f"  replicon -> {b.replicon:.4g} (d ln/d ln beta = {b.replicon_exponent:.3f})"
                          if b.replicon is not None else ""))
        return out

    def as_dict(self) -> dict:
        return {"point": {k: float(v) for k, v in vars(self.point).items()},
                "path_scaling": self.path_scaling, "note": self.note,
                "branches": [{"scaling": b.scaling, "success": b.solution.success,
                              "x": {k: float(v) for k, v in b.solution.x.items()},
                              "chi": str(b.solution.chi) if not math.isfinite(b.solution.chi) else b.solution.chi,
                              "replicon": b.replicon, "replicon_exponent": b.replicon_exponent,
                              "followed_by_path": b.followed_by_path, "stable": b.stable}
                             for b in self.branches]}


def branches_zero_temperature(model: Model | str, point: Point, beta_max: float = 1e6,
                              **solve_kw) -> ZeroTemperatureReport:
    """Every zero-temperature scaling with a solution at ``point`` (beta = inf), each solved,
    and the replicon at T = 0 measured as the beta -> inf limit along the finite-beta Q = 0
    path (beta = 10 ... ``beta_max``, 4 points per decade): the path's slope
    d ln q / d ln beta over the last decade says which scaling it follows (-1 collapsed,
    -1/2 band, 0 q finite); that scaling gets the replicon at beta_max and its exponent.
    A replicon that vanishes like a power of beta (exponent < -1/4) is marginal.
    """
    import numpy as np

    from .continuation import continuation, solve
    from .replicon import replicon
    model = make_model(model) if isinstance(model, str) else model
    if math.isfinite(point.beta):
        raise ModelError("branches_zero_temperature needs beta = inf")
    found = scalings(model, point)
    betas = np.logspace(1, math.log10(beta_max), 4 * round(math.log10(beta_max) - 1) + 1)
    pts = [dataclasses.replace(point, beta=float(b)) for b in betas]
    start = solve(model, pts[0], branch="paramagnetic")
    path, reps = [], []
    if start.success:
        x0 = [start.x[k] for k in ("q", "r", "qh", "rh")]
        for r in continuation(model, pts, kind="finite", branch="paramagnetic", x0=x0):
            if not r.success:
                break
            path.append(r)
    followed, rep_last, rep_exp = None, None, None
    if len(path) == len(pts):
        q = np.array([r.x["q"] for r in path])
        slope = math.log(q[-1] / q[-5]) / math.log(betas[-1] / betas[-5])
        followed = "laplace" if slope < -0.75 else ("band" if slope < -0.25 else "chaotic")
        for r in (path[-5], path[-1]):
            rr = replicon(model, dataclasses.replace(point, beta=r.point["beta"]), r)
            reps.append(rr.replicon if rr.success else None)
        if all(v is not None for v in reps):
            rep_last = float(reps[-1])
            if reps[0] > 0 and reps[-1] > 0:
                rep_exp = math.log(reps[-1] / reps[0]) / math.log(betas[-1] / betas[-5])
            else:
                rep_exp = 0.0
    out = []
    for kind in found:
        if kind == "band":
            sol = band_solution(model, point)
        else:
            sol = solve(model, point, kind=kind, branch="paramagnetic" if kind == "chaotic" else "full",
                        **solve_kw)
        mine = kind == followed
        if mine and kind == "chaotic" and not sol.success:
            # start from the end of the path (same q, r, qh, rh at beta -> inf)
            last = path[-1].x
            retry = solve(model, point, kind="chaotic", branch="paramagnetic",
                          x0=[last[k] for k in ("q", "r", "qh", "rh")], **solve_kw)
            if retry.success:
                sol = dataclasses.replace(retry, message=retry.message + " (started from the beta path)")
        out.append(ZeroTemperatureBranch(kind, sol, rep_last if mine else None,
                                         rep_exp if mine else None, mine))
    if followed is None:
        note = f"the finite-beta path did not reach beta = {beta_max:g}: no replicon measured"
    elif followed not in found:
        note = f"the finite-beta path follows {followed}, which has no T = 0 solution here"
    else:
        b = next(b for b in out if b.followed_by_path)
        state = {True: "replicon-stable", False: "replicon-UNSTABLE (replica symmetry broken)",
                 None: "marginal (replicon -> 0 as a power of beta)"}[b.stable]
        note = (f"{len(found)} zero-temperature scaling(s): {', '.join(found)}; the finite-beta path "
                f"follows {followed}, {state} (replicon {rep_last:.4g} at beta = {beta_max:g})")
    return ZeroTemperatureReport(point, tuple(out), followed, note)
