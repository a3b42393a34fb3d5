"""Per-layer gradient magnitudes: the measurement behind the vanishing-gradient story."""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

import torch
from torch import nn

from .isolation import (
    batch_statistics_checked,
    check_autograd_parameters,
    for_autograd,
    gradients_on,
)
from .validation import (
    ERRORS_OF_THEIR_OWN,
    check_has_values,
    check_matches_parameters,
    check_module,
    check_positive_int,
    check_target,
    check_trainable,
    described,
    short_repr,
    type_name,
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
    shape error, said with ``x``'s shape), an overflow, nothing measured, and a
    low-precision underflow. The measurement draws its random numbers (dropout) from a
    private copy of the global random state and leaves the model's buffers as they were."""

    @functools.wraps(measure)
    def checked(
        model: nn.Module, x: torch.Tensor, target: torch.Tensor | None = None
    ) -> dict[str, float]:
        try:
            with torch.random.fork_rng(devices=[]), _watched(model):
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
        if not means:
            raise ValueError(_nothing_measured(model))
        bad = [name for name, value in means.items() if not math.isfinite(value)]
        if bad:
            advice = _overflow_advice(next(model.parameters()).dtype)
            raise ValueError(f"the gradient of {bad[0]} is not finite; {advice}")
        _warn_if_underflowed(model, means)
        return means

    return checked


@contextmanager
def _watched(model: object) -> Iterator[None]:
    """While measuring: ``model`` must return one tensor, a BatchNorm in training mode gets
    more than one value per channel (else torch's message blames nothing in particular), and
    the model's buffers (BatchNorm's running statistics) are restored afterwards."""
    if not isinstance(model, nn.Module):  # the body says what model must be
        yield
        return
    saved = [(b, b.detach().clone()) for b in model.buffers() if not b.is_inference()]
    handle = model.register_forward_hook(_one_tensor_output)
    advice = (
        "call model.eval() first (BatchNorm then uses its running statistics), or pass x "
        "with more than one sample"
    )
    try:
        with batch_statistics_checked(model, advice):
            yield
    finally:
        handle.remove()
        with torch.no_grad():
            for buffer, value in saved:
                buffer.copy_(value)


def _one_tensor_output(module: nn.Module, inputs: tuple, output: object) -> None:
    if isinstance(output, torch.Tensor):
        return
    if isinstance(output, tuple | list):
        got = f"a {type_name(output)} of {len(output)} ({', '.join(map(type_name, output))})"
    elif isinstance(output, Mapping):
        got = f"a {type_name(output)} with keys {short_repr(list(output))}"
    else:
        got = described(output)
    raise TypeError(
        f"model must return one tensor (the output the loss compares with target), but "
        f"{type_name(module)} returned {got}; wrap it in a module whose forward returns one "
        "tensor (for nn.LSTM or nn.GRU, its output: lstm(x)[0])"
    )


def _nothing_measured(model: nn.Module) -> str:
    """Why the table is empty: no parameter is named ``*weight``, or none got a gradient."""
    names = [name for name, _ in model.named_parameters()]
    weights = [name for name in names if name.endswith("weight")]
    if not weights:
        return (
            f"model has no parameter whose name ends in 'weight' (its parameters: "
            f"{short_repr(names)}); layer_gradient_means measures the mean |gradient| of "
            "each weight (names such as layers.0.0.weight, as nn.Linear's weights are "
            "named), so name the weight matrices '...weight' or build the model from "
            "nn.Linear layers"
        )
    return (
        f"none of model's weights ({short_repr(weights)}) got a gradient from "
        "MSE(model(x), target): the output does not depend on them (requires_grad=False, or "
        "not used in forward)"
    )


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
# gradients_on: the measurement works inside a notebook's `with torch.no_grad():` (or
# `torch.inference_mode()`) too.
@_check_measurement
@gradients_on()
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
    enabled for the measurement even inside ``torch.no_grad()`` or
    ``torch.inference_mode()``, and ``x`` is left alone (the model gets a copy; only the
    model's weights get a ``.grad``).

    The model runs in the mode it is in, as the book measures: in train mode dropout
    drops and BatchNorm normalises over the batch; call ``model.eval()`` first to measure
    without them. Random draws (dropout masks) come from a private copy of torch's global
    random state, so two calls give the same numbers and the caller's random numbers do
    not shift; buffers (BatchNorm's running statistics) are left as they were.

    Raises:
        TypeError: ``model`` is not a module instance, or does not return one tensor;
            ``x`` or ``target`` is not a floating-point tensor of the model's dtype.
        ValueError: ``model`` has no parameters that take a gradient, none named
            ``...weight`` that got one, or parameters built inside
            ``torch.inference_mode()``; ``x`` or ``target`` is empty, not finite, on
            another device than the model, or of a shape the model rejects; a BatchNorm
            in train mode sees one value per channel; the output or a gradient overflowed
            to inf/NaN (e.g. a very deep network in float32).

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
    check_autograd_parameters(model, "model")
    if not bool(torch.isfinite(x).all()):
        raise ValueError("x must be finite, but it holds NaN or infinite values")
    if x.numel() == 0:
        raise ValueError(f"x is empty (shape {tuple(x.shape)}); expected at least one sample")
    if target is not None:
        _check_target_values(model, target)
        target = for_autograd(target)
    # Measure the weights' gradients only: a caller's x that requires grad keeps its .grad,
    # and a model that works in place (nn.ReLU(inplace=True) first) gets a copy to change.
    x = for_autograd(x).detach().clone()
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


def _check_target_values(model: nn.Module, target: object) -> None:
    """``target`` is a tensor the loss can compare with the model's output: values on the
    model's device, of its dtype (else torch's error blames model(x))."""
    if not isinstance(target, torch.Tensor):
        raise TypeError(
            f"target must be a torch.Tensor shaped like the model's output, got "
            f"{described(target)}; or leave it out (None means zeros, as in the book)"
        )
    check_has_values(target, "target")
    check_matches_parameters(model, target, "target")


def _overflow_advice(dtype: torch.dtype) -> str:
    """What to change when the network overflowed: float64 helps unless it already is."""
    if dtype == torch.float64:
        return (
            "the network overflowed even in float64 (too many layers, or too large an "
            "input): use fewer layers or a smaller x"
        )
    return (
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
