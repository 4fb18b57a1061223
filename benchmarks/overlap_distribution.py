"""Distribution of the overlap Q between two replicas at equilibrium (parallel tempering).

At (gamma = 0, g = 1.2, beta = 100, eta = 0) the equilibrium q measured with tempering is
15 % below the replica-symmetric Q = 0 solution, with no trend from N = 250 to 1000
(docs/tempering.md). For odd phi the measure is symmetric under x -> -x, so the mean of
Q = (1/N) sum_i phi(x_i^1) phi(x_i^2) vanishes whatever the phase; what distinguishes a
replica-symmetric Q = 0 phase from a broken one is the distribution P(Q):

* RS with Q = 0: Q is a sum of weakly correlated terms, P(Q) is a Gaussian of width
  ~ N^(-1/2): N <Q^2> (the spin-glass susceptibility) tends to a finite limit and the Binder
  ratio B = (3 - <Q^4>/<Q^2>^2)/2 tends to 0;
* broken replica symmetry: P(Q) keeps weight at |Q| = q_1 > 0 as N grows (two replicas in
  the same state), N <Q^2> grows like N and B stays finite.

For each size N and coupling seed the script runs ``TemperingSampler`` on the short ladder
beta_min ... beta (ratio 1 + sqrt(2/N), two walker sets whose overlap at the top rung is Q,
exchanges every 10 steps, start x ~ N(0, 1)), records Q (top rung) and q, energy (every rung) every ``thin``
steps after burn-in, and reports per J: <q>, <Q^2>, N <Q^2>, B (block jackknife), round
trips; and per N the disorder means.

    python benchmarks/overlap_distribution.py --N 250 500 --J-seeds 1 2 3 4 5 6
    python benchmarks/overlap_distribution.py --report     # md + png from the JSON

Writes benchmarks/results/overlap_distribution.json (one entry per (N, J seed), saved as
each finishes; entries already there are skipped) and docs/overlap_distribution.md with
docs/overlap_distribution.png (text below the "<!-- notes -->" marker is kept).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from numerics.couplings import couplings  # noqa: E402
from numerics.stats import Estimate, binder, estimate  # noqa: E402
from numerics.tempering import TemperingSampler, geometric_ladder  # noqa: E402
from numerics.transfer import builtin_kernels  # noqa: E402

ROOT = os.path.join(os.path.dirname(__file__), "..")
OUT = os.path.join(ROOT, "benchmarks", "results", "overlap_distribution.json")
MD = os.path.join(ROOT, "docs", "overlap_distribution.md")
PNG = os.path.join(ROOT, "docs", "overlap_distribution.png")
BINS = np.linspace(-0.4, 0.4, 81)


def run_one(N, seed, g, gamma, beta, beta_min, eta, steps, burn, thin, progress=True,
            chain_seed=None, J=None, X0=1.0):
    """One tempering run on J(seed); returns the per-J summary and the Q histogram. The
    start and the noise come from seed + 1, or from (seed, chain_seed) when chain_seed is
    given (an independent run on the same J). ``J`` replaces the couplings of the seed (e.g.
    planted ones, benchmarks/planted_tempering.py) and ``X0`` the start (scale or rows)."""
    k = builtin_kernels("tanh")
    if J is None:
        J = couplings(N, gamma, rng=np.random.default_rng(seed))
    betas = geometric_ladder(beta_min, beta, N)
    s = TemperingSampler(J, k, g, betas, swap_every=10, replicas=2, eta=eta, dt=0.05,
                         rng=np.random.default_rng(seed + 1 if chain_seed is None else [seed, chain_seed]),
                         X0=X0)
    Qs, q_rung, e_rung, q_sets = [], [], [], []
    t0 = time.time()
    from tqdm.auto import tqdm
    bar = tqdm(total=burn + steps, disable=not progress, desc=f"N={N} J={seed}", unit="step",
               mininterval=10.0)
    last = 0
    for st in s.sample(steps, burn=burn, thin=thin):
        bar.update(st.step - last)
        last = st.step
        if st.burn:
            continue
        P = np.tanh(st.X[:s.G * s.R]).reshape(s.G, s.R, N)
        Qs.append(float(P[-1, 0] @ P[-1, 1]) / N)                  # the two sets, top rung
        q_rung.append(np.einsum("krn,krn->k", P, P) / (s.R * N))
        q_sets.append(np.einsum("rn,rn->r", P[-1], P[-1]) / N)      # per set, top rung
        e_rung.append(np.asarray(st.energy[:s.G * s.R]).reshape(s.G, s.R).mean(axis=1))
    bar.close()
    Q, q_rung, e_rung = np.asarray(Qs), np.asarray(q_rung), np.asarray(e_rung)
    if not (np.all(np.isfinite(Q)) and np.all(np.isfinite(q_rung))):
        raise FloatingPointError("non-finite overlap in the series")
    q = q_rung[:, -1]
    Q2 = estimate(Q ** 2)
    B = binder(Q)
    hist, _ = np.histogram(Q, bins=BINS)
    rungs = [{"beta": float(b), "q": estimate(q_rung[:, i]).as_dict(),
              "energy": estimate(e_rung[:, i]).as_dict()} for i, b in enumerate(betas)]
    acc = s.swap_acceptance
    return {"N": N, "seed": seed, "chain_seed": chain_seed, "g": g, "gamma": gamma, "beta": beta,
            "beta_min": beta_min, "eta": eta, "steps": steps, "burn": burn, "thin": thin, "rungs": int(s.G),
            "round_trips": int(s.round_trips),
            "swap_acceptance": [float(acc.min()), float(acc.max())],
            "q": estimate(q).as_dict(), "Q": estimate(Q).as_dict(), "Q2": Q2.as_dict(),
            "NQ2": Q2.scaled(N).as_dict(), "absQ": estimate(np.abs(Q)).as_dict(),
            "binder": B.as_dict(), "Q_hist": hist.tolist(), "ladder": rungs,
            "q_sets": [estimate(c).as_dict() for c in np.asarray(q_sets).T],
            "samples": int(Q.size),
            "wall_s": time.time() - t0}


def _load():
    if os.path.exists(OUT):
        with open(OUT) as f:
            return json.load(f)
    return {"meta": {}, "runs": []}


@contextlib.contextmanager
def locked(path):
    """Exclusive lock on path + '.lock' while a process reads, appends to and writes path
    (several processes may split the seeds of one results file)."""
    import fcntl
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def save_json(path, d):
    """Write d to path atomically (a reader never sees a half-written file)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + f".{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        json.dump(d, f, indent=1)
    os.replace(tmp, path)


