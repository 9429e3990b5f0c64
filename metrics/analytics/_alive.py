"""Expected purchases of a live BG/NBD customer, without the Gaussian hypergeometric function.

A customer alive at T with x repeat purchases has, a posteriori, a purchase rate lambda ~
Gamma(r + x, alpha + T) and a dropout probability p ~ Beta(a, b + x) (FHL 2005). While alive they
buy at rate lambda and drop out after each purchase with probability p, so in the next t they make
(1 - exp(-lambda p t)) / p purchases on average. Taking the expectation over lambda gives

    H = E_p[(1 - (1 + p s)^-k) / p],   k = r + x,   s = t / (alpha + T),   p ~ Beta(a, b + x),

which FHL write as (a+b+x-1)/(a-1) [1 - 2F1(k, a-1; a+b+x-1; -s)] (eq. 10 after Pfaff). scipy's 2F1
returns NaN or wrong numbers on much of the space a fit can return (a near 0, the no-dropout limit;
s above 1, which is any customer younger than the horizon; a near 1, where (a-1) divides 0 by 0), so
H is computed here as the integral over p that it is:

- the integral is split at Beta quantiles, so that wherever the mass of Beta(a, b + x) sits (a spike
  at 0 when a is tiny, at 1 when b + x is, a narrow peak when both are large) a piece is fitted to
  it, and each piece is integrated by the tanh-sinh rule, which clusters its nodes at the ends;
- where the density is singular at 0 (a < 1) the integrand is taken relative to its value at 0,
  f(p) - f(0) = -p s^2 Q(ps), and f(0) = ks is added with its exact weight, so no mass hides in the
  singularity; the same at 1 when b + x < 1. Q is evaluated as a sum of positive terms.

f is monotone, so H lies between f(1) and f(0) = ks; as a -> 0 it tends to ks (no dropout).

A recompute needs H for every customer at thirteen horizons, and a quadrature per customer would
cost seconds. H depends on the customer through x and s only, and is smooth in log s: for each x it
is evaluated at 17 Chebyshev points of each fixed interval of log s of length PIECE and
interpolated from them, after checking that the 9 of those points that form a coarser Chebyshev
grid already predict the other 8 to CHECK_TOLERANCE (the 17-point interpolant is then accurate to
about the square of that); a piece that fails the check is integrated customer by customer. The
pieces are fixed, not fitted to the data, so a customer's figure does not depend on who else is
computed with them (a refresh of one customer gives the recompute's figure to the last bit).
"""

from __future__ import annotations

import numpy as np
from scipy.special import betainc, betaincinv, betaln, expit

# The tanh-sinh rule on [0, 1]: nodes expit(pi sinh(t)) for t in [-T_MAX, T_MAX] every STEP. On
# the pieces below, 1/10 and 3.0 (61 nodes a piece) agree with an adaptive quadrature in log p to
# 1.3e-10 over 450 draws from a in [1e-10, 1e5], b in [1e-3, 1e7], x up to 5,000, s from 5e-4 to
# 7,000 (the box of the property tests); the trapezoid rule on this transform converges
# exponentially: 1/12 gave 3e-11, 1/8 gave 7e-10.
STEP = 1 / 10
T_MAX = 3.0
_t = np.arange(-T_MAX, T_MAX + STEP / 2, STEP)
_FROM_START = expit(np.pi * np.sinh(_t))  # position in a piece, from its start, exact near 0
_FROM_END = expit(-np.pi * np.sinh(_t))  # distance to its end, exact near 0
_WEIGHT = STEP * np.pi * np.cosh(_t) * _FROM_START * _FROM_END

# Beta quantiles where the integral is split: the tails beyond 1e-6 hold a millionth of the mass,
# so a coarse integration of them costs nothing visible; 0.02 and 0.98 bound the shoulders of a
# narrow peak. Quantiles under SMALLEST (a tiny a puts half the mass below 1e-300) are taken as
# SMALLEST: below it f equals f(0) to double precision, and the subtraction accounts for it exactly.
QUANTILES = np.array([1e-6, 0.02, 0.5, 0.98, 1 - 1e-6])
SMALLEST = 1e-200
LARGEST = 1 - 2.0**-52

# Below this argument Q's two parts are summed from their series (6 terms are exact to double
# precision); above it their closed forms lose at most 2/SERIES_BELOW ulps (4e-13) to cancellation.
SERIES_BELOW = 1e-3

