"""Gaussian averages, inner integrals and site maximisers: the public API in one place.

    from numerics.quadrature import field_average

Finite temperature (THEORY.md, section 2): ``inner_average`` gives ln int exp(H) dx and
the site averages <O_k> for one parameter vector; ``field_average`` their expectations
over the Gaussian fields (E[ln Z], E[<O_k>], E[<O_i><O_j>]); ``refine_error`` the same
with a Gauss-Hermite error estimate. Zero temperature ("Zero temperature"):
``site_maxima`` lists every local maximum of H0 with ties flagged; ``field_max_average``
averages max H0 and O_k(x*) over the fields. The rules themselves: ``hermite_nodes``,
``product_nodes``, ``field_nodes``.

Kernels follow the site-kernel contract described in ``numerics.maximiser``: rows
H, H_x, H_xx, O_1..O_K, fields first in p. Status codes are bit sets; ``describe_status``
turns one into text.
"""
from .gauss import field_nodes, field_rule, hermite_nodes, product_nodes, reduce_factor
from .inner import (FieldAverage, NodeAverages, field_average, inner_average, node_averages,
                    refine_error)
from .maximiser import (CAPACITY, MISSED_PEAK, NO_MAXIMUM, NONFINITE, NOT_CONVERGED, OK,
                        SWITCH, UNCONFINED, FieldMaxAverage, SiteMaxima, describe_status,
                        field_max_average, kernel_rows, site_maxima)

__all__ = [
    "hermite_nodes", "product_nodes", "field_nodes", "field_rule", "reduce_factor",
    "inner_average", "field_average", "refine_error", "FieldAverage",
    "node_averages", "NodeAverages",
    "site_maxima", "field_max_average", "SiteMaxima", "FieldMaxAverage",
    "kernel_rows", "describe_status",
    "OK", "NONFINITE", "UNCONFINED", "CAPACITY", "NOT_CONVERGED", "MISSED_PEAK",
    "NO_MAXIMUM", "SWITCH",
]
