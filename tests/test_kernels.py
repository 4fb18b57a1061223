"""Generated kernels of derived models: cross-backend agreement and variants that run."""
import mpmath
import numpy as np
import pytest
import sympy as sp

from theory.codegen import compile_groups
from theory.kernels import compile_model, derived_model, kernel_groups
from theory.model import make_model
from theory.symbols import x


def _random_params(rng, names):
    vals = []
    for nm in names:
        if nm in ("q",):
            vals.append(rng.uniform(0.3, 0.8))
        elif nm in ("Q",):
            vals.append(rng.uniform(0.0, 0.25))
        elif nm in ("beta",):
            vals.append(10 ** rng.uniform(-1, 2))
        elif nm in ("g", "eta", "sI", "chi", "Qh0", "Qh"):
            vals.append(rng.uniform(0.1, 1.5))
        elif nm == "gamma":
            vals.append(rng.uniform(-1, 1))
        else:
            vals.append(rng.normal(scale=0.5))
    return vals


@pytest.mark.parametrize("kind,branch", [("finite", "full"), ("finite", "paramagnetic"),
                                         ("chaotic", "paramagnetic"), ("laplace", "full")])
def test_site_kernel_cross_backend(kind, branch):
    """sympy evalf vs numba (1e-12 relative) and mpmath twin at 50 digits vs evalf(50)."""
    model = make_model("tanh")
    d = derived_model(model, kind, branch)
    groups = kernel_groups(d)
    site = groups[0]
    nb = compile_model(model, kind, branch).bundle
    mp = compile_groups(groups, backend="mpmath", tag=f"{kind}_{branch}")
    names = [s.name for s in site.params]
    rng = np.random.default_rng(7)
    out = np.zeros((len(site.outputs), 1))
    for _ in range(5):
        p = np.array(_random_params(rng, names))
        xv = rng.normal()
        nb.site(np.array([xv]), p, out)
        subs = {s: sp.Float(v, 30) for s, v in zip(site.params, p)}
        subs[x] = sp.Float(xv, 30)
        with mpmath.workdps(50):
            twin = mp.site(mpmath.mpf(xv), [mpmath.mpf(v) for v in p])
            for k, e in enumerate(site.outputs):
                ref = e.evalf(50, subs=subs)
                assert abs(out[k, 0] - float(ref)) <= 1e-12 * max(1.0, abs(float(ref))), site.output_names[k]
                assert abs(twin[k] - mpmath.mpf(str(ref))) <= mpmath.mpf(10) ** -45 * max(1, abs(twin[k]))


@pytest.mark.parametrize("variant", [{"mean_coupling": True}, {"quenched_input": True}])
def test_variant_kernels_compile_and_run(variant):
    model = make_model("tanh", **variant)
    cm = compile_model(model, "finite", "full")
    d = cm.derived
    assert len(d.order_params) == (12 if variant.get("mean_coupling") else 8)
    names = cm.param_vector_names()
    p = np.array(_random_params(np.random.default_rng(1), names))
    out = np.zeros((3 + cm.n_obs, 4))
    cm.site(np.linspace(-1, 1, 4), p, out)
    assert np.all(np.isfinite(out))
    fo = np.zeros((5, 1))
    cm.bundle.fields(np.zeros(1), p[2:], fo)
    assert np.all(np.isfinite(fo))
