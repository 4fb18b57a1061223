"""Sweeps: grid -> netCDF equals direct solves; resumption recomputes only missing points;
a Dask LocalCluster gives the same numbers; failures are stored, never silent NaN."""
import math
import os
import shutil

import numpy as np
import pytest
import xarray as xr

import numerics.continuation as continuation_module
from numerics.continuation import solve
from numerics.result import SaddleResult
from numerics.sweep import _consolidate, _key, sweep
from theory.kernels import compile_model
from theory.model import ModelError, Point, make_model

G = [0.6, 0.8, 1.2]
GAMMA = [-0.3, 0.3]
BETA, ETA = 5.0, 0.0
KW = dict(kind="finite", branch="paramagnetic")
NUMBERS = ("q", "r", "qh", "rh", "chi", "free_energy", "energy", "phi")


@pytest.fixture(scope="module")
def model():
    m = make_model("tanh")
    compile_model(m, **KW)          # compile once here; worker processes reuse the disk cache
    return m


@pytest.fixture(scope="module")
def reference(model, tmp_path_factory):
    """The 2 x 3 sweep, run on a local process pool of 2 workers."""
    out = tmp_path_factory.mktemp("sweep") / "s.nc"
    ds = sweep(model, G, GAMMA, BETA, ETA, **KW, out=str(out), workers=2, progress=False)
    return out, ds


def assert_same(a, b, rtol=1e-10):
    assert a.sizes == b.sizes
    np.testing.assert_array_equal(a["success"].values, b["success"].values)
    for name in NUMBERS:
        np.testing.assert_allclose(a[name].values, b[name].values, rtol=rtol, atol=1e-12,
                                   err_msg=name)


def test_sweep_matches_direct_solves(model, reference):
    out, ds = reference
    disk = xr.load_dataset(out)
    assert dict(disk.sizes) == {"gamma": 2, "beta": 1, "eta": 1, "g": 3}
    assert disk["success"].dtype == bool and bool(disk["success"].all())
    assert disk.attrs["kind"] == "finite" and disk.attrs["branch"] == "paramagnetic"
    assert "tanh" in disk.attrs["model"] and "numpy" in disk.attrs["package_versions"]
    assert ds.attrs["points_computed"] == 6 and ds.attrs["points_reused"] == 0
    for gm in GAMMA:
        for g in G:
            res = solve(model, Point(g=g, gamma=gm, beta=BETA, eta=ETA), **KW, tol=1e-10)
            assert res.success, res.message
            at = disk.sel(g=g, gamma=gm, beta=BETA, eta=ETA)
            assert str(at["message"].values).startswith("converged")
            for name in ("q", "r", "qh", "rh"):
                assert abs(float(at[name]) - res.x[name]) <= 1e-10 * max(1.0, abs(res.x[name])), name
            for name in ("chi", "free_energy", "energy", "phi"):
                v = getattr(res, name)
                assert abs(float(at[name]) - v) <= 1e-10 * max(1.0, abs(v)), name


def test_resume_recomputes_only_missing_points(model, reference, tmp_path, monkeypatch):
    src, ref = reference
    out = tmp_path / "s.nc"
    shutil.copytree(str(src) + ".parts", str(out) + ".parts")
    missing = _key(0.8, 0.3, BETA, ETA)
    os.remove(os.path.join(str(out) + ".parts", missing + ".json"))

    calls = {"solve": [], "continuation": []}
    real_solve, real_cont = continuation_module.solve, continuation_module.continuation

    def counting_solve(m, point, **kw):
        calls["solve"].append(point.g)
        return real_solve(m, point, **kw)

    def counting_continuation(m, points, **kw):
        calls["continuation"].append([p.g for p in points])
        return real_cont(m, points, **kw)

    monkeypatch.setattr(continuation_module, "solve", counting_solve)
    monkeypatch.setattr(continuation_module, "continuation", counting_continuation)
    ds = sweep(model, G, GAMMA, BETA, ETA, **KW, out=str(out), workers=1, progress=False)
    assert ds.attrs["points_computed"] == 1 and ds.attrs["points_reused"] == 5
    assert calls["solve"] == []                       # continued from the finished neighbour
    assert calls["continuation"] == [[0.6, 0.8]]
    assert_same(ds, ref)
    assert os.path.exists(os.path.join(str(out) + ".parts", missing + ".json"))

    os.remove(out)                                    # nothing missing: nothing solved
    calls["solve"].clear(), calls["continuation"].clear()
    ds = sweep(model, G, GAMMA, BETA, ETA, **KW, out=str(out), workers=1, progress=False)
    assert ds.attrs["points_computed"] == 0 and calls == {"solve": [], "continuation": []}
    assert_same(ds, ref)