# Interpolation in log s: intervals of this length, 17 Chebyshev points each. H(s)/s is analytic in
# log s within a distance pi of the real line (its singularities are at s = -1/p), so on an interval
# of length 2 the 17-point interpolant converges like 6.4^-17 (1e-14) and the 9-point one like 6.4^-9.
PIECE = 2.0
POINTS = 17
CHECK_TOLERANCE = 1e-7

# Rows of the quadrature per block: rows x 6 pieces x 61 nodes x 8 bytes stays near 12 MB per array.
BLOCK_ROWS = 4096

_CHEB = np.cos(np.pi * np.arange(POINTS) / (POINTS - 1))  # from 1 down to -1
_BARY = np.where(np.arange(POINTS) % 2 == 0, 1.0, -1.0)
_BARY[[0, -1]] *= 0.5
_COARSE = np.arange(0, POINTS, 2)
_BARY_COARSE = np.where(np.arange(len(_COARSE)) % 2 == 0, 1.0, -1.0)
_BARY_COARSE[[0, -1]] *= 0.5

# Node values of the pieces already computed in this process, by (r, a, b, x, piece) (alpha is in s):
# a refresh of one customer reuses the recompute's; recomputed, they would be the same to the bit.
_PIECES: dict[tuple, tuple[np.ndarray, bool]] = {}
_PIECES_LIMIT = 50_000


def purchases_if_alive(*, r: float, a: float, b: float, x, s) -> np.ndarray:
    """H for arrays x (repeat purchases) and s (horizon / (alpha + T)), broadcast together; 0 where s is 0."""
    x, s = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(s, dtype=float))
    shape = x.shape
    x, s = x.ravel(), s.ravel()
    out = np.zeros(x.shape)
    positive = s > 0
    if positive.any():
        out[positive] = _interpolated(r, a, b, x[positive], s[positive])
    return out.reshape(shape)


def _interpolated(r: float, a: float, b: float, x: np.ndarray, s: np.ndarray) -> np.ndarray:
    log_s = np.log(s)
    piece = np.floor(log_s / PIECE)
    key_x, key_piece, inverse = _distinct_pieces(x, piece)
    values, trusted = _piece_values(r, a, b, key_x, key_piece)
    # Barycentric formula of the second kind on the piece's Chebyshev points, in log s.
    position = 2 * (log_s / PIECE - piece) - 1
    own = values[inverse]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = _BARY / (position[:, None] - _CHEB)
        phi = (ratio * own).sum(axis=1) / ratio.sum(axis=1)
    hit = ~np.isfinite(phi)  # on a Chebyshev point itself
    if hit.any():
        phi[hit] = own[hit, np.argmin(np.abs(position[hit, None] - _CHEB), axis=1)]
    out = s * np.exp(phi)
    direct = ~trusted[inverse]
    if direct.any():
        out[direct] = integrated(a, b + x[direct], r + x[direct], s[direct])
    return out


