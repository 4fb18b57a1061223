"""Model specification: catalogue, formula parsing and a clear error for each bad input."""
import math

import pytest
import sympy as sp

from theory.formula import FormulaError, parse_formula
from theory.model import PHI_CATALOGUE, ModelError, Point, make_model
from theory.symbols import eta, x


@pytest.mark.parametrize("name", sorted(PHI_CATALOGUE))
def test_catalogue_models_build(name):
    m = make_model(name)
    assert m.phi.free_symbols == {x}
    assert m.smooth == (name not in ("relu", "hardtanh"))


def test_formula_phi_and_U():
    m = make_model("x/(1+abs(x))", "eta*x**2 + x**4/4")
    assert sp.simplify(m.phi - x / (1 + sp.Abs(x))) == 0
    assert sp.simplify(m.U - (eta * x**2 + x**4 / 4)) == 0
    assert parse_formula("2*tanh(x/2)", ("x",)) == 2 * sp.tanh(x / 2)


@pytest.mark.parametrize("kw,match", [
    ({"g": 1.0, "gamma": 1.5}, "gamma"),
    ({"g": 1.0, "gamma": -1.01}, "gamma"),
    ({"g": -0.1}, "g must be"),
    ({"g": 1.0, "beta": 0.0}, "beta"),
    ({"g": 1.0, "beta": -2.0}, "beta"),
    ({"g": float("nan")}, "NaN"),
    ({"g": 1.0, "eta": float("inf")}, "finite"),
    ({"g": 1.0, "gamma": float("nan")}, "NaN"),
    ({"g": 1.0, "eta": -0.1}, "eta"),
])
def test_bad_points(kw, match):
    with pytest.raises(ModelError, match=match):
        Point(**kw)


def test_infinite_beta_allowed():
    assert Point(g=1.0, beta=math.inf).zero_temperature


@pytest.mark.parametrize("phi,match", [
    ("foo(x)", "unknown function"),
    ("__import__('os')", "unknown function"),
    ("tanh(y)", "unknown name"),
    ("tanh(x) + eta", "unknown name"),        # phi may depend on x only
    ("x.real", "unsupported syntax"),
    ("sqrt(abs(x))", "not real and finite|not differentiable"),
    ("x**(1/3)", "not differentiable"),
    ("sign(x)", "not continuous"),
    ("1/x", "not continuous"),
])
def test_bad_phi(phi, match):
    with pytest.raises(ModelError, match=match):
        make_model(phi)


@pytest.mark.parametrize("U", ["-x**4", "-eta*x**2", "x**3"])
def test_non_confining_U(U):
    with pytest.raises(ModelError, match="does not confine"):
        make_model("tanh", U)


def test_formula_errors_are_formula_errors():
    with pytest.raises(FormulaError):
        parse_formula("exp(x, y)", ("x", "z"))
    with pytest.raises(FormulaError):
        parse_formula("", ("x",))


def test_variants_are_new_objects():
    import dataclasses
    m = make_model("tanh")
    m2 = dataclasses.replace(m, mean_coupling=True)
    assert m2 != m and not m.mean_coupling
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.phi = x
