"""Portable numbers: random draws and elementary functions that give the same bits on every machine.

**Why.** ``torch.randn`` in float64 is Box–Muller through the C library's ``log``, ``cos`` and ``sin``;
in float32 it uses vectorised approximations chosen by the CPU's instruction set; numpy's legacy
``randn`` is the polar method through the C library's ``log``. None of these functions is correctly
rounded, so their last bits depend on the C library's version and on the code path it picks for the
CPU. A chaotic simulation (:mod:`symlib.data.nbody`) turns one last-bit difference into a different
trajectory, and a dataset that differs by one bit cannot be pinned by a digest.

**How.** Every draw here starts from exact uniform bits — ``torch.rand`` in float64 returns
``k · 2⁻⁵³`` from the Mersenne Twister, the same integers on every machine — and is transformed only
by correctly rounded IEEE-754 operations (``+ − × ÷ √``, comparisons, exact ``frexp``), each its own
elementwise kernel, in a fixed order: no reduction, matrix product, fused multiply–add or library
transcendental function. The transcendental functions the samplers need are written here from those
operations:

* :func:`log` — ``x = m · 2ᵉ`` by ``frexp``, then ``log(1 + f) = 2 atanh(f / (2 + f))`` as a fixed
  polynomial (a few units in the last place from the true value; the same bits everywhere);
* :func:`sincos` — reduction by ``π/2`` in three exact parts (Cody–Waite), then fixed Taylor
  polynomials on ``[−π/4, π/4]``;
* :func:`randn` — standard normals by Marsaglia's polar method on those uniforms and :func:`log`;
* :func:`rotations` — Haar-random rotations from unit quaternions of four normals (no QR, no LAPACK),
  and :func:`rotations_from_uniform`, the same distribution from three uniforms (traceable: no
  rejection loop), both through :func:`quaternion_matrix`;
* :func:`rotate` and :func:`norm3` — ``x Rᵀ`` and ``‖x‖`` over 3-vectors as written-out products.

numpy's legacy stream (``RandomState.randn``, which published datasets were drawn from) can only be
replayed through *some* ``log``: :func:`legacy_randn` replays it with a correctly rounded one
(``decimal``), so the replay is the same on every machine, and equal to numpy's own draws wherever the
C library's ``log`` is correctly rounded; :func:`correctly_rounded` gives ``log`` and ``exp`` of
single numbers that way.

Every dataset built from these is pinned by a SHA-256 digest in :mod:`symlib.data.digests`, checked by
the tests on every machine that runs them.
"""

from __future__ import annotations

import math
from decimal import Decimal, localcontext

import numpy as np
import torch
from torch import Tensor

__all__ = ["correctly_rounded", "legacy_randn", "legacy_skip", "log", "norm3", "quaternion_matrix", "randn",
           "rotate", "rotations", "rotations_from_uniform", "sincos"]

F64 = torch.float64
# log(2) in two parts: LN2_HI has 32 significant bits, so e·LN2_HI is exact for |e| < 2²⁰.
LN2_HI = 6.93147180369123816490e-01
LN2_LO = 1.90821492927058770002e-10
# 2·atanh(z) = 2z (1 + z²/3 + z⁴/5 + …); |z| ≤ 0.1716, so z²¹ / 21 is below 2⁻⁵³ of the sum.
_ATANH = tuple(1.0 / (2 * k + 1) for k in range(11))
SQRT_HALF = 0.70710678118654752440
# π/2 in three parts of 33 bits each (fdlibm's pio2_1, pio2_2, pio2_3): k·part is exact for |k| < 2²⁰.
PIO2 = (1.57079632673412561417e+00, 6.07710050630396597660e-11, 2.02226624871116645580e-21)
PIO2_TAIL = 8.47842766036889956997e-32
INV_PIO2 = 6.36619772367581382433e-01
MAX_ANGLE = 2.0 ** 19
TWO_PI = 2.0 * math.pi                     # exact: doubling a double
# Taylor coefficients ±1/n! on |r| ≤ π/4: the first omitted term is below 2⁻⁵⁶ of the result.
_SIN = tuple((-1.0) ** k / math.factorial(2 * k + 1) for k in range(10))
_COS = tuple((-1.0) ** k / math.factorial(2 * k) for k in range(11))


