r"""Gradients of a whole population of networks at once: many seeds, one pass.

One network and one seed prove nothing in general. This module measures the
per-layer mean absolute weight gradient for ``S`` random initialisations of the
same architecture *together*: layer :math:`i`'s weights are one stacked tensor
of shape :math:`(S, n_{i+1}, n_i)` and every matrix product is a batched one
(``torch.baddbmm``/``torch.bmm``), so the cost is that of one network with a
batch dimension, not ``S`` Python loops over ``nn.Module`` instances.

Architecture (as :class:`~shortcut_lib.ExampleDeepNeuralNetwork`)
    ``depth`` layers ``Linear -> activation`` with
    ``layer_sizes = [width] * depth + [1]``: ``depth - 1`` square
    ``width -> width`` layers, then the output layer ``width -> 1`` (no shortcut
    there: shapes differ). Depth 5, width 3 is the book's ``[3, 3, 3, 3, 3, 1]``.

Block :math:`i` (``x`` its input, :math:`\mathrm{LN}` a LayerNorm over the
features without learnable scale/shift, :math:`\alpha` the residual scale):

.. math::
    u_i = \begin{cases}\mathrm{LN}(x_i) & \text{pre-LayerNorm}\\ x_i & \text{otherwise}
    \end{cases},\qquad
    x_{i+1} = \begin{cases} x_i + \alpha\, f(W_i u_i + b_i) & \text{shortcut and square}\\
    f(W_i u_i + b_i) & \text{otherwise}\end{cases}

Measurement (as :func:`~shortcut_lib.layer_gradient_means`): loss
:math:`L = \operatorname{mean}(y^2)` (MSE against a zero target, the book's), and
for each network :math:`s` and layer :math:`i` the number
:math:`\operatorname{mean}_{jk}\,|\partial L_s / \partial W_{i,jk}|`.

Initialisation: the distribution ``nn.Linear`` uses, weight and bias
:math:`\sim U(-1/\sqrt{n_{in}},\, 1/\sqrt{n_{in}})`, drawn from a private
``torch.Generator`` (the global random state is never touched). The numbers
are not the ones ``torch.manual_seed(s)`` + ``nn.Linear`` would give; to
reproduce particular models, pass their weights (:func:`stack_model_weights`).
Network ``s`` takes its parameters from row ``s`` of one draw, so the first
32 networks of a population of 64 are the population of 32 (same ``seed``).

Input: the book's ``x = [[1., 0., -1.]]`` for width 3; in general
``x = linspace(1, -1, width)`` (one sample, the same for every network), which
*is* the book's input at width 3. Any other ``x`` can be passed.

Backward: written out by hand, with its derivation, in
:mod:`shortcut_lib.population_backward` (about twice as fast as autograd here;
``method="autograd"`` is kept as a cross-check; ``benchmarks/run.py`` compares them).
"""

from __future__ import annotations

import inspect
import math
import numbers
import warnings
from collections.abc import Callable, Sequence
from typing import Literal, NamedTuple

import torch
from torch import nn

from .architecture import deep_layer_sizes
from .comparison import default_input
from .population_backward import (
    FORWARD,
    LAYER_NORM_EPS,
    LayerWeights,
    autograd_gradient_means,
    gradient_reaches,
    manual_gradient_means,
)
from .validation import (
    ERRORS_OF_THEIR_OWN,
    check_bool,
    check_device,
    check_finite,
    check_finite_result,
    check_float_dtype,
    check_has_values,
    check_integer,
    check_memory,
    check_positive_int,
    check_precision,
    check_real,
    check_reals,
    check_seed,
    check_sequence,
    described,
    short_repr,
)

__all__ = [
    "LAYER_NORM_EPS",
    "population_input",
    "init_population_weights",
    "stack_model_weights",
    "population_gradient_means",
    "first_layer_gradients_by_depth",
    "DepthSweep",
    "DeadNetworks",
    "dead_networks",
    "dead_network_causes",
    "gradient_quantiles",
]

# --- validation -------------------------------------------------------------------------


def _check_activation(activation: object) -> str:
    if not isinstance(activation, str) or activation not in FORWARD:
        valid = ", ".join(repr(name) for name in FORWARD)
        raise ValueError(
            f"activation must be one of {valid} (the population engine takes registry "
            f"names only), got {activation!r}"
        )
    return activation


def _check_options(
    width: int, shortcut: bool, pre_layer_norm: bool, residual_scale: float
) -> float:
    check_bool(shortcut, "shortcut")
    check_bool(pre_layer_norm, "pre_layer_norm")
    residual_scale = check_real(residual_scale, "residual_scale")
    if residual_scale != 1.0 and not shortcut:
        raise ValueError(
            f"residual_scale={residual_scale!r} scales the shortcut branch x + alpha*f(x); "
            "it has no meaning with shortcut=False (leave it at 1.0)"
        )
    if pre_layer_norm and width < 2:
        raise ValueError(
            f"pre_layer_norm needs width >= 2 (LayerNorm of a single feature is always 0), "
            f"got width={width!r}"
        )
    return residual_scale


