"""benchmarks/basins.py: the basin-share and anharmonic-correction formulas on exact inputs,
and a small end-to-end run."""
import math

import numpy as np
import pytest


def test_anharmonic_integral_of_a_constant_and_of_the_harmonic_energy(bench_script):
    """delta = d at every beta: N I = N d (ln(beta_max / beta_0) + 1) (trapezoid exact, tail
    d); the harmonic energy N/(2 beta) gives 0; errors add in quadrature with those weights."""
    mod = bench_script("basins")
    betas = [1000.0 * 2 ** k for k in range(5)]
    N, d = 250, 0.01
    en = [{"mean": (0.5 + d) / b, "err": 1e-3 / b} for b in betas]
    NI, err = mod.anharmonic(betas, en, N)
    assert NI == pytest.approx(N * d * (math.log(16.0) + 1.0), rel=1e-12)
    h = math.log(2.0)
    w = np.array([h / 2, h, h, h, h / 2 + 1.0])
    assert err == pytest.approx(N * 1e-3 * math.sqrt(np.sum(w ** 2)), rel=1e-12)
    NI0, _ = mod.anharmonic(betas, [{"mean": 0.5 / b, "err": 1e-3 / b} for b in betas], N)
    assert abs(NI0) < 1e-10


def test_lambda_by_thermodynamic_integration(bench_script):
    """Lambda(beta) = -N int delta d ln beta: 0 for the harmonic energy N/(2 beta), exactly
    -N d ln(beta / beta_1) for a constant delta = d (trapezoid exact), Lambda(beta_1) = 0."""
    mod = bench_script("basins")
    betas = np.geomspace(1e-3, 1e3, 13)
    N, d = 250, -0.004
    lam, err = mod.big_lambda(betas, [{"mean": (0.5 + d) / b, "err": 1e-3 / b} for b in betas], N)
    np.testing.assert_allclose(lam, -N * d * np.log(betas / betas[0]), rtol=1e-10, atol=1e-10)
    assert err[0] == 0 and np.all(np.diff(err) > 0)
    lam0, _ = mod.big_lambda(betas, [{"mean": 0.5 / b, "err": 0.0} for b in betas], N)
    assert np.max(np.abs(lam0)) < 1e-9


def test_harmonic_shares_and_label_shares(bench_script):
    mod = bench_script("basins")
    pts = [dict(logdet=9.0, cls=0), dict(logdet=2.0, cls=1), dict(logdet=2.0, cls=1),
           dict(logdet=4.0, cls=3), dict(logdet=4.0, cls=3)]
    sh = mod.harmonic_shares(pts)
    w = np.array([math.exp(-9.0), 2 * math.exp(-2.0), 2 * math.exp(-4.0)])
    np.testing.assert_allclose([sh[0], sh[1], sh[3]], w / w.sum(), rtol=1e-12)
    lab = np.zeros((200, 2), dtype=int)
    lab[::4] = 1
    lab[1::4, 1] = -2
    s = mod.shares(lab, [0, 1])
    assert s[1][0] == pytest.approx(0.25) and s[-2][0] == pytest.approx(0.125)
    assert s[0][0] == pytest.approx(0.625) and -1 not in s
    assert sum(v[0] for v in s.values()) == pytest.approx(1.0)


def test_small_run_writes_consistent_report(bench_script, tmp_path):
    """N = 40: census completed by symmetry, every MALA chain started on a fixed point at
    beta >= 1000 stays in its basin, the tempering labels are classes of the census (or the
    two flags) and the report lists every class."""
    mod = bench_script("basins")
    mod.OUT = str(tmp_path / "basins.json")
    mod.MD = str(tmp_path / "basins.md")
    mod.main(["--N", "40", "--g", "1.5", "--starts", "10", "--steps", "600", "--burn", "200",
              "--snap", "100", "--within-steps", "800", "--fe-steps", "500"])
    runs = mod._load()["runs"]
    cen = runs[mod._key(40, 1.5, 0, "census")]
    xs = np.array([p["x"] for p in cen["points"]])
    for p in cen["points"]:                      # -x is listed for every x, same class
        j = int(np.argmin(np.linalg.norm(xs + np.array(p["x"]), axis=1)))
        assert cen["points"][j]["cls"] == p["cls"]
    classes = {p["cls"] for p in cen["points"]}
    w = runs[mod._key(40, 1.5, 0, "within|800")]
    assert set(w["classes"]) == {str(c) for c in classes}
    assert all(r["stayed"] == 1.0 for r in w["classes"].values())
    t = runs[mod._key(40, 1.5, 0, "tempering|0.1")]
    for r in t["points"].values():
        assert set(np.ravel(r["labels"]).tolist()) <= classes | {-1, -2}
        assert np.array(r["labels"]).shape == (6, 2)
    fe = runs[mod._key(40, 1.5, 0, "free_energy|500")]
    assert fe["betas"][0] == pytest.approx(1e-3) and fe["betas"][-1] == pytest.approx(1e3)
    assert len(fe["energy"]) == len(fe["betas"])
    md = open(mod.MD).read()
    assert all(f"| {c} |" in md for c in classes) and "<!-- notes -->" in md
    assert "Free energy of the whole measure" in md and "Shares at β = 1000 from" in md
    # a tempering ladder from beta = 3 keeps every rung's energy; the report chains its
    # Lambda(3 -> 1000) onto the free-energy run's Lambda(3)
    mod.main(["--N", "40", "--g", "1.5", "--steps", "600", "--burn", "200", "--snap", "100",
              "--within-steps", "800", "--fe-steps", "500", "--beta-min", "3"])
    t3 = mod._load()["runs"][mod._key(40, 1.5, 0, "tempering|0.1|b3")]
    assert t3["ladder"]["betas"][0] == pytest.approx(3.0) and t3["rungs"] == len(t3["ladder"]["energy"])
    assert all(any(b == pytest.approx(x) for b in t3["ladder"]["betas"]) for x in (30.0, 100.0, 1000.0))
    assert "this run's ladder" in open(mod.MD).read()
