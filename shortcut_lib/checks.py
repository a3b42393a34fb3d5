"""Friendly checks for students' code: the visible tests of the assignments.

Each ``check_*`` function returns ``None`` when the student's code is right and
otherwise raises :class:`AssertionError` with a message that names the value it
found, the value it expected, and where to look, e.g.::

    AssertionError: your GELU differs from the reference by 0.029 at x = 2.1
    (yours: 2.0346, expected: 2.0637) — check the cubic coefficient: yours
    behaves like 0.004715, expected 0.044715

The references are independent of the student's code: ``torch.nn.functional.gelu``
(``approximate="tanh"``) for GELU and :class:`~shortcut_lib.ExampleDeepNeuralNetwork`
for the forward pass with shortcuts. Student mistakes are reported as
``AssertionError`` (a failed test, as nbgrader and pytest count it); handing a
check something that is not code at all is a ``TypeError``.

Example::

    >>> from shortcut_lib import GELU, checks
    >>> checks.check_gelu(GELU)            # passes silently
    >>> checks.check_gelu(lambda x: x)     # raises AssertionError
"""

from __future__ import annotations

import ctypes
import functools
import math
import numbers
import signal
import sys
import textwrap
import threading
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F
from torch.overrides import TorchFunctionMode

from .activations import GELU as _LIBRARY_GELU
from .activations import GELU_CUBIC_COEFFICIENT, SQRT_2_OVER_PI, tanh_normal_cdf
from .model import ExampleDeepNeuralNetwork
from .validation import is_integer

__all__ = [
    "BOOK_LAYER_SIZES",
    "CheckFailed",
    "check_gelu",
    "check_has_activation",
    "check_same_initial_weights",
    "check_shortcut_forward",
    "TIME_LIMIT_S",
]

#: How long one call of a student's code may take before the check gives up on it (an endless
#: loop). Every check calls it a handful of times on tiny inputs, each call well under a second.
TIME_LIMIT_S = 10.0

#: The book's five-layer network: three inputs, four 3 -> 3 layers, one 3 -> 1 layer.
BOOK_LAYER_SIZES = (3, 3, 3, 3, 3, 1)

_FORMULA = "0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))"
# A mix of layers with and without shortcuts: 3->5 no, 5->5 yes, 5->2 no, 2->2 yes, 2->1 no.
_MIXED_LAYER_SIZES = (3, 5, 5, 2, 2, 1)


# --- how a failure is shown -------------------------------------------------------------

_HERE = str(Path(__file__).resolve().parent)


class CheckFailed(AssertionError):
    """A check found the student's code wrong: an ``AssertionError`` (nbgrader and pytest
    count it as a failed test) that Jupyter shows as a short, wrapped message.

    A plain traceback would show the grader's paths into ``shortcut_lib`` (which the student
    cannot do anything about) and run the hint off the right edge of the feedback page. This
    one shows the student's own lines only (the test cell's call, and the line of their code
    that raised, if it did, naming its function), then the message wrapped to 88 characters.
    """

    def _render_traceback_(self) -> list[str]:  # IPython calls this instead of its traceback
        lines = ["Check failed"]
        lines += _student_frames(self.__traceback__)
        if self.__cause__ is not None:
            frames = _student_frames(self.__cause__.__traceback__)
            if frames:
                lines.append("where your code raised:")
                lines += frames
        lines += textwrap.wrap(str(self), width=88, break_long_words=False) or [""]
        return lines


def _student_frames(tb: Any) -> list[str]:
    """``  cell, line 3: checks.check_gelu(GELU)`` for every frame outside the library;
    a function defined in a cell is named: ``  DeepNet.forward (line 13 of its cell): ...``."""
    shown = []
    for summary, (frame, _) in zip(traceback.extract_tb(tb), traceback.walk_tb(tb), strict=True):
        filename = summary.filename
        if filename.startswith(_HERE) or "site-packages" in filename or "IPython" in filename:
            continue
        in_cell = "ipykernel_" in filename or filename.startswith("<")
        function = getattr(frame.f_code, "co_qualname", frame.f_code.co_name)
        line = (summary.line or "").strip()
        if in_cell and function != "<module>":
            shown.append(f"  {function} (line {summary.lineno} of its cell): {line}")
        else:
            where = "cell" if in_cell else Path(filename).name
            shown.append(f"  {where}, line {summary.lineno}: {line}")
    return shown


