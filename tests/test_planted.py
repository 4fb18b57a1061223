"""The planted ensemble: gradient of the annealed density, and the exact identity
E_{J planted} <q>_J = E_annealed q(x) checked with the closed-form Boltzmann average of
linear phi (THEORY.md §3: <|x|^2>_J = Tr[(A^T A + 2 eta)^-1] / beta, A = I - g J)."""
import math

import numpy as np
import pytest

from numerics.planted import (annealed_energy, annealed_log_z_increment, annealed_logdensity,
                              planted_couplings, sample_annealed)
from numerics.transfer import builtin_kernels


def test_gradient_matches_finite_differences():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((3, 7))
    lp, gr = annealed_logdensity(X, 1.3, 20.0, 0.1)
    h = 1e-6
    for c in range(3):
        for i in range(7):
            Xp, Xm = X.copy(), X.copy()
            Xp[c, i] += h
            Xm[c, i] -= h
            fd = (annealed_logdensity(Xp, 1.3, 20.0, 0.1)[0][c]
                  - annealed_logdensity(Xm, 1.3, 20.0, 0.1)[0][c]) / (2 * h)
            assert fd == pytest.approx(gr[c, i], rel=1e-6, abs=1e-7)


def test_planted_rows_have_the_conditional_mean():
    """Row i of J given x has mean beta g x_i f / (N s_i) (f = phi(x) without site i):
    checked on the residual x - g J phi(x), whose conditional mean is x_i / s_i."""
    rng = np.random.default_rng(1)
    N, g, beta = 6, 0.9, 4.0
    x = rng.standard_normal(N)
    f = np.tanh(x)
    s = 1 + beta * g**2 * (f @ f - f * f) / N
    res = np.array([x - g * planted_couplings(x, g, beta, rng=rng) @ f for _ in range(20000)])
    assert np.all(np.abs(res.mean(axis=0) - x / s) < 4 * res.std(axis=0) / math.sqrt(20000))
    # and variance g^2 q_i / s_i
    var = g**2 * (f @ f - f * f) / N / s
    assert np.allclose(res.var(axis=0), var, rtol=0.05)
    # so the conditional energy per site is annealed_energy(x)
    e = 0.5 * (res ** 2).mean(axis=1)
    assert abs(e.mean() - annealed_energy(x, g, beta)[0]) < 4 * e.std() / math.sqrt(e.size)


def test_nishimori_identity_linear_phi():
    """Averaged over planted J, the exact Boltzmann <q>_J equals the annealed mean of q(x)."""
    lin = builtin_kernels("linear")
    N, g, beta, eta = 8, 0.8, 10.0, 0.05
    rng = np.random.default_rng(2)
    A = sample_annealed(N, g, beta, eta, lin, chains=3000, steps=1500, dt=0.01, rng=rng)
    q_ann, e_ann = A.q
    vals = []
    for x in A.x:
        J = planted_couplings(x, g, beta, lin, rng=rng)
        M = np.eye(N) - g * J
        vals.append(np.trace(np.linalg.inv(M.T @ M + 2 * eta * np.eye(N))) / (beta * N))
    vals = np.asarray(vals)
    err = math.hypot(e_ann, vals.std(ddof=1) / math.sqrt(vals.size))
    assert abs(vals.mean() - q_ann) < 4 * err
    # energy: for linear phi <E>_J = N / (2 beta) for every J (equipartition), hence also
    # averaged over planted J
    en, en_err = A.energy
    assert abs(en - 1 / (2 * beta)) < 4 * en_err, (en, en_err)
    # the identity is not trivially satisfied: unplanted J give a different value
    iid = []
    for _ in range(3000):
        J = rng.standard_normal((N, N)) / math.sqrt(N)
        np.fill_diagonal(J, 0.0)
        M = np.eye(N) - g * J
        iid.append(np.trace(np.linalg.inv(M.T @ M + 2 * eta * np.eye(N))) / (beta * N))
    iid = np.asarray(iid)
    assert abs(iid.mean() - q_ann) > 4 * math.hypot(e_ann, iid.std(ddof=1) / math.sqrt(iid.size))


