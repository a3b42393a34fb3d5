r"""The deep MLP's shape, counted and checked without training it.

Where the shortcuts go, how many parameters there are (by formula, and by counting a
model's tensors), and whether a network is secretly affine (student notebook B built one
whose ``GELU()`` went into ``nn.Linear``'s ``bias`` argument, leaving no activation).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .activations import _call_on_tensor, _check_tensor_function
from .validation import (
    check_bool,
    check_finite,
    check_has_values,
    check_layer_sizes,
    check_matches_parameters,
    check_memory,
    check_module,
    check_positive_int,
    check_real,
    short_repr,
)

__all__ = [
    "ArchitectureSummary",
    "architecture_summary",
    "count_parameters",
    "deep_layer_sizes",
    "linearity_gap",
    "parameter_count",
    "shortcut_mask",
]


def _as_list(values: object, name: str) -> object:
    """A 1-D numpy array or tensor as the list of Python numbers it holds (``np.array([3, 3,
    1])`` is as natural as ``[3, 3, 1]``); anything else as it is, for the checks to judge."""
    if isinstance(values, np.ndarray | torch.Tensor) and values.ndim == 1:
        if isinstance(values, torch.Tensor):
            check_has_values(values, name)
        return values.tolist()
    return values


def deep_layer_sizes(
    depth: int, width: int, in_features: int | None = None, out_features: int = 1
) -> list[int]:
    """``layer_sizes`` of a ``depth``-layer MLP: ``depth - 1`` hidden layers of ``width``.

    The one builder of the lessons' networks. The input has ``in_features``
    (default: ``width``) and the last layer maps to ``out_features``: lessons 02-04's
    deep nets are ``deep_layer_sizes(depth, width)`` (``depth - 1`` layers
    ``width -> width`` get shortcuts; the last, ``width -> 1``, does not, unless
    ``width == 1``), lesson 05's classifiers ``deep_layer_sizes(depth, width, in_features=2)``.

    Example::

        >>> deep_layer_sizes(5, 3)  # the book's network
        [3, 3, 3, 3, 3, 1]
        >>> deep_layer_sizes(3, 8, in_features=2)
        [2, 8, 8, 1]
    """
    depth = check_positive_int(depth, "depth")
    width = check_positive_int(width, "width")
    in_features = width if in_features is None else check_positive_int(in_features, "in_features")
    out_features = check_positive_int(out_features, "out_features")
    check_memory(depth * 8, f"depth={depth:,}", "use a smaller depth")
    return [in_features] + [width] * (depth - 1) + [out_features]


def shortcut_mask(layer_sizes: Sequence[int], use_shortcut: bool = True) -> list[bool]:
    """One bool per layer: does that layer add its input back (``x + f(x)``)?

    A shortcut needs the layer's output to have the input's shape, so it is
    applied only where ``layer_sizes[i] == layer_sizes[i + 1]``. The one home of
    this rule: :class:`~shortcut_lib.ExampleDeepNeuralNetwork` sets its
    ``shortcut_mask`` with it, and the network diagram draws it.

    Example::

        >>> shortcut_mask([3, 3, 3, 3, 3, 1])
        [True, True, True, True, False]
    """
    sizes = check_layer_sizes(_as_list(layer_sizes, "layer_sizes"))
    use_shortcut = check_bool(use_shortcut, "use_shortcut")
    return [
        use_shortcut and n_in == n_out for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True)
    ]


def parameter_count(layer_sizes: Sequence[int]) -> int:
    r"""Parameters of the MLP, by formula: :math:`\sum_i (n_i\,n_{i+1} + n_{i+1})`.

    Each ``nn.Linear(n_in, n_out)`` holds an ``n_out x n_in`` weight and ``n_out``
    biases; activations and shortcuts add none.

    Example::

        >>> parameter_count([3, 3, 3, 3, 3, 1])  # 4 * (9 + 3) + (3 + 1)
        52
    """
    sizes = check_layer_sizes(_as_list(layer_sizes, "layer_sizes"))
    return sum(n_in * n_out + n_out for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True))


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of scalars in ``model``'s parameter tensors (each shared tensor counted once).

    ``trainable_only=True`` counts only those with ``requires_grad``.
    """
    check_module(model, "model")
    trainable_only = check_bool(trainable_only, "trainable_only")
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


