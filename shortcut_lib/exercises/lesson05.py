"""Lesson 05's exercises: the plain classifier's decay per layer at init, and Adam's first step."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from ..checks._student_code import _tensor_hint
from ..training import input_signal, make_classifier_pair, make_spirals
from ._shared import call_learner, check_learner_function, read_number

#: The depths of lesson 05's exercise 1.
LESSON_05_DEPTHS = (4, 6, 8, 10, 12, 14, 16)


def lesson_05_decades_per_layer() -> float:
    """How many decades the plain net's first-layer gradient loses per layer, at init.

    The least-squares slope of ``log10(mean |dL/dW0|)`` against depth over
    :data:`LESSON_05_DEPTHS`, for lesson 05's spirals and plain classifiers
    (width 16, seed 0), as a positive number.
    """
    X, y = make_spirals(n_points=256, noise=0.04, seed=0, turns=1.5)
    logs = []
    with torch.enable_grad():  # input_signal backpropagates: works inside torch.no_grad() too
        for depth in LESSON_05_DEPTHS:
            plain, _ = make_classifier_pair(depth, 16, seed=0)
            logs.append(math.log10(input_signal(plain, X, y)[1]))
    depths = torch.tensor(LESSON_05_DEPTHS, dtype=torch.float64)
    values = torch.tensor(logs, dtype=torch.float64)
    centred = depths - depths.mean()
    slope = float((centred * (values - values.mean())).sum() / (centred**2).sum())
    return -slope


def check_05_decades_per_layer(decades: float) -> None:
    """Exercise 1: decades the plain first-layer gradient loses per added layer.

    As in lesson 04, a loss is positive: the answer is the least-squares slope of
    ``log10(mean |dL/dW0|)`` against depth with its sign flipped, accepted within 0.05.
    The slope itself (negative) and the natural log's slope get a hint of their own.
    """
    decades = read_number("decades", decades)
    expected = lesson_05_decades_per_layer()
    if abs(decades - expected) <= 0.05:
        print(
            f"Right: about {expected:.2f} decades lost per layer, a factor of "
            f"{10**expected:.1f} smaller gradient for every layer added."
        )
        return
    natural = expected * math.log(10)
    if abs(decades + expected) <= 0.05:
        hint = (
            "that is the slope itself; the decades *lost* per layer are its negative "
            "(lesson 04's convention: a loss is positive)"
        )
    elif any(abs(decades - factor) <= 0.02 * factor for factor in (10**expected, 10**-expected)):
        hint = (
            f"that is the factor per layer ({10**expected:.3g}, or its inverse); the decades "
            "are its log10: fit a line to log10 of the gradient against depth"
        )
    elif abs(abs(decades) - natural) <= 0.05 * natural:
        hint = (
            f"that is the slope of the natural log (np.log), ln 10 = {math.log(10):.2f} "
            "times larger: a decade is a factor of 10, so fit np.log10 of the gradient"
        )
    else:
        hint = (
            "fit a line to log10(gradient), not to the gradient itself, and use the plain "
            "nets at initialisation (input_signal)"
        )
    raise AssertionError(
        f"expected about {expected:.2f} decades lost per layer (minus the slope of log10 of "
        f"the first-layer gradient against depth, depths {LESSON_05_DEPTHS[0]} to "
        f"{LESSON_05_DEPTHS[-1]}), got {decades:g}: {hint}"
    )


def _adam_first_step_reference(gradient: torch.Tensor, lr: float, eps: float) -> torch.Tensor:
    """The change torch.optim.Adam makes to a parameter with this gradient on step 1."""
    parameter = torch.zeros_like(gradient, requires_grad=True)
    optimizer = torch.optim.Adam([parameter], lr=lr, eps=eps, foreach=False)
    parameter.grad = gradient.clone()
    optimizer.step()
    return parameter.detach().clone()


def _check_step(yours: object, gradient: torch.Tensor, call: str) -> None:
    """The learner's step is a finite tensor like ``gradient``, or a message says what it is."""
    like = f"a tensor of Δw like gradient (shape {tuple(gradient.shape)}, {gradient.dtype})"
    if not isinstance(yours, torch.Tensor):
        raise AssertionError(_tensor_hint(yours, call, "return", like))
    if yours.shape != gradient.shape:
        raise AssertionError(
            f"adam_first_step must return one step per gradient entry, shape "
            f"{tuple(gradient.shape)}, got {tuple(yours.shape)}"
        )
    if yours.dtype != gradient.dtype or yours.device != gradient.device:
        raise AssertionError(
            f"{call} turned a {gradient.dtype} gradient into a {yours.dtype} step on "
            f"{yours.device}; keep the gradient's dtype and device, as torch.optim.Adam does"
        )
    if not bool(torch.isfinite(yours).all()):
        worst = int((~torch.isfinite(yours)).nonzero()[0])
        raise AssertionError(
            f"{call} returned {yours[worst].item()} for gradient {gradient[worst].item():.0e}: "
            "Δw = -lr · m̂ / (√v̂ + eps) is finite for every gradient"
        )