def _ln_annealed_z_two_sites(g, beta, half=14.0):
    """ln E_J Z for N = 2, J_ii = 0, tanh, by quadrature: averaging exp(-beta E) over the two
    Gaussian couplings gives E_J Z = int d^2x prod_i s_i^(-1/2) exp(-beta x_i^2 / (2 s_i)),
    s_1 = 1 + beta g^2 tanh(x_2)^2 / 2 (and 1 <-> 2)."""
    from scipy.integrate import dblquad

    def f(x1, x2):
        s1 = 1 + beta * g * g * math.tanh(x2) ** 2 / 2
        s2 = 1 + beta * g * g * math.tanh(x1) ** 2 / 2
        return math.exp(-beta * (x1 * x1 / s1 + x2 * x2 / s2) / 2) / math.sqrt(s1 * s2)
    return math.log(dblquad(f, -half, half, -half, half, epsabs=1e-12, epsrel=1e-11)[0])


def test_annealed_log_z_increment_matches_quadrature_at_two_sites():
    """N = 2: the thermodynamic integral of the sampled annealed energy equals the exact
    ln E_J Z(4) - ln E_J Z(1) within its error (plus the trapezoid error, bounded by the
    same rule applied to the exact energies -d ln E_J Z / (N d beta))."""
    g, N = 1.2, 2
    betas = np.geomspace(1.0, 4.0, 9)
    exact = _ln_annealed_z_two_sites(g, 4.0) - _ln_annealed_z_two_sites(g, 1.0)
    h = 1e-4
    e_exact = [-(_ln_annealed_z_two_sites(g, b * (1 + h)) - _ln_annealed_z_two_sites(g, b * (1 - h)))
               / (2 * h * b * N) for b in betas]
    from numerics.tempering import log_z_increment
    disc = abs(log_z_increment(betas, e_exact, np.zeros(betas.size), N).mean - exact)
    assert disc < 2e-3
    est, e, s = annealed_log_z_increment(N, g, betas, chains=256, steps=5000, dt=0.2,
                                         rng=np.random.default_rng(5))
    assert np.all(np.abs(e - e_exact) < 4 * s + 1e-9)
    assert abs(est.mean - exact) < 4 * est.err + disc
    assert est.err < 0.02                                 # the check has power
    # a wrong coupling scale (g -> 1.1 g) is outside the error bars
    wrong = _ln_annealed_z_two_sites(1.1 * g, 4.0) - _ln_annealed_z_two_sites(1.1 * g, 1.0)
    assert abs(est.mean - wrong) > 4 * est.err + disc


def test_bad_input():
    with pytest.raises(ValueError, match="increasing"):      # refused before any sampling
        annealed_log_z_increment(10, 1.0, [2.0, 1.0])
    with pytest.raises(ValueError):
        sample_annealed(1, 1.0, 1.0)
    with pytest.raises(ValueError):
        sample_annealed(10, 1.0, -1.0)
    with pytest.raises(ValueError):
        planted_couplings(np.array([np.nan, 1.0]), 1.0, 1.0)