def _check_f64(name: str, x: Tensor) -> None:
    if not isinstance(x, Tensor) or x.dtype != F64:
        got = x.dtype if isinstance(x, Tensor) else type(x).__name__
        raise TypeError(f"{name} works in float64 (its constants are float64), got {got}")


def _horner(w: Tensor, coefficients: tuple[float, ...]) -> Tensor:
    """``c₀ + w (c₁ + w (c₂ + …))``, evaluated innermost first: one rounding per operation."""
    p = torch.full_like(w, coefficients[-1])
    for c in reversed(coefficients[:-1]):
        p = p * w
        p = p + c
    return p


def log(x: Tensor) -> Tensor:
    """Natural logarithm of positive, finite ``x`` (float64, any shape), the same bits on every machine.

    ``x = m · 2ᵉ`` exactly (``frexp``), ``m`` moved into ``[√½, √2)``; with ``f = m − 1`` (exact) and
    ``z = f / (2 + f)``, ``log x = e·log 2 + 2z (1 + z²/3 + … + z²⁰/21)``. Accurate to a few units in
    the last place (tested against the C library on a million values).
    """
    _check_f64("log", x)
    if not bool(((x > 0) & torch.isfinite(x)).all()):
        raise ValueError("log needs positive, finite inputs")
    m, e = torch.frexp(x)
    low = m < SQRT_HALF
    m = torch.where(low, m * 2.0, m)
    e = (e - low.to(e.dtype)).to(F64)
    f = m - 1.0
    z = f / (f + 2.0)
    series = _horner(z * z, _ATANH)
    log1p = (z * 2.0) * series
    return e * LN2_HI + (log1p + e * LN2_LO)


def sincos(x: Tensor) -> tuple[Tensor, Tensor]:
    """``(sin x, cos x)`` for float64 ``x`` with ``|x| < 2¹⁹``, the same bits on every machine.

    ``x = k·π/2 + r`` with ``k`` the nearest integer to ``x · 2/π`` and ``r`` computed in exact steps
    (``π/2`` in three 33-bit parts), ``|r| ≲ π/4``; then Taylor polynomials for ``sin r`` and ``cos r``
    and the quadrant ``k mod 4``. Accurate to a few units in the last place.
    """
    _check_f64("sincos", x)
    if not bool((x.abs() < MAX_ANGLE).all()):
        raise ValueError(f"sincos needs finite |x| < {MAX_ANGLE:g} (exact range reduction)")
    return _sincos(x)


def _sincos(x: Tensor) -> tuple[Tensor, Tensor]:
    """:func:`sincos` without its range check (a host sync): for angles known to be in range."""
    k = torch.round(x * INV_PIO2)
    r = x - k * PIO2[0]                       # exact: k·PIO2[0] is exact and r is close to it (Sterbenz)
    r = r - k * PIO2[1]
    r = r - k * PIO2[2]
    w = r * r
    s = r * _horner(w, _SIN)
    c = _horner(w, _COS)
    quadrant = torch.remainder(k.to(torch.int64), 4)
    sin = torch.where(quadrant == 0, s, torch.where(quadrant == 1, c, torch.where(quadrant == 2, -s, -c)))
    cos = torch.where(quadrant == 0, c, torch.where(quadrant == 1, -s, torch.where(quadrant == 2, -c, s)))
    return sin, cos


def _size(size: tuple) -> tuple[int, ...]:
    shape = tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list, torch.Size)) else size
    if not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in shape):
        raise ValueError(f"size must be non-negative ints, got {size!r}")
    return shape  # type: ignore[return-value]