# --- building blocks --------------------------------------------------------------------


# The population's networks are lesson 03's, many at once: the same input (lesson 04's name).
population_input = default_input


def init_population_weights(
    depth: int,
    width: int = 3,
    population: int = 64,
    seed: int = 0,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
) -> list[LayerWeights]:
    r"""Random weights for ``population`` networks, initialised like ``nn.Linear``.

    Weight and bias of a layer with ``n_in`` inputs are drawn from
    :math:`U(-1/\sqrt{n_{in}}, 1/\sqrt{n_{in}})` (``nn.Linear.reset_parameters``).
    All numbers come from one ``torch.Generator`` seeded with ``seed``; network
    ``s`` uses row ``s`` of a ``(population, n_params)`` draw, so a smaller
    population with the same seed is a prefix of a larger one.

    Returns:
        one ``(W, b)`` per layer, ``W`` of shape ``(population, n_out, n_in)``
        and ``b`` of shape ``(population, n_out)``; layer sizes as
        ``deep_layer_sizes(depth, width)``.
    """
    deep_layer_sizes(depth, width)  # checks depth and width
    population = check_positive_int(population, "population")
    seed = check_seed(seed)
    dtype = check_float_dtype(dtype, none_means_default=True)
    if device is not None:
        device = check_device(device)
    n_parameters = population * depth * (width * width + width)
    # The measurement's peak (measured): weights, their stacked copies and gradients, about 4
    # numbers per parameter, and the activations, about 8 per unit (x of one sample).
    n_numbers = 4 * n_parameters + 8 * population * depth * width
    check_memory(
        n_numbers * torch.empty(0, dtype=dtype).element_size(),
        f"{population:,} networks of {depth:,} layers x {width:,}",
        "use a smaller population, depth or width",
    )
    generator = torch.Generator(device=device if device is not None else "cpu")
    generator.manual_seed(int(seed))
    n_square = depth - 1
    # Parameters of one network, in this order: square weights, square biases, output W, b.
    counts = [n_square * width * width, n_square * width, width, 1]
    unit = torch.rand(population, sum(counts), generator=generator, dtype=dtype, device=device)
    # rand is U[0, 1); 2u - 1 is U[-1, 1), then scale by 1/sqrt(fan_in). Every fan_in is width.
    bound = 1.0 / math.sqrt(width)
    params = unit.mul_(2.0 * bound).sub_(bound)
    w_sq, b_sq, w_out, b_out = params.split(counts, dim=1)
    # Layer-major and contiguous, so each layer's slice is a ready (S, out, in) tensor.
    w_sq = w_sq.reshape(population, n_square, width, width).transpose(0, 1).contiguous()
    b_sq = b_sq.reshape(population, n_square, width).transpose(0, 1).contiguous()
    layers = [(w_sq[i], b_sq[i]) for i in range(n_square)]
    layers.append((w_out.reshape(population, 1, width).contiguous(), b_out.contiguous()))
    return layers


def stack_model_weights(models: Sequence[nn.Module]) -> list[LayerWeights]:
    """Stack the ``Linear`` weights of same-shaped models into population tensors.

    Args:
        models: ``ExampleDeepNeuralNetwork`` instances (or any modules with
            ``.layers[i][0]`` an ``nn.Linear``) with identical layer sizes.

    Returns:
        one ``(W, b)`` per layer, shapes ``(len(models), out, in)`` and
        ``(len(models), out)``, detached copies.
    """
    if isinstance(models, nn.Module) or not isinstance(models, Sequence) or not models:
        raise TypeError(
            f"models must be a non-empty list of ExampleDeepNeuralNetwork, got {described(models)}"
        )
    linears_per_model = [_linears_of(model, f"models[{i}]") for i, model in enumerate(models)]
    shapes = [[tuple(lin.weight.shape) for lin in lins] for lins in linears_per_model]
    for index, layer_shapes in enumerate(shapes):
        if layer_shapes != shapes[0]:
            raise ValueError(
                f"models[{index}] has weight shapes {layer_shapes}, but models[0] has "
                f"{shapes[0]}: a population needs one architecture"
            )
    with torch.no_grad():
        return [
            (
                torch.stack([lins[i].weight for lins in linears_per_model]).clone(),
                torch.stack([lins[i].bias for lins in linears_per_model]).clone(),
            )
            for i in range(len(shapes[0]))
        ]


_BOOK_STRUCTURE = (
    "a model whose .layers[i][0] is an nn.Linear with a bias, as ExampleDeepNeuralNetwork's "
    "(layers[i] = nn.Sequential(nn.Linear(n_in, n_out), activation))"
)


