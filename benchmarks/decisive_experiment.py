"""Decisive experiment for the zero-temperature question of THEORY.md §2.

(a) gamma = 0.3, g in {0.72, 0.82, 0.95}: q(beta) from beta = 10 to 1000. Below
    g(1 + gamma) = 1 (g = 0.72) the Gaussian theory gives q ∝ 1/beta; the claim to test is
    q ∝ beta^(-1/2) between g(1 + gamma) = 1 and g sqrt(1 + gamma) = 1 (g = 0.82) and a
    finite q above (g = 0.95). The fitted exponent p of q ∝ beta^(-p) is reported per N.
(b) gamma = 0, g = 1.2: does q approach the static cavity value 0.1732729446 as beta grows?

Every (g, beta) point of one J sample runs in one batch (rows share J, so the two
products per step are BLAS-3 with many rows). Each point is run from two initial
conditions (x ~ s N(0, 1) with s = 0.1 and s = 2) with ``replicas`` chains each;
equilibration is checked by comparing the two starts and the two halves of the recorded
energy trace, in units of their error bars. MALA, dt adapted during burn-in only.

    python benchmarks/decisive_experiment.py --N 500 1000 2000 --steps 20000
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from numerics.couplings import couplings  # noqa: E402
from numerics.langevin import LangevinSampler  # noqa: E402
from numerics.stats import combine, estimate, weighted_lstsq  # noqa: E402
from numerics.transfer import builtin_kernels  # noqa: E402

Q_CAVITY = 0.1732729446  # static cavity q at g = 1.2, gamma = 0, tanh (numerics.dmft)


def run_block(N, gamma, gs, betas, inits, replicas, steps, burn, seed, thin, backend, eta):
    """All (g, beta, init) points on one J sample. Returns a list of row dicts."""
    J = couplings(N, gamma, rng=np.random.default_rng(seed))
    pts = [(g, b, s) for g in gs for b in betas for s in inits]
    rng = np.random.default_rng(10_000 + seed)
    X0 = np.concatenate([s * rng.standard_normal((replicas, N)) for (_, _, s) in pts])
    smp = LangevinSampler(J, builtin_kernels("tanh"), [p[0] for p in pts], [p[1] for p in pts],
                          eta=eta, replicas=replicas, rng=rng, X0=X0, dt=0.05,
                          backend=backend)
    t0 = time.perf_counter()
    res = smp.run(steps, burn=burn, thin=thin, progress=False, keep_series=True)
    wall = time.perf_counter() - t0
    rows = []
    for (g, b, s), r in zip(pts, res):
        e = r.series["e"]
        h = e.size // 2
        e1, e2 = estimate(e[:h]), estimate(e[h:])
        drift = (e2.mean - e1.mean) / max(np.hypot(e1.err, e2.err), 1e-300)
        qs = r.series["q"]
        q1, q2 = estimate(qs[:h]), estimate(qs[h:])
        rows.append(dict(N=N, gamma=gamma, g=g, beta=b, init=s, seed=seed,
                         q=r.q.mean, q_err=r.q.err, q_tau=r.q.tau,
                         Q=r.Q.mean, Q_err=r.Q.err, chi=r.chi.mean, chi_err=r.chi.err,
                         energy=r.energy.mean, energy_err=r.energy.err,
                         energy_drift_sigma=float(drift),
                         q_half_drift_sigma=float((q2.mean - q1.mean) / max(np.hypot(q1.err, q2.err), 1e-300)),
                         acceptance=r.acceptance, dt=r.dt, steps=steps, burn=burn,
                         wall_s_block=wall))
    return rows


def merge_inits(rows):
    """Combine the two initial conditions of each (N, gamma, g, beta, seed) point and
    report their difference in error bars."""
    from collections import defaultdict
    from numerics.stats import Estimate

    grp = defaultdict(list)
    for r in rows:
        grp[(r["N"], r["gamma"], r["g"], r["beta"], r["seed"])].append(r)
    out = []
    for key, rs in sorted(grp.items()):
        ests = [Estimate(r["q"], r["q_err"]) for r in rs]
        c = combine(ests)
        if len(rs) == 2:
            d = (rs[0]["q"] - rs[1]["q"]) / np.hypot(rs[0]["q_err"], rs[1]["q_err"])
        else:
            d = float("nan")
        qQ = combine([Estimate(r["Q"], r["Q_err"]) for r in rs])
        out.append(dict(N=key[0], gamma=key[1], g=key[2], beta=key[3], seed=key[4],
                        q=c.mean, q_err=c.err, Q=qQ.mean, Q_err=qQ.err,
                        init_diff_sigma=float(d),
                        max_energy_drift_sigma=float(max(abs(r["energy_drift_sigma"]) for r in rs))))
    return out


def fit_exponents(merged):
    """Weighted least squares of log q = a - p log beta for each (N, gamma, g) over
    seeds-combined points; also local slopes between consecutive betas."""
    from collections import defaultdict
    from numerics.stats import Estimate

    grp = defaultdict(lambda: defaultdict(list))
    for r in merged:
        grp[(r["N"], r["gamma"], r["g"])][r["beta"]].append(Estimate(r["q"], r["q_err"]))
    fits = []
    for key, byb in sorted(grp.items()):
        b = np.array(sorted(byb))
        est = [combine(byb[x]) for x in b]
        q = np.array([e.mean for e in est])
        dq = np.array([e.err for e in est])
        if np.any(q <= 0) or b.size < 2:
            continue
        (a, p), cov, chi2 = weighted_lstsq(np.vstack([np.ones_like(b), -np.log(b)]).T,
                                           np.log(q), np.maximum(dq / q, 1e-12))
        local = [float(-(np.log(q[i + 1]) - np.log(q[i])) / (np.log(b[i + 1]) - np.log(b[i])))
                 for i in range(b.size - 1)]
        fits.append(dict(N=key[0], gamma=key[1], g=key[2], p=float(p),
                         p_err=float(np.sqrt(cov[1, 1])), chi2_dof=chi2 / max(b.size - 2, 1),
                         betas=b.tolist(), q=q.tolist(), q_err=dq.tolist(), local_slopes=local))
    return fits


def plot(merged, fits, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 2, figsize=(11, 4.3))
    colors = {0.72: "C0", 0.82: "C1", 0.95: "C2"}
    markers = ["o", "s", "^", "D", "v", "P"]
    Ns = sorted({r["N"] for r in merged})
    for f in fits:
        if f["gamma"] != 0.3:
            continue
        mk = markers[Ns.index(f["N"]) % len(markers)]
        ax[0].errorbar(f["betas"], f["q"], yerr=f["q_err"], fmt=mk + "-", ms=4,
                       color=colors.get(f["g"], "k"), alpha=0.4 + 0.6 * Ns.index(f["N"]) / max(len(Ns) - 1, 1),
                       label=f"g={f['g']}, N={f['N']}: p={f['p']:.2f}")
    bb = np.array([10, 1000.0])
    ax[0].plot(bb, 0.5 * bb ** -1.0 * 10, "k:", lw=1, label=r"$\propto\beta^{-1}$")
    ax[0].plot(bb, 0.3 * bb ** -0.5 * np.sqrt(10), "k--", lw=1, label=r"$\propto\beta^{-1/2}$")
    ax[0].set(xscale="log", yscale="log", xlabel=r"$\beta$", ylabel="q",
              title=r"tanh, $\gamma=0.3$ (Langevin/MALA)")
    ax[0].legend(fontsize=6, ncol=2)
    for i, N in enumerate(Ns):
        pts = sorted([r for r in merged if r["gamma"] == 0.0 and r["N"] == N], key=lambda r: r["beta"])
        if pts:
            ax[1].errorbar([r["beta"] for r in pts], [r["q"] for r in pts], yerr=[r["q_err"] for r in pts],
                           fmt=markers[i % len(markers)] + "-", ms=4, label=f"N={N}")
    ax[1].axhline(Q_CAVITY, color="k", ls="--", lw=1, label="static cavity q = 0.17327")
    ax[1].set(xscale="log", xlabel=r"$\beta$", ylabel="q", title=r"tanh, $\gamma=0$, g = 1.2")
    ax[1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=130)


def report(path) -> str:
    """Markdown tables of a results file: q per start, Q, start difference, exponents."""
    with open(path) as fh:
        d = json.load(fh)
    rows, merged = d["rows"], {(m["N"], m["gamma"], m["g"], m["beta"]): m for m in d["merged"]}
    out = ["| N | gamma | g | beta | q (start 0.1) | q (start 2.0) | q combined | Q | starts differ (sigma) | tau_q (steps) | acc | dt |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    by = {}
    for r in rows:
        by.setdefault((r["N"], r["gamma"], r["g"], r["beta"]), {})[r["init"]] = r
    for key in sorted(by):
        a, b = by[key].get(0.1), by[key].get(2.0)
        m = merged[key]
        f = lambda r: f"{r['q']:.5f} ± {r['q_err']:.5f}" if r else "-"
        taus = "/".join(f"{r['q_tau']:.0f}" for r in (a, b) if r)
        accs = "/".join(f"{r['acceptance']:.2f}" for r in (a, b) if r)
        dts = "/".join(f"{r['dt']:.3f}" for r in (a, b) if r)
        out.append(f"| {key[0]} | {key[1]} | {key[2]} | {key[3]:g} | {f(a)} | {f(b)} | {m['q']:.5f} ± {m['q_err']:.5f} | "
                   f"{m['Q']:.4f} ± {m['Q_err']:.4f} | {m['init_diff_sigma']:+.1f} | {taus} | {accs} | {dts} |")
    out += ["", "| N | gamma | g | p (fit, all beta) | chi2/dof | local slopes between consecutive beta |",
            "|---|---|---|---|---|---|"]
    for f_ in d["fits"]:
        out.append(f"| {f_['N']} | {f_['gamma']} | {f_['g']} | {f_['p']:.3f} ± {f_['p_err']:.3f} | "
                   f"{f_['chi2_dof']:.0f} | {', '.join(f'{x:.2f}' for x in f_['local_slopes'])} |")
    return "\n".join(out)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--N", type=int, nargs="+", default=[500, 1000, 2000])
    ap.add_argument("--betas", type=float, nargs="+", default=[10, 30, 100, 300, 1000])
    ap.add_argument("--gs", type=float, nargs="+", default=[0.72, 0.82, 0.95])
    ap.add_argument("--gamma", type=float, default=0.3)
    ap.add_argument("--chaos-g", type=float, default=1.2, help="g of part (b), gamma = 0; <= 0 skips it")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--inits", type=float, nargs="+", default=[0.1, 2.0])
    ap.add_argument("--replicas", type=int, default=2)
    ap.add_argument("--steps", type=int, default=20000)
    ap.add_argument("--burn", type=int, default=None, help="default steps // 2")
    ap.add_argument("--thin", type=int, default=20)
    ap.add_argument("--eta", type=float, default=0.0)
    ap.add_argument("--backend", default="cpu")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results", "decisive_experiment.json"))
    ap.add_argument("--figure", default=None)
    ap.add_argument("--report", default=None, help="print markdown tables of a results file and exit")
    a = ap.parse_args(argv)
    if a.report:
        print(report(a.report))
        return 0
    burn = a.steps // 2 if a.burn is None else a.burn
    rows = []
    t0 = time.perf_counter()
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)

    def save():  # after every block, so an interrupted run keeps what it measured
        merged = merge_inits(rows)
        fits = fit_exponents(merged)
        meta = dict(args=vars(a), burn=burn, wall_s=time.perf_counter() - t0,
                    machine=platform.node(), processor=platform.processor(),
                    cpus=os.cpu_count(), q_cavity=Q_CAVITY)
        with open(a.out, "w") as fh:
            json.dump(dict(meta=meta, fits=fits, merged=merged, rows=rows), fh, indent=1)
        return merged, fits

    for N in a.N:
        for seed in a.seeds:
            rows += run_block(N, a.gamma, a.gs, a.betas, a.inits, a.replicas, a.steps, burn,
                              seed, a.thin, a.backend, a.eta)
            print(f"N={N} seed={seed} gamma={a.gamma}: {time.perf_counter() - t0:.0f}s", flush=True)
            save()
            if a.chaos_g > 0:
                rows += run_block(N, 0.0, [a.chaos_g], a.betas, a.inits, a.replicas, a.steps,
                                  burn, seed, a.thin, a.backend, a.eta)
                print(f"N={N} seed={seed} gamma=0: {time.perf_counter() - t0:.0f}s", flush=True)
                save()
    merged, fits = save()
    for f in fits:
        print(f"N={f['N']:5d} gamma={f['gamma']} g={f['g']}: p = {f['p']:.3f} ± {f['p_err']:.3f}"
              f"  local {np.round(f['local_slopes'], 3).tolist()}  q={np.round(f['q'], 5).tolist()}")
    if a.figure:
        plot(merged, fits, a.figure)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
