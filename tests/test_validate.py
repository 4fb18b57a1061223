"""Theory-vs-simulation harness: exact linear reference, files written, and the replica
solver comparison."""
import math

import numpy as np
import pytest

from numerics.stats import Estimate, assert_within
from numerics.validate import (extrapolate, extrapolated_row, linear_exact_theory, replica_theory,
                               validate)


def test_extrapolate_exact_line():
    Ns = [250, 500, 1000]
    ests = [Estimate(2.0 + 3.0 / N, 1e-3) for N in Ns]
    a, chi2 = extrapolate(Ns, ests)
    assert abs(a.mean - 2.0) < 1e-12 and chi2 < 1e-12 and a.err > 0


@pytest.mark.parametrize("bad", [0.0, -1e-3, float("nan"), float("inf")])
def test_extrapolate_refuses_missing_errors(bad):
    """A size without a usable error would get infinite (or undefined) weight: refused, and
    the message names the size."""
    Ns = [250, 500, 1000]
    ests = [Estimate(0.3, 1e-3), Estimate(0.3, bad), Estimate(0.3, 1e-3)]
    with pytest.raises(ValueError, match=r"N = \[500\]"):
        extrapolate(Ns, ests)


def test_linear_validation_writes_table(tmp_path):
    """Linear phi: the extrapolated simulation agrees with the exact large-N reference."""
    pts = [dict(g=0.5, gamma=0.0, beta=2.0, eta=0.1)]
    csv_path, png = tmp_path / "v.csv", tmp_path / "v.png"
    t = validate(pts, Ns=(100, 200), theory=linear_exact_theory(N_ref=800), phi="linear",
                 seeds=(0, 1), steps=6000, burn=1000, replicas=2, thin=5, dt=0.1,
                 csv_path=csv_path, plot_path=png)
    ext = {r["observable"]: r for r in t.extrapolated()}
    for o in ("q", "energy", "chi"):
        r = ext[o]
        # sample-to-sample and finite-N_ref fluctuations of the reference are O(1e-2) relative
        assert_within(Estimate(r["mean"], r["err"]), r["theory"], 4.0, abs_tol=0.02 * abs(r["theory"]),
                      what=f"linear {o}")
    assert csv_path.read_text().count("\n") == 1 + 2 * 4 + 4
    assert png.stat().st_size > 1000


@pytest.mark.slow
def test_replica_solver_against_simulation(tmp_path):
    """RS solution at finite beta against Langevin/MALA, N = 250 ... 2000 (tanh)."""
    theory = replica_theory("tanh")
    pts = [dict(g=0.8, gamma=0.0, beta=5.0, eta=0.1), dict(g=0.8, gamma=0.5, beta=5.0, eta=0.1)]
    t = validate(pts, Ns=(250, 500, 1000, 2000), theory=theory, phi="tanh", seeds=(0, 1, 2),
                 steps=8000, burn=2000, replicas=2, thin=10, dt=0.1,
                 csv_path=tmp_path / "rs.csv", plot_path=tmp_path / "rs.png")
    assert t.check(("q", "energy"), nsigma=4.0) == 2 * len(pts)


def test_table_check_counts_and_fails():
    """ValidationTable.check: passes within nsigma, raises outside it or without theory."""
    from numerics.validate import ValidationTable
    row = dict(g=0.8, gamma=0.0, beta=2.0, eta=0.0, N="inf", observable="q", mean=1.0, err=0.1,
               tau=1.0, theory=1.25)
    assert ValidationTable([row, {**row, "N": 500}]).check(("q",), nsigma=3.0) == 1
    with pytest.raises(AssertionError):
        ValidationTable([{**row, "theory": 1.5}]).check(("q",), nsigma=3.0)
    with pytest.raises(AssertionError):
        ValidationTable([{**row, "theory": None}]).check(("q",))


def test_runs_diagnostics_and_independent_points():
    """One diagnostics record per (point, N, seed); by default every point reuses the same
    networks and noise (identical points give identical runs), with independent=True they
    do not."""
    pts = [dict(g=0.5, gamma=0.0, beta=2.0, eta=0.1)] * 2
    kw = dict(Ns=(40,), phi="linear", seeds=(0, 1), steps=400, burn=100, thin=5, dt=0.1)
    same = validate(pts, **kw)
    assert len(same.runs) == 2 * 1 * 2
    r = same.runs[0]
    assert 0.0 < r["acceptance"] <= 1.0 and r["dt"] > 0 and r["tau_q"] >= 1.0
    assert (r["N"], r["seed"], r["steps"], r["burn"]) == (40, 0, 400, 100)
    assert math.isfinite(r["q_half_drift_sigma"]) and math.isfinite(r["energy_half_drift_sigma"])
    assert same.runs[0]["q"] == same.runs[2]["q"]          # point 0 and point 1, seed 0
    ind = validate(pts, independent=True, **kw)
    assert ind.runs[0]["q"] == same.runs[0]["q"]            # the first point keeps its seeds
    assert ind.runs[2]["q"] != ind.runs[0]["q"]


def test_combine_seeds_includes_network_spread_from_two_samples():
    from numerics.validate import _combine_seeds
    c = _combine_seeds([Estimate(1.0, 1e-3), Estimate(2.0, 1e-3)])
    assert c.mean == 1.5 and abs(c.err - 0.5) < 1e-12          # |m1 - m2| / 2
    one = _combine_seeds([Estimate(1.0, 1e-3)])
    assert one.err == 1e-3


def test_extrapolated_row_fit_and_z():
    """The N = inf row: intercept of the exact line a + b/N, z against the theory value, and
    no z without a theory value or with a zero error."""
    Ns = [250, 500, 1000, 2000]
    ests = [Estimate(0.3 - 2.0 / N, 1e-3, 7.0) for N in Ns]
    p = dict(g=1.2, gamma=0.5, beta=10.0)
    r = extrapolated_row(p, "q", Ns, ests, theory=0.299)
    a, chi2 = extrapolate(Ns, ests)
    assert r["N"] == "inf" and r["observable"] == "q" and r["eta"] == 0.0 and r["gamma"] == 0.5
    assert abs(r["mean"] - 0.3) < 1e-12 and r["chi2_dof"] < 1e-12 and r["tau"] == 7.0
    assert r["err"] == a.err and r["z"] == (r["mean"] - 0.299) / a.err
    assert extrapolated_row(p, "q", Ns, ests)["z"] is None
    assert extrapolated_row(p, "q", [500], [Estimate(0.3, 0.0)], theory=0.2)["z"] is None