def _linears_of(model: object, name: str) -> list[nn.Linear]:
    """The ``Linear`` of every block ``model.layers[i][0]``, or an error saying which part of
    the book's structure is missing."""
    layers = getattr(model, "layers", None)
    if not isinstance(model, nn.Module) or not isinstance(layers, nn.Sequential | nn.ModuleList):
        raise TypeError(f"{name} must be {_BOOK_STRUCTURE}, got {described(model)}")
    if len(layers) == 0:
        raise ValueError(f"{name}.layers is empty; expected {_BOOK_STRUCTURE}")
    linears = []
    for i, layer in enumerate(layers):
        indexable = isinstance(layer, nn.Sequential | nn.ModuleList) and len(layer) > 0
        first = layer[0] if indexable else None
        if not isinstance(first, nn.Linear):
            raise TypeError(
                f"{name}.layers[{i}] is {short_repr(layer)}; expected a block whose [0] is an "
                f"nn.Linear: {_BOOK_STRUCTURE}"
            )
        if first.bias is None:
            raise ValueError(
                f"{name}.layers[{i}][0] is {first!r}, without a bias; the population "
                f"engine's layers have one: expected {_BOOK_STRUCTURE}"
            )
        linears.append(first)
    return linears


def _check_weights(weights: Sequence[LayerWeights], depth: int, width: int) -> int:
    """Validate explicit weights against ``depth``/``width``; return the population size."""
    if not isinstance(weights, Sequence) or len(weights) != depth:
        got = len(weights) if isinstance(weights, Sequence) else type(weights).__name__
        raise ValueError(f"weights must be a list of {depth} (W, b) pairs (depth), got {got}")
    sizes = deep_layer_sizes(depth, width)
    first = weights[0][0] if isinstance(weights[0], Sequence) and weights[0] else None
    if not isinstance(first, torch.Tensor) or first.ndim != 3:
        raise TypeError(
            "weights[0] must be a (W, b) pair with W a tensor of shape (population, out, in), "
            f"got {weights[0]!r}"
        )
    population = first.shape[0]
    for i, pair in enumerate(weights):
        if not (isinstance(pair, Sequence) and len(pair) == 2):
            raise TypeError(f"weights[{i}] must be a (W, b) pair of tensors, got {pair!r}")
        w, b = pair
        if not isinstance(w, torch.Tensor) or not isinstance(b, torch.Tensor):
            raise TypeError(
                f"weights[{i}] must hold tensors, got {type(w).__name__}, {type(b).__name__}"
            )
        expected_w = (population, sizes[i + 1], sizes[i])
        if tuple(w.shape) != expected_w or tuple(b.shape) != expected_w[:2]:
            raise ValueError(
                f"weights[{i}] has shapes W {tuple(w.shape)}, b {tuple(b.shape)}; expected "
                f"W {expected_w} and b {expected_w[:2]} for layer_sizes {sizes}"
            )
        for part, tensor in (("W", w), ("b", b)):
            if (tensor.dtype, tensor.device) != (first.dtype, first.device):
                raise TypeError(
                    f"weights[{i}]'s {part} is {tensor.dtype} on {tensor.device}, but "
                    f"weights[0]'s W is {first.dtype} on {first.device}: a population needs "
                    f"one dtype and device, e.g. [(w.to({first.dtype}), b.to({first.dtype})) "
                    "for w, b in weights]"
                )
            check_has_values(tensor, f"weights[{i}]'s {part}")
            check_finite(
                tensor, f"weights[{i}]'s {part}", "rebuild them, e.g. with init_population_weights"
            )
    return population


def _prepare_input(
    x: torch.Tensor | None, width: int, population: int, dtype: torch.dtype, device: torch.device
) -> torch.Tensor:
    """Return the input as ``(population, batch, width)`` (an expanded view if shared)."""
    if x is None:
        x = population_input(width, dtype=dtype, device=device)
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor or None, got {type(x).__name__}")
    if x.ndim not in (1, 2, 3) or x.shape[-1] != width:
        raise ValueError(
            f"x must have shape (width,), (batch, width) or (population, batch, width) with "
            f"width={width}, got shape {tuple(x.shape)}"
        )
    if x.ndim == 3 and x.shape[0] != population:
        raise ValueError(
            f"x of shape {tuple(x.shape)} has {x.shape[0]} networks' inputs, "
            f"but the population has {population}"
        )
    if x.dtype != dtype:
        raise TypeError(f"x has dtype {x.dtype} but the weights have {dtype}")
    if x.numel() == 0:
        raise ValueError(
            f"x is empty (shape {tuple(x.shape)}); expected at least one sample of width "
            f"{width}, e.g. population_input({width})"
        )
    check_has_values(x, "x")
    if not bool(torch.isfinite(x).all()):
        raise ValueError("x must be finite, but it holds NaN or infinite values")
    if x.ndim == 1:
        x = x.unsqueeze(0)
    if x.ndim == 2:
        x = x.unsqueeze(0).expand(population, *x.shape)
    return x


