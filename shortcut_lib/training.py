"""Training plain and shortcut networks on a task made in code: two interleaved spirals.

Lesson 05's question is what vanishing gradients do to *learning*. Everything
here is deterministic: the data come from a seeded ``torch.Generator``, the
initial weights from :func:`~shortcut_lib.model.make_model_pair`, mini-batches
(if any) from another seeded generator, and the global random state is never
touched. Runs repeat bit for bit on one machine with one thread count.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from .activations import ActivationSpec
from .architecture import deep_layer_sizes
from .isolation import (
    batch_statistics_checked,
    check_autograd_parameters,
    for_autograd,
    gradients_on,
    isolated,
)
from .model import ExampleDeepNeuralNetwork, make_model_pair
from .population import check_depths
from .validation import (
    ERRORS_OF_THEIR_OWN,
    check_choice,
    check_finite,
    check_finite_result,
    check_has_values,
    check_integer,
    check_matches_parameters,
    check_memory,
    check_module,
    check_parameters,
    check_real,
    check_seed,
    check_trainable,
)

__all__ = [
    "OPTIMIZERS",
    "ADAM_EPS",
    "MAX_STEPS",
    "TrainingHistory",
    "TrainingRun",
    "make_spirals",
    "make_classifier_pair",
    "train",
    "evaluate",
    "decision_grid",
    "input_signal",
    "train_depths",
    "CHANCE_LOSS",
]

#: Optimisers :func:`train` accepts, by name.
OPTIMIZERS = ("adam", "sgd")

#: ``torch.optim.Adam``'s default epsilon, the floor under the gradient scale it divides by.
ADAM_EPS = 1e-8

#: The loss of always answering "50 %": ``-ln(1/2)``. A net that has learnt nothing sits here.
CHANCE_LOSS = math.log(2.0)

#: Most steps :func:`train` takes in one call. The lessons use at most 600; 10,000 full-batch
#: steps of lesson 05's deepest network (32 layers of 16, 256 points) take about a minute,
#: and a mistyped 10**9 would run for weeks.
MAX_STEPS = 10_000


# --- Data --------------------------------------------------------------------------------


def make_spirals(
    n_points: int = 256,
    noise: float = 0.04,
    seed: int = 0,
    turns: float = 1.5,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Two interleaved spirals, one per class: a small task no straight line can solve.

    Point :math:`n` of class :math:`k \in \{0, 1\}` has a random position
    :math:`t_n \sim U(0, 1)` along its arm and lies at

    .. math::
        r_n = 0.1 + 0.9\,t_n, \qquad \theta_n = 2\pi\,\text{turns}\,t_n + k\pi, \qquad
        x_n = r_n (\cos\theta_n, \sin\theta_n) + \text{noise}\cdot\varepsilon_n,

    with :math:`\varepsilon_n \sim \mathcal{N}(0, I_2)`: the second arm is the
    first turned by half a circle, so the two never cross.

    Args:
        n_points: total number of points, even (exactly half per class), >= 2.
        noise: standard deviation of the Gaussian jitter added to each coordinate.
        seed: seed of a private ``torch.Generator``; the global random state is untouched.
        turns: how many times each arm winds around the centre (> 0).

    Returns:
        ``(X, y)``: ``X`` of shape :math:`(N, 2)` (float32, within about
        ``[-1, 1]^2``), ``y`` of shape :math:`(N,)` (float32, ``0.`` for the first
        ``N/2`` points, ``1.`` for the rest); both in torch's default dtype
        (float32 unless changed).

    Raises:
        ValueError: ``turns`` or ``noise`` so large that the points overflow to inf or NaN.

    Example::

        >>> X, y = make_spirals(6, noise=0.0, seed=1)
        >>> X.shape, y.tolist()
        (torch.Size([6, 2]), [0.0, 0.0, 0.0, 1.0, 1.0, 1.0])
    """
    n_points = check_integer(n_points, "n_points", minimum=2)
    if n_points % 2:
        raise ValueError(f"n_points must be even (half per class), got {n_points}")
    noise = check_real(noise, "noise", minimum=0.0)
    turns = check_real(turns, "turns", positive=True)
    seed = check_seed(seed)
    # t, the label, radius, angle, cos, sin, the noise and X: about a dozen numbers per point.
    element = torch.empty(0).element_size()
    check_memory(
        n_points * 12 * element, f"make_spirals(n_points={n_points:,})", "use fewer n_points"
    )
    generator = torch.Generator().manual_seed(seed)
    t = torch.rand(n_points, generator=generator)
    # X and y in the same dtype, torch's default (float32 unless changed).
    label = (torch.arange(n_points) >= n_points // 2).to(t.dtype)
    radius = 0.1 + 0.9 * t
    angle = 2.0 * math.pi * turns * t + math.pi * label
    X = torch.stack([radius * torch.cos(angle), radius * torch.sin(angle)], dim=1)
    X = X + noise * torch.randn(n_points, 2, generator=generator)
    check_finite_result(
        X,
        "make_spirals' points X",
        f"turns={turns!r} or noise={noise!r} is too large for {X.dtype}; "
        "the defaults are turns=1.5, noise=0.04",
    )
    return X, label


# --- Models ------------------------------------------------------------------------------


def make_classifier_pair(
    depth: int,
    width: int = 16,
    seed: int = 0,
    activation: ActivationSpec = "gelu",
) -> tuple[ExampleDeepNeuralNetwork, ExampleDeepNeuralNetwork]:
    r"""``(plain, shortcut)`` binary classifiers that start from the same weights.

    Both are :class:`~shortcut_lib.model.ExampleDeepNeuralNetwork` with
    ``layer_sizes = deep_layer_sizes(depth, width, in_features=2)``
    (``[2, width, ..., width, 1]``), built by
    :func:`~shortcut_lib.model.make_model_pair`, except for one change: the last
    layer's activation is replaced by ``nn.Identity()``, so the output is a
    *logit* :math:`z` and :math:`P(y=1\mid x) = \sigma(z)`.

    Why: ``ExampleDeepNeuralNetwork`` applies the activation after every layer,
    the last included. A GELU output is never below about -0.17, and
    :math:`\sigma(-0.17) = 0.46`: such a net could never say "class 0" with
    more than 54 % confidence. A linear read-out is the usual classifier head,
    and it is the same in the plain and the shortcut network.

    Args:
        depth: number of weight layers (>= 2), read-out included.
        width: features per hidden layer.
        seed: seed of the initial weights.
        activation: of the hidden layers, as for ``ExampleDeepNeuralNetwork``.

    Shape:
        - Input: :math:`(N, 2)`
        - Output: :math:`(N, 1)`, logits.
    """
    # The first layer (2 -> width) and the last (width -> 1) change shape, so a shortcut
    # network has shortcuts on the depth - 2 layers in between: depth 1 would have none.
    depth = check_integer(depth, "depth", minimum=2)
    sizes = deep_layer_sizes(depth, width, in_features=2)
    plain, shortcut = make_model_pair(sizes, seed, activation)
    for model in (plain, shortcut):
        model.layers[-1][1] = nn.Identity()
    return plain, shortcut


# --- Training ----------------------------------------------------------------------------


@dataclass
class TrainingHistory:
    """What :func:`train` measured at every step, before that step's update.

    Attributes:
        losses: mean binary cross-entropy on the step's batch, one per step.
        accuracies: fraction of the batch classified correctly (logit > 0 means class 1).
    """

    losses: list[float] = field(default_factory=list)
    accuracies: list[float] = field(default_factory=list)


def _check_data(X: torch.Tensor, y: torch.Tensor) -> None:
    if not isinstance(X, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise TypeError(
            f"X and y must be torch.Tensors, got {type(X).__name__} and {type(y).__name__}"
        )
    if X.ndim != 2 or X.shape[0] == 0:
        raise ValueError(f"X must have shape (N, features) with N >= 1, got {tuple(X.shape)}")
    if y.shape != (X.shape[0],):
        raise ValueError(
            f"y must have shape (N,) = ({X.shape[0]},) to match X {tuple(X.shape)}, "
            f"got {tuple(y.shape)}"
        )
    if not X.is_floating_point():
        raise TypeError(f"X must be a floating-point tensor, got dtype {X.dtype}")
    check_has_values(X, "X")
    check_has_values(y, "y")
    check_finite(X, "X")
    if not bool(((y == 0) | (y == 1)).all()):
        raise ValueError(f"y must hold class labels 0 and 1 only, got values {y.unique().tolist()}")


_BROKEN_WEIGHTS_ADVICE = (
    "the model's weights are already NaN or infinite (a previous run diverged?): rebuild it, "
    "e.g. with make_classifier_pair, and train it with a smaller lr"
)


def _check_model(model: object, finite: bool = True, autograd: bool = False) -> nn.Module:
    """A built module whose parameters hold numbers (not on the meta device), finite ones;
    with ``autograd``, ones autograd can use (not made inside ``torch.inference_mode()``)."""
    model = check_module(model)
    check_parameters(model, advice=_BROKEN_WEIGHTS_ADVICE, finite=finite)
    if autograd:
        check_autograd_parameters(model)
    return model


def _in_features(model: nn.Module) -> tuple[int, str] | None:
    """How many features ``model`` takes, and where that is written, if its first layer says
    so: an ExampleDeepNeuralNetwork's ``layer_sizes[0]``, or an ``nn.Linear`` that opens it
    (itself, or first in nested ``nn.Sequential``). None for anything else: a custom forward
    may reshape its input before any layer."""
    if isinstance(model, ExampleDeepNeuralNetwork):
        return model.layer_sizes[0], f"layer_sizes[0] = {model.layer_sizes[0]}"
    first, where = model, "model"
    while isinstance(first, nn.Sequential) and len(first) > 0:
        first, where = first[0], where + "[0]"
    if isinstance(first, nn.Linear):
        return first.in_features, f"{where} is {first!r}"
    return None


def _check_features(model: nn.Module, X: torch.Tensor, name: str = "X") -> None:
    """``X``'s features are as many as ``model`` takes, and of its parameters' dtype and
    device: else torch's "mat1 and mat2" errors from inside the model."""
    check_matches_parameters(model, X, name)
    takes = _in_features(model)
    if takes is not None and takes[0] != X.shape[-1]:
        raise ValueError(
            f"{name} has {X.shape[-1]} feature(s) per point (shape {tuple(X.shape)}), but the "
            f"model takes {takes[0]} ({takes[1]}); give them the same number, e.g. the "
            "spirals' 2 from make_spirals and a model from make_classifier_pair"
        )


_LOGITS_ADVICE = (
    "the model must map (N, features) points to (N, 1) logits, e.g. one from make_classifier_pair"
)


def _logits(
    model: nn.Module, X: torch.Tensor, name: str = "X", advice: str = _LOGITS_ADVICE
) -> torch.Tensor:
    """The model's output as a vector of logits, shape (N,).

    The model gets a copy of ``X``: one that works in place would otherwise change it."""
    try:
        output = model(X.clone())
    except ERRORS_OF_THEIR_OWN:
        raise
    except RuntimeError as error:  # the model's own forward failed (torch's shape errors)
        raise ValueError(
            f"model({name}) failed for {name} of shape {tuple(X.shape)} ({X.dtype}): "
            f"{type(error).__name__}: {error}; {advice}"
        ) from error
    if not isinstance(output, torch.Tensor):
        raise TypeError(
            f"the model must return a tensor of logits, shape ({X.shape[0]}, 1), got "
            f"{type(output).__name__}"
        )
    if output.shape != (X.shape[0], 1):
        raise ValueError(
            f"the model must output one logit per point, shape ({X.shape[0]}, 1), "
            f"got {tuple(output.shape)}; build it with make_classifier_pair"
        )
    return output.squeeze(-1)


def _make_optimizer(name: str, parameters, lr: float, eps: float) -> torch.optim.Optimizer:
    if name == "adam":
        # foreach: one batched update for all tensors instead of a loop over them, bit for
        # bit the same result, and the step costs less on a deep net of small layers.
        return torch.optim.Adam(parameters, lr=lr, eps=eps, foreach=True)
    return torch.optim.SGD(parameters, lr=lr)


def train(
    model: nn.Module,
    X: torch.Tensor,
    y: torch.Tensor,
    steps: int,
    lr: float,
    optimizer: str = "adam",
    batch_size: int | None = None,
    seed: int = 0,
    eps: float | None = None,
) -> TrainingHistory:
    r"""Train ``model`` in place to separate the classes, minimising binary cross-entropy.

    Each step draws a batch :math:`B`, computes

    .. math::
        \mathcal{L} = -\frac{1}{|B|}\sum_{n \in B} \bigl[y_n \ln\sigma(z_n)
        + (1 - y_n)\ln\bigl(1 - \sigma(z_n)\bigr)\bigr], \qquad z_n = \text{model}(x_n),

    (``F.binary_cross_entropy_with_logits``), back-propagates and lets the
    optimiser update every parameter that requires grad (gradients are on inside,
    even in ``torch.no_grad()`` or ``torch.inference_mode()``). Same data, seed,
    model and thread count give the same history bit for bit. A model with dropout
    draws its masks from a copy of the global random state as it is at the call:
    the global state is left as it was, and calling again from the same state
    repeats the run.

    Args:
        model: maps :math:`(N, F)` to :math:`(N, 1)` logits, e.g. from
            :func:`make_classifier_pair`. Its parameters are changed.
        X: inputs, shape :math:`(N, F)`, float, matching the model's dtype.
        y: labels, shape :math:`(N,)`, values 0 and 1.
        steps: number of parameter updates, 1 to :data:`MAX_STEPS` (10,000).
        lr: learning rate (> 0).
        optimizer: ``"adam"`` (``torch.optim.Adam``, default betas) or ``"sgd"``
            (plain gradient descent, no momentum).
        batch_size: ``None`` (default) for full-batch steps; otherwise each
            epoch visits the points in an order drawn by a generator seeded with
            ``seed``, ``batch_size`` at a time (the last batch may be smaller).
        seed: seed of the batch order; unused for full batches.
        eps: Adam's :math:`\varepsilon` in the update
            :math:`\Delta w = -\text{lr}\,\hat m / (\sqrt{\hat v} + \varepsilon)`;
            ``None`` for torch's default :data:`ADAM_EPS` (``1e-8``). Where gradients are
            far smaller than ``eps``, it, not :math:`\sqrt{\hat v}`, sets the step size.
            Only for ``optimizer="adam"``.

    Returns:
        A :class:`TrainingHistory` with one loss and one accuracy per step,
        measured on that step's batch before its update.

    Raises:
        ValueError: the model has nothing to train (no parameter requires grad, or the
            loss depends on none), or its weights are already NaN or infinite.

    Warns:
        RuntimeWarning: the loss became NaN or infinite, grew tenfold, or started and
            stayed absurdly high (weights left huge by an earlier run that diverged).

    Example::

        >>> X, y = make_spirals(200, seed=0)
        >>> plain, shortcut = make_classifier_pair(depth=4, width=8)
        >>> history = train(shortcut, X, y, steps=100, lr=1e-2)
        >>> len(history.losses)
        100
    """
    model = _check_model(model, autograd=True)
    check_trainable(model)
    _check_data(X, y)
    _check_features(model, X)
    steps = check_steps(steps)
    lr = check_real(lr, "lr", positive=True)
    check_choice("optimizer", optimizer, OPTIMIZERS)
    n_points = X.shape[0]
    if batch_size is not None:
        batch_size = check_integer(batch_size, "batch_size", minimum=1)
        if batch_size > n_points:
            raise ValueError(f"batch_size must be at most N = {n_points}, got {batch_size}")
    seed = check_seed(seed)
    if eps is None:
        eps = ADAM_EPS
    elif optimizer != "adam":
        raise ValueError(f"eps is Adam's; optimizer {optimizer!r} has none, got eps={eps!r}")
    else:
        eps = check_real(eps, "eps", positive=True)

    opt = _make_optimizer(optimizer, model.parameters(), lr, eps)
    generator = torch.Generator().manual_seed(seed)
    order = torch.arange(n_points)
    position = n_points  # start a new epoch (a fresh order) on the first mini-batch
    # Inside torch.inference_mode() X and y are inference tensors, and so would be the
    # histories: all are made (or copied) where autograd can use them.
    with (
        isolated(model, training=True),
        gradients_on(),
        batch_statistics_checked(
            model,
            f"use a batch_size of 2 or more that leaves no batch of one point (N = {n_points}, "
            f"batch_size={batch_size}), or batch_size=None for the whole set",
        ),
    ):
        X, y = for_autograd(X), for_autograd(y).to(X.dtype)
        losses = torch.empty(steps, device=X.device)
        accuracies = torch.empty(steps, device=X.device)
        for step in range(steps):
            if batch_size is None:
                X_batch, y_batch = X, y
            else:
                if position >= n_points:
                    order = torch.randperm(n_points, generator=generator)
                    position = 0
                index = order[position : position + batch_size]
                position += batch_size
                X_batch, y_batch = X[index], y[index]
            opt.zero_grad()
            logits = _logits(model, X_batch)
            loss = F.binary_cross_entropy_with_logits(logits, y_batch)
            _check_loss_trains(loss)
            loss.backward()
            opt.step()
            # Stored as tensors and converted once at the end: .item() every step would
            # cost a synchronisation each time on a GPU.
            losses[step] = loss.detach()
            accuracies[step] = ((logits.detach() > 0).to(y_batch.dtype) == y_batch).float().mean()
    history = TrainingHistory(losses=losses.tolist(), accuracies=accuracies.tolist())
    warn_if_diverged(history.losses, lr)
    return history


def check_steps(steps: object) -> int:
    """``steps`` of a training loop: an integer from 1 to :data:`MAX_STEPS`, so that a typo
    such as ``steps=100_000`` fails at once instead of running for hours."""
    steps = check_integer(steps, "steps", minimum=1)
    if steps > MAX_STEPS:
        raise ValueError(
            f"steps must be at most MAX_STEPS = {MAX_STEPS:,} (minutes for the lessons' "
            f"deepest networks), got {steps:,}; the lessons use at most 600 (a second call "
            "goes on from the trained weights, with a fresh optimizer)"
        )
    return steps


def _check_loss_trains(loss: torch.Tensor) -> None:
    if not loss.requires_grad:
        raise ValueError(
            "the loss does not depend on any of the model's parameters that require grad, so "
            "there is nothing to train; unfreeze the layers that compute the output, e.g. "
            "model.requires_grad_(True)"
        )


_DIVERGED_ADVICE = "its weights hold NaN or inf (a diverged train?); rebuild it, lower lr"

#: :func:`train` warns when the loss ends this many times above where it started, or starts
#: and ends this many times above the loss of an input-blind guess.
DIVERGENCE_FACTOR = 10.0


def warn_if_diverged(
    losses: Sequence[float], lr: float, chance_loss: float = CHANCE_LOSS, who: str = "train"
) -> None:
    """Say so when training blew up, instead of returning NaN or huge losses without a word:
    a loss that became NaN or infinite, or ended ``DIVERGENCE_FACTOR`` times above the larger
    of where it started and ``chance_loss`` (the loss of an input-blind guess); or one that
    started and ended that far above ``chance_loss``: the model came in broken."""
    losses = [float(loss) for loss in losses]
    bad = next((step for step, loss in enumerate(losses) if not math.isfinite(loss)), None)
    absurd = DIVERGENCE_FACTOR * chance_loss
    if bad is not None:
        message = f"{who} diverged: the loss became {losses[bad]} at step {bad}"
    elif losses[-1] > DIVERGENCE_FACTOR * max(losses[0], chance_loss):
        message = f"{who} diverged: the loss grew from {losses[0]:.4g} to {losses[-1]:.4g}"
    elif losses[0] > absurd and losses[-1] > absurd:
        # Weights an earlier run left huge (but finite): no learning rate brings them back.
        warnings.warn(
            f"{who} started from a loss of {losses[0]:.4g} and ended at {losses[-1]:.4g}, "
            f"over {DIVERGENCE_FACTOR:g} times the {chance_loss:.3g} of a blind guess: the "
            "model's weights are far too large (left so by an earlier run that diverged?); "
            "build a fresh model and train that one",
            RuntimeWarning,
            stacklevel=3,
        )
        return
    else:
        return
    # A thirtieth of lr=1e6 would diverge again: above 1, point at the scale that trains.
    usual = " (the lessons train with lr=3e-3 and 1e-2)" if lr / 30 > 1 else ""
    warnings.warn(
        f"{message}; lr={lr!r} is too large for this model: try a "
        f"learning rate 10-100 times smaller (e.g. lr={lr / 30:.2g}){usual}",
        RuntimeWarning,
        stacklevel=3,
    )


@torch.no_grad()
def evaluate(model: nn.Module, X: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """``(mean binary cross-entropy, accuracy)`` of ``model`` on ``(X, y)``, without training.

    Shapes as for :func:`train`. Accuracy counts a logit > 0 as class 1. The model is
    evaluated in eval mode (dropout off), and its mode is restored afterwards.
    """
    # NaN weights are reported through the logits, with the same advice.
    model = _check_model(model, finite=False)
    _check_data(X, y)
    _check_features(model, X)
    y = y.to(X.dtype)
    with isolated(model, training=False):
        logits = _logits(model, X)
    check_finite(logits, "the model's logits", _DIVERGED_ADVICE)
    loss = F.binary_cross_entropy_with_logits(logits, y)
    accuracy = ((logits > 0).to(y.dtype) == y).float().mean()
    return float(loss), float(accuracy)


_GRID_ADVICE = (
    "decision_grid draws a model of 2 input features (a point of the plane, as the spirals'): "
    "it gives the model (N, 2) points and needs (N, 1) logits back"
)


@torch.no_grad()
def decision_grid(
    model: nn.Module,
    extent: float = 1.3,
    resolution: int = 81,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""The model's :math:`P(\text{class } 1)` on a square grid, for drawing its decision boundary.

    Args:
        model: maps :math:`(N, 2)` points to :math:`(N, 1)` logits: a model of 2 input
            features, as the spirals' (the grid is a plane).
        extent: the grid covers :math:`[-\text{extent}, \text{extent}]^2`.
        resolution: points per side (>= 2).

    Returns:
        ``(xs, ys, probabilities)``: ``xs`` and ``ys`` of shape
        :math:`(R,)`, and ``probabilities`` of shape :math:`(R, R)` with
        ``probabilities[i, j]`` :math:`= \sigma(\text{model}([xs_j, ys_i]))`
        (rows follow y, as ``plt.contourf(xs, ys, probabilities)`` expects).
        The boundary is where it crosses 0.5. The model is evaluated in eval mode
        (dropout off), and its mode is restored afterwards.
    """
    model = _check_model(model)
    takes = _in_features(model)
    if takes is not None and takes[0] != 2:
        raise ValueError(
            f"decision_grid draws a model of 2 input features (a point of the plane, as the "
            f"spirals'), but this model takes {takes[0]} ({takes[1]}); draw a model built "
            "for make_spirals' data, e.g. make_classifier_pair(depth)"
        )
    extent = check_real(extent, "extent", positive=True)
    resolution = check_integer(resolution, "resolution", minimum=2)
    # Points, logits and probabilities: a handful of numbers per grid point.
    check_memory(resolution**2 * 8 * 8, f"resolution={resolution:,}", "use a smaller resolution")
    # The grid follows the model's parameters: same dtype, same device.
    parameter = next(model.parameters(), None)
    dtype = parameter.dtype if parameter is not None else torch.get_default_dtype()
    device = parameter.device if parameter is not None else None
    # linspace steps by 2 * extent / (resolution - 1): 2 * extent must fit in the dtype.
    largest = torch.finfo(dtype).max / 2
    if extent > largest:
        raise ValueError(
            f"extent={extent!r} is too large for the model's dtype {dtype} (at most "
            f"{largest:.3g}); the spirals lie within about [-1, 1]: the default 1.3 shows them"
        )
    xs = torch.linspace(-extent, extent, resolution, dtype=dtype, device=device)
    ys = torch.linspace(-extent, extent, resolution, dtype=dtype, device=device)
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")
    points = torch.stack([grid_x.reshape(-1), grid_y.reshape(-1)], dim=1)
    with isolated(model, training=False):
        logits = _logits(model, points, "points", _GRID_ADVICE)
        probabilities = torch.sigmoid(logits).reshape(resolution, resolution)
    check_finite_result(
        probabilities,
        "the probabilities on the grid",
        f"extent={extent!r} is too large for the model: use a smaller one, e.g. the default 1.3",
    )
    return xs, ys, probabilities


def input_signal(model: nn.Module, X: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    r"""How much the output still depends on the input, and how much gradient reaches layer 0.

    Returns ``(logit_spread, first_layer_gradient)``:

    - ``logit_spread``: the standard deviation of the logits over the points.
      Near 0, the network answers (almost) the same for every input: there is
      nothing in its output for the loss to correct point by point.
    - ``first_layer_gradient``: :math:`\operatorname{mean}|\partial\mathcal{L}/\partial W_0|`
      of the binary cross-entropy with respect to the first layer's weight
      (``model.layers[0][0].weight``), the layer that sees the raw input.

    The model's parameters and their ``.grad`` are left untouched. It is measured
    in eval mode (its mode is restored afterwards), with gradients on even inside
    ``torch.no_grad()`` or ``torch.inference_mode()``. ``X`` needs at least two points
    (a spread of one is undefined).
    """
    model = _check_model(model, autograd=True)
    if not isinstance(model, ExampleDeepNeuralNetwork):
        raise TypeError(
            f"model must be an ExampleDeepNeuralNetwork (e.g. from make_classifier_pair), "
            f"got {type(model).__name__}"
        )
    _check_data(X, y)
    _check_features(model, X)
    if X.shape[0] < 2:
        raise ValueError(
            f"X must hold at least two points to measure the spread of the logits, got "
            f"shape {tuple(X.shape)}; pass the whole data set, e.g. make_spirals(256)"
        )
    weight = model.layers[0][0].weight
    if not weight.requires_grad:
        raise ValueError(
            "input_signal measures the gradient of model.layers[0][0].weight, which has "
            "requires_grad=False; unfreeze it with model.layers[0].requires_grad_(True)"
        )
    with isolated(model, training=False), gradients_on():
        logits = _logits(model, for_autograd(X))
        loss = F.binary_cross_entropy_with_logits(logits, for_autograd(y).to(logits.dtype))
        (gradient,) = torch.autograd.grad(loss, weight)
    signal = (logits.detach().std(), gradient.abs().mean())
    check_finite_result(
        torch.stack(signal),
        "input_signal's logit spread and gradient",
        "the model overflowed on X: use smaller inputs (make_spirals' lie within about [-1, 1])",
    )
    return float(signal[0]), float(signal[1])


# --- The lesson's experiment -------------------------------------------------------------


@dataclass
class TrainingRun:
    """One trained network of :func:`train_depths` and what it reached.

    Attributes:
        model: the trained network.
        history: per-step losses and accuracies.
        final_loss, final_accuracy: :func:`evaluate` on the training data after the last step.
    """

    model: ExampleDeepNeuralNetwork
    history: TrainingHistory
    final_loss: float
    final_accuracy: float


def train_depths(
    X: torch.Tensor,
    y: torch.Tensor,
    depths: Sequence[int] = (4, 16, 32),
    width: int = 16,
    steps: int = 600,
    lr: float = 3e-3,
    optimizer: str = "adam",
    seed: int = 0,
    activation: ActivationSpec = "gelu",
    eps: float | None = None,
) -> dict[str, dict[int, TrainingRun]]:
    """Train a plain and a shortcut classifier of every depth with the same budget.

    For each depth, :func:`make_classifier_pair` gives two networks with equal
    initial weights; both get the same data, optimiser, learning rate and
    number of full-batch steps. Any difference in how far they get comes from
    the shortcuts alone.

    Args:
        X, y: training data, shapes :math:`(N, 2)` and :math:`(N,)`, e.g. from
            :func:`make_spirals`.
        depths: the depths to compare (weight layers, read-out included, each >= 2): a
            list, tuple, range, or 1-D integer array or tensor.
        width, seed, activation: as for :func:`make_classifier_pair`.
        steps, lr, optimizer, eps: as for :func:`train`; the same for every network.

    Returns:
        ``{"plain": {depth: TrainingRun}, "shortcut": {depth: TrainingRun}}``.
    """
    depths = check_depths(depths, "[4, 16, 32]", minimum=2)
    _check_data(X, y)
    if X.dtype != torch.get_default_dtype():
        raise TypeError(
            f"X dtype {X.dtype} does not match the networks train_depths builds, which are "
            f"in torch's default dtype ({torch.get_default_dtype()}); pass "
            f"X.to({torch.get_default_dtype()})"
        )
    runs: dict[str, dict[int, TrainingRun]] = {"plain": {}, "shortcut": {}}
    for depth in depths:
        pair = make_classifier_pair(depth, width, seed, activation)
        for kind, model in zip(("plain", "shortcut"), pair, strict=True):
            history = train(model, X, y, steps, lr, optimizer=optimizer, eps=eps)
            loss, accuracy = evaluate(model, X, y)
            runs[kind][int(depth)] = TrainingRun(model, history, loss, accuracy)
    return runs
