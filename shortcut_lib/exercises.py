"""One-line self-checks for the lessons' exercises.

Each ``check_NN_<topic>`` takes the learner's answer (a number, a function, a tensor),
prints ``Right: ...`` when it is right, and otherwise raises :class:`AssertionError`
saying what it expected and where in the lesson to look. The references are computed
here, independently of the learner's code (torch, or the library with the exercise's
own settings), so a check can be trusted on its own.

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
from .population import LAYER_NORM_EPS, first_layer_gradients_by_depth, gradient_quantiles

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
    "EXERCISE_06_DEPTH",
    "EXERCISE_06_SEEDS",
    "check_06_block_parameters",
    "check_06_post_ln_ratio",
]


def _number(name: str, value: object) -> float:
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
    largest_error = _number("largest_error", largest_error)
    best_constant = _number("best_constant", best_constant)
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
        f"Right: with a = {SIGMOID_GELU_CONSTANT} the largest error is {expected_error:.3g} "
        f"({expected_error / tanh_error:.0f}× the tanh GELU's); with the best a, {best:.2f}, "
        f"it is {best_error:.3g} ({best_error / tanh_error:.0f}× the tanh GELU's)."
    )


class _AbsoluteCubeGELU(GELU):
    """The tanh GELU with ``|x|³`` for ``x³``: right for x ≥ 0, wrong for every x < 0."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        inner = math.sqrt(2.0 / math.pi) * (x + self.cubic_coefficient * x.abs() ** 3)
        return 0.5 * x * (1.0 + torch.tanh(inner))


def _wrong_gelus() -> dict[str, tuple[nn.Module, str]]:
    """Modules that are not the tanh GELU, each with what a test that passes it missed."""
    tolerance = "keep the tolerance tight: torch.testing.assert_close's default, not 1e-3"
    return {
        "GELU(0.004715), student notebook A's typo": (
            GELU(0.004715),
            "test many x, including |x| ≈ 2 where the typo matters most (GELU(0) is 0 for "
            "any constant), and raise AssertionError on a difference",
        ),
        "GELU(0.04)": (GELU(0.04), "test many x, including |x| ≈ 2"),
        "nn.GELU(), the exact GELU": (
            nn.GELU(),
            'compare with F.gelu(x, approximate="tanh") (not the exact F.gelu(x)) and ' + tolerance,
        ),
        "GELU(0.0445), a constant close to 0.044715": (GELU(0.0445), tolerance),
        "a GELU with |x|³ for x³ (right for x ≥ 0 only)": (
            _AbsoluteCubeGELU(),
            "test negative x too: a single point or positive x alone cannot see it",
        ),
    }


def check_01_gelu_test(test_function: Callable[[nn.Module], object]) -> None:
    """Lesson 01, exercise 2: your test must pass the tanh GELU and fail on anything else.

    The wrong modules tried are student notebook A's typo, other constants (0.04, and
    0.0445, only about 1.3e-4 off), the exact ``nn.GELU()`` (4.7e-4 off) and a GELU that
    is right for x ≥ 0 only.

    Args:
        test_function: called with a GELU module; it should raise ``AssertionError``
            when the module is not the tanh GELU (``F.gelu(x, approximate="tanh")``)
            and return normally when it is.
    """
    if not callable(test_function):
        raise TypeError(f"test_function must be a function of a GELU module, got {test_function!r}")
    try:
        test_function(GELU())
    except AssertionError as error:
        raise AssertionError(
            f"your test fails on the right GELU(), with: {str(error).splitlines()[0]} — "
            'compare with F.gelu(x, approximate="tanh"), not with the exact F.gelu(x), and allow '
            "float rounding (torch.testing.assert_close does)"
        ) from None
    for name, (module, advice) in _wrong_gelus().items():
        try:
            test_function(module)
        except AssertionError:
            continue
        raise AssertionError(
            f"your test passes {name}, which is up to {_gelu_difference(module):.2g} off the "
            f"tanh GELU — {advice}"
        )
    print(
        "Right: your test passes GELU() and fails on the typo 0.004715, on c = 0.04 and "
        "0.0445, on the exact nn.GELU() and on a GELU that is wrong only for x < 0."
    )


