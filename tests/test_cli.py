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


def test_transition_command_lines_amplitude_and_band(capsys):
    """qpot transition --gamma 0.3 --json: g_chi (1 + gamma) = 1 and g_q sqrt(1 + gamma) = 1
    at the requested digits, the Landau amplitude against the numerical one, and the band's
    closed form b, which matches numerics.zero_temperature.band_b."""
    import json as _json

    import sympy as sp

    from numerics.zero_temperature import band_b
    assert main(["transition", "--gamma", "0.3", "--digits", "20", "--json"]) == 0
    out = _json.loads(capsys.readouterr().out)
    import mpmath
    with mpmath.workdps(25):
        assert abs(mpmath.mpf(out["g_chi"]) * mpmath.mpf("1.3") - 1) < mpmath.mpf(10) ** -18
        assert abs(mpmath.mpf(out["g_q"]) * mpmath.sqrt(mpmath.mpf("1.3")) - 1) < mpmath.mpf(10) ** -18
    assert abs(out["amplitude_landau_minus_numerical"]) < 1e-6
    from theory.replica.landau import c1, c3
    from theory.symbols import g, gamma
    expr = sp.sympify(out["band_b_formula"], locals={"c1": c1, "c3": c3, "g": g, "gamma": gamma})
    b = expr.subs({c1: 1, c3: sp.Rational(-1, 3), g: sp.Rational(41, 50), gamma: sp.Rational(3, 10)})
    assert abs(float(b) - band_b("tanh", 0.82, 0.3)) < 1e-12


def test_beta_inf_default_kind(capsys):
    """beta = inf without --kind: the scaling picked by (g, gamma) where classified (band at
    g = 0.85, gamma = 0.3); q - Q finite for phi without a cubic term (linear)."""
    import json as _json
    assert main(["solve", "--g", "0.85", "--gamma", "0.3", "--beta", "inf", "--json"]) == 0
    assert _json.loads(capsys.readouterr().out)["kind"] == "band"
    main(["solve", "--phi", "linear", "--g", "0.5", "--beta", "inf", "--json"])
    assert _json.loads(capsys.readouterr().out)["kind"] == "chaotic"
