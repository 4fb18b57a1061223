"""Simulation subcommands of ``qpot``: ``simulate langevin``, ``simulate dynamics``,
``fixed-points`` and ``validate``. ``register(subparsers)`` adds them to the main parser;
each handler returns an exit status and raises ValueError (reported by ``qpot`` with exit
status 2) on bad input.

    qpot simulate langevin --phi tanh --N 1000 --g 1.2 --gamma 0 --beta 10 --eta 0.1 \\
         --replicas 2 --sweeps 20000 --seed 0 --json
"""
from __future__ import annotations

import argparse
import json
import math

import numpy as np

__all__ = ["register"]


def _finite(name, v, lo=None, hi=None, lo_open=False):
    if v is None:
        return
    if not math.isfinite(v):
        raise ValueError(f"{name} must be a finite number, got {v}")
    if lo is not None and (v <= lo if lo_open else v < lo):
        raise ValueError(f"{name} must be {'>' if lo_open else '>='} {lo}, got {v}")
    if hi is not None and v > hi:
        raise ValueError(f"{name} must be <= {hi}, got {v}")


def _check_common(a):
    if a.N < 2:
        raise ValueError(f"N must be >= 2, got {a.N}")
    _finite("g", a.g, lo=0.0)
    _finite("gamma", a.gamma, lo=-1.0, hi=1.0)
    if hasattr(a, "beta"):
        _finite("beta", a.beta, lo=0.0, lo_open=True)
    if hasattr(a, "eta"):
        _finite("eta", a.eta, lo=0.0)


def _net_args(p, N=1000):
    p.add_argument("--phi", default="tanh", help="transfer function (name or formula in x)")
    p.add_argument("--N", type=int, default=N, help="number of units")
    p.add_argument("--g", type=float, required=True, help="coupling gain")
    p.add_argument("--gamma", type=float, default=0.0, help="Corr(J_ij, J_ji) in [-1, 1]")
    p.add_argument("--seed", type=int, default=0, help="seed of J, initial conditions and noise")
    p.add_argument("--json", action="store_true", help="print a JSON object")


def _est(e):
    return {"mean": e.mean, "err": e.err}


# -- simulate langevin ---------------------------------------------------------------------

def cmd_langevin(a) -> int:
    _check_common(a)
    if a.replicas < 1 or a.sweeps < 1:
        raise ValueError("replicas and sweeps must be >= 1")
    _finite("dt", a.dt, lo=0.0, lo_open=True)
    if a.response is not None:
        _finite("response", a.response, lo=0.0, lo_open=True)
    from .couplings import couplings
    from .langevin import LangevinSampler
    from .transfer import kernels

    k = kernels(a.phi, a.U)
    J = couplings(a.N, a.gamma, rng=np.random.default_rng(a.seed))
    if a.temper is not None:
        _finite("temper", a.temper, lo=0.0, lo_open=True)
        if not a.temper < a.beta:
            raise ValueError(f"--temper (lowest beta of the ladder) must be < --beta, got {a.temper}")
        if a.response is not None or a.method != "mala" or a.backend != "cpu":
            raise ValueError("--temper needs method mala, the cpu backend and no --response")
        from .tempering import TemperingSampler, geometric_ladder
        s = TemperingSampler(J, k, a.g, geometric_ladder(a.temper, a.beta, a.N), eta=a.eta,
                             replicas=a.replicas, dt=a.dt, rng=np.random.default_rng(a.seed + 1))
        r = s.run(a.sweeps, burn=a.burn, thin=a.thin, progress=not a.json)[-1]   # top rung
    else:
        s = LangevinSampler(J, k, a.g, a.beta, eta=a.eta, replicas=a.replicas, response=a.response,
                            method=a.method, dt=a.dt, rng=np.random.default_rng(a.seed + 1),
                            backend=a.backend)
        r = s.run(a.sweeps, burn=a.burn, thin=a.thin, progress=not a.json)
    out = {"q": _est(r.q), "Q": _est(r.Q), "energy": _est(r.energy), "chi": _est(r.chi),
           "m": _est(r.m), "tau": r.tau, "acceptance": r.acceptance, "dt": r.dt,
           "N": a.N, "g": a.g, "gamma": a.gamma, "beta": a.beta, "eta": a.eta,
           "replicas": a.replicas, "sweeps": a.sweeps, "seed": a.seed, "method": a.method}
    if a.temper is not None:
        acc = s.swap_acceptance
        out["tempering"] = {"rungs": int(s.G), "beta_min": a.temper,
                            "swap_acceptance": [float(acc.min()), float(acc.max())],
                            "round_trips": int(s.round_trips)}
    if r.chi_resp is not None:
        out["chi_resp"] = _est(r.chi_resp)
        out["chi_fluct_s"] = _est(r.chi_fluct_s)
    _print(out, a.json)
    return 0