def test_tempering_on_planted_couplings_returns_the_annealed_mean(bench_script, tmp_path):
    """benchmarks/planted_tempering.py at a small size where tempering mixes: averaged over
    planted J, the tempered q at the top rung equals the annealed mean of q(x) (exact target
    for tanh at every N), and the report puts both in one table."""
    mod = bench_script("planted_tempering")
    N, g, beta = 20, 1.2, 6.0
    A = mod.annealed_states(N, g, beta, chains=24)
    q_ann, e_ann = A.q
    runs = [mod.run_planted(N, s, A, g, beta, 1.0, 6000, 1000, 10, progress=False) for s in range(24)]
    tq = np.array([r["q"]["mean"] for r in runs])
    err = math.hypot(e_ann, tq.std(ddof=1) / math.sqrt(tq.size))
    assert abs(tq.mean() - q_ann) < 4 * err, (tq.mean(), q_ann, err)
    assert all(r["round_trips"] > 0 for r in runs)
    # the same identity for the energy per site at the top rung
    en, en_err = A.energy
    te = np.array([r["ladder"][-1]["energy"]["mean"] for r in runs])
    assert abs(te.mean() - en) < 4 * math.hypot(en_err, te.std(ddof=1) / math.sqrt(te.size))
    runs.append(mod.run_iid(N, 0, g, beta, 1.0, 6000, 1000, 10, progress=False))
    mod.OUT, mod.MD, mod.PNG = (str(tmp_path / "p.json"), str(tmp_path / "p.md"),
                                str(tmp_path / "p.png"))
    d = {"meta": {"commands": ["test"]}, "runs": runs,
         "annealed": {mod._akey(N, g, beta): {"q": q_ann, "err": e_ann, "e": en, "e_err": en_err}}}
    mod._save(d)
    mod.report(mod._load())
    md = (tmp_path / "p.md").read_text()
    assert (f"| {N} | {q_ann:.4f} ± {e_ann:.4f}, {2 * beta * en - 1:+.4f} ± {2 * beta * en_err:.4f}"
            f" | {tq.mean():.4f} ± ") in md
    # tempered <q>_J against the q of the planted state on the same J: mean zero
    dq, dq_err = mod.planted_state_difference(runs)
    assert dq == pytest.approx(np.mean(tq - [r["planted_q"] for r in runs[:-1]]))
    assert abs(dq) < 4 * dq_err, (dq, dq_err)
    assert "| i.i.d., J_ii = 0 |" in md
    assert f"(24 J) | {dq:+.4f} ± {dq_err:.4f} | {runs[-1]['q']['mean']:.4f}" in md


def test_paired_differences_use_only_common_couplings(bench_script):
    """The report's paired table: q_b - q_a over the J seeds both settings ran, nothing else;
    runs of another source or size are not paired with them."""
    mod = bench_script("planted_tempering")

    def run(seed, bmin, steps, q, e, src="iid", N=50):
        return {"g": 1.2, "beta": 10.0, "N": N, "seed": seed, "source": src, "beta_min": bmin,
                "steps": steps, "q": {"mean": q, "err": 0.001},
                "ladder": [{"beta": b, "energy": {"mean": e, "err": 0.0005}}
                           for b in np.geomspace(bmin, 10.0, 3)]}
    runs = [run(0, 3, 100, 0.20, 0.050), run(1, 3, 100, 0.10, 0.051), run(2, 3, 100, 0.5, 0.0),
            run(0, 1, 400, 0.23, 0.049), run(1, 1, 400, 0.12, 0.050),
            run(0, 1, 400, 0.9, 0.0, src="planted"), run(1, 1, 400, 0.9, 0.0, N=60)]
    (p,) = mod.paired(runs)
    assert p["J"] == [0, 1] and p["source"] == "iid" and p["N"] == 50
    assert p["a"] == "β = 1 … 10, 400 steps" and p["b"] == "β = 3 … 10, 100 steps"
    assert p["dq"]["mean"] == pytest.approx(-0.025)
    # error: spread of the two differences / sqrt(2) (larger than the run errors here)
    assert p["dq"]["err"] == pytest.approx(np.std([-0.03, -0.02], ddof=1) / math.sqrt(2))
    assert p["deps"]["mean"] == pytest.approx(2 * 10.0 * 0.001)
    assert p["dL"] is None                                # ladders differ: no L difference
    assert "| 1.2 | 10 | 50 | iid | β = 1 … 10, 400 steps |" in "\n".join(mod.paired_lines(runs))
    # same ladder, longer runs: L_b - L_a is the thermodynamic integral of the energy shift,
    # here a constant -0.001 on every rung of 3 ... 10: -N * (-0.001) * sum of the
    # trapezoid weights of beta in ln beta
    runs += [run(0, 3, 800, 0.21, 0.049), run(1, 3, 800, 0.11, 0.050)]
    (p,) = [p for p in mod.paired(runs)
            if (p["a"], p["b"]) == ("β = 3 … 10, 100 steps", "β = 3 … 10, 800 steps")]
    assert p["J"] == [0, 1]
    bet = np.geomspace(3, 10, 3)
    w = np.diff(np.log(bet))
    exact = -50 * (-0.001) * np.sum(0.5 * w * (bet[1:] + bet[:-1]))   # trapezoid in ln beta
    assert p["dL"]["mean"] == pytest.approx(exact, rel=1e-9)
    assert "| +{:.3f} ± ".format(exact) in "\n".join(mod.paired_lines(runs))


