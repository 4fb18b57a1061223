"""``qpot edge-of-chaos``: the main job on an embedded default.

1. Zero-temperature lines for gamma in {-0.3, 0, 0.3, 0.6}: the response divergence g_chi
   (collapsed replicas, 20 digits) and the onset g_q of q in the q - Q finite solution.
2. Zero-temperature curves at gamma = 0.3: chi(g) of the collapsed solution below g_chi,
   b(g) = lim beta q^2 of the band scaling between the lines (closed form) and q(g) of the
   q - Q finite solution above g_q, with the paper's line g(1 + gamma) = 1 marked.
3. A finite-temperature point checked against a Langevin simulation of exp(-beta E)
   (N = 400, two replicas, MALA): q, Q and the energy per site with error bars.

Writes ``<out>/edge_of_chaos.json`` and ``<out>/edge_of_chaos.png``.
"""
from __future__ import annotations

import json
import math
import os


def run(out: str, quick: bool = False, progress: bool = True) -> dict:
    import mpmath
    import numpy as np

    from theory.model import Point, make_model

    from .continuation import continuation, solve
    from .couplings import couplings
    from .langevin import langevin
    from .transition import g_chi, g_q

    os.makedirs(out, exist_ok=True)
    model = make_model("tanh")
    summary = {"model": model.label, "lines": [], "check": None}
    for gamma in ([0.0, 0.3] if quick else [-0.3, 0.0, 0.3, 0.6]):
        gc, info = g_chi(model, gamma, digits=20)
        gq, amp, qinfo = g_q(model, gamma, g_guess=float(gc))
        with mpmath.workdps(20):
            row = {"gamma": gamma, "g_chi": mpmath.nstr(gc, 20), "g_chi_times_1_plus_gamma": mpmath.nstr(gc * (1 + mpmath.mpf(str(gamma))), 20),
                   "g_q": float(gq), "g_q_times_sqrt_1_plus_gamma": float(gq) * math.sqrt(1 + gamma),
                   "g_q_error_estimate": float(qinfo["extrapolation_error"]), "amplitude": float(amp)}
        summary["lines"].append(row)
        if progress:
            print(f"gamma={gamma:+.1f}: g_chi={row['g_chi']} (x(1+gamma)={row['g_chi_times_1_plus_gamma']}), "
                  f"g_q={row['g_q']:.10f} (x sqrt(1+gamma)={row['g_q_times_sqrt_1_plus_gamma']:.10f})", flush=True)

    # zero-temperature curves at gamma = 0.3
    gamma = 0.3
    gs_lap = np.linspace(0.05, 0.76, 15)
    lap = [r for r in continuation(model, [Point(g=float(g), gamma=gamma, beta=math.inf) for g in gs_lap],
                                   kind="laplace")]
    gs_cha = np.linspace(0.9, 1.6, 15)
    cha = [solve(model, Point(g=float(g), gamma=gamma, beta=math.inf), kind="chaotic", branch="paramagnetic")
           for g in gs_cha]
    from .zero_temperature import band_b, lines as zt_lines
    ln = zt_lines(model, gamma)
    gs_band = np.linspace(ln["g_chi"], ln["g_q"], 17)[1:-1]
    summary["zero_T_gamma_0.3"] = {
        "laplace": [{"g": r.point["g"], "chi": r.chi, "success": r.success} for r in lap],
        "band": [{"g": float(g), "b": band_b(model, float(g), gamma)} for g in gs_band],
        "chaotic": [{"g": r.point["g"], "q": r.x["q"], "success": r.success} for r in cha]}

    # simulation check at a finite-temperature point
    pt = Point(g=0.8, gamma=0.3, beta=5.0, eta=0.1)
    theory = solve(model, pt, branch="paramagnetic")
    N = 300 if quick else 400
    J = couplings(N, pt.gamma, rng=np.random.default_rng(1))
    sim = langevin(J, "tanh", g=pt.g, beta=pt.beta, eta=pt.eta, replicas=2,
                   steps=8000 if quick else 30000, seed=2, progress=progress)
    summary["check"] = {"point": {"g": pt.g, "gamma": pt.gamma, "beta": pt.beta, "eta": pt.eta, "N": N},
                        "theory": {"q": theory.x["q"], "Q": 0.0, "energy": theory.energy},
                        "simulation": {"q": sim.q.as_dict(), "Q": sim.Q.as_dict(), "energy": sim.energy.as_dict()},
                        "deviation_in_error_bars": {
                            "q": (sim.q.mean - theory.x["q"]) / max(sim.q.err, 1e-12),
                            "energy": (sim.energy.mean - theory.energy) / max(sim.energy.err, 1e-12)},
                        "note": "finite N: O(1/N) corrections are not extrapolated here (see qpot validate)"}
    _figure(summary, os.path.join(out, "edge_of_chaos.png"))
    with open(os.path.join(out, "edge_of_chaos.json"), "w") as fh:
        json.dump(summary, fh, indent=2, default=float)
    return summary


