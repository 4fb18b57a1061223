"""Generated transfer kernels (theory.codegen) against the hand-written ones."""
import numpy as np
import pytest

from numerics.transfer import builtin_kernels, kernels, transfer_kernels

model = pytest.importorskip("theory.model")
codegen = pytest.importorskip("theory.codegen")
if not hasattr(codegen, "scalar_functions"):
    pytest.skip("theory.codegen.scalar_functions not available", allow_module_level=True)


@pytest.mark.parametrize("name", ["tanh", "erf", "linear"])
def test_generated_equals_builtin(name):
    t = transfer_kernels(model.make_model(name))
    b = builtin_kernels(name)
    for x in np.linspace(-4, 4, 17):
        assert abs(t.phi(x) - b.phi(x)) < 1e-15
        assert abs(t.dphi(x) - b.dphi(x)) < 1e-15
        assert abs(t.U(x, 0.3) - b.U(x, 0.3)) < 1e-15
        assert abs(t.dU(x, 0.3) - b.dU(x, 0.3)) < 1e-15


def test_sampler_with_generated_kernels():
    from numerics.couplings import couplings
    from numerics.langevin import LangevinSampler

    J = couplings(40, 0.0, rng=np.random.default_rng(0))
    runs = [LangevinSampler(J, k, 1.1, 5.0, eta=0.1, rng=np.random.default_rng(1)).run(
        200, burn=50, progress=False) for k in (kernels("tanh"), builtin_kernels("tanh"))]
    assert abs(runs[0].q.mean - runs[1].q.mean) < 1e-10


def test_custom_confinement():
    t = transfer_kernels(model.make_model("tanh", U="eta*x**4"))
    assert t.U(2.0, 0.5) == pytest.approx(8.0) and t.dU(2.0, 0.5) == pytest.approx(16.0)
