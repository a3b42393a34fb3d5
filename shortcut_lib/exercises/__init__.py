"""One-line self-checks for the lessons' exercises.

Each ``check_NN_<topic>`` takes the learner's answer (a number, a function, a tensor),
prints ``Right: ...`` when it is right, and otherwise raises :class:`AssertionError`
saying what it expected and where in the lesson to look. An answer of the wrong kind (a
string or ``True`` for a number, a class for a function) is a :class:`TypeError` that
names it; a learner's function that raises, returns the wrong kind of thing or runs past
the checks' time limit is a failed check that says so. The references are computed
here, independently of the learner's code (torch, or the library with the exercise's
own settings), so a check can be trusted on its own.

One module per lesson (``lesson01`` ... ``lesson06``) and ``_shared`` (reading a
learner's number); every name is re-exported here, so
``from shortcut_lib.exercises import check_03_seeds`` works.

Example::

    >>> from shortcut_lib.exercises import check_02_wider_net
    >>> check_02_wider_net([2, 8, 8, 8, 8, 8, 8, 1], parameters=393, shortcuts=5)
    Right: [2, 8, 8, 8, 8, 8, 8, 1] has 393 parameters and 5 shortcuts (the 8 → 8 layers).
"""

from .lesson01 import SIGMOID_GELU_CONSTANT, check_01_gelu_test, check_01_sigmoid_gelu
from .lesson02 import WIDER_NET_SIZES, check_02_collapsed, check_02_wider_net
from .lesson03 import check_03_seeds, check_03_sigmoid_saturation
from .lesson04 import (
    EXERCISE_04_DEPTHS,
    check_04_decay_per_layer,
    check_04_post_ln_block,
    decay_per_layer,
)
from .lesson05 import (
    LESSON_05_DEPTHS,
    check_05_adam_first_step,
    check_05_decades_per_layer,
    lesson_05_decades_per_layer,
)
from .lesson06 import (
    EXERCISE_06_DEPTH,
    EXERCISE_06_SEEDS,
    check_06_block_parameters,
    check_06_post_ln_ratio,
    lesson_06_post_ln_ratio,
)

__all__ = [
    "check_01_gelu_test",
    "check_01_sigmoid_gelu",
    "check_02_collapsed",
    "check_02_wider_net",
    "check_03_sigmoid_saturation",
    "check_03_seeds",
    "EXERCISE_04_DEPTHS",
    "decay_per_layer",
    "check_04_decay_per_layer",
    "check_04_post_ln_block",
    "check_05_decades_per_layer",
    "check_05_adam_first_step",
    "LESSON_05_DEPTHS",
    "SIGMOID_GELU_CONSTANT",
    "WIDER_NET_SIZES",
    "lesson_05_decades_per_layer",
    "EXERCISE_06_DEPTH",
    "EXERCISE_06_SEEDS",
    "check_06_block_parameters",
    "check_06_post_ln_ratio",
    "lesson_06_post_ln_ratio",
]
