"""Checks of nnopt_lib.surfaces: analytic gradients against torch.autograd, the stated
minima, plot-window grids, and the behaviour the cliff surface is designed to show."""

import inspect
import math
import re

import numpy as np
import pytest
import torch

from nnopt_lib import surfaces

# every registered surface with its defaults, plus non-default parameters of the factories
CASES = {name: factory for name, factory in surfaces.SURFACES.items()}
CASES.update(
    {
        "quadratic_k50_rot30_s2": lambda: surfaces.quadratic(
            condition=50.0, angle_deg=30.0, scale=2.0
        ),
        "quadratic_k1": lambda: surfaces.quadratic(condition=1.0),
        "rosenbrock_a2_b10": lambda: surfaces.rosenbrock(a=2.0, b=10.0),
        "rastrigin_A3": lambda: surfaces.rastrigin(A=3.0),
        "rastrigin_A0": lambda: surfaces.rastrigin(A=0),  # the plain bowl, smallest allowed A
        "rosenbrock_a_neg_b_small": lambda: surfaces.rosenbrock(a=-2.5, b=np.float32(0.5)),
        "cliff_soft": lambda: surfaces.cliff(slope=0.5, wall_slope=20.0, sharpness=4.0),
    }
)


@pytest.fixture(params=sorted(CASES))
def surface(request):
    return CASES[request.param]()


def _random_points(s, n, seed=0):
    rng = np.random.default_rng(seed)
    return np.column_stack([rng.uniform(*s.xlim, size=n), rng.uniform(*s.ylim, size=n)])


def _autograd(s, xy):
    xy_t = torch.tensor(xy, dtype=torch.float64, requires_grad=True)
    value = s.value_in(torch, xy_t)
    value.sum().backward()
    return value.detach().numpy(), xy_t.grad.numpy()