# -- simulate dynamics ---------------------------------------------------------------------

def cmd_dynamics(a) -> int:
    _check_common(a)
    _finite("t_max", a.t_max, lo=0.0, lo_open=True)
    _finite("dt", a.dt, lo=0.0, lo_open=True)
    _finite("sigma", a.sigma, lo=0.0)
    if a.t_transient >= a.t_max:
        raise ValueError("t_transient must be < t_max")
    from .couplings import couplings
    from .dynamics import integrate, lyapunov

    J = couplings(a.N, a.gamma, rng=np.random.default_rng(a.seed))
    rng = np.random.default_rng(a.seed + 1)
    tr = integrate(J, a.g, rng.standard_normal(a.N), a.t_max, dt=a.dt, phi=a.phi,
                   sigma=a.sigma, rng=rng)
    out = {"delta0": _est(tr.delta0(a.t_transient)), "q": _est(tr.q_mean(a.t_transient)),
           "N": a.N, "g": a.g, "gamma": a.gamma, "t_max": a.t_max, "seed": a.seed}
    if a.lyapunov:
        if a.sigma > 0:
            raise ValueError("--lyapunov needs the deterministic dynamics (sigma = 0)")
        ly = lyapunov(J, a.g, x0=tr.X_end, t_transient=0.0, t_total=a.t_max - a.t_transient,
                      dt=a.dt, phi=a.phi, rng=rng)
        lo, hi = ly.interval()
        out["lyapunov"] = {"mean": ly.lmax.mean, "err": ly.lmax.err, "ci95": [lo, hi]}
    _print(out, a.json)
    return 0


# -- fixed-points ---------------------------------------------------------------------------

def cmd_fixed_points(a) -> int:
    _check_common(a)
    if a.starts < 1:
        raise ValueError("starts must be >= 1")
    from .couplings import couplings
    from .fixedpoints import find_fixed_points

    J = couplings(a.N, a.gamma, rng=np.random.default_rng(a.seed))
    r = find_fixed_points(J, a.g, n_starts=a.starts, phi=a.phi, rng=np.random.default_rng(a.seed + 1))
    out = r.as_dict()
    out.update(N=a.N, g=a.g, gamma=a.gamma, seed=a.seed)
    _print(out, a.json)
    return 0


# -- validate ------------------------------------------------------------------------------

def _point(text):
    try:
        vals = [float(t) for t in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"a point is 'g,gamma,beta[,eta]', got {text!r}") from None
    if len(vals) not in (3, 4):
        raise argparse.ArgumentTypeError(f"a point is 'g,gamma,beta[,eta]', got {text!r}")
    return dict(g=vals[0], gamma=vals[1], beta=vals[2], eta=vals[3] if len(vals) == 4 else 0.0)


def cmd_validate(a) -> int:
    for p in a.point:
        _finite("g", p["g"], lo=0.0)
        _finite("gamma", p["gamma"], lo=-1.0, hi=1.0)
        _finite("beta", p["beta"], lo=0.0, lo_open=True)
        _finite("eta", p["eta"], lo=0.0)
    if min(a.N) < 2:
        raise ValueError("every N must be >= 2")
    from .validate import linear_exact_theory, replica_theory, validate

    theory = None
    if a.theory == "replica":
        try:
            theory = replica_theory(a.phi)
        except ImportError as exc:
            raise ValueError(f"replica solver not available: {exc}") from None
    elif a.theory == "linear-exact":
        theory = linear_exact_theory()
    t = validate(a.point, Ns=tuple(a.N), theory=theory, phi=a.phi, seeds=tuple(a.seeds),
                 steps=a.sweeps, replicas=a.replicas, csv_path=a.csv, plot_path=a.plot,
                 progress=not a.json, independent=a.independent)
    rows = t.extrapolated()
    if a.json:
        print(json.dumps({"extrapolated": rows, "runs": t.runs, "csv": a.csv, "plot": a.plot},
                         indent=1, default=float))
    else:
        for r in rows:
            th = "" if r["theory"] is None else f"  theory {r['theory']:.6g}  z = {r['z']:+.2f}"
            print(f"g={r['g']} gamma={r['gamma']} beta={r['beta']} {r['observable']:>6}: "
                  f"{r['mean']:.6g} ± {r['err']:.2g} (N -> inf){th}")
    return 0