def _gelu_difference(module: nn.Module) -> float:
    x = torch.linspace(-10.0, 10.0, 4001, dtype=torch.float64)
    return float((module(x) - F.gelu(x, approximate="tanh")).abs().max())


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
        raise TypeError(f"A and b must be tensors, got {type(A).__name__} and {type(b).__name__}")
    expected_A, expected_b = _affine_map_of(network)
    A, b = A.detach().double(), b.detach().double().reshape(-1)
    tolerance = {"rtol": 1e-4, "atol": 1e-6}
    if A.shape != expected_A.shape:
        transposed = A.T.shape == expected_A.shape and torch.allclose(A.T, expected_A, **tolerance)
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
    parameters = _number("parameters", parameters)
    if parameters != expected:
        raise AssertionError(
            f"parameters: yours {parameters:g}, expected {expected} — each layer has "
            "n_in·n_out weights and n_out biases: (2·8 + 8) + 5·(8·8 + 8) + (8·1 + 1); "
            "check with parameter_count(layer_sizes)"
        )
    expected_shortcuts = sum(a == b for a, b in zip(sizes[:-1], sizes[1:], strict=True))
    shortcuts = _number("shortcuts", shortcuts)
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


# Lesson 03 ---------------------------------------------------------------------

#: Exercise 1's network: 30 layers, 3 wide, sigmoid, seed 123, the book's input.
_SIGMOID_DEPTH = 30


def _last_pre_activation(model: nn.Module, stream: list[torch.Tensor]) -> float:
    last = model.layers[-1][0]
    return (last.weight @ stream[-2] + last.bias).item()


def _sigmoid_network_streams():
    """Exercise 1's pair: (the shortcut network's stream, its z, the plain network's z)."""
    from .comparison import BOOK_INPUT, deep_layer_sizes, residual_stream
    from .model import make_model_pair

    pair = make_model_pair(deep_layer_sizes(_SIGMOID_DEPTH, 3), 123, "sigmoid")
    plain_stream, stream = (residual_stream(model, BOOK_INPUT) for model in pair)
    plain_z = _last_pre_activation(pair[0], plain_stream)
    return stream, _last_pre_activation(pair[1], stream), plain_z


def check_03_sigmoid_saturation(pre_activation: float) -> None:
    """Lesson 03, exercise 1: the last layer's pre-activation z in the 30-layer sigmoid net.

    ``pre_activation`` is :math:`z = W x + b` of the last (3 -> 1) layer of the
    shortcut network (``deep_layer_sizes(30, 3)``, seed 123, the book's input),
    the number the output sigmoid is applied to. Right within 1 %.
    """
    z = _number("pre_activation", pre_activation)
    stream, expected, plain_z = _sigmoid_network_streams()
    slope = 1.0 / (2.0 + math.exp(expected) + math.exp(-expected))  # σ'(z) = σ(z)(1 - σ(z))
    if math.isclose(z, expected, rel_tol=0.01):
        print(
            f"Right: z = {expected:.4g}, so the output sigmoid is saturated: σ(z) ≈ 1 and "
            f"σ'(z) ≈ {slope:.2g}. Every gradient passes through that factor."
        )
        return
    stream_mean = stream[-2].mean().item()
    if math.isclose(z, stream_mean, rel_tol=0.02):
        hint = (
            f"{z:.4g} is the mean of the residual stream entering the last layer; z is that "
            "layer's W x + b (model.layers[-1][0] applied to it)"
        )
    elif math.isclose(z, plain_z, rel_tol=0.01):
        hint = (
            f"{z:.4g} is the plain network's z; make_model_pair returns (plain, shortcut), "
            "so take the second: _, sigmoid_model = make_model_pair(...)"
        )
    elif 0.0 <= z <= 1.0:
        hint = "that looks like σ(z) or σ'(z); the question asks for z itself, before the sigmoid"
    elif math.isclose(z, -expected, rel_tol=0.01):
        hint = "the sign is wrong: check that you add the bias and use the shortcut network"
    else:
        hint = (
            "use the shortcut network of make_model_pair(deep_layer_sizes(30, 3), 123, "
            "'sigmoid'), residual_stream(shortcut, x)[-2] as the last layer's input, and "
            "shortcut.layers[-1][0] (its nn.Linear)"
        )
    raise AssertionError(f"expected z ≈ {expected:.4g}, got {z:.4g}: {hint}")


#: Exercise 2's settings: seeds 0-19, 10 layers, 3 wide, tanh GELU.
_SEEDS, _SEED_DEPTH = range(20), 10