def _student_facing(check: Callable[..., None]) -> Callable[..., None]:
    """Re-raise a check's AssertionError as :class:`CheckFailed` (same message and cause)."""

    @functools.wraps(check)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            return check(*args, **kwargs)
        except CheckFailed:
            raise
        except AssertionError as error:
            raise CheckFailed(str(error)) from error.__cause__

    return wrapper


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


class _StudentCodeTimeout(BaseException):
    """Raised inside student code that ran out of time (a BaseException: their ``except
    Exception`` must not swallow it)."""


@contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Interrupt the ``with`` block with :class:`_StudentCodeTimeout` after ``seconds``.

    On the main thread a SIGALRM timer (it also interrupts ``time.sleep``); elsewhere a timer
    thread that raises the exception asynchronously in this thread (pure-Python loops only).
    """
    if threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer"):

        def on_alarm(signum, frame):
            raise _StudentCodeTimeout

        previous = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
        return
    target = ctypes.c_ulong(threading.get_ident())
    done = threading.Event()

    def interrupt() -> None:
        if not done.wait(seconds):
            ctypes.pythonapi.PyThreadState_SetAsyncExc(
                target, ctypes.py_object(_StudentCodeTimeout)
            )

    watchdog = threading.Thread(target=interrupt, daemon=True)
    watchdog.start()
    try:
        yield
    finally:
        done.set()
        watchdog.join()


def _call(
    function: Callable[..., Any],
    what: str,
    *args: Any,
    hint: Callable[[Exception], str] | None = None,
) -> Any:
    """Call student code; any exception becomes an AssertionError that says what was called.

    ``raise NotImplementedError()`` (the stub the students start from) is reported as "not
    implemented yet"; a call that takes longer than :data:`TIME_LIMIT_S` is stopped.
    """
    try:
        with _time_limit(TIME_LIMIT_S):
            return function(*args)
    except AssertionError:
        raise
    except NotImplementedError:
        raise AssertionError(
            f"{what}: not implemented yet — replace `raise NotImplementedError()` under "
            "`# YOUR CODE HERE` with your code"
        ) from None
    except _StudentCodeTimeout:
        raise AssertionError(
            f"{what} did not return within {TIME_LIMIT_S:g} s, the time limit of these checks "
            "(they use tiny inputs): is there a loop that never ends?"
        ) from None
    except Exception as error:
        extra = f" — {hint(error)}" if hint is not None else ""
        raise AssertionError(f"{what} raised {type(error).__name__}: {error}{extra}") from error


def _check_tolerance(atol: Any) -> float:
    if isinstance(atol, bool) or not isinstance(atol, numbers.Real):
        raise TypeError(f"atol must be a number, got {atol!r} ({type(atol).__name__})")
    if not (math.isfinite(atol) and atol >= 0):
        raise ValueError(f"atol must be a finite number >= 0, got {atol!r}")
    return float(atol)


def _check_seed(seed: Any) -> int:
    if not is_integer(seed):
        raise TypeError(f"seed must be an integer, got {seed!r} ({type(seed).__name__})")
    if not 0 <= int(seed) < 2**63:
        raise ValueError(f"seed must be in [0, 2**63), got {seed!r}")
    return int(seed)


def _is_list_like(value: Any) -> bool:
    """A list, tuple, range or numpy array: sized and iterable, and not text."""
    return (
        not isinstance(value, (str, bytes))
        and hasattr(value, "__len__")
        and hasattr(value, "__iter__")
    )


def _check_layer_sizes(layer_sizes: Any) -> list[list[int]]:
    """``layer_sizes``: a non-empty list of networks, each a list of >= 2 positive widths."""
    expected = "a list of networks' layer sizes, e.g. [[3, 3, 3, 3, 3, 1], [3, 5, 5, 2, 2, 1]]"
    if not _is_list_like(layer_sizes):
        raise TypeError(f"layer_sizes must be {expected}, got {layer_sizes!r}")
    if len(layer_sizes) == 0:
        raise ValueError(f"layer_sizes must be {expected}, got an empty list: nothing to check")
    networks = []
    for sizes in layer_sizes:
        if not _is_list_like(sizes):
            raise TypeError(
                f"layer_sizes must be {expected}, got {layer_sizes!r} (an entry is {sizes!r}; "
                "for a single network write [[3, 3, 1]], not [3, 3, 1])"
            )
        if len(sizes) < 2 or not all(is_integer(n) and n > 0 for n in sizes):
            raise ValueError(
                f"each network in layer_sizes needs an input size and at least one layer, all "
                f"positive integers, got {list(sizes)!r}"
            )
        networks.append([int(n) for n in sizes])
    return networks


def _check_module(model: Any, name: str) -> None:
    if isinstance(model, type) and issubclass(model, nn.Module):
        raise TypeError(
            f"{name} must be a model (an instance), got the class {model.__name__}; "
            f"build it first, e.g. {model.__name__}(layer_sizes, use_shortcut=False)"
        )
    if not isinstance(model, nn.Module):
        raise TypeError(f"{name} must be a torch.nn.Module, got {type(model).__name__}")


def _tensor_hint(value: Any, what: str, tail: str) -> str:
    """Why ``value`` (not a tensor) is wrong, for a message that starts with ``what``."""
    if value is None:
        return f"{what} returned None; expected a tensor — did you forget `{tail}`?"
    if type(value).__module__ == "numpy":
        return (
            f"{what} returned a numpy {type(value).__name__}; expected a torch tensor — keep "
            "to torch operations (torch.tanh, not np.tanh) so gradients can flow"
        )
    return f"{what} returned {value!r} ({type(value).__name__}); expected a tensor"


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


def _reference_model(layer_sizes: Sequence[int], use_shortcut: bool, seed: int) -> nn.Module:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return ExampleDeepNeuralNetwork(layer_sizes, use_shortcut=use_shortcut, activation="gelu")


def _sample_inputs(in_features: int, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(4, in_features, generator=generator)
    if in_features == 3:  # the book's sample input first
        x = torch.cat([torch.tensor([[1.0, 0.0, -1.0]]), x])
    return x


def _use_reference_activations(model: nn.Module, reference: nn.Module) -> None:
    """Swap the library's GELU into ``model``, so a forward-pass check does not also
    grade the student's GELU (that has a check of its own)."""
    for layer, reference_layer in zip(model.layers, reference.layers, strict=True):
        if isinstance(layer, nn.Sequential) and len(layer) == len(reference_layer) == 2:
            layer[1] = reference_layer[1]