def randn(*size: int | tuple[int, ...], generator: torch.Generator | None = None,
          dtype: torch.dtype | None = None, device: torch.device | str | None = None) -> Tensor:
    """Standard normal draws of shape ``size``, the same bits on every machine: a drop-in for
    ``torch.randn`` (``dtype=None``: torch's default dtype).

    Marsaglia's polar method: pairs ``(u, v)`` uniform on ``(−1, 1)²`` (from ``torch.rand`` in float64
    on ``generator``, a CPU generator; torch's global one if ``None``), kept when
    ``0 < s = u² + v² < 1``; each kept pair gives ``u·f`` and ``v·f`` with ``f = √(−2 log s / s)``.
    Computed in float64 on the CPU, then cast to ``dtype`` (correctly rounded) and moved to ``device``:
    a float32 draw is the float64 draw rounded, not a draw of its own.
    The draws fill the output in row-major order.
    """
    shape = _size(size)
    dtype = torch.get_default_dtype() if dtype is None else dtype
    if not dtype.is_floating_point:
        raise TypeError(f"randn draws floating-point numbers, got dtype {dtype}")
    count = math.prod(shape)
    pairs, kept = (count + 1) // 2, []
    while pairs > 0:
        batch = pairs + pairs // 4 + 16                         # 21.5% are rejected on average
        uv = torch.rand(batch, 2, generator=generator, dtype=F64) * 2.0 - 1.0  # exact
        u, v = uv[:, 0], uv[:, 1]
        s = u * u + v * v
        ok = (s < 1.0) & (s > 0.0)
        u, v, s = u[ok][:pairs], v[ok][:pairs], s[ok][:pairs]
        if len(s):
            f = torch.sqrt((log(s) * -2.0) / s)
            kept.append(torch.stack([u * f, v * f], dim=1).flatten())
        pairs -= len(s)
    values = torch.cat(kept) if kept else torch.zeros(0, dtype=F64)
    return values[:count].reshape(shape).to(dtype=dtype, device=device)


def norm3(v: Tensor) -> Tensor:
    """``‖v‖`` over the last axis (of size 3), ``[...]``, as ``√((x·x + y·y) + z·z)`` in this order."""
    if v.shape[-1] != 3:
        raise ValueError(f"norm3 expects vectors [..., 3], got {tuple(v.shape)}")
    return (v[..., 0] * v[..., 0] + v[..., 1] * v[..., 1] + v[..., 2] * v[..., 2]).sqrt()


def rotate(x: Tensor, r: Tensor) -> Tensor:
    """Row vectors ``x [..., 3]`` turned by ``r [..., 3, 3]`` (broadcast): ``x Rᵀ``, component ``i``
    computed as ``(x₀ R_i0 + x₁ R_i1) + x₂ R_i2`` — a matrix product whose rounding no BLAS chooses."""
    if x.shape[-1] != 3 or r.shape[-2:] != (3, 3):
        raise ValueError(f"rotate expects x [..., 3] and r [..., 3, 3], got {tuple(x.shape)} and "
                         f"{tuple(r.shape)}")
    return (x[..., None, 0] * r[..., :, 0] + x[..., None, 1] * r[..., :, 1]) + x[..., None, 2] * r[..., :, 2]


def rotations(num: int, generator: torch.Generator | None = None) -> Tensor:
    """``num`` rotation matrices ``[num, 3, 3]`` (float64), uniform (Haar) on SO(3), the same bits on
    every machine.

    A normal vector in ℝ⁴ divided by its length is uniform on the unit sphere S³, and the unit
    quaternion ``q = (w, x, y, z)`` maps S³ two-to-one onto SO(3), carrying the uniform measure to
    the Haar measure:
    ``R = [[1 − 2(y²+z²), 2(xy − wz), 2(xz + wy)], [2(xy + wz), 1 − 2(x²+z²), 2(yz − wx)],
    [2(xz − wy), 2(yz + wx), 1 − 2(x²+y²)]]``.
    """
    if not isinstance(num, int) or num < 0:
        raise ValueError(f"num must be a non-negative int, got {num!r}")
    q = randn(num, 4, generator=generator, dtype=F64)
    length = ((q[:, 0] * q[:, 0] + q[:, 1] * q[:, 1]) + (q[:, 2] * q[:, 2] + q[:, 3] * q[:, 3])).sqrt()
    return quaternion_matrix(q / length[:, None])