# --- the measurement --------------------------------------------------------------------

_OVERFLOW_ADVICE = (
    "the networks overflowed (too many layers for the dtype, or too large an input x or "
    "residual_scale): use fewer layers, a smaller x or residual_scale, or dtype=torch.float64"
)


def _check_fits(alpha: float, dtype: torch.dtype) -> None:
    """``residual_scale`` as a number of ``dtype``: else torch's "cannot be converted to type
    float without overflow" from the first ``x + alpha * f(x)``."""
    largest = torch.finfo(dtype).max
    if abs(alpha) > largest:
        raise ValueError(
            f"residual_scale={alpha!r} does not fit in {dtype} (at most {largest:.3g}): "
            "x + residual_scale * f(x) would overflow; use a smaller residual_scale "
            "(1 / sqrt(depth) keeps the sum bounded) or dtype=torch.float64"
        )


class _Underflow(NamedTuple):
    """Gradients that came out exactly 0 though no unit blocks them: ``(S, depth)`` bool."""

    lost: torch.Tensor
    dtype: torch.dtype

    def describe(self) -> str:
        networks, layer = self.lost.any(1), int(self.lost.nonzero()[0, 1])
        return (
            f"{int(networks.sum())} of {len(networks)} network(s) (first: network "
            f"{int(networks.nonzero()[0])}, layer {layer})"
        )

    def advice(self) -> str:
        smallest = torch.finfo(self.dtype).smallest_normal * torch.finfo(self.dtype).eps
        change = "use fewer layers" if self.dtype == torch.float64 else "use dtype=torch.float64"
        return (
            f"the numbers fell below the smallest {self.dtype} ({smallest:.2g}) and rounded "
            f"to 0: an underflow, not a dead network (DeadNetworks does not count them); {change}"
        )


def _causes(
    means: torch.Tensor, output_signal: torch.Tensor, network: tuple
) -> tuple[DeadNetworks, _Underflow | None]:
    """Why gradients are exactly 0: dead at the output, dead inside, or underflow.

    A 0 is a dead layer only if the gradient is 0 by structure (a slope, an input or a weight
    that is exactly 0, :func:`gradient_reaches`); where every product is non-zero and the
    result still came out 0, the numbers underflowed, and 0 is the wrong answer."""
    output_dead = (output_signal == 0).flatten(1).all(1)
    first_zero = means[:, 0] == 0
    zeros = means == 0
    if not bool(zeros.any()):
        return DeadNetworks(output=output_dead, inside=~output_dead & first_zero), None
    with torch.no_grad():
        reaches, signal_reaches = gradient_reaches(*network)
    lost = zeros & reaches
    output_dead &= ~signal_reaches
    inside = ~output_dead & first_zero & ~lost[:, 0]
    underflow = _Underflow(lost, means.dtype) if bool(lost.any()) else None
    return DeadNetworks(output=output_dead, inside=inside), underflow


