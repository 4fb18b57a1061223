"""RS theory against Langevin/MALA at beta = 2: a subset of benchmarks/validation_grid.py.

The points and the run settings are those of the grid (docs/validation_grid.md), where
these points agree within 3 error bars for q and energy; the seeds fix the runs, so this
test re-runs exactly those comparisons through the same harness."""
import pytest

from numerics.validate import replica_theory, validate

POINTS = [dict(g=0.8, gamma=0.5, beta=2.0, eta=0.0),
          dict(g=1.2, gamma=0.0, beta=2.0, eta=0.1),
          dict(g=1.2, gamma=0.5, beta=2.0, eta=0.1)]


@pytest.mark.slow
def test_rs_theory_against_simulation_beta2(tmp_path):
    """q and energy, N = 250, 500, 1000 extrapolated in 1/N, within 3 error bars."""
    theory = replica_theory("tanh")
    t = validate(POINTS, Ns=(250, 500, 1000), theory=theory, phi="tanh", seeds=(0, 1, 2),
                 steps=15000, burn=3000, replicas=2, thin=10, dt=0.05,
                 csv_path=tmp_path / "grid.csv")
    assert t.check(("q", "energy"), nsigma=3.0) == 2 * len(POINTS)


def _synthetic(points, Ns, line, err=0.01):
    """Rows and runs as the harness writes them, every observable exactly on y = a + b/N."""
    rows, runs = [], []
    for p in points:
        for N in Ns:
            for o, (a, b) in line.items():
                rows.append(dict(p, N=N, observable=o, mean=a + b / N, err=err, tau=5.0,
                                 theory=None, z=None, chi2_dof=None))
            for s in (0, 1, 2):
                runs.append(dict(p, N=N, seed=s, acceptance=0.57, dt=0.05, steps=1000, burn=200,
                                 tau_q=10.0 * N / 1000, tau_Q=3.0, tau_energy=2.0,
                                 q_half_drift_sigma=0.5, energy_half_drift_sigma=-0.5))
    return rows, runs


def test_merge_extension_refits_over_all_sizes(bench_script):
    """An added size enters the 1/N fit: exact data on y = a + b/N give back a with chi^2 = 0
    on two degrees of freedom, a re-merged size replaces the old one, untouched points keep
    their values."""
    vg = bench_script("validation_grid")
    p1 = dict(g=0.8, gamma=0.0, beta=2.0, eta=0.0)
    p2 = dict(g=1.2, gamma=0.0, beta=2.0, eta=0.0)
    line = {"q": (0.3, -20.0), "Q": (0.0, 1.0), "energy": (0.25, 5.0), "chi": (1.0, 2.0)}
    rows, runs = _synthetic([p1, p2], (250, 500, 1000), line)
    # N = inf rows as the harness leaves them, with a theory value a + 0.002 (z = -0.2 / err)
    for p in (p1, p2):
        for o, (a, _) in line.items():
            rows.append(dict(p, N="inf", observable=o, mean=a + 0.1, err=0.05, tau=5.0,
                             theory=a + 0.002, z=0.0, chi2_dof=float("nan")))
    res = dict(meta=dict(Ns=[250, 500, 1000]), rows=rows, runs=runs,
               points=[vg.summarise(p, rows, runs, (250, 500, 1000)) for p in (p1, p2)])
    # the extension moves N = 2000 of p1 off the line; merging the corrected file replaces it
    bad_rows, bad_runs = _synthetic([p1], (2000,), {o: (a + 1.0, b) for o, (a, b) in line.items()})
    good_rows, good_runs = _synthetic([p1], (2000,), line)
    ext = lambda r, u: dict(meta=dict(command="x", N=2000, seconds=1.0, complete=True),  # noqa: E731
                            points=[p1], rows=r, runs=u)
    out = vg.merge_extensions(vg.merge_extensions(res, [ext(bad_rows, bad_runs)]),
                              [ext(good_rows, good_runs)])
    pts = {vg.key(p): p for p in out["points"]}
    a1 = pts[vg.key(p1)]
    assert a1["Ns"] == [250, 500, 1000, 2000]
    assert len([r for r in out["rows"] if vg.key(r) == vg.key(p1) and r["N"] == 2000]) == len(line)
    assert len([r for r in out["runs"] if vg.key(r) == vg.key(p1) and r["N"] == 2000]) == 3
    for o, (a, _) in line.items():
        assert a1[o]["mean"] == pytest.approx(a, abs=1e-12)
        assert a1[o]["chi2_dof"] == pytest.approx(0.0, abs=1e-12)
        assert a1[o]["z"] == pytest.approx((a - (a + 0.002)) / a1[o]["err"], rel=1e-9)
        assert set(a1[o]["per_N"]) == {"250", "500", "1000", "2000"}
    assert a1["tau_q_largest_N"] == pytest.approx(20.0)          # taken at N = 2000
    a2 = pts[vg.key(p2)]
    assert a2["Ns"] == [250, 500, 1000]
    assert a2["q"]["mean"] == pytest.approx(0.3 + 0.1)           # not refitted
    assert out["meta"]["Ns"] == [250, 500, 1000, 2000]
    assert [r["mean"] for r in res["rows"] if r["N"] == "inf"] == [a + 0.1 for _ in (p1, p2)
                                                                  for a, _ in line.values()]
    assert len(res["rows"]) == 2 * 4 * len(line)                 # the input is not modified
    # a second extension (another command) is listed beside the first, a re-merge replaces it
    ext2 = dict(ext(*_synthetic([p2], (2000,), line)), meta=dict(command="y", N=2000, seconds=2.0,
                                                                  complete=False))
    out2 = vg.merge_extensions(vg.merge_extensions(out, [ext2]), [ext2])
    assert [e["command"] for e in out2["meta"]["extensions"]] == ["x", "y"]
    with pytest.raises(ValueError, match="not in the grid"):
        vg.merge_extensions(res, [ext(*_synthetic([dict(p1, g=0.9)], (2000,), line))])


def test_drifting_lists_points_still_moving_at_their_largest_size(bench_script):
    """A point is listed when a run at its largest N has |q half-trace drift| > 3; drifts at
    smaller N and drifts within 3 error bars are not."""
    vg = bench_script("validation_grid")
    p1 = dict(g=0.8, gamma=0.0, beta=2.0, eta=0.0)
    p2 = dict(g=1.2, gamma=0.0, beta=2.0, eta=0.0)
    line = {"q": (0.3, -20.0), "Q": (0.0, 1.0), "energy": (0.25, 5.0), "chi": (1.0, 2.0)}
    rows, runs = _synthetic([p1, p2], (250, 500, 1000), line)
    for r in runs:
        if vg.key(r) == vg.key(p1) and r["N"] == 1000 and r["seed"] == 2:
            r["q_half_drift_sigma"] = 4.5
        if vg.key(r) == vg.key(p2) and r["N"] == 500:
            r["q_half_drift_sigma"] = -6.0              # not the largest N of p2
        if vg.key(r) == vg.key(p2) and r["N"] == 1000 and r["seed"] == 0:
            r["q_half_drift_sigma"] = -2.9             # within 3 error bars
    res = dict(meta=dict(Ns=[250, 500, 1000]), rows=rows, runs=runs,
               points=[dict(p, Ns=[250, 500, 1000]) for p in (p1, p2)])
    mv = vg.drifting(res)
    assert [(vg.key(p), nm, sorted(d), b) for p, nm, d, b in mv] == [
        (vg.key(p1), 1000, [0.5, 0.5, 4.5], [4.5])]
    assert vg.drifting(res, nsigma=2.5)[1][3] == [-2.9]
