"""``qpot sweep`` and ``qpot phase-diagram``: grids of saddle-point solutions on disk.

    qpot sweep --phi tanh --g 0.8:1.2:41 --gamma -0.3,0,0.3 --beta 10 --out results/sweep.nc
    qpot phase-diagram --beta 10 --ng 31 --ngamma 21 --out results/phase_diagram.png

A range is ``a:b:n`` (n values from a to b inclusive, evenly spaced) or a comma list; beta
also accepts ``inf``. Bad input gives a message on stderr and exit status 2 (raised here as
ValueError or ModelError, reported by :func:`numerics.cli.main`).
"""
from __future__ import annotations

import json
import math
import os
import re

import numpy as np

from theory.model import Point

from .cli import _beta, _model_args, _model_from

EDGE_LABEL = "g(1+γ)=1 (paper's edge of chaos)"


def parse_values(text: str, name: str) -> np.ndarray:
    """``a:b:n`` -> n evenly spaced values from a to b inclusive; ``a,b,c`` -> a list;
    a single number -> one value. ``inf`` is accepted where the quantity allows it."""
    text = str(text).strip()
    hint = f"--{name} must be a number, a comma list or a range a:b:n (n >= 1 points), got {text!r}"
    if ":" in text:
        parts = text.split(":")
        try:
            a, b, n = float(parts[0]), float(parts[1]), int(parts[2])
        except (ValueError, IndexError):
            raise ValueError(hint) from None
        if len(parts) != 3 or n < 1 or not (math.isfinite(a) and math.isfinite(b)) \
                or (n == 1 and a != b):
            raise ValueError(hint)
        return np.linspace(a, b, n)
    try:
        vals = [_number(t, name == "beta") for t in text.split(",")]
    except ValueError:
        raise ValueError(hint) from None
    if not vals or any(math.isnan(v) for v in vals):
        raise ValueError(hint)
    if len(set(vals)) != len(vals):
        raise ValueError(f"--{name} repeats a value: {text!r}")
    return np.array(vals, dtype=float)


def _number(text: str, allow_inf: bool) -> float:
    t = text.strip().lower()
    if allow_inf and t in ("inf", "infinity", "oo"):
        return math.inf
    return float(t)


def _check_grid(g, gamma, beta, eta, extra) -> None:
    """Every value on its own axis must make a valid Point (|gamma| <= 1, g >= 0, beta > 0)."""
    for gv in g:
        Point(g=gv, **extra)
    for gm in gamma:
        Point(g=0.0, gamma=gm, **extra)
    for bt in beta:
        Point(g=0.0, beta=bt, **extra)
    for et in eta:
        Point(g=0.0, eta=et, **extra)


def _kind_for(kind, beta) -> str:
    if kind:
        return kind
    finite = np.isfinite(beta)
    if finite.all():
        return "finite"
    if not finite.any():
        return "chaotic"
    raise ValueError("--beta mixes finite values and inf: a sweep uses one scaling (--kind)")


def _summary(ds, path: str) -> dict:
    ok = ds["success"].values
    failures = []
    for idx in zip(*np.nonzero(~ok)):
        pt = {d: float(ds[d].values[i]) for d, i in zip(ds["success"].dims, idx)}
        pt = {k: (v if math.isfinite(v) else str(v)) for k, v in pt.items()}
        failures.append({**pt, "message": str(ds["message"].values[idx])})
    return {"path": os.path.abspath(path), "points": int(ok.size), "converged": int(ok.sum()),
            "failed": len(failures), "computed": int(ds.attrs.get("points_computed", 0)),
            "reused": int(ds.attrs.get("points_reused", 0)), "failures": failures}


def _report(summary: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(summary, indent=2))
        return
    print(f"{summary['path']}: {summary['converged']} of {summary['points']} points converged "
          f"({summary['computed']} computed, {summary['reused']} reused)")
    for f in summary["failures"][:20]:
        where = ", ".join(f"{k}={v}" for k, v in f.items() if k != "message")
        print(f"  FAILED at {where}: {f['message']}")
    if summary["failed"] > 20:
        print(f"  ... and {summary['failed'] - 20} more failures (see the 'message' variable)")


# -- sweep -----------------------------------------------------------------------------------
def cmd_sweep(args) -> int:
    from .sweep import sweep
    model, extra = _model_from(args)
    g = parse_values(args.g, "g")
    gamma = parse_values(args.gamma, "gamma")
    beta = parse_values(args.beta, "beta")
    eta = parse_values(args.eta, "eta")
    _check_grid(g, gamma, beta, eta, extra)
    kind = _kind_for(args.kind, beta)
    ds = sweep(model, g, gamma, beta, eta, kind=kind, branch=args.branch, out=args.out,
               scheduler=args.scheduler, workers=args.workers, progress=not args.json,
               tol=args.tol, controls=extra)
    _report(_summary(ds, args.out), args.json)
    return 0


