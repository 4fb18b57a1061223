"""Local maxima of a site function H(x) on the real line, and zero-temperature averages.

A *site kernel* is the pair of numba functions the code generator writes for the site
exponent (THEORY.md, section 2, "The RS result"):

    site(nodes, p, out)        out[k, j] at x = nodes[j]     (float64[:], float64[:], float64[:, :])
    site_point(x, p, out)      out[k] at one x               (float64, float64[:], float64[:])

with rows out[0] = H, out[1] = dH/dx, out[2] = d2H/dx2, out[3:] = observables O_1..O_K.
p[0:n_fields] hold the Gaussian fields; the rest of p is passed through untouched.
The kernels are passed to the compiled routines here as first-class functions of fixed
signature, so the routines compile once, whatever the model.

Locating every local maximum (``_scan``): a grid of spacing x_scale/2 on
[x_hint - 4 x_scale, x_hint + 4 x_scale], extended outwards with doubling steps until
H < max H - depth with H decreasing outwards at both ends; then every interval is checked
against one smooth piece -- the change of H against the Hermite-corrected trapezoid of
H_x, the change of H_x against the trapezoid of H_xx, and the cubic Hermite model of H_x
for a hidden pair of roots -- and bisected until it passes. These tests are relative, so
they cost the same for a peak of width 10 as for one of width 1e-4 (beta = 1e8): H_x then
is beta times an O(1) function. Intervals that still fail at 1e-9 x_scale hold a kink of
H (piecewise-linear phi: H_x or H_xx jumps) and are recorded. Sign changes of H_x are
refined by safeguarded Newton-bisection; a maximum where H_x jumps from + to - (a corner)
is found by bisection and flagged.

Zero temperature (THEORY.md, "Zero temperature"): exp(beta H0) concentrates on the global
maximiser x*(fields) of H0, so site averages become O_k(x*). Two maxima whose heights
differ by less than tie_atol + tie_rtol |H| are a tie: which one wins is then not decided
by the data in double precision. A tie is never resolved by picking one: the tied maxima
are weighted as the beta -> infinity limit of exp(beta H0) does, in proportion to
|H0''(x_k)|^(-1/2) (Laplace); a corner maximum tied with a smooth one has weight 0
(its Laplace mass is O(1/beta) against O(beta^-1/2)); among corners only, equal weights.

Where x* jumps from one branch to another across field space, O(x*) jumps and a product
Gauss-Hermite rule converges slowly. ``field_max_average`` (split=True) locates the
switch points along lines of the last independent field direction and integrates each
such line piecewise (``_switches``, ``_switch_point``, ``_split_lines``,
``_integrate_pieces``).

Public: ``site_maxima`` (every local maximum of one H, ties flagged) and
``field_max_average`` (zero-temperature field averages).
"""
from __future__ import annotations

import functools
import re
import weakref
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import numba
from numba import njit, types

from .gauss import field_rule, hermite_nodes

# ------------------------------------------------------------------------------------
# kernel contract and status codes
# ------------------------------------------------------------------------------------

SITE_POINT_SIGNATURE = types.void(types.float64, types.float64[:], types.float64[:])
SITE_SIGNATURE = types.void(types.float64[:], types.float64[:], types.float64[:, :])
SitePoint = types.FunctionType(SITE_POINT_SIGNATURE)
Site = types.FunctionType(SITE_SIGNATURE)

OK = 0
NONFINITE = 1        # the kernel returned NaN or inf for H, H_x or H_xx
UNCONFINED = 2       # H does not decay at large |x|: the integral does not exist
CAPACITY = 4         # workspace limits reached: some structure may have been missed
NOT_CONVERGED = 8    # quadrature error estimate above the requested tolerance
MISSED_PEAK = 16     # a quadrature node found H above the located maximum
NO_MAXIMUM = 32      # no local maximum found
SWITCH = 64          # a branch switch of the maximiser could not be resolved

STATUS_TEXT = {
    NONFINITE: "kernel returned a non-finite H, H_x or H_xx",
    UNCONFINED: "H does not decay at large |x|",
    CAPACITY: "workspace capacity reached (too much structure in H)",
    NOT_CONVERGED: "inner quadrature did not reach the requested tolerance",
    MISSED_PEAK: "a quadrature node lies above the located maximum of H",
    NO_MAXIMUM: "no local maximum of H found",
    SWITCH: "a switch of the global maximiser between branches could not be resolved",
}


def describe_status(status: int) -> str:
    """Human-readable text for a status bit set (0 -> 'ok')."""
    status = int(status)
    if status == 0:
        return "ok"
    return "; ".join(text for bit, text in STATUS_TEXT.items() if status & bit)


