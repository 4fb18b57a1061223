"""Damped fixed-point iteration (theory.replica.iteration, numerics.iteration)."""
import math

import pytest

from numerics.continuation import default_start, solve
from numerics.iteration import damped_iteration
from numerics.saddle import Problem, compiled_for
from theory.kernels import derived_model
from theory.model import Point, make_model
from theory.replica.iteration import fixed_point_map


def test_fixed_point_map_solves_each_equation_for_its_conjugate():
    """Order parameters come from site averages (q = <phi^2> = -E[dH/dqh]), conjugates
    from order parameters (rh = -g^2 gamma r, THEORY.md)."""
    import sympy as sp
    from theory.symbols import g, gamma, r
    d = derived_model(make_model("tanh"), "finite", "full")
    variables, T, E, P = fixed_point_map(d)
    table = dict(zip((v.name for v in variables), T))
    k = d.observable_names.index("dH/dqh")
    assert sp.simplify(table["q"] + E[k]) == 0
    assert sp.simplify(table["rh"] + g**2 * gamma * r) == 0


@pytest.mark.parametrize("kind, branch, point", [
    ("finite", "paramagnetic", Point(g=1.2, gamma=0.3, beta=10.0)),
    ("finite", "full", Point(g=1.3, gamma=0.4, beta=5.0, eta=0.1)),
    ("chaotic", "paramagnetic", Point(g=1.2, gamma=0.0, beta=math.inf)),
    ("laplace", "full", Point(g=0.9, gamma=0.0, beta=math.inf)),
])
def test_damped_iteration_reaches_the_newton_solution(kind, branch, point):
    """Same solution as Newton (independent method) to 1e-9; at gamma = 0 the laplace
    chi is 1/(1 - g^2) exactly and the chaotic q the static cavity value."""
    cm = compiled_for("tanh", kind, branch)
    prob = Problem(cm, point)
    x0 = default_start(cm, point, kind)
    if kind == "finite":
        x0[0] = 0.3
    if kind == "laplace":
        x0[prob.names.index("chi")] = 1.0
    it = damped_iteration(prob, x0, damping=0.5, kind=kind, branch=branch)
    ref = solve("tanh", point, kind=kind, branch=branch)
    assert it.success and ref.success, (it.message, ref.message)
    for name in prob.names:
        assert abs(it.x[name] - ref.x[name]) < 1e-9 * max(1.0, abs(ref.x[name])), name
    if kind == "laplace":
        assert abs(it.chi - 1 / (1 - 0.81)) < 1e-9
    if kind == "chaotic":
        assert abs(it.x["q"] - 0.1732729446) < 1e-10


def test_damped_iteration_reports_failure_honestly():
    cm = compiled_for("tanh", "finite", "paramagnetic")
    prob = Problem(cm, Point(g=1.2, gamma=0.3, beta=10.0))
    few = damped_iteration(prob, [0.3, 0.0, 0.0, 0.0], damping=0.05, maxiter=3)
    assert not few.success and few.status == 1 and "not converged" in few.message
    with pytest.raises(ValueError):
        damped_iteration(prob, [0.3, 0.0, 0.0, 0.0], damping=0.0)
    with pytest.raises(ValueError):
        damped_iteration(prob, [0.3, 0.0], damping=0.5)
    r = solve("tanh", Point(g=0.8, gamma=0.0, beta=10.0), branch="paramagnetic", method="damped")
    assert r.success and r.method == "damped"