def test_gradient_matches_autograd(surface):
    xy = _random_points(surface, 200)
    value_t, grad_t = _autograd(surface, xy)
    np.testing.assert_allclose(surface.grad(xy), grad_t, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(surface.value(xy), value_t, rtol=1e-13, atol=1e-13)


def test_gradient_matches_finite_differences(surface):
    # independent of torch: central differences, error O(h^2)
    xy = _random_points(surface, 20, seed=1)
    h = 1e-6
    for i in range(2):
        e = np.zeros(2)
        e[i] = h
        fd = (surface.value(xy + e) - surface.value(xy - e)) / (2 * h)
        scale = 1.0 + np.abs(surface.grad(xy)[:, i])
        assert np.all(np.abs(fd - surface.grad(xy)[:, i]) < 1e-5 * scale)


def test_minima_are_minima(surface):
    assert surface.min_value <= np.min(surface.grid(300)[2]) + 1e-12  # nothing lower in view
    for m in surface.minima:
        assert surface.xlim[0] <= m[0] <= surface.xlim[1]
        assert surface.ylim[0] <= m[1] <= surface.ylim[1]
        assert abs(surface.value(m) - surface.min_value) <= 1e-12
        np.testing.assert_allclose(surface.grad(m), 0.0, atol=1e-10)
        # positive-definite Hessian: a strict local minimum, not a saddle
        hess = torch.autograd.functional.hessian(
            lambda p: surface.value_in(torch, p), torch.tensor(m, dtype=torch.float64)
        ).numpy()
        assert np.all(np.linalg.eigvalsh(hess) > 0)


def test_start_inside_window_and_not_at_a_minimum(surface):
    x, y = surface.start
    assert surface.xlim[0] < x < surface.xlim[1] and surface.ylim[0] < y < surface.ylim[1]
    assert np.linalg.norm(surface.grad(surface.start)) > 1e-3


def test_shapes(surface):
    xy = _random_points(surface, 12).reshape(3, 4, 2)
    assert surface.value(xy).shape == (3, 4)
    assert surface.grad(xy).shape == (3, 4, 2)
    assert np.ndim(surface.value(surface.start)) == 0
    assert surface.grad(surface.start).shape == (2,)
    X, Y, Z = surface.grid(40)
    assert X.shape == Y.shape == Z.shape == (40, 40)
    assert (X.min(), X.max(), Y.min(), Y.max()) == (*surface.xlim, *surface.ylim)
    np.testing.assert_allclose(Z, surface.value(np.stack([X, Y], axis=-1)), rtol=0, atol=0)
    assert np.all(np.isfinite(Z))
    # a point alone gives the same bits as inside a grid, also on Python floats
    g = surface.grad(np.stack([X, Y], axis=-1))
    x, y = float(X[7, 11]), float(Y[7, 11])
    np.testing.assert_array_equal(g[7, 11], surface.grad([x, y]))
    np.testing.assert_array_equal(g[7, 11], np.array(surface.gradient(x, y)))
    assert surface.formula(x, y, np) == Z[7, 11] == surface.value([x, y])


def test_registry_and_get():
    assert set(surfaces.SURFACES) == {
        "quadratic",
        "rosenbrock",
        "beale",
        "himmelblau",
        "rastrigin",
        "saddle",
        "cliff",
    }
    for name in surfaces.SURFACES:
        s = surfaces.get(name)
        assert s.name == name and s.title
    with pytest.raises(ValueError, match="'banana'"):
        surfaces.get("banana")


def test_quadratic_hessian_eigen_structure():
    s = surfaces.quadratic(condition=25.0, angle_deg=30.0, scale=0.5)
    np.testing.assert_allclose(np.linalg.eigvalsh(s.hessian), [0.5, 12.5], rtol=1e-14)
    # the flat direction is the x axis rotated by 30 degrees
    flat = np.array([math.cos(math.radians(30)), math.sin(math.radians(30))])
    np.testing.assert_allclose(s.hessian @ flat, 0.5 * flat, atol=1e-14)
    xy = _random_points(s, 10)
    np.testing.assert_allclose(s.grad(xy), xy @ s.hessian, rtol=1e-14, atol=1e-14)
    hess_t = torch.autograd.functional.hessian(
        lambda p: s.value_in(torch, p), torch.ones(2, dtype=torch.float64)
    )
    np.testing.assert_allclose(hess_t.numpy(), s.hessian, rtol=1e-14)
    with pytest.raises(ValueError):
        s.hessian[0, 0] = 1.0  # read-only: the surface is frozen
    with pytest.raises(ValueError, match="0.5"):
        surfaces.quadratic(condition=0.5)
    with pytest.raises(ValueError, match="-1"):
        surfaces.quadratic(scale=-1.0)


def test_himmelblau_has_four_zeros():
    s = surfaces.himmelblau()
    assert len(s.minima) == 4
    np.testing.assert_allclose(s.value(np.array(s.minima)), 0.0, atol=1e-28)


def test_saddle_has_no_minimum_and_escapes_slowly():
    s = surfaces.saddle()
    assert s.minima == () and s.min_value == -math.inf
    assert 0 < abs(s.start[1]) < 0.1  # just off the ridge y = 0
    # plain gradient descent: x shrinks like 0.8^k, y grows like 1.2^k (lr = 0.1)
    p = np.array(s.start)
    for _ in range(10):
        p = p - 0.1 * s.grad(p)
    np.testing.assert_allclose(p, [s.start[0] * 0.8**10, s.start[1] * 1.2**10], rtol=1e-12)


def test_cliff_gradient_explodes_and_clipping_tames_it():
    s = surfaces.cliff()
    floor = np.linalg.norm(s.grad([-3.0, 0.0]))
    wall = np.linalg.norm(s.grad(s.start))
    assert wall > 50 * floor  # orders of magnitude steeper on the wall

    lr, max_norm = 0.1, 1.0
    dist0 = np.linalg.norm(s.start)
    plain = [np.array(s.start)]
    clipped = [np.array(s.start)]
    for _ in range(60):
        plain.append(plain[-1] - lr * s.grad(plain[-1]))
        g = s.grad(clipped[-1])
        clipped.append(clipped[-1] - lr * g * min(1.0, max_norm / (np.linalg.norm(g) + 1e-6)))
    plain, clipped = np.array(plain), np.array(clipped)
    # the first unclipped step throws the point ~9.9 units, past the minimum and far away
    assert np.linalg.norm(plain[1] - plain[0]) > 9.0
    assert np.linalg.norm(plain[1]) > 3 * dist0
    # clipped steps are at most lr * max_norm long and never leave the start's neighbourhood
    assert np.all(np.linalg.norm(np.diff(clipped, axis=0), axis=1) <= lr * max_norm + 1e-12)
    assert np.all(np.linalg.norm(clipped, axis=1) <= dist0 + 1e-12)
    assert s.value(clipped[-1]) < 1e-2 < s.value(plain[-1])


def test_cliff_validation():
    with pytest.raises(ValueError, match="-1"):
        surfaces.cliff(slope=-1.0)
    with pytest.raises(ValueError, match="0.5"):
        surfaces.cliff(slope=1.0, wall_slope=0.5)
    with pytest.raises(ValueError, match="0"):
        surfaces.cliff(sharpness=0.0)


def test_value_in_torch_keeps_dtype_and_device():
    s = surfaces.rosenbrock()
    out = s.value_in(torch, torch.tensor([[1.0, 1.0], [0.0, 0.0]], dtype=torch.float32))
    assert out.dtype == torch.float32
    np.testing.assert_allclose(out.numpy(), [0.0, 1.0])


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("points", "shape"),
    [([1.0, 1.0, 99.0], "(3,)"), (np.ones((4, 3)), "(4, 3)"), (1.0, "()"), ([], "(0,)")],
)
def test_points_must_have_last_axis_two(points, shape):
    s = surfaces.rosenbrock()
    for method in (s.value, s.grad):
        with pytest.raises(ValueError, match=re.escape(f"got shape {shape}")):
            method(points)


@pytest.mark.parametrize("points", [None, ["a", "b"], [1 + 2j, 0.0], [{}, 1.0]])
def test_points_must_be_real_numbers(points):
    s = surfaces.himmelblau()
    with pytest.raises(TypeError, match="points must be real numbers"):
        s.value(points)
    with pytest.raises(TypeError, match="points must be real numbers"):
        s.grad(points)


