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

One module per idea: ``_student_code`` (the time limit, calling student code, how a
failure is shown), ``gelu`` (:func:`check_gelu`), ``forward``
(:func:`check_shortcut_forward`) and ``models`` (:func:`check_same_initial_weights`,
:func:`check_has_activation`); every name is re-exported here.

Example::

    >>> from shortcut_lib import GELU, checks
    >>> checks.check_gelu(GELU)            # passes silently
    >>> checks.check_gelu(lambda x: x)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    shortcut_lib.checks._student_code.CheckFailed: your GELU differs from the reference by 4 ...
"""

from ._student_code import TIME_LIMIT_S, CheckFailed
from .forward import BOOK_LAYER_SIZES, check_shortcut_forward
from .forward import _reference_model as _reference_model  # tests build references with it
from .forward import _sample_inputs as _sample_inputs
from .gelu import check_gelu
from .models import check_has_activation, check_same_initial_weights

__all__ = [
    "BOOK_LAYER_SIZES",
    "CheckFailed",
    "check_gelu",
    "check_has_activation",
    "check_same_initial_weights",
    "check_shortcut_forward",
    "TIME_LIMIT_S",
]
