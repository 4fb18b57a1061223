"""The ``qpot`` command: derive, solve, transition, sweep, phase-diagram, simulate, ...

Every subcommand validates its input (clear message, exit status 2) and has ``--json``
where it produces numbers.
"""
from __future__ import annotations

import argparse
import json
import math
import sys

from theory.formula import FormulaError
from theory.model import ModelError, Point, make_model


def _model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--phi", default="tanh", help="catalogue name or formula in x (default tanh)")
    p.add_argument("--U", default=None, help="confinement formula in x and eta (default eta*x**2)")
    p.add_argument("--J0", type=float, default=None, help="mean coupling J0 (adds m and k)")
    p.add_argument("--input", default=None, metavar="I0,sI", help="quenched input mean and std")


def _model_from(args):
    J0 = getattr(args, "J0", None)
    inp = getattr(args, "input", None)
    model = make_model(args.phi, args.U, mean_coupling=J0 is not None, quenched_input=inp is not None)
    extra = {}
    if J0 is not None:
        extra["J0"] = J0
    if inp is not None:
        try:
            I0, sI = (float(t) for t in inp.split(","))
        except ValueError:
            raise ModelError(f"--input must be 'I0,sI', got {inp!r}") from None
        extra.update(I0=I0, sI=sI)
    return model, extra


def _beta(text: str) -> float:
    if text.strip().lower() in ("inf", "infinity", "oo"):
        return math.inf
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"beta must be a number or 'inf', got {text!r}") from None


# -- derive ------------------------------------------------------------------------------
def cmd_derive(args) -> int:
    import sympy as sp
    from theory.kernels import derived_model
    model, _ = _model_from(args)
    d = derived_model(model, args.kind, args.branch)
    if args.format == "latex":
        print(d.latex())
    elif args.format == "json":
        exprs, E, P = d.equation_exprs()
        out = {
            "model": model.label, "kind": d.kind, "provenance": d.provenance,
            "order_parameters": [s.name for s in d.order_params],
            "controls": [s.name for s in d.controls],
            "fields": [s.name for s in d.fields],
            "field_mean": [sp.sstr(e) for e in d.field_mean],
            "field_covariance": [[sp.sstr(c) for c in row] for row in d.field_cov],
            "symbols": sorted({s.name for e in [d.G, d.H, *d.observables] for s in e.free_symbols}
                              | {s.name for s in d.order_params + d.controls + d.fields}),
            "parse_with": "sympy.sympify(text, locals={name: sympy.Symbol(name) for name in symbols})",
            "G": sp.sstr(d.G), "H": sp.sstr(d.H), "inner": d.inner,
            "observables": {f"E_{i}": sp.sstr(o) for i, o in enumerate(d.observables)},
            "pairs": {f"P_{i}_{j}": f"E[<O_{i}><O_{j}>]" for i, j in d.pairs},
            "equations": {f"dPhi/d{e.var}": sp.sstr(x) for e, x in zip(d.equations, exprs)},
        }
        print(json.dumps(out, indent=2))
    else:
        print(d.text())
    return 0


