r"""The population's backward pass, written out by hand, and autograd's, to check it.

:func:`~shortcut_lib.population.population_gradient_means` needs, for ``S`` networks at
once, every layer's :math:`\operatorname{mean}|\partial L/\partial W_i|`. Autograd gets
it right, but at width 3 every op is tiny and time goes per op: the pass below needs
about half of autograd's ops and no graph bookkeeping, and is about twice as fast
(``benchmarks/run.py`` measures both). ``test_population.py`` holds it equal to
:func:`autograd_gradient_means` for every activation and option.

The forward pass of block :math:`i` (one network; the population adds a leading
dimension ``S`` to everything and every product becomes a batched ``bmm``):

.. math::
    u_i = \mathrm{LN}(x_i)\ \text{(or } x_i\text{)},\qquad
    z_i = W_i u_i + b_i,\qquad a_i = f(z_i),\qquad
    x_{i+1} = x_i + \alpha\, a_i\ \text{(shortcut, square layers) or } a_i

and the loss of a network is :math:`L = \operatorname{mean}(y^2)` over its ``batch``
outputs, :math:`y = x_n`.

Derivation, from the output back. Write :math:`g_{i+1} = \partial L/\partial x_{i+1}`.

- At the output: :math:`g_n = \partial L/\partial y = 2y/\text{batch}`.
- Through the activation (elementwise): :math:`\partial L/\partial z_i = \delta_i =
  \alpha\, g_{i+1} \odot f'(z_i)` with a shortcut (the branch is scaled by
  :math:`\alpha`), :math:`g_{i+1} \odot f'(z_i)` without. The output layer never has
  a shortcut, so :math:`\delta_{n-1} = g_n \odot f'(z_{n-1})` is the *output unit's
  error signal*: every other gradient is a linear function of it, which is why it
  tells a network that gets no gradient anywhere ("dead at the output").
- The weights: :math:`z_i = W_i u_i + b_i` gives
  :math:`\partial L/\partial W_i = \delta_i^\top u_i` (summed over the batch).
- Back to the block's input: :math:`\partial L/\partial u_i = \delta_i W_i`, then
  through LayerNorm (its Jacobian :math:`\mathrm{LN}'(x_i)`, applied by aten's
  ``native_layer_norm_backward`` from the saved mean and 1/std), and the shortcut adds
  the identity path:

  .. math::
      g_i = g_{i+1} + \mathrm{LN}'(x_i)^\top(\delta_i W_i)

  (drop :math:`g_{i+1} +` without a shortcut, :math:`\mathrm{LN}'` without LayerNorm).

The derivatives :math:`f'` are computed from :math:`z` (or from :math:`a = f(z)` for
tanh and sigmoid: :math:`1 - a^2`, :math:`a(1 - a)`), once for all square layers
together after the forward pass, as one op on a stacked tensor.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import torch
import torch.nn.functional as F

from .isolation import for_autograd, gradients_on

__all__ = [
    "DERIVATIVE",
    "FORWARD",
    "LAYER_NORM_EPS",
    "LayerWeights",
    "autograd_gradient_means",
    "gradient_reaches",
    "manual_gradient_means",
]

#: LayerNorm's epsilon, as ``nn.LayerNorm``'s default.
LAYER_NORM_EPS = 1e-5

LayerWeights = tuple[torch.Tensor, torch.Tensor]  # (W: (S, out, in), b: (S, out))

_aten = torch.ops.aten


# Each activation: forward z -> a, and its derivative f'(z) from z and a = f(z). The
# derivative is taken once for all layers together after the forward pass (one op on a
# stacked tensor), because at width 3 time goes per op, not per element.
FORWARD: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "gelu": lambda z: F.gelu(z, approximate="tanh"),
    "gelu_exact": F.gelu,
    "relu": torch.relu,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "identity": lambda z: z,
}
DERIVATIVE: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor | None]] = {
    "gelu": lambda z, a: _aten.gelu_backward.default(torch.ones_like(z), z, approximate="tanh"),
    "gelu_exact": lambda z, a: _aten.gelu_backward.default(
        torch.ones_like(z), z, approximate="none"
    ),
    # relu'(0) = 0, as autograd's.
    "relu": lambda z, a: (z > 0).to(z.dtype),
    "tanh": lambda z, a: 1.0 - a * a,
    "sigmoid": lambda z, a: a * (1.0 - a),
    "identity": lambda z, a: None,
}
# Every name of shortcut_lib.ACTIVATIONS has an entry in both (test_population checks it).


class _Forward(NamedTuple):
    """What a backward pass needs from the forward one: per layer the Linear's weight ``W``,
    its input ``u``, ``z``, ``a = f(z)``, the LayerNorm statistics; and the output ``y``."""

    w_list: list[torch.Tensor]
    us: list[torch.Tensor]
    zs: list[torch.Tensor]
    activations: list[torch.Tensor]
    norm_stats: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]
    output: torch.Tensor


def _forward(
    weights: Sequence[LayerWeights],
    x: torch.Tensor,
    activation: str,
    shortcut: bool,
    pre_layer_norm: bool,
    alpha: float,
) -> _Forward:
    forward = FORWARD[activation]
    width = x.shape[-1]
    depth = len(weights)
    n_square = depth - 1
    # Stack once and unbind into per-layer views: no per-layer reshaping in the loops below.
    w_out, b_out = weights[-1]
    if n_square:
        w_square = torch.stack([w for w, _ in weights[:-1]])  # (L, S, width, width)
        w_list = [*w_square.unbind(0), w_out]
        wt_list = [*w_square.transpose(-1, -2).unbind(0), w_out.transpose(1, 2)]
        b_square = torch.stack([b for _, b in weights[:-1]]).unsqueeze(2)  # (L, S, 1, width)
        b_list = [*b_square.unbind(0), b_out.unsqueeze(1)]
    else:
        w_list, wt_list, b_list = [w_out], [w_out.transpose(1, 2)], [b_out.unsqueeze(1)]

    # Forward, keeping what the backward needs: u (the Linear's input), z, a, LN statistics.
    us: list[torch.Tensor] = []
    zs: list[torch.Tensor] = []
    activations: list[torch.Tensor] = []
    norm_stats: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []
    h = x
    for i in range(depth):
        if pre_layer_norm:
            u, mean, rstd = _aten.native_layer_norm.default(h, [width], None, None, LAYER_NORM_EPS)
            norm_stats.append((h, mean, rstd))
        else:
            u = h
        z = torch.baddbmm(b_list[i], u, wt_list[i])
        a = forward(z)
        us.append(u)
        zs.append(z)
        activations.append(a)
        if shortcut and i < n_square:
            h = h + a if alpha == 1.0 else torch.add(h, a, alpha=alpha)
        else:
            h = a
    return _Forward(w_list, us, zs, activations, norm_stats, h)


def manual_gradient_means(
    weights: Sequence[LayerWeights],
    x: torch.Tensor,
    activation: str,
    shortcut: bool,
    pre_layer_norm: bool,
    alpha: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-layer means ``(S, depth)`` and the output unit's error signal ``(S, batch, 1)``."""
    derivative = DERIVATIVE[activation]
    population, batch, width = x.shape
    depth = len(weights)
    n_square = depth - 1
    w_list, us, zs, activations, norm_stats, h = _forward(
        weights, x, activation, shortcut, pre_layer_norm, alpha
    )

    # f'(z) of all square layers in one op; alpha folded in (d(x + alpha f)/dz = alpha f').
    uses_output = activation in ("tanh", "sigmoid")
    slopes: list[torch.Tensor | None] = [None] * n_square
    if n_square:
        z_square = torch.stack(zs[:n_square])
        a_square = torch.stack(activations[:n_square]) if uses_output else z_square
        slope_square = derivative(z_square, a_square)
        if shortcut and alpha != 1.0:
            slope_square = (
                torch.full_like(z_square, alpha) if slope_square is None else slope_square * alpha
            )
        if slope_square is not None:
            slopes = list(slope_square.unbind(0))
    slope_out = derivative(zs[-1], activations[-1])

    # Backward. L_s = mean of y^2 over the network's outputs, so dL_s/dy = 2 y / batch.
    g = h * (2.0 / batch)
    delta = g if slope_out is None else g * slope_out
    output_signal = delta  # dL/dz_out: every other gradient is a multiple of it
    deltas = [delta]
    for i in range(depth - 1, 0, -1):
        # g <- dL/dx_i, the gradient at the input of layer i (the output of layer i-1).
        has_shortcut = shortcut and i < n_square
        if pre_layer_norm:
            h_in, mean, rstd = norm_stats[i]
            g_in = _aten.native_layer_norm_backward.default(
                torch.bmm(delta, w_list[i]),
                h_in,
                [width],
                mean,
                rstd,
                None,
                None,
                [True, False, False],
            )[0]
            g = g + g_in if has_shortcut else g_in
        else:
            g = torch.baddbmm(g, delta, w_list[i]) if has_shortcut else torch.bmm(delta, w_list[i])
        slope = slopes[i - 1]
        delta = g if slope is None else g * slope
        deltas.append(delta)
    deltas.reverse()

    # dL/dW_i = delta_i^T u_i: all square layers in one batched product, then mean |.|.
    grad_out = torch.bmm(deltas[-1].transpose(1, 2), us[-1])
    mean_out = grad_out.abs().mean((1, 2)).unsqueeze(1)
    if not n_square:
        return mean_out, output_signal
    d_square = torch.stack(deltas[:n_square]).flatten(0, 1)  # (L*S, batch, width)
    u_square = torch.stack(us[:n_square]).flatten(0, 1)
    grads = torch.bmm(d_square.transpose(1, 2), u_square)  # (L*S, width, width)
    mean_square = grads.abs().mean((1, 2)).view(n_square, population)
    return torch.cat([mean_square.T, mean_out], dim=1), output_signal