def check_05_adam_first_step(adam_first_step: Callable[..., torch.Tensor]) -> None:
    """Exercise 3: ``adam_first_step(gradient, lr, eps)`` returns Adam's first update Δw.

    Compared with ``torch.optim.Adam`` (default betas) on gradients from 1e-12 to 1,
    both signs, for two learning rates and three values of eps. The step must be a finite
    tensor of the gradient's shape and dtype (float64), as Adam's is.
    """
    check_learner_function(
        adam_first_step,
        "expected your function adam_first_step(gradient, lr, eps)",
        "def adam_first_step(gradient, lr, eps): ... "
        "then check_05_adam_first_step(adam_first_step)",
    )
    magnitudes = 10.0 ** torch.arange(-12, 1, dtype=torch.float64)
    gradient = torch.cat([magnitudes, -magnitudes])
    for lr in (1e-3, 0.1):
        for eps in (1e-8, 1e-14, 1e-3):
            expected = _adam_first_step_reference(gradient, lr, eps)
            call = f"adam_first_step(gradient, lr={lr}, eps={eps})"
            yours = call_learner(adam_first_step, call, gradient.clone(), lr, eps)
            _check_step(yours, gradient, call)
            yours = yours.detach()
            if torch.allclose(yours, expected, rtol=1e-6, atol=0.0):
                continue
            worst = int((yours - expected).abs().argmax())
            g = gradient[worst].item()
            hint = "Δw = -lr · m̂ / (√v̂ + eps), with m̂ = g and v̂ = g² on the first step"
            if torch.allclose(yours, -expected, rtol=1e-6):
                hint = "the sign: Adam steps against the gradient (Δw = -lr · ...)"
            elif torch.allclose(yours, -lr * gradient.sign(), rtol=1e-6):
                hint = "eps: it is added to √v̂ in the denominator, and for tiny g it wins"
            elif torch.allclose(yours, -lr * gradient / (gradient**2 + eps).sqrt(), rtol=1e-6):
                hint = "eps goes outside the square root: √v̂ + eps, not √(v̂ + eps)"
            raise AssertionError(
                f"with lr={lr}, eps={eps} and gradient {g:.0e}: yours {yours[worst].item():.4g}, "
                f"torch.optim.Adam {expected[worst].item():.4g}; check {hint}"
            )
    g = torch.tensor([4e-11])
    default, tiny = (_adam_first_step_reference(g, 3e-3, eps).item() for eps in (1e-8, 1e-14))
    print(
        f"Right: your step matches torch.optim.Adam. For g = 4e-11 and lr = 0.003 it is "
        f"{default:.1e} with eps = 1e-8 and {tiny:.1e} with eps = 1e-14."
    )