def _seed_gains() -> list[float]:
    from .comparison import compare_gradients, deep_layer_sizes, vanishing_ratio

    gains = []
    for seed in _SEEDS:
        plain, shortcut = compare_gradients(deep_layer_sizes(_SEED_DEPTH, 3), seed, "gelu")
        gains.append(vanishing_ratio(shortcut) / vanishing_ratio(plain))
    return gains


def check_03_seeds(count: int, smallest_gain: float) -> None:
    """Lesson 03, exercise 2: over seeds 0-19 (10 layers, width 3, GELU).

    Args:
        count: in how many seeds the shortcut network's vanishing ratio is larger
            than the plain network's.
        smallest_gain: the smallest of the 20 factors
            ``vanishing_ratio(shortcut) / vanishing_ratio(plain)``, to 3 significant
            digits; right within 1 %.
    """
    if isinstance(count, bool) or not isinstance(count, numbers.Integral):
        raise TypeError(f"count must be an integer, got {count!r} ({type(count).__name__})")
    gain = _number("smallest_gain", smallest_gain)
    gains = _seed_gains()
    expected_count = sum(g > 1 for g in gains)
    expected_gain = min(gains)
    problems = []
    if count != expected_count:
        problems.append(
            f"count: expected {expected_count} of {len(gains)} seeds, got {count}; compare "
            "vanishing_ratio(shortcut) > vanishing_ratio(plain) for each seed in range(20)"
        )
    if not math.isclose(gain, expected_gain, rel_tol=0.01):
        if math.isclose(gain, 1 / expected_gain, rel_tol=0.01):
            hint = "that is plain / shortcut; divide the shortcut ratio by the plain one"
        elif math.isclose(gain, max(gains), rel_tol=0.01):
            hint = "that is the largest factor; the question asks for the smallest"
        else:
            hint = "take min() over the seeds of vanishing_ratio(shortcut) / vanishing_ratio(plain)"
        problems.append(f"smallest_gain: expected ≈ {expected_gain:.4g}, got {gain:.4g}; {hint}")
    if problems:
        raise AssertionError("; ".join(problems))
    seed = min(_SEEDS, key=lambda s: gains[s])
    print(
        f"Right: the shortcut network's ratio is larger in {expected_count} of {len(gains)} "
        f"seeds, by at least {expected_gain:.4g}× (seed {seed}). In all {len(gains)} seeds "
        "the direction is the same; the size of the effect is not."
    )


# Lesson 04 ------------------------------------------------------------------------------

#: The depths of lesson 04's exercise 1 (plain GELU networks, 64 per depth, float64).
EXERCISE_04_DEPTHS = (5, 10, 20, 30, 40)


def decay_per_layer(width: int, depths=EXERCISE_04_DEPTHS, activation: str = "gelu") -> float:
    """Decades the plain networks' median first-layer gradient loses per layer.

    As lesson 04 measures it: 64 networks per depth (population seed 0, float64),
    the median over the networks not dead at the output, and the least-squares
    slope of its log10 against depth, sign flipped (a loss is positive).
    """
    sweep = first_layer_gradients_by_depth(
        list(depths),
        activation=activation,
        shortcut=False,
        width=width,
        population=64,
        dtype=torch.float64,
    )
    median = gradient_quantiles(sweep.first_layer, dim=1, exclude=sweep.dead)[1]
    d = sweep.depths.to(torch.float64)
    design = torch.stack([d, torch.ones_like(d)], 1)
    slope = torch.linalg.lstsq(design, median.log10()[:, None]).solution[0, 0]
    return -slope.item()


def check_04_decay_per_layer(width: int, decades_per_layer: float) -> None:
    """Lesson 04, exercise 1: the decades lost per layer at one width (within 0.01)."""
    if isinstance(width, bool) or not isinstance(width, numbers.Integral) or width < 2:
        raise TypeError(f"width must be an integer of at least 2, got {width!r}")
    if isinstance(decades_per_layer, bool) or not isinstance(decades_per_layer, numbers.Real):
        raise TypeError(
            f"decades_per_layer must be a number, got {decades_per_layer!r} "
            f"({type(decades_per_layer).__name__})"
        )
    expected = decay_per_layer(int(width))
    got = float(decades_per_layer)
    if abs(got - expected) <= 0.01:
        print(
            f"Right: width {width} loses {expected:.2f} decades per layer "
            "(nearly the same at every width: nn.Linear's 1/sqrt(fan_in) scale keeps "
            "each layer's factor independent of the width)."
        )
        return
    hint = "fit log10(median) against depth with the lesson's code (cell 'decades lost')"
    if math.isclose(got, -expected, abs_tol=0.01):
        hint = "that is the slope itself; decades *lost* per layer is its negative"
    elif math.isclose(got, expected * math.log(10), rel_tol=0.02):
        hint = "that is the natural log's slope: take log10 of the median, not log"
    elif got > 1.5 * expected or got < expected / 1.5:
        hint = (
            "check the setup: plain networks (shortcut=False), activation='gelu', "
            f"population=64, dtype=torch.float64, depths {list(EXERCISE_04_DEPTHS)}, and "
            "the median over the networks not dead at the output (exclude=sweep.dead)"
        )
    raise AssertionError(
        f"for width {width} you gave {got:.3g} decades per layer, expected "
        f"{expected:.3f} (within 0.01): {hint}"
    )


