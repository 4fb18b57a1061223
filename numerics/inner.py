"""Inner integrals ln Z = ln int exp(H(x)) dx and site averages <O_k>, and their Gaussian
averages over the fields.

The RS free energy (THEORY.md, section 2, "The RS result") is
-beta f = G(theta) + E_fields ln int dx exp(H(x; fields, theta)); the saddle-point
equations need E[<O_k>] and E[<O_i><O_j>] with <O> = int O exp(H) dx / Z. H comes from
a site kernel (see ``numerics.maximiser``) and may be very sharply peaked (beta up to
1e8: widths down to 1e-4), with several maxima (phi saturating, rho > 0) or kinks
(piecewise-linear phi).

Method (``_inner_core``):
1. every local maximum and minimum of H (``maximiser._scan``, ``_stationary``);
2. T = ln(1/rtol) + 12: the integrand exp(H - max H) is cut where it falls below e^-T;
   maxima whose separating minimum stays above that level form one cluster, and each
   cluster is cut at the two points where H = max H - T (Newton-bisection on H). The
   cluster of the global maximum is done first; another whose mass is certainly below
   1e-3 rtol of it is skipped (its bound goes into the error estimate);
3. a cluster without kinks is integrated by the trapezoidal rule on [x_l, x_r] with
   step w/2 (w = 1/sqrt(-H_xx) of its narrowest maximum), halved until converged. For
   an integrand analytic in a strip and negligible at the ends the error falls like
   exp(-c/h); with d_1 = |T_h - T_2h|, d_2 = |T_2h - T_4h| and r = d_1/d_2 the error of
   T_h is estimated by d_1 r^2 when r < 1e-3 (exponential regime) and by d_1 min(1, r)
   otherwise (right for algebraic convergence);
4. kinks (piecewise-linear phi): those with a large relative jump are found by the
   scan; weak ones (e.g. rho = 0, where the jump is ~1e-8 of the beta-sized smooth part)
   show as isolated spikes in the H_x, H_xx data of the first trapezoid levels
   (``maximiser._find_kinks``), or as a steady algebraic convergence rate, after which
   the support is searched. Every kink is narrowed to adjacent doubles
   (``maximiser._locate_kink``) and the cluster is integrated by tanh-sinh quadrature
   between breakpoints (kinks, maxima, minima), which converges exponentially with the
   kink at a piece end; a piece that still converges algebraically is searched and
   split once more;
5. clusters are summed relative to exp(max H), so logZ = max H + ln(sum) exactly (no
   normalisation dropped). The error estimate is relative for Z and, for <O_k>, relative
   to <|O_k|> floored at 1e-3 Z max|O_k| over the support (an observable that nearly
   vanishes where the mass is, e.g. relu far on its flat side, is not resolved relative
   to its own tiny average).

Cost: about 60-130 kernel evaluations for a single smooth peak (20 for the scan, 5 to
refine the maximum, 6 for the cutoffs, 37-75 for the trapezoidal rule), more for several
maxima or kinks, about 1000 for the widest peaks (beta = 1e-2 with tanh: width 10 over
features of width 1).
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field, replace

import numpy as np
from numba import njit, types

from .gauss import field_nodes
from .maximiser import (CAPACITY, CAPS, EPS, MISSED_PEAK, NO_MAXIMUM, NONFINITE,
                        NOT_CONVERGED, SC, SCORNER, SH, SINT, SPOL, STYPE, SX, UNCONFINED, Site,
                        SitePoint, _find_kinks, _locate_kink, _root, _scan, _stationary,
                        describe_status, kernel_rows, run_chunks, workspace)

# numba's cache (cache=True) is keyed on the timestamp of the file defining a function,
# but the compiled functions here link in the kernels of maximiser.py. Its digest below
# makes every change there an edit here as well (tests/test_quadrature.py checks it), so
# the cached machine code of this module cannot go stale.
MAXIMISER_SHA256 = "20a0da32a604ad26"

NB = 512                 # quadrature nodes per batch call of ``site``
MAX_NODES = 1 << 17      # per cluster or piece, all levels together
SLOW = 1 << 20           # internal: the trapezoidal rule converges algebraically (a kink)
MAX_FOUND = 8            # kinks looked for in the support when the scan saw none
KCAP = 4097              # derivative data kept from the first three trapezoid levels
CAPB = 128               # breakpoints in one cluster
T_EXTRA = 12.0           # truncation depth T = ln(1/rtol) + T_EXTRA
SCAN_EXTRA = 8.0         # the scan extends to max H - (T + SCAN_EXTRA)
DE_TMAX = 3.2            # tanh-sinh parameter range
DE_H0 = 0.5              # tanh-sinh first step


@njit(cache=True)
def quad_workspace(nrow):
    """Work arrays for the quadrature:
    (nodes, weights, out, acc, lev, err, brk, clu, kd, kc)."""
    k = nrow - 3
    return (np.empty(NB), np.empty(NB), np.empty((nrow, NB)), np.empty(1 + 3 * k),
            np.empty((3, 1 + 3 * k)), np.empty(1 + k), np.empty(CAPB),
            np.empty((6, CAPS)), np.empty(KCAP), np.empty(KCAP))


@njit(cache=True)
def _accumulate(sv, p, m, nodes, wts, out, hmax, raw, htop):
    """raw += sum_j w_j e^{H_j - hmax} (1, O_k, |O_k|) over the first m nodes, and
    raw[1+2K:] = max(raw[1+2K:], |O_k|). Returns (status, max(htop, largest H seen))."""
    nrow = out.shape[0]
    k = nrow - 3
    sv(nodes[:m], p, out[:, :m])
    status = 0
    for j in range(m):
        hj = out[0, j]
        if not np.isfinite(hj):
            if hj == -np.inf:
                continue
            return NONFINITE, htop
        if hj > htop:
            htop = hj
        e = wts[j] * np.exp(hj - hmax)
        raw[0] += e
        for r in range(k):
            o = out[3 + r, j]
            raw[1 + r] += e * o
            raw[1 + k + r] += e * abs(o)
            if abs(o) > raw[1 + 2 * k + r]:
                raw[1 + 2 * k + r] = abs(o)
    return status, htop


@njit(cache=True)
def _converged(lev, level, k, rtol, zref, err, regular):
    """Error estimate from the last three levels; fills err (absolute), returns
    (relative error, converged); ``regular`` allows the exp(-a/h) extrapolation.
    Z is judged against the larger of this part's own sum and zref (the integral of the
    top cluster, when known), so a part that contributes little need not be resolved to
    rtol of itself; observables as described below."""
    if level < 2:
        return np.inf, False
    cur = level % 3
    own = lev[cur, 0]
    zs = max(own, zref)
    worst = 0.0
    for q in range(1 + k):
        a = lev[cur, q]
        b = lev[(level - 1) % 3, q]
        c = lev[(level - 2) % 3, q]
        d1 = abs(a - b)
        d2 = abs(b - c)
        if d1 == 0.0:
            e = 0.0
        elif d2 == 0.0:
            e = d1
        else:
            r = d1 / d2
            # regular (trapezoidal rule on an analytic peak) and r < 1e-3: exponential
            # convergence, err(h) ~ d1 r^2 (exact for exp(-a/h), conservative for
            # exp(-a/h^2)); otherwise err(h) ~ d1 r (algebraic, or tanh-sinh, whose
            # levels can converge irregularly)
            e = d1 * r * r if (regular and r < 1e-3) else d1 * min(1.0, r)
        err[q] = e
        if q == 0:
            scale = zs
        else:
            # <O> is judged against <|O|>, floored at 1e-3 of the largest |O| met on the
            # support times Z: an observable that (nearly) vanishes where the mass is
            # need not be resolved relative to its own tiny average. Summed over the
            # parts this is the scale the final estimate uses.
            scale = max(lev[cur, k + q], 1e-3 * zs * lev[cur, 2 * k + q])
        if scale > 0.0:
            rel = e / scale
        else:
            rel = 0.0 if e == 0.0 else np.inf
        if rel > worst:
            worst = rel
    return worst, worst <= 0.5 * rtol


@njit(cache=True)
def _level_ratio(lev, level):
    """|I_l - I_(l-1)| / |I_(l-1) - I_(l-2)| of the first component over the last three
    levels (ring buffer lev[level % 3]); 0 when the earlier difference vanishes."""
    d1 = abs(lev[level % 3, 0] - lev[(level - 1) % 3, 0])
    d2 = abs(lev[(level - 1) % 3, 0] - lev[(level - 2) % 3, 0])
    return d1 / d2 if d2 > 0.0 else 0.0


@njit(cache=True)
def _store_level(lev, level, raw, spacing, k):
    """lev[level % 3] = this level's sums: the 1 + 2K weighted sums times the node
    spacing (the rule's common factor), the K running maxima of |O_k| as they are."""
    for q in range(1 + 2 * k):
        lev[level % 3, q] = raw[q] * spacing
    for q in range(1 + 2 * k, 1 + 3 * k):
        lev[level % 3, q] = raw[q]


@njit(cache=True)
def _level_done(lev, level, k, rtol, zref, err, regular, slow_rule, rprev, total):
    """Whether to stop after a level has been stored: (stop, status bits, ratio).

    Stops when ``_converged``; with SLOW when the successive differences
    d_l = |I_l - I_(l-1)| fall algebraically (a kink inside the piece), judged by
    r = d_l / d_(l-1): slow_rule 1 (trapezoid) a steady r in (0.03, 0.6) from level 3
    on, slow_rule 2 (tanh-sinh, where a resolved smooth piece gains orders of magnitude
    per level) two ratios above 0.02 from level 4 on, slow_rule 0 never; with
    NOT_CONVERGED when the node budget is spent. The returned ratio is the next rprev."""
    rel, ok = _converged(lev, level, k, rtol, zref, err, regular)
    if ok:
        return True, 0, rprev
    r = rprev
    if level >= 2:
        r = _level_ratio(lev, level)
        if slow_rule == 1 and level >= 3 and 0.03 < r < 0.6 and 0.03 < rprev < 0.6 \
                and 0.5 < r / rprev < 2.0:
            return True, SLOW, r
        if slow_rule == 2 and level >= 4 and r > 0.02 and rprev > 0.02:
            return True, SLOW, r
    if total * 2 > MAX_NODES:
        return True, NOT_CONVERGED, r
    return False, 0, r


@njit(cache=True)
def _finish(lev, level, k, acc, err):
    """Copy the last level's sums into acc; with fewer than three levels there is no error
    estimate, so the errors of the 1 + k integrals are set to inf."""
    for q in range(1 + 3 * k):
        acc[q] = lev[level % 3, q]
    if level < 2:
        for q in range(1 + k):
            err[q] = np.inf


@njit(cache=True)
def _trapezoid(sp, sv, p, xl, xr, h0, hmax, rtol, zref, qw, found):
    """Trapezoidal rule on [xl, xr] (integrand negligible at both ends), nested halving
    from step ~ h0. Sums go to lev[level % 3], the final ones to acc; err gets the
    absolute error estimates. Returns (status, largest H seen, n_found).

    Kinks the scan could not see (weak against the smooth part of H) are looked for in
    the derivative rows of the first three levels (one uniform grid, ``_find_kinks``);
    confirmed ones go to found[:n_found] with status SLOW, and the caller switches to
    tanh-sinh between breakpoints. SLOW without kinks found means the successive
    differences fell by a steady factor in (0.03, 0.6): algebraic convergence."""
    nodes, wts, out, acc, lev, err, brk, clu, kd, kc = qw
    k = out.shape[0] - 3
    span = xr - xl
    n0 = int(np.ceil(span / (4.0 * h0)))
    if n0 < 1:
        n0 = 1
    if n0 > MAX_NODES // 8:
        n0 = MAX_NODES // 8
    step = span / n0
    raw = np.zeros(1 + 3 * k)
    status = 0
    htop = -np.inf
    total = 0
    level = 0
    rprev = 0.0
    keep = 4 * n0 + 1 <= KCAP
    while True:
        # nodes of this level: xl + j*step (level 0) or the odd multiples of step
        if level == 0:
            count = n0 + 1
            first = xl
            stride = step
        else:
            count = n0 << (level - 1)
            first = xl + step
            stride = 2.0 * step
        j = 0
        while j < count:
            m = min(NB, count - j)
            for i in range(m):
                nodes[i] = first + (j + i) * stride
                wts[i] = 1.0
            s, htop = _accumulate(sv, p, m, nodes, wts, out, hmax, raw, htop)
            status |= s
            if s != 0:
                return status, htop, 0
            if keep and level <= 2:
                for i in range(m):
                    jj = j + i
                    idx = 4 * jj if level == 0 else (4 * jj + 2 if level == 1 else 2 * jj + 1)
                    kd[idx] = out[1, i]
                    kc[idx] = out[2, i]
            j += m
        total += count
        _store_level(lev, level, raw, step, k)
        if level == 2 and keep:
            cand = np.empty(MAX_FOUND, dtype=np.int64)
            nc = _find_kinks(xl, step, kd, kc, 4 * n0 + 1, cand)
            nf = 0
            if nc > 0:
                buf = np.empty(out.shape[0])
                for ci in range(nc):
                    i = cand[ci]
                    xk, ok = _locate_kink(sp, p, xl + i * step, kd[i], kc[i],
                                          xl + (i + 1) * step, kd[i + 1], kc[i + 1], buf)
                    if ok:
                        found[nf] = xk
                        nf += 1
            if nf > 0:
                return status | SLOW, htop, nf
        stop, s, rprev = _level_done(lev, level, k, rtol, zref, err, True, 1, rprev, total)
        status |= s
        if stop:
            break
        level += 1
        step *= 0.5
    _finish(lev, level, k, acc, err)
    return status, htop, 0


@njit(cache=True)
def _tanh_sinh(sv, p, a, b, hmax, rtol, zref, allow_slow, qw):
    """Tanh-sinh rule on [a, b] (kinks allowed at the ends), nested halving. Same
    outputs as ``_trapezoid`` (without the kink search); with allow_slow, steady
    algebraic convergence (a kink inside) returns early with SLOW."""
    nodes, wts, out, acc, lev, err, brk, clu, kd, kc = qw
    k = out.shape[0] - 3
    half = 0.5 * (b - a)
    raw = np.zeros(1 + 3 * k)
    status = 0
    htop = -np.inf
    total = 0
    level = 0
    rprev = 0.0
    h = DE_H0
    hpi = 0.5 * np.pi
    while True:
        # t = idx * h, |t| <= DE_TMAX: all of them at level 0, the odd idx later
        kmax = int(DE_TMAX / h)
        m = 0
        idx = -kmax
        while idx <= kmax:
            if level == 0 or (idx % 2 != 0):
                t = idx * h
                u = hpi * np.sinh(t)
                ch = np.cosh(u)
                w = half * hpi * np.cosh(t) / (ch * ch)
                e2 = np.exp(-2.0 * abs(u))
                dist = half * 2.0 * e2 / (1.0 + e2)    # distance to the nearer end
                x = (b - dist) if u >= 0.0 else (a + dist)
                if dist > 0.0 and w > 0.0:
                    nodes[m] = x
                    wts[m] = w
                    m += 1
            if m == NB or (m > 0 and idx == kmax):
                s, htop = _accumulate(sv, p, m, nodes, wts, out, hmax, raw, htop)
                status |= s
                if s != 0:
                    return status, htop
                total += m
                m = 0
            idx += 1
        _store_level(lev, level, raw, h, k)
        stop, s, rprev = _level_done(lev, level, k, rtol, zref, err, False,
                                     2 if allow_slow else 0, rprev, total)
        status |= s
        if stop:
            break
        level += 1
        h *= 0.5
    _finish(lev, level, k, acc, err)
    return status, htop


@njit(cache=True)
def _insertion_sort(a, n):
    for i in range(1, n):
        v = a[i]
        j = i - 1
        while j >= 0 and a[j] > v:
            a[j + 1] = a[j]
            j -= 1
        a[j + 1] = v


@njit(cache=True)
def _cutoff(sp, p, pts, st, ns, kmax, side, level, buf, best):
    """Point beside the maximum st[:, kmax] (side -1 left, +1 right) where H = level,
    between it and the neighbouring minimum. Returns (x, status)."""
    xm = st[SX, kmax]
    i = int(st[SINT, kmax])
    kmin = kmax + (1 if side > 0.0 else -1)
    has_min = 0 <= kmin < ns
    imin = int(st[SINT, kmin]) if has_min else -1
    if side < 0:
        j = i
        while pts[1, j] >= level and j > imin:
            j -= 1
        if j <= imin and has_min:
            xa = st[SX, kmin]
            ha = st[SH, kmin]
            xb = pts[0, imin + 1]
            hb = pts[1, imin + 1]
        else:
            xa = pts[0, j]
            ha = pts[1, j]
            xb = pts[0, j + 1]
            hb = pts[1, j + 1]
        if xb > xm or j == i:
            xb = xm
            hb = st[SH, kmax]
    else:
        j = i + 1
        lim = imin + 1 if has_min else 1 << 30
        while pts[1, j] >= level and j < lim:
            j += 1
        if j >= lim and has_min:
            xb = st[SX, kmin]
            hb = st[SH, kmin]
            xa = pts[0, imin]
            ha = pts[1, imin]
        else:
            xb = pts[0, j]
            hb = pts[1, j]
            xa = pts[0, j - 1]
            ha = pts[1, j - 1]
        if xa < xm or j == i + 1:
            xa = xm
            ha = st[SH, kmax]
    fa = ha - level
    fb = hb - level
    if fa == 0.0:
        return xa, 0
    if fb == 0.0:
        return xb, 0
    if (fa < 0.0) == (fb < 0.0):
        # the bracket does not straddle the level: keep the outer end (conservative)
        return (xa if side < 0 else xb), 0
    c = st[SC, kmax]
    w = 1.0 / np.sqrt(-c) if c < 0.0 else abs(xb - xa)
    # start from the Gaussian approximation of the peak
    x0 = xm + side * w * np.sqrt(2.0 * max(st[SH, kmax] - level, 0.0))
    x, jump, s = _root(sp, p, xa, fa, xb, fb, 0, level, 1e-3 * w, 0.0, x0, buf, best)
    return x, s


@njit(cache=True)
def _kink_search(sp, sv, p, xl, xr, w, qw, found):
    """Kinks of H inside [xl, xr] on a fresh uniform grid of step ~ w/4 (the trapezoidal
    rule converged algebraically but its own grid showed no kink). Confirmed kinks go to
    found; returns their number."""
    nodes, wts, out, acc, lev, err, brk, clu, kd, kc = qw
    m = int((xr - xl) / (0.25 * w)) + 1
    m = max(16, min(m, NB))
    h = (xr - xl) / (m - 1)
    for i in range(m):
        nodes[i] = xl + i * h
    sv(nodes[:m], p, out[:, :m])
    for i in range(m):
        kd[i] = out[1, i]
        kc[i] = out[2, i]
    cand = np.empty(MAX_FOUND, dtype=np.int64)
    nc = _find_kinks(xl, h, kd, kc, m, cand)
    buf = np.empty(out.shape[0])
    nf = 0
    for ci in range(nc):
        i = cand[ci]
        xk, ok = _locate_kink(sp, p, xl + i * h, kd[i], kc[i], xl + (i + 1) * h, kd[i + 1],
                              kc[i + 1], buf)
        if ok:
            found[nf] = xk
            nf += 1
    return nf


@njit(cache=True)
def _piece(sv, p, a, b, hmax, rtol, zref, allow_slow, qw, tot, terr):
    """One tanh-sinh piece added into tot, terr. Returns (status, largest H seen)."""
    nodes, wts, out, acc, lev, err, brk_, clu, kd, kc = qw
    k = out.shape[0] - 3
    s, ht = _tanh_sinh(sv, p, a, b, hmax, rtol, zref, allow_slow, qw)
    if s & (NONFINITE | SLOW):
        return s, ht
    for q in range(1 + 2 * k):
        tot[q] += acc[q]
    for q in range(1 + 2 * k, 1 + 3 * k):
        tot[q] = max(tot[q], acc[q])
    for q in range(1 + k):
        terr[q] += err[q]
    return s, ht


@njit(cache=True)
def _pieces(sp, sv, p, brk, nb, xtop, hmax, rtol, zref, is_top, qw, tot, terr):
    """Tanh-sinh over the pieces between the sorted breakpoints brk[:nb], the piece
    holding xtop first (it sets the reference scale when is_top). A piece that converges
    algebraically holds a kink: it is searched (``_kink_search``) and split once.
    Returns (status, zref)."""
    status = 0
    jtop = 0
    for j in range(nb - 1):
        if brk[j] <= xtop <= brk[j + 1]:
            jtop = j
            break
    sub = np.empty(MAX_FOUND + 2)
    for jj in range(-1, nb - 1):
        if jj == -1:
            j = jtop
        elif jj == jtop:
            continue
        else:
            j = jj
        a = brk[j]
        b = brk[j + 1]
        if not b > a:
            continue
        s, ht = _piece(sv, p, a, b, hmax, rtol, zref, True, qw, tot, terr)
        if s & SLOW:
            nf = _kink_search(sp, sv, p, a, b, (b - a) / 16.0, qw, sub[1:])
            sub[0] = a
            sub[nf + 1] = b
            _insertion_sort(sub, nf + 2)
            s = s & ~SLOW
            for i in range(nf + 1):
                if sub[i + 1] > sub[i]:
                    s2, ht2 = _piece(sv, p, sub[i], sub[i + 1], hmax, rtol, zref, False, qw,
                                     tot, terr)
                    s |= s2
                    ht = max(ht, ht2)
        status |= s
        if s & NONFINITE:
            return status, zref
        if ht > hmax + 1e-9 * (1.0 + abs(hmax)):
            status |= MISSED_PEAK
        if is_top:
            zref = tot[0]
    return status, zref


@njit(cache=True)
def _inner_core(sp, sv, p, x_hint, rtol, xs, ws, qw, res):
    """ln Z and <O_k> for one parameter vector p.

    res[0] = ln Z, res[1:1+K] = <O_k>. Returns (n_peaks, relative error estimate,
    status, x of the highest maximum)."""
    buf, best, crs, pts, stk, st, stO = ws
    nodes, wts, out, acc, lev, err, brk, clu, kd, kc = qw
    nrow = buf.shape[0]
    k = nrow - 3
    for r in range(1 + k):
        res[r] = np.nan
    T = np.log(1.0 / rtol) + T_EXTRA
    n, hscan, status = _scan(sp, p, x_hint, xs, T + SCAN_EXTRA, buf, crs, pts, stk)
    if status & (NONFINITE | UNCONFINED) or n == 0:
        return 0, np.inf, status, x_hint
    ns, s = _stationary(sp, p, pts, n, xs, hscan - T, buf, best, st, stO)
    status |= s
    if s & NONFINITE:
        return 0, np.inf, status, x_hint
    hmax = -np.inf
    xtop = x_hint
    for j in range(ns):
        if st[STYPE, j] > 0.0 and st[SH, j] > hmax:
            hmax = st[SH, j]
            xtop = st[SX, j]
    if hmax == -np.inf:
        return 0, np.inf, status | NO_MAXIMUM, x_hint
    level = hmax - T
    # pass 1: clusters (maxima joined by minima above the level) and their cutoffs
    ncl = 0
    npeaks = 0
    itop = -1
    i = 0
    while i < ns:
        if st[STYPE, i] < 0.0:
            i += 1
            continue
        first = i
        last = i
        while last + 2 < ns and st[STYPE, last + 1] < 0.0 and st[SH, last + 1] > level:
            last += 2
        i = last + 1
        top = -np.inf
        wmin = np.inf
        kinked = 0.0
        for j in range(first, last + 1):
            if st[STYPE, j] > 0.0:
                if st[SH, j] > level:
                    npeaks += 1
                top = max(top, st[SH, j])
                if st[SC, j] < 0.0 and st[SCORNER, j] == 0.0:
                    wmin = min(wmin, 1.0 / np.sqrt(-st[SC, j]))
            if st[SCORNER, j] != 0.0:
                kinked = 1.0
        if top <= level:
            continue
        xl, s1 = _cutoff(sp, p, pts, st, ns, first, -1.0, level, buf, best)
        xr, s2 = _cutoff(sp, p, pts, st, ns, last, 1.0, level, buf, best)
        status |= s1 | s2
        if (s1 | s2) & NONFINITE:
            return npeaks, np.inf, status, xtop
        for j in range(1, n):
            if pts[4, j] != 0.0:
                xk = 0.5 * (pts[0, j - 1] + pts[0, j])
                if xl < xk < xr:
                    kinked = 1.0
        clu[0, ncl] = first
        clu[1, ncl] = last
        clu[2, ncl] = xl
        clu[3, ncl] = xr
        clu[4, ncl] = kinked + 2.0 * (top == hmax)
        clu[5, ncl] = wmin
        if top == hmax and itop < 0:
            itop = ncl
        ncl += 1
    # pass 2: the top cluster first (its integral is the reference scale), then the
    # others, skipping those whose mass is certainly below 1e-3 rtol of it
    tot = np.zeros(1 + 3 * k)
    terr = np.zeros(1 + k)
    zref = 0.0
    for c in range(-1, ncl):
        if c == -1:
            cc = itop
        elif c == itop:
            continue
        else:
            cc = c
        if cc < 0:
            continue
        first = int(clu[0, cc])
        last = int(clu[1, cc])
        xl = clu[2, cc]
        xr = clu[3, cc]
        kinked = (int(clu[4, cc]) & 1) != 0
        wmin = clu[5, cc]
        if c >= 0:
            top = -np.inf
            for j in range(first, last + 1, 2):
                top = max(top, st[SH, j])
            bound = (xr - xl) * np.exp(top - hmax)
            if bound < 1e-3 * rtol * zref:
                terr[0] += bound
                continue
        if kinked:
            nb = 0
            brk[nb] = xl
            nb += 1
            for j in range(1, n):
                if pts[4, j] != 0.0:
                    xk = 0.5 * (pts[0, j - 1] + pts[0, j])
                    if xl < xk < xr:
                        if nb < CAPB - 2:
                            xk, ok = _locate_kink(sp, p, pts[0, j - 1], pts[2, j - 1],
                                                  pts[3, j - 1], pts[0, j], pts[2, j],
                                                  pts[3, j], buf)
                            brk[nb] = xk
                            nb += 1
                        else:
                            status |= CAPACITY
            for j in range(first, last + 1):
                if st[SPOL, j] != 0.0 and xl < st[SX, j] < xr:
                    if nb < CAPB - 2:
                        brk[nb] = st[SX, j]
                        nb += 1
                    else:
                        status |= CAPACITY
            brk[nb] = xr
            nb += 1
            _insertion_sort(brk, nb)
            s, zref = _pieces(sp, sv, p, brk, nb, xtop, hmax, rtol, zref, c == -1, qw, tot,
                              terr)
            status |= s
            if s & NONFINITE:
                return npeaks, np.inf, status, xtop
        else:
            wspan = (xr - xl) / (2.0 * np.sqrt(2.0 * T))
            h0 = 0.5 * min(wmin, wspan)
            s, ht, nf = _trapezoid(sp, sv, p, xl, xr, h0, hmax, rtol, zref, qw, brk[1:])
            if s & NONFINITE:
                return npeaks, np.inf, status | s, xtop
            if s & SLOW:
                # a kink the scan missed: tanh-sinh between breakpoints
                if nf == 0:
                    nf = _kink_search(sp, sv, p, xl, xr, min(wmin, wspan), qw, brk[1:])
                brk[0] = xl
                nb = nf + 1
                for j in range(first, last + 1):
                    if st[SPOL, j] != 0.0 and xl < st[SX, j] < xr and nb < CAPB - 1:
                        brk[nb] = st[SX, j]
                        nb += 1
                brk[nb] = xr
                nb += 1
                _insertion_sort(brk, nb)
                s, zref = _pieces(sp, sv, p, brk, nb, xtop, hmax, rtol, zref, c == -1, qw,
                                  tot, terr)
                status |= s
                if s & NONFINITE:
                    return npeaks, np.inf, status, xtop
            else:
                status |= s
                if ht > hmax + 1e-9 * (1.0 + abs(hmax)):
                    status |= MISSED_PEAK
                for q in range(1 + 2 * k):
                    tot[q] += acc[q]
                for q in range(1 + 2 * k, 1 + 3 * k):
                    tot[q] = max(tot[q], acc[q])
                for q in range(1 + k):
                    terr[q] += err[q]
        if c == -1:
            zref = tot[0]
    if not tot[0] > 0.0:
        return npeaks, np.inf, status | NO_MAXIMUM, xtop
    res[0] = hmax + np.log(tot[0])
    e = terr[0] / tot[0]
    for r in range(k):
        res[1 + r] = tot[1 + r] / tot[0]
        scale = max(tot[1 + k + r], 1e-3 * tot[0] * tot[1 + 2 * k + r])
        if scale > 0.0:
            e = max(e, terr[1 + r] / scale)
    e = max(e, 2.0 * EPS)        # the sums themselves are no better than rounding
    if e > rtol:
        status |= NOT_CONVERGED
    return npeaks, e, status, xtop



# ------------------------------------------------------------------------------------
# compiled entry points (built on first use; one compilation serves every kernel)
# ------------------------------------------------------------------------------------

def _inner_entry(sp, sv, p, x_hint, rtol, xs, nrow):
    ws = workspace(nrow)
    qw = quad_workspace(nrow)
    res = np.empty(nrow - 2)
    npk, e, s, xt = _inner_core(sp, sv, p, x_hint, rtol, xs, ws, qw, res)
    return res, npk, e, s, xt


def _field_chunk(sp, sv, p, nf, fields, rtol, xs, x_hint, i0, i1, nrow, lnz, avg, err,
                 npk, stat, xtop):
    """Nodes i0..i1-1 in order, each scan starting at the previous node's maximiser."""
    k = nrow - 3
    q = p.copy()
    ws = workspace(nrow)
    qw = quad_workspace(nrow)
    res = np.empty(nrow - 2)
    hint = x_hint
    for i in range(i0, i1):
        for a in range(nf):
            q[a] = fields[i, a]
        n_, e, s, xt = _inner_core(sp, sv, q, hint, rtol, xs, ws, qw, res)
        lnz[i] = res[0]
        for r in range(k):
            avg[i, r] = res[1 + r]
        err[i] = e
        npk[i] = n_
        stat[i] = s
        xtop[i] = xt
        if (s & (NONFINITE | UNCONFINED | NO_MAXIMUM)) == 0:
            hint = xt


_A1 = types.float64[::1]
_A2 = types.float64[:, ::1]
_I1 = types.int64[::1]


@functools.lru_cache(maxsize=None)
def _compiled(name):
    if name == "inner":
        sig = types.Tuple((_A1, types.int64, types.float64, types.int64, types.float64))(
            SitePoint, Site, _A1, types.float64, types.float64, types.float64, types.int64)
        return njit(sig, cache=True)(_inner_entry)
    if name == "field":
        sig = types.void(SitePoint, Site, _A1, types.int64, _A2, types.float64,
                         types.float64, types.float64, types.int64, types.int64, types.int64,
                         _A1, _A2, _A1, _I1, _I1, _A1)
        return njit(sig, cache=True, nogil=True)(_field_chunk)
    raise KeyError(name)


def _check_rtol(rtol):
    if not 1e-15 <= rtol < 1.0:
        raise ValueError(f"rtol must lie in [1e-15, 1) (double precision), got {rtol}")


def _check_p(p, n_fields=0):
    pp = np.array(p, dtype=np.float64, copy=True).ravel()
    if pp.shape[0] < n_fields:
        raise ValueError(f"p has {pp.shape[0]} entries, fewer than n_fields = {n_fields}")
    return pp


# ------------------------------------------------------------------------------------
# public API
# ------------------------------------------------------------------------------------

def inner_average(site_point, site, p, x_hint=0.0, rtol=1e-13, *, x_scale=1.0,
                  n_obs=None):
    """ln int exp(H(x)) dx and <O_k> = int O_k exp(H) dx / Z for one parameter vector.

    Parameters
    ----------
    site_point, site : the kernel pair (see ``numerics.maximiser``): rows H, H_x, H_xx,
        O_1..O_K.
    p : parameter vector, passed to the kernels unchanged.
    x_hint : centre of the initial scan (e.g. the maximiser at a neighbouring point).
    rtol : target relative accuracy of Z (hence absolute accuracy of ln Z) and of each
        <O_k> relative to <|O_k|>; at least 1e-15. The error estimate returned is never
        below 2 eps (4.4e-16), the rounding of the sums.
    x_scale : length on which phi varies (sets the scan grid); default 1.
    n_obs : number K of observables; inferred from the kernel when None.

    Returns
    -------
    (logZ, avgs, n_peaks, err_est, status): logZ exact (no normalisation dropped);
    avgs of shape (K,); n_peaks the number of maxima above max H - ln(1/rtol) - 12;
    err_est the relative error estimate; status 0 or a bit set (``describe_status``).
    On failure logZ and avgs are NaN and status says why.
    """
    pp = _check_p(p)
    nrow = kernel_rows(site_point, pp, n_obs)
    _check_rtol(rtol)
    res, npk, e, s, _ = _compiled("inner")(site_point, site, pp, float(x_hint), float(rtol),
                                           float(x_scale), nrow)
    return float(res[0]), res[1:].copy(), int(npk), float(e), int(s)


@dataclass(frozen=True)
class NodeAverages:
    """Inner integrals at given field nodes: lnZ[i], avg[i, k] = <O_{k+1}> at node i,
    err[i] (relative error estimate), n_peaks[i], status[i] (bit set), x_top[i] (the
    global maximiser)."""

    lnZ: np.ndarray
    avg: np.ndarray
    err: np.ndarray
    n_peaks: np.ndarray
    status: np.ndarray
    x_top: np.ndarray


def node_averages(site_point, site, p, fields, *, rtol=1e-13, x_scale=1.0, x_hint=0.0,
                  n_obs=None, threads=None) -> NodeAverages:
    """ln Z and <O_k> at each row of ``fields`` (shape (m, d)), written to p[0:d].

    The per-node layer under ``field_average``, for averages that are not linear in the
    inner averages (e.g. products of connected moments, ``numerics.replicon``). Extra
    per-node parameters can ride along as additional columns of ``fields`` when the
    kernel declares them right after its fields.
    """
    fields = np.ascontiguousarray(np.atleast_2d(np.asarray(fields, dtype=np.float64)))
    n_fields = fields.shape[1]
    pp = _check_p(p, n_fields)
    _check_rtol(rtol)
    nrow = kernel_rows(site_point, pp, n_obs)
    m, k = fields.shape[0], nrow - 3
    lnz = np.empty(m)
    avg = np.empty((m, k))
    err = np.empty(m)
    npk = np.empty(m, dtype=np.int64)
    stat = np.empty(m, dtype=np.int64)
    xtop = np.empty(m)
    if m:
        run_chunks(_compiled("field"), m, site_point, site, pp, int(n_fields), fields,
                   float(rtol), float(x_scale), float(x_hint), nrow=nrow,
                   outputs=(lnz, avg, err, npk, stat, xtop), threads=threads)
    return NodeAverages(lnz, avg, err, npk, stat, xtop)


@dataclass(frozen=True)
class FieldAverage:
    """Gaussian averages over the fields of the inner (site) averages.

    E_lnZ = E[ln Z], E_avg[k] = E[<O_{k+1}>], E_pair[m] = E[<O_i><O_j>] for
    (i, j) = pairs[m] (0-based indices into the observables). inner_err is the largest
    relative error estimate of any inner integral, inner_err_mean their Gauss-Hermite
    weighted mean (what reaches the averages: NOT_CONVERGED is set when it exceeds
    rtol; failures of any other kind at any node are always in status). n_multi is the
    number of field nodes with more than one significant maximum of H. gh_err* are
    filled by ``refine_error``: the change from n_gh to ~1.5 n_gh nodes per direction.
    """

    E_lnZ: float
    E_avg: np.ndarray
    E_pair: np.ndarray
    pairs: tuple
    inner_err: float
    inner_err_mean: float
    n_nodes: int
    rank: int
    n_gh: int
    n_multi: int
    status: int
    message: str
    gh_err: float | None = None
    gh_err_lnZ: float | None = None
    gh_err_avg: np.ndarray | None = field(default=None, repr=False)
    gh_err_pair: np.ndarray | None = field(default=None, repr=False)

    @property
    def success(self) -> bool:
        return self.status == 0


def _node_status_message(stat, w):
    bad = np.nonzero(stat)[0]
    if bad.size == 0:
        return "ok"
    agg = int(np.bitwise_or.reduce(stat))
    parts = []
    for bit in (1, 2, 4, 8, 16, 32, 64):
        if agg & bit:
            sel = (stat & bit) != 0
            parts.append(f"{describe_status(bit)} at {int(sel.sum())} of {stat.size} nodes "
                         f"(weight {w[sel].sum():.3g})")
    return "; ".join(parts)


def field_arguments(site_point, p, n_fields, mean, L, pairs, n_obs):
    """Checked arguments of the field averages: (p, rows of the kernel, pairs, mean, L),
    shared by ``field_average`` and ``maximiser.field_max_average``."""
    pp = _check_p(p, n_fields)
    nrow = kernel_rows(site_point, pp, n_obs)
    pairs = _pairs(pairs, nrow - 3)
    mean = np.atleast_1d(np.asarray(mean, dtype=np.float64))
    if mean.shape != (n_fields,):
        raise ValueError(f"mean must have shape ({n_fields},), got {mean.shape}")
    L = np.asarray(L, dtype=np.float64).reshape(n_fields, n_fields)
    return pp, nrow, pairs, mean, L


def _pairs(pairs, k):
    pairs = tuple((int(i), int(j)) for i, j in pairs)
    for i, j in pairs:
        if not (0 <= i < k and 0 <= j < k):
            raise ValueError(f"pair ({i}, {j}) out of range for {k} observables")
    return pairs


def field_average(site_point, site, p, n_fields, mean, L, n_gh, pairs=(), *, rtol=1e-13,
                  x_scale=1.0, x_hint=0.0, n_obs=None, prune=1e-16,
                  threads=None) -> FieldAverage:
    """E over fields = mean + L z (z ~ N(0, I)) of ln Z, <O_k> and <O_i><O_j>.

    The fields go to p[0:n_fields] at every node of the product Gauss-Hermite rule with
    n_gh nodes per independent direction of L (``gauss.field_nodes``: a zero or
    rank-deficient L collapses to fewer directions). Nodes run in contiguous chunks on
    ``threads`` threads (default: numba's thread count, NUMBA_NUM_THREADS); within a chunk
    each node starts its scan at the previous node's maximiser.
    """
    _check_rtol(rtol)
    pp, nrow, pairs, mean, L = field_arguments(site_point, p, n_fields, mean, L, pairs, n_obs)
    fields, w, rank = field_nodes(mean, L, n_gh, prune)
    m = fields.shape[0]
    nodes = node_averages(site_point, site, pp, fields, rtol=rtol, x_scale=x_scale,
                          x_hint=x_hint, n_obs=nrow - 3, threads=threads)
    lnz, avg, err, npk, stat = nodes.lnZ, nodes.avg, nodes.err, nodes.n_peaks, nodes.status
    E_pair = np.array([np.dot(w, avg[:, i] * avg[:, j]) for i, j in pairs])
    # the inner error that reaches the averages is the weighted one: a few nodes of
    # small weight slightly above rtol do not spoil E[...]; structural failures do
    werr = float(np.dot(w, err)) if np.all(np.isfinite(err)) else math.inf
    status = int(np.bitwise_or.reduce(stat & ~NOT_CONVERGED)) if m else 0
    if not werr <= rtol:
        status |= NOT_CONVERGED
    message = _node_status_message(stat & ~NOT_CONVERGED, w)
    over = err > rtol
    if over.any():
        note = (f"{int(over.sum())} nodes (weight {w[over].sum():.3g}) above rtol = {rtol:g}, "
                f"largest inner error {err.max():.3g}, weighted {werr:.3g}")
        message = note if message == "ok" else f"{message}; {note}"
        if not status & NOT_CONVERGED:
            message = "ok; " + message
    return FieldAverage(
        E_lnZ=float(np.dot(w, lnz)), E_avg=w @ avg, E_pair=E_pair, pairs=pairs,
        inner_err=float(err.max()), inner_err_mean=werr, n_nodes=m, rank=rank,
        n_gh=int(n_gh), n_multi=int(np.sum(npk > 1)), status=status, message=message)


def refine_error(site_point, site, p, n_fields, mean, L, n_gh, pairs=(), **kwargs):
    """``field_average`` with n_gh and ceil(1.5 n_gh) nodes per direction.

    Returns the finer result with gh_err_lnZ, gh_err_avg, gh_err_pair set to the absolute
    changes, and gh_err to the largest of them: the quadrature error estimate of the
    coarser rule (an overestimate for the finer one).
    """
    coarse = field_average(site_point, site, p, n_fields, mean, L, n_gh, pairs, **kwargs)
    n_fine = int(np.ceil(1.5 * n_gh))
    fine = field_average(site_point, site, p, n_fields, mean, L, n_fine, pairs, **kwargs)
    d_lnz = abs(fine.E_lnZ - coarse.E_lnZ)
    d_avg = np.abs(fine.E_avg - coarse.E_avg)
    d_pair = np.abs(fine.E_pair - coarse.E_pair)
    worst = max([d_lnz, *d_avg.tolist(), *d_pair.tolist()])
    status = fine.status | coarse.status
    message = fine.message if status == fine.status else (
        f"fine: {fine.message}; coarse: {coarse.message}")
    return replace(fine, gh_err=float(worst), gh_err_lnZ=float(d_lnz), gh_err_avg=d_avg,
                   gh_err_pair=d_pair, status=status, message=message)