def test_free_energy_tilt_test_and_gap(bench_script, tmp_path):
    """``free_energy``: L(J) from the rung energies, one (the longest) run per J, the gap to
    the annealed increment, and the tilt test: with q exactly linear in L in both ensembles
    the predicted shift equals the measured one (residual 0); an extra offset of the planted
    q appears as the residual."""
    mod = bench_script("planted_tempering")
    N, b, e1 = 40, 0.01, math.e

    def run(seed, src, L, q, steps=100):
        c = -2 * L / (N * (1 + e1))                       # constant e on the ladder 1, e
        en = {"mean": c, "err": 1e-6}
        return {"g": 1.2, "beta": e1, "beta_min": 1.0, "N": N, "seed": seed, "source": src,
                "steps": steps, "q": {"mean": q, "err": 1e-4},
                "ladder": [{"beta": 1.0, "energy": en}, {"beta": e1, "energy": en}]}
    Li = np.array([-30.0, -31.0, -29.5, -30.7])
    Lp = np.array([-29.0, -28.6, -29.9, -28.2, -29.4])
    runs = ([run(s, "iid", L, 0.2 + b * (L + 30)) for s, L in enumerate(Li)]
            + [run(s, "planted", L, 0.2 + b * (L + 30)) for s, L in enumerate(Lp)]
            + [run(0, "iid", -99.0, 0.9, steps=50)])                # shorter: ignored
    d = {"runs": runs, "annealed_ladder": {mod._lkey(N, 1.2, e1, 1.0):
                                           {"dlnz": {"mean": -28.0, "err": 0.1}}}}
    (row,) = mod.free_energy(d, n_boot=200)
    assert row["n_iid"] == 4 and row["n_planted"] == 5
    assert row["L_iid"]["mean"] == pytest.approx(Li.mean(), rel=1e-9)
    assert row["gap"]["mean"] == pytest.approx(-28.0 - Li.mean(), rel=1e-9)
    t = row["tilt"]
    assert t["slope"]["mean"] == pytest.approx(b)
    assert t["dL"]["mean"] == pytest.approx(Lp.mean() - Li.mean())
    assert t["pred"]["mean"] == pytest.approx(t["dq"]["mean"])
    assert abs(t["resid"]["mean"]) < 1e-12
    for r in runs:
        if r["source"] == "planted":
            r["q"]["mean"] += 0.03
    (row,) = mod.free_energy(d, n_boot=200)
    assert row["tilt"]["resid"]["mean"] == pytest.approx(0.03)
    assert row["tilt"]["slope"]["mean"] == pytest.approx(b)
    mod.PNG = str(tmp_path / "gap.png")
    assert "| 1.2 | 2.71828 | 1 | 40 | 4 / 5 |" in "\n".join(mod.free_energy_lines(d))
    assert not (tmp_path / "gap.png").exists()             # one size: no N trend to draw
    N = 80
    d["runs"] += [run(s, "iid", 2 * L, 0.2) for s, L in enumerate(Li)]
    d["annealed_ladder"][mod._lkey(N, 1.2, e1, 1.0)] = {"dlnz": {"mean": -56.0, "err": 0.1}}
    assert "![ln E_J Z − E_J ln Z against N](gap.png)" in "\n".join(mod.free_energy_lines(d))
    assert (tmp_path / "gap.png").stat().st_size > 1000


