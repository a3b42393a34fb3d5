r"""How good is the tanh GELU? Its error against the exact GELU, as a function of the constant.

The exact GELU is :math:`x\,\Phi(x)`, with :math:`\Phi` the standard normal CDF. The
approximation replaces :math:`\Phi` by

.. math::
    \Phi(x) \approx \tfrac12\Bigl(1 + \tanh\bigl(\sqrt{2/\pi}\,(x + c\,x^3)\bigr)\Bigr)

and everything here measures how far that is from the truth for a given :math:`c`, so a
lesson can show *why* :math:`c = 0.044715` (and why student notebook A's typo 0.004715 is wrong).
All measurements run in float64, so they do not depend on the float32 rounding of a CPU.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence

import numpy as np
import torch

from .activations import (
    GELU,
    MAX_CUBIC_COEFFICIENT,
    _call_on_tensor,
    _check_cubic_coefficient,
    _check_tensor_function,
    tanh_normal_cdf,
)
from .architecture import _as_list
from .isolation import check_autograd_parameters, for_autograd, gradients_on
from .validation import (
    check_finite,
    check_finite_result,
    check_has_values,
    check_integer,
    check_matches_parameters,
    check_memory,
    check_real,
    short_repr,
)

__all__ = [
    "APPROXIMATION_TARGETS",
    "approximation_error",
    "max_approximation_error",
    "max_error_vs_coefficient",
    "minimax_cubic_coefficient",
    "value_and_derivative",
    "x_grid",
]

#: What the approximation is compared with: the whole GELU ``x·Φ(x)`` or the CDF ``Φ(x)``.
APPROXIMATION_TARGETS = ("gelu", "cdf")


def _normal_cdf(x: torch.Tensor) -> torch.Tensor:
    """The exact standard normal CDF Φ(x), what the tanh formula approximates."""
    return 0.5 * (1.0 + torch.erf(x / math.sqrt(2.0)))


#: What to change when an error measured on a caller's x comes out NaN or inf.
_PRECISION_ADVICE = "measure in float64 (x.double()) on a smaller range of x"


def _check_target(target: str) -> str:
    if target not in APPROXIMATION_TARGETS:
        raise ValueError(
            f"target must be one of {APPROXIMATION_TARGETS!r} (x·Φ(x) or Φ(x)), got {target!r}"
        )
    return target


def x_grid(x_range: Sequence[float] = (-10.0, 10.0), num_points: int = 4001) -> torch.Tensor:
    """Evenly spaced float64 points covering ``x_range = (low, high)``, ends included.

    ``x_range`` may be a tuple, a list, or a 1-D numpy array or tensor of two numbers.

    Raises:
        ValueError: ``low >= high``, a non-finite end, a range wider than float64 holds
            (``high - low`` overflows), or fewer than 2 points.
        TypeError: ``x_range`` is not a pair of numbers, ``num_points`` not an integer.
    """
    x_range = _as_list(x_range, "x_range")
    if isinstance(x_range, (str, bytes)) or not isinstance(x_range, Sequence) or len(x_range) != 2:
        raise TypeError(f"x_range must be a pair (low, high), got {x_range!r}")
    low = check_real(x_range[0], "x_range[0]")
    high = check_real(x_range[1], "x_range[1]")
    if not low < high:
        raise ValueError(f"x_range must have low < high, got {tuple(x_range)!r}")
    if not math.isfinite(high - low):
        # linspace steps by (high - low) / (num_points - 1): an infinite width gives NaN points.
        raise ValueError(
            f"x_range {tuple(x_range)!r} is too wide: high - low overflows float64; "
            "the error is below 1e-8 beyond |x| = 10, so e.g. (-10.0, 10.0) covers it"
        )
    num_points = check_integer(num_points, "num_points", minimum=2)
    # A measurement holds a few float64 copies of the grid.
    check_memory(num_points * 8 * 6, f"num_points={num_points:,}", "use fewer num_points")
    return torch.linspace(low, high, int(num_points), dtype=torch.float64)


def approximation_error(
    x: torch.Tensor, cubic_coefficient: float, target: str = "gelu"
) -> torch.Tensor:
    r"""Signed error of the tanh approximation at every point of ``x``.

    ``target="gelu"``: :math:`\text{GELU}_c(x) - x\,\Phi(x)` (the activation itself);
    ``target="cdf"``: :math:`\tfrac12(1+\tanh(\sqrt{2/\pi}(x+cx^3))) - \Phi(x)`.

    Args:
        x: any shape, floating point, finite (use float64 to see errors below 1e-7).
        cubic_coefficient: the constant :math:`c`, between -1000 and 1000.
        target: ``"gelu"`` or ``"cdf"``.

    Returns:
        A tensor shaped, typed and placed like ``x``.

    Raises:
        ValueError: ``x`` holds NaN or inf, or the error itself came out NaN or inf.

    Example::

        >>> x = torch.linspace(-10, 10, 4001, dtype=torch.float64)
        >>> float(approximation_error(x, 0.044715).abs().max())  # doctest: +ELLIPSIS
        0.000473...
    """
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise TypeError(f"x must be a floating-point torch.Tensor, got {short_repr(x)}")
    check_has_values(x, "x")
    check_finite(x, "x")
    c = _check_cubic_coefficient(cubic_coefficient)
    if _check_target(target) == "gelu":
        error = GELU(c)(x) - torch.nn.functional.gelu(x)
    else:
        error = tanh_normal_cdf(x, c) - _normal_cdf(x)
    check_finite_result(error, "the approximation error", _PRECISION_ADVICE)
    return error


_COEFFICIENTS_EXAMPLE = "[0.004715, 0.044715]"


def _slipped_kind(values: object) -> str | None:
    """``"bool"`` or ``"complex"`` if ``values`` hold such numbers where real ones are meant."""
    if isinstance(values, torch.Tensor | np.ndarray):
        dtype = str(values.dtype)  # "torch.bool", "complex128", ...
        return "bool" if "bool" in dtype else "complex" if "complex" in dtype else None
    items = values if isinstance(values, Sequence) else (values,)
    if any(isinstance(item, bool | np.bool_) for item in items):
        return "bool"
    if any(isinstance(item, complex | np.complexfloating) for item in items):
        return "complex"
    return None


def _is_single_number(value: object) -> bool:
    """A real number, or a 0-d tensor or array of one, where a list of them is asked for."""
    if isinstance(value, np.ndarray):
        return value.ndim == 0 and np.issubdtype(value.dtype, np.number)
    if isinstance(value, torch.Tensor):
        return value.ndim == 0
    return isinstance(value, numbers.Real)


def _as_coefficients(coefficients: object) -> torch.Tensor:
    """``coefficients`` as a float64 tensor, or a clear error (bools are a slip for numbers,
    and a complex number's imaginary part would be dropped)."""
    if isinstance(coefficients, (str, bytes)):
        raise TypeError(f"coefficients must be a 1-D sequence of numbers, got {coefficients!r}")
    if isinstance(coefficients, torch.Tensor):
        check_has_values(coefficients, "coefficients")
    kind = _slipped_kind(coefficients)
    if kind == "bool":
        raise TypeError(
            f"coefficients must be numbers, got {short_repr(coefficients)} (True/False); "
            f"write e.g. {_COEFFICIENTS_EXAMPLE}"
        )
    if kind == "complex":
        raise TypeError(
            f"coefficients must be real numbers, got {short_repr(coefficients)}, which holds "
            f"complex ones (their imaginary part would be dropped); write e.g. "
            f"{_COEFFICIENTS_EXAMPLE}"
        )
    if _is_single_number(coefficients):
        raise TypeError(
            f"coefficients must be a list of numbers such as {_COEFFICIENTS_EXAMPLE}, got the "
            f"single number {short_repr(coefficients)}; for one coefficient pass a list of "
            f"one, e.g. [{float(coefficients):.6g}] (max_approximation_error gives its error "
            "as a float)"
        )
    try:
        return torch.as_tensor(coefficients, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError):
        raise TypeError(
            f"coefficients must be a 1-D sequence of numbers, got {short_repr(coefficients)}"
        ) from None


# The error of the tanh form peaks in bumps about one unit wide, within |x| < 4: a grid
# sparser than this steps over them and reports a smaller "largest" error.
MAX_GRID_SPACING = 0.05


def _error_grid(x_range: Sequence[float], num_points: int) -> torch.Tensor:
    """:func:`x_grid`, refused when it reaches the bumps (|x| < 6) with points too far apart
    to find the largest error."""
    x = x_grid(x_range, num_points)
    spacing = float(x[1] - x[0])
    if spacing > MAX_GRID_SPACING * (1 + 1e-9) and x[0] < 6 and x[-1] > -6:  # 20 / 400 rounds up
        needed = math.ceil(float(x[-1] - x[0]) / MAX_GRID_SPACING) + 1
        more = f"use num_points >= {needed:,} or " if needed <= 10**7 else "use "
        raise ValueError(
            f"num_points={len(x):,} on x_range {tuple(float(v) for v in (x[0], x[-1]))!r} puts "
            f"the points {spacing:.3g} apart, too far to find the largest error (its bumps are "
            f"about 1 wide, within |x| < 4); {more}a narrower x_range, e.g. (-10.0, 10.0)"
        )
    return x


def max_error_vs_coefficient(
    coefficients: Sequence[float] | torch.Tensor,
    x_range: Sequence[float] = (-10.0, 10.0),
    num_points: int = 4001,
    target: str = "gelu",
) -> torch.Tensor:
    r"""Largest :math:`|\text{error}|` over ``x_range`` for each coefficient, in one pass.

    Args:
        coefficients: the values of :math:`c` to try (each between -1000 and 1000): a list,
            or a 1-D array or tensor, of real numbers; for one value write ``[c]``.
        x_range, num_points: the float64 grid on which the maximum is taken.
        target: ``"gelu"`` or ``"cdf"`` (see :func:`approximation_error`).

    Returns:
        float64 tensor of shape ``(len(coefficients),)``.
    """
    _check_target(target)
    c = _as_coefficients(coefficients)
    if c.ndim != 1 or c.numel() == 0:
        raise ValueError(
            f"coefficients must be a non-empty 1-D sequence such as {_COEFFICIENTS_EXAMPLE}, "
            f"got {short_repr(coefficients)} of shape {tuple(c.shape)}"
        )
    if not bool(torch.isfinite(c).all()):
        raise ValueError("coefficients must be finite, but some are NaN or infinite")
    too_large = (c.abs() > MAX_CUBIC_COEFFICIENT).nonzero()
    if too_large.numel():
        i = int(too_large[0])
        _check_cubic_coefficient(float(c[i]), f"coefficients[{i}]")  # raises, naming the value
    x = _error_grid(x_range, num_points)
    check_memory(
        c.numel() * x.numel() * 8 * 4,
        f"{c.numel():,} coefficients x {x.numel():,} points",
        "pass fewer coefficients or fewer num_points",
    )
    # One (coefficients x points) matrix: a few hundred coefficients cost milliseconds.
    error = tanh_normal_cdf(x, c[:, None]) - _normal_cdf(x)
    if target == "gelu":
        error = x * error  # GELU_c(x) - x·Φ(x) = x·(Φ_c(x) - Φ(x))
    worst = error.abs().amax(dim=1)
    check_finite_result(worst, "the largest errors", "use a narrower x_range, e.g. (-10.0, 10.0)")
    return worst


def max_approximation_error(
    cubic_coefficient: float,
    x_range: Sequence[float] = (-10.0, 10.0),
    num_points: int = 4001,
    target: str = "gelu",
) -> float:
    """Largest ``|error|`` of the approximation with constant ``cubic_coefficient`` on ``x_range``.

    ``max_approximation_error(0.044715)`` is about 4.7e-4; student notebook A's typo
    ``max_approximation_error(0.004715)`` is about 0.029.
    """
    x = _error_grid(x_range, num_points)
    return float(approximation_error(x, cubic_coefficient, target).abs().max())


def minimax_cubic_coefficient(
    x_range: Sequence[float] = (-10.0, 10.0),
    target: str = "gelu",
    bracket: tuple[float, float] = (0.0, 0.1),
    num_points: int = 8001,
    tolerance: float = 1e-9,
) -> float:
    """The constant ``c`` whose largest error on ``x_range`` is smallest (golden-section search).

    For ``target="cdf"`` on (-10, 10) this is 0.044715 (to six decimals): the published
    constant is the best one for the CDF :math:`\\Phi`. For the GELU ``x·Φ(x)`` itself the
    best constant is slightly smaller (about 0.04438).

    Args:
        x_range, num_points: the float64 grid on which the maximum is taken.
        target: ``"gelu"`` or ``"cdf"``.
        bracket: ``(low, high)`` interval searched; the max error must have a single
            minimum inside it (true for ``(0, 0.1)`` and any range). A search that ends at
            either edge found no minimum there and raises.
        tolerance: stop when the bracket is narrower than this (> 0, and not below
            what float64 resolves in the bracket).

    Raises:
        ValueError: the search would evaluate the error at more than
            :data:`MAX_SEARCH_POINTS` points in all (a ``num_points`` that would take more
            than about 10 s), or ended at an edge of ``bracket``.
    """
    _check_target(target)
    bracket = _as_list(bracket, "bracket")
    if isinstance(bracket, (str, bytes)) or not isinstance(bracket, Sequence) or len(bracket) != 2:
        raise TypeError(f"bracket must be a pair (low, high), got {bracket!r}")
    low, high = (_check_cubic_coefficient(v, f"bracket[{i}]") for i, v in enumerate(bracket))
    if not low < high:
        raise ValueError(f"bracket must have low < high, got {bracket!r}")
    tolerance = check_real(tolerance, "tolerance", positive=True)
    resolution = 4 * math.ulp(max(abs(low), abs(high)))
    if tolerance < resolution:
        raise ValueError(
            f"tolerance must be at least {resolution:.3g} (float64 cannot narrow the bracket "
            f"{tuple(bracket)!r} further), got {tolerance!r}"
        )
    if tolerance >= high - low:  # the search would stop before its first step
        raise ValueError(
            f"tolerance must be smaller than the bracket's width, {high - low:g} for "
            f"{tuple(bracket)!r}, got {tolerance!r}; e.g. tolerance=1e-9"
        )
    inverse_golden = (math.sqrt(5.0) - 1.0) / 2.0
    # Each step shrinks the bracket by the golden ratio: this many steps reach the tolerance.
    max_steps = math.ceil(math.log((high - low) / tolerance) / -math.log(inverse_golden)) + 2
    num_points = check_integer(num_points, "num_points", minimum=2)
    _check_search_size(max_steps + 2, num_points)
    x = _error_grid(x_range, num_points)

    def worst(c: float) -> float:
        return float(approximation_error(x, c, target).abs().max())

    a, b = low, high
    c1, c2 = b - inverse_golden * (b - a), a + inverse_golden * (b - a)
    f1, f2 = worst(c1), worst(c2)
    for _ in range(max_steps):
        if not b - a > tolerance:
            break
        if f1 < f2:
            b, c2, f2 = c2, c1, f1
            c1 = b - inverse_golden * (b - a)
            f1 = worst(c1)
        else:
            a, c1, f1 = c1, c2, f2
            c2 = a + inverse_golden * (b - a)
            f2 = worst(c2)
    if a == low or b == high:  # one end never moved: the error kept falling towards it
        edge, end = (low, "low") if a == low else (high, "high")
        raise ValueError(
            f"bracket {tuple(bracket)!r} holds no minimum of the largest error: the search "
            f"ended at its {end} end ({edge!r}, giving c = {(a + b) / 2.0!r}), and an edge is "
            "not a minimum (the minimum lies beyond it, or the error has more than one valley "
            "in the bracket); pass a bracket in which the error falls and then rises, such as "
            "(0.0, 0.1)"
        )
    return (a + b) / 2.0


#: Most error evaluations (grid points times golden-section steps) one search may do: at about
#: 4e-8 s each on a laptop CPU, some 10 s. The default search needs about 350,000.
MAX_SEARCH_POINTS = 250_000_000


def _check_search_size(evaluations: int, num_points: int) -> None:
    """Fail at once for a search that would run for minutes (it grows with num_points)."""
    total = evaluations * num_points
    if total > MAX_SEARCH_POINTS:
        most = MAX_SEARCH_POINTS // evaluations
        raise ValueError(
            f"num_points={num_points:,} is too many for a search: its {evaluations} "
            f"evaluations of the error, each over every point, come to {total:,} (about "
            f"{total * 4e-8:,.0f} s); "
            f"use num_points of at most {most:,} (the default 8001 already gives the "
            "constant to 6 decimals)"
        )


def value_and_derivative(
    function: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""``function(x)`` and its elementwise derivative :math:`f'(x)`, by autograd.

    ``function`` must act elementwise (every activation does), so the gradient of
    ``function(x).sum()`` with respect to ``x`` is :math:`f'(x)` at every point.
    Both results are detached, shaped like ``x``. A function that draws random numbers
    (dropout) draws them without moving torch's global random state; ``function`` gets a
    copy of ``x`` (one that works in place leaves ``x`` alone); gradients are on inside,
    even within ``torch.no_grad()`` or ``torch.inference_mode()``.

    Raises:
        TypeError: ``function`` is a class (``GELU`` for ``GELU()``), a numpy or math
            function (autograd cannot follow them), or does not take a tensor.
        ValueError: ``x`` is not finite; ``function`` is not elementwise (its Jacobian is not
            diagonal: ``torch.softmax(x, 0)``, ``torch.cumsum(x, 0)``), has no gradient (a
            comparison such as ``(x > 0).float()``), is a step (``torch.round``: a derivative
            of exactly 0 at every point while the values change), or overflowed.

    Example::

        >>> y, dy = value_and_derivative(torch.nn.ReLU(), torch.tensor([-1.0, 2.0]))
        >>> dy
        tensor([0., 1.])
    """
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise TypeError(f"x must be a floating-point torch.Tensor, got {short_repr(x)}")
    _check_tensor_function(function)
    check_autograd_parameters(function)
    check_has_values(x, "x")
    check_finite(x, "x")
    if isinstance(function, torch.nn.Module):
        check_matches_parameters(function, x, "x", owner="function")
    with gradients_on(), torch.random.fork_rng(devices=[]):
        x = for_autograd(x).detach().clone().requires_grad_(True)
        y = _call_on_tensor(function, x)
        if y.shape != x.shape:
            raise ValueError(
                f"function must map x elementwise (same shape {tuple(x.shape)}), "
                f"got shape {tuple(y.shape)}"
            )
        dy = probe = None
        if y.requires_grad:
            (dy,) = torch.autograd.grad(y.sum(), x, allow_unused=True, retain_graph=True)
            probe = _mixing_probe(y, x)
    if dy is None:
        raise ValueError(
            "function has no derivative autograd can follow: its output does not depend "
            "on x through differentiable operations (a comparison such as (x > 0).float(), "
            "or x.detach()); use a smooth function such as torch.sigmoid"
        )
    advice = "the function overflowed at these x; use smaller x, or float64 (x.double())"
    check_finite_result(y, "function(x)", advice)
    check_finite_result(dy, "the derivative", advice)
    _check_elementwise(dy, probe)
    _check_not_a_step(y.detach(), dy)
    return y.detach(), dy


def _mixing_probe(y: torch.Tensor, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | None:
    """``(w, w^T J)`` for irregular weights ``w``: an elementwise function's Jacobian ``J`` is
    diagonal, so ``w^T J`` is ``w`` times the derivative; anything else mixes elements."""
    if x.numel() < 2:
        return None
    # A private generator: the weights are the same every call, the global state untouched.
    generator = torch.Generator().manual_seed(0)
    weights = 1.0 + torch.rand(x.shape, generator=generator, dtype=torch.float64)
    weights = weights.to(dtype=x.dtype, device=x.device)
    (mixed,) = torch.autograd.grad(y, x, weights, allow_unused=True)
    return None if mixed is None else (weights, mixed)


def _check_elementwise(
    derivative: torch.Tensor, probe: tuple[torch.Tensor, torch.Tensor] | None
) -> None:
    """Raise unless ``w^T J`` equals ``w`` times the derivative, up to ``x``'s rounding."""
    if probe is None:
        return
    weights, mixed = (t.double() for t in probe)
    expected = weights * derivative.double()
    size = max(float(mixed.abs().max()), float(expected.abs().max()))
    tolerance = max(1e-4, 16 * torch.finfo(derivative.dtype).eps) * size
    if not bool(torch.isfinite(mixed).all()) or float((mixed - expected).abs().max()) <= tolerance:
        return
    raise ValueError(
        "function is not elementwise: its output at one point depends on other elements of "
        "x (as torch.softmax(x, 0), torch.cumsum(x, 0) or x - x.mean() do), so there is no "
        "derivative f'(x) point by point; pass a function applied to each element alone, "
        "such as torch.sigmoid or GELU()"
    )


def _check_not_a_step(y: torch.Tensor, derivative: torch.Tensor) -> None:
    """A derivative of exactly 0 at every point while the values change: a staircase
    (``torch.round``), whose slope autograd reports as 0. Two plateaus are not enough to
    tell (a saturated ``tanh`` at +-100 is flat there too)."""
    if bool((derivative != 0).any()):
        return
    levels = torch.unique(y)
    if levels.numel() < 3:
        return
    raise ValueError(
        f"function's derivative is exactly 0 at every x, though its values change "
        f"({levels.numel()} different values from {float(levels[0]):.4g} to "
        f"{float(levels[-1]):.4g}): it is a step function (such as torch.round, torch.floor "
        "or torch.sign), whose slope autograd reports as 0 everywhere; use a smooth function "
        "such as torch.sigmoid"
    )
