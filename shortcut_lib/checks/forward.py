"""``check_shortcut_forward``: a student's forward pass, with and without shortcuts, against
:class:`~shortcut_lib.ExampleDeepNeuralNetwork` holding the same weights."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from ..model import ExampleDeepNeuralNetwork
from ..validation import check_real, check_seed, is_integer
from ._student_code import (
    _call,
    _format,
    _is_list_like,
    _student_facing,
    _tensor_hint,
)

#: The book's five-layer network: three inputs, four 3 -> 3 layers, one 3 -> 1 layer.
BOOK_LAYER_SIZES = (3, 3, 3, 3, 3, 1)


# A mix of layers with and without shortcuts: 3->5 no, 5->5 yes, 5->2 no, 2->2 yes, 2->1 no.
_MIXED_LAYER_SIZES = (3, 5, 5, 2, 2, 1)


def _check_layer_sizes(layer_sizes: Any) -> list[list[int]]:
    """``layer_sizes``: a non-empty list of networks, each a list of >= 2 positive widths."""
    expected = "a list of networks' layer sizes, e.g. [[3, 3, 3, 3, 3, 1], [3, 5, 5, 2, 2, 1]]"
    if not _is_list_like(layer_sizes):
        raise TypeError(f"layer_sizes must be {expected}, got {layer_sizes!r}")
    if len(layer_sizes) == 0:
        raise ValueError(f"layer_sizes must be {expected}, got an empty list: nothing to check")
    networks = []
    for sizes in layer_sizes:
        if not _is_list_like(sizes):
            raise TypeError(
                f"layer_sizes must be {expected}, got {layer_sizes!r} (an entry is {sizes!r}; "
                "for a single network write [[3, 3, 1]], not [3, 3, 1])"
            )
        if len(sizes) < 2 or not all(is_integer(n) and n > 0 for n in sizes):
            raise ValueError(
                f"each network in layer_sizes needs an input size and at least one layer, all "
                f"positive integers, got {list(sizes)!r}"
            )
        networks.append([int(n) for n in sizes])
    return networks


def _reference_model(layer_sizes: Sequence[int], use_shortcut: bool, seed: int) -> nn.Module:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return ExampleDeepNeuralNetwork(layer_sizes, use_shortcut=use_shortcut, activation="gelu")


def _sample_inputs(in_features: int, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(4, in_features, generator=generator)
    if in_features == 3:  # the book's sample input first
        x = torch.cat([torch.tensor([[1.0, 0.0, -1.0]]), x])
    return x


def _use_reference_activations(model: nn.Module, reference: nn.Module) -> None:
    """Swap the library's GELU into ``model``, so a forward-pass check does not also
    grade the student's GELU (that has a check of its own)."""
    for layer, reference_layer in zip(model.layers, reference.layers, strict=True):
        if isinstance(layer, nn.Sequential) and len(layer) == len(reference_layer) == 2:
            layer[1] = reference_layer[1]


@_student_facing
def check_shortcut_forward(
    model_class: Callable[..., nn.Module],
    *,
    layer_sizes: Sequence[Sequence[int]] = (BOOK_LAYER_SIZES, _MIXED_LAYER_SIZES),
    seed: int = 123,
    atol: float = 1e-5,
) -> None:
    """Check a network's forward pass, with and without shortcuts, against the library's.

    For every ``layer_sizes`` and ``use_shortcut`` in (False, True), builds
    ``model_class(sizes, use_shortcut)``, loads the weights of
    ``ExampleDeepNeuralNetwork(sizes, use_shortcut)`` made with ``seed`` (so
    the student's ``__init__`` must name its parameters like the book:
    ``layers.{i}.0.weight``), and compares the outputs on a few inputs. The
    default sizes include the book's network and one whose layers change width
    (3 -> 5 -> 5 -> 2 -> 2 -> 1), where only the same-width layers may add a shortcut.
    The library's GELU is swapped into each ``nn.Sequential(Linear, activation)``
    layer first, so only the forward pass is graded here, not the student's GELU.

    Student code is called inside ``torch.random.fork_rng`` (the caller's random state is
    left as it was) and each call may take at most :data:`TIME_LIMIT_S` seconds.

    Raises:
        AssertionError: the outputs differ, the model cannot be built, or its
            parameters are not named like the book's (the message says which).
        TypeError: ``model_class`` is not a class (e.g. an instance of it).
        ValueError: ``layer_sizes`` is empty or malformed, ``atol`` negative or not finite.
    """
    if isinstance(model_class, nn.Module):
        raise TypeError(
            f"expected your network class, got an instance of it ({type(model_class).__name__}"
            f"(...)); pass the class itself: check_shortcut_forward({type(model_class).__name__})"
        )
    if not isinstance(model_class, type) and not callable(model_class):
        raise TypeError(
            f"expected your network class, got {model_class!r} ({type(model_class).__name__})"
        )
    networks = _check_layer_sizes(layer_sizes)
    seed = check_seed(seed)
    atol = check_real(atol, "atol", minimum=0.0)
    # Building the student's models draws from the RNG (nn.Linear's init): not from the caller's.
    with torch.random.fork_rng(devices=[]):
        for sizes in networks:
            _check_forward_on(model_class, sizes, seed, atol)