def _format(values: torch.Tensor) -> str:
    return "[" + ", ".join(f"{v:.4g}" for v in values.flatten().tolist()) + "]"


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
        TypeError: ``gelu`` is not callable.
        ValueError: ``atol`` is negative or not finite.
    """
    atol = _check_tolerance(atol)
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


@_student_facing
def check_shortcut_forward(
    model_class: Callable[..., nn.Module],
    *,
    layer_sizes: Sequence[Sequence[int]] = (BOOK_LAYER_SIZES, _MIXED_LAYER_SIZES),
    seed: int = 123,
    atol: float = 1e-5,
) -> None:
    """Check a network's forward pass, with and without shortcuts, against the library's.

    For every ``layer_sizes`` and ``use_shortcut`` in (False, True), builds
    ``model_class(sizes, use_shortcut)``, loads the weights of
    ``ExampleDeepNeuralNetwork(sizes, use_shortcut)`` made with ``seed`` (so
    the student's ``__init__`` must name its parameters like the book:
    ``layers.{i}.0.weight``), and compares the outputs on a few inputs. The
    default sizes include the book's network and one whose layers change width
    (3 -> 5 -> 5 -> 2 -> 2 -> 1), where only the same-width layers may add a shortcut.
    The library's GELU is swapped into each ``nn.Sequential(Linear, activation)``
    layer first, so only the forward pass is graded here, not the student's GELU.

    Student code is called inside ``torch.random.fork_rng`` (the caller's random state is
    left as it was) and each call may take at most :data:`TIME_LIMIT_S` seconds.

    Raises:
        AssertionError: the outputs differ, the model cannot be built, or its
            parameters are not named like the book's (the message says which).
        TypeError: ``model_class`` is not a class (e.g. an instance of it).
        ValueError: ``layer_sizes`` is empty or malformed, ``atol`` negative or not finite.
    """
    if isinstance(model_class, nn.Module):
        raise TypeError(
            f"expected your network class, got an instance of it ({type(model_class).__name__}"
            f"(...)); pass the class itself: check_shortcut_forward({type(model_class).__name__})"
        )
    if not isinstance(model_class, type) and not callable(model_class):
        raise TypeError(
            f"expected your network class, got {model_class!r} ({type(model_class).__name__})"
        )
    networks = _check_layer_sizes(layer_sizes)
    seed = _check_seed(seed)
    atol = _check_tolerance(atol)
    # Building the student's models draws from the RNG (nn.Linear's init): not from the caller's.
    with torch.random.fork_rng(devices=[]):
        for sizes in networks:
            _check_forward_on(model_class, sizes, seed, atol)


def _shape_hint(error: Exception) -> str:
    if isinstance(error, RuntimeError) and "size of tensor" in str(error):
        return (
            "a shortcut x + layer_output only works where the layer keeps the shape: "
            "check x.shape == layer_output.shape before adding"
        )
    return 'the line of your code that raised is shown above, under "where your code raised"'


def _check_forward_on(
    model_class: Callable[..., nn.Module], sizes: list[int], seed: int, atol: float
) -> None:
    name = getattr(model_class, "__name__", repr(model_class))
    x = _sample_inputs(sizes[0], seed)
    plain_ref = _reference_model(sizes, False, seed)
    shortcut_ref = _reference_model(sizes, True, seed)
    for use_shortcut, reference in ((False, plain_ref), (True, shortcut_ref)):
        call = f"{name}({sizes}, use_shortcut={use_shortcut})"
        model = _call(model_class, call, sizes, use_shortcut)
        if not isinstance(model, nn.Module):
            raise AssertionError(f"{call} built a {type(model).__name__}, not an nn.Module")
        expected_names = list(reference.state_dict())
        your_names = list(model.state_dict())
        if your_names != expected_names:
            raise AssertionError(
                f"{call} has parameters {your_names}, expected {expected_names}; keep the "
                "__init__ given in the notebook (nn.Sequential(nn.Linear(...), GELU()) per "
                "layer, in an nn.ModuleList called layers)"
            )
        _call(model.load_state_dict, f"loading weights into {call}", reference.state_dict())
        _use_reference_activations(model, reference)
        with torch.no_grad():
            expected = reference(x)
            yours = _call(model, f"{call} on input of shape {tuple(x.shape)}", x, hint=_shape_hint)
        if not isinstance(yours, torch.Tensor):
            raise AssertionError(_tensor_hint(yours, f"{call}'s forward", "return x"))
        if yours.dtype != expected.dtype:
            raise AssertionError(
                f"{call} turned a {expected.dtype} input into {yours.dtype}; keep the input's "
                "dtype (no .double() or float64 constants in forward)"
            )
        if yours.shape != expected.shape:
            raise AssertionError(
                f"{call} returned shape {tuple(yours.shape)} for input shape "
                f"{tuple(x.shape)}, expected {tuple(expected.shape)} — every layer must run, "
                "and where a layer changes the width (like the last, 3 -> 1) its output "
                "replaces x: no shortcut there"
            )
        yours = yours.detach()
        if bool(torch.isfinite(yours).all()) and torch.allclose(
            yours, expected, atol=atol, rtol=1e-4
        ):
            continue
        other = shortcut_ref if not use_shortcut else plain_ref
        with torch.no_grad():
            other_output = other(x)
        if torch.allclose(yours, other_output, atol=atol, rtol=1e-4):
            hint = (
                "your forward adds shortcuts although use_shortcut=False"
                if not use_shortcut
                else "your forward ignores use_shortcut: the output equals the plain network's"
            )
        else:
            hint = (
                "each layer computes layer_output = layer(x); then x = x + layer_output "
                "if use_shortcut and x.shape == layer_output.shape, else x = layer_output"
            )
        raise AssertionError(
            f"{call} gives {_format(yours[:, 0])} for the first output feature of "
            f"{len(x)} sample inputs, expected {_format(expected[:, 0])} — {hint}"
        )


@_student_facing
def check_same_initial_weights(
    model_a: nn.Module,
    model_b: nn.Module,
    *,
    names: tuple[str, str] = ("model_without_shortcut", "model_with_shortcut"),
) -> None:
    """Check that two models hold exactly the same parameters (a fair comparison).

    Comparing a network with and without shortcuts only says something about
    the shortcuts if both start from the same weights.

    Args:
        model_a, model_b: the two models.
        names: what to call them in the message.

    Raises:
        AssertionError: the parameter names differ, or the first parameter
            that differs (with the largest difference).
        TypeError: either argument is not an ``nn.Module``.
    """
    for model, label in zip((model_a, model_b), names, strict=True):
        _check_module(model, label)
    state_a, state_b = model_a.state_dict(), model_b.state_dict()
    if list(state_a) != list(state_b):
        raise AssertionError(
            f"{names[0]} has parameters {list(state_a)} but {names[1]} has {list(state_b)}; "
            "build both from the same class and layer sizes"
        )
    for key, tensor_a in state_a.items():
        tensor_b = state_b[key]
        if tensor_a.shape != tensor_b.shape:
            raise AssertionError(
                f"{key} has shape {tuple(tensor_a.shape)} in {names[0]} but "
                f"{tuple(tensor_b.shape)} in {names[1]}"
            )
        for tensor, label in ((tensor_a, names[0]), (tensor_b, names[1])):
            if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
                raise AssertionError(
                    f"{key} of {label} holds NaN or infinite values: the weights were "
                    "overwritten after the model was built (seeding is not the problem)"
                )
        if not torch.equal(tensor_a, tensor_b):
            largest = float((tensor_a - tensor_b).abs().max())
            raise AssertionError(
                f"{key} differs between {names[0]} and {names[1]} (largest difference "
                f"{largest:.2g}): the two models did not start from the same weights, so their "
                "gradients are not comparable — call torch.manual_seed(123) right before "
                f"building each, or copy the weights: {names[1]}.load_state_dict("
                f"{names[0]}.state_dict())"
            )


@_student_facing
def check_has_activation(model: nn.Module, *, name: str = "model") -> None:
    """Check that every layer of a deep MLP applies an activation after its ``nn.Linear``.

    Two tests. Structure: in a model with ``layers`` (an ``nn.ModuleList`` of
    ``nn.Sequential``), every ``Linear`` must be followed by a module that is not
    a ``Linear``. Behaviour: the whole model must not be affine, i.e.
    ``f((a + b) / 2) != (f(a) + f(b)) / 2`` for some inputs. The classic slip
    ``nn.Linear(3, 3, GELU())`` passes the activation as ``bias`` (the third
    argument), so the layer silently has a bias and no activation.

    Raises:
        AssertionError: a layer lacks an activation or the model is affine.
        TypeError: ``model`` is not an ``nn.Module``.
    """
    _check_module(model, name)
    layers = getattr(model, "layers", None)
    if isinstance(layers, (nn.ModuleList, nn.Sequential)):
        for index, layer in enumerate(layers):
            children = list(layer.children()) if isinstance(layer, nn.Sequential) else [layer]
            for position, child in enumerate(children):
                if isinstance(child, nn.Linear) and (
                    position + 1 == len(children) or isinstance(children[position + 1], nn.Linear)
                ):
                    raise AssertionError(
                        f"{name}.layers[{index}] is {' '.join(repr(layer).split())}: nothing "
                        "follows its Linear, so "
                        "the layer has no activation (and the whole network is linear). "
                        "nn.Linear(n_in, n_out, GELU()) passes GELU() as the `bias` argument; "
                        "write nn.Sequential(nn.Linear(n_in, n_out), GELU())"
                    )
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not linears:
        return
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        _check_not_affine(model, name, linears)


def _check_not_affine(model: nn.Module, name: str, linears: list[nn.Linear]) -> None:
    # The input width is the in_features of whichever Linear the forward meets first, which
    # need not be the first registered (an output layer may be defined before the others).
    widths = list(dict.fromkeys(linear.in_features for linear in linears))
    dtype = linears[0].weight.dtype
    generator = torch.Generator().manual_seed(0)
    failures = []
    for in_features in widths:
        a = 3.0 * torch.randn(8, in_features, generator=generator, dtype=dtype)
        b = 3.0 * torch.randn(8, in_features, generator=generator, dtype=dtype)
        what = f"{name} on input of shape {tuple(a.shape)}"
        try:
            f_mid = _call(model, what, (a + b) / 2)
        except AssertionError as error:
            cause = error.__cause__
            if not isinstance(cause, (RuntimeError, ValueError, IndexError)) or isinstance(
                cause, NotImplementedError
            ):
                raise  # not implemented, too slow, or a bug unrelated to the input's width
            failures.append((in_features, cause))
            continue
        break
    else:
        in_features, error = failures[0]
        raise AssertionError(
            f"{name} failed on input of width {' or '.join(str(w) for w, _ in failures)} "
            f"(the in_features of its Linear layers): {type(error).__name__}: {error}"
        ) from error
    if not isinstance(f_mid, torch.Tensor):
        raise AssertionError(_tensor_hint(f_mid, f"{name}'s forward", "return x"))
    f_avg = (_call(model, what, a) + _call(model, what, b)) / 2
    if torch.allclose(f_mid, f_avg, atol=1e-5, rtol=1e-4):
        raise AssertionError(
            f"{name} is affine: f((a + b) / 2) equals (f(a) + f(b)) / 2 for random inputs, so "
            "no layer applies a non-linear activation; check how each layer is built"
        )
