"""Per-layer gradient magnitudes: the measurement behind the vanishing-gradient story."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import torch
from torch import nn

from .validation import check_positive_int, check_target

__all__ = ["layer_gradient_means", "print_gradients"]


def _reject_overflow(measure: Callable[..., dict[str, float]]) -> Callable[..., dict[str, float]]:
    """Turn a non-finite gradient mean into an error that says what to change."""

    @functools.wraps(measure)
    def checked(*args, **kwargs) -> dict[str, float]:
        means = measure(*args, **kwargs)
        bad = [name for name, value in means.items() if not math.isfinite(value)]
        if bad:
            raise ValueError(f"the gradient of {bad[0]} is not finite; {_OVERFLOW_ADVICE}")
        return means

    return checked


# Decorators, so that the body (which lesson 03 prints) stays the measurement alone;
# enable_grad: the measurement works inside a notebook's `with torch.no_grad():` too.
@_reject_overflow
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
        ValueError: ``x`` or ``target`` is empty or not finite, or the output or a
            gradient overflowed to inf/NaN (e.g. a very deep network in float32).

    Args:
        model: any module; an ``ExampleDeepNeuralNetwork`` checks ``x`` itself.
        x: input, shape :math:`(*, \text{in\_features})`.
        target: shaped like the output; ``None`` means zeros, as in the book.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    if x.device.type != "meta" and not bool(torch.isfinite(x).all()):
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
        significant_digits = check_positive_int(significant_digits, "significant_digits")
    means = layer_gradient_means(model, x, target)
    for name, value in means.items():
        shown = value if significant_digits is None else f"{value:.{significant_digits}g}"
        print(f"{name} has gradient mean of {shown}")
    return means
