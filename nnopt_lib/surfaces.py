"""Two-dimensional test functions ("loss surfaces") for watching optimizers move.

Each surface is a :class:`Surface`: the formula, its analytic gradient, a default start
point, a plot window and the known minima. The formula is written ONCE as
``formula(x, y, xp)`` where ``xp`` is the array module (``numpy`` or ``torch``), so the
numpy value used by the course and the differentiable torch value used for the
cross-checks cannot drift apart. The gradients are derived by hand and vectorised, so one
call evaluates a whole contour-plot grid; ``tests/test_surfaces.py`` checks every one of
them against ``torch.autograd``. Powers are written as products (``r * r``, not ``r ** 2``):
numpy rounds ``**`` differently for arrays and scalars, and a point evaluated alone must
give the same bits as the same point inside a grid.

Usage::

    from nnopt_lib import surfaces
    s = surfaces.get("rosenbrock")
    s.value([1.0, 1.0])           # 0.0, the global minimum
    s.grad([-1.2, 1.0])           # array([-215.6,  -88. ])
    X, Y, Z = s.grid(200)         # for plt.contour

Points must have shape ``(..., 2)``; anything else raises rather than being read as
something it is not. The factories check their parameters against the range in which the
listed minima and the plot window are right (``TypeError`` for a non-number, ``ValueError``
naming the parameter otherwise).

Surfaces: ``quadratic`` (ill-conditioned, optionally rotated), ``rosenbrock``, ``beale``,
``himmelblau`` (four global minima), ``rastrigin`` (many local minima), ``saddle``
(x^2 - y^2, no minimum) and ``cliff`` (a gentle valley ending at a steep wall, for gradient
clipping).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from nnopt_lib import checks

__all__ = [
    "SURFACES",
    "Surface",
    "beale",
    "cliff",
    "get",
    "himmelblau",
    "quadratic",
    "rastrigin",
    "rosenbrock",
    "saddle",
]


# eq=False: compare surfaces by identity (a generated __eq__ would compare the Hessian
# arrays elementwise and fail); frozen=True so a shared surface cannot be changed by accident.
@dataclass(frozen=True, eq=False)
class Surface:
    """A 2-D test function with everything needed to run and plot an optimizer on it.

    Attributes
    ----------
    name: short key, as in :data:`SURFACES` (``"rosenbrock"``).
    title: formula for plot titles.
    formula: ``formula(x, y, xp) -> f`` with ``xp`` the array module (numpy or torch).
    gradient: ``gradient(x, y) -> (df/dx, df/dy)``, analytic, numpy, broadcasting.
    start: default start point.
    xlim, ylim: plot window.
    minima: locations of the known global minima (``()`` when there is none).
    min_value: the value at the global minima (``-inf`` when unbounded below).
    log_contours: whether contour levels should be log-spaced (steep, wide-ranged surfaces).
    hessian: the constant Hessian of a quadratic surface, else ``None``.
    """

    name: str
    title: str
    formula: Callable[[Any, Any, Any], Any]
    gradient: Callable[[Any, Any], tuple[Any, Any]]
    start: tuple[float, float]
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    minima: tuple[tuple[float, float], ...]
    min_value: float
    log_contours: bool
    hessian: np.ndarray | None = None

    def value(self, xy: Any) -> np.ndarray:
        """f at points ``xy`` of shape ``(..., 2)``; returns shape ``(...)``."""
        xy = _as_points(xy)
        return self.formula(xy[..., 0], xy[..., 1], np)

    def grad(self, xy: Any) -> np.ndarray:
        """Analytic gradient at points ``xy`` of shape ``(..., 2)``; returns shape ``(..., 2)``."""
        xy = _as_points(xy)
        gx, gy = np.broadcast_arrays(*self.gradient(xy[..., 0], xy[..., 1]))
        return np.stack([gx, gy], axis=-1)

    def value_in(self, xp: Any, xy: Any) -> Any:
        """f at points ``xy`` of shape ``(..., 2)`` computed with the array library ``xp``.

        ``formula`` is written once against numpy's function names, so any library that uses
        the same names evaluates it: ``surface.value_in(torch, xy_t)`` is differentiable by
        torch's autograd (what the cross-checks use), without this module importing torch.
        """
        return self.formula(xy[..., 0], xy[..., 1], xp)

    def grid(self, n: int = 200) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``X, Y, Z`` meshgrids of shape ``(n, n)`` over the plot window, for contour plots
        (``n >= 2``, so that both edges of the window are included)."""
        if isinstance(n, bool) or not isinstance(n, int | np.integer):
            raise TypeError(f"grid size n must be an integer, got {n!r} ({type(n).__name__})")
        if n < 2:
            raise ValueError(f"grid size n must be at least 2, got {n}")
        x = np.linspace(*self.xlim, n)
        y = np.linspace(*self.ylim, n)
        X, Y = np.meshgrid(x, y)
        return X, Y, self.formula(X, Y, np)