@dataclass(frozen=True)
class ArchitectureSummary:
    """What the architecture explorer reports for one ``layer_sizes``."""

    layer_sizes: list[int]
    depth: int
    parameters: int
    shortcut_mask: list[bool]

    @property
    def shortcuts(self) -> int:
        """How many layers get a shortcut (with ``use_shortcut=True``)."""
        return sum(self.shortcut_mask)

    def __str__(self) -> str:
        layers = "1 layer" if self.depth == 1 else f"{self.depth} layers"
        return (
            f"layer_sizes={self.layer_sizes}: {layers}, {self.parameters} parameters, "
            f"{self.shortcuts} of {layers} with a shortcut"
        )


def architecture_summary(layer_sizes: Sequence[int]) -> ArchitectureSummary:
    """Depth, parameter count and shortcut positions of the MLP with these sizes."""
    sizes = check_layer_sizes(_as_list(layer_sizes, "layer_sizes"))
    return ArchitectureSummary(
        layer_sizes=sizes,
        depth=len(sizes) - 1,
        parameters=parameter_count(sizes),
        shortcut_mask=shortcut_mask(sizes),
    )


def linearity_gap(
    function: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, scale: float = 2.0
) -> float:
    r"""How far ``function`` is from affine along ``x``: :math:`\max|f(sx)-f(0)-s(f(x)-f(0))|`.

    For an affine map :math:`f(x) = Ax + b` this is 0 up to rounding, for every
    ``x`` and ``scale``. The gap looks along the ray from 0 through ``x`` only: a network
    whose activations bend it there (GELU, tanh, sigmoid) gives a clearly non-zero number,
    but a positively homogeneous function, :math:`f(sx) = s\,f(x)`
    for :math:`s > 0` (ReLU, leaky ReLU, a ReLU network without biases), is exactly linear
    along every such ray: its gap is 0 at any positive ``scale`` although it is not affine.
    A negative ``scale`` reveals it (``linearity_gap(torch.relu, x, scale=-1.0)`` is
    :math:`\max|x|`). Runs without gradients; ``function`` gets copies of ``x``, so one
    that works in place (``nn.ReLU(inplace=True)``) leaves ``x`` alone.

    Args:
        function: a module *instance* (``GELU()``, a network) or a function of a tensor
            (``torch.tanh``), taking a tensor shaped like ``x``.
        x: a floating-point input (the zero input is ``torch.zeros_like(x)``); for a
            module, of its parameters' dtype and device.
        scale: the factor :math:`s` (any finite number other than 0 and 1; negative to
            test a positively homogeneous function such as ReLU).

    Raises:
        TypeError: ``function`` is a class, a numpy or math function, or does not take
            or return a tensor.
        ValueError: ``x`` is empty or not finite, ``function`` fails on ``x`` (a shape
            it does not accept), or its output overflowed.
    """
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise TypeError(f"x must be a floating-point torch.Tensor, got {short_repr(x)}")
    scale = check_real(scale, "scale")
    if x.numel() == 0:
        raise ValueError(f"x is empty (shape {tuple(x.shape)}); expected at least one value")
    check_has_values(x, "x")
    check_finite(x, "x")
    _check_tensor_function(function)
    if isinstance(function, nn.Module):
        check_matches_parameters(function, x, "x", owner="function")
    if scale in (0, 1):
        raise ValueError(
            f"scale must differ from 0 and 1 (the check is trivial there), got {scale!r}"
        )
    with torch.no_grad(), torch.random.fork_rng(devices=[]):
        f0 = _call_on_tensor(function, torch.zeros_like(x))
        gap = (
            _call_on_tensor(function, scale * x) - f0 - scale * (_call_on_tensor(function, x) - f0)
        )
    advice = f"the function overflowed or returned NaN at scale={scale!r} (try a smaller scale)"
    check_finite(gap, "function's output", advice)
    return float(gap.abs().max())