def add_run(d, r, cmd, done=None):
    """Record run r, the command that made it and the machine in the results dict d (call
    under the file lock); skipped if ``done(x)`` holds for a run x already there."""
    d["meta"] = {**d.get("meta", {}),
                 "commands": sorted(set(d.get("meta", {}).get("commands", [])) | {cmd}),
                 "machine": platform.processor() or platform.machine(),
                 "python": platform.python_version()}
    if done is None or not any(done(x) for x in d["runs"]):
        d["runs"].append(r)


def write_keeping_notes(path, text):
    """Write a generated report to path, keeping the hand-written part of the old file from
    its '<!-- notes -->' marker on."""
    notes = "<!-- notes -->\n"
    if os.path.exists(path):
        with open(path) as f:
            old = f.read()
        if "<!-- notes -->" in old:
            notes = old[old.index("<!-- notes -->"):]
    with open(path, "w") as f:
        f.write(text + notes)


def _locked():
    return locked(OUT)


def _save(d):
    save_json(OUT, d)


def _mean_over_J(means, errs) -> dict:
    """Mean over J samples; error: the larger of the spread over J / sqrt(n_J) and the
    run errors combined (sqrt(sum err^2) / n_J), the run error alone for one J."""
    m, e = np.asarray(means, dtype=float), np.asarray(errs, dtype=float)
    err = float(np.sqrt(np.sum(e ** 2)) / m.size)
    if m.size > 1:
        err = max(err, float(m.std(ddof=1) / math.sqrt(m.size)))
    return Estimate(float(m.mean()), err).as_dict()