def rotations_from_uniform(u: Tensor) -> Tensor:
    """Rotation matrices ``[..., 3, 3]``, uniform (Haar) on SO(3) when ``u [..., 3]`` (float64) is
    uniform on ``[0, 1)³``: Shoemake's map to a unit quaternion,
    ``q = (√(1−u₁) sin 2πu₂, √(1−u₁) cos 2πu₂, √u₁ sin 2πu₃, √u₁ cos 2πu₃)``, uniform on S³.

    No rejection and no host synchronisation, so it traces under ``torch.func.vmap`` (augmentation
    inside a batched loss, :func:`symlib.data.nbody.rotated_loss`); arithmetic and :func:`sincos`
    only, so the same ``u`` gives the same bits on every machine.
    """
    _check_f64("rotations_from_uniform", u)
    if u.shape[-1] != 3:
        raise ValueError(f"rotations_from_uniform expects uniforms [..., 3], got {tuple(u.shape)}")
    u1, u2, u3 = u.unbind(-1)
    a, b = (1.0 - u1).sqrt(), u1.sqrt()
    sin2, cos2 = _sincos(u2 * TWO_PI)
    sin3, cos3 = _sincos(u3 * TWO_PI)
    return quaternion_matrix(torch.stack([a * sin2, a * cos2, b * sin3, b * cos3], dim=-1))


def quaternion_matrix(q: Tensor) -> Tensor:
    """The rotation matrices ``[..., 3, 3]`` of unit quaternions ``q = (w, x, y, z)`` ``[..., 4]``
    (the formula of :func:`rotations`), by arithmetic only: the same bits on every machine."""
    if q.shape[-1] != 4:
        raise ValueError(f"quaternions are [..., 4], got {tuple(q.shape)}")
    w, x, y, z = q.unbind(-1)
    xx, yy, zz = x * x, y * y, z * z
    xy, xz, yz, wx, wy, wz = x * y, x * z, y * z, w * x, w * y, w * z
    rows = [(1.0 - 2.0 * (yy + zz), 2.0 * (xy - wz), 2.0 * (xz + wy)),
            (2.0 * (xy + wz), 1.0 - 2.0 * (xx + zz), 2.0 * (yz - wx)),
            (2.0 * (xz - wy), 2.0 * (yz + wx), 1.0 - 2.0 * (xx + yy))]
    return torch.stack([torch.stack(row, dim=-1) for row in rows], dim=-2)


def correctly_rounded(function: str, x: float) -> float:
    """``log x`` (``function="ln"``) or ``exp x`` (``"exp"``) rounded to the nearest double, for a
    finite double ``x`` (positive for ``ln``): the same on every machine, where the C library's are not.

    ``decimal`` computes the function correctly rounded to 20 significant digits, so the true value
    lies within 10⁻¹⁹ (relative) of it; rounding is monotone, so if both ends of that interval round
    to the same double, that double is the correctly rounded value. Otherwise (the true value is near
    a midpoint between two doubles, about one input in a thousand) the same is done with 40 digits,
    and if even that cannot decide (one input in about 10²³) this raises.
    """
    if function not in ("ln", "exp"):
        raise ValueError(f"function must be 'ln' or 'exp', got {function!r}")
    for digits in (20, 40):
        with localcontext() as ctx:
            ctx.prec = digits
            d = getattr(Decimal(x), function)()
            ctx.prec = 2 * digits + 20                        # exact: the margin's product and sums
            margin = abs(d) * Decimal(10) ** (1 - digits)
            low, high = float(d - margin), float(d + margin)
        if low == high:
            return low
    raise ArithmeticError(f"{function}({x!r}) lies too close to a rounding midpoint to round from 40 digits")


