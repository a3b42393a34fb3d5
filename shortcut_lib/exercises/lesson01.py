"""Lesson 01's exercises: the sigmoid approximation of GELU, and a test that catches wrong GELUs."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn
from torch.nn import functional as F

from ..activations import GELU
from ..approximation import max_approximation_error
from ._shared import LearnerCodeFailed, call_learner, check_learner_function, read_number

#: The sigmoid approximation's published constant: GELU(x) ≈ x·σ(1.702·x).
SIGMOID_GELU_CONSTANT = 1.702


def _sigmoid_gelu_error(constant: float, x: torch.Tensor) -> float:
    return float((x * torch.sigmoid(constant * x) - F.gelu(x)).abs().max())


def _best_sigmoid_constant(x: torch.Tensor, low: float = 1.5, high: float = 2.0) -> float:
    """Golden-section search for the constant with the smallest worst error on ``x``."""
    inverse_golden = (math.sqrt(5.0) - 1.0) / 2.0
    a, b = low, high
    while b - a > 1e-7:
        c1, c2 = b - inverse_golden * (b - a), a + inverse_golden * (b - a)
        if _sigmoid_gelu_error(c1, x) < _sigmoid_gelu_error(c2, x):
            b = c2
        else:
            a = c1
    return (a + b) / 2.0


def check_01_sigmoid_gelu(largest_error: float, best_constant: float) -> None:
    """Lesson 01, exercise 1: the sigmoid approximation ``x·σ(a·x)`` of GELU.

    Args:
        largest_error: your largest ``|x·σ(1.702·x) − F.gelu(x)|`` on [-10, 10].
        best_constant: your ``a`` that makes that largest error smallest.
    """
    largest_error = read_number("largest_error", largest_error)
    best_constant = read_number("best_constant", best_constant)
    x = torch.linspace(-10.0, 10.0, 20001, dtype=torch.float64)
    expected_error = _sigmoid_gelu_error(SIGMOID_GELU_CONSTANT, x)
    if not math.isclose(largest_error, expected_error, rel_tol=0.02):
        hint = (
            " — that is the tanh version's error: use x * torch.sigmoid(1.702 * x)"
            if 3e-4 < largest_error < 6e-4
            else " — take the largest absolute difference, .abs().max(), on a fine float64 grid"
        )
        raise AssertionError(
            f"largest error of x·σ(1.702·x): yours {largest_error:.4g}, expected about "
            f"{expected_error:.4g}{hint}"
        )
    best = _best_sigmoid_constant(x)
    best_error = _sigmoid_gelu_error(best, x)
    if not abs(best_constant - best) <= 0.005:
        yours = (
            f" (its largest error is {_sigmoid_gelu_error(best_constant, x):.3g})"
            if 0.0 < best_constant < 10.0
            else ""
        )
        raise AssertionError(
            f"best constant: yours {best_constant:.4g}{yours}, expected about {best:.4g} "
            f"(largest error {best_error:.3g}) — scan a between 1.5 and 2 and keep the a whose "
            "largest error is smallest, as lesson 01's 'Why 0.044715?' does for c"
        )
    tanh_error = max_approximation_error(0.044715, num_points=20001)
    print(
        f"Right: with a = {SIGMOID_GELU_CONSTANT} the largest error is {expected_error:.3g} "
        f"({expected_error / tanh_error:.0f}× the tanh GELU's); with the best a, {best:.2f}, "
        f"it is {best_error:.3g} ({best_error / tanh_error:.0f}× the tanh GELU's)."
    )


class _AbsoluteCubeGELU(GELU):
    """The tanh GELU with ``|x|³`` for ``x³``: right for x ≥ 0, wrong for every x < 0."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        inner = math.sqrt(2.0 / math.pi) * (x + self.cubic_coefficient * x.abs() ** 3)
        return 0.5 * x * (1.0 + torch.tanh(inner))


def _wrong_gelus() -> dict[str, tuple[nn.Module, str]]:
    """Modules that are not the tanh GELU, each with what a test that passes it missed."""
    tolerance = "keep the tolerance tight: torch.testing.assert_close's default, not 1e-3"
    return {
        "GELU(0.004715), student notebook A's typo": (
            GELU(0.004715),
            "test many x, including |x| ≈ 2 where the typo matters most (GELU(0) is 0 for "
            "any constant), and raise AssertionError on a difference",
        ),
        "GELU(0.04)": (GELU(0.04), "test many x, including |x| ≈ 2"),
        "nn.GELU(), the exact GELU": (
            nn.GELU(),
            'compare with F.gelu(x, approximate="tanh") (not the exact F.gelu(x)) and ' + tolerance,
        ),
        "GELU(0.0445), a constant close to 0.044715": (GELU(0.0445), tolerance),
        "a GELU with |x|³ for x³ (right for x ≥ 0 only)": (
            _AbsoluteCubeGELU(),
            "test negative x too: a single point or positive x alone cannot see it",
        ),
    }


def check_01_gelu_test(test_function: Callable[[nn.Module], object]) -> None:
    """Lesson 01, exercise 2: your test must pass the tanh GELU and fail on anything else.

    The wrong modules tried are student notebook A's typo, other constants (0.04, and
    0.0445, only about 1.3e-4 off), the exact ``nn.GELU()`` (4.7e-4 off) and a GELU that
    is right for x ≥ 0 only.

    Args:
        test_function: called with a GELU module; it should raise ``AssertionError``
            when the module is not the tanh GELU (``F.gelu(x, approximate="tanh")``)
            and return normally when it is.
    """
    check_learner_function(
        test_function,
        "test_function must be a function of a GELU module",
        "def test_gelu(gelu): ... then check_01_gelu_test(test_gelu)",
    )
    failure = _failure_of(test_function, GELU(), "GELU()")
    if failure is not None:
        said = (str(failure).splitlines() or ["an AssertionError without a message"])[0]
        raise AssertionError(
            f"your test fails on the right GELU(), with: {said} — "
            'compare with F.gelu(x, approximate="tanh"), not with the exact F.gelu(x), and allow '
            "float rounding (torch.testing.assert_close does)"
        )
    for name, (module, advice) in _wrong_gelus().items():
        if _failure_of(test_function, module, name.split(",")[0]) is not None:
            continue
        raise AssertionError(
            f"your test passes {name}, which is up to {_gelu_difference(module):.2g} off the "
            f"tanh GELU — {advice}"
        )
    print(
        "Right: your test passes GELU() and fails on the typo 0.004715, on c = 0.04 and "
        "0.0445, on the exact nn.GELU() and on a GELU that is wrong only for x < 0."
    )


def _failure_of(
    test_function: Callable[[nn.Module], object], module: nn.Module, name: str
) -> AssertionError | None:
    """The AssertionError the learner's test raises on ``module`` (its verdict "wrong GELU"),
    or None if it passes it. Any other error is a bug in the test, and said so."""
    try:
        call_learner(test_function, f"your test on {name}", module, expected=(AssertionError,))
    except LearnerCodeFailed as error:
        raise AssertionError(
            f"{error} — a test should raise AssertionError (assert ..., or "
            "torch.testing.assert_close) when the GELU is wrong, and return normally when it "
            "is right"
        ) from error.__cause__
    except AssertionError as error:
        return error
    return None


def _gelu_difference(module: nn.Module) -> float:
    x = torch.linspace(-10.0, 10.0, 4001, dtype=torch.float64)
    return float((module(x) - F.gelu(x, approximate="tanh")).abs().max())