def _as_points(xy: Any) -> np.ndarray:
    """``xy`` as a float64 array of points, shape ``(..., 2)``: last axis ``(x, y)``.

    Anything else is refused rather than guessed at: a 3-vector would otherwise be read as
    its first two coordinates (``rosenbrock().value([1, 1, 99])`` used to return 0.0), and
    ``None`` would become NaN.
    """
    if xy is None:
        raise TypeError("points must be real numbers of shape (..., 2), got None")
    try:
        array = np.asarray(xy)
    except ValueError as error:  # ragged nested lists
        raise ValueError(f"points must be real numbers of shape (..., 2), got {xy!r}") from error
    if array.dtype.kind not in "iuf":
        raise TypeError(
            f"points must be real numbers of shape (..., 2), got dtype {array.dtype} ({xy!r})"
        )
    if array.ndim == 0 or array.shape[-1] != 2:
        raise ValueError(
            f"points must have shape (..., 2) (last axis: x, y), got shape {array.shape}"
        )
    return array.astype(np.float64, copy=False)


# ---------------------------------------------------------------------------------------
# Factories
# ---------------------------------------------------------------------------------------


def quadratic(condition: float = 10.0, angle_deg: float = 0.0, scale: float = 1.0) -> Surface:
    r"""Convex quadratic :math:`f(\theta) = \tfrac12 \theta^\top A \theta`, minimum 0 at the origin.

    :math:`A = R\,\mathrm{diag}(s,\ s\kappa)\,R^\top` with :math:`s` = ``scale``,
    :math:`\kappa` = ``condition`` (the ratio of the largest to the smallest curvature) and
    :math:`R` the rotation by ``angle_deg``. The gradient is :math:`A\theta` and gradient
    descent is stable only for :math:`\eta < 2/(s\kappa)`, while progress along the flat
    direction goes like :math:`(1-\eta s)^k`: the larger :math:`\kappa`, the slower. A
    rotation makes the valley diagonal, which hurts per-coordinate methods (Adagrad, Adam)
    but not SGD.

    Allowed: ``condition`` finite and >= 1, ``scale`` finite and > 0, with
    ``scale * condition`` finite (else the Hessian holds inf and NaN); ``angle_deg`` finite.
    """
    condition = checks.real("condition", condition)
    scale = checks.real("scale", scale)
    angle_deg = checks.real("angle_deg", angle_deg)
    if not condition >= 1.0:
        raise ValueError(f"Invalid condition number: {condition} (must be >= 1)")
    if not scale > 0.0:
        raise ValueError(f"Invalid scale: {scale} (must be > 0)")
    if not math.isfinite(scale * condition):
        raise ValueError(
            f"Invalid scale * condition: {scale:g} * {condition:g} overflows (must be finite)"
        )
    t = math.radians(angle_deg)
    rotation = np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])
    hessian = rotation @ np.diag([scale, scale * condition]) @ rotation.T
    hessian = (hessian + hessian.T) / 2  # exactly symmetric despite rounding
    hessian.setflags(write=False)
    a, b, c = float(hessian[0, 0]), float(hessian[0, 1]), float(hessian[1, 1])

    def formula(x, y, xp):
        return 0.5 * (a * x * x + 2.0 * b * x * y + c * y * y)

    def gradient(x, y):
        return a * x + b * y, b * x + c * y

    return Surface(
        name="quadratic",
        title=f"Quadratic  f = ½ θᵀAθ,  κ = {condition:g}, rotated {angle_deg:g}°",
        formula=formula,
        gradient=gradient,
        start=(-4.0, 2.5),
        xlim=(-5.0, 5.0),
        ylim=(-5.0, 5.0),
        minima=((0.0, 0.0),),
        min_value=0.0,
        log_contours=True,
        hessian=hessian,
    )


