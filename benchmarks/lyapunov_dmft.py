"""Dynamic mean field against simulation in the chaotic phase at gamma = 0: lambda_max and
Delta0 at one gain (default g = 1.5) as functions of N, with several networks and several
initial states per network, against ``numerics.dmft.lyapunov_dmft`` (SCS 1988).

    python benchmarks/lyapunov_dmft.py run --N 4000 --seeds 2 3 --inits 2
    python benchmarks/lyapunov_dmft.py run --N 8000 --seeds 0 --inits 4
    python benchmarks/lyapunov_dmft.py report     # -> results/lyapunov_dmft.{json,md}, docs/lyapunov_dmft.png

Each (N, seed) unit is one network J = couplings(N, 0, rng=default_rng(seed)) with
``inits`` initial states x0, v0 (rows of default_rng(20000 + seed)), integrated together
as rows of one batch by ``numerics.chaos.lyapunov_batch`` (RK4, dt = 0.1, v renormalised
every time unit). A unit is written to benchmarks/results/lyapunov_dmft.json as soon as
it finishes and skipped when present (file re-read before each write, so several
processes can share it). Run with one thread (OPENBLAS_NUM_THREADS=1 etc.).

Per unit: lambda (mean over the initial states; error from the time series of each state,
or their spread if larger), Delta0 = time average of (1/N) |x|^2 likewise. Per N: the mean
over networks with error max(propagated errors, standard error of the network means).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
OUT = HERE / "results" / "lyapunov_dmft.json"
MD = HERE / "results" / "lyapunov_dmft.md"
FIG = HERE.parent / "docs" / "lyapunov_dmft.png"
PARAMS = {"g": 1.5, "t_transient": 200.0, "t_align": 50.0, "t_total": 800.0, "dt": 0.1,
          "renorm": 1.0}


def load() -> dict:
    if OUT.exists():
        return json.loads(OUT.read_text())
    return {"params": PARAMS, "units": {}}


def save(db: dict) -> None:
    tmp = OUT.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(db, indent=1))
    os.replace(tmp, OUT)


def _mean_err(values, errs):
    """Equal-weight mean of per-item estimates (``numerics.chaos.disorder_mean``): error
    = max(propagated, standard error of the spread)."""
    from numerics.chaos import disorder_mean
    from numerics.stats import Estimate
    d = disorder_mean([Estimate(float(v), float(e)) for v, e in zip(values, errs)])
    return d.mean, d.err


def run_unit(N: int, seed: int, inits: int, p: dict) -> dict:
    from numerics.chaos import lyapunov_batch
    from numerics.couplings import couplings
    from numerics.stats import estimate
    J = couplings(N, 0.0, rng=np.random.default_rng(seed))
    rng = np.random.default_rng(20_000 + seed)
    x0 = rng.standard_normal((inits, N))
    v0 = rng.standard_normal((inits, N))
    t0 = time.time()
    b = lyapunov_batch(J, [p["g"]] * inits, x0=x0, v0=v0, t_transient=p["t_transient"],
                       t_align=p["t_align"], t_total=p["t_total"], dt=p["dt"],
                       renorm=p["renorm"], progress=True)
    d0 = [estimate(b.x2[:, i]) for i in range(inits)]
    return {"N": N, "seed": seed, "inits": inits,
            "lam": [e.mean for e in b.lam], "lam_err": [e.err for e in b.lam],
            "lam_tau": [e.tau for e in b.lam],
            "first": b.first.tolist(), "second": b.second.tolist(),
            "delta0": [e.mean for e in d0], "delta0_err": [e.err for e in d0],
            "speed_end": b.speed_end.tolist(), "wall_s": time.time() - t0,
            "host": platform.node()}


def per_N(db: dict) -> dict:
    out = {}
    units = sorted(db["units"].values(), key=lambda u: (u["N"], u["seed"]))
    for N in sorted({u["N"] for u in units}):
        us = [u for u in units if u["N"] == N]
        net_l, net_le, net_d, net_de = [], [], [], []
        for u in us:
            m, e = _mean_err(u["lam"], u["lam_err"])
            net_l.append(m), net_le.append(e)
            m, e = _mean_err(u["delta0"], u["delta0_err"])
            net_d.append(m), net_de.append(e)
        lam, lam_err = _mean_err(net_l, net_le)
        d0, d0_err = _mean_err(net_d, net_de)
        out[N] = {"networks": len(us), "states": sum(u["inits"] for u in us),
                  "lam": lam, "lam_err": lam_err, "delta0": d0, "delta0_err": d0_err,
                  "per_network_lam": net_l, "per_network_lam_err": net_le,
                  "per_network_delta0": net_d,
                  "cpu_s": sum(u["wall_s"] for u in us)}
    return out


def report(db: dict) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from numerics.chaos import extrapolate
    from numerics.dmft import lyapunov_dmft
    p = db["params"]
    ref = lyapunov_dmft(p["g"])
    rows = per_N(db)
    db["dmft"] = {"g": p["g"], "lyapunov": ref.lyapunov, "delta0": ref.delta0}
    db["per_N"] = {str(k): v for k, v in rows.items()}
    Ns = sorted(rows)
    fits = {}
    if len(Ns) >= 3:
        for key in ("lam", "delta0"):
            f = extrapolate(Ns, [rows[n][key] for n in Ns], [rows[n][key + "_err"] for n in Ns],
                            power=1.0)
            fits[key] = f.as_dict()
    db["fits_1overN"] = fits
    save(db)
    L = [f"# Dynamic mean field against simulation at g = {p['g']}, gamma = 0",
         "", "Written by `benchmarks/lyapunov_dmft.py report` from "
         "`benchmarks/results/lyapunov_dmft.json`.", "",
         f"Parameters: {p}; J ~ couplings(N, 0, seed); initial states per network integrated "
         "as rows of one batch. DMFT (SCS): lambda_max = "
         f"{ref.lyapunov:.5f}, Delta0 = {ref.delta0:.5f}. z = (sim - DMFT) / err.", "",
         "| N | networks | states | lambda_max | z | Delta0 | z | per-network lambda | CPU s |",
         "|---|---|---|---|---|---|---|---|---|"]
    for N in Ns:
        r = rows[N]
        zl = (r["lam"] - ref.lyapunov) / r["lam_err"]
        zd = (r["delta0"] - ref.delta0) / r["delta0_err"]
        per = ", ".join(f"{a:.4f}" for a in r["per_network_lam"])
        L.append(f"| {N} | {r['networks']} | {r['states']} | {r['lam']:.5f} ± {r['lam_err']:.5f}"
                 f" | {zl:+.1f} | {r['delta0']:.4f} ± {r['delta0_err']:.4f} | {zd:+.1f} | {per}"
                 f" | {r['cpu_s']:.0f} |")
    for key, f in fits.items():
        ref_v = ref.lyapunov if key == "lam" else ref.delta0
        z = (f["y_inf"] - ref_v) / f["err"] if f.get("err") else float("nan")
        L += ["", f"Fit {key}(N) = a + b/N over N = {Ns}: a = {f['y_inf']:.5f} ± "
              f"{f['err']:.5f} (z against DMFT {z:+.1f}), chi2 = {f['chi2']:.2f} "
              f"(dof {f['dof']})"]
    L += ["", "![lambda and Delta0 against 1/N](../../docs/lyapunov_dmft.png)", "",
          "Per unit (N, seed): lambda of each initial state (± error), first/second half of "
          "the recorded rates, Delta0 of each state:", "",
          "| N | seed | lambda per state | halves | Delta0 per state | wall s |",
          "|---|---|---|---|---|---|"]
    for u in sorted(db["units"].values(), key=lambda u: (u["N"], u["seed"])):
        lam = ", ".join(f"{a:.4f}±{e:.4f}" for a, e in zip(u["lam"], u["lam_err"]))
        halves = ", ".join(f"{a:.4f}/{b:.4f}" for a, b in zip(u["first"], u["second"]))
        d0 = ", ".join(f"{a:.4f}" for a in u["delta0"])
        L.append(f"| {u['N']} | {u['seed']} | {lam} | {halves} | {d0} | {u['wall_s']:.0f} |")
    MD.write_text("\n".join(L) + "\n")

    fig, ax = plt.subplots(1, 2, figsize=(10, 4))
    x = np.array([1.0 / n for n in Ns])
    for a, key, v, lab in ((ax[0], "lam", ref.lyapunov, "lambda_max"),
                           (ax[1], "delta0", ref.delta0, "Delta0")):
        a.errorbar(x, [rows[n][key] for n in Ns], [rows[n][key + "_err"] for n in Ns], fmt="o",
                   capsize=3, label="simulation (mean over networks)")
        if key == "lam":
            for n in Ns:
                a.plot([1.0 / n] * len(rows[n]["per_network_lam"]), rows[n]["per_network_lam"],
                       ".", color="0.6")
        a.axhline(v, color="k", ls="--", label="DMFT (N = inf)")
        if key in fits:
            f = fits[key]
            xx = np.linspace(0, x.max(), 50)
            a.plot(xx, f["y_inf"] + f["c"] * xx, ":", color="C1", label="a + b/N")
        a.set_xlabel("1/N")
        a.set_ylabel(lab)
        a.set_xlim(left=0)
        a.legend(fontsize=8)
    fig.suptitle(f"gamma = 0, g = {p['g']}: simulation against the dynamic mean field")
    fig.tight_layout()
    fig.savefig(FIG, dpi=110)
    print(f"wrote {MD} and {FIG}")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--N", type=int, required=True)
    r.add_argument("--seeds", type=int, nargs="+", required=True)
    r.add_argument("--inits", type=int, default=2)
    sub.add_parser("report")
    a = ap.parse_args(argv)
    if a.cmd == "report":
        report(load())
        return
    for s in a.seeds:
        key = f"{a.N}/{s}"
        if key in load()["units"]:
            print(f"{key}: present, skipped")
            continue
        u = run_unit(a.N, s, a.inits, load()["params"])
        db = load()
        db["units"][key] = u
        save(db)
        print(f"{key}: lambda {np.round(u['lam'], 4)} Delta0 {np.round(u['delta0'], 4)} "
              f"({u['wall_s']:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