def test_parts_of_another_sweep_are_refused(model, reference, tmp_path):
    src, _ = reference
    out = tmp_path / "s.nc"
    shutil.copytree(str(src) + ".parts", str(out) + ".parts")
    with pytest.raises(ValueError, match="different sweep"):
        sweep(model, G, GAMMA, BETA, ETA, **KW, out=str(out), tol=1e-8, progress=False)


def test_dask_local_cluster_gives_the_same_numbers(model, reference, tmp_path):
    pytest.importorskip("dask.distributed")
    _, ref = reference
    ds = sweep(model, G, GAMMA, BETA, ETA, **KW, out=str(tmp_path / "d.nc"),
               scheduler="local", workers=2, progress=False)
    assert ds.attrs["points_computed"] == 6
    assert_same(ds, ref, rtol=1e-12)


def test_failed_point_is_stored_and_the_line_restarts(model, tmp_path, monkeypatch):
    """A continuation failure at g = 1.0 is recorded with its message; the next point starts
    afresh with solve (stubbed solver: this tests the bookkeeping, not the equations)."""
    log = []

    def fake(point):
        log.append(point.g)
        ok = point.g != 1.0
        return SaddleResult({"q": point.g, "r": 0.0, "qh": 0.0, "rh": 0.0, "Q": 0.0}, ok,
                            0 if ok else 1, "converged" if ok else "stalled at the test point",
                            residual_norm=0.0, chi=1.0, kind="finite", branch="paramagnetic")

    def fake_solve(m, point, **kw):
        log.append("solve")
        return fake(point)

    def fake_continuation(m, points, **kw):
        for p in points:
            r = fake(p)
            yield r
            if not r.success:
                return

    monkeypatch.setattr(continuation_module, "solve", fake_solve)
    monkeypatch.setattr(continuation_module, "continuation", fake_continuation)
    ds = sweep(model, [0.8, 0.9, 1.0, 1.1, 1.2], 0.0, 2.0, 0.0, **KW, out=str(tmp_path / "f.nc"),
               workers=1, progress=False)
    line = ds.isel(gamma=0, beta=0, eta=0)
    assert line["success"].values.tolist() == [True, True, False, True, True]
    assert str(line["message"].sel(g=1.0).values) == "stalled at the test point"
    assert log == ["solve", 0.8, 0.8, 0.9, 1.0, "solve", 1.1, 1.1, 1.2]
    np.testing.assert_allclose(line["q"].values, [0.8, 0.9, 1.0, 1.1, 1.2])


def test_infinite_beta_round_trips(tmp_path):
    rec = {"g": 1.2, "gamma": 0.0, "beta": math.inf, "eta": 0.0, "x": {"q": 0.17, "Q": 0.0},
           "success": False, "status": 1, "message": "not converged: a test", "chi": math.inf,
           "free_energy": math.nan, "energy": math.nan, "phi": 0.5, "residual_norm": 1e-3}
    axes = {"g": np.array([1.2]), "gamma": np.array([0.0]), "beta": np.array([math.inf]),
            "eta": np.array([0.0])}

    class Derived:
        provenance = "test"
    ds = _consolidate({_key(1.2, 0.0, math.inf, 0.0): rec}, axes, ["q", "Q"], make_model("tanh"),
                      Derived, "chaotic", "full", 1e-10, {})
    ds.to_netcdf(tmp_path / "inf.nc")
    back = xr.load_dataset(tmp_path / "inf.nc")
    assert back["beta"].values.tolist() == [math.inf]
    assert back["success"].dtype == bool and not bool(back["success"].values.item())
    assert str(back["message"].values.item()) == "not converged: a test"
    assert math.isinf(float(back["chi"].values.item()))
    assert back.sel(beta=math.inf)["q"].values.item() == 0.17


def test_bad_grids_are_refused(model, tmp_path):
    out = str(tmp_path / "x.nc")
    with pytest.raises(ModelError, match="gamma"):
        sweep(model, [0.5], 1.5, 2.0, out=out, **KW, progress=False)
    with pytest.raises(ModelError, match="g must be"):
        sweep(model, [-0.5, 1.0], 0.0, 2.0, out=out, **KW, progress=False)
    with pytest.raises(ModelError, match="zero-temperature"):
        sweep(model, [0.5], 0.0, math.inf, out=out, **KW, progress=False)
    with pytest.raises(ValueError, match="repeated"):
        sweep(model, [0.5, 0.5], 0.0, 2.0, out=out, **KW, progress=False)
    assert not os.path.exists(out) and not os.path.exists(out + ".parts")