def _figure(summary, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    z = summary["zero_T_gamma_0.3"]
    a.semilogy([p["g"] for p in z["laplace"] if p["success"]], [p["chi"] for p in z["laplace"] if p["success"]],
               "o-", label="χ, collapsed replicas (T=0)")
    a.semilogy([p["g"] for p in z.get("band", [])], [p["b"] for p in z.get("band", [])], "^-", color="C2",
               label="b = lim βq², band (q ≈ √(b/β))")
    a2 = a.twinx()
    a2.plot([p["g"] for p in z["chaotic"] if p["success"]], [p["q"] for p in z["chaotic"] if p["success"]],
            "s-", color="C1", label="q, q−Q finite (T=0)")
    a.axvline(1 / 1.3, color="k", ls="--", lw=1, label="g(1+γ)=1 (paper)")
    a.axvline(1 / math.sqrt(1.3), color="C3", ls=":", lw=1, label="g√(1+γ)=1")
    a.set_xlabel("g"), a.set_ylabel("χ (collapsed), b (band)"), a2.set_ylabel("q")
    a.set_title("γ = 0.3, zero temperature")
    a.legend(loc="upper left", fontsize=7), a2.legend(loc="lower right", fontsize=7)
    lines = summary["lines"]
    gam = [r["gamma"] for r in lines]
    b.plot(gam, [float(r["g_chi"]) for r in lines], "o", label="g_χ (response diverges)")
    b.plot(gam, [r["g_q"] for r in lines], "s", label="g_q (q leaves 0)")
    gg = [x / 100 for x in range(-50, 81)]
    b.plot(gg, [1 / (1 + x) for x in gg], "k--", lw=1, label="g = 1/(1+γ)")
    b.plot(gg, [1 / math.sqrt(1 + x) for x in gg], "C3:", lw=1, label="g = 1/√(1+γ)")
    b.set_xlabel("γ"), b.set_ylabel("g"), b.legend(fontsize=7)
    b.set_title("zero-temperature lines")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def cmd_edge(args) -> int:
    summary = run(args.out, quick=args.quick, progress=not args.json)
    if args.json:
        print(json.dumps(summary, indent=2, default=float))
    else:
        c = summary["check"]
        print(f"simulation check at {c['point']}: theory q={c['theory']['q']:.5f}, "
              f"simulation q={c['simulation']['q']['mean']:.5f} ± {c['simulation']['q']['err']:.5f}; "
              f"theory e={c['theory']['energy']:.5f}, simulation e={c['simulation']['energy']['mean']:.5f} "
              f"± {c['simulation']['energy']['err']:.5f}")
        print(f"wrote {os.path.join(args.out, 'edge_of_chaos.json')} and edge_of_chaos.png")
    return 0


def register(sub) -> None:
    p = sub.add_parser("edge-of-chaos", help="main job: zero-T lines, curves and a simulation check")
    p.add_argument("--out", default="results")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_edge)