def rosenbrock(a: float = 1.0, b: float = 100.0) -> Surface:
    r"""Rosenbrock's banana :math:`f = (a-x)^2 + b\,(y-x^2)^2`, minimum 0 at :math:`(a, a^2)`.

    A long, curved, flat-bottomed valley: finding the valley is easy, following it to the
    minimum is slow. Start :math:`(-1.2, 1)` as in H. H. Rosenbrock, "An automatic method for
    finding the greatest or least value of a function", The Computer Journal 3 (1960).

    Allowed: ``b > 0`` (finite) and any finite ``a`` whose square is finite. Only for
    :math:`b > 0` is :math:`(a, a^2)` the one global minimum listed: the Hessian there has
    determinant :math:`4b`, :math:`b = 0` leaves the whole line :math:`x = a` at 0, and
    :math:`b < 0` makes the function unbounded below (:math:`y \to \pm\infty`).
    """
    a = checks.real("a", a)
    b = checks.real("b", b)
    if not b > 0.0:
        raise ValueError(
            f"Invalid b: {b} (must be > 0; for b <= 0, ({a:g}, {a * a:g}) is not the unique "
            "global minimum)"
        )
    if not math.isfinite(a * a):
        raise ValueError(f"Invalid a: {a} (a**2, the minimum's y, must be finite)")

    def formula(x, y, xp):
        r1, r2 = a - x, y - x * x
        return r1 * r1 + b * (r2 * r2)

    def gradient(x, y):
        r = y - x * x
        return -2.0 * (a - x) - 4.0 * b * x * r, 2.0 * b * r

    return Surface(
        name="rosenbrock",
        title=f"Rosenbrock  f = ({a:g} − x)² + {b:g} (y − x²)²",
        formula=formula,
        gradient=gradient,
        start=(-1.2, 1.0),
        # the classic window, widened when a moves the minimum (a, a^2) out of it
        xlim=(min(-2.0, a - 1.0), max(2.0, a + 1.0)),
        ylim=(min(-1.0, a * a - 1.0), max(3.0, a * a + 1.0)),
        minima=((float(a), float(a) ** 2),),
        min_value=0.0,
        log_contours=True,
    )


def _beale_residuals(x, y):
    return 1.5 - x + x * y, 2.25 - x + x * y * y, 2.625 - x + x * y * y * y


def beale() -> Surface:
    r"""Beale's function, minimum 0 at :math:`(3, \tfrac12)`.

    .. math::
        f = (1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2

    Flat plateaus next to very steep walls (the values span five orders of magnitude in the
    window): plain gradient descent crawls on the plateau and overshoots on the walls.
    E. M. L. Beale, "On an iterative method for finding a local minimum of a function of
    more than one variable", Princeton technical report (1958).
    """

    def formula(x, y, xp):
        r1, r2, r3 = _beale_residuals(x, y)
        return r1 * r1 + r2 * r2 + r3 * r3

    def gradient(x, y):
        r1, r2, r3 = _beale_residuals(x, y)
        gx = 2.0 * (r1 * (y - 1.0) + r2 * (y * y - 1.0) + r3 * (y * y * y - 1.0))
        gy = 2.0 * x * (r1 + 2.0 * y * r2 + 3.0 * y * y * r3)
        return gx, gy

    return Surface(
        name="beale",
        title="Beale  f = (1.5 − x + xy)² + (2.25 − x + xy²)² + (2.625 − x + xy³)²",
        formula=formula,
        gradient=gradient,
        start=(1.0, 1.5),
        xlim=(-1.0, 4.5),
        ylim=(-1.5, 2.5),
        minima=((3.0, 0.5),),
        min_value=0.0,
        log_contours=True,
    )


# The four zeros of Himmelblau's function; the three irrational ones were found by Newton's
# method to full float64 precision (the gradient there is ~1e-14, see the tests).
_HIMMELBLAU_MINIMA = (
    (3.0, 2.0),
    (-2.805118086952745, 3.131312518250573),
    (-3.779310253377747, -3.283185991286169),
    (3.5844283403304917, -1.8481265269644034),
)