def _shape_hint(error: Exception) -> str:
    if isinstance(error, RuntimeError) and "size of tensor" in str(error):
        return (
            "a shortcut x + layer_output only works where the layer keeps the shape: "
            "check x.shape == layer_output.shape before adding"
        )
    return 'the line of your code that raised is shown above, under "where your code raised"'


def _check_forward_on(
    model_class: Callable[..., nn.Module], sizes: list[int], seed: int, atol: float
) -> None:
    name = getattr(model_class, "__name__", repr(model_class))
    x = _sample_inputs(sizes[0], seed)
    plain_ref = _reference_model(sizes, False, seed)
    shortcut_ref = _reference_model(sizes, True, seed)
    for use_shortcut, reference in ((False, plain_ref), (True, shortcut_ref)):
        call = f"{name}({sizes}, use_shortcut={use_shortcut})"
        model = _call(model_class, call, sizes, use_shortcut)
        if not isinstance(model, nn.Module):
            raise AssertionError(f"{call} built a {type(model).__name__}, not an nn.Module")
        expected_names = list(reference.state_dict())
        your_names = list(model.state_dict())
        if your_names != expected_names:
            raise AssertionError(
                f"{call} has parameters {your_names}, expected {expected_names}; keep the "
                "__init__ given in the notebook (nn.Sequential(nn.Linear(...), GELU()) per "
                "layer, in an nn.ModuleList called layers)"
            )
        _call(model.load_state_dict, f"loading weights into {call}", reference.state_dict())
        _use_reference_activations(model, reference)
        with torch.no_grad():
            expected = reference(x)
            yours = _call(model, f"{call} on input of shape {tuple(x.shape)}", x, hint=_shape_hint)
        if not isinstance(yours, torch.Tensor):
            raise AssertionError(_tensor_hint(yours, f"{call}'s forward", "return x"))
        if yours.dtype != expected.dtype:
            raise AssertionError(
                f"{call} turned a {expected.dtype} input into {yours.dtype}; keep the input's "
                "dtype (no .double() or float64 constants in forward)"
            )
        if yours.shape != expected.shape:
            raise AssertionError(
                f"{call} returned shape {tuple(yours.shape)} for input shape "
                f"{tuple(x.shape)}, expected {tuple(expected.shape)} — every layer must run, "
                "and where a layer changes the width (like the last, 3 -> 1) its output "
                "replaces x: no shortcut there"
            )
        yours = yours.detach()
        if bool(torch.isfinite(yours).all()) and torch.allclose(
            yours, expected, atol=atol, rtol=1e-4
        ):
            continue
        other = shortcut_ref if not use_shortcut else plain_ref
        with torch.no_grad():
            other_output = other(x)
        if torch.allclose(yours, other_output, atol=atol, rtol=1e-4):
            hint = (
                "your forward adds shortcuts although use_shortcut=False"
                if not use_shortcut
                else "your forward ignores use_shortcut: the output equals the plain network's"
            )
        else:
            hint = (
                "each layer computes layer_output = layer(x); then x = x + layer_output "
                "if use_shortcut and x.shape == layer_output.shape, else x = layer_output"
            )
        raise AssertionError(
            f"{call} gives {_format(yours[:, 0])} for the first output feature of "
            f"{len(x)} sample inputs, expected {_format(expected[:, 0])} — {hint}"
        )
