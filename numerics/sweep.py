"""Parameter sweeps: a grid of control parameters -> saddle-point solutions -> xarray on disk.

The grid is the outer product of g, gamma, beta and eta (each a scalar or a 1-D sequence).
The unit of work is one line along g at fixed (gamma, beta, eta): it is solved by
continuation in increasing g (:func:`numerics.continuation.continuation`), started with a
full :func:`~numerics.continuation.solve` at its first g, so neighbouring points share
their Newton starts. Lines run in parallel on a local process pool or a Dask cluster.

Every finished point, converged or not, is written at once to its own small JSON file in
``out + ".parts/"`` (atomically: write, then rename). A killed sweep, run again with the
same arguments, keeps every finished point and computes only the missing ones, continuing
each gap from its finished neighbour. The consolidated result is a netCDF file ``out`` with
dimensions (gamma, beta, eta, g), one variable per order parameter and chi, free_energy,
energy, phi (-beta f), residual_norm, status, success and message; a failed point has
success=False and the solver's message, and its numbers are those of the last iterate, not
a solution. Zero temperature is stored as beta = inf.

Dask workers on other machines must see ``out + ".parts/"`` (a shared file system) for
resumption to work; their results are also sent back and written by the caller.
"""
from __future__ import annotations

import concurrent.futures
import datetime
import hashlib
import json
import math
import multiprocessing
import os
import time
from importlib import metadata

import numpy as np

from theory.model import Model, ModelError, Point, make_model

DIMS = ("gamma", "beta", "eta", "g")
_NUMBERS = ("chi", "free_energy", "energy", "phi", "residual_norm")
_PACKAGES = ("qpot", "numpy", "scipy", "sympy", "numba", "xarray", "netCDF4", "dask")


# -- grid ----------------------------------------------------------------------------------
def _axis(name: str, values) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(values, dtype=float))
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a number or a non-empty 1-D sequence, got {values!r}")
    if np.any(np.isnan(arr)):
        raise ValueError(f"{name} contains NaN")
    if len(np.unique(arr)) != arr.size:
        raise ValueError(f"{name} contains repeated values: {arr.tolist()}")
    return arr


def _key(g, gamma, beta, eta) -> str:
    """File name of one point: the exact values (repr of a float round-trips)."""
    return f"g={float(g)!r}_gamma={float(gamma)!r}_beta={float(beta)!r}_eta={float(eta)!r}"


def _spec_digest(model: Model, kind: str, branch: str, tol: float, controls: dict) -> dict:
    import sympy as sp
    spec = {"phi": sp.srepr(model.phi), "U": sp.srepr(model.U),
            "mean_coupling": model.mean_coupling, "quenched_input": model.quenched_input,
            "kind": kind, "branch": branch, "tol": float(tol),
            "controls": {k: float(v) for k, v in sorted(controls.items())}}
    spec["digest"] = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]
    spec["model"] = model.label
    return spec


def _write_json(path: str, obj) -> None:
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w") as fh:
        json.dump(obj, fh)
    os.replace(tmp, path)


def _read_parts(parts: str) -> dict:
    out = {}
    for entry in os.scandir(parts):
        if entry.name.endswith(".json") and entry.name != "sweep.json":
            try:
                with open(entry.path) as fh:
                    out[entry.name[:-5]] = json.load(fh)
            except (OSError, ValueError):  # unreadable: the point counts as missing
                pass
    return out


# -- one line (runs in a worker) -------------------------------------------------------------
def _record(res, g, gamma, beta, eta) -> dict:
    return {"g": g, "gamma": gamma, "beta": beta, "eta": eta, "x": dict(res.x),
            "success": bool(res.success), "status": int(res.status), "message": str(res.message),
            **{k: float(getattr(res, k)) for k in _NUMBERS}}


def _failure(exc: BaseException, g, gamma, beta, eta) -> dict:
    return {"g": g, "gamma": gamma, "beta": beta, "eta": eta, "x": {}, "success": False,
            "status": 1, "message": f"{type(exc).__name__}: {exc}",
            **{k: math.nan for k in _NUMBERS}}