def himmelblau() -> Surface:
    r"""Himmelblau's function :math:`f = (x^2 + y - 11)^2 + (x + y^2 - 7)^2`.

    Four global minima with :math:`f = 0` (one of them at :math:`(3, 2)`), a local maximum
    near :math:`(-0.27, -0.92)` and four saddles: which minimum an optimizer reaches depends
    on the start and on the optimizer. D. M. Himmelblau, *Applied Nonlinear Programming*
    (1972).
    """

    def formula(x, y, xp):
        r1, r2 = x * x + y - 11.0, x + y * y - 7.0
        return r1 * r1 + r2 * r2

    def gradient(x, y):
        r1 = x * x + y - 11.0
        r2 = x + y * y - 7.0
        return 4.0 * x * r1 + 2.0 * r2, 2.0 * r1 + 4.0 * y * r2

    return Surface(
        name="himmelblau",
        title="Himmelblau  f = (x² + y − 11)² + (x + y² − 7)²",
        formula=formula,
        gradient=gradient,
        start=(-0.5, -1.5),
        xlim=(-5.0, 5.0),
        ylim=(-5.0, 5.0),
        minima=_HIMMELBLAU_MINIMA,
        min_value=0.0,
        log_contours=True,
    )


def rastrigin(A: float = 10.0) -> Surface:
    r"""Rastrigin's function, a bowl covered in ripples; global minimum 0 at the origin.

    .. math::
        f = 2A + x^2 - A\cos(2\pi x) + y^2 - A\cos(2\pi y)

    Every point near an integer pair is a local minimum, so gradient descent stops in the
    first dimple it meets; noise or a large learning rate is needed to hop between them.
    L. A. Rastrigin, *Systems of extremal control* (1974).

    Allowed: ``A >= 0`` (finite); ``A = 0`` is the plain bowl :math:`x^2 + y^2`. With
    :math:`A < 0` the ripples turn upside down (dimples at the half-integers) and below
    :math:`A = -1/(2\pi^2)` the origin is not even a local minimum (the curvature there is
    :math:`2 + 4\pi^2 A`), so the listed minimum would be wrong.
    """
    A = checks.real("A", A)
    if not A >= 0.0:
        raise ValueError(f"Invalid A: {A} (the ripple amplitude, must be >= 0)")
    two_pi = 2.0 * math.pi

    def formula(x, y, xp):
        return 2.0 * A + x * x - A * xp.cos(two_pi * x) + y * y - A * xp.cos(two_pi * y)

    def gradient(x, y):
        return 2.0 * x + two_pi * A * np.sin(two_pi * x), 2.0 * y + two_pi * A * np.sin(two_pi * y)

    return Surface(
        name="rastrigin",
        title=f"Rastrigin  f = {2 * A:g} + x² − {A:g} cos 2πx + y² − {A:g} cos 2πy",
        formula=formula,
        gradient=gradient,
        start=(-3.6, 2.6),
        xlim=(-5.12, 5.12),
        ylim=(-5.12, 5.12),
        minima=((0.0, 0.0),),
        min_value=0.0,
        log_contours=False,
    )


def saddle() -> Surface:
    r"""The saddle :math:`f = x^2 - y^2`: no minimum, a stationary point at the origin.

    The start lies just off the ridge :math:`y = 0`. Gradient descent first slides toward
    the saddle (the :math:`x` part shrinks like :math:`(1-2\eta)^k`) and only slowly escapes
    (the tiny :math:`y` grows like :math:`(1+2\eta)^k`); started exactly on the ridge it would
    never leave. Unbounded below, so every run eventually "diverges".
    """

    def formula(x, y, xp):
        return x * x - y * y

    def gradient(x, y):
        return 2.0 * x, -2.0 * y

    return Surface(
        name="saddle",
        title="Saddle  f = x² − y²",
        formula=formula,
        gradient=gradient,
        start=(-2.0, 0.01),
        xlim=(-2.5, 2.5),
        ylim=(-2.5, 2.5),
        minima=(),
        min_value=-math.inf,
        log_contours=False,
    )