def _distinct_pieces(x: np.ndarray, piece: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct (x, piece) pairs and each element's position among them, without sorting the
    elements when x are counts (a lookup table of count x piece)."""
    lowest = piece.min()
    span = int(piece.max() - lowest) + 1
    piece_code = (piece - lowest).astype("int64")
    whole = x.min() >= 0 and x.max() < 1_000_000 and np.array_equal(x, np.floor(x))
    if whole:
        x_values, x_code = np.arange(int(x.max()) + 1, dtype=float), x.astype("int64")
    else:
        x_values, x_code = np.unique(x, return_inverse=True)
    key = x_code.reshape(-1) * span + piece_code
    present = np.zeros(len(x_values) * span, dtype=bool)
    present[key] = True
    keys = np.flatnonzero(present)
    inverse = (np.cumsum(present) - 1)[key]
    return x_values[keys // span], (keys % span) + lowest, inverse


def _piece_values(r: float, a: float, b: float, x: np.ndarray, piece: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """log(H/s) at the Chebyshev points of each (x, piece), and whether the coarse grid predicts them."""
    values = np.empty((len(x), POINTS))
    trusted = np.empty(len(x), dtype=bool)
    missing = []
    for i, key in enumerate(zip(x.tolist(), piece.tolist(), strict=True)):
        cached = _PIECES.get((r, a, b, *key))
        if cached is None:
            missing.append(i)
        else:
            values[i], trusted[i] = cached
    if missing:
        rows = np.asarray(missing)
        log_s = (piece[rows, None] + (1 + _CHEB[None, :]) / 2) * PIECE
        x_rows = np.repeat(x[rows], POINTS)
        computed = np.log(integrated(a, b + x_rows, r + x_rows, np.exp(log_s.ravel()))).reshape(log_s.shape) - log_s
        values[rows] = computed
        trusted[rows] = _coarse_error(computed) <= CHECK_TOLERANCE
        if len(_PIECES) + len(rows) > _PIECES_LIMIT:
            _PIECES.clear()
        for i in missing:
            _PIECES[(r, a, b, float(x[i]), float(piece[i]))] = (values[i].copy(), bool(trusted[i]))
    return values, trusted


def _coarse_error(values: np.ndarray) -> np.ndarray:
    """Largest difference between the 9-point interpolant (even points) and the values at the odd points."""
    odd = _CHEB[1::2]
    ratio = _BARY_COARSE[None, :] / (odd[:, None] - _CHEB[_COARSE][None, :])
    predicted = (values[:, _COARSE] @ ratio.T) / ratio.sum(axis=1)[None, :]
    error = np.abs(predicted - values[:, 1::2]).max(axis=1)
    return np.where(np.isfinite(error), error, np.inf)


# --- The quadrature -------------------------------------------------------------------------------


def integrated(a: float, beta, k, s) -> np.ndarray:
    """H = E[(1 - (1 + p s)^-k) / p] for p ~ Beta(a, beta), by quadrature; arrays beta, k, s (s > 0)."""
    beta, k, s = (np.asarray(v, dtype=float).ravel() for v in np.broadcast_arrays(beta, k, s))
    out = np.empty(beta.shape)
    for start in range(0, len(beta), BLOCK_ROWS):
        block = slice(start, start + BLOCK_ROWS)
        out[block] = _integrated_block(float(a), beta[block], k[block], s[block])
    return out


def _integrated_block(a: float, beta: np.ndarray, k: np.ndarray, s: np.ndarray) -> np.ndarray:
    # The nodes and the weighted density depend on beta alone: once per distinct beta (per x).
    betas, which = np.unique(beta, return_inverse=True)
    p_all, q_all, weighted_all = _nodes(a, betas)
    k, s = k[:, None, None], s[:, None, None]
    total = np.zeros(len(beta))
    # Which end the integrand is taken relative to, on the pieces below the middle cut and above it:
    # the one where the density is singular (a < 1: 0; b + x < 1: 1), or none.
    for singular_at_one in (False, True):
        rows = np.flatnonzero((beta < 1) == singular_at_one)
        if rows.size == 0:
            continue
        below = "start" if a < 1 else ("end" if singular_at_one else "")
        above = "end" if singular_at_one else below
        parts = ((below, slice(0, 3)), (above, slice(3, 6))) if below != above else ((below, slice(0, 6)),)
        for kind, pieces in parts:
            nodes = (p_all[which[rows], pieces], q_all[which[rows], pieces], weighted_all[which[rows], pieces])
            total[rows] += _pieces_integral(kind, *nodes, k[rows], s[rows])
    if a >= 1:
        # With a and b + x large, the log-density is a difference of terms of order a log p, and
        # betaln carries their rounding (1e-8 relative at a = 1e9): dividing by the integral of the
        # density on the same nodes cancels it. Where an end is singular the integrands are taken
        # relative to an end value instead, whose weight is exact.
        plain = beta >= 1
        total[plain] /= _row_sums(weighted_all)[which[plain]]
    # The values at the ends that the integrands were taken relative to, with their exact weights.
    f0 = (k * s)[:, 0, 0]
    f1 = -np.expm1(-k * np.log1p(s))[:, 0, 0]
    start_weight = np.where(beta < 1, betainc(a, beta, 0.5), 1.0) if a < 1 else 0.0
    end_weight = np.where(beta < 1, betainc(beta, a, 0.5) if a < 1 else 1.0, 0.0)
    return total + f0 * start_weight + f1 * end_weight


def _nodes(a: float, betas: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per beta, piece and node of the tanh-sinh rule: p, 1 - p (exact near 1) and the Beta density
    times the node's weight; arrays of shape (betas, 6, nodes)."""
    edges = _edges(a, betas)
    lo, hi = edges[:, :-1, None], edges[:, 1:, None]
    width = hi - lo
    p = lo + width * _FROM_START
    q = (1 - hi) + width * _FROM_END
    log_density = (a - 1) * np.log(p) + (betas[:, None, None] - 1) * np.log(q) - betaln(a, betas)[:, None, None]
    return p, q, np.exp(log_density) * (width * _WEIGHT)


def _edges(a: float, betas: np.ndarray) -> np.ndarray:
    """Per beta, the ends of the six pieces: 0, the quantiles (the middle one at 1/2 when the density
    is singular at both ends, so that each half keeps its end), 1."""
    cuts = np.clip(betaincinv(a, betas[:, None], QUANTILES[None, :]), SMALLEST, LARGEST)
    cuts = np.maximum.accumulate(np.where(np.isfinite(cuts), cuts, 0.5), axis=1)
    middle = np.where((a < 1) & (betas < 1), 0.5, cuts[:, 2])[:, None]
    cuts = np.concatenate([np.minimum(cuts[:, :2], middle), middle, np.maximum(cuts[:, 3:], middle)], axis=1)
    return np.concatenate([np.zeros((len(betas), 1)), cuts, np.ones((len(betas), 1))], axis=1)


def _pieces_integral(kind: str, p, q, weighted, k, s) -> np.ndarray:
    """Sum over pieces and nodes of the weighted density times f(p) (""), f(p) - f(0) ("start") or
    f(p) - f(1) ("end"); p, q, weighted of shape (rows, pieces, nodes), k and s (rows, 1, 1)."""
    y = p * s
    log1p_y = np.log1p(y)
    if kind == "start":
        # f(p) - f(0) = -p s^2 Q(ps): the density times p stays finite at 0 however small a is.
        values = -(weighted * p) * (s * s) * _q(y, log1p_y, k)
    elif kind == "end":
        values = weighted * _minus_f1(p, q, k, s, log1p_y)
    else:
        values = weighted * (-np.expm1(-k * log1p_y) / p)
    return _row_sums(values)


def _row_sums(values: np.ndarray) -> np.ndarray:
    """Each row's sum over its other axes, added in the same order whatever the number of rows, so
    that a customer's figure does not depend on who else is computed with them (a reduction over
    several axes, or a matrix product, may add in another order for one row than for many)."""
    return np.ascontiguousarray(values).reshape(len(values), -1).sum(axis=1)


def _q(y: np.ndarray, log1p_y: np.ndarray, k: np.ndarray) -> np.ndarray:
    """(k y - 1 + (1 + y)^-k) / y^2 = k (y - log1p y)/y^2 + (k log1p(y)/y)^2 (e^-z - 1 + z)/z^2, z = k log1p y:
    two positive parts, each from its series for small arguments."""
    z = k * log1p_y
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        first = np.where(y < SERIES_BELOW, _horner(y, _LOG_SERIES), (y - log1p_y) / (y * y))
        second = np.where(z < SERIES_BELOW, _horner(z, _EXP_SERIES), (np.expm1(-z) + z) / (z * z))
        ratio = np.where(y > 0, log1p_y / y, 1.0)
    return k * first + (k * ratio) ** 2 * second


# (u - log1p u)/u^2 = sum 1/(n+2) (-u)^n and (e^-u - 1 + u)/u^2 = sum 1/(n+2)! (-u)^n: 6 terms are
# exact to double precision below SERIES_BELOW.
_LOG_SERIES = tuple(1.0 / (n + 2) for n in range(6))
_EXP_SERIES = tuple(1.0 / float(np.prod(np.arange(1.0, n + 3))) for n in range(6))


def _horner(u: np.ndarray, coefficients: tuple[float, ...]) -> np.ndarray:
    minus_u = -np.minimum(u, SERIES_BELOW)
    total = np.full_like(u, coefficients[-1])
    for coefficient in coefficients[-2::-1]:
        total *= minus_u
        total += coefficient
    return total


def _minus_f1(p, q, k, s, log1p_y) -> np.ndarray:
    """(f(p) - f(1)) times (1 - p)^0, accurate near p = 1 (where it is (1 - p) D1 with D1 below)."""
    log_a1 = -k * np.log1p(s)
    a1 = np.exp(log_a1)
    f = -np.expm1(-k * log1p_y) / p
    f1 = -np.expm1(log_a1)
    # Near 1: (1+ps)^-k - (1+s)^-k = A1 expm1(-k log1p(-q s/(1+s))), and
    # f(p) - f(1) = q [(1 - A1) - (A_p - A1)/q] / p.
    near_q = np.minimum(q, 0.5)
    z = -k * np.log1p(-near_q * s / (1 + s))
    with np.errstate(over="ignore", invalid="ignore"):
        excess = np.where(z < 1, a1 * np.expm1(np.minimum(z, 1.0)), np.exp(-k * log1p_y) - a1)
        near = q * ((1 - a1) - excess / near_q) / p
    return np.where(q <= 0.5, near, f - f1)