# -- phase diagram ------------------------------------------------------------------------------
def plot_phase_diagram(ds, path: str) -> None:
    """q and chi over the (g, gamma) plane (first beta and eta of ``ds``), the paper's
    edge-of-chaos line g (1 + gamma) = 1 and the failed points marked; saved as ``path``."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    d = ds.isel(beta=0, eta=0)
    g, gamma = d["g"].values, d["gamma"].values
    ok = d["success"].values
    qname = "q" if "q" in d else d.attrs["order_parameters"].split()[0]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5), constrained_layout=True)
    panels = [(qname, None), ("chi", "log")]
    for ax, (name, scale) in zip(axes, panels):
        z = d[name].values.astype(float)
        bad = ~ok | ~np.isfinite(z) | ((z <= 0) if scale == "log" else False)
        zm = np.ma.masked_array(z, mask=bad)
        norm = None
        if scale == "log" and zm.count():
            norm = LogNorm(vmin=zm.min(), vmax=max(zm.max(), zm.min() * (1 + 1e-12)))
        if zm.count():
            mesh = ax.pcolormesh(g, gamma, zm, shading="nearest", norm=norm, cmap="viridis")
            fig.colorbar(mesh, ax=ax, label=name + (" (log scale)" if scale else ""))
        if (~ok).any():
            G, Gm = np.meshgrid(g, gamma)
            ax.scatter(G[~ok], Gm[~ok], marker="x", color="red", s=18, label="not converged")
        lo, hi = gamma.min(), gamma.max()
        gl = np.linspace(g.min(), g.max(), 400)
        gl = gl[gl > 0]
        line = 1.0 / gl - 1.0
        keep = (line >= lo - 1e-12) & (line <= hi + 1e-12)
        ax.plot(gl[keep], line[keep], color="white", lw=2.2)
        ax.plot(gl[keep], line[keep], color="black", lw=1.2, ls="--", label=EDGE_LABEL)
        ax.set_xlabel("g")
        ax.set_ylabel("γ")
        ax.set_title(f"{name}   ({ds.attrs.get('model')}, β={float(d['beta'])}, "
                     f"η={float(d['eta'])}, {ds.attrs.get('kind')}, {ds.attrs.get('branch')})",
                     fontsize=9)
        ax.legend(loc="upper right", fontsize=8)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def cmd_phase_diagram(args) -> int:
    from .sweep import sweep
    model, extra = _model_from(args)
    if args.ng < 1 or args.ngamma < 1:
        raise ValueError(f"--ng and --ngamma must be >= 1, got {args.ng}, {args.ngamma}")
    g = np.linspace(args.g_min, args.g_max, args.ng)
    gamma = np.linspace(args.gamma_min, args.gamma_max, args.ngamma)
    _check_grid(g, gamma, [args.beta], [args.eta], extra)
    kind = _kind_for(args.kind, np.array([args.beta]))
    nc = os.path.splitext(args.out)[0] + ".nc"
    ds = sweep(model, g, gamma, args.beta, args.eta, kind=kind, branch=args.branch, out=nc,
               scheduler=args.scheduler, workers=args.workers, progress=not args.json,
               tol=args.tol, controls=extra)
    plot_phase_diagram(ds, args.out)
    summary = _summary(ds, nc)
    summary = {"figure": os.path.abspath(args.out), "netcdf": summary.pop("path"), **summary}
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"figure: {summary['figure']}")
        _report({"path": summary["netcdf"], **summary}, False)
    return 0


def _execution_args(p) -> None:
    p.add_argument("--scheduler", default=None,
                   help="Dask scheduler address, or 'local' to start a LocalCluster "
                        "(default: a local process pool)")
    p.add_argument("--workers", type=int, default=None, help="worker processes (default: all CPUs)")
    p.add_argument("--tol", type=float, default=1e-10)
    p.add_argument("--json", action="store_true", help="print a JSON summary")


#: values such as "-0.3,0,0.3" or "-0.8:0.8:5" are arguments, not options (argparse by
#: itself only accepts a plain negative number after an option)
_NEGATIVE_VALUES = re.compile(r"^-\.?\d")


def register(subparsers) -> None:
    """Add ``sweep`` and ``phase-diagram`` to the ``qpot`` command."""
    p = subparsers.add_parser("sweep", help="solve on a grid of (g, gamma, beta, eta); netCDF out")
    p._negative_number_matcher = _NEGATIVE_VALUES
    _model_args(p)
    p.add_argument("--g", required=True, help="a:b:n (inclusive) or a comma list")
    p.add_argument("--gamma", default="0", help="a:b:n or a comma list (default 0)")
    p.add_argument("--beta", default="10", help="a:b:n or a comma list; 'inf' for zero temperature")
    p.add_argument("--eta", default="0", help="a:b:n or a comma list (default 0)")
    p.add_argument("--kind", default=None, choices=["finite", "laplace", "chaotic"],
                   help="default: finite for finite beta, chaotic (q - Q finite) for beta = inf")
    p.add_argument("--branch", default="full", choices=["full", "paramagnetic"])
    p.add_argument("--out", default=os.path.join("results", "sweep.nc"), help="netCDF file")
    _execution_args(p)
    p.set_defaults(func=cmd_sweep)

    p = subparsers.add_parser("phase-diagram",
                              help="sweep the (g, gamma) plane and plot q and chi")
    p._negative_number_matcher = _NEGATIVE_VALUES
    _model_args(p)
    p.add_argument("--beta", type=_beta, default=10.0, help="inverse temperature or 'inf'")
    p.add_argument("--eta", type=float, default=0.0)
    p.add_argument("--kind", default="finite", choices=["finite", "laplace", "chaotic"])
    p.add_argument("--branch", default="paramagnetic", choices=["full", "paramagnetic"])
    p.add_argument("--ng", type=int, default=31, help="number of g values")
    p.add_argument("--ngamma", type=int, default=21, help="number of gamma values")
    p.add_argument("--g-min", type=float, default=0.5)
    p.add_argument("--g-max", type=float, default=1.6)
    p.add_argument("--gamma-min", type=float, default=-0.8)
    p.add_argument("--gamma-max", type=float, default=0.8)
    p.add_argument("--out", default=os.path.join("results", "phase_diagram.png"),
                   help="PNG file; the netCDF file is written beside it")
    _execution_args(p)
    p.set_defaults(func=cmd_phase_diagram)