def _print(out, as_json):
    if as_json:
        print(json.dumps(out, indent=1, default=float))
    else:
        for k, v in out.items():
            if isinstance(v, dict) and "mean" in v:
                print(f"{k:>12}: {v['mean']:.6g} ± {v['err']:.2g}")
            else:
                print(f"{k:>12}: {v}")


def register(subparsers) -> None:
    sim = subparsers.add_parser("simulate", help="simulate the network (Langevin on E, or the dynamics)")
    ss = sim.add_subparsers(dest="simulation", required=True)

    p = ss.add_parser("langevin", help="sample exp(-beta E) with replicated Langevin/MALA chains")
    _net_args(p)
    p.add_argument("--U", default=None, help="confinement formula in x and eta (default eta*x**2)")
    p.add_argument("--beta", type=float, required=True)
    p.add_argument("--eta", type=float, default=0.0)
    p.add_argument("--replicas", type=int, default=2)
    p.add_argument("--sweeps", type=int, default=10000, help="recorded steps (each updates all units)")
    p.add_argument("--burn", type=int, default=None, help="burn-in steps (default sweeps/4)")
    p.add_argument("--thin", type=int, default=10)
    p.add_argument("--method", choices=["mala", "em"], default="mala")
    p.add_argument("--dt", type=float, default=0.05, help="initial step (adapted in burn-in for MALA)")
    p.add_argument("--response", type=float, default=None, help="probe field eps for chi_resp")
    p.add_argument("--backend", choices=["cpu", "cupy", "auto"], default="cpu")
    p.add_argument("--temper", type=float, default=None, metavar="BETA_MIN",
                   help="parallel tempering on a geometric ladder from BETA_MIN to --beta (ratio "
                        "1 + sqrt(2/N)); the observables are those of the top rung, beta. Round "
                        "trips do not certify equilibrium: at gamma = 0, g = 1.2, beta = 100 a "
                        "ladder from 30 is biased low from N ~ 500 on, one from 3 is not "
                        "(planted test, docs/planted.md)")
    p.set_defaults(func=cmd_langevin)

    p = ss.add_parser("dynamics", help="integrate dx/dt = -x + g J phi(x) (+ noise)")
    _net_args(p)
    p.add_argument("--t-max", dest="t_max", type=float, default=300.0)
    p.add_argument("--t-transient", dest="t_transient", type=float, default=50.0)
    p.add_argument("--dt", type=float, default=0.05)
    p.add_argument("--sigma", type=float, default=0.0, help="white-noise amplitude")
    p.add_argument("--lyapunov", action="store_true", help="maximal Lyapunov exponent (Benettin)")
    p.set_defaults(func=cmd_dynamics)

    p = subparsers.add_parser("fixed-points", help="fixed points by Levenberg-Marquardt from many starts")
    _net_args(p, N=200)
    p.add_argument("--starts", type=int, default=20)
    p.set_defaults(func=cmd_fixed_points)

    p = subparsers.add_parser("validate", help="replica theory against Langevin simulation, N -> inf")
    p.add_argument("--phi", default="tanh")
    p.add_argument("--point", type=_point, action="append", required=True,
                   help="g,gamma,beta[,eta] (repeatable)")
    p.add_argument("--N", type=int, nargs="+", default=[250, 500, 1000])
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--sweeps", type=int, default=4000)
    p.add_argument("--replicas", type=int, default=2)
    p.add_argument("--theory", choices=["none", "replica", "linear-exact"], default="replica")
    p.add_argument("--independent", action="store_true",
                   help="fresh networks and sampler noise at every point (default: the same seeds)")
    p.add_argument("--csv", default=None)
    p.add_argument("--plot", default=None)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_validate)
