"""``check_gelu``: a student's tanh GELU against ``F.gelu(x, approximate="tanh")``, with a hint
naming the part of the formula that is off (the cubic coefficient, the 0.5, the √(2/π))."""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from typing import Any

import torch
from torch.nn import functional as F
from torch.overrides import TorchFunctionMode

from ..activations import GELU as _LIBRARY_GELU
from ..activations import GELU_CUBIC_COEFFICIENT, SQRT_2_OVER_PI, tanh_normal_cdf
from ..validation import check_bool, check_real
from ._student_code import _call, _student_facing, _tensor_hint

_FORMULA = "0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))"


# --- helpers ------------------------------------------------------------------


def _as_function(gelu: Any) -> Callable[[torch.Tensor], Any]:
    """Turn a GELU class, module instance or plain function into ``f(tensor)``."""
    if isinstance(gelu, type):
        try:
            return gelu()
        except Exception as error:
            raise AssertionError(
                f"could not build your GELU with {gelu.__name__}(): "
                f"{type(error).__name__}: {error}; its __init__ should need no arguments"
            ) from error
    if not callable(gelu):
        raise TypeError(
            "expected your GELU class, an instance of it or a function of a tensor, "
            f"got {gelu!r} ({type(gelu).__name__})"
        )
    return gelu


class _RecordTorchCalls(TorchFunctionMode):
    """Record the name of every torch function called inside the ``with`` block."""

    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        self.names.append(getattr(func, "__name__", str(func)))
        return func(*args, **(kwargs or {}))


class _RecordLibraryGELU:
    """Whether shortcut_lib's own GELU ran inside the ``with`` block (on this thread).

    A profile hook, not a patch of the class: the library is left as it is, and any route to
    its forward (``shortcut_lib.GELU()``, ``make_activation("gelu")``, a subclass) is seen, as
    is a direct call of the formula it uses, :func:`~shortcut_lib.activations.tanh_normal_cdf`.
    """

    _CODES = (_LIBRARY_GELU.forward.__code__, tanh_normal_cdf.__code__)

    def __init__(self) -> None:
        self.called = False

    def _profile(self, frame, event, arg):
        if event == "call" and any(frame.f_code is code for code in self._CODES):
            self.called = True
        if self._previous is not None:
            self._previous(frame, event, arg)

    def __enter__(self) -> _RecordLibraryGELU:
        self._previous = sys.getprofile()
        sys.setprofile(self._profile)
        return self

    def __exit__(self, *exc: object) -> None:
        sys.setprofile(self._previous)


_WRITE_IT_YOURSELF = (
    "the task is to write the formula yourself: implement {formula} with torch.tanh, without "
    "torch's gelu or shortcut_lib's GELU"
)


def _refuse_library_gelu(gelu: Any) -> None:
    """``allow_torch_gelu=False``: shortcut_lib's GELU (the class, a subclass, an instance)."""
    if (isinstance(gelu, type) and issubclass(gelu, _LIBRARY_GELU)) or isinstance(
        gelu, _LIBRARY_GELU
    ):
        raise AssertionError(
            "your GELU is shortcut_lib's GELU (or a subclass of it); "
            + _WRITE_IT_YOURSELF.format(formula=_FORMULA)
        )


def _tanh_gelu(
    x: torch.Tensor, c: float = GELU_CUBIC_COEFFICIENT, k: float = SQRT_2_OVER_PI
) -> torch.Tensor:
    """The tanh GELU with a chosen constant or factor: the known slips, for the hints."""
    return x * tanh_normal_cdf(x, c, k)


def _estimate_cubic_coefficient(x: float, y: float) -> float | None:
    """Invert the tanh formula at one point: the ``c`` that gives ``GELU(x) = y``, if any."""
    ratio = 2.0 * y / x - 1.0
    if not -1.0 < ratio < 1.0:
        return None
    return (math.atanh(ratio) / SQRT_2_OVER_PI - x) / x**3


def _gelu_hint(x: torch.Tensor, yours: torch.Tensor) -> str:
    """Guess which part of the formula is off, by matching ``yours`` against known slips."""

    def matches(candidate: torch.Tensor) -> bool:
        return bool(torch.allclose(yours, candidate, atol=1e-4, rtol=1e-4))

    if matches(F.gelu(x)):
        return (
            "that is the exact GELU x·Φ(x) (torch's nn.GELU() default); this task asks for "
            f"the tanh approximation {_FORMULA}"
        )
    two = int((x - 2.0).abs().argmin())
    c_estimate = _estimate_cubic_coefficient(float(x[two]), float(yours[two]))
    if c_estimate is not None and matches(_tanh_gelu(x, c=c_estimate)):
        return (
            f"check the cubic coefficient: yours behaves like {c_estimate:.4g}, "
            f"expected {GELU_CUBIC_COEFFICIENT}"
        )
    if matches(2.0 * _tanh_gelu(x)):
        return "check the factor 0.5 in front: your values are twice the reference"
    for k, name in ((2.0 / math.pi, "2/π"), (math.sqrt(2.0 * math.pi), "√(2π)"), (1.0, "1")):
        if matches(_tanh_gelu(x, k=k)):
            return f"check the factor inside tanh: it should be √(2/π) ≈ 0.7979, yours is {name}"
    if matches(torch.relu(x)):
        return f"that is ReLU; GELU is {_FORMULA}"
    return f"compare your code with the formula {_FORMULA}"