def disorder_means(runs):
    """Per N: mean over J of q, N<Q^2>, <|Q|>, B (``_mean_over_J``)."""
    out = {}
    for N in sorted({r["N"] for r in runs}):
        rs = [r for r in runs if r["N"] == N]
        row = {"N": N, "J": len(rs), "round_trips_min": min(r["round_trips"] for r in rs)}
        for key in ("q", "NQ2", "binder", "absQ"):
            row[key] = _mean_over_J([r[key]["mean"] for r in rs], [r[key]["err"] for r in rs])
        out[N] = row
    return out


def ladder_profiles(runs):
    """Per N: for each rung of the (common) ladder the mean over J of q and of
    eps = 2 beta e - 1 (``_mean_over_J``)."""
    out = {}
    for N in sorted({r["N"] for r in runs}):
        rs = [r for r in runs if r["N"] == N and "ladder" in r]
        if not rs or len({len(r["ladder"]) for r in rs}) != 1:
            continue
        prof = []
        for i, rung in enumerate(rs[0]["ladder"]):
            b = rung["beta"]
            at = [r["ladder"][i] for r in rs]
            prof.append({"beta": b,
                         "q": _mean_over_J([a["q"]["mean"] for a in at], [a["q"]["err"] for a in at]),
                         "eps": _mean_over_J([2 * b * a["energy"]["mean"] - 1 for a in at],
                                             [2 * b * a["energy"]["err"] for a in at])})
        out[N] = prof
    return out


def run_key(r):
    """What identifies a run: (N, J seed, g, gamma, beta, beta_min, eta, steps, chain seed)."""
    return (r["N"], r["seed"], r["g"], r["gamma"], r["beta"], r["beta_min"], r["eta"], r["steps"],
            r.get("chain_seed"))


def _first_runs(runs):
    """One run per J (repeats with a chain seed left out): what the means over J use."""
    return [r for r in runs if r.get("chain_seed") is None]


def point_key(r):
    """The parameter point of a run: (g, gamma, beta, beta_min, eta)."""
    return (r["g"], r["gamma"], r["beta"], r["beta_min"], r["eta"])


def _rs_key(g, gamma, eta, beta):
    return f"{g:.12g}|{gamma:.12g}|{eta:.12g}|{beta:.12g}"


def rs_ladder(d):
    """RS q at every rung beta of the runs (solved once, cached in the JSON)."""
    from numerics.validate import replica_theory
    cache = {k: v for k, v in d.get("rs_q", {}).items() if "|" in k}
    th = replica_theory("tanh")
    todo = sorted({(r["g"], r["gamma"], r["eta"], rung["beta"]) for r in d["runs"]
                   for rung in r.get("ladder", [])})
    new = {}
    for g, gamma, eta, b in todo:
        key = _rs_key(g, gamma, eta, b)
        if key not in cache:
            new[key] = th({"g": g, "gamma": gamma, "beta": b, "eta": eta})["q"]
    if new:
        with _locked():                     # merge into the file as it is now
            cur = _load()
            cur["rs_q"] = {k: v for k, v in cur.get("rs_q", {}).items() if "|" in k} | new
            _save(cur)
    return cache | new


def _run_lengths(runs) -> str:
    """'S recorded steps after B burn-in', with the sizes of each (S, B) when they differ."""
    by_len = {}
    for r in runs:
        by_len.setdefault((r["steps"], r["burn"]), set()).add(r["N"])
    if len(by_len) == 1:
        (steps, burn), = by_len
        return f"{steps} recorded steps after {burn} burn-in"
    return "recorded steps after burn-in " + ", ".join(
        f"{steps} + {burn} (N = {', '.join(str(n) for n in sorted(Ns))})"
        for (steps, burn), Ns in sorted(by_len.items(), reverse=True))