def population_gradient_means(
    depth: int,
    width: int = 3,
    population: int = 64,
    activation: str = "gelu",
    shortcut: bool = True,
    pre_layer_norm: bool = False,
    residual_scale: float = 1.0,
    seed: int = 0,
    x: torch.Tensor | None = None,
    weights: Sequence[LayerWeights] | None = None,
    dtype: torch.dtype | None = None,
    method: Literal["manual", "autograd"] = "manual",
    return_dead: bool = False,
) -> torch.Tensor | tuple[torch.Tensor, DeadNetworks]:
    r"""Per-layer mean absolute weight gradient of ``population`` networks at once.

    For each network :math:`s` and layer :math:`i`:
    :math:`\operatorname{mean}|\partial L_s/\partial W_i|` with
    :math:`L_s = \operatorname{mean}(y_s^2)`, the architecture and block
    formula of this module's docstring. With the weights of ``S``
    ``ExampleDeepNeuralNetwork`` models (:func:`stack_model_weights`) the result
    row ``s`` equals ``layer_gradient_means(models[s], x)`` (rtol 1e-5).

    Args:
        depth: number of layers (``depth - 1`` square ones and ``width -> 1``).
        width: features per hidden layer (and of the input).
        population: number of networks ``S`` (``weights``, when given, set it; another
            value than theirs or the default is an error).
        activation: a name from ``shortcut_lib.ACTIVATIONS``.
        shortcut: add ``x + alpha * f(x)`` around every square layer.
        pre_layer_norm: LayerNorm (no scale/shift, eps 1e-5) before every
            layer, as in a pre-LN transformer block: ``x + f(LN(x))``.
        residual_scale: :math:`\alpha` in ``x + alpha * f(x)``; only with
            ``shortcut=True``. ``1 / sqrt(depth)`` keeps the sum's variance bounded.
        seed: seed of the private generator (see :func:`init_population_weights`).
        x: input, ``(width,)``, ``(batch, width)`` (shared) or
            ``(S, batch, width)``; ``None`` is ``linspace(1, -1, width)``.
        weights: explicit ``(W, b)`` per layer, shapes ``(S, out, in)``, ``(S, out)``.
        dtype: of the random weights (default: torch's default dtype; explicit
            weights keep theirs, and another dtype is an error): float32 or float64.
            float16 and bfloat16 are refused: in 16 bits the gradients round to 0 within a
            few dozen layers.
        method: ``"manual"`` (hand-written backward, fast) or ``"autograd"``.
        return_dead: also return why networks get no gradient (:class:`DeadNetworks`),
            from the same pass.

    Returns:
        Tensor of shape ``(S, depth)``; column 0 is the first layer. With
        ``return_dead=True``, the pair ``(means, DeadNetworks)``.

    Raises:
        ValueError: a gradient mean overflowed to inf or NaN (too deep for the dtype,
            or too large an ``x`` or ``residual_scale``), instead of returning it.

    Warns:
        RuntimeWarning: a gradient mean underflowed to exactly 0 where no unit blocks
            the gradient (e.g. a plain network too deep for float32: use
            ``dtype=torch.float64``); such a network is counted in neither cause of
            :class:`DeadNetworks`.

    Example::

        >>> g = population_gradient_means(depth=50, population=64, shortcut=False)
        >>> g.shape
        torch.Size([64, 50])
    """
    means, dead, underflow = _gradient_means(**locals())  # locals() is the arguments here
    if underflow is not None:
        warnings.warn(
            f"the gradient means came out exactly 0 in {underflow.describe()} of depth={depth} "
            f"where no unit blocks the gradient: {underflow.advice()}",
            RuntimeWarning,
            stacklevel=2,
        )
    return (means, dead) if return_dead else means


def _gradient_means(depth: int, **options) -> tuple[torch.Tensor, DeadNetworks, _Underflow | None]:
    """``population_gradient_means(depth, **options)`` (its defaults filled in), its
    :class:`DeadNetworks`, and any underflow, for the caller to report once."""
    signature = inspect.signature(population_gradient_means)
    try:
        arguments = signature.bind(depth, **options)
    except TypeError as error:
        names = ", ".join(list(signature.parameters)[1:])
        raise TypeError(f"{error}; the options are population_gradient_means': {names}") from None
    arguments.apply_defaults()
    return _measure(**arguments.arguments)


def _measure(
    depth: int,
    width: int,
    population: int,
    activation: str,
    shortcut: bool,
    pre_layer_norm: bool,
    residual_scale: float,
    seed: int,
    x: torch.Tensor | None,
    weights: Sequence[LayerWeights] | None,
    dtype: torch.dtype | None,
    method: str,
    return_dead: bool,
) -> tuple[torch.Tensor, DeadNetworks, _Underflow | None]:
    """The checks and the measurement of :func:`population_gradient_means`."""
    depth = check_positive_int(depth, "depth")
    width = check_positive_int(width, "width")
    activation = _check_activation(activation)
    alpha = _check_options(width, shortcut, pre_layer_norm, residual_scale)
    if method not in ("manual", "autograd"):
        raise ValueError(f"method must be 'manual' or 'autograd', got {method!r}")
    if weights is None:
        chosen = check_float_dtype(dtype, none_means_default=True)
        what = f"dtype={dtype}" if dtype is not None else f"the default dtype {chosen}"
        check_precision(chosen, what, "use dtype=torch.float32 or torch.float64")
        weights = init_population_weights(depth, width, population, seed, dtype=dtype)
        population = weights[0][0].shape[0]
    else:
        asked, asked_dtype = check_positive_int(population, "population"), dtype
        population = _check_weights(weights, depth, width)
        # Ignored when weights are given, but a value that contradicts them is a slip to name.
        default = inspect.signature(population_gradient_means).parameters["population"].default
        if asked not in (default, population):
            raise ValueError(
                f"population={asked} but the weights hold {population} networks; leave "
                "population out when you pass weights (they set it)"
            )
        if asked_dtype is not None and check_float_dtype(asked_dtype) != weights[0][0].dtype:
            raise ValueError(
                f"dtype={asked_dtype} but the weights are {weights[0][0].dtype}; leave dtype "
                "out when you pass weights (they keep theirs), or convert them"
            )
        check_precision(
            weights[0][0].dtype,
            f"the weights' dtype {weights[0][0].dtype}",
            "convert them, e.g. [(w.double(), b.double()) for w, b in weights]",
        )
    dtype, device = weights[0][0].dtype, weights[0][0].device
    _check_fits(alpha, dtype)
    x = _prepare_input(x, width, population, dtype, device)
    check_bool(return_dead, "return_dead")
    network = (weights, x, activation, shortcut, pre_layer_norm, alpha)
    if method == "autograd":
        means, output_signal = autograd_gradient_means(*network)
    else:
        with torch.no_grad():
            means, output_signal = manual_gradient_means(*network)
    check_finite_result(means, "the gradient means", _OVERFLOW_ADVICE)
    return means, *_causes(means, output_signal, network)


