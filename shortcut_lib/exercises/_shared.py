"""What every lesson's self-check needs: a learner's number, read the same way everywhere, and
a learner's function, called the same way everywhere (with the time limit of the checks)."""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from ..checks._student_code import TIME_LIMIT_S, _StudentCodeTimeout, _time_limit
from ..validation import described, is_integer, short_repr


def _one_value(value: object) -> object:
    """A one-element tensor or array as its Python number (``tensor([0.5])`` is an answer too);
    anything else as it is. A bool or complex element stays a bool or complex (rejected later)."""
    if isinstance(value, torch.Tensor) and value.numel() == 1 and value.device.type != "meta":
        return value.detach().item()  # float() of a tensor that requires grad warns
    if isinstance(value, np.ndarray) and value.size == 1:
        return value.item()
    return value


def _is_bool(value: object) -> bool:
    return isinstance(value, (bool, np.bool_))


def read_number(name: str, value: object) -> float:
    """A learner's numeric answer as a float: Python, numpy and one-element torch numbers.

    ``True`` (Python, numpy or a bool tensor) is rejected: it is almost always a slip, and
    would be read as 1.
    """
    number = _one_value(value)
    if _is_bool(number) or not isinstance(number, numbers.Real):
        raise TypeError(f"{name} must be a number, got {described(value)}")
    number = float(number)
    if not math.isfinite(number):
        raise ValueError(f"{name} must be a finite number, got {number!r}")
    return number


def read_count(name: str, value: object) -> int:
    """A learner's count as an int: Python and numpy integers, one-element integer tensors.

    ``True`` and ``20.0`` are rejected (a count is an integer; ``True`` is a slip).
    """
    number = _one_value(value)
    if not is_integer(number):
        raise TypeError(f"{name} must be an integer, got {described(value)}")
    return int(number)


def check_learner_function(value: object, expected: str, example: str) -> None:
    """Raise a TypeError unless ``value`` is a function (or other callable) of the learner's.

    ``expected`` opens the message (``"block must be a function block(x, layer)"``);
    ``example`` shows a right call. A class or a module is told apart: it is callable, but
    calling it would build or run something else, and the error would be about that.
    """
    if isinstance(value, type):
        raise TypeError(
            f"{expected}, got the class {value.__name__}; pass your own function, e.g. {example}"
        )
    if isinstance(value, nn.Module):
        raise TypeError(
            f"{expected}, got the module {short_repr(value)}; pass your own function, "
            f"e.g. {example}"
        )
    if not callable(value):
        raise TypeError(f"{expected}, got {described(value)}")


class LearnerCodeFailed(AssertionError):
    """The learner's function raised, or did not return in time: the message says which."""


def call_learner(
    function: Callable[..., Any], what: str, *args: Any, expected: tuple[type, ...] = ()
) -> Any:
    """``function(*args)``, with the checks' time limit; an error in it is a
    :class:`LearnerCodeFailed` (an AssertionError) that names the call (``what``), so the
    learner sees their bug, not a crash of the check.

    Exceptions of the ``expected`` types (a test's ``AssertionError``) pass through as they are.
    The function runs inside ``torch.random.fork_rng``: the caller's random state is left alone.
    """
    try:  # the learner's random draws (dropout, torch.randn) must not move the global RNG
        with torch.random.fork_rng(devices=[]), _time_limit(TIME_LIMIT_S):
            return function(*args)
    except expected:
        raise
    except _StudentCodeTimeout:
        raise LearnerCodeFailed(
            f"{what} did not return within {TIME_LIMIT_S:g} s, the time limit of these checks "
            "(they use small inputs): is there a loop that never ends?"
        ) from None
    except Exception as error:
        raise LearnerCodeFailed(f"{what} raised {type(error).__name__}: {error}") from error


def dtype_note() -> str:
    """What to add to a wrong answer's message when the reference was computed under a default
    dtype other than float32 (networks built then draw other weights than the lesson's)."""
    dtype = torch.get_default_dtype()
    if dtype == torch.float32:
        return ""
    return (
        f" (the reference was computed under your default dtype, {dtype}, as your code would "
        "be: its networks start from other weights than the lesson's float32 ones; for the "
        "lesson's numbers, call torch.set_default_dtype(torch.float32) first)"
    )