def gradient_reaches(
    weights: Sequence[LayerWeights],
    x: torch.Tensor,
    activation: str,
    shortcut: bool,
    pre_layer_norm: bool,
    alpha: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Could layer :math:`i`'s weight gradient be non-zero at all, ``(S, depth)`` bool; and
    the output unit's error signal, ``(S,)`` bool?

    The backward pass of :func:`manual_gradient_means` with every number replaced by
    "is it 0?": a gradient is a sum of products, and it is *structurally* 0 when every
    product holds an exact zero of the forward pass: a slope :math:`f'(z) = 0` (a ReLU
    unit below 0; a unit so saturated that its slope rounds to 0), an input or output that
    is 0, a zero weight, ``alpha = 0``. Where this says ``True`` but the measured mean is
    0, the products were all non-zero and rounded to 0: an underflow, not a dead layer.
    LayerNorm's backward is taken to reach every feature (its Jacobian is dense).
    """
    derivative = DERIVATIVE[activation]
    depth = len(weights)
    n_square = depth - 1
    w_list, us, zs, activations, _, h = _forward(
        weights, x, activation, shortcut, pre_layer_norm, alpha
    )
    dtype = x.dtype

    def nonzero(t: torch.Tensor) -> torch.Tensor:  # 0/1 in x's dtype, ready for bmm
        return (t != 0).to(dtype)

    def passes(i: int) -> torch.Tensor:  # units of layer i whose slope (times alpha) is not 0
        slope = derivative(zs[i], activations[i])
        flowing = torch.ones_like(zs[i]) if slope is None else nonzero(slope)
        return flowing * float(alpha != 0) if shortcut and i < n_square else flowing

    g = nonzero(h)  # dL/dy = 2 y / batch
    reaches = []
    for i in range(depth - 1, -1, -1):
        delta = g * passes(i)
        if i == depth - 1:
            signal = delta.flatten(1).any(1)
        # dL/dW_i = delta_i^T u_i, summed over the batch: non-zero where any product is.
        reaches.append((torch.bmm(delta.transpose(1, 2), nonzero(us[i])) > 0).flatten(1).any(1))
        if i == 0:
            break
        g_in = (torch.bmm(delta, nonzero(w_list[i])) > 0).to(dtype)
        if pre_layer_norm:
            g_in = g_in.amax(-1, keepdim=True).expand_as(g_in)
        g = torch.maximum(g, g_in) if shortcut and i < n_square else g_in
    return torch.stack(reaches[::-1], dim=1), signal


def autograd_gradient_means(
    weights: Sequence[LayerWeights],
    x: torch.Tensor,
    activation: str,
    shortcut: bool,
    pre_layer_norm: bool,
    alpha: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The same two results by autograd: the reference the hand-written pass is tested against."""
    forward = FORWARD[activation]
    width = x.shape[-1]
    # Inside torch.inference_mode() the weights and x are inference tensors: copies that
    # autograd can record are made inside gradients_on().
    with gradients_on():
        leaves = [for_autograd(w.detach()).requires_grad_(True) for w, _ in weights]
        h = for_autograd(x)
        last = len(weights) - 1
        for i, (w, (_, b)) in enumerate(zip(leaves, weights, strict=True)):
            u = F.layer_norm(h, [width], eps=LAYER_NORM_EPS) if pre_layer_norm else h
            z = torch.baddbmm(for_autograd(b.detach()).unsqueeze(1), u, w.transpose(1, 2))
            a = forward(z)
            h = h + alpha * a if shortcut and i != last else a
        # Networks are independent, so the gradient of the sum is each one's own gradient.
        loss = h.pow(2).mean((1, 2)).sum()
        *grads, output_signal = torch.autograd.grad(loss, [*leaves, z])  # z: the output unit's
    return torch.stack([g.abs().mean((1, 2)) for g in grads], dim=1), output_signal