class DeadNetworks(NamedTuple):
    r"""Why a network's first layer gets gradient exactly 0: two causes, network by network.

    Attributes:
        output: ``(S,)`` bool, *dead at the output*: the output unit's error signal
            :math:`\partial L/\partial z_{out} = 2y\,f'(z_{out})` is exactly 0 (its
            pre-activation sits where the activation is flat: ReLU below 0, GELU far
            below 0, a sigmoid so saturated that its slope rounds to 0). Every
            gradient in the network is a multiple of this signal, so no weight
            anywhere gets one: nothing in the network learns.
        inside: ``(S,)`` bool, *dead inside*: the output signal is not 0, but the
            first layer's gradient is: some layer passes nothing back (at width 3,
            a ReLU layer whose three units are all negative, including the first
            layer's own). The layers above that one still learn.

    Both are zeros by structure: a slope, an input or a weight that is exactly 0
    (:func:`~shortcut_lib.population_backward.gradient_reaches`). A gradient whose
    every factor is non-zero but which rounded to 0 (a plain GELU network 63 layers
    deep in float32) is no dead network: it is counted in neither, and a
    ``RuntimeWarning`` reports the underflow. The two never overlap; without an
    underflow, ``output | inside`` is exactly "first-layer gradient 0".
    """

    output: torch.Tensor
    inside: torch.Tensor


def dead_network_causes(depth: int, **options) -> DeadNetworks:
    """:class:`DeadNetworks` of a population (same arguments as :func:`population_gradient_means`).

    Example::

        >>> dead = dead_network_causes(10, activation="relu", shortcut=False, population=64)
        >>> dead.output.double().mean().item(), dead.inside.double().mean().item()  # shares
        (0.375, 0.4375)
    """
    _, dead, underflow = _gradient_means(depth, **options)
    if underflow is not None:
        warnings.warn(
            f"dead_network_causes: the gradients came out exactly 0 in {underflow.describe()} "
            f"of depth={depth} where no unit blocks them: {underflow.advice()}",
            RuntimeWarning,
            stacklevel=2,
        )
    return dead


class DepthSweep(NamedTuple):
    """Result of :func:`first_layer_gradients_by_depth`.

    Attributes:
        depths: the depths measured, shape ``(n,)``.
        first_layer: first-layer mean |gradient|, shape ``(n, S)``.
        dead: ``True`` where a network is *dead at the output* (no weight anywhere
            gets a gradient; :attr:`DeadNetworks.output`), shape ``(n, S)``.
        inside_dead: ``True`` where the output is alive but the first layer's
            gradient is exactly 0 (:attr:`DeadNetworks.inside`), shape ``(n, S)``.
    """

    depths: torch.Tensor
    first_layer: torch.Tensor
    dead: torch.Tensor
    inside_dead: torch.Tensor


def dead_networks(means: torch.Tensor) -> torch.Tensor:
    """Networks whose output layer's weights get gradient exactly 0, from ``(S, depth)`` means.

    What the means alone can tell: usually the output unit is dead (its slope
    :math:`f'(z_{out})` is 0, see :class:`DeadNetworks`), but a ReLU network whose
    last hidden layer outputs all zeros is counted too. For the two causes apart,
    use ``population_gradient_means(..., return_dead=True)``. Returns a bool
    tensor of shape ``(S,)``.
    """
    if not isinstance(means, torch.Tensor) or means.ndim != 2:
        raise ValueError(f"means must be a (population, depth) tensor, got {means!r}")
    return means[:, -1] == 0


