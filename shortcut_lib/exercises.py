"""One-line self-checks for the lessons' exercises.

Each ``check_NN_<topic>`` takes the learner's answer (a number, a function, a tensor),
prints ``Right: ...`` when it is right, and otherwise raises :class:`AssertionError`
saying what it expected and where in the lesson to look. The references are computed
here, independently of the lesson's own cells, so a check can be trusted on its own.

Example::

    >>> from shortcut_lib.exercises import check_02_wider_net
    >>> check_02_wider_net([2, 8, 8, 8, 8, 8, 8, 1], parameters=393, shortcuts=5)
    Right: [2, 8, 8, 8, 8, 8, 8, 1] has 393 parameters and 5 shortcuts (the 8 → 8 layers).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from .activations import GELU
from .approximation import max_approximation_error

__all__ = [
    "check_01_gelu_test",
    "check_01_sigmoid_gelu",
    "check_02_collapsed",
    "check_02_wider_net",
]


def _number(value: object, name: str) -> float:
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r} ({type(value).__name__})")
    return float(value)


# Lesson 01 -----------------------------------------------------------------------

#: The sigmoid approximation's published constant: GELU(x) ≈ x·σ(1.702·x).
SIGMOID_GELU_CONSTANT = 1.702


def _sigmoid_gelu_error(constant: float, x: torch.Tensor) -> float:
    return float((x * torch.sigmoid(constant * x) - F.gelu(x)).abs().max())


def _best_sigmoid_constant(x: torch.Tensor, low: float = 1.5, high: float = 2.0) -> float:
    """Golden-section search for the constant with the smallest worst error on ``x``."""
    inverse_golden = (math.sqrt(5.0) - 1.0) / 2.0
    a, b = low, high
    while b - a > 1e-7:
        c1, c2 = b - inverse_golden * (b - a), a + inverse_golden * (b - a)
        if _sigmoid_gelu_error(c1, x) < _sigmoid_gelu_error(c2, x):
            b = c2
        else:
            a = c1
    return (a + b) / 2.0


def check_01_sigmoid_gelu(largest_error: float, best_constant: float) -> None:
    """Lesson 01, exercise 1: the sigmoid approximation ``x·σ(a·x)`` of GELU.

    Args:
        largest_error: your largest ``|x·σ(1.702·x) − F.gelu(x)|`` on [-10, 10].
        best_constant: your ``a`` that makes that largest error smallest.
    """
    largest_error = _number(largest_error, "largest_error")
    best_constant = _number(best_constant, "best_constant")
    x = torch.linspace(-10.0, 10.0, 20001, dtype=torch.float64)
    expected_error = _sigmoid_gelu_error(SIGMOID_GELU_CONSTANT, x)
    if not math.isclose(largest_error, expected_error, rel_tol=0.02):
        hint = (
            " — that is the tanh version's error: use x * torch.sigmoid(1.702 * x)"
            if 3e-4 < largest_error < 6e-4
            else " — take the largest absolute difference, .abs().max(), on a fine float64 grid"
        )
        raise AssertionError(
            f"largest error of x·σ(1.702·x): yours {largest_error:.4g}, expected about "
            f"{expected_error:.4g}{hint}"
        )
    best = _best_sigmoid_constant(x)
    best_error = _sigmoid_gelu_error(best, x)
    if not abs(best_constant - best) <= 0.005:
        yours = (
            f" (its largest error is {_sigmoid_gelu_error(best_constant, x):.3g})"
            if 0.0 < best_constant < 10.0
            else ""
        )
        raise AssertionError(
            f"best constant: yours {best_constant:.4g}{yours}, expected about {best:.4g} "
            f"(largest error {best_error:.3g}) — scan a between 1.5 and 2 and keep the a whose "
            "largest error is smallest, as lesson 01's 'Why 0.044715?' does for c"
        )
    tanh_error = max_approximation_error(0.044715, num_points=20001)
    print(
        f"Right: x·σ(1.702·x) is up to {expected_error:.3g} off; a = {best:.4f} brings that "
        f"down to {best_error:.3g}, still {best_error / tanh_error:.0f}× the tanh version's."
    )


def check_01_gelu_test(test_function: Callable[[nn.Module], object]) -> None:
    """Lesson 01, exercise 2: your test must fail on the typo and pass on the right GELU.

    Args:
        test_function: called with a GELU module; it should raise ``AssertionError``
            when the module is not the tanh GELU (``F.gelu(x, approximate="tanh")``)
            and return normally when it is.
    """
    if not callable(test_function):
        raise TypeError(
            f"test_function must be a function of a GELU module, got {test_function!r}"
        )
    try:
        test_function(GELU())
    except AssertionError as error:
        raise AssertionError(
            f"your test fails on the right GELU(), with: {str(error).splitlines()[0]} — "
            'compare with F.gelu(x, approximate="tanh"), not with the exact F.gelu(x), and allow '
            "float rounding (torch.testing.assert_close does)"
        ) from None
    wrong = {"GELU(0.004715), student notebook A's typo": 0.004715, "GELU(0.04)": 0.04}
    for name, coefficient in wrong.items():
        try:
            test_function(GELU(coefficient))
        except AssertionError:
            continue
        raise AssertionError(
            f"your test passes {name}, which is up to "
            f"{_gelu_difference(coefficient):.2g} off — test many x, including |x| ≈ 2 "
            "where the typo matters most (GELU(0) is 0 for any constant), and raise "
            "AssertionError on a difference"
        )
    print("Right: your test passes GELU() and fails on the typo 0.004715 (and on c = 0.04).")


def _gelu_difference(coefficient: float) -> float:
    x = torch.linspace(-10.0, 10.0, 4001, dtype=torch.float64)
    return float((GELU(coefficient)(x) - F.gelu(x, approximate="tanh")).abs().max())


# Lesson 02 -----------------------------------------------------------------------

#: Lesson 02, exercise 2: a 2-feature input, six hidden layers of width 8, one output.
WIDER_NET_SIZES = [2, 8, 8, 8, 8, 8, 8, 1]


def _affine_map_of(network: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    """``(A, b)`` of a network of bare ``Linear`` layers, multiplied out from its weights."""
    layers = getattr(network, "layers", network)
    A = b = None
    use_shortcut = bool(getattr(network, "use_shortcut", False))
    for i, layer in enumerate(layers):
        modules = list(layer) if isinstance(layer, nn.Sequential) else [layer]
        modules = [m for m in modules if not isinstance(m, nn.Identity)]
        if len(modules) != 1 or not isinstance(modules[0], nn.Linear):
            raise TypeError(
                f"layer {i} of the network holds {[type(m).__name__ for m in modules]}: "
                "expected a bare nn.Linear, "
                "as in student notebook B's network (with an activation it is not affine)"
            )
        W = modules[0].weight.detach().double()
        bias = modules[0].bias
        c = torch.zeros(W.shape[0], dtype=torch.float64) if bias is None else bias.detach().double()
        if use_shortcut and W.shape[0] == W.shape[1]:
            W = W + torch.eye(W.shape[0], dtype=torch.float64)  # x + Wx + c
        A, b = (W, c) if A is None else (W @ A, W @ b + c)
    if A is None:
        raise TypeError("the network has no layers")
    return A, b


def check_02_collapsed(network: nn.Module, A: torch.Tensor, b: torch.Tensor) -> None:
    """Lesson 02, exercise 1: the one affine map ``f(x) = A x + b`` a network without GELU is.

    Args:
        network: student notebook B's network (``nn.Linear`` layers only).
        A: your matrix, shape ``(outputs, inputs)``: column ``j`` is ``f(e_j) − f(0)``.
        b: your offset ``f(0)``, shape ``(outputs,)`` or ``(1, outputs)``.

    The reference multiplies the layers' weight matrices out, so it does not use ``f``.
    """
    if not isinstance(network, nn.Module):
        raise TypeError(f"network must be a torch.nn.Module, got {type(network).__name__}")
    if not isinstance(A, torch.Tensor) or not isinstance(b, torch.Tensor):
        raise TypeError(
            f"A and b must be tensors, got {type(A).__name__} and {type(b).__name__}"
        )
    expected_A, expected_b = _affine_map_of(network)
    A, b = A.detach().double(), b.detach().double().reshape(-1)
    tolerance = {"rtol": 1e-4, "atol": 1e-6}
    if A.shape != expected_A.shape:
        transposed = A.T.shape == expected_A.shape and torch.allclose(
            A.T, expected_A, **tolerance
        )
        raise AssertionError(
            f"A has shape {tuple(A.shape)}, expected {tuple(expected_A.shape)} (outputs × "
            "inputs)"
            + (
                ": yours is the transpose — put f(e_j) − f(0) in column j, "
                "e.g. torch.stack(columns, dim=1)"
                if transposed
                else ": one column f(e_j) − f(0) per input feature j"
            )
        )
    if not torch.allclose(b, expected_b, **tolerance):
        raise AssertionError(
            f"b: yours {b.tolist()}, expected {expected_b.tolist()} — b is f(0), the "
            "network's output for an all-zero input"
        )
    if not torch.allclose(A, expected_A, **tolerance):
        worst = int((A - expected_A).abs().argmax())
        row, column = divmod(worst, A.shape[1])
        raise AssertionError(
            f"A[{row}, {column}]: yours {A[row, column].item():.6g}, expected "
            f"{expected_A[row, column].item():.6g} — column j is f(e_j) − f(0), with e_j "
            "the j-th unit vector (subtract b)"
        )
    print(
        f"Right: the {len(list(getattr(network, 'layers', network)))} layers are one affine "
        f"map, A of shape {tuple(A.shape)} and b = {[round(v, 4) for v in b.tolist()]}."
    )


def check_02_wider_net(layer_sizes: Sequence[int], parameters: int, shortcuts: int) -> None:
    """Lesson 02, exercise 2: sizes, parameter count and shortcuts of the wider network.

    Args:
        layer_sizes: your ``layer_sizes`` for a 2-feature input, six hidden layers of
            width 8 and one output.
        parameters: your predicted number of parameters.
        shortcuts: your predicted number of layers with a shortcut.
    """
    if isinstance(layer_sizes, (str, bytes)) or not isinstance(layer_sizes, Sequence):
        raise TypeError(f"layer_sizes must be a list of integers, got {layer_sizes!r}")
    sizes = list(layer_sizes)
    if sizes != WIDER_NET_SIZES:
        hidden = sizes[1:-1]
        raise AssertionError(
            f"layer_sizes: yours {sizes}, expected {WIDER_NET_SIZES} — the input size first "
            "(2), then one entry per hidden layer (six 8s), then the output size (1)"
            + (f"; yours has {len(hidden)} hidden layers" if len(hidden) != 6 else "")
        )
    expected = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:], strict=True))
    parameters = _number(parameters, "parameters")
    if parameters != expected:
        raise AssertionError(
            f"parameters: yours {parameters:g}, expected {expected} — each layer has "
            "n_in·n_out weights and n_out biases: (2·8 + 8) + 5·(8·8 + 8) + (8·1 + 1); "
            "check with parameter_count(layer_sizes)"
        )
    expected_shortcuts = sum(a == b for a, b in zip(sizes[:-1], sizes[1:], strict=True))
    shortcuts = _number(shortcuts, "shortcuts")
    if shortcuts != expected_shortcuts:
        raise AssertionError(
            f"shortcuts: yours {shortcuts:g}, expected {expected_shortcuts} — a layer gets "
            "one only where its input and output sizes are equal: the five 8 → 8 layers, "
            "not 2 → 8 nor 8 → 1; check with "
            "ExampleDeepNeuralNetwork(layer_sizes, use_shortcut=True).shortcut_mask"
        )
    print(
        f"Right: {sizes} has {expected} parameters and {expected_shortcuts} shortcuts "
        "(the 8 → 8 layers)."
    )
