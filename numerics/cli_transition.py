"""``qpot transition``: the response line g_chi and the onset g_q at zero temperature."""
from __future__ import annotations

import json
import math


def cmd_transition(args) -> int:
    import mpmath

    from theory.model import ModelError

    from .cli import _model_from
    from .transition import g_chi, g_q
    model, _ = _model_from(args)
    if not -1 < args.gamma <= 1:
        raise ModelError(f"gamma must lie in (-1, 1], got {args.gamma}")
    if args.beta is not None and math.isfinite(args.beta):
        raise ModelError("transition analysis is at zero temperature: --beta inf")
    digits = args.digits or 16
    gc, info = g_chi(model, args.gamma, args.eta, digits=digits)
    out = {"gamma": args.gamma, "eta": args.eta, "digits": digits}
    with mpmath.workdps(digits):
        out["g_chi"] = mpmath.nstr(gc, digits)
    out["g_chi_error_estimate"] = info["extrapolation_error"]
    if args.eta == 0:
        from theory.kernels import derived_model
        from theory.replica.landau import response_line
        try:
            line = response_line(derived_model(model, "laplace", "full"))
            out["g_chi_formula"] = str(line.g_chi)
            out["chi_formula"] = str(line.chi)
        except ValueError as exc:          # no closed form for this phi: say so
            out["g_chi_formula"] = f"not available: {exc}"
    if args.eta == 0:
        from .transition import g_q_landau
        gq, amp, qinfo = g_q(model, args.gamma, g_guess=float(gc))
        out.update(g_q_numerical=repr(float(gq)), amplitude=float(amp),
                   exponent=float(qinfo["exponent"]),
                   g_q_numerical_error_estimate=float(qinfo["extrapolation_error"]))
        if model.odd and model.smooth:
            gql, formula = g_q_landau(model, args.gamma, digits=digits)
            with mpmath.workdps(digits):
                out["g_q"] = mpmath.nstr(gql, digits)
            out["g_q_formula"] = str(formula)
            out["g_q_landau_minus_numerical"] = float(gql - gq)
            if model.taylor(3)[3] != 0:
                from .transition import amplitude_landau
                _, amp_l, amp_formula = amplitude_landau(model, args.gamma, digits=digits)
                with mpmath.workdps(digits):
                    out["amplitude_landau"] = mpmath.nstr(amp_l, digits)
                out["amplitude_formula"] = str(amp_formula)
                out["amplitude_landau_minus_numerical"] = float(amp_l - amp)
            if model.taylor(3)[3] != 0 and not model.mean_coupling and not model.quenched_input:
                from .zero_temperature import _band
                out["band_b_formula"] = str(_band(model).b)
                out["band"] = ("between g_chi and g_q the finite-beta solution has q ~ sqrt(b/beta), "
                               "chi ~ sqrt(b beta); b = lim beta q^2 (theory.replica.band), with "
                               "phi = c1 x + c3 x^3 + ...")
        else:
            out["g_q"] = repr(float(gq))
        out["note"] = ("g_q: onset of q in the q - Q finite (chaotic) zero-temperature solution: "
                       "Landau closed form (all digits) checked against the numerical extrapolation; "
                       "amplitude A of q ~ A (g - g_q): 'amplitude' from the numerical extrapolation, "
                       "'amplitude_landau' from the second-order Landau expansion (closed form)")
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        for k, v in out.items():
            print(f"{k:>22}: {v}")
    return 0


def register(sub) -> None:
    from .cli import _beta, _model_args
    p = sub.add_parser("transition", help="zero-temperature response line g_chi and onset g_q")
    _model_args(p)
    p.add_argument("--gamma", type=float, default=0.0)
    p.add_argument("--eta", type=float, default=0.0)
    p.add_argument("--beta", type=_beta, default=math.inf)
    p.add_argument("--digits", type=int, default=None, help="digits of g_chi (mpmath), default 16")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_transition)