def _accepted_pairs(rng: np.random.RandomState, pairs: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The next ``pairs`` pairs ``(x₁, x₂)`` that numpy's legacy polar method accepts, and their
    ``r² = x₁² + x₂²``, consuming exactly the uniforms it would (which ones depends on the uniforms
    alone: draw a block, keep the accepted pairs, rewind and take exactly what was used)."""
    x1, x2, r2 = [], [], []
    while pairs > 0:
        saved = rng.get_state(legacy=True)
        x = 2.0 * rng.random_sample((pairs + pairs // 4 + 16, 2)) - 1.0
        s = x[:, 0] * x[:, 0] + x[:, 1] * x[:, 1]
        kept = np.flatnonzero((s < 1.0) & (s > 0.0))[:pairs]
        if len(kept) == pairs:
            rng.set_state(saved)
            rng.random_sample(2 * (kept[-1] + 1))
        x1.append(x[kept, 0]), x2.append(x[kept, 1]), r2.append(s[kept])
        pairs -= len(kept)
    return tuple(np.concatenate(a) if a else np.zeros(0) for a in (x1, x2, r2))  # type: ignore[return-value]


def _polar(x1: np.ndarray, x2: np.ndarray, r2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """numpy's ``f·x₂`` (returned first) and ``f·x₁`` (kept) with ``f = √(−2 log r² / r²)``, in its
    order of operations, the ``log`` correctly rounded."""
    logs = np.array([correctly_rounded("ln", v) for v in r2.tolist()])
    f = np.sqrt((-2.0 * logs) / r2)
    return f * x2, f * x1


def legacy_randn(rng: np.random.RandomState, *size: int) -> np.ndarray:
    """``rng.randn(*size)`` — numpy's legacy polar method, draw for draw — with a correctly rounded
    ``log`` in place of the C library's, so that the values are the same on every machine.

    numpy draws pairs ``x₁ = 2u − 1, x₂ = 2u' − 1`` until ``0 < r² = x₁² + x₂² < 1``, sets
    ``f = √(−2 log r² / r²)``, returns ``f·x₂`` and keeps ``f·x₁`` for the next call. The same
    uniforms are taken from ``rng.random_sample`` and the kept value is written back into ``rng``'s
    state, so ``rng`` ends exactly where ``rng.randn`` would have left it (up to that ``log``).
    """
    count = math.prod(size)
    has_gauss, gauss = rng.get_state(legacy=True)[3:5]
    first = [gauss] if has_gauss and count else []
    rest = count - len(first)
    returned, kept = _polar(*_accepted_pairs(rng, (rest + 1) // 2))
    values = np.stack([returned, kept], axis=1).reshape(-1)
    out = np.concatenate([first, values[:rest]])
    if count:
        has_gauss, gauss = (1, float(kept[-1])) if rest % 2 else (0, 0.0)
    key, pos = rng.get_state(legacy=True)[1:3]
    rng.set_state(("MT19937", key, pos, has_gauss, gauss))
    return out.reshape(size)


def legacy_skip(rng: np.random.RandomState, count: int) -> None:
    """Advance ``rng`` past ``count`` draws of ``rng.randn``, as if they had been drawn and discarded.

    Which uniforms the polar method consumes depends on the uniforms alone (``0 < r² < 1``), not on
    any ``log``, so the skip is exact and vectorised; only a value left over for the next call (odd
    ``count``) is computed, as :func:`legacy_randn` computes it.
    """
    has_gauss, gauss = rng.get_state(legacy=True)[3:5]
    if has_gauss and count:
        count, has_gauss, gauss = count - 1, 0, 0.0
    x1, x2, r2 = _accepted_pairs(rng, (count + 1) // 2)
    if count % 2:
        has_gauss, gauss = 1, float(_polar(x1[-1:], x2[-1:], r2[-1:])[1][0])
    key, pos = rng.get_state(legacy=True)[1:3]
    rng.set_state(("MT19937", key, pos, has_gauss, gauss))