def solve_line(spec: dict, line: dict, on_point=None) -> dict:
    """Solve the missing points of one line along g; write each as soon as it is finished.

    ``line`` holds gamma, beta, eta, the increasing g values and ``done``: index -> record
    of the points already finished. Each run of consecutive missing points is continued
    from its finished, converged left neighbour, or else started with a full ``solve``;
    after a failure the next point starts afresh. ``on_point()`` is called after each
    point. Returns the new records and their count.
    """
    from .continuation import continuation, solve
    from .saddle import compiled_for

    model, kind, branch, tol = spec["model"], spec["kind"], spec["branch"], spec["tol"]
    gamma, beta, eta, gs = line["gamma"], line["beta"], line["eta"], line["g"]
    done = {int(k): v for k, v in line["done"].items()}
    n_op = len(compiled_for(model, kind, branch).derived.order_params)
    pts = [Point(g=g, gamma=gamma, beta=beta, eta=eta, **spec["controls"]) for g in gs]
    new, no_seed = [], set()

    def finish(i, rec):
        _write_json(os.path.join(spec["parts"], _key(gs[i], gamma, beta, eta) + ".json"), rec)
        done[i] = rec
        new.append(rec)
        if on_point is not None:
            on_point()

    def fresh(i):
        try:
            res = solve(model, pts[i], kind=kind, branch=branch, tol=tol)
            finish(i, _record(res, gs[i], gamma, beta, eta))
        except Exception as exc:  # noqa: BLE001 - a failed point is data, not a crash
            finish(i, _failure(exc, gs[i], gamma, beta, eta))
        return done[i]

    while True:
        missing = [i for i in range(len(gs)) if i not in done]
        if not missing:
            break
        k = missing[0]
        run = [k]
        while run[-1] + 1 < len(gs) and run[-1] + 1 not in done:
            run.append(run[-1] + 1)
        left = done.get(k - 1)
        if left is not None and left["success"] and k not in no_seed:
            seed = k - 1
        else:
            rec = fresh(k)
            if not rec["success"] or len(run) == 1:
                continue
            seed, run = k, run[1:]
        x0 = list(done[seed]["x"].values())[:n_op]
        path = [pts[seed]] + [pts[i] for i in run]
        try:
            gen = continuation(model, path, kind=kind, branch=branch, x0=x0, tol=tol)
            first = next(gen)        # the seed again, from its own solution
            if not first.success:
                no_seed.add(run[0])
                continue
            for i, res in zip(run, gen):
                finish(i, _record(res, gs[i], gamma, beta, eta))
        except Exception as exc:  # noqa: BLE001
            i = next(j for j in run if j not in done)
            finish(i, _failure(exc, gs[i], gamma, beta, eta))
    return {"records": new, "computed": len(new)}


# -- execution -------------------------------------------------------------------------------
def _run(tasks, spec, scheduler, workers, on_progress):
    """Run solve_line over tasks; yields each line's result. ``on_progress`` is polled."""
    if not tasks:
        return
    if scheduler is None and workers == 1:
        for t in tasks:
            yield solve_line(spec, t, on_progress)
        return
    if scheduler is None:
        ctx = multiprocessing.get_context("spawn")
        pool = concurrent.futures.ProcessPoolExecutor(max_workers=min(workers, len(tasks)),
                                                      mp_context=ctx)

        def submit(t):
            return pool.submit(solve_line, spec, t)

        def close():
            pool.shutdown(wait=True, cancel_futures=True)
    else:
        from dask.distributed import Client, LocalCluster
        cluster = None
        if scheduler == "local":
            cluster = LocalCluster(n_workers=min(workers, len(tasks)), threads_per_worker=1,
                                   processes=True, dashboard_address=None)
            client = Client(cluster)
        else:
            client = Client(scheduler)

        def submit(t):
            return client.submit(solve_line, spec, t, pure=False)

        def close():
            client.close()
            if cluster is not None:
                cluster.close()
    try:
        pending = [submit(t) for t in tasks]
        while pending:
            time.sleep(0.2)
            on_progress()
            still = []
            for f in pending:
                if f.done():
                    yield f.result()
                else:
                    still.append(f)
            pending = still
    finally:
        close()


