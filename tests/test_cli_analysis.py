"""The ``qpot sweep`` and ``qpot phase-diagram`` commands: files written, summaries, and
exit status 2 with a message for bad input."""
import json
import math
import os

import numpy as np
import pytest
import xarray as xr

from numerics.cli import main
from numerics.cli_analysis import EDGE_LABEL, parse_values

BASE = ["--beta", "2", "--branch", "paramagnetic", "--workers", "1", "--json"]


def test_parse_values():
    np.testing.assert_allclose(parse_values("0.8:1.2:5", "g"), [0.8, 0.9, 1.0, 1.1, 1.2])
    np.testing.assert_allclose(parse_values("-0.3,0,0.3", "gamma"), [-0.3, 0.0, 0.3])
    assert parse_values("0.2", "gamma").tolist() == [0.2]
    assert parse_values("1e4,inf", "beta").tolist() == [1e4, math.inf]
    for bad in ("0.8:1.2", "0.8:1.2:0", "a:b:3", "0.8:1.2:2.5", "1,,2", "", "nan", "1,1"):
        with pytest.raises(ValueError):
            parse_values(bad, "g")


def test_sweep_command(tmp_path, capsys):
    out = tmp_path / "res" / "sweep.nc"
    rc = main(["sweep", "--phi", "tanh", "--g", "0.5:1.0:3", "--gamma", "-0.3,0.3",
               "--eta", "0", "--out", str(out)] + BASE)
    assert rc == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["path"] == str(out) and summary["points"] == 6
    assert summary["converged"] == 6 and summary["failures"] == []
    assert summary["computed"] == 6 and summary["reused"] == 0
    ds = xr.load_dataset(out)
    assert dict(ds.sizes) == {"gamma": 2, "beta": 1, "eta": 1, "g": 3}
    assert bool(ds["success"].all()) and np.all(ds["q"].values > 0)


def test_phase_diagram_command(tmp_path, capsys):
    png = tmp_path / "pd.png"
    rc = main(["phase-diagram", "--ng", "3", "--ngamma", "2", "--g-min", "0.6",
               "--g-max", "1.2", "--out", str(png)] + BASE)
    assert rc == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["figure"] == str(png) and summary["points"] == 6
    assert png.stat().st_size > 1000 and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    ds = xr.load_dataset(tmp_path / "pd.nc")
    assert ds["gamma"].values.tolist() == [-0.8, 0.8] and ds.sizes["g"] == 3
    assert "edge of chaos" in EDGE_LABEL


@pytest.mark.parametrize("args", [
    ["sweep", "--g", "0.8:1.2"],                       # malformed range
    ["sweep", "--g", "0.8:1.2:x"],
    ["sweep", "--g", "1", "--gamma", "-1.5"],          # |gamma| > 1
    ["sweep", "--g", "-0.5,1"],                        # g < 0
    ["sweep", "--g", "1", "--beta", "0"],              # beta <= 0
    ["sweep", "--g", "1", "--beta", "10,inf"],         # mixed scalings
    ["sweep", "--g", "1", "--phi", "nosuchphi(x)"],    # unknown phi
    ["phase-diagram", "--gamma-max", "1.5"],
    ["phase-diagram", "--beta", "-1"],
    ["phase-diagram", "--ng", "0"],
    ["phase-diagram", "--phi", "frobnicate"],
])
def test_bad_input_exits_2(args, tmp_path, capsys):
    out = tmp_path / ("x.png" if args[0] == "phase-diagram" else "x.nc")
    assert main(args + ["--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("qpot: error:") and len(err.strip()) > len("qpot: error:")
    assert not os.listdir(tmp_path)
