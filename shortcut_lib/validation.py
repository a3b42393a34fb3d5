"""Checks at the boundary where a user hands us something, with messages that say
what was wrong and what was expected (instead of torch's matmul errors)."""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import torch

__all__ = ["check_layer_sizes", "check_input", "check_target"]


def check_layer_sizes(layer_sizes: Sequence[int]) -> list[int]:
    """Return ``layer_sizes`` as a list of ints, or raise a clear error.

    A network needs at least an input and an output size, and every size must
    be a positive integer (``True`` and ``3.0`` are rejected: they are almost
    always a slip).
    """
    if isinstance(layer_sizes, (str, bytes)) or not isinstance(layer_sizes, Sequence):
        raise TypeError(
            f"layer_sizes must be a list or tuple of positive integers, e.g. [3, 3, 1], "
            f"got {layer_sizes!r} ({type(layer_sizes).__name__})"
        )
    if len(layer_sizes) < 2:
        raise ValueError(
            f"layer_sizes needs at least two sizes (input and output), got {list(layer_sizes)!r}"
        )
    sizes = []
    for i, size in enumerate(layer_sizes):
        if isinstance(size, bool) or not isinstance(size, numbers.Integral):
            raise TypeError(
                f"layer_sizes[{i}] must be a positive integer, got {size!r} "
                f"({type(size).__name__}) in {list(layer_sizes)!r}"
            )
        if size <= 0:
            raise ValueError(
                f"layer_sizes[{i}] must be a positive integer, got {size!r} "
                f"in {list(layer_sizes)!r}"
            )
        sizes.append(int(size))
    return sizes


def check_input(x: torch.Tensor, in_features: int, dtype: torch.dtype | None = None) -> None:
    """Raise a clear error unless ``x`` is a finite float tensor of shape ``(*, in_features)``."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(
            f"input must be a torch.Tensor of shape (batch, {in_features}), got {type(x).__name__}"
        )
    if x.ndim == 0 or x.shape[-1] != in_features:
        raise ValueError(
            f"input's last dimension must be layer_sizes[0] = {in_features}, "
            f"got shape {tuple(x.shape)}"
        )
    if not x.is_floating_point():
        raise TypeError(
            f"input must be a floating-point tensor, got dtype {x.dtype}; "
            "write e.g. torch.tensor([[1., 0., -1.]]) with decimal points"
        )
    if dtype is not None and x.dtype != dtype:
        raise TypeError(
            f"input dtype {x.dtype} does not match the model's parameters ({dtype}); "
            f"convert one of them, e.g. x.to({dtype}) or model.to({x.dtype})"
        )
    if x.device.type != "meta" and not bool(torch.isfinite(x).all()):
        bad = (~torch.isfinite(x)).sum().item()
        raise ValueError(f"input must be finite, but {bad} value(s) are NaN or infinite")


def check_target(target: torch.Tensor, output: torch.Tensor) -> None:
    """Raise a clear error unless ``target`` has the model output's shape."""
    if not isinstance(target, torch.Tensor):
        raise TypeError(f"target must be a torch.Tensor, got {type(target).__name__}")
    if target.shape != output.shape:
        raise ValueError(
            f"target shape {tuple(target.shape)} does not match the model's output shape "
            f"{tuple(output.shape)}"
        )