def sweep(model: Model | str, g, gamma=0.0, beta=10.0, eta=0.0, *, kind: str = "finite",
          branch: str = "full", out: str, scheduler: str | None = None,
          workers: int | None = None, progress: bool = True, tol: float = 1e-10,
          controls: dict | None = None):
    """Solve the saddle-point equations on the grid g x gamma x beta x eta; return the
    consolidated :class:`xarray.Dataset`, also written to the netCDF file ``out``.

    Parameters
    ----------
    model : a :class:`~theory.model.Model` or a catalogue name of phi.
    g, gamma, beta, eta : scalars or 1-D sequences (no repeats); g is solved and stored in
        increasing order, the other axes in the order given. beta = inf needs
        kind="laplace" or "chaotic", finite beta kind="finite".
    kind, branch, tol : passed to :func:`~numerics.continuation.solve` and
        :func:`~numerics.continuation.continuation`.
    out : path of the netCDF file; finished points live in ``out + ".parts/"``, which a
        rerun reuses (its specification must match: model, kind, branch, tol, controls).
    scheduler : None for a local process pool; a Dask scheduler address; or "local" to
        start a Dask ``LocalCluster`` with ``workers`` single-threaded worker processes.
    workers : number of processes (default ``os.cpu_count()``); with no scheduler,
        workers=1 solves in this process.
    controls : fixed values of the model's further controls (J0, I0, sI).

    The returned dataset carries, in memory only, ``attrs["points_computed"]`` (points
    solved by this call) and ``attrs["points_reused"]`` (finished points found on disk).
    """
    import xarray as xr
    from theory.kernels import derived_model

    if isinstance(model, str):
        model = make_model(model)
    controls = dict(controls or {})
    unknown = set(controls) - {"J0", "I0", "sI"}
    if unknown:
        raise ModelError(f"controls may set J0, I0, sI only, got {sorted(unknown)}")
    axes = {"g": np.sort(_axis("g", g)), "gamma": _axis("gamma", gamma),
            "beta": _axis("beta", beta), "eta": _axis("eta", eta)}
    for gm in axes["gamma"]:
        for bt in axes["beta"]:
            for et in axes["eta"]:
                for gv in (axes["g"][0], axes["g"][-1]):
                    Point(g=gv, gamma=gm, beta=bt, eta=et, **controls).values(model)
    finite = np.isfinite(axes["beta"])
    if kind == "finite" and not finite.all():
        raise ModelError("beta = inf needs a zero-temperature scaling: kind='laplace' or 'chaotic'")
    if kind in ("laplace", "chaotic") and finite.any():
        raise ModelError(f"kind={kind!r} is a zero-temperature scaling: use beta = inf only")
    derived = derived_model(model, kind, branch)       # validates kind and branch
    names = [s.name for s in derived.order_params]
    workers = int(workers or os.cpu_count() or 1)
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")

    out = os.fspath(out)
    parts = out + ".parts"
    os.makedirs(parts, exist_ok=True)
    spec_doc = _spec_digest(model, kind, branch, tol, controls)
    manifest = os.path.join(parts, "sweep.json")
    if os.path.exists(manifest):
        with open(manifest) as fh:
            old = json.load(fh)
        if old.get("digest") != spec_doc["digest"]:
            raise ValueError(f"{parts} holds points of a different sweep ({old.get('model')}, "
                             f"kind {old.get('kind')}, branch {old.get('branch')}, tol "
                             f"{old.get('tol')}, controls {old.get('controls')}): "
                             "remove it or choose another output path")
    else:
        _write_json(manifest, spec_doc)

    stored = _read_parts(parts)
    tasks, reused, total = [], 0, 0
    for gm in axes["gamma"]:
        for bt in axes["beta"]:
            for et in axes["eta"]:
                gs = [float(v) for v in axes["g"]]
                done = {}
                for i, gv in enumerate(gs):
                    rec = stored.get(_key(gv, gm, bt, et))
                    if rec is not None:
                        done[i] = rec
                total += len(gs)
                reused += len(done)
                if len(done) < len(gs):
                    tasks.append({"gamma": float(gm), "beta": float(bt), "eta": float(et),
                                  "g": gs, "done": done})

    spec = {"model": model, "kind": kind, "branch": branch, "tol": tol,
            "controls": controls, "parts": parts}
    from tqdm.auto import tqdm
    bar = tqdm(total=total, initial=reused, disable=not progress, desc="sweep", unit="pt")

    def on_progress():
        n = sum(1 for e in os.scandir(parts) if e.name.endswith(".json")) - 1
        if n > bar.n:
            bar.update(min(n, total) - bar.n)

    computed = 0
    try:
        for result in _run(tasks, spec, scheduler, workers, on_progress):
            computed += result["computed"]
            for rec in result["records"]:
                stored[_key(rec["g"], rec["gamma"], rec["beta"], rec["eta"])] = rec
                path = os.path.join(parts, _key(rec["g"], rec["gamma"], rec["beta"], rec["eta"]) + ".json")
                if not os.path.exists(path):   # a worker without our file system
                    _write_json(path, rec)
            on_progress()
    finally:
        bar.close()

    ds = _consolidate(stored, axes, names, model, derived, kind, branch, tol, controls)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    tmp = f"{out}.{os.getpid()}.tmp"
    ds.to_netcdf(tmp, engine="netcdf4")
    os.replace(tmp, out)
    result = xr.load_dataset(out, engine="netcdf4")
    result.attrs.update(points_computed=computed, points_reused=reused)
    return result


