"""What every lesson's self-check needs: a learner's number, read the same way everywhere."""

from __future__ import annotations

import math
import numbers

import torch


def read_number(name: str, value: object) -> float:
    """A learner's numeric answer as a float: Python, numpy and one-element torch numbers."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        # A one-element tensor or array is a number too (torch and numpy define __float__).
        if not (hasattr(value, "__float__") and getattr(value, "ndim", 0) == 0):
            if not (isinstance(value, torch.Tensor) and value.numel() == 1):
                raise TypeError(f"{name} must be a number, got {value!r} ({type(value).__name__})")
    if isinstance(value, torch.Tensor):
        value = value.detach()  # float() of a tensor that requires grad warns
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{name} must be a finite number, got {number!r}")
    return number