def _reference_post_ln(x: torch.Tensor, layer: nn.Module) -> torch.Tensor:
    return F.layer_norm(x + layer(x), [x.shape[-1]], eps=LAYER_NORM_EPS)


def check_04_post_ln_block(block: Callable[[torch.Tensor, nn.Module], torch.Tensor]) -> None:
    """Lesson 04, exercise 2: ``block(x, layer)`` is the post-LN block ``LN(x + layer(x))``.

    ``layer`` is one of ``ExampleDeepNeuralNetwork``'s square layers
    (``nn.Sequential(nn.Linear(w, w), GELU())``); LayerNorm over the features,
    no learnable scale or shift, eps 1e-5.
    """
    if not callable(block):
        raise TypeError(f"block must be a function block(x, layer), got {block!r}")
    generator = torch.Generator().manual_seed(4)
    for width, batch in [(3, 1), (5, 4)]:
        linear = nn.Linear(width, width)
        with torch.no_grad():
            linear.weight.copy_(torch.randn(width, width, generator=generator))
            linear.bias.copy_(torch.randn(width, generator=generator))
        layer = nn.Sequential(linear, GELU())
        x = 3 * torch.randn(batch, width, generator=generator) + 2  # not already normalised
        try:
            got = block(x.clone(), layer)
        except Exception as error:
            raise AssertionError(
                f"block(x, layer) raised {type(error).__name__}: {error} "
                f"(x of shape {tuple(x.shape)})"
            ) from error
        expected = _reference_post_ln(x, layer)
        if not isinstance(got, torch.Tensor) or got.shape != expected.shape:
            shape = tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__
            raise AssertionError(
                f"block(x, layer) must return a tensor of x's shape {tuple(x.shape)}, got {shape}"
            )
        if torch.allclose(got, expected, rtol=1e-4, atol=1e-5):
            continue
        width_ln = [x.shape[-1]]
        mistakes = {
            "that is pre-LN, x + layer(LN(x)): post-LN normalises after the addition": (
                x + layer(F.layer_norm(x, width_ln, eps=LAYER_NORM_EPS))
            ),
            "the shortcut is missing: add x before normalising, LN(x + layer(x))": (
                F.layer_norm(layer(x), width_ln, eps=LAYER_NORM_EPS)
            ),
            "there is no LayerNorm: normalise the sum, LN(x + layer(x))": x + layer(x),
        }
        for message, value in mistakes.items():
            if torch.allclose(got, value, rtol=1e-4, atol=1e-5):
                raise AssertionError(message)
        gap = (got - expected).abs().max().item()
        raise AssertionError(
            f"block(x, layer) differs from LN(x + layer(x)) by up to {gap:.3g} (width "
            f"{width}): normalise over the last dimension (the features), without learnable "
            "scale/shift, eps 1e-5, e.g. F.layer_norm(h, [h.shape[-1]])"
        )
    print("Right: block(x, layer) = LN(x + layer(x)), the post-LN block.")


# Lesson 05 -------------------------------------------------------------------------------

#: The depths of lesson 05's exercise 1.
LESSON_05_DEPTHS = (4, 6, 8, 10, 12, 14, 16)