def _consolidate(stored, axes, names, model, derived, kind, branch, tol, controls):
    import xarray as xr
    shape = tuple(len(axes[d]) for d in DIMS)
    extra = []
    for rec in stored.values():
        extra += [n for n in rec["x"] if n not in names and n not in extra]
    var_names = names + extra + [n for n in _NUMBERS if n not in names + extra]
    data = {n: np.full(shape, np.nan) for n in var_names}
    success = np.zeros(shape, dtype=bool)
    status = np.full(shape, 3, dtype=np.int16)
    message = np.full(shape, "", dtype=object)
    for idx in np.ndindex(shape):
        gm, bt, et, gv = (axes[d][i] for d, i in zip(DIMS, idx))
        rec = stored.get(_key(gv, gm, bt, et))
        if rec is None:        # cannot happen after a completed run; never a silent NaN
            message[idx] = "not computed"
            continue
        for n in var_names:
            v = rec["x"].get(n, rec.get(n, math.nan))
            data[n][idx] = float(v)
        success[idx] = rec["success"]
        status[idx] = rec["status"]
        message[idx] = rec["message"]
    coords = {d: (d, axes[d]) for d in DIMS}
    variables = {n: (DIMS, data[n]) for n in var_names}
    variables.update(success=(DIMS, success), status=(DIMS, status),
                     message=(DIMS, message.astype(str)))
    ds = xr.Dataset(variables, coords=coords)
    ds["status"].attrs["description"] = "0 converged, 1 not converged, 2 out of domain, 3 bad input"
    ds["phi"].attrs["description"] = "-beta f (finite beta); see SaddleResult.phi for other kinds"
    ds["success"].attrs["description"] = ("False: the numbers at this point are the last "
                                          "iterate, not a solution; see message")
    versions = {}
    for pkg in _PACKAGES:
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    ds.attrs.update(
        model=model.label, kind=kind, branch=branch, tol=float(tol),
        order_parameters=" ".join(names), provenance=derived.provenance,
        controls=json.dumps(controls), package_versions=json.dumps(versions),
        created=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        source="qpot sweep: continuation in g along each line (Qiu & Huang, arXiv 2401.10009)")
    return ds


__all__ = ["sweep", "solve_line", "DIMS"]
