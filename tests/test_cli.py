"""The qpot command: derive --format json, solve --json, and bad input (exit status 2)."""
import json

import sympy as sp

from numerics.cli import main


def test_derive_json_is_parseable(capsys):
    assert main(["derive", "--phi", "tanh", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["order_parameters"] == ["q", "Q", "r", "R", "qh", "Qh", "rh", "Rh"]
    names = {n: sp.Symbol(n) for n in out["symbols"]}
    names.update({f"E_{i}": sp.Symbol(f"E_{i}") for i in range(len(out["observables"]))})
    names.update({k: sp.Symbol(k) for k in out["pairs"]})
    for text in [out["G"], out["H"], *out["equations"].values(), *out["observables"].values()]:
        expr = sp.sympify(text, locals=names)  # strings sympy can parse
        assert isinstance(expr, sp.Expr)
    assert len(out["equations"]) == 8


def test_derive_variants(capsys):
    assert main(["derive", "--phi", "erf", "--J0", "0.5", "--input", "0.1,0.2", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["order_parameters"][-4:] == ["m", "k", "mh", "kh"]
    assert "sI" in out["field_covariance"][0][0]


def test_solve_json(capsys):
    assert main(["solve", "--g", "0.9", "--gamma", "0", "--beta", "inf", "--kind", "laplace", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["success"] and abs(out["chi"] - 1 / (1 - 0.81)) < 1e-10
    for key in ("q", "chi", "free_energy", "energy"):
        assert key in out


def test_bad_input_exits_2(capsys):
    assert main(["solve", "--g", "1.0", "--gamma", "2"]) == 2
    assert "gamma" in capsys.readouterr().err
    assert main(["derive", "--phi", "foo(x)"]) == 2
    assert main(["solve", "--g", "-1"]) == 2
    assert main(["derive", "--phi", "tanh", "--U=-x**4"]) == 2