# -- solve -------------------------------------------------------------------------------
def cmd_solve(args) -> int:
    import dataclasses

    from .continuation import solve
    model, extra = _model_from(args)
    point = Point(g=args.g, gamma=args.gamma, beta=args.beta, eta=args.eta, **extra)
    kind = args.kind or ("finite" if math.isfinite(point.beta) else _auto_or_chaotic(model, point, args.digits))
    if args.branches:
        return _print_branches(model, point, args)
    if kind == "auto":
        if math.isfinite(point.beta) or args.digits:
            raise ModelError("--kind auto picks a zero-temperature scaling: beta = inf, double precision")
        from .zero_temperature import solve_zero_temperature
        res = solve_zero_temperature(model, point, tol=args.tol, method=args.method,
                                     progress=not args.json)
    elif args.digits:
        from .precision import solve_mp
        res = solve_mp(model, point, kind=kind, branch=args.branch, digits=args.digits)
    else:
        res = solve(model, point, kind=kind, branch=args.branch, tol=args.tol, method=args.method,
                    progress=not args.json)
        if res.success and kind == "finite":
            from .replicon import replicon
            rep = replicon(model, point, res)
            if rep.success:
                res = dataclasses.replace(res, extra={**res.extra, "replicon": rep.replicon,
                                                      "replicon_stable": bool(rep.stable)})
    if args.json:
        print(res.to_json())
    else:
        print(f"{'converged' if res.success else 'FAILED'}: {res.message}")
        for k, v in res.x.items():
            print(f"  {k:>6} = {v}")
        print(f"  chi = {res.chi}, free energy = {res.free_energy}, energy = {res.energy}")
        if "scaling" in res.extra:
            print(f"  zero-temperature scaling: {res.extra['scaling']}")
        if "replicon" in res.extra:
            print(f"  replicon = {res.extra['replicon']:.6g} "
                  f"({'stable' if res.extra['replicon_stable'] else 'UNSTABLE: replica symmetry broken'})")
    return 0 if res.success else 1


def _auto_or_chaotic(model, point, digits=None) -> str:
    """beta = inf default: the scaling picked by the lines (numerics.zero_temperature) where
    they are classified, in double precision; else q - Q finite."""
    from .zero_temperature import unclassified
    return "auto" if digits is None and unclassified(model, point) is None else "chaotic"


def _print_branches(model, point, args) -> int:
    """Every RS branch at finite beta (numerics.branches), every zero-temperature scaling at
    beta = inf (numerics.zero_temperature)."""
    if args.digits:
        raise ModelError("--branches works in double precision (drop --digits)")
    if math.isfinite(point.beta):
        from .branches import branches
        rep = branches(model, point)
    else:
        from .zero_temperature import branches_zero_temperature
        rep = branches_zero_temperature(model, point)
    print(json.dumps(rep.as_dict(), indent=2) if args.json else "\n".join(rep.lines()))
    return 0 if rep.found else 1


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="qpot", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("derive", help="derive the RS free energy and saddle-point equations")
    _model_args(p)
    p.add_argument("--kind", default="finite", choices=["finite", "laplace", "chaotic"])
    p.add_argument("--branch", default="full", choices=["full", "paramagnetic"])
    p.add_argument("--format", default="text", choices=["text", "latex", "json"])
    p.set_defaults(func=cmd_derive)

    p = sub.add_parser("solve", help="solve the saddle-point equations at one point")
    _model_args(p)
    p.add_argument("--g", type=float, required=True)
    p.add_argument("--gamma", type=float, default=0.0)
    p.add_argument("--beta", type=_beta, default=10.0, help="inverse temperature or 'inf'")
    p.add_argument("--eta", type=float, default=0.0)
    p.add_argument("--kind", default=None, choices=["finite", "laplace", "chaotic", "auto"],
                   help="default: finite for finite beta; for beta = inf, auto (the scaling that "
                        "holds at (g, gamma): collapsed, band or q - Q finite) where classified, "
                        "else chaotic (q - Q finite)")
    p.add_argument("--branch", default="full", choices=["full", "paramagnetic"])
    p.add_argument("--digits", type=int, default=None, help="arbitrary precision (mpmath)")
    p.add_argument("--tol", type=float, default=1e-10)
    p.add_argument("--method", default="hybr", choices=["hybr", "lm", "newton", "damped"],
                   help="Newton/hybrid (scipy root 'hybr' or 'lm') or damped fixed-point iteration")
    p.add_argument("--branches", action="store_true",
                   help="every RS branch (Q = 0, Q > 0) with free energy and replicon; at beta = inf "
                        "every zero-temperature scaling with the replicon limit along the beta path")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_solve)

    import importlib
    import importlib.util
    for mod in ("numerics.cli_main", "numerics.cli_analysis", "numerics.cli_transition", "numerics.cli_simulate"):
        if importlib.util.find_spec(mod) is not None:
            importlib.import_module(mod).register(sub)

    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ModelError, FormulaError, ValueError) as exc:
        print(f"qpot: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