def test_ragged_points_raise_value_error():
    with pytest.raises(ValueError, match="points must be real numbers"):
        surfaces.beale().value([[1.0, 2.0], [3.0]])


def test_integer_and_float32_points_are_evaluated_in_float64():
    s = surfaces.rosenbrock()
    assert s.value(np.array([1, 1])) == 0.0
    assert s.grad(np.array([-1.2, 1.0], np.float32)).dtype == np.float64


@pytest.mark.parametrize("b", [-100.0, -1e-9, 0.0, 0])
def test_rosenbrock_needs_positive_b(b):
    with pytest.raises(ValueError, match=r"Invalid b: .*must be > 0"):
        surfaces.rosenbrock(b=b)


def test_rastrigin_needs_nonnegative_A():
    with pytest.raises(ValueError, match=r"Invalid A: -10.0 \(the ripple amplitude, must be >= 0"):
        surfaces.rastrigin(A=-10)
    with pytest.raises(ValueError, match="Invalid A"):
        surfaces.rastrigin(A=-1e-3)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"condition": math.inf}, "condition: inf"),
        ({"condition": math.nan}, "condition: nan"),
        ({"scale": math.inf}, "scale: inf"),
        ({"scale": math.nan}, "scale: nan"),
        ({"angle_deg": math.nan}, "angle_deg: nan"),
        ({"angle_deg": -math.inf}, "angle_deg: -inf"),
        ({"condition": 1e200, "scale": 1e200}, "scale \\* condition"),
        ({"condition": 10**400}, "condition: inf"),
    ],
)
def test_quadratic_parameters_must_be_finite(kwargs, message):
    with pytest.raises(ValueError, match=message):
        surfaces.quadratic(**kwargs)


def test_quadratic_hessian_finite_at_the_edge_of_the_allowed_range():
    s = surfaces.quadratic(condition=1e150, scale=1e150, angle_deg=1e6)
    assert np.all(np.isfinite(s.hessian))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"a": math.nan}, "Invalid a: nan"),
        ({"a": math.inf}, "Invalid a: inf"),
        ({"a": 1e200}, "a\\*\\*2"),
        ({"b": math.nan}, "Invalid b: nan"),
        ({"b": math.inf}, "Invalid b: inf"),
    ],
)
def test_rosenbrock_parameters_must_be_finite(kwargs, message):
    with pytest.raises(ValueError, match=message):
        surfaces.rosenbrock(**kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"slope": math.nan},
        {"slope": math.inf},
        {"wall_slope": math.inf},
        {"sharpness": math.nan},
        {"slope": 1e-300, "wall_slope": 1e10},  # wall_slope / slope overflows
        {"sharpness": 1e-308},  # wall_slope / sharpness overflows
        {"slope": 1.0, "wall_slope": 1.0 + 1e-16},  # equal after rounding
    ],
)
def test_cliff_parameters_must_give_finite_constants(kwargs):
    with pytest.raises(ValueError, match="Invalid"):
        surfaces.cliff(**kwargs)


FACTORY_PARAMETERS = [
    (surfaces.quadratic, "condition"),
    (surfaces.quadratic, "angle_deg"),
    (surfaces.quadratic, "scale"),
    (surfaces.rosenbrock, "a"),
    (surfaces.rosenbrock, "b"),
    (surfaces.rastrigin, "A"),
    (surfaces.cliff, "slope"),
    (surfaces.cliff, "wall_slope"),
    (surfaces.cliff, "sharpness"),
]


@pytest.mark.parametrize(("factory", "name"), FACTORY_PARAMETERS)
@pytest.mark.parametrize("bad", ["10", None, True, [1.0], np.array([1.0, 2.0]), 1 + 0j])
def test_every_surface_parameter_must_be_a_real_number(factory, name, bad):
    with pytest.raises(TypeError, match=f"^{name} must be a real number"):
        factory(**{name: bad})


@pytest.mark.parametrize(("factory", "name"), FACTORY_PARAMETERS)
def test_every_surface_parameter_accepts_numpy_scalars(factory, name):
    default = inspect.signature(factory).parameters[name].default
    for cast in (np.float64, np.float32):
        s = factory(**{name: cast(default)})
        np.testing.assert_array_equal(s.grad(s.start), factory().grad(s.start))


@pytest.mark.parametrize(("n", "error"), [(1, ValueError), (0, ValueError), (-5, ValueError),
                                          (2.5, TypeError), (True, TypeError), ("9", TypeError)])
def test_grid_size(n, error):
    with pytest.raises(error, match="grid size n"):
        surfaces.saddle().grid(n)
    assert surfaces.saddle().grid(np.int64(2))[2].shape == (2, 2)


def test_get_needs_a_name():
    for bad in (3, None, ["rosenbrock"]):
        with pytest.raises(TypeError, match="surface name must be a str"):
            surfaces.get(bad)