def test_gap_fits_recover_exact_lines_and_refuse_bad_input(bench_script):
    """``gap_fits``: data exactly on a + bN give those parameters with chi^2 = 0 for the
    linear reading and chi^2 > 0 for the constant and proportional ones; the parameter error
    of the constant fit is the error of a weighted mean, 1/sqrt(sum 1/err^2)."""
    mod = bench_script("planted_tempering")
    N = np.array([250.0, 500.0, 1000.0, 2000.0])
    err = np.array([0.05, 0.07, 0.09, 0.2])
    F = mod.gap_fits(N, 0.1 + 3e-4 * N, err)
    a, b = F["linear"]["params"]
    assert a == pytest.approx(0.1, abs=1e-12) and b == pytest.approx(3e-4, rel=1e-10)
    assert F["linear"]["chi2"] == pytest.approx(0.0, abs=1e-18) and F["linear"]["dof"] == 2
    assert F["constant"]["chi2"] > 10 and F["proportional"]["chi2"] > 1
    assert F["constant"]["errs"][0] == pytest.approx(1 / math.sqrt(np.sum(err ** -2)))
    assert F["linear"]["b_upper_2sigma"] == pytest.approx(b + 2 * F["linear"]["errs"][1])
    F = mod.gap_fits(N, np.full(4, 0.3), err)            # a constant gap: b = 0 exactly
    assert F["constant"]["params"][0] == pytest.approx(0.3)
    assert F["constant"]["chi2"] == pytest.approx(0.0, abs=1e-18)
    assert F["linear"]["params"][1] == pytest.approx(0.0, abs=1e-15)
    for bad in ((N[:2], [0.1, 0.2], [0.1, 0.1]), ([500.0] * 3, [0.1] * 3, [0.1] * 3),
                (N, [0.1, 0.2, np.nan, 0.3], err), (N, [0.1] * 4, [0.1, 0.0, 0.1, 0.1]),
                (N, [0.1] * 3, err)):
        with pytest.raises(ValueError):
            mod.gap_fits(*bad)
    rows = [{"g": 1.2, "beta": 10.0, "beta_min": 3.0, "N": int(n),
             "gap": {"mean": 0.1 + 3e-4 * n, "err": float(s)}} for n, s in zip(N, err)]
    (line, blank) = mod._gap_fit_lines(rows)
    assert line.startswith("* g = 1.2, β = 3 … 10, N = 250, 500, 1000, 2000") and blank == ""
    assert "b = 3.00 ± " in line and "χ² 0.0, 2 dof" in line
    assert mod._gap_fit_lines(rows[:2]) == []             # two sizes: nothing to fit


def test_planted_state_difference_pairs_each_run_with_its_planted_state(bench_script):
    """Mean over planted J of <q>_J - q(x_J): runs with q = 0.15, 0.11 and planted states
    0.16, 0.10 give (-0.01 + 0.01) / 2 = 0 with the spread error 0.01; i.i.d. runs (no
    planted state) are left out, and without planted runs there is no value."""
    mod = bench_script("planted_tempering")
    runs = [{"q": {"mean": 0.15, "err": 0.001}, "planted_q": 0.16},
            {"q": {"mean": 0.11, "err": 0.001}, "planted_q": 0.10},
            {"q": {"mean": 0.50, "err": 0.001}, "source": "iid"}]
    m, err = mod.planted_state_difference(runs)
    assert m == pytest.approx(0.0, abs=1e-12) and err == pytest.approx(0.01)
    runs[1]["planted_q"] = 0.08
    assert mod.planted_state_difference(runs)[0] == pytest.approx(0.01)
    assert mod.planted_state_difference(runs[2:]) is None