def first_layer_gradients_by_depth(depths: Sequence[int], **options) -> DepthSweep:
    """First-layer mean |gradient| of a fresh population at each depth.

    Args:
        depths: the depths to measure, e.g. ``range(1, 101)``.
        **options: passed to :func:`population_gradient_means` (``width``,
            ``population``, ``activation``, ``shortcut``, ``pre_layer_norm``,
            ``residual_scale``, ``seed``, ``dtype``); ``residual_scale`` may also
            be a function of one argument, the depth, that returns a real number
            :math:`\alpha`, such as ``lambda d: d ** -0.5``.

    Returns:
        A :class:`DepthSweep`: ``first_layer``, ``dead`` and ``inside_dead``, each of
        shape ``(len(depths), S)``.
    """
    if "depth" in options or "weights" in options or "return_dead" in options:
        raise TypeError("first_layer_gradients_by_depth takes depths=..., not depth/weights")
    depths = check_depths(depths, "range(1, 101)")
    scale = _scale_by_depth(options.pop("residual_scale", 1.0))
    first, output_dead, inside_dead, underflows = [], [], [], {}
    for depth in depths:
        means, dead, underflow = _gradient_means(depth, residual_scale=scale(depth), **options)
        first.append(means[:, 0])
        output_dead.append(dead.output)
        inside_dead.append(dead.inside)
        if underflow is not None and bool(underflow.lost[:, 0].any()):
            underflows[depth] = underflow
    if underflows:
        lost = [int(u.lost[:, 0].sum()) for u in underflows.values()]
        where = ", ".join(map(str, list(underflows)[:5])) + (", ..." if len(underflows) > 5 else "")
        warnings.warn(
            f"first_layer_gradients_by_depth: the first-layer gradient came out exactly 0 for "
            f"{sum(lost):,} (network, depth) pair(s) at {len(underflows)} depth(s) ({where}) "
            f"where no unit blocks it: {next(iter(underflows.values())).advice()}",
            RuntimeWarning,
            stacklevel=2,
        )
    return DepthSweep(
        torch.tensor(depths),
        torch.stack(first),
        torch.stack(output_dead),
        torch.stack(inside_dead),
    )


def check_depths(depths: object, example: str, minimum: int = 1) -> list[int]:
    """A non-empty list, tuple, range, 1-D integer array or tensor of integers >= ``minimum``,
    as Python ints (``example`` shows a good value in the message)."""
    depths = check_sequence(depths, "depths", example, "integers", "depth")
    return [check_integer(d, f"depths[{i}]", minimum=minimum) for i, d in enumerate(depths)]


def _scale_by_depth(scale: object) -> Callable[[int], object]:
    """``residual_scale`` of :func:`first_layer_gradients_by_depth` as a function of depth."""
    if not callable(scale):
        return lambda depth: scale
    try:
        inspect.signature(scale).bind(1)
    except TypeError:
        name = getattr(scale, "__name__", type(scale).__name__)
        raise TypeError(
            f"residual_scale must be a number or a function of the depth such as "
            f"lambda depth: depth ** -0.5, got {name}{inspect.signature(scale)}, which "
            "cannot be called with one argument (the depth)"
        ) from None
    except ValueError:  # no signature to read (some builtins): calling it will tell
        pass

    def scale_at(depth: int) -> float:
        try:
            value = scale(depth)
        except ERRORS_OF_THEIR_OWN:
            raise
        except Exception as error:  # noqa: BLE001 - the learner's function failed: say where
            raise ValueError(
                f"residual_scale({depth}) raised {type(error).__name__}: {error} (it is "
                "called with every depth in depths); make it work for each of them, e.g. "
                "lambda depth: depth ** -0.5"
            ) from error
        return check_real(value, f"residual_scale({depth})")

    return scale_at


def gradient_quantiles(
    values: torch.Tensor,
    quantiles: Sequence[float] | float = (0.25, 0.5, 0.75),
    dim: int = 0,
    exclude: torch.Tensor | None = None,
) -> torch.Tensor:
    """Quantiles over the population (default: lower quartile, median, upper quartile).

    Args:
        values: e.g. ``(S, depth)`` from :func:`population_gradient_means`
            (``dim=0``) or ``(n_depths, S)`` (``dim=1``); finite where not excluded.
            float16 and bfloat16 values are computed in float32 and returned in
            their own dtype.
        quantiles: fractions in [0, 1] (0.5 is the median), a list, or a single
            number for one quantile (then the result has no quantile dimension, as
            with ``torch.quantile``).
        dim: the population dimension.
        exclude: optional bool mask with ``values``' number of dimensions, each of
            ``values``' size or 1 (e.g. ``dead[:, None]``, one flag per network of a
            ``(S, depth)`` table): entries left out (e.g. dead networks,
            :func:`dead_networks`); where every entry is excluded the result is NaN.
            A mask of fewer dimensions is refused (it would line up with the last
            dimension, not the population), unless it has a single element.

    Returns:
        Tensor of shape ``(len(quantiles), *rest)``: the population dimension
        replaced by the quantiles (``rest`` alone for a single number).
    """
    if not isinstance(values, torch.Tensor) or not values.is_floating_point():
        raise TypeError(f"values must be a floating-point tensor, got {values!r}")
    check_has_values(values, "values")
    dim = check_integer(dim, "dim")
    if values.ndim == 0 or not -values.ndim <= dim < values.ndim or values.shape[dim] == 0:
        raise ValueError(
            f"values must have a non-empty population dimension dim={dim!r}, "
            f"got shape {tuple(values.shape)}"
        )
    single = isinstance(quantiles, numbers.Real) and not isinstance(quantiles, bool)
    if single:
        q_list = [check_real(quantiles, "quantiles")]
    else:
        q_list = check_reals(quantiles, "quantiles", "(0.25, 0.5, 0.75)")
    if not all(0 <= q <= 1 for q in q_list):
        raise ValueError(
            f"quantiles must lie in [0, 1] (fractions: 0.5 is the median), got "
            f"{q_list[0] if single else q_list!r}"
        )
    _check_exclude(exclude, values, dim)
    # torch.quantile computes in float32 and float64 only.
    work = values if values.dtype in (torch.float32, torch.float64) else values.float()
    q = torch.tensor(q_list, dtype=work.dtype, device=work.device)
    if exclude is not None:
        work = work.masked_fill(exclude, float("nan"))
    if values.shape[dim] > _QUANTILE_LIMIT:
        result = _quantile_by_sorting(work, q, dim)
    elif exclude is None:
        result = torch.quantile(work, q, dim=dim)
    else:
        result = torch.nanquantile(work, q, dim=dim)
    result = result.to(values.dtype)
    return result[0] if single else result


