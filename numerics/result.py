"""One result type for every saddle-point solver, double or arbitrary precision.

Modelled on scipy's ``OptimizeResult`` vocabulary: ``x`` (the order parameters, by name,
in the derived model's declared order), ``success``, ``status``, ``message``, ``fun`` (the
residual vector), ``nfev``, ``nit``. A failed solve is ``success=False`` with a message;
its numbers are those of the last iterate and must not be used as a solution.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field


@dataclass(frozen=True)
class SaddleResult:
    x: dict                      # order parameter name -> value (float or mpf)
    success: bool
    status: int                  # 0 converged, 1 not converged, 2 out of domain, 3 bad input
    message: str
    fun: tuple = ()              # residuals dPhi/dtheta at x
    residual_norm: float = math.nan
    nit: int = 0
    nfev: int = 0
    phi: float = math.nan        # -beta f (finite beta); G0 + E max H0 (laplace); see kind
    free_energy: float = math.nan  # f = -phi/beta at finite beta; -phi (laplace, per beta)
    energy: float = math.nan     # energy per site e = -dPhi/dbeta (finite beta)
    chi: float = math.nan        # beta (q - Q) or its zero-temperature limit
    kind: str = "finite"         # finite, laplace, chaotic
    branch: str = "full"
    point: dict = field(default_factory=dict)
    method: str = ""
    digits: int | None = None    # None: double precision
    quadrature_error: float = math.nan
    extra: dict = field(default_factory=dict)

    def __getitem__(self, name: str):
        return self.x[name]

    def as_dict(self) -> dict:
        """JSON-friendly dictionary (numbers as floats, or strings at arbitrary precision)."""
        conv = (lambda v: str(v)) if self.digits else (lambda v: _num(v))
        out = {
            "success": self.success, "status": self.status, "message": self.message,
            "kind": self.kind, "branch": self.branch, "method": self.method,
            "digits": self.digits, "nit": self.nit, "nfev": self.nfev,
            "residual_norm": _num(self.residual_norm),
            "free_energy": conv(self.free_energy), "phi": conv(self.phi),
            "energy": conv(self.energy), "chi": conv(self.chi),
            "quadrature_error": _num(self.quadrature_error),
            "point": {k: _num(v) for k, v in self.point.items()},
        }
        out.update({k: conv(v) for k, v in self.x.items()})
        out["order_parameters"] = {k: conv(v) for k, v in self.x.items()}
        out.update({k: (conv(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v)
                    for k, v in self.extra.items()})
        return out

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2)


def _num(v):
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    return f if math.isfinite(f) else str(f)
