"""How the checks run a student's code and show what went wrong.

Every call of student code goes through :func:`_call` (a time limit of :data:`TIME_LIMIT_S`,
"not implemented yet" for the stub, any error turned into a failed check that says what was
called), and every public check is wrapped by :func:`_student_facing`, so a failure is a
:class:`CheckFailed`: a short message, with the student's own lines only.
"""

from __future__ import annotations

import ctypes
import functools
import signal
import textwrap
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch

from ..validation import described

#: How long one call of a student's code may take before the check gives up on it (an endless
#: loop). Every check calls it a handful of times on tiny inputs, each call well under a second.
TIME_LIMIT_S = 10.0


# --- how a failure is shown -------------------------------------------------------------

# Frames in the library (shortcut_lib/, not only this package) are the grader's, not the student's.
_HERE = str(Path(__file__).resolve().parent.parent)


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


def _is_list_like(value: Any) -> bool:
    """A list, tuple, range or numpy array: sized and iterable, and not text."""
    return (
        not isinstance(value, (str, bytes))
        and hasattr(value, "__len__")
        and hasattr(value, "__iter__")
    )


def _tensor_hint(value: Any, what: str, tail: str, expected: str = "a tensor") -> str:
    """Why ``value`` (not a tensor) is wrong, for a message that starts with ``what``;
    ``expected`` says what it should have returned (``"a tensor of shape (26,)"``), starting
    with ``"a tensor"``."""
    if value is None:
        return f"{what} returned None; expected {expected} — did you forget `{tail}`?"
    if type(value).__module__ == "numpy":
        return (
            f"{what} returned a numpy {type(value).__name__}; expected a torch "
            f"{expected.removeprefix('a ')} — keep to torch operations (torch.tanh, not np.tanh) "
            "so gradients can flow"
        )
    return f"{what} returned {described(value)}; expected {expected}"


def _format(values: torch.Tensor) -> str:
    return "[" + ", ".join(f"{v:.4g}" for v in values.flatten().tolist()) + "]"
