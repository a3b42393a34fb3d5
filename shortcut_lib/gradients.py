"""Per-layer gradient magnitudes: the measurement behind the vanishing-gradient story."""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable

import torch
from torch import nn

from .validation import (
    ERRORS_OF_THEIR_OWN,
    check_has_values,
    check_matches_parameters,
    check_module,
    check_positive_int,
    check_target,
    check_trainable,
)

__all__ = ["layer_gradient_means", "print_gradients"]

#: float64 holds 17 significant digits: more would only print noise (and 10**9 never ends).
MAX_SIGNIFICANT_DIGITS = 17

#: Dtypes whose gradients underflow to exactly 0 where float32 still resolves them.
_LOW_PRECISION = (torch.float16, torch.bfloat16)


def _check_significant_digits(digits: object) -> int:
    digits = check_positive_int(digits, "significant_digits")
    if digits > MAX_SIGNIFICANT_DIGITS:
        raise ValueError(
            f"significant_digits must be at most {MAX_SIGNIFICANT_DIGITS} (a float64 holds "
            f"about 17 significant digits), got {digits!r}"
        )
    return digits


def _check_measurement(
    measure: Callable[..., dict[str, float]],
) -> Callable[..., dict[str, float]]:
    """Report what the measurement's body cannot: the model failing on ``x`` (torch's
    shape error, said with ``x``'s shape), an overflow, and a low-precision underflow."""

    @functools.wraps(measure)
    def checked(
        model: nn.Module, x: torch.Tensor, target: torch.Tensor | None = None
    ) -> dict[str, float]:
        try:
            means = measure(model, x, target)
        except ERRORS_OF_THEIR_OWN:
            raise
        except RuntimeError as error:
            # The body checked model, x and target: what is left is the model's own forward
            # failing, almost always x's shape (models' shapes are not predicted here).
            raise ValueError(
                f"model(x) failed for x of shape {tuple(x.shape)}: {type(error).__name__}: "
                f"{error}; give x the shape the model expects, e.g. (batch, in_features) for "
                "nn.Linear"
            ) from error
        bad = [name for name, value in means.items() if not math.isfinite(value)]
        if bad:
            raise ValueError(f"the gradient of {bad[0]} is not finite; {_OVERFLOW_ADVICE}")
        _warn_if_underflowed(model, means)
        return means

    return checked


def _warn_if_underflowed(model: nn.Module, means: dict[str, float]) -> None:
    """float16's smallest number is 6e-8: a deep net's gradients there round to exactly 0.

    Only low precision is flagged: in float32/float64 a 0 is real (a dead ReLU network).
    """
    zeros = [name for name, value in means.items() if value == 0.0]
    dtypes = {p.dtype for p in model.parameters()} & set(_LOW_PRECISION)
    if zeros and dtypes:
        dtype = sorted(dtypes, key=str)[0]
        smallest = torch.finfo(dtype).smallest_normal * torch.finfo(dtype).eps
        warnings.warn(
            f"{len(zeros)} of the {len(means)} gradient means are exactly 0 in {dtype}, "
            f"which rounds anything below {smallest:.2g} to 0: they may have underflowed; "
            "measure in float32 (model.float(), x.float())",
            RuntimeWarning,
            stacklevel=3,
        )


# Decorators, so that the body (which lesson 03 prints) stays the measurement alone;
# enable_grad: the measurement works inside a notebook's `with torch.no_grad():` too.
@_check_measurement
@torch.enable_grad()
def layer_gradient_means(
    model: nn.Module, x: torch.Tensor, target: torch.Tensor | None = None
) -> dict[str, float]:
    r"""Mean absolute gradient of every weight after one backward pass.

    Runs ``loss = MSE(model(x), target)``, backpropagates, and returns
    :math:`\operatorname{mean}|\partial \text{loss} / \partial W|` for each
    parameter whose name ends in ``weight``, keyed by its name
    (``layers.0.0.weight``, ...), in the model's order.

    Gradients are zeroed first, so calling it twice gives the same numbers
    (the book's ``print_gradients`` silently accumulates them). Gradients are
    enabled for the measurement even inside ``torch.no_grad()``, and ``x.grad``
    is left alone (only the model's weights get a ``.grad``).

    Raises:
        TypeError: ``model`` is not a module instance, or ``x`` not a floating-point
            tensor of the model's dtype.
        ValueError: ``model`` has no parameters that take a gradient; ``x`` or
            ``target`` is empty, not finite, on another device than the model, or of a
            shape the model rejects; the output or a gradient overflowed to inf/NaN
            (e.g. a very deep network in float32).

    Warns:
        RuntimeWarning: in float16/bfloat16, when some means are exactly 0 (they may
            have underflowed; float32 resolves them).

    Args:
        model: any module; an ``ExampleDeepNeuralNetwork`` checks ``x``'s shape itself.
        x: input, shape :math:`(*, \text{in\_features})`.
        target: shaped like the output; ``None`` means zeros, as in the book.
    """
    check_module(model, "model")
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    check_has_values(x, "x")
    if not x.is_floating_point():
        raise TypeError(
            f"x must be a floating-point tensor, got dtype {x.dtype}; "
            "write e.g. torch.tensor([[1., 0., -1.]]) with decimal points"
        )
    check_matches_parameters(model, x)
    check_trainable(model)
    if not bool(torch.isfinite(x).all()):
        raise ValueError("x must be finite, but it holds NaN or infinite values")
    if x.numel() == 0:
        raise ValueError(f"x is empty (shape {tuple(x.shape)}); expected at least one sample")
    # Measure the weights' gradients only: a caller's x that requires grad keeps its .grad.
    x = x.detach()
    model.zero_grad(set_to_none=True)
    output = model(x)
    if target is None:
        target = torch.zeros_like(output)
    check_target(target, output)
    loss = nn.functional.mse_loss(output, target)
    loss.backward()
    return {
        name: param.grad.abs().mean().item()
        for name, param in model.named_parameters()
        if name.endswith("weight") and param.grad is not None
    }


_OVERFLOW_ADVICE = (
    "the network overflowed (too many layers for its dtype, or too large an input): "
    "use fewer layers, or float64 with model.double() and x.double()"
)


def print_gradients(
    model: nn.Module,
    x: torch.Tensor,
    target: torch.Tensor | None = None,
    significant_digits: int | None = 4,
) -> dict[str, float]:
    """Print the book's table, ``layers.0.0.weight has gradient mean of ...``.

    Numbers are rounded to ``significant_digits`` (the 5th digit onwards
    changes with the CPU and torch version); ``None`` prints full precision
    like the book. Returns the same numbers as :func:`layer_gradient_means`.
    """
    if significant_digits is not None:
        significant_digits = _check_significant_digits(significant_digits)
    means = layer_gradient_means(model, x, target)
    for name, value in means.items():
        shown = value if significant_digits is None else f"{value:.{significant_digits}g}"
        print(f"{name} has gradient mean of {shown}")
    return means