def cliff(slope: float = 1.0, wall_slope: float = 100.0, sharpness: float = 10.0) -> Surface:
    r"""A gentle valley that ends at a steep wall: the exploding-gradient "cliff".

    .. math::
        f = -s\,x + \frac{H}{k}\Big[\operatorname{softplus}\big(k(x-c)\big) - \log\frac{H}{H-s}\Big]
            + \tfrac12 y^2,
        \qquad c = \frac{1}{k}\log\Big(\frac{H}{s}-1\Big)

    with :math:`s` = ``slope`` (the valley floor falls gently toward the wall), :math:`H` =
    ``wall_slope`` (the gradient on the wall face) and :math:`k` = ``sharpness`` (how
    abruptly the floor turns into the wall, over a width of about :math:`1/k`). :math:`c`
    and the constant put the single minimum at the origin with :math:`f = 0` (the gradient
    :math:`-s + H\sigma(k(x-c))` vanishes at :math:`x = 0`; the function is convex).

    The gradient grows from about :math:`s` on the floor to :math:`H - s` on the wall, two
    orders of magnitude with the defaults. The default start is on the wall face: one
    unclipped gradient step moves :math:`\eta (H - s)` (9.9 units at :math:`\eta = 0.1`),
    far past the minimum, and the walk back along the gentle floor takes about
    :math:`(H-s)/s` steps, whereas a norm-clipped step moves at most :math:`\eta c_{\max}`.
    This is the picture of R. Pascanu, T. Mikolov and Y. Bengio, "On the difficulty of
    training recurrent neural networks", ICML 2013 (their Fig. 6).
    """
    s = checks.real("slope", slope)
    H = checks.real("wall_slope", wall_slope)
    k = checks.real("sharpness", sharpness)
    if not s > 0.0:
        raise ValueError(f"Invalid slope: {s} (must be > 0)")
    if not H > s:
        raise ValueError(f"Invalid wall_slope: {H} (must be > slope = {s})")
    if not k > 0.0:
        raise ValueError(f"Invalid sharpness: {k} (must be > 0)")
    ratio, height = H / s, H / k
    if not (math.isfinite(ratio) and math.isfinite(height) and ratio - 1.0 > 0.0):
        raise ValueError(
            f"Invalid cliff: wall_slope / slope = {H:g} / {s:g} and wall_slope / sharpness = "
            f"{H:g} / {k:g} must be finite, with wall_slope / slope > 1 after rounding"
        )
    c = math.log(ratio - 1.0) / k
    # softplus(-k c) = log(H / (H - s)), evaluated exactly as the formula will at x = 0 so
    # that f(0, 0) is exactly 0.0 in floating point too
    offset = float(np.logaddexp(0.0, k * (0.0 - c)))

    def formula(x, y, xp):
        z = k * (x - c)
        softplus = xp.logaddexp(xp.zeros_like(z), z)  # log(1 + e^z) without overflow
        return -s * x + (H / k) * (softplus - offset) + 0.5 * y * y

    def gradient(x, y):
        z = k * (x - c)
        sigmoid = np.exp(z - np.logaddexp(0.0, z))  # e^z / (1 + e^z) without overflow
        return -s + H * sigmoid, 1.0 * y

    return Surface(
        name="cliff",
        title=f"Cliff  floor slope {s:g}, wall slope {H:g}",
        formula=formula,
        gradient=gradient,
        start=(1.5, 1.5),
        xlim=(-10.0, 2.5),
        ylim=(-3.0, 3.0),
        minima=((0.0, 0.0),),
        min_value=0.0,
        log_contours=True,
    )


SURFACES: dict[str, Callable[[], Surface]] = {
    "quadratic": quadratic,
    "rosenbrock": rosenbrock,
    "beale": beale,
    "himmelblau": himmelblau,
    "rastrigin": rastrigin,
    "saddle": saddle,
    "cliff": cliff,
}


def get(name: str) -> Surface:
    """The surface called ``name`` (a key of :data:`SURFACES`), with default parameters."""
    if not isinstance(name, str):
        raise TypeError(f"surface name must be a str, got {name!r} ({type(name).__name__})")
    try:
        factory = SURFACES[name]
    except KeyError:
        raise ValueError(f"Unknown surface: {name!r}; choose from {sorted(SURFACES)}") from None
    return factory()
