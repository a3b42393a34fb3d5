"""The deep MLP of the book's chapter 4, with optional shortcut connections."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch
from torch import nn

from .activations import ActivationSpec, activation_label, make_activation
from .architecture import _as_list, parameter_count, shortcut_mask
from .validation import (
    check_bool,
    check_input,
    check_layer_sizes,
    check_memory,
    check_module,
    check_seed,
)

__all__ = ["ExampleDeepNeuralNetwork", "make_model_pair", "shortcuts_disabled"]

#: Most layers :class:`ExampleDeepNeuralNetwork` builds. The lessons use at most 300 (the
#: overflow demonstration); building takes 0.1-0.2 ms per layer, so 10,000 layers take a
#: second or two and a million would take minutes, with nothing to learn from it.
MAX_LAYERS = 10_000


class ExampleDeepNeuralNetwork(nn.Module):
    r"""A stack of ``Linear -> activation`` layers with optional shortcuts.

    Layer :math:`i` maps ``layer_sizes[i]`` features to ``layer_sizes[i+1]``.
    With ``use_shortcut=True`` each layer whose output shape equals its input
    shape adds its input back:

    .. math::
        x_{i+1} = \begin{cases} x_i + f_i(x_i) & \text{if shortcut and
        } \dim x_i = \dim f_i(x_i) \\ f_i(x_i) & \text{otherwise} \end{cases}

    Where the shapes differ (the book's final ``3 -> 1`` layer) there is no
    shortcut: ``x + f(x)`` would not be defined.

    Args:
        layer_sizes: feature counts, input first: ``[3, 3, 3, 3, 3, 1]`` is the
            book's five-layer network (a list, tuple, or 1-D array or tensor of integers);
            at most :data:`MAX_LAYERS` (10,000) layers.
        use_shortcut: add shortcut connections where shapes allow.
        activation: a registered name (default ``"gelu"``, the tanh GELU) or a
            zero-argument callable returning an ``nn.Module``.

    Shape:
        - Input: :math:`(*, \text{layer\_sizes}[0])`
        - Output: :math:`(*, \text{layer\_sizes}[-1])`

    Attributes:
        layers: ``nn.ModuleList`` of ``nn.Sequential(nn.Linear, activation)``,
            so parameters are named ``layers.{i}.0.weight`` as in the book.
        shortcut_mask: one bool per layer, ``True`` where a shortcut is applied.

    Example::

        >>> _ = torch.manual_seed(123)
        >>> model = ExampleDeepNeuralNetwork([3, 3, 3, 3, 3, 1], use_shortcut=True)
        >>> model(torch.tensor([[1.0, 0.0, -1.0]])).shape
        torch.Size([1, 1])
    """

    def __init__(
        self,
        layer_sizes: Sequence[int],
        use_shortcut: bool,
        activation: ActivationSpec = "gelu",
    ) -> None:
        super().__init__()
        sizes = check_layer_sizes(_as_list(layer_sizes, "layer_sizes"))
        if len(sizes) - 1 > MAX_LAYERS:
            raise ValueError(
                f"layer_sizes describes {len(sizes) - 1:,} layers, more than the {MAX_LAYERS:,} "
                f"this network builds (at 0.1-0.2 ms per layer, building them would take "
                f"{(len(sizes) - 1) * 1e-4:,.0f} to {(len(sizes) - 1) * 2e-4:,.0f} s); "
                "the lessons use at most 300, e.g. deep_layer_sizes(300, 3)"
            )
        check_room_for_networks(sizes, 1)
        use_shortcut = check_bool(use_shortcut, "use_shortcut")
        self.layer_sizes = sizes
        self.use_shortcut = use_shortcut
        self.activation = activation_label(activation)
        self.layers = nn.ModuleList(
            nn.Sequential(nn.Linear(n_in, n_out), make_activation(activation))
            for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True)
        )
        self.shortcut_mask = shortcut_mask(sizes, use_shortcut)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight = self.layers[0][0].weight
        check_input(x, self.layer_sizes[0], dtype=weight.dtype)
        if x.device != weight.device:  # else torch's "not on the expected device"
            raise ValueError(
                f"input is on {x.device.type}, the model's parameters on "
                f"{weight.device.type}; move one: x.to({weight.device.type!r})"
                + (" (a meta tensor holds no values: build x there)" if x.is_meta else "")
            )
        for layer, has_shortcut in zip(self.layers, self.shortcut_mask, strict=True):
            layer_output = layer(x)
            x = x + layer_output if has_shortcut else layer_output
        return x

    def extra_repr(self) -> str:
        return (
            f"layer_sizes={self.layer_sizes}, use_shortcut={self.use_shortcut}, "
            f"activation={self.activation!r}"
        )


def check_room_for_networks(sizes: Sequence[int], networks: int) -> None:
    """Fail at once if ``networks`` MLPs of ``sizes`` and their gradients cannot fit in
    memory: every lesson measures or trains what it builds, which doubles the weights, and
    a network too large for that would be built slowly (tens of seconds) only to fail."""
    n_parameters = parameter_count(sizes)
    check_memory(
        2 * networks * n_parameters * torch.empty(0).element_size(),
        f"{'a network' if networks == 1 else f'{networks} networks'} with {n_parameters:,} "
        "parameters (and their gradients)",
        "use fewer or smaller layers in layer_sizes",
    )


def make_model_pair(
    layer_sizes: Sequence[int],
    seed: int = 123,
    activation: ActivationSpec = "gelu",
) -> tuple[ExampleDeepNeuralNetwork, ExampleDeepNeuralNetwork]:
    """Build ``(plain, shortcut)`` networks that start from the same weights.

    Both are initialised as if ``torch.manual_seed(seed)`` had been called just
    before each (the book's recipe), and the shortcut model is then loaded with
    the plain model's state, so any difference in their gradients comes from the
    shortcuts alone. The global random state is left untouched.

    Args:
        layer_sizes: as for :class:`ExampleDeepNeuralNetwork`.
        seed: seed of the initial weights (an integer).
        activation: as for :class:`ExampleDeepNeuralNetwork`.
    """
    seed = check_seed(seed)
    check_room_for_networks(check_layer_sizes(_as_list(layer_sizes, "layer_sizes")), 2)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        plain = ExampleDeepNeuralNetwork(layer_sizes, use_shortcut=False, activation=activation)
        torch.manual_seed(seed)
        shortcut = ExampleDeepNeuralNetwork(layer_sizes, use_shortcut=True, activation=activation)
    # Same seed, same architecture: the weights already agree. Copying them makes
    # that hold even for a factory whose modules draw random numbers differently.
    shortcut.load_state_dict(plain.state_dict())
    return plain, shortcut


@contextmanager
def shortcuts_disabled(model: ExampleDeepNeuralNetwork) -> Iterator[ExampleDeepNeuralNetwork]:
    """Inside the ``with`` block, ``model`` is its plain twin: same weights, no shortcuts.

    Sets ``use_shortcut = False`` and every ``shortcut_mask`` entry to ``False`` together,
    so what the model says (its attributes, its repr) is what it computes, and restores
    both on leaving the block, also after an error. Cheaper than building a second
    network and copying the weights (:func:`make_model_pair`), with the same numbers.

    Example::

        >>> model = ExampleDeepNeuralNetwork([3, 3, 1], use_shortcut=True)
        >>> with shortcuts_disabled(model):
        ...     model.use_shortcut, model.shortcut_mask
        (False, [False, False])
        >>> model.use_shortcut, model.shortcut_mask
        (True, [True, False])
    """
    check_module(model, "model")
    if not isinstance(model, ExampleDeepNeuralNetwork):
        raise TypeError(f"model must be an ExampleDeepNeuralNetwork, got {type(model).__name__}")
    use_shortcut, mask = model.use_shortcut, model.shortcut_mask
    model.use_shortcut, model.shortcut_mask = False, [False] * len(mask)
    try:
        yield model
    finally:
        model.use_shortcut, model.shortcut_mask = use_shortcut, mask
