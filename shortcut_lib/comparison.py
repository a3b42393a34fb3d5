r"""Plain vs shortcut: the same network, the same weights, one backward pass each.

Lesson 03's measurement. :func:`compare_gradients` builds a fair pair of networks
(:func:`~shortcut_lib.model.make_model_pair`: equal initial weights, differing only
in the shortcuts) and returns the mean absolute weight gradient of every layer
for both; :func:`vanishing_ratio` condenses a table to one number, the first
layer's gradient over the last layer's. :func:`residual_stream` and
:func:`layer_jacobians` show *why*: the chain rule multiplies one Jacobian per
layer, :math:`\partial f_i/\partial x_i` without a shortcut,
:math:`I + \partial f_i/\partial x_i` with one.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

import torch
from torch import nn

from .activations import ActivationSpec
from .architecture import (
    _as_list,
    deep_layer_sizes,  # re-exported: lesson 03 imports it from here
)
from .gradients import _check_significant_digits, layer_gradient_means
from .isolation import for_autograd, gradients_on
from .model import ExampleDeepNeuralNetwork, shortcuts_disabled
from .validation import (
    check_device,
    check_finite_result,
    check_gradient_means,
    check_has_values,
    check_input,
    check_layer_sizes,
    check_matches_parameters,
    check_memory,
    check_module,
    check_positive_int,
    check_seed,
)

__all__ = [
    "BOOK_INPUT",
    "BOOK_LAYER_SIZES",
    "compare_gradients",
    "deep_layer_sizes",
    "default_input",
    "format_gradient_table",
    "layer_jacobians",
    "max_weight_difference",
    "residual_stream",
    "vanishing_ratio",
]

#: The book's network: five layers, three features wide, one output.
BOOK_LAYER_SIZES: tuple[int, ...] = (3, 3, 3, 3, 3, 1)

#: The book's sample input, ``[[1., 0., -1.]]`` (use ``default_input(3)`` for a fresh copy).
BOOK_INPUT = torch.tensor([[1.0, 0.0, -1.0]])


def default_input(
    width: int, dtype: torch.dtype | None = None, device: torch.device | str | None = None
) -> torch.Tensor:
    r"""The sample input used when none is given: ``width`` values evenly spaced from 1 to -1.

    .. math:: x_j = 1 - \frac{2j}{\text{width} - 1}, \qquad j = 0, \dots, \text{width} - 1

    For ``width == 3`` this is exactly the book's ``[[1., 0., -1.]]``; other widths
    get the same pattern stretched (``width == 1`` gives ``[[1.]]``). It is fixed,
    not random, so the seed changes only the weights.

    Shape:
        Output: :math:`(1, \text{width})`, of the given dtype (default: torch's default
        dtype, float32 unless changed) and device (one this machine has, e.g. ``"cpu"``).
    """
    width = check_positive_int(width, "width")
    if dtype is not None and not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
        raise TypeError(f"dtype must be a floating-point torch.dtype, got {dtype!r}")
    if device is not None:
        device = check_device(device, "device")
    check_memory(width * 4 * 8, f"width={width:,}", "use a smaller width")
    return torch.linspace(1.0, -1.0, width, dtype=dtype, device=device).unsqueeze(0)


def compare_gradients(
    layer_sizes: Sequence[int] = BOOK_LAYER_SIZES,
    seed: int = 123,
    activation: ActivationSpec = "gelu",
    x: torch.Tensor | None = None,
) -> tuple[dict[str, float], dict[str, float]]:
    r"""Per-layer gradient magnitudes of a plain and a shortcut network with equal weights.

    Equivalent to building ``make_model_pair(layer_sizes, seed, activation)`` and
    running one forward and backward pass of ``MSE(model(x), 0)`` through each (it
    runs one network twice, shortcuts off then on: same weights, same numbers,
    half the cost); returns
    :math:`\operatorname{mean}|\partial \text{loss}/\partial W_i|` per layer
    (see :func:`~shortcut_lib.gradients.layer_gradient_means`). The global
    random state is left untouched, so the result depends only on the arguments
    (a random activation such as ``F.dropout`` draws from the seeded state too).

    Args:
        layer_sizes: feature counts, input first; the book's ``[3, 3, 3, 3, 3, 1]``
            by default.
        seed: seed of the (shared) initial weights.
        activation: a registered name (``"gelu"``, ``"relu"``, ...) or a factory.
        x: input of shape :math:`(*, \text{layer\_sizes}[0])`; ``None`` means
            :func:`default_input` ``(layer_sizes[0])``, which for the book's width 3
            is the book's ``[[1., 0., -1.]]``.

    Returns:
        ``(plain_means, shortcut_means)``: two dicts ``{"layers.0.0.weight": ..., ...}``,
        one entry per layer (its ``nn.Linear`` weight; an activation's own weights, such as
        ``nn.PReLU``'s slopes, are left out), in layer order.

    The networks are built in torch's default dtype (float32 unless changed with
    ``torch.set_default_dtype``), and ``x`` must have it: for float64, call
    ``torch.set_default_dtype(torch.float64)`` first. Works inside ``torch.no_grad()``
    and ``torch.inference_mode()`` too.

    Example::

        >>> plain, shortcut = compare_gradients()
        >>> f"{plain['layers.0.0.weight']:.4g}", f"{shortcut['layers.0.0.weight']:.4g}"
        ('0.0002017', '0.2217')
    """
    sizes = check_layer_sizes(_as_list(layer_sizes, "layer_sizes"))
    seed = check_seed(seed)
    # make_model_pair builds two networks with equal weights; building one and running
    # it with its shortcuts off, then on, gives the same numbers bit for bit at half the
    # cost (building the modules took as long as both backward passes; an explorer
    # does this on every slider step). A test holds it equal to make_model_pair, and
    # shortcuts_disabled keeps the model's use_shortcut as true as its shortcut_mask.
    # gradients_on: inside inference mode the weights would be built as tensors autograd
    # cannot use.
    with torch.random.fork_rng(devices=[]), gradients_on():
        torch.manual_seed(seed)
        model = ExampleDeepNeuralNetwork(sizes, use_shortcut=True, activation=activation)
        weight = model.layers[0][0].weight
        if x is None:  # the input follows the model: its dtype (torch's default) and device
            x = default_input(sizes[0], dtype=weight.dtype, device=weight.device)
        _check_default_dtype(x, weight.dtype)
        with shortcuts_disabled(model):
            plain = layer_gradient_means(model, x)
        return _per_layer(plain), _per_layer(layer_gradient_means(model, x))


def _check_default_dtype(x: object, dtype: torch.dtype) -> None:
    """The caller never sees the networks compare_gradients builds: say what their dtype is
    and how to change it (torch's advice, model.to(...), is out of reach)."""
    if isinstance(x, torch.Tensor) and x.is_floating_point() and x.dtype != dtype:
        raise TypeError(
            f"x dtype {x.dtype} does not match the networks compare_gradients builds, which "
            f"are in torch's default dtype ({dtype}); pass x.to({dtype}), or build them in "
            f"{x.dtype} with torch.set_default_dtype({x.dtype}) before the call"
        )


def _activation_parameter(key: object, means: Mapping) -> bool:
    """Is ``key`` an activation's own weight in an ExampleDeepNeuralNetwork's table
    (``layers.2.1.weight``, an ``nn.PReLU``'s slope, beside ``layers.2.0.weight``)?"""
    match = re.fullmatch(r"layers\.(\d+)\.([1-9]\d*)\..+", key) if isinstance(key, str) else None
    return match is not None and f"layers.{match[1]}.0.weight" in means


def _per_layer(means: Mapping) -> dict:
    """One entry per layer: the layers' ``nn.Linear`` weights, without the activations' own."""
    return {key: value for key, value in means.items() if not _activation_parameter(key, means)}


def _gradient_table(means: object, name: str) -> dict:
    """A table of gradient means, one entry per layer, or a clear error (a value on the
    meta device would otherwise fail inside ``.item()``)."""
    if isinstance(means, Mapping):
        for key, value in means.items():
            if isinstance(value, torch.Tensor):
                check_has_values(value, f"{name}[{key!r}]")
    return _per_layer(check_gradient_means(means, name))


def vanishing_ratio(means: Mapping[str, float]) -> float:
    r"""First layer's gradient divided by the last layer's: how much of the signal survives.

    .. math:: r = \frac{\operatorname{mean}|\partial L/\partial W_0|}
                       {\operatorname{mean}|\partial L/\partial W_{n-1}|}

    Backpropagation starts at the last layer, so :math:`r \ll 1` means the
    gradient fades on its way back to the input: it *vanishes*. :math:`r \approx 1`
    means the first layer learns as fast as the last.

    Args:
        means: a table from :func:`compare_gradients` or
            :func:`~shortcut_lib.gradients.layer_gradient_means` (layer order). In an
            :class:`~shortcut_lib.model.ExampleDeepNeuralNetwork`'s table a layer's gradient
            is its ``nn.Linear`` weight's, ``layers.i.0.weight``: an activation's own weights
            (``nn.PReLU``'s slopes, ``layers.i.1.weight``) are left out.

    Returns:
        The ratio, a finite number >= 0.

    Raises:
        ValueError: ``means`` is empty; the last layer's gradient is exactly 0, so
            there is no ratio (e.g. a dead network: its output is exactly 0, the target,
            so the loss and every gradient are 0); or the ratio overflows a float.
    """
    means = _gradient_table(means, "means")
    if not means:
        raise ValueError("means is empty; expected at least one layer's gradient mean")
    names, values = list(means), list(means.values())
    first, last = float(values[0]), float(values[-1])
    if last == 0.0:
        why = (
            "every layer's is 0: the network is dead (e.g. its output is exactly 0, the "
            "target, so the loss and every gradient are 0); try another seed or activation"
            if not any(values)
            else "the last layer's weights get no gradient while earlier ones do (e.g. that "
            "layer's input is all 0, or the model does not use those weights); compare two "
            "other layers' means instead"
        )
        raise ValueError(
            f"means[{names[-1]!r}], the last layer's gradient, is 0, so first / last is "
            f"undefined; {why}"
        )
    ratio = first / last
    if not math.isfinite(ratio):
        raise ValueError(
            f"first / last = {first!r} / {last!r} overflows a float (more than 1e308); "
            "the first layer's gradient is that many times larger than the last's"
        )
    return ratio


def max_weight_difference(model_a: nn.Module, model_b: nn.Module) -> float:
    """Largest absolute difference between two models' parameters and buffers.

    ``0.0`` means the two start from identical weights, the condition for a fair
    comparison. Compares the ``state_dict`` entry by entry.

    Raises:
        ValueError: the models do not have the same entries or shapes.
    """
    for name, model in (("model_a", model_a), ("model_b", model_b)):
        check_module(model, name)
    state_a, state_b = model_a.state_dict(), model_b.state_dict()
    if list(state_a) != list(state_b):
        raise ValueError(
            f"the models have different parameters: {sorted(set(state_a) ^ set(state_b))}"
        )
    largest = 0.0
    for name, tensor_a in state_a.items():
        tensor_b = state_b[name]
        if tensor_a.shape != tensor_b.shape:
            raise ValueError(
                f"{name} has shape {tuple(tensor_a.shape)} in model_a but "
                f"{tuple(tensor_b.shape)} in model_b"
            )
        for which, tensor in (("model_a", tensor_a), ("model_b", tensor_b)):
            check_has_values(tensor, f"{which}'s {name}")
            if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
                raise ValueError(
                    f"{which}'s {name} holds NaN or infinite values, so the weights cannot "
                    "be compared; rebuild the model (its training or initialisation diverged)"
                )
        if tensor_a.device != tensor_b.device:
            raise ValueError(
                f"{name} is on {tensor_a.device} in model_a but on {tensor_b.device} in "
                f"model_b; move one, e.g. model_b.to({str(tensor_a.device)!r})"
            )
        if tensor_a.numel():
            diff = (tensor_a.detach().double() - tensor_b.detach().double()).abs().max().item()
            largest = max(largest, diff)
    return largest


def format_gradient_table(
    plain: Mapping[str, float],
    shortcut: Mapping[str, float],
    significant_digits: int | None = 4,
) -> str:
    """A plain-text table: one row per layer, plain and shortcut gradient means and their ratio.

    Numbers are rounded to ``significant_digits``, 1 to 17 (from about the 7th digit
    on, the values change with the CPU and torch version); ``None`` shows every digit,
    as :func:`~shortcut_lib.gradients.print_gradients` does. Where ``plain`` is 0 the
    ratio has no value and its cell says so. Layers are taken as in
    :func:`vanishing_ratio` (an activation's own weights are left out).

    Example::

        >>> print(format_gradient_table(*compare_gradients()))  # doctest: +ELLIPSIS
        layer      plain  shortcut  shortcut / plain
        0      0.0002017    0.2217              1099
        ...
        4       0.005050     1.326             262.6
    """
    plain = _gradient_table(plain, "plain")
    shortcut = _gradient_table(shortcut, "shortcut")
    if list(plain) != list(shortcut):
        raise ValueError(
            f"plain and shortcut must have the same layers, got {list(plain)} and {list(shortcut)}"
        )
    if not plain:
        raise ValueError(
            "plain and shortcut are empty; expected at least one layer's gradient mean, "
            "e.g. format_gradient_table(*compare_gradients())"
        )
    digits = None if significant_digits is None else _check_significant_digits(significant_digits)

    def number(value: float) -> str:
        if digits is None:
            return repr(value)
        # "#" keeps trailing zeros (0.3290, not 0.329) so every cell shows the same
        # number of digits; the bare "." it leaves on integers (1099.) is dropped.
        return f"{value:#.{digits}g}".rstrip(".")

    header = ["layer", "plain", "shortcut", "shortcut / plain"]
    rows = []
    for index, name in enumerate(plain):
        p, s = plain[name], shortcut[name]
        ratio = number(s / p) if p != 0 else "undefined (plain is 0)"
        if p != 0 and not math.isfinite(s / p):
            ratio = "over 1e308"
        rows.append([str(index), number(p), number(s), ratio])
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    # Layer left-aligned, numbers right-aligned so their decimal points roughly line up.
    lines = [
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in [header, *rows]
    ]
    return "\n".join(lines)


def _check_one_sample(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``x`` as a 1-D sample vector for ``model``, or a clear error."""
    check_module(model, "model")
    if not isinstance(model, ExampleDeepNeuralNetwork):
        raise TypeError(f"model must be an ExampleDeepNeuralNetwork, got {type(model).__name__}")
    weight = model.layers[0][0].weight
    check_input(x, model.layer_sizes[0], dtype=weight.dtype)
    check_has_values(x, "x")
    check_matches_parameters(model, x)
    if x.numel() != model.layer_sizes[0]:
        raise ValueError(
            f"x must be one sample, shape ({model.layer_sizes[0]},) or "
            f"(1, {model.layer_sizes[0]}), got shape {tuple(x.shape)}"
        )
    # A copy: the caller's x is never handed to the model's layers.
    return x.reshape(-1).clone()


def residual_stream(model: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    r"""What flows between the layers: the input :math:`x_0` and every layer's output.

    :math:`x_{i+1} = x_i + f_i(x_i)` where layer :math:`i` has a shortcut, else
    :math:`f_i(x_i)`, exactly as ``model.forward`` computes it. With shortcuts this
    is the *residual stream*: each layer adds its output to it.

    Args:
        model: an :class:`~shortcut_lib.model.ExampleDeepNeuralNetwork`.
        x: one sample, shape :math:`(n_0)` or :math:`(1, n_0)`.

    Returns:
        ``[x_0, x_1, ..., x_n]``, detached 1-D tensors; ``x_n`` is the output.

    The model runs in the mode it is in (``model.eval()`` to switch dropout off); random
    draws come from a private copy of torch's random state, so two calls agree and the
    caller's random numbers do not shift.

    Example::

        >>> from shortcut_lib import make_model_pair
        >>> plain, shortcut = make_model_pair([3, 3, 3, 3, 3, 1])
        >>> [tuple(v.shape) for v in residual_stream(shortcut, BOOK_INPUT)]
        [(3,), (3,), (3,), (3,), (3,), (1,)]
    """
    h = _check_one_sample(model, x)
    stream = [h.detach().clone()]
    with torch.no_grad(), torch.random.fork_rng(devices=[]):
        for layer, has_shortcut in zip(model.layers, model.shortcut_mask, strict=True):
            h = h + layer(h) if has_shortcut else layer(h)
            stream.append(h.clone())
    check_finite_result(torch.cat(stream), "the residual stream", _overflow_advice_at_x(h.dtype))
    return stream


def _overflow_advice_at_x(dtype: torch.dtype) -> str:
    """What to change when the network overflowed at a sample: float64 helps unless it is."""
    if dtype == torch.float64:
        return "the network overflowed at this x even in float64: use a smaller x or fewer layers"
    return (
        "the network overflowed at this x: use a smaller x, fewer layers, or float64 "
        "(model.double() and x.double())"
    )


def layer_jacobians(model: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    r"""The Jacobian of every layer's step :math:`x_i \mapsto x_{i+1}`, at the sample ``x``.

    .. math::
        J_i = \frac{\partial x_{i+1}}{\partial x_i} =
        \begin{cases} I + \partial f_i/\partial x_i & \text{with a shortcut} \\
        \partial f_i/\partial x_i & \text{without} \end{cases}

    evaluated where this network's forward pass puts :math:`x_i`
    (:func:`residual_stream`). By the chain rule the gradient that reaches
    :math:`x_i` is :math:`\partial L/\partial x_n \, J_{n-1} \cdots J_i`: a product of
    these matrices, one per layer. Computed with
    :func:`torch.autograd.functional.jacobian`, one layer at a time, with gradients on
    even inside ``torch.no_grad()`` or ``torch.inference_mode()`` (for a model built
    there too). The model runs in its current mode, as in :func:`residual_stream`.

    Args:
        model: an :class:`~shortcut_lib.model.ExampleDeepNeuralNetwork`.
        x: one sample, shape :math:`(n_0)` or :math:`(1, n_0)`.

    Returns:
        ``[J_0, ..., J_{n-1}]``; :math:`J_i` has shape
        :math:`(n_{i+1}, n_i)` (``layer_sizes[i + 1]``, ``layer_sizes[i]``).

    Example::

        >>> from shortcut_lib import make_model_pair
        >>> plain, shortcut = make_model_pair([3, 3, 3, 3, 3, 1])
        >>> J = layer_jacobians(plain, BOOK_INPUT)
        >>> [tuple(j.shape) for j in J]
        [(3, 3), (3, 3), (3, 3), (3, 3), (1, 3)]
        >>> f"{torch.linalg.matrix_norm(J[0], 2):.4g}"
        '0.5022'
    """
    stream = residual_stream(model, x)
    advice = _overflow_advice_at_x(stream[0].dtype)
    jacobians = []
    # The same private random state as residual_stream's: dropout draws the same masks.
    with gradients_on(), torch.random.fork_rng(devices=[]):
        for layer, has_shortcut, h in zip(model.layers, model.shortcut_mask, stream, strict=False):
            run = _runnable(layer)

            def step(v: torch.Tensor, run=run, add: bool = has_shortcut) -> torch.Tensor:
                return v + run(v) if add else run(v)

            jacobian = torch.autograd.functional.jacobian(step, for_autograd(h)).detach()
            check_finite_result(jacobian, f"the Jacobian of layer {len(jacobians)}", advice)
            jacobians.append(jacobian)
    return jacobians


def _runnable(layer: nn.Module):
    """``layer``, or for a model built inside ``torch.inference_mode()`` (whose weights
    autograd cannot use) the layer run on copies of its weights: same numbers."""
    tensors = {**dict(layer.named_parameters()), **dict(layer.named_buffers())}
    if not any(tensor.is_inference() for tensor in tensors.values()):
        return layer
    copies = {key: for_autograd(tensor) for key, tensor in tensors.items()}
    return lambda v: torch.func.functional_call(layer, copies, (v,))
