"""Tests of theory.codegen: validation, printing, cross-backend agreement, the cache."""
import io
import json
import os
import pickle
import re
import subprocess
import sys
import textwrap
import time
import tokenize
from pathlib import Path

import mpmath
import numpy as np
import pytest
import sympy as sp
from numba import njit
from sympy.codegen.cfunctions import expm1, log1p

from theory import codegen
from theory.codegen import (CodegenError, KernelGroup, compile_groups, log1pexp, log_ndtr,
                            logaddexp, scalar_functions)
from theory.codegen import cache as cg_cache
from theory.codegen.printer import MpmathPrinter, NumbaPrinter

REPO = Path(__file__).resolve().parents[1]
x, beta, q = sp.symbols("x beta q")


@pytest.fixture(scope="module", autouse=True)
def cache_root(tmp_path_factory):
    """Every test in this module writes to a fresh cache directory."""
    root = tmp_path_factory.mktemp("qpot_cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("QPOT_CACHE_DIR", str(root))
        codegen.clear_memory_cache()
        yield root
    codegen.clear_memory_cache()


def catalogue():
    """(name, expression) pairs covering every printing rule, in x, beta, q."""
    u = beta * x + q
    s = sp.sqrt(1 + u**2)
    return [
        ("tanh", sp.tanh(beta * x)),
        ("erf", sp.erf(sp.sqrt(sp.pi) * x / 2)),
        ("relu", sp.Piecewise((x, x > 0), (0, True))),
        ("hardtanh", sp.Piecewise((-1, x < -1), (1, x > 1), (x, True))),
        ("explog", sp.exp(-x**2 / 2) * sp.log(2 + q * x**2)),
        ("sqrt", sp.sqrt(1 + x**2) / sp.sqrt(q)),
        ("cbrt", (1 + x**2) ** sp.Rational(1, 3)),
        ("pow32", x**2 * (q + x**2) ** sp.Rational(-3, 2) + sp.Rational(1, 3)),
        ("long_F", s * sp.exp(-u**2 / 4) + sp.log(s + 1) * sp.cosh(u / 3)),
        ("long_G", sp.exp(-u**2 / 4) * s**3 + sp.log(s + 1) / s + sp.atan(u) * sp.sinh(u / 5) + 2),
        ("log1p_expm1", log1p(x**2) + expm1(q)),
        ("steps", sp.Heaviside(x) + 2 * sp.sign(x) + sp.Abs(x) * sp.Max(x, q, 0) - sp.Min(x, beta)),
        ("stable", logaddexp(beta * x, q) + log1pexp(beta * x) + log_ndtr(beta * x - q)),
        ("gammas", sp.loggamma(2 + x**2) + sp.gamma(1 + q) + sp.pi * sp.E),
    ]


def cross_group():
    names, exprs = zip(*catalogue())
    return KernelGroup("cross", exprs, names, (x,), (beta, q), doc="Printing catalogue.")


def small_groups():
    """Two small groups shared with the subprocess test."""
    return [
        KernelGroup("small", (sp.tanh(beta * x), beta * (1 - sp.tanh(beta * x)**2) * q),
                    ("phi", "dphi"), (x,), (beta, q), doc="phi and a scaled derivative."),
        KernelGroup("consts", (beta + q, beta * q / 3, beta / q), ("s", "p3", "ratio"), (),
                    (beta, q)),
    ]


def sample_points(n=20, seed=1234):
    rng = np.random.default_rng(seed)
    xs = np.concatenate([rng.uniform(-3, 3, n), [0.0, 1.0, -1.0]])
    return xs, rng.uniform(0.3, 2.0), rng.uniform(0.2, 1.5)


def reference(expr, xv, bv, qv, digits):
    """sympy evalf at the exact binary values of the doubles."""
    subs = {x: sp.Float(xv, digits + 10), beta: sp.Float(bv, digits + 10),
            q: sp.Float(qv, digits + 10)}
    return sp.Float(expr.evalf(digits, subs=subs), digits + 10)


# ---------------------------------------------------------------------------- validation

def test_undeclared_symbol_is_named():
    y = sp.Symbol("y_hidden")
    with pytest.raises(ValueError, match="y_hidden"):
        KernelGroup("g", (x * y + beta,), ("f",), (x,), (beta,))


@pytest.mark.parametrize("kwargs, message", [
    (dict(name="not an identifier"), "identifier"),
    (dict(name="_private"), "identifier"),
    (dict(name="lambda"), "identifier"),
    (dict(output_names=("a",)), "output_names"),
    (dict(output_names=("a", "a")), "duplicate"),
    (dict(params=(beta, beta)), "twice"),
    (dict(node_args=(x, q), params=(beta,)), "at most one"),
    (dict(params=(beta, x)), "twice"),
])
def test_group_validation(kwargs, message):
    spec = dict(name="g", outputs=(x * beta, x + beta), output_names=("a", "b"),
                node_args=(x,), params=(beta, q))
    spec.update(kwargs)
    with pytest.raises(ValueError, match=message):
        KernelGroup(**spec)


def test_duplicate_group_names_rejected():
    g = KernelGroup("g", (x,), ("a",), (x,), ())
    with pytest.raises(ValueError, match="duplicate"):
        compile_groups([g, KernelGroup("g", (2 * x,), ("a",), (x,), ())], backend="mpmath")
    with pytest.raises(ValueError, match="duplicate"):
        compile_groups([g, KernelGroup("g_point", (x,), ("a",), (x,), ())])


@pytest.mark.parametrize("backend", ["numba", "mpmath"])
def test_piecewise_needs_default(backend, cache_root):
    g = KernelGroup("pw", (sp.Piecewise((x, x > 0), (1, x < -1)),), ("f",), (x,), ())
    before = set(cache_root.rglob("kernels.py"))
    with pytest.raises(ValueError, match="default"):
        compile_groups([g], backend=backend, tag="pwtest")
    assert set(cache_root.rglob("kernels.py")) == before, "no file for a failed generation"


@pytest.mark.parametrize("backend", ["numba", "mpmath"])
@pytest.mark.parametrize("expr, name", [
    (sp.besselj(0, x), "besselj"),
    (sp.Function("mystery")(x) + 1, "mystery"),
    (sp.Derivative(sp.Function("f")(x), x), "Derivative"),
    (sp.I * x, "ImaginaryUnit"),
])
def test_unsupported_is_named(backend, expr, name):
    g = KernelGroup("bad", (expr,), ("f",), (x,), ())
    with pytest.raises(CodegenError, match=name):
        compile_groups([g], backend=backend, tag="badtest")


# ---------------------------------------------------------------------------- printing

def test_numba_printer_prints_floats_only():
    """Every literal is a float, except integer exponents (float ** int stays float)."""
    expr = x / 2 + 3 * x / q + sp.Rational(1, 3) + sp.Piecewise((1, x > 2), (0, True)) + x**-2
    code = NumbaPrinter({x: "x", q: "q"}).doprint_expr(expr)
    tokens = list(tokenize.generate_tokens(io.StringIO(code).readline))
    for i, tok in enumerate(tokens):
        if tok.type == tokenize.NUMBER:
            before = [t.string for t in tokens[max(0, i - 3):i]]
            is_exponent = "**" in before[-1:] or before[-3:] == ["**", "(", "-"]
            assert is_exponent or "." in tok.string or "e" in tok.string, (tok.string, code)
    assert "0.5" in code and "0.3333333333333333" in code
    assert eval(code, {"x": 1.5, "q": 2.0}) == pytest.approx(
        float(expr.subs({x: 1.5, q: 2.0})), rel=1e-15)


def test_mpmath_printer_literals_are_exact():
    pr = MpmathPrinter({x: "x"})
    assert pr.doprint_expr(sp.Rational(1, 3) * x) == "(mpmath.mpf(1)/mpmath.mpf(3))*x"
    code = pr.doprint_expr(sp.Float("0.1", 40) + x)
    with mpmath.workdps(40):
        value = eval(code, {"mpmath": mpmath, "x": mpmath.mpf(0)})
        assert abs(value - mpmath.mpf("0.1")) < mpmath.mpf(10) ** -39


def test_special_functions_symbolic():
    """Derivatives and evalf of the stable helpers agree with their plain rewrites."""
    y = sp.Symbol("y")
    pts = {x: sp.Float("0.7", 30), y: sp.Float("-1.3", 30)}
    for f in (logaddexp(x, y), log1pexp(x), log_ndtr(x)):
        plain = f.rewrite(sp.log)
        assert plain != f
        assert abs(f.evalf(30, subs=pts) - plain.evalf(30, subs=pts)) < 1e-28
        for v in f.free_symbols:
            d = f.diff(v).evalf(30, subs=pts) - plain.diff(v).evalf(30, subs=pts)
            assert abs(d) < 1e-28


# ---------------------------------------------------------------------------- numba

@pytest.fixture(scope="module")
def numba_bundle():
    return compile_groups([cross_group()] + small_groups(), backend="numba", tag="test")


@pytest.fixture(scope="module")
def mpmath_bundle():
    return compile_groups([cross_group()] + small_groups(), backend="mpmath", tag="test")


def test_generated_file(numba_bundle, mpmath_bundle):
    for b in (numba_bundle, mpmath_bundle):
        text = Path(b.module_path).read_text()
        assert text.startswith("# Autogenerated by qpot.theory.codegen -- do not edit.\n")
        assert b.key in text.splitlines()[1]
        assert "fastmath" not in text
    text = Path(numba_bundle.module_path).read_text()
    assert "@njit(cache=True" in text
    assert re.search(r"_c\d+ = ", text), "common subexpressions were not shared"
    for f in (numba_bundle.cross, numba_bundle.cross_point, mpmath_bundle.cross):
        doc = f.__doc__
        assert "p[0]=beta, p[1]=q" in doc and "Printing catalogue." in doc
        names = [n for n, _ in catalogue()]
        positions = [doc.index(f"{k}: {n}") for k, n in enumerate(names)]
        assert positions == sorted(positions)


def test_numba_matches_sympy(numba_bundle):
    xs, bv, qv = sample_points()
    p = np.array([bv, qv])
    out = np.full((len(catalogue()), len(xs)), np.nan)
    numba_bundle.cross(xs, p, out)
    point = np.empty(len(catalogue()))
    for i, xv in enumerate(xs):
        numba_bundle.cross_point(xv, p, point)
        assert np.array_equal(point, out[:, i])
        for k, (name, expr) in enumerate(catalogue()):
            ref = float(reference(expr, xv, bv, qv, 30))
            assert abs(out[k, i] - ref) <= 1e-12 * abs(ref), (name, xv, out[k, i], ref)


def test_mpmath_matches_sympy_at_50_digits(mpmath_bundle):
    xs, bv, qv = sample_points(n=8)
    for xv in xs:
        with mpmath.workdps(50):
            values = mpmath_bundle.cross(xv, [bv, qv])
            for (name, expr), v in zip(catalogue(), values):
                ref = mpmath.mpf(reference(expr, xv, bv, qv, 50)._mpf_)
                assert abs(v - ref) <= mpmath.mpf(10) ** -45 * abs(ref), (name, xv, v, ref)


def test_mpmath_precision_is_the_callers(mpmath_bundle):
    with mpmath.workdps(15):
        low = mpmath_bundle.small(0.3, [1.1, 0.7])[1]
    with mpmath.workdps(60):
        high = mpmath_bundle.small(0.3, [1.1, 0.7])[1]
    assert mpmath.mp.dps == 15
    assert abs(low - high) > mpmath.mpf(10) ** -40  # the 15-digit result really is 15-digit
    assert mpmath_bundle.consts(None, [1.0, 2.0]) == [3, mpmath.mpf(2) / 3, 0.5]


def test_piecewise_branches_stay_lazy():
    """CSE must not pull 1/x out of the branches that guard against x = 0."""
    g = KernelGroup("lazy", (sp.Piecewise((sp.sin(x) / x, sp.Ne(x, 0)), (1, True)),
                             sp.Piecewise((sp.cos(x) / x, x > 1), (0, True))),
                    ("sinc", "guarded"), (x,), ())
    bundle = compile_groups([g], backend="mpmath", tag="lazy")
    assert bundle.lazy(0, []) == [1, 0]


def test_no_node_group_and_shape_checks(numba_bundle):
    out = np.empty((3, 4))
    numba_bundle.consts(np.empty(4), np.array([1.0, 2.0]), out)
    assert np.allclose(out, [[3.0] * 4, [2.0 / 3.0] * 4, [0.5] * 4], rtol=1e-15)
    numba_bundle.consts(np.empty(4), np.array([1.0, 0.0]), out)   # IEEE, not an exception
    assert np.all(out[2] == np.inf)
    with pytest.raises(ValueError, match="parameters"):
        numba_bundle.consts(np.empty(4), np.array([1.0]), out)
    with pytest.raises(ValueError, match="shape"):
        numba_bundle.consts(np.empty(3), np.array([1.0, 2.0]), out)


def test_point_kernel_inside_njit(numba_bundle):
    """As a global of another njit function, and as a first-class argument."""
    namespace = {"np": np, "njit": njit, "small_point": numba_bundle.small_point}
    exec(textwrap.dedent("""
        @njit
        def mean_phi_global(xs, p):
            out = np.empty(2)
            s = 0.0
            for x in xs:
                small_point(x, p, out)
                s += out[0]
            return s / xs.shape[0]
        """), namespace)

    @njit
    def mean_phi_argument(kernel, xs, p):
        out = np.empty(2)
        s = 0.0
        for x in xs:
            kernel(x, p, out)
            s += out[0]
        return s / xs.shape[0]

    xs, p = np.linspace(-2.0, 2.0, 11), np.array([0.8, 1.0])
    expected = np.mean(np.tanh(0.8 * xs))
    assert namespace["mean_phi_global"](xs, p) == pytest.approx(expected, rel=1e-14)
    assert mean_phi_argument(numba_bundle.small_point, xs, p) == pytest.approx(expected, rel=1e-14)


def test_scalar_functions_inside_njit():
    g = sp.Symbol("g")
    phi = sp.tanh(g * x)
    fs = scalar_functions({"phi": phi, "dphi": sp.diff(phi, x)}, (x, g))
    assert fs.phi(0.3, 1.5) == pytest.approx(np.tanh(0.45), rel=1e-15)
    assert "phi(x, g)" in fs.phi.__doc__
    namespace = {"njit": njit, "phi": fs.phi, "dphi": fs.dphi}
    exec(textwrap.dedent("""
        @njit
        def euler(x0, g, dt, n):
            x = x0
            for _ in range(n):
                x += dt * (-x + phi(x, g) + 0.1 * dphi(x, g))
            return x
        """), namespace)

    @njit
    def euler_argument(f, df, x0, g, dt, n):
        x = x0
        for _ in range(n):
            x += dt * (-x + f(x, g) + 0.1 * df(x, g))
        return x

    def euler_python(x0, g, dt, n):
        x = x0
        for _ in range(n):
            x += dt * (-x + np.tanh(g * x) + 0.1 * g * (1 - np.tanh(g * x)**2))
        return x

    expected = euler_python(0.2, 1.5, 0.01, 200)
    assert namespace["euler"](0.2, 1.5, 0.01, 200) == pytest.approx(expected, rel=1e-12)
    assert euler_argument(fs.phi, fs.dphi, 0.2, 1.5, 0.01, 200) == pytest.approx(expected, rel=1e-12)
    with mpmath.workdps(40):
        mp_fs = scalar_functions({"phi": phi}, (x, g), backend="mpmath")
        assert abs(mp_fs.phi("0.3", "1.5") - mpmath.tanh(mpmath.mpf("0.45"))) < mpmath.mpf(10) ** -38


def test_stable_helpers_in_the_tails():
    y = sp.Symbol("y")
    fs = scalar_functions({"lnd": log_ndtr(x), "softplus": log1pexp(x),
                           "lae": logaddexp(x, y)}, (x, y))

    def close(a, b):
        b = float(b)
        return abs(a - b) <= 1e-13 * abs(b) + 1e-300

    with mpmath.workdps(60):
        for xv in [-1e4, -200.0, -38.5, -30.000001, -29.999999, -12.0, -1.0, 0.0, 0.5,
                   3.0, 9.0, 30.0, 40.0]:
            ref = mpmath.log(mpmath.ncdf(xv)) if xv < 0 else mpmath.log1p(-mpmath.ncdf(-xv))
            assert close(fs.lnd(xv, 0.0), ref), (xv, fs.lnd(xv, 0.0), ref)
        for xv in [-800.0, -40.0, -20.0, 0.0, 17.0, 19.0, 30.0, 35.0, 800.0]:
            ref = mpmath.log1p(mpmath.exp(xv))
            assert close(fs.softplus(xv, 0.0), ref), xv
        for a, b in [(1000.0, 999.0), (-1000.0, -1001.5), (3.0, 3.0), (-2.0, 5.0)]:
            ref = mpmath.log(mpmath.exp(a) + mpmath.exp(b))
            assert close(fs.lae(a, b), ref), (a, b)
    assert fs.lae(-np.inf, -np.inf) == -np.inf
    assert np.isnan(fs.lae(np.nan, 1.0)) and np.isnan(fs.lnd(np.nan, 0.0))


# ---------------------------------------------------------------------------- cache

def test_same_process_compile_is_instant(numba_bundle):
    t0 = time.perf_counter()
    again = compile_groups([cross_group()] + small_groups(), backend="numba", tag="test")
    assert time.perf_counter() - t0 < 0.05
    assert again is numba_bundle and again.key == numba_bundle.key
    assert pickle.loads(pickle.dumps(numba_bundle)) is numba_bundle


def test_memory_cache_cleared_reimports_without_printing(numba_bundle):
    generated = cg_cache.stats["generated"]
    codegen.clear_memory_cache()
    again = compile_groups([cross_group()] + small_groups(), backend="numba", tag="test")
    assert again is not numba_bundle and again.key == numba_bundle.key
    assert cg_cache.stats["generated"] == generated


def test_key_changes_with_inputs():
    base = small_groups()
    key = compile_groups(base, backend="mpmath", tag="keys").key
    g0 = base[0]
    variants = [
        [KernelGroup("small", (sp.tanh(beta * x), beta * q), g0.output_names, (x,), (beta, q),
                     g0.doc), base[1]],
        [KernelGroup("small", g0.outputs, g0.output_names, (x,), (q, beta), g0.doc), base[1]],
        [KernelGroup("small", g0.outputs, ("phi", "other"), (x,), (beta, q), g0.doc), base[1]],
        [base[0], KernelGroup("consts", base[1].outputs, base[1].output_names, (), (beta, q),
                              "now documented")],
    ]
    keys = {compile_groups(v, backend="mpmath", tag="keys").key for v in variants}
    assert compile_groups(small_groups(), backend="mpmath", tag="keys").key == key
    assert key not in keys and len(keys) == len(variants)
    assert compile_groups(base, backend="mpmath", tag="other").key != key


def _spawn(script, cache_root, *args):
    env = dict(os.environ, QPOT_CACHE_DIR=str(cache_root), PYTHONPATH=str(REPO))
    return subprocess.Popen([sys.executable, "-c", script, *args], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _result(proc):
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr
    return json.loads(stdout.strip().splitlines()[-1])


SUBPROCESS = """
import importlib.util, json, os, sys
import numpy as np
spec = importlib.util.spec_from_file_location("tc", {test_file!r})
tc = importlib.util.module_from_spec(spec); spec.loader.exec_module(tc)
from theory.codegen import compile_groups, cache
{body}
"""


def test_fresh_process_hits_the_cache(cache_root):
    bundle = compile_groups(small_groups(), backend="numba", tag="fresh")
    out = np.empty(2)
    bundle.small_point(0.4, np.array([1.2, 0.5]), out)  # compiles, fills numba's cache
    path = Path(bundle.module_path)
    mtime = path.stat().st_mtime_ns
    body = """
b = compile_groups(tc.small_groups(), backend="numba", tag="fresh")
out = np.empty(2)
b.small_point(0.4, np.array([1.2, 0.5]), out)
print(json.dumps({"key": b.key, "path": str(b.module_path), "generated": cache.stats["generated"],
                  "numba_cache_hits": sum(b.small_point.stats.cache_hits.values()),
                  "out": out.tolist()}))
"""
    info = _result(_spawn(SUBPROCESS.format(test_file=__file__, body=body), cache_root))
    assert info["key"] == bundle.key and info["path"] == str(path)
    assert info["generated"] == 0
    assert info["numba_cache_hits"] >= 1
    assert info["out"] == out.tolist()
    assert path.stat().st_mtime_ns == mtime


def test_concurrent_processes_share_one_file(cache_root):
    body = """
import time
time.sleep(max(0.0, float(sys.argv[1]) - time.time()))
b = compile_groups([tc.KernelGroup("race", (tc.sp.erf(tc.x) * tc.beta,), ("f",), (tc.x,),
                                   (tc.beta,))], backend="mpmath", tag="race")
print(json.dumps({"path": str(b.module_path), "value": str(b.race(0.5, [2.0])[0])}))
"""
    script = SUBPROCESS.format(test_file=__file__, body=body)
    start = str(time.time() + 4.0)   # all four generate at about the same moment
    procs = [_spawn(script, cache_root, start) for _ in range(4)]
    results = [_result(proc) for proc in procs]
    assert len({r["path"] for r in results}) == 1 and len({r["value"] for r in results}) == 1
    directory = Path(results[0]["path"]).parent
    assert sorted(p.name for p in directory.iterdir() if p.name != "__pycache__") == ["kernels.py"]
