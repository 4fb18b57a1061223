"""Every RS solution branch at a parameter point, with its free energy and replicon.

At a point (finite beta) the solver is run on each branch the model has:

* ``Q = 0``: the paramagnetic branch (Q = R = Qh = Rh = 0, and m = k = mh = kh = 0 with
  mean coupling), an exact solution for odd phi without input;
* ``Q > 0``: the full equations, searched next to the Q = 0 solution (or, for models where
  Q = 0 is not a solution, continued from g = 0).

Each converged branch gets its free energy f = -Phi/beta and its replicon analysis
(``numerics.replicon``). The physical RS solution is the replicon-stable one; when no
branch is stable, replica symmetry is broken at the point (``rs_broken``); when several
are stable, none is marked and the note says so (the free energies are reported to
compare, but the n -> 0 extremum rule does not pick one for a functional of several
conjugate pairs).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from theory.model import Model, ModelError, Point, make_model

from .replicon import RepliconResult, replicon
from .result import SaddleResult


@dataclass(frozen=True)
class Branch:
    """One RS solution: ``name`` ("Q = 0" or "Q > 0"), the solve, its replicon."""

    name: str
    solution: SaddleResult
    replicon: RepliconResult
    physical: bool = False

    def as_dict(self) -> dict:
        return {"name": self.name, "physical": self.physical,
                "free_energy": _f(self.solution.free_energy), "q": _f(self.solution.x["q"]),
                "Q": _f(self.solution.x.get("Q", 0.0)), "chi": _f(self.solution.chi),
                "order_parameters": {k: _f(v) for k, v in self.solution.x.items()},
                "residual_norm": _f(self.solution.residual_norm),
                "replicon": self.replicon.as_dict()}


@dataclass(frozen=True)
class BranchReport:
    """All branches found at ``point``; ``rs_broken`` when none is replicon-stable."""

    point: Point
    branches: tuple = ()
    rs_broken: bool = False
    note: str = ""
    failures: dict = field(default_factory=dict)

    @property
    def physical(self) -> Branch | None:
        for b in self.branches:
            if b.physical:
                return b
        return None

    @property
    def found(self) -> bool:
        return bool(self.branches)

    def lines(self) -> list[str]:
        """Text summary: the note, one line per branch, one per failed search."""
        out = [self.note]
        for b in self.branches:
            out.append(f"  {b.name:6s} q = {b.solution.x['q']:.10g}  Q = {b.solution.x.get('Q', 0.0):.10g}"
                       f"  f = {b.solution.free_energy:.12g}  replicon = {b.replicon.replicon:.6g}"
                       f"{'  <- physical' if b.physical else ''}")
        out += [f"  {name}: {msg}" for name, msg in self.failures.items()]
        return out

    def as_dict(self) -> dict:
        return {"point": {k: _f(getattr(self.point, k)) for k in
                          ("g", "gamma", "beta", "eta", "J0", "I0", "sI")},
                "branches": [b.as_dict() for b in self.branches],
                "rs_broken": self.rs_broken, "note": self.note, "failures": self.failures}


def _f(v):
    v = float(v)
    return v if math.isfinite(v) else str(v)


def branches(model: Model | str, point: Point, *, n_gh: int = 48, q_min: float = 1e-8) -> BranchReport:
    """Find the Q = 0 and Q > 0 RS solutions at ``point`` (finite beta) and classify them."""
    from .continuation import _full_from_paramagnetic, _symmetric, embed_paramagnetic, solve
    mdl = make_model(model) if isinstance(model, str) else model
    if not isinstance(point, Point):
        raise ModelError(f"point must be a Point, got {point!r}")
    if not math.isfinite(point.beta):
        raise ModelError("branches are classified at finite beta (the replicon needs it); "
                         "use a large beta")
    found, failures = [], {}
    if _symmetric(mdl):
        para = solve(mdl, point, branch="paramagnetic", n_gh=n_gh)
        if para.success:
            found.append(("Q = 0", embed_paramagnetic(mdl, point, para, n_gh=n_gh)))
            full = _full_from_paramagnetic(mdl, point, para=para, n_gh=n_gh)
            if full.success and full.x.get("Q", 0.0) > q_min:
                found.append(("Q > 0", full))
            else:
                msg = full.extra.get("Q_positive_search", "no Q > 0 solution found")
                if msg.startswith("converged"):
                    msg = "the search from Q = q/2 returned to Q = 0"
                failures["Q > 0"] = msg
        else:
            failures["Q = 0"] = para.message
    else:
        full = solve(mdl, point, n_gh=n_gh)
        if full.success:
            found.append(("Q > 0" if full.x.get("Q", 0.0) > q_min else "Q = 0", full))
        else:
            failures["full"] = full.message
    out = []
    for name, sol in found:
        out.append(Branch(name, sol, replicon(mdl, point, sol, n_gh=n_gh)))
    stable = [b for b in out if b.replicon.success and b.replicon.stable]
    if len(stable) == 1:
        out = [Branch(b.name, b.solution, b.replicon, b is stable[0]) for b in out]
        note = f"physical RS solution: {stable[0].name} (the replicon-stable one)"
    elif not stable and out:
        note = "no RS branch is replicon-stable: replica symmetry is broken here"
    elif not out:
        note = "no RS solution converged"
    else:
        note = (f"{len(stable)} replicon-stable RS branches; free energies "
                + ", ".join(f"{b.name}: {b.solution.free_energy:.10g}" for b in stable))
    return BranchReport(point, tuple(out), bool(out) and not stable, note, failures)


__all__ = ["Branch", "BranchReport", "branches"]