def run_chunks(chunk_fn, m, *args, nrow, outputs, threads=None, per_thread=2):
    """Call the nogil kernel chunk_fn(*args, i0, i1, nrow, *outputs) over node ranges
    [i0, i1) covering 0..m-1, on a pool of threads (contiguous ranges keep neighbouring
    nodes together, so each can start from its predecessor's maximiser)."""
    threads = numba.get_num_threads() if threads is None else max(1, int(threads))
    nchunks = max(1, min(m, per_thread * threads)) if threads > 1 else 1
    bounds = [(c * m) // nchunks for c in range(nchunks + 1)]
    if nchunks == 1:
        chunk_fn(*args, 0, m, nrow, *outputs)
        return
    pool = _pool(threads)
    futures = [pool.submit(chunk_fn, *args, bounds[c], bounds[c + 1], nrow, *outputs)
               for c in range(nchunks)]
    for f in futures:
        f.result()


@functools.lru_cache(maxsize=4)
def _pool(threads):
    """One long-lived pool per thread count (starting threads costs milliseconds)."""
    return ThreadPoolExecutor(max_workers=threads, thread_name_prefix="qpot-quad")


@functools.lru_cache(maxsize=64)
def _leggauss(n):
    t, g = np.polynomial.legendre.leggauss(n)
    t.setflags(write=False)
    g.setflags(write=False)
    return t, g


_NROW_CACHE: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def kernel_rows(site_point, p, n_obs=None) -> int:
    """Number of rows 3 + K written by ``site_point`` (K observables).

    Given ``n_obs`` this is 3 + n_obs. Otherwise the pure-Python version of the kernel is
    called with output buffers of growing length until it accepts one: generated kernels
    check the length and raise ValueError naming it, plain ones raise IndexError when
    too short.
    """
    if n_obs is not None:
        if int(n_obs) < 0:
            raise ValueError("n_obs must be >= 0")
        return 3 + int(n_obs)
    py = getattr(site_point, "py_func", site_point)
    try:
        return _NROW_CACHE[py]
    except (KeyError, TypeError):
        pass
    pp = np.array(p, dtype=np.float64)
    for nrow in range(3, 259):
        try:
            py(0.0, pp, np.zeros(nrow))
        except ValueError as exc:
            # generated kernels say how long out must be
            m = re.search(r"out must have length (\d+)", str(exc))
            if m:
                nrow = int(m.group(1))
                break
            continue
        except IndexError:
            continue
        break
    else:
        raise ValueError("could not infer the number of kernel outputs; pass n_obs")
    if nrow < 3:
        raise ValueError(f"a site kernel has at least 3 rows (H, H_x, H_xx), got {nrow}")
    try:
        _NROW_CACHE[py] = nrow
    except TypeError:
        pass
    return nrow


# ------------------------------------------------------------------------------------
# workspace sizes and tolerances of the scan
# ------------------------------------------------------------------------------------

CORE_HALF = 8          # grid points on each side of the centre, spacing x_scale / 2
CAPC = 512             # coarse grid capacity (core + extensions)
CAP = 4096             # refined scan points
DEPTH = 96             # subdivision stack
CAPS = 256             # stationary points
MAXEXT = 240           # doubling steps per side before H is declared unconfined
TOL_H = 1e-3           # relative test of H(b) - H(a) against the Hermite model of H_x
TOL_D = 5e-2           # relative test of H_x(b) - H_x(a) against the trapezoid of H_xx
KINK_REL = 1e-9        # kinks are located to KINK_REL * x_scale
EPS = 2.220446049250313e-16
DEEP_DIV = 16.0        # intervals far below the maximum are refined to x_scale/2/DEEP_DIV

# rows of the stationary-point table
SX, SH, SD, SC, STYPE, SCORNER, SINT, SPOL = range(8)


@njit(cache=True)
def workspace(nrow):
    """Work arrays for one thread: (buf, best, crs, pts, stk, st, stO)."""
    return (np.empty(nrow), np.empty(nrow), np.empty((4, CAPC)), np.empty((5, CAP)),
            np.empty((4, DEPTH)), np.empty((8, CAPS)), np.empty((CAPS, nrow)))


@njit(cache=True)
def _finite3(buf):
    return np.isfinite(buf[0]) and np.isfinite(buf[1]) and np.isfinite(buf[2])


@njit(cache=True)
def _judge(xa, Ha, da, ca, xb, Hb, db, cb):
    """0: one smooth piece; 1: not (kink or unresolved); 2: maybe two hidden roots of H_x."""
    h = xb - xa
    dH = Hb - Ha
    e1 = abs(dH - (0.5 * h * (da + db) + h * h * (ca - cb) / 12.0))
    s1 = abs(dH) + 0.5 * h * (abs(da) + abs(db)) + h * h * (abs(ca) + abs(cb)) / 12.0
    if e1 > TOL_H * s1 + 1e-13 * (abs(Ha) + abs(Hb)) + 1e-300:
        return 1
    dd = db - da
    e2 = abs(dd - 0.5 * h * (ca + cb))
    s2 = abs(dd) + 0.5 * h * (abs(ca) + abs(cb))
    if e2 > TOL_D * s2 + 1e-13 * (abs(da) + abs(db)) + 1e-300:
        return 1
    if (da > 0.0 and db > 0.0) or (da < 0.0 and db < 0.0):
        m0 = h * ca
        m1 = h * cb
        a3 = 2.0 * da + m0 - 2.0 * db + m1
        a2 = -3.0 * da - 2.0 * m0 + 3.0 * db - m1
        thr = 0.25 * min(abs(da), abs(db))
        sg = 1.0 if da > 0.0 else -1.0
        # stationary points of the cubic: 3 a3 t^2 + 2 a2 t + m0 = 0
        qa = 3.0 * a3
        qb = 2.0 * a2
        qc = m0
        ts = np.empty(2)
        nt = 0
        if qa == 0.0:
            if qb != 0.0:
                ts[0] = -qc / qb
                nt = 1
        else:
            disc = qb * qb - 4.0 * qa * qc
            if disc >= 0.0:
                sq = np.sqrt(disc)
                qq = -0.5 * (qb + (sq if qb >= 0.0 else -sq))
                if qq != 0.0:
                    ts[0] = qq / qa
                    ts[1] = qc / qq
                    nt = 2
                else:
                    ts[0] = 0.0
                    nt = 1
        for i in range(nt):
            t = ts[i]
            if 0.0 < t < 1.0:
                g = ((a3 * t + a2) * t + m0) * t + da
                if sg * g < thr:
                    return 2
    return 0


@njit(cache=True)
def _put(a, j, x, buf):
    """Column j of a scan table: (x, H, H_x, H_xx) from the evaluation buffer."""
    a[0, j] = x
    a[1, j] = buf[0]
    a[2, j] = buf[1]
    a[3, j] = buf[2]


@njit(cache=True)
def _scan(sp, p, c, xs, depth, buf, crs, pts, stk):
    """Sorted scan points pts[0:4, :n] = (x, H, H_x, H_xx); pts[4, i] = 1 when the
    interval (x_{i-1}, x_i) holds a kink. Returns (n, max H seen, status)."""
    hs = 0.5 * xs
    mid = CAPC // 2
    lo = mid - CORE_HALF
    hi = mid + CORE_HALF
    hmax = -np.inf
    for j in range(lo, hi + 1):
        x = c + (j - mid) * hs
        sp(x, p, buf)
        if not _finite3(buf):
            return 0, hmax, NONFINITE
        _put(crs, j, x, buf)
        if buf[0] > hmax:
            hmax = buf[0]
    status = 0
    stepl = hs
    stepr = hs
    done = False
    for it in range(MAXEXT):
        okl = crs[1, lo] < hmax - depth and crs[2, lo] > 0.0
        okr = crs[1, hi] < hmax - depth and crs[2, hi] < 0.0
        if okl and okr:
            done = True
            break
        if not okl:
            if lo == 0:
                return 0, hmax, CAPACITY
            stepl *= 2.0
            x = crs[0, lo] - stepl
            sp(x, p, buf)
            if not _finite3(buf):
                return 0, hmax, NONFINITE | UNCONFINED
            lo -= 1
            _put(crs, lo, x, buf)
            if buf[0] > hmax:
                hmax = buf[0]
        if not okr:
            if hi == CAPC - 1:
                return 0, hmax, CAPACITY
            stepr *= 2.0
            x = crs[0, hi] + stepr
            sp(x, p, buf)
            if not _finite3(buf):
                return 0, hmax, NONFINITE | UNCONFINED
            hi += 1
            _put(crs, hi, x, buf)
            if buf[0] > hmax:
                hmax = buf[0]
    if not done:
        return 0, hmax, UNCONFINED

    hkink = KINK_REL * xs
    hdeep = hs / DEEP_DIV
    n = 0
    for r in range(4):
        pts[r, 0] = crs[r, lo]
    pts[4, 0] = 0.0
    n = 1
    for j in range(lo + 1, hi + 1):
        sd = 1
        for r in range(4):
            stk[r, 0] = crs[r, j]
        while sd > 0:
            xa = pts[0, n - 1]
            Ha = pts[1, n - 1]
            da = pts[2, n - 1]
            ca = pts[3, n - 1]
            xb = stk[0, sd - 1]
            Hb = stk[1, sd - 1]
            db = stk[2, sd - 1]
            cb = stk[3, sd - 1]
            h = xb - xa
            v = _judge(xa, Ha, da, ca, xb, Hb, db, cb)
            deep = max(Ha, Hb) < hmax - depth
            hlim = hdeep if deep else hkink
            if v != 0 and h > hlim and sd < DEPTH:
                xm = 0.5 * (xa + xb)
                if xm <= xa or xm >= xb:
                    v = 0
                else:
                    sp(xm, p, buf)
                    if not _finite3(buf):
                        return 0, hmax, NONFINITE
                    _put(stk, sd, xm, buf)
                    if buf[0] > hmax:
                        hmax = buf[0]
                    sd += 1
                    continue
            if v != 0 and sd >= DEPTH:
                status |= CAPACITY
            if n >= CAP:
                return n, hmax, status | CAPACITY
            for r in range(4):
                pts[r, n] = stk[r, sd - 1]
            pts[4, n] = 1.0 if (v == 1 and not deep) else 0.0
            n += 1
            sd -= 1
    return n, hmax, status


@njit(cache=True)
def _jump(xa, da, ca, xb, db, cb):
    """What a smooth H would not produce over [a, b]: |change of H_xx| plus
    |change of H_x - trapezoid of H_xx| / (b - a), each less its rounding allowance.
    As b - a -> 0 the smooth part of both vanishes and a jump of H_xx or H_x remains."""
    h = xb - xa
    jc = abs(cb - ca) - 8.0 * EPS * (abs(ca) + abs(cb))
    jd = abs(db - da - 0.5 * h * (ca + cb)) - 8.0 * EPS * (abs(da) + abs(db) + h * abs(ca))
    return max(jc, 0.0) + max(jd, 0.0) / h


@njit(cache=True)
def _locate_kink(sp, p, xa, da, ca, xb, db, cb, buf):
    """Narrow an interval holding a kink of H (a jump of H_x or H_xx) to adjacent
    doubles by bisection towards the half with the larger ``_jump``. Returns
    (x, confirmed): x the left end of the final interval (points strictly left of it
    lie on one branch, points right of its right end on the other); confirmed when the
    jump there stands above rounding (otherwise the interval held no kink)."""
    for it in range(90):
        xm = 0.5 * (xa + xb)
        if not (xa < xm < xb):
            break
        sp(xm, p, buf)
        dm = buf[1]
        cm = buf[2]
        if _jump(xa, da, ca, xm, dm, cm) >= _jump(xm, dm, cm, xb, db, cb):
            xb = xm
            db = dm
            cb = cm
        else:
            xa = xm
            da = dm
            ca = cm
    h = xb - xa
    jc = abs(cb - ca)
    jd = abs(db - da - 0.5 * h * (ca + cb))
    confirmed = (jc > 1e-11 * (abs(ca) + abs(cb)) + 1e-300 or
                 jd > 1e-11 * (abs(da) + abs(db)) + 1e-300)
    return xa, confirmed


@njit(cache=True)
def _find_kinks(x0, h, d, c, m, cand):
    """Node pairs (i, i+1) of a uniform grid x_i = x0 + i h whose derivative data do not
    fit a smooth H. Indicators: r_i = |H_x(i+1) - H_x(i) - h (H_xx(i) + H_xx(i+1))/2|
    (a jump of H_x) and v_i = |deviation of H_xx(i+1) - H_xx(i) from its neighbours'
    mean| (a jump of H_xx). For smooth H both vary slowly along the grid; a kink is an
    isolated spike: r_i > 30 max(r_{i-1}, r_{i+1}) or v_i > 30 max(v_{i-2}, v_{i+2}),
    above rounding. Writes the i to cand; returns their number."""
    if m < 5:
        return 0
    r = np.empty(m - 1)
    v = np.zeros(m - 1)
    dmax = 0.0
    cmax = 0.0
    for i in range(m):
        dmax = max(dmax, abs(d[i]))
        cmax = max(cmax, abs(c[i]))
    for i in range(m - 1):
        r[i] = abs(d[i + 1] - d[i] - 0.5 * h * (c[i] + c[i + 1]))
    for i in range(1, m - 2):
        v[i] = abs((c[i + 1] - c[i]) - 0.5 * ((c[i] - c[i - 1]) + (c[i + 2] - c[i + 1])))
    rfloor = 1e-12 * (dmax + h * cmax) + 1e-300
    vfloor = 1e-12 * cmax + 1e-300
    n = 0
    for i in range(m - 1):
        rn = max(r[i - 1] if i > 0 else 0.0, r[i + 1] if i < m - 2 else 0.0)
        fr = r[i] > rfloor and r[i] > 30.0 * rn
        fv = False
        if 1 <= i <= m - 3 and v[i] > vfloor:
            vn = max(v[i - 2] if i >= 3 else 0.0, v[i + 2] if i + 2 <= m - 3 else 0.0)
            fv = v[i] > 30.0 * vn and v[i] >= v[i - 1] and v[i] >= v[i + 1]
        if (fr or fv) and n < cand.shape[0]:
            cand[n] = i
            n += 1
    return n


@njit(cache=True)
def _root(sp, p, xa, fa, xb, fb, row, shift, xtol_abs, xtol_rel, x0, buf, best):
    """Root of f = out[row] - shift, f' = out[row + 1], bracketed by fa, fb of opposite
    signs (either may be 0). Safeguarded Newton-bisection (rtsafe) from x0 if it lies
    inside the bracket, else from the secant point. ``best`` holds the
    kernel output at the returned point. Returns (x, jump, status): jump = 1 when f jumps
    across the returned point (a corner of H when row = 1)."""
    if fa == 0.0 or fb == 0.0:
        x = xa if fa == 0.0 else xb
        sp(x, p, best)
        if not _finite3(best):
            return x, 0, NONFINITE
        return x, 0, 0
    if fa < 0.0:
        lo = xa
        hi = xb
    else:
        lo = xb
        hi = xa
    x = x0
    if not (min(xa, xb) < x < max(xa, xb)):
        x = xa - fa * (xb - xa) / (fb - fa)
    if not (min(xa, xb) < x < max(xa, xb)):
        x = 0.5 * (xa + xb)
    dxold = abs(xb - xa)
    dx = dxold
    bestf = np.inf
    bx = x
    bfp = 0.0
    by_step = False
    for it in range(200):
        sp(x, p, buf)
        if not _finite3(buf):
            return x, 0, NONFINITE
        f = buf[row] - shift
        fp = buf[row + 1]
        if abs(f) < bestf:
            bestf = abs(f)
            bx = x
            bfp = fp
            for r in range(buf.shape[0]):
                best[r] = buf[r]
        if f == 0.0:
            by_step = True
            break
        if f < 0.0:
            lo = x
        else:
            hi = x
        xl = min(lo, hi)
        xh = max(lo, hi)
        tol = xtol_abs + xtol_rel * abs(x)
        if row == 1 and fp < 0.0:
            tol += xtol_rel / np.sqrt(-fp)
        newton = False
        if fp != 0.0:
            step = -f / fp
            if abs(step) <= tol and xl - tol <= x + step <= xh + tol:
                by_step = True
                break
            xn = x + step
            if xl < xn < xh and abs(2.0 * f) <= abs(dxold * fp):
                newton = True
        dxold = dx
        if newton:
            dx = xn - x
        else:
            xn = 0.5 * (lo + hi)
            dx = xn - x
        if xh - xl <= tol or xn <= xl or xn >= xh:
            break
        x = xn
    jump = 0
    if not by_step:
        width = abs(hi - lo)
        if bestf > 100.0 * abs(bfp) * max(width, 1e-300) * (1.0 + 1e-3) + 1e-300:
            jump = 1
    return bx, jump, 0


@njit(cache=True)
def _sgn(d):
    return 1.0 if d >= 0.0 else -1.0


@njit(cache=True)
def _stationary(sp, p, pts, n, xs, minima_above, buf, best, st, stO):
    """Stationary points from sign changes of H_x between scan points, in x order.

    Maxima are always refined (their full kernel output goes to stO[k]). A minimum is
    refined only when both bracketing scan points have H >= minima_above; otherwise its
    row holds the lower bracketing point with SPOL = 0 (its H is then an upper bound).
    Returns (count, status)."""
    ns = 0
    status = 0
    for i in range(n - 1):
        sa = _sgn(pts[2, i])
        sb = _sgn(pts[2, i + 1])
        if sa == sb:
            continue
        if ns >= CAPS:
            return ns, status | CAPACITY
        ismax = sa > 0.0
        st[STYPE, ns] = 1.0 if ismax else -1.0
        st[SINT, ns] = i
        if ismax or min(pts[1, i], pts[1, i + 1]) >= minima_above:
            x, jump, s = _root(sp, p, pts[0, i], pts[2, i], pts[0, i + 1], pts[2, i + 1],
                               1, 0.0, 1e-300, 2e-16, np.nan, buf, best)
            if s != 0:
                return ns, status | s
            st[SX, ns] = x
            st[SH, ns] = best[0]
            st[SD, ns] = best[1]
            st[SC, ns] = best[2]
            st[SCORNER, ns] = jump
            st[SPOL, ns] = 1.0
            if ismax:
                for r in range(best.shape[0]):
                    stO[ns, r] = best[r]
        else:
            k = i if pts[1, i] <= pts[1, i + 1] else i + 1
            st[SX, ns] = pts[0, k]
            st[SH, ns] = pts[1, k]
            st[SD, ns] = pts[2, k]
            st[SC, ns] = pts[3, k]
            st[SCORNER, ns] = 0.0
            st[SPOL, ns] = 0.0
        ns += 1
    return ns, status


@njit(cache=True)
def _maxima(sp, p, x_hint, xs, depth, buf, best, crs, pts, stk, st, stO):
    """Scan and refine the maxima only. Returns (n_scan, n_stationary, hmax, status)."""
    n, hmax, status = _scan(sp, p, x_hint, xs, depth, buf, crs, pts, stk)
    if status & (NONFINITE | UNCONFINED) or n == 0:
        return n, 0, hmax, status
    ns, s = _stationary(sp, p, pts, n, xs, np.inf, buf, best, st, stO)
    status |= s
    for k in range(ns):
        if st[STYPE, k] > 0.0 and st[SH, k] > hmax:
            hmax = st[SH, k]
    return n, ns, hmax, status


@njit(cache=True)
def _is_tie(h1, h2, tie_atol, tie_rtol):
    return h1 - h2 <= tie_atol + tie_rtol * max(abs(h1), abs(h2))


@njit(cache=True)
def _node_max(sp, p, x_hint, xs, depth, tie_atol, tie_rtol, ws, obs):
    """Global maximum of H0 at one field node: fills obs[:] with the (tie-weighted)
    observables at the maximiser. Returns (H*, x*, n_max, n_tied, gap, status) where gap
    is H* minus the best other maximum (inf if there is none)."""
    buf, best, crs, pts, stk, st, stO = ws
    n, ns, hmax, status = _maxima(sp, p, x_hint, xs, depth, buf, best, crs, pts, stk, st,
                                  stO)
    nrow = buf.shape[0]
    ib = -1
    nmax = 0
    for k in range(ns):
        if st[STYPE, k] > 0.0:
            nmax += 1
            if ib < 0 or st[SH, k] > st[SH, ib]:
                ib = k
    if ib < 0:
        for r in range(obs.shape[0]):
            obs[r] = np.nan
        return np.nan, np.nan, 0, 0, np.nan, status | NO_MAXIMUM
    h1 = st[SH, ib]
    gap = np.inf
    for k in range(ns):
        if st[STYPE, k] > 0.0 and k != ib:
            gap = min(gap, h1 - st[SH, k])
    ntied = 0
    wsum = 0.0
    anysmooth = False
    for k in range(ns):
        if st[STYPE, k] > 0.0 and _is_tie(h1, st[SH, k], tie_atol, tie_rtol):
            ntied += 1
            if st[SCORNER, k] == 0.0 and st[SC, k] < 0.0:
                anysmooth = True
    for r in range(obs.shape[0]):
        obs[r] = 0.0
    for k in range(ns):
        if st[STYPE, k] > 0.0 and _is_tie(h1, st[SH, k], tie_atol, tie_rtol):
            smooth = st[SCORNER, k] == 0.0 and st[SC, k] < 0.0
            if anysmooth:
                wk = 1.0 / np.sqrt(-st[SC, k]) if smooth else 0.0
            else:
                wk = 1.0
            wsum += wk
            for r in range(obs.shape[0]):
                obs[r] += wk * stO[k, 3 + r]
    for r in range(obs.shape[0]):
        obs[r] /= wsum
    return h1, st[SX, ib], nmax, ntied, gap, status


# ------------------------------------------------------------------------------------
# public: maxima of one site function
# ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SiteMaxima:
    """All local maxima of H found, sorted by H (highest first).

    x, H, curvature (H_xx at the maximum), corner (True where H_x jumps from + to -,
    piecewise-linear phi), observables[k, j] = O_{j+1}(x_k). ``ties`` counts the maxima
    within tie_atol + tie_rtol |H| of the highest (1 = unique global maximiser).
    """

    x: np.ndarray
    H: np.ndarray
    curvature: np.ndarray
    corner: np.ndarray
    observables: np.ndarray
    ties: int
    tie_atol: float
    tie_rtol: float
    status: int
    message: str

    @property
    def success(self) -> bool:
        return self.status == 0

    def __len__(self):
        return len(self.x)


_A1 = types.float64[::1]
_A2 = types.float64[:, ::1]


@functools.lru_cache(maxsize=None)
def _compiled_maxima():
    sig = types.Tuple((types.int64, types.int64, types.float64, types.int64))(
        SitePoint, _A1, types.float64, types.float64, types.float64,
        _A1, _A1, _A2, _A2, _A2, _A2, _A2)
    return njit(sig, cache=True)(_maxima.py_func)


def site_maxima(site_point, p, x_hint=0.0, *, x_scale=1.0, depth=50.0, tie_atol=1e-9,
                tie_rtol=1e-12, n_obs=None) -> SiteMaxima:
    """All local maxima of H(x) = site_point(x, p)[0] within ``depth`` of the highest.

    Parameters
    ----------
    site_point : njit kernel ``(x, p, out)`` (see module docstring).
    p : parameters (fields first), passed unchanged.
    x_hint : centre of the initial scan grid (e.g. the previous maximiser).
    x_scale : length on which phi varies (grid spacing x_scale/2); default 1.
    depth : maxima lower than max H - depth may be missed (H in the units of site_point).
    tie_atol, tie_rtol : two maxima tie when H_1 - H_2 <= tie_atol + tie_rtol |H_1|.
    """
    pp = np.ascontiguousarray(p, dtype=np.float64).copy()
    nrow = kernel_rows(site_point, pp, n_obs)
    ws = workspace(nrow)
    buf, best, crs, pts, stk, st, stO = ws
    n, ns, hmax, status = _compiled_maxima()(site_point, pp, float(x_hint), float(x_scale),
                                              float(depth), buf, best, crs, pts, stk, st,
                                              stO)
    idx = [k for k in range(ns) if st[STYPE, k] > 0.0]
    idx.sort(key=lambda k: -st[SH, k])
    x = np.array([st[SX, k] for k in idx])
    H = np.array([st[SH, k] for k in idx])
    ties = 0
    if len(idx):
        ties = int(sum(H[0] - h <= tie_atol + tie_rtol * max(abs(H[0]), abs(h)) for h in H))
    else:
        status |= NO_MAXIMUM
    return SiteMaxima(
        x=x, H=H, curvature=np.array([st[SC, k] for k in idx]),
        corner=np.array([st[SCORNER, k] != 0.0 for k in idx], dtype=bool),
        observables=np.array([stO[k, 3:nrow] for k in idx]).reshape(len(idx), nrow - 3),
        ties=ties, tie_atol=tie_atol, tie_rtol=tie_rtol, status=int(status),
        message=describe_status(status))


# ------------------------------------------------------------------------------------
# public: zero-temperature field averages
# ------------------------------------------------------------------------------------

MAXSW = 8              # switch points kept per line of the field rule
Z_MAX = 9.5            # standard-normal range of the split line rule (phi(9.5) ~ 1e-20)


@njit(cache=True)
def _branches(sp, p, xa, xb, xs, depth, ws):
    """All maxima of H at p; which of them hold xa and xb in their basins, and which is
    highest. Returns (x_a, H_a, x_b, H_b, x_g, H_g, code, status); code 0: the basin
    of xa holds the global maximum, 1: that of xb does, 2: xa and xb share the basin
    of the global maximum, 3: a third maximum is global."""
    buf, best, crs, pts, stk, st, stO = ws
    nan = np.nan
    n, hmax, status = _scan(sp, p, xa, xs, depth, buf, crs, pts, stk)
    if status & (NONFINITE | UNCONFINED) or n == 0:
        return nan, nan, nan, nan, nan, nan, 3, status
    ns, s = _stationary(sp, p, pts, n, xs, -np.inf, buf, best, st, stO)
    status |= s
    ia = -1
    ib = -1
    ig = -1
    for k in range(ns):
        if st[STYPE, k] > 0.0:
            if ig < 0 or st[SH, k] > st[SH, ig]:
                ig = k
            lo = st[SX, k - 1] if k >= 1 else -np.inf
            hi = st[SX, k + 1] if k + 1 < ns else np.inf
            if lo < xa <= hi:
                ia = k
            if lo < xb <= hi:
                ib = k
    if ig < 0:
        return nan, nan, nan, nan, nan, nan, 3, status | NO_MAXIMUM
    if ia < 0:
        ia = ig
    if ib < 0:
        ib = ig
    if ia == ig and ib == ig:
        code = 2
    elif ia == ig:
        code = 0
    elif ib == ig:
        code = 1
    else:
        code = 3
    return (st[SX, ia], st[SH, ia], st[SX, ib], st[SH, ib], st[SX, ig], st[SH, ig], code,
            status)


@njit(cache=True)
def _switch_point(sp, p, nf, f0, dvec, za, zb, xa, xb, xs, depth, ws):
    """The z in (za, zb) where the global maximiser of H at fields f0 + z dvec passes
    from branch a (global at za, maximum at xa) to branch b (global at zb, at xb):
    Illinois on D = H_a - H_b while both branches exist, bisection otherwise, to
    1e-13 (1 + |z|). Returns (z, kind, x_c, status): kind 0, the switch is at z;
    kind 1, a third branch (maximum at x_c) is global at z, so that the interval holds
    two switches, a -> c left of z and c -> b right of it (the a-b tie, where the
    search converges otherwise, lies inside the window where c wins)."""
    Da = np.nan
    Db = np.nan
    side = 0
    status = 0
    for it in range(200):
        if zb - za <= 1e-13 * (1.0 + abs(za) + abs(zb)):
            break
        z = 0.5 * (za + zb)
        if np.isfinite(Da) and np.isfinite(Db) and Da > 0.0 > Db:
            zs = za - Da * (zb - za) / (Db - Da)
            if za < zs < zb:
                z = zs
        for a in range(nf):
            p[a] = f0[a] + z * dvec[a]
        xa_, Ha, xb_, Hb, xg, Hg, code, s = _branches(sp, p, xa, xb, xs, depth, ws)
        if s & (NONFINITE | UNCONFINED | NO_MAXIMUM):
            return 0.5 * (za + zb), 2, np.nan, status | s | SWITCH
        if code == 3:
            return z, 1, xg, status
        if code == 2:
            code = 0 if abs(xg - xa) <= abs(xg - xb) else 1
            Ha = np.nan
        if code == 0:
            za = z
            xa = xa_
            Da = Ha - Hb if xa_ != xb_ else np.nan
            if side == -1:
                Db *= 0.5
            side = -1
        else:
            zb = z
            xb = xb_
            Db = Ha - Hb if xa_ != xb_ else np.nan
            if side == 1:
                Da *= 0.5
            side = 1
    z = 0.5 * (za + zb)
    for a in range(nf):
        p[a] = f0[a] + z * dvec[a]
    r = _branches(sp, p, xa, xb, xs, depth, ws)
    if r[6] == 3:
        return z, 1, r[4], status
    return z, 0, np.nan, status


@njit(cache=True)
def _global_at(sp, p, nf, f0, dvec, z, xref, xs, depth, ws):
    """Position of the global maximum of H at fields f0 + z dvec (scan centred at xref)."""
    for a in range(nf):
        p[a] = f0[a] + z * dvec[a]
    r = _branches(sp, p, xref, xref, xs, depth, ws)
    return r[4], r[7]


def _switch_chunk(sp, p, nf, fields, zl, xstar, dxdz, nmax, lstart, lend, dvec, xs, depth,
                  l0, l1, nrow, sw_z, sw_n, sw_stat):
    """Switch points of the global maximiser along lines l0..l1-1 of the field rule (the
    nodes lstart[l]..lend[l]-1, ordered by the last standard-normal coordinate zl).

    A neighbouring pair of nodes brackets a switch when (i) the change of x* disagrees
    with the trapezoid of dx*/dz over the pair (a jump, even where the two branches
    coexist only between the nodes), or (ii) one of them has several maxima and the
    global maximum at either is not the continuation (same basin) of the global maximum
    at the other. The switch point is located by ``_switch_point`` and kept when x*
    jumps across it."""
    q = p.copy()
    ws = workspace(nrow)
    f0 = np.empty(nf)
    stk = np.empty((4, MAXSW))
    for l in range(l0, l1):
        sw_n[l] = 0
        sw_stat[l] = 0
        j0 = lstart[l]
        j1 = lend[l]
        for j in range(j0, j1 - 1):
            h = zl[j + 1] - zl[j]
            if h <= 1e-8 * (1.0 + abs(zl[j])):
                continue        # nodes crowding a cut: rounding decides the branch there
            dx = xstar[j + 1] - xstar[j]
            mis = abs(dx - 0.5 * h * (dxdz[j] + dxdz[j + 1]))
            scale = abs(dx) + 0.5 * h * (abs(dxdz[j]) + abs(dxdz[j + 1]))
            cand = mis > 0.25 * scale and mis > 1e-6 * xs
            if not cand and (nmax[j] >= 2 or nmax[j + 1] >= 2):
                for a in range(nf):
                    q[a] = fields[j + 1, a]
                r1 = _branches(sp, q, xstar[j], xstar[j + 1], xs, depth, ws)
                for a in range(nf):
                    q[a] = fields[j, a]
                r0 = _branches(sp, q, xstar[j + 1], xstar[j], xs, depth, ws)
                sw_stat[l] |= r1[7] | r0[7]
                forward = r1[6] == 0 or r1[6] == 2
                backward = r0[6] == 0 or r0[6] == 2
                cand = not (forward and backward)
            if not cand:
                continue
            for a in range(nf):
                f0[a] = fields[j, a] - zl[j] * dvec[a]
            # intervals still to search: (za, zb, x_a, x_b); a third branch splits one
            nst = 1
            stk[0, 0] = zl[j]
            stk[1, 0] = zl[j + 1]
            stk[2, 0] = xstar[j]
            stk[3, 0] = xstar[j + 1]
            while nst > 0:
                nst -= 1
                za = stk[0, nst]
                zb = stk[1, nst]
                xa = stk[2, nst]
                xb = stk[3, nst]
                z, kind, xc, s = _switch_point(sp, q, nf, f0, dvec, za, zb, xa, xb, xs,
                                               depth, ws)
                sw_stat[l] |= s
                if kind == 1:
                    if nst + 2 > MAXSW or not (za < z < zb):
                        sw_stat[l] |= SWITCH
                        continue
                    stk[0, nst] = za
                    stk[1, nst] = z
                    stk[2, nst] = xa
                    stk[3, nst] = xc
                    stk[0, nst + 1] = z
                    stk[1, nst + 1] = zb
                    stk[2, nst + 1] = xc
                    stk[3, nst + 1] = xb
                    nst += 2
                    continue
                if kind != 0:
                    continue
                # keep it only if the maximiser really jumps there
                eps_z = 1e-9 * (1.0 + abs(z))
                xm, s1 = _global_at(sp, q, nf, f0, dvec, z - eps_z, xa, xs, depth, ws)
                xp, s2 = _global_at(sp, q, nf, f0, dvec, z + eps_z, xb, xs, depth, ws)
                sw_stat[l] |= s1 | s2
                if not abs(xp - xm) > 1e-6 * (xs + abs(xm) + abs(xp)):
                    continue
                if sw_n[l] < MAXSW:
                    sw_z[l, sw_n[l]] = z
                    sw_n[l] += 1
                else:
                    sw_stat[l] |= SWITCH


def _max_chunk(sp, p, nf, fields, dvec, xs, depth, tie_atol, tie_rtol, x_hint, i0, i1, nrow,
               hstar, obs, nmax, ntied, gap, stat, xstar, dxdz):
    """Nodes i0..i1-1 in order, each scan starting at the previous node's maximiser.
    dxdz[i] = dx*/dz along fields + z dvec, by implicit differentiation with a central
    difference of H_x in the fields (2 kernel calls)."""
    q = p.copy()
    ws = workspace(nrow)
    buf = ws[0]
    o = np.empty(nrow - 3)
    hint = x_hint
    dz = 1e-5
    for i in range(i0, i1):
        for a in range(nf):
            q[a] = fields[i, a]
        h1, x1, nm, nt, g, s = _node_max(sp, q, hint, xs, depth, tie_atol, tie_rtol, ws, o)
        hstar[i] = h1
        for r in range(nrow - 3):
            obs[i, r] = o[r]
        nmax[i] = nm
        ntied[i] = nt
        gap[i] = g
        stat[i] = s
        xstar[i] = x1
        dxdz[i] = 0.0
        if (s & (NONFINITE | UNCONFINED | NO_MAXIMUM)) == 0:
            hint = x1
            for a in range(nf):
                q[a] = fields[i, a] + dz * dvec[a]
            sp(x1, q, buf)
            dp = buf[1]
            cp = buf[2]
            for a in range(nf):
                q[a] = fields[i, a] - dz * dvec[a]
            sp(x1, q, buf)
            c = 0.5 * (cp + buf[2])
            if c < 0.0:
                dxdz[i] = -(dp - buf[1]) / (2.0 * dz * c)


_I1 = types.int64[::1]


@functools.lru_cache(maxsize=None)
def _compiled_max_chunk():
    f64 = types.float64
    sig = types.void(SitePoint, _A1, types.int64, _A2, _A1, f64, f64, f64, f64, f64,
                     types.int64, types.int64, types.int64, _A1, _A2, _I1, _I1, _A1, _I1,
                     _A1, _A1)
    return njit(sig, cache=True, nogil=True)(_max_chunk)


@functools.lru_cache(maxsize=None)
def _compiled_switch_chunk():
    f64 = types.float64
    sig = types.void(SitePoint, _A1, types.int64, _A2, _A1, _A1, _A1, _I1, _I1, _I1, _A1, f64,
                     f64, types.int64, types.int64, types.int64, _A2, _I1, _I1)
    return njit(sig, cache=True, nogil=True)(_switch_chunk)


@dataclass(frozen=True)
class FieldMaxAverage:
    """Zero-temperature Gaussian averages over the fields.

    E_H = E[max_x H0], E_avg[k] = E[O_{k+1}(x*)], E_pair[m] = E[O_i(x*) O_j(x*)] for
    (i, j) = pairs[m]; at a tied node O(x*) is the Laplace-weighted mean over the tied
    maxima (module docstring). Diagnostics on the Gauss-Hermite nodes: n_multi counts
    nodes with several local maxima, n_tie those where the best two are tied, tie_weight
    their total weight; min_gap is the smallest H gap between the global maximum and the
    runner-up (inf if no node has two maxima). n_switch is the number of switch points
    of the global maximiser located on the lines of the rule (``split``), n_split the
    number of lines integrated piecewise; gh_err is filled with ``refine``.
    """

    E_H: float
    E_avg: np.ndarray
    E_pair: np.ndarray
    pairs: tuple
    n_nodes: int
    rank: int
    n_gh: int
    n_multi: int
    n_tie: int
    tie_weight: float
    min_gap: float
    n_switch: int
    n_split: int
    tie_atol: float
    tie_rtol: float
    status: int
    message: str
    gh_err: float | None = None

    @property
    def success(self) -> bool:
        return self.status == 0


def _max_nodes(site_point, pp, n_fields, fields, dvec, nrow, x_scale, depth, tie_atol,
               tie_rtol, x_hint, threads):
    """Per-node (H*, O(x*), n_max, n_tied, gap, status, x*, dx*/dz)."""
    m = fields.shape[0]
    k = nrow - 3
    out = (np.empty(m), np.empty((m, k)), np.empty(m, dtype=np.int64),
           np.empty(m, dtype=np.int64), np.empty(m), np.empty(m, dtype=np.int64),
           np.empty(m), np.empty(m))
    if m:
        run_chunks(_compiled_max_chunk(), m, site_point, pp, int(n_fields),
                   np.ascontiguousarray(fields), np.ascontiguousarray(dvec, dtype=np.float64),
                   float(x_scale), float(depth), float(tie_atol), float(tie_rtol),
                   float(x_hint), nrow=nrow, outputs=out, threads=threads)
    return out


def _lines(z):
    """Start and end indices of the runs of nodes sharing all but the last coordinate."""
    m, r = z.shape
    if r <= 1:
        return np.array([0], dtype=np.int64), np.array([m], dtype=np.int64)
    change = np.any(z[1:, :-1] != z[:-1, :-1], axis=1)
    starts = np.concatenate([[0], np.nonzero(change)[0] + 1]).astype(np.int64)
    ends = np.concatenate([starts[1:], [m]]).astype(np.int64)
    return starts, ends


DE_T = 3.2              # tanh-sinh parameter range on a piece of a split line
DE_LEVELS = 8           # finest level: step 0.5 / 2^7


def _de_nodes(a, b, level):
    """Tanh-sinh nodes of ``level`` (step 0.5 / 2^level; only the new, odd multiples
    above level 0) on [a, b], none within 1e-12 (1 + |z|) of an end: (z, weights for
    step 1)."""
    h = 0.5 / 2 ** level
    k = np.arange(-int(DE_T / h), int(DE_T / h) + 1)
    if level > 0:
        k = k[k % 2 != 0]
    t = k * h
    u = 0.5 * np.pi * np.sinh(t)
    half = 0.5 * (b - a)
    e2 = np.exp(-2.0 * np.abs(u))
    dist = half * 2.0 * e2 / (1.0 + e2)          # distance to the nearer end
    z = np.where(u >= 0.0, b - dist, a + dist)
    wt = half * 0.5 * np.pi * np.cosh(t) / np.cosh(u) ** 2
    # closer to a cut than it is known (1e-13): rounding picks the branch there, so the
    # node says nothing; the sliver left out is smaller than the cut's own uncertainty
    ok = (dist > 1e-12 * (1.0 + np.abs(z))) & (wt > 0.0)
    return z[ok], wt[ok]


def _integrate_pieces(site_point, pp, n_fields, pieces, dvec, nrow, x_scale, depth,
                      tie_atol, tie_rtol, x_hint, threads):
    """Adaptive tanh-sinh over pieces (f0, W, a, b) of split lines: the integrand
    W phi(z) (H*, O(x*)) at fields f0 + z dvec, levels nested and batched over all
    pieces; a piece stops when its level-to-level change is below 1e-13. Returns per
    piece (fields, z, weights, outputs of ``_max_nodes``, status) sorted by z."""
    k = nrow - 3
    store = [dict(z=[], w=[], out=[]) for _ in pieces]
    prev = [[] for _ in pieces]
    active = list(range(len(pieces)))
    pstat = [0] * len(pieces)
    for level in range(DE_LEVELS):
        batch, owner = [], []
        for i in active:
            f0, W, a, b = pieces[i]
            z, wt = _de_nodes(a, b, level)
            store[i]["z"].append(z)
            store[i]["w"].append(wt * W * np.exp(-0.5 * z * z) / np.sqrt(2 * np.pi))
            batch.append(f0[None, :] + z[:, None] * dvec[None, :])
            owner.append((i, len(z)))
        if not batch:
            break
        # the switch points are known here, so each node takes the strictly highest
        # maximum (the tie rule would smear each jump over ~tie_atol / |dD/dz|)
        out = _max_nodes(site_point, pp, n_fields, np.concatenate(batch), dvec, nrow, x_scale,
                         depth, 0.0, 0.0, x_hint, threads)
        pos = 0
        still = []
        for i, m in owner:
            store[i]["out"].append(tuple(o[pos:pos + m] for o in out))
            pstat[i] |= int(np.bitwise_or.reduce(out[5][pos:pos + m])) if m else 0
            pos += m
            step = 0.5 / 2 ** level
            wall = np.concatenate(store[i]["w"]) * step
            vals = np.concatenate([np.concatenate([o[0][:, None], o[1]], axis=1)
                                   for o in store[i]["out"]])
            q = wall @ vals
            prev[i].append(q)
            if level >= 2:
                d1 = np.max(np.abs(prev[i][-1] - prev[i][-2]))
                d2 = np.max(np.abs(prev[i][-2] - prev[i][-3]))
                r = d1 / d2 if d2 > 0 else 0.0
                e = d1 * min(1.0, r)        # tanh-sinh levels can converge irregularly
                if e <= 1e-13 * max(1.0, np.max(np.abs(q))):
                    continue
            if level == DE_LEVELS - 1:
                pstat[i] |= NOT_CONVERGED
            else:
                still.append(i)
        active = still
    res = []
    for i, (f0, W, a, b) in enumerate(pieces):
        nlev = len(store[i]["z"])
        step = 0.5 / 2 ** (nlev - 1)
        z = np.concatenate(store[i]["z"])
        w = np.concatenate(store[i]["w"]) * step
        outs = tuple(np.concatenate([o[j] for o in store[i]["out"]]) for j in range(8))
        order = np.argsort(z)
        res.append((f0[None, :] + z[order, None] * dvec[None, :], z[order], w[order],
                    tuple(o[order] for o in outs), pstat[i]))
    return res


def _switches(site_point, pp, n_fields, fields, zl, xstar, dxdz, nmax, starts, ends, dvec,
              nrow, x_scale, depth, threads):
    """Switch points on each run starts[l]..ends[l]-1 of nodes (``_switch_chunk``)."""
    nl = len(starts)
    sw_z = np.zeros((nl, MAXSW))
    sw_n = np.zeros(nl, dtype=np.int64)
    sw_stat = np.zeros(nl, dtype=np.int64)
    if nl:
        run_chunks(_compiled_switch_chunk(), nl, site_point, pp, int(n_fields),
                   np.ascontiguousarray(fields), np.ascontiguousarray(zl),
                   np.ascontiguousarray(xstar), np.ascontiguousarray(dxdz),
                   np.ascontiguousarray(nmax), np.ascontiguousarray(starts, dtype=np.int64),
                   np.ascontiguousarray(ends, dtype=np.int64), dvec, float(x_scale),
                   float(depth), nrow=nrow, outputs=(sw_z, sw_n, sw_stat), threads=threads)
    return sw_z, sw_n, int(np.bitwise_or.reduce(sw_stat)) if nl else 0


def _split_lines(site_point, pp, n_fields, fields, w, z, Lr, n, xstar, dxdz, nmax, nrow,
                 x_scale, depth, tie_atol, tie_rtol, x_hint, threads, passes=2):
    """Lines of the rule on which the global maximiser switches branch, integrated
    between the switch points (``_integrate_pieces``). The new nodes are searched again,
    piece by piece (a narrow window where another branch wins can fall between two
    Gauss-Hermite nodes and hide behind a switch found first), up to ``passes`` times.
    Returns (keep mask of the original nodes, per-node outputs of the new nodes as
    ``_max_nodes``, their weights, n_switch, n_split, status)."""
    m, r = z.shape
    starts, ends = _lines(z)
    dvec = np.ascontiguousarray(Lr[:, r - 1])
    zl = np.ascontiguousarray(z[:, r - 1])
    sw_z, sw_n, status = _switches(site_point, pp, n_fields, fields, zl, xstar, dxdz, nmax,
                                   starts, ends, dvec, nrow, x_scale, depth, threads)
    xh, wh = hermite_nodes(n)
    cuts = {int(l): np.sort(sw_z[l, :sw_n[l]]) for l in np.nonzero(sw_n)[0]}
    keep = np.ones(m, dtype=bool)
    line = {}
    for l in cuts:
        j0, j1 = starts[l], ends[l]
        # outer weight of the line: w_j = W w_1d(z_j) (up to the common pruning factor)
        W = w[j0:j1].sum() / wh[np.searchsorted(xh, zl[j0:j1])].sum()
        line[l] = (fields[j0] - zl[j0] * dvec, W)
        keep[j0:j1] = False
    todo = set(cuts)
    built = {}
    for it in range(passes + 1):
        pieces, owner = [], []
        for l in sorted(todo):
            f0, W = line[l]
            c = cuts[l][(cuts[l] > -Z_MAX) & (cuts[l] < Z_MAX)]
            edges = np.concatenate([[-Z_MAX], c, [Z_MAX]])
            for a, b in zip(edges[:-1], edges[1:]):
                if b > a:
                    pieces.append((f0, W, a, b))
                    owner.append(l)
        res = _integrate_pieces(site_point, pp, n_fields, pieces, dvec, nrow, x_scale,
                                depth, tie_atol, tie_rtol, x_hint, threads)
        for l in todo:
            built[l] = [res[i] for i in range(len(pieces)) if owner[i] == l]
        if it == passes or not todo:
            break
        # search the new nodes piece by piece
        fl = np.concatenate([p_[0] for p_ in res])
        zz = np.concatenate([p_[1] for p_ in res])
        xs_ = np.concatenate([p_[3][6] for p_ in res])
        dx_ = np.concatenate([p_[3][7] for p_ in res])
        nm_ = np.concatenate([p_[3][2] for p_ in res])
        lens = np.array([len(p_[1]) for p_ in res], dtype=np.int64)
        pe = np.cumsum(lens)
        ps = pe - lens
        sz, sn, s2 = _switches(site_point, pp, n_fields, fl, zz, xs_, dx_, nm_, ps, pe, dvec,
                               nrow, x_scale, depth, threads)
        status |= s2
        todo = set()
        for i in np.nonzero(sn)[0]:
            l = owner[i]
            new = [zc for zc in sz[i, :sn[i]]
                   if np.all(np.abs(cuts[l] - zc) > 1e-8 * (1.0 + abs(zc)))]
            if new:
                cuts[l] = np.sort(np.concatenate([cuts[l], new]))
                todo.add(l)
    k = nrow - 3
    allp = [p_ for l in sorted(built) for p_ in built[l]]
    for p_ in allp:                    # only the final build of each line counts
        status |= p_[4]
    if allp:
        new_w = np.concatenate([p_[2] for p_ in allp])
        outs = tuple(np.concatenate([p_[3][i] for p_ in allp]) for i in range(8))
    else:
        new_w = np.zeros(0)
        outs = (np.zeros(0), np.zeros((0, k))) + tuple(np.zeros(0) for i in range(6))
    n_switch = int(sum(len(c) for c in cuts.values()))
    return keep, outs, new_w, n_switch, len(cuts), status


def field_max_average(site_point, site, p, n_fields, mean, L, n_gh, pairs=(), *,
                      x_scale=1.0, x_hint=0.0, depth=50.0, tie_atol=1e-9, tie_rtol=1e-12,
                      n_obs=None, prune=1e-16, threads=None, split=True, refine=False):
    """E over fields = mean + L z of max_x H0, O_k(x*) and O_i(x*) O_j(x*).

    H0 = out[0] of the zero-temperature kernel (THEORY.md, "Zero temperature"); x* its
    global maximiser at each node (``site_maxima``; ties handled as described in the
    module docstring and counted, never resolved by accident).

    Where the global maximiser jumps from one branch to another, O(x*) jumps and the
    product Gauss-Hermite rule converges slowly (error ~ 1e-3 at n_gh = 40). With
    split = True (default) the rule is read as lines along the last independent
    direction of L. On each line a neighbouring pair of nodes whose x* change disagrees
    with the trapezoid of dx*/dz (implicit differentiation), or whose global maxima are
    not continuations of each other, brackets a switch; it is located to ~1e-13
    (Illinois on H_a - H_b), kept if x* jumps across it, and the line is integrated by
    Gauss-Legendre between switch points over |z| < 9.5. The outer directions keep
    Gauss-Hermite, so a switching curve nearly parallel to the lines still converges
    slowly (compare with refine = True).

    ``site`` is accepted for symmetry with ``field_average`` and not needed here.
    With refine = True the average is repeated with ceil(1.5 n_gh) nodes per direction
    and the largest change is returned as gh_err (the finer result is returned).
    """
    from .inner import _node_status_message, field_arguments

    pp, nrow, pairs, mean, L = field_arguments(site_point, p, n_fields, mean, L, pairs, n_obs)
    k = nrow - 3

    def run(n):
        fields, w, rank, z, Lr = field_rule(mean, L, n, prune)
        dvec = Lr[:, rank - 1] if rank else np.zeros(n_fields)
        hstar, obs, nmax, ntied, gap, stat, xstar, dxdz = _max_nodes(
            site_point, pp, n_fields, fields, dvec, nrow, x_scale, depth, tie_atol,
            tie_rtol, x_hint, threads)
        status = int(np.bitwise_or.reduce(stat)) if len(stat) else 0
        message = _node_status_message(stat, w)
        tied = ntied > 1
        diag = dict(n_multi=int(np.sum(nmax > 1)), n_tie=int(np.sum(tied)),
                    tie_weight=float(w[tied].sum()),
                    min_gap=float(gap.min()) if len(gap) else np.inf)
        n_switch = n_split = 0
        W, Hs, Os = w, hstar, obs
        if split and rank >= 1 and not status:
            keep, out2, w2, n_switch, n_split, s2 = _split_lines(
                site_point, pp, n_fields, fields, w, z, Lr, n, xstar, dxdz, nmax, nrow,
                x_scale, depth, tie_atol, tie_rtol, x_hint, threads)
            if n_split:
                W = np.concatenate([w[keep], w2])
                Hs = np.concatenate([hstar[keep], out2[0]])
                Os = np.concatenate([obs[keep], out2[1]])
            if s2:
                status |= s2
                extra = describe_status(s2) + " on the split lines"
                message = extra if message == "ok" else f"{message}; {extra}"
        return FieldMaxAverage(
            E_H=float(np.dot(W, Hs)), E_avg=W @ Os,
            E_pair=np.array([np.dot(W, Os[:, i] * Os[:, j]) for i, j in pairs]),
            pairs=pairs, n_nodes=len(W), rank=rank, n_gh=int(n), n_switch=n_switch,
            n_split=n_split, tie_atol=tie_atol, tie_rtol=tie_rtol, status=status,
            message=message, **diag)

    res = run(n_gh)
    if not refine:
        return res
    fine = run(int(np.ceil(1.5 * n_gh)))
    d = [abs(fine.E_H - res.E_H), *np.abs(fine.E_avg - res.E_avg).tolist(),
         *np.abs(fine.E_pair - res.E_pair).tolist()]
    from dataclasses import replace
    return replace(fine, gh_err=float(max(d)), status=fine.status | res.status)
