"""The simulation subcommands: JSON keys, and clear errors with nonzero exit on bad input."""
import json

import pytest

from numerics.cli import main


def _run(capsys, argv):
    rc = main(argv)
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_langevin_json(capsys):
    rc, out, _ = _run(capsys, ["simulate", "langevin", "--phi", "tanh", "--N", "60", "--g", "1.2",
                               "--gamma", "0", "--beta", "10", "--eta", "0.1", "--replicas", "2",
                               "--sweeps", "300", "--seed", "3", "--json"])
    assert rc == 0
    d = json.loads(out)
    for k in ("q", "Q", "energy"):
        assert set(d[k]) == {"mean", "err"}
    assert d["tau"] > 0 and 0 <= d["acceptance"] <= 1


@pytest.mark.parametrize("bad", [["--N", "1"], ["--beta", "0"], ["--beta", "-2"], ["--gamma", "1.5"],
                                 ["--g", "-1"], ["--beta", "nan"], ["--g", "nan"]])
def test_langevin_bad_input(capsys, bad):
    argv = ["simulate", "langevin", "--N", "20", "--g", "1", "--beta", "1", "--sweeps", "10"]
    rc, out, err = _run(capsys, argv + bad)
    assert rc != 0 and "error" in err and out == ""


def test_langevin_tempering_json(capsys):
    """--temper: the top rung of a ladder samples exp(-beta E) (linear phi: E/N = 1/(2 beta)
    exactly); swap diagnostics reported; a ladder that does not end above its start fails."""
    rc, out, _ = _run(capsys, ["simulate", "langevin", "--phi", "linear", "--N", "20", "--g", "0.5",
                               "--beta", "5", "--eta", "0.1", "--temper", "1", "--sweeps", "8000",
                               "--seed", "2", "--json"])
    assert rc == 0
    d = json.loads(out)
    assert abs(d["energy"]["mean"] - 0.1) < 4 * d["energy"]["err"]
    t = d["tempering"]
    assert t["rungs"] >= 3 and 0 < t["swap_acceptance"][0] <= t["swap_acceptance"][1] <= 1
    rc, out, err = _run(capsys, ["simulate", "langevin", "--N", "20", "--g", "1", "--beta", "2",
                                 "--temper", "3", "--sweeps", "10"])
    assert rc != 0 and "--temper" in err and out == ""


def test_dynamics_and_lyapunov_json(capsys):
    rc, out, _ = _run(capsys, ["simulate", "dynamics", "--N", "60", "--g", "1.5", "--t-max", "30",
                               "--t-transient", "10", "--lyapunov", "--json"])
    assert rc == 0
    d = json.loads(out)
    assert d["delta0"]["mean"] > 0 and len(d["lyapunov"]["ci95"]) == 2
    rc, _, err = _run(capsys, ["simulate", "dynamics", "--N", "60", "--g", "1.5", "--gamma", "2"])
    assert rc != 0 and "gamma" in err


def test_fixed_points_json(capsys):
    rc, out, _ = _run(capsys, ["fixed-points", "--N", "40", "--g", "0.5", "--starts", "2", "--json"])
    assert rc == 0
    d = json.loads(out)
    assert d["n_distinct"] == 1 and d["points"][0]["stability"] < 0


def test_validate_bad_point(capsys):
    with pytest.raises(SystemExit):
        main(["validate", "--point", "1,2"])
    rc, _, err = _run(capsys, ["validate", "--point", "0.5,0,-1", "--theory", "none"])
    assert rc != 0 and "beta" in err