# --- checks -------------------------------------------------------------------


@_student_facing
def check_gelu(
    gelu: Any,
    *,
    atol: float = 1e-5,
    allow_torch_gelu: bool = True,
) -> None:
    """Check a GELU implementation against ``F.gelu(x, approximate="tanh")``.

    Evaluates it on 81 points in [-4, 4] (float32) and on float64 input, and checks
    that it returns a tensor of the input's shape and dtype, leaves the input
    unchanged, and agrees with the reference within ``atol``. When it does not,
    the message says by how much, where, and which part of the formula
    :math:`0.5\\,x\\,(1 + \\tanh(\\sqrt{2/\\pi}\\,(x + 0.044715\\,x^3)))` is most
    likely wrong (the cubic coefficient, the factor 0.5, the factor
    :math:`\\sqrt{2/\\pi}`, or the exact GELU instead of the tanh one).

    Args:
        gelu: the student's GELU class (built with no arguments), a module
            instance, or a function of a tensor.
        atol: largest absolute difference accepted.
        allow_torch_gelu: ``False`` fails code that calls torch's own gelu
            (``F.gelu``, ``nn.GELU``) or is, subclasses or calls shortcut_lib's
            :class:`~shortcut_lib.GELU`, instead of implementing the formula.

    Raises:
        AssertionError: the implementation is wrong (the message says how), or a call
            took longer than :data:`TIME_LIMIT_S` seconds.
        TypeError: ``gelu`` is not callable, or ``allow_torch_gelu`` not True or False.
        ValueError: ``atol`` is negative or not finite.
    """
    atol = check_real(atol, "atol", minimum=0.0)
    allow_torch_gelu = check_bool(allow_torch_gelu, "allow_torch_gelu")
    if not allow_torch_gelu:
        _refuse_library_gelu(gelu)
    with torch.random.fork_rng(devices=[]):  # the student's code must not move the global RNG
        _check_gelu(_as_function(gelu), atol, allow_torch_gelu)


def _check_gelu(function: Callable[..., Any], atol: float, allow_torch_gelu: bool) -> None:
    for dtype in (torch.float32, torch.float64):
        x = torch.linspace(-4.0, 4.0, 81, dtype=dtype)
        x_before = x.clone()
        recorder, library = _RecordTorchCalls(), _RecordLibraryGELU()
        with recorder, library:
            yours = _call(function, f"your GELU on a {dtype} tensor", x)
        if not allow_torch_gelu and "gelu" in recorder.names:
            raise AssertionError(
                "your GELU calls torch's own gelu (F.gelu or nn.GELU); "
                + _WRITE_IT_YOURSELF.format(formula=_FORMULA)
            )
        if not allow_torch_gelu and library.called:
            raise AssertionError(
                "your GELU calls shortcut_lib's GELU; "
                + _WRITE_IT_YOURSELF.format(formula=_FORMULA)
            )
        if not isinstance(yours, torch.Tensor):
            raise AssertionError(_tensor_hint(yours, "your GELU", "return"))
        if yours.shape != x.shape:
            raise AssertionError(
                f"your GELU turned an input of shape {tuple(x.shape)} into shape "
                f"{tuple(yours.shape)}; GELU works element by element, so the shape must stay"
            )
        if not torch.equal(x, x_before):
            raise AssertionError(
                "your GELU changed its input in place; compute a new tensor instead "
                "(e.g. x + ... rather than x += ...)"
            )
        if yours.device != x.device:
            raise AssertionError(
                f"your GELU moved its {x.device} input to {yours.device}; compute on the "
                "input's device (no .to() in your GELU)"
            )
        if yours.dtype != dtype:
            raise AssertionError(
                f"your GELU turned a {dtype} input into {yours.dtype}; build constants "
                "from Python floats (math.sqrt(2 / math.pi)) so the result keeps the input's dtype"
            )
        yours = yours.detach()
        reference = F.gelu(x, approximate="tanh")
        difference = (yours - reference).abs()
        if not bool(torch.isfinite(yours).all()):
            worst = int((~torch.isfinite(yours)).nonzero()[0])
            raise AssertionError(
                f"your GELU returned {float(yours[worst])} at x = {float(x[worst]):.1f} "
                f"(expected {float(reference[worst]):.4f})"
            )
        if float(difference.max()) > atol:
            worst = int(difference.argmax())
            raise AssertionError(
                f"your GELU differs from the reference by {float(difference[worst]):.2g} at "
                f"x = {float(x[worst]):.1f} (yours: {float(yours[worst]):.4f}, expected: "
                f"{float(reference[worst]):.4f}) — {_gelu_hint(x, yours)}"
            )