def lesson_05_decades_per_layer() -> float:
    """How many decades the plain net's first-layer gradient loses per layer, at init.

    The least-squares slope of ``log10(mean |dL/dW0|)`` against depth over
    :data:`LESSON_05_DEPTHS`, for lesson 05's spirals and plain classifiers
    (width 16, seed 0), as a positive number.
    """
    # Imported here: the training module is only needed by this check.
    from .training import input_signal, make_classifier_pair, make_spirals

    X, y = make_spirals(n_points=256, noise=0.04, seed=0, turns=1.5)
    logs = []
    for depth in LESSON_05_DEPTHS:
        plain, _ = make_classifier_pair(depth, 16, seed=0)
        logs.append(math.log10(input_signal(plain, X, y)[1]))
    depths = torch.tensor(LESSON_05_DEPTHS, dtype=torch.float64)
    values = torch.tensor(logs, dtype=torch.float64)
    centred = depths - depths.mean()
    slope = float((centred * (values - values.mean())).sum() / (centred**2).sum())
    return -slope


def check_05_decades_per_layer(decades: float) -> None:
    """Exercise 1: decades the plain first-layer gradient loses per added layer.

    As in lesson 04, a loss is positive: the answer is the least-squares slope of
    ``log10(mean |dL/dW0|)`` against depth with its sign flipped, accepted within 0.05.
    The slope itself (negative) and the natural log's slope get a hint of their own.
    """
    decades = _number("decades", decades)
    expected = lesson_05_decades_per_layer()
    if abs(decades - expected) <= 0.05:
        print(
            f"Right: about {expected:.2f} decades lost per layer, a factor of "
            f"{10**expected:.1f} smaller gradient for every layer added."
        )
        return
    natural = expected * math.log(10)
    if abs(decades + expected) <= 0.05:
        hint = (
            "that is the slope itself; the decades *lost* per layer are its negative "
            "(lesson 04's convention: a loss is positive)"
        )
    elif abs(abs(decades) - natural) <= 0.05 * natural:
        hint = (
            f"that is the slope of the natural log (np.log), ln 10 = {math.log(10):.2f} "
            "times larger: a decade is a factor of 10, so fit np.log10 of the gradient"
        )
    else:
        hint = (
            "fit a line to log10(gradient), not to the gradient itself, and use the plain "
            "nets at initialisation (input_signal)"
        )
    raise AssertionError(
        f"expected about {expected:.2f} decades lost per layer (minus the slope of log10 of "
        f"the first-layer gradient against depth, depths {LESSON_05_DEPTHS[0]} to "
        f"{LESSON_05_DEPTHS[-1]}), got {decades:g}: {hint}"
    )


def _adam_first_step_reference(gradient: torch.Tensor, lr: float, eps: float) -> torch.Tensor:
    """The change torch.optim.Adam makes to a parameter with this gradient on step 1."""
    parameter = torch.zeros_like(gradient, requires_grad=True)
    optimizer = torch.optim.Adam([parameter], lr=lr, eps=eps, foreach=False)
    parameter.grad = gradient.clone()
    optimizer.step()
    return parameter.detach().clone()


def check_05_adam_first_step(adam_first_step: Callable[..., torch.Tensor]) -> None:
    """Exercise 3: ``adam_first_step(gradient, lr, eps)`` returns Adam's first update Δw.

    Compared with ``torch.optim.Adam`` (default betas) on gradients from 1e-12 to 1,
    both signs, for two learning rates and three values of eps.
    """
    if not callable(adam_first_step):
        raise TypeError(
            f"expected your function adam_first_step(gradient, lr, eps), got "
            f"{adam_first_step!r} ({type(adam_first_step).__name__})"
        )
    magnitudes = 10.0 ** torch.arange(-12, 1, dtype=torch.float64)
    gradient = torch.cat([magnitudes, -magnitudes])
    for lr in (1e-3, 0.1):
        for eps in (1e-8, 1e-14, 1e-3):
            expected = _adam_first_step_reference(gradient, lr, eps)
            try:
                yours = adam_first_step(gradient.clone(), lr, eps)
            except Exception as error:
                raise AssertionError(
                    f"adam_first_step(gradient, lr={lr}, eps={eps}) raised "
                    f"{type(error).__name__}: {error}"
                ) from error
            yours = torch.as_tensor(yours, dtype=torch.float64)
            if yours.shape != gradient.shape:
                raise AssertionError(
                    f"adam_first_step must return one step per gradient entry, shape "
                    f"{tuple(gradient.shape)}, got {tuple(yours.shape)}"
                )
            if torch.allclose(yours, expected, rtol=1e-6, atol=0.0):
                continue
            worst = int((yours - expected).abs().argmax())
            g = gradient[worst].item()
            hint = "Δw = -lr · m̂ / (√v̂ + eps), with m̂ = g and v̂ = g² on the first step"
            if torch.allclose(yours, -expected, rtol=1e-6):
                hint = "the sign: Adam steps against the gradient (Δw = -lr · ...)"
            elif torch.allclose(yours, -lr * gradient.sign(), rtol=1e-6):
                hint = "eps: it is added to √v̂ in the denominator, and for tiny g it wins"
            elif torch.allclose(yours, -lr * gradient / (gradient**2 + eps).sqrt(), rtol=1e-6):
                hint = "eps goes outside the square root: √v̂ + eps, not √(v̂ + eps)"
            raise AssertionError(
                f"with lr={lr}, eps={eps} and gradient {g:.0e}: yours {yours[worst].item():.4g}, "
                f"torch.optim.Adam {expected[worst].item():.4g}; check {hint}"
            )
    g = torch.tensor([4e-11])
    default, tiny = (_adam_first_step_reference(g, 3e-3, eps).item() for eps in (1e-8, 1e-14))
    print(
        f"Right: your step matches torch.optim.Adam. For g = 4e-11 and lr = 0.003 it is "
        f"{default:.1e} with eps = 1e-8 and {tiny:.1e} with eps = 1e-14."
    )