def _section(runs, rs):
    p0 = runs[0]
    first = _first_runs(runs)
    means = disorder_means(first)
    lines = [f"## γ = {p0['gamma']}, g = {p0['g']}, β = {p0['beta']}, η = {p0['eta']}", "",
             f"Ladder β = {p0['beta_min']} … {p0['beta']}; {_run_lengths(runs)}, Q recorded "
             f"every {p0['thin']} steps.", "",
             "Per J:", "",
             "| N | J seed | rungs | round trips | q | N⟨Q²⟩ | ⟨|Q|⟩ | Binder B |",
             "|---|---|---|---|---|---|---|---|"]
    for r in sorted(runs, key=lambda r: (r["N"], r["seed"], r.get("chain_seed") or -1)):
        js = r["seed"] if r.get("chain_seed") is None else f"{r['seed']} (repeat {r['chain_seed']})"
        lines.append(f"| {r['N']} | {js} | {r['rungs']} | {r['round_trips']} | "
                     f"{r['q']['mean']:.4f} ± {r['q']['err']:.4f} | "
                     f"{r['NQ2']['mean']:.3f} ± {r['NQ2']['err']:.3f} | "
                     f"{r['absQ']['mean']:.4f} ± {r['absQ']['err']:.4f} | "
                     f"{r['binder']['mean']:.3f} ± {r['binder']['err']:.3f} |")
    lines += ["", "Mean over J (first run per J; error: spread over J / √n_J):", "",
              "| N | J | fewest round trips | q | N⟨Q²⟩ | ⟨|Q|⟩ √N | Binder B |",
              "|---|---|---|---|---|---|---|"]
    for N, m in means.items():
        lines.append(f"| {N} | {m['J']} | {m['round_trips_min']} | "
                     f"{m['q']['mean']:.4f} ± {m['q']['err']:.4f} | "
                     f"{m['NQ2']['mean']:.3f} ± {m['NQ2']['err']:.3f} | "
                     f"{m['absQ']['mean'] * math.sqrt(N):.3f} ± {m['absQ']['err'] * math.sqrt(N):.3f} | "
                     f"{m['binder']['mean']:.3f} ± {m['binder']['err']:.3f} |")
    lines += ["", "Along the ladder (mean over J of each rung; ε = 2β e − 1 is the energy per "
              "site against 1/(2β)):", "",
              "| N | β | q | RS q | (q − RS)/err | ε |", "|---|---|---|---|---|---|"]
    for N, prof in ladder_profiles(first).items():
        for i in sorted(set(range(0, len(prof), max(1, len(prof) // 6))) | {len(prof) - 1}):
            row = prof[i]
            b = row["beta"]
            rq = rs[_rs_key(p0["g"], p0["gamma"], p0["eta"], b)]
            z = (row["q"]["mean"] - rq) / row["q"]["err"]
            lines.append(f"| {N} | {b:.2f} | {row['q']['mean']:.4f} ± {row['q']['err']:.4f} | "
                         f"{rq:.5f} | {z:+.1f} | {row['eps']['mean']:+.4f} ± {row['eps']['err']:.4f} |")
    return lines + [""]


def report(d):
    runs = d["runs"]
    if not runs:
        raise SystemExit("no runs in " + OUT)
    rs = rs_ladder(d)
    groups = {}
    for r in runs:
        groups.setdefault(point_key(r), []).append(r)
    lines = ["# Overlap distribution at equilibrium (parallel tempering)", "",
             "Generated by `python benchmarks/overlap_distribution.py --report` from "
             "benchmarks/results/overlap_distribution.json; see the script's docstring for "
             "the method. Commands: " + "; ".join(f"`{c}`" for c in d["meta"].get("commands", [])),
             ""]
    for key in sorted(groups):
        lines += _section(groups[key], rs)
    lines += ["![P(Q) and q along the ladder](overlap_distribution.png)", ""]
    write_keeping_notes(MD, "\n".join(lines) + "\n")
    _plot(groups, rs)


def _plot(groups, rs):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    keys = sorted(groups)
    fig, axes = plt.subplots(len(keys), 3, figsize=(15, 4 * len(keys)), squeeze=False)
    centres = 0.5 * (BINS[1:] + BINS[:-1])
    w = BINS[1] - BINS[0]
    for ax, key in zip(axes, keys):
        runs = groups[key]
        g, gamma, beta, beta_min, eta = key
        for N in sorted({r["N"] for r in runs}):
            h = np.sum([r["Q_hist"] for r in runs if r["N"] == N], axis=0).astype(float)
            h /= h.sum() * w
            ax[0].plot(centres, h, label=f"N = {N}")
            ax[1].plot(centres * math.sqrt(N), h / math.sqrt(N), label=f"N = {N}")
        ax[0].set_xlabel("Q")
        ax[0].set_ylabel("P(Q), all J")
        ax[1].set_xlabel("Q √N")
        ax[1].set_ylabel("P(Q) / √N")
        bb = []
        for N, prof in ladder_profiles(_first_runs(runs)).items():
            b = [r["beta"] for r in prof]
            bb += b
            ax[2].errorbar(b, [r["q"]["mean"] for r in prof], [r["q"]["err"] for r in prof],
                           fmt="o", ms=3, label=f"N = {N}, tempering")
        bb = sorted(set(bb))
        ax[2].plot(bb, [rs[_rs_key(g, gamma, eta, b)] for b in bb], "k-", label="RS (Q = 0)")
        ax[2].set_xlabel("β (ladder rung)")
        ax[2].set_ylabel("q")
        ax[1].set_title(f"γ = {gamma}, g = {g}, β = {beta}, η = {eta}")
        for a in ax:
            a.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(PNG, dpi=100)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--N", type=int, nargs="+", default=[250, 500])
    ap.add_argument("--J-seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5, 6])
    ap.add_argument("--g", type=float, default=1.2)
    ap.add_argument("--gamma", type=float, default=0.0)
    ap.add_argument("--beta", type=float, default=100.0)
    ap.add_argument("--beta-min", type=float, default=30.0,
                    help="bottom of the ladder (default kept for the recorded runs; at g = 1.2 "
                         "it is biased low from N ~ 500 on, use 3: docs/planted.md)")
    ap.add_argument("--eta", type=float, default=0.0)
    ap.add_argument("--steps", type=int, default=40000)
    ap.add_argument("--burn", type=int, default=10000)
    ap.add_argument("--thin", type=int, default=10)
    ap.add_argument("--chain-seed", type=int, default=None,
                    help="independent repeat on the same J: start and noise from (J seed, this)")
    ap.add_argument("--report", action="store_true")
    a = ap.parse_args(argv)
    if a.report:
        report(_load())
        return 0
    if any(n < 8 for n in a.N) or a.steps < 32 * a.thin or a.burn < 0:
        raise SystemExit("need N >= 8, steps >= 32 thin and burn >= 0")
    cmd = "python benchmarks/overlap_distribution.py " + " ".join(sys.argv[1:] if argv is None else argv)
    for N in a.N:
        for seed in a.J_seeds:
            key = (N, seed, a.g, a.gamma, a.beta, a.beta_min, a.eta, a.steps, a.chain_seed)
            if any(run_key(r) == key for r in _load()["runs"]):
                continue
            r = run_one(N, seed, a.g, a.gamma, a.beta, a.beta_min, a.eta, a.steps, a.burn, a.thin,
                        chain_seed=a.chain_seed)
            print(f"N={N} J={seed}: q={r['q']['mean']:.4f}±{r['q']['err']:.4f} "
                  f"NQ2={r['NQ2']['mean']:.3f}±{r['NQ2']['err']:.3f} "
                  f"B={r['binder']['mean']:.3f}±{r['binder']['err']:.3f} trips={r['round_trips']} "
                  f"({r['wall_s']:.0f} s)", flush=True)
            with _locked():                 # several processes may append to the same file
                d = _load()
                add_run(d, r, cmd, done=lambda x: run_key(x) == key)   # not done meanwhile
                _save(d)
    report(_load())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