#: torch.quantile sorts at most 2**24 values along ``dim``; beyond, gradient_quantiles sorts.
_QUANTILE_LIMIT = 2**24


def _quantile_by_sorting(work: torch.Tensor, q: torch.Tensor, dim: int) -> torch.Tensor:
    """``torch.nanquantile(work, q, dim)`` (linear interpolation, NaN left out) for more
    values along ``dim`` than torch.quantile takes: the same formula, sorted here."""
    ordered = work.movedim(dim, -1).sort(dim=-1).values  # NaN sort last
    count = (~ordered.isnan()).sum(-1, keepdim=True)  # (*rest, 1)
    ranks = q.view(-1, *[1] * ordered.ndim) * (count - 1).to(work.dtype)  # (Q, *rest, 1)
    below = ranks.floor().clamp(min=0).long()
    above = ranks.ceil().clamp(min=0).long()
    table = ordered.expand(len(q), *ordered.shape)
    low, high = table.gather(-1, below), table.gather(-1, above)
    result = low.lerp(high, ranks - below.to(work.dtype)).squeeze(-1)
    return result.masked_fill(count.squeeze(-1) == 0, float("nan"))


def _exclude_shapes(exclude: torch.Tensor, values: torch.Tensor, dim: int) -> str:
    """The unambiguous ways to write a mask of fewer dimensions than ``values``."""
    trailing = (1,) * (values.ndim - exclude.ndim) + tuple(exclude.shape)
    ways = f"exclude.reshape{trailing} for what it means now"
    if exclude.ndim == 1 and len(exclude) == values.shape[dim]:
        shape = tuple(n if i == dim % values.ndim else 1 for i, n in enumerate(values.shape))
        ways = f"exclude.reshape{shape} for one flag per network, or " + ways
    return ways


def _check_exclude(exclude: object, values: torch.Tensor, dim: int) -> None:
    """``exclude`` of :func:`gradient_quantiles`, and ``values`` finite where it keeps them."""
    keep = torch.ones((), dtype=torch.bool, device=values.device)
    if exclude is not None:
        if not isinstance(exclude, torch.Tensor) or exclude.dtype != torch.bool:
            raise TypeError(f"exclude must be a bool tensor, got {described(exclude)}")
        check_has_values(exclude, "exclude")
        try:
            fits = torch.broadcast_shapes(exclude.shape, values.shape) == values.shape
        except RuntimeError:
            fits = False
        if not fits:
            raise ValueError(
                f"exclude of shape {tuple(exclude.shape)} does not broadcast to values of "
                f"shape {tuple(values.shape)}; give it values' shape, or size 1 where it is "
                "the same for all, e.g. exclude=dead[:, None] for (population, depth) values"
            )
        # Fewer dimensions line up with values' last ones, not with dim: a per-network mask
        # of a square (population, depth) table would silently flag layers instead.
        if exclude.ndim < values.ndim and exclude.numel() > 1:
            raise ValueError(
                f"exclude of shape {tuple(exclude.shape)} is ambiguous for values of shape "
                f"{tuple(values.shape)}: with fewer dimensions it lines up with values' last "
                f"one(s), not with the population (dim={dim}); give it {values.ndim} "
                f"dimensions: {_exclude_shapes(exclude, values, dim)}"
            )
        keep = ~exclude
    bad = ~torch.isfinite(values) & keep
    if bool(bad.any()):
        raise ValueError(
            f"values must be finite where not excluded, but {int(bad.sum())} value(s) are NaN "
            "or infinite (a quantile of those is undefined); leave them out with "
            "exclude=~torch.isfinite(values)"
        )