# Lesson 06 ---------------------------------------------------------------------

#: Lesson 06, exercise 2: the depth and the seeds of the post-LN measurement.
EXERCISE_06_DEPTH = 24
EXERCISE_06_SEEDS = range(5)


def check_06_block_parameters(parameters: int) -> None:
    """Lesson 06, exercise 1: the parameters of one block at emb 16 (``TINY_CONFIG``), by hand.

    The reference is counted from the formula (attention without qkv bias, ``out_proj``
    with bias, the 4x feed-forward with biases, two LayerNorms with scale and shift), not
    from the library's module.
    """
    n = _number("parameters", parameters)
    e = 16
    attention = 3 * e * e + (e * e + e)
    feed_forward = (e * 4 * e + 4 * e) + (4 * e * e + e)
    norms = 2 * 2 * e
    expected = attention + feed_forward + norms
    if n == expected:
        print(
            f"Right: {expected} parameters: attention {attention}, feed-forward {feed_forward}, "
            f"LayerNorms {norms}. The feed-forward holds two thirds of them."
        )
        return
    hints = {
        expected + 3 * e: "W_query, W_key and W_value have no bias (qkv_bias is False)",
        expected - norms: "each LayerNorm has a scale and a shift of emb_dim values",
        expected - (e * e + e): "out_proj, the Linear after the heads, counts too",
        attention + norms + 2 * e * e + e + e: "the feed-forward is 4 times wider inside",
    }
    hint = hints.get(n, "count each nn.Linear as in·out + out (bias) and each LayerNorm as 2·emb")
    raise AssertionError(f"expected {expected} parameters, got {parameters!r}; check: {hint}")


def lesson_06_post_ln_ratio() -> float:
    """The reference of exercise 2: the median first/last ratio of post-LN, 24 blocks, 5 seeds."""
    from .comparison import vanishing_ratio
    from .transformer import block_gradient_means, make_stacks, stack_input

    ratios = []
    for seed in EXERCISE_06_SEEDS:
        stack = make_stacks(EXERCISE_06_DEPTH, seed, variants=("post-LN",))["post-LN"]
        ratios.append(vanishing_ratio(block_gradient_means(stack, *stack_input(seed))))
    return float(torch.tensor(ratios, dtype=torch.float64).median())


def check_06_post_ln_ratio(median_ratio: float) -> None:
    """Lesson 06, exercise 2: the median vanishing ratio of post-LN stacks of 24 blocks.

    Accepts the reference to 2 significant digits (``torch.median`` of the five ratios of
    seeds 0-4, as the lesson measures them).
    """
    n = _number("median_ratio", median_ratio)
    expected = lesson_06_post_ln_ratio()
    if math.isclose(n, expected, rel_tol=0.01) or f"{n:.2g}" == f"{expected:.2g}":
        print(f"Right: the median first/last ratio of post-LN at 24 blocks is {expected:.3g}.")
        return
    hint = "vanishing_ratio(block_gradient_means(stack, x, target)) per seed, then the median"
    if math.isclose(n, 1.0 / expected, rel_tol=0.01):
        hint = "the ratio is the first block over the last, not the last over the first"
    raise AssertionError(
        f"expected a median ratio of {expected:.3g}, got {median_ratio!r}; check: {hint} "
        "(the measurement of the lesson's 'Four variants, many seeds' section)"
    )
