"""Lesson 02's exercises: the affine map a net without activations is; a wider net's shape."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from ..architecture import parameter_count, shortcut_mask
from ..validation import check_finite_result, check_has_values, check_module, is_integer, short_repr
from ._shared import read_number

#: Lesson 02, exercise 2: a 2-feature input, six hidden layers of width 8, one output.
WIDER_NET_SIZES = [2, 8, 8, 8, 8, 8, 8, 1]


def _layers_of(network: nn.Module) -> list[nn.Module]:
    """The network's layers, in order: its ``layers`` (the book's models) or its children
    (an ``nn.Sequential``). A lone layer is not a network: the exercise asks for a whole one."""
    layers = getattr(network, "layers", network)
    if not isinstance(layers, (nn.Sequential, nn.ModuleList, list, tuple)):
        raise TypeError(
            f"network must be a network of nn.Linear layers, such as student notebook B's "
            f"(a model with .layers, or an nn.Sequential), got {short_repr(network)} "
            f"({type(network).__name__}); pass the whole network, e.g. "
            "check_02_collapsed(notebook_b_model, A, b)"
        )
    return list(layers)


def _affine_map_of(network: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    """``(A, b)`` of a network of bare ``Linear`` layers, multiplied out from its weights."""
    layers = _layers_of(network)
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
        check_has_values(modules[0].weight, f"layer {i}'s weight")
        if A is not None and modules[0].in_features != A.shape[0]:
            raise ValueError(
                f"layer {i} of the network takes {modules[0].in_features} inputs, but the layer "
                f"before it gives {A.shape[0]}: this network cannot run, so it has no affine map"
            )
        W = modules[0].weight.detach().double()
        bias = modules[0].bias
        c = torch.zeros(W.shape[0], dtype=torch.float64) if bias is None else bias.detach().double()
        if use_shortcut and W.shape[0] == W.shape[1]:
            W = W + torch.eye(W.shape[0], dtype=torch.float64)  # x + Wx + c
        A, b = (W, c) if A is None else (W @ A, W @ b + c)
    if A is None:
        raise ValueError("the network has no layers: expected student notebook B's network")
    advice = (
        "check the network's weights for NaN or infinite values (or values so large that "
        "their product overflows)"
    )
    check_finite_result(A, "the network's matrix A (its weights multiplied out)", advice)
    check_finite_result(b, "the network's offset b", advice)
    return A, b


def _read_answer(value: torch.Tensor, name: str) -> torch.Tensor:
    """The learner's ``A`` or ``b`` in float64, for the comparison."""
    check_has_values(value, name)
    if value.is_complex() or value.dtype == torch.bool:
        raise TypeError(f"{name} must hold real numbers, got dtype {value.dtype}")
    return value.detach().double()


def check_02_collapsed(network: nn.Module, A: torch.Tensor, b: torch.Tensor) -> None:
    """Lesson 02, exercise 1: the one affine map ``f(x) = A x + b`` a network without GELU is.

    Args:
        network: student notebook B's network (``nn.Linear`` layers only).
        A: your matrix, shape ``(outputs, inputs)``: column ``j`` is ``f(e_j) − f(0)``.
        b: your offset ``f(0)``, shape ``(outputs,)`` or ``(1, outputs)``.

    The reference multiplies the layers' weight matrices out, so it does not use ``f``.
    """
    check_module(network, "network")
    if not isinstance(A, torch.Tensor) or not isinstance(b, torch.Tensor):
        raise TypeError(f"A and b must be tensors, got {type(A).__name__} and {type(b).__name__}")
    A, b = _read_answer(A, "A"), _read_answer(b, "b").reshape(-1)
    expected_A, expected_b = _affine_map_of(network)
    tolerance = {"rtol": 1e-4, "atol": 1e-6}
    if A.shape != expected_A.shape:
        transposed = (
            A.ndim == 2
            and A.T.shape == expected_A.shape
            and torch.allclose(A.T, expected_A, **tolerance)
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
    if b.shape != expected_b.shape:
        raise AssertionError(
            f"b has {b.numel()} values, expected {expected_b.numel()}: b is f(0), one value per "
            "output of the network"
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
        f"Right: the {len(_layers_of(network))} layers are one affine "
        f"map, A of shape {tuple(A.shape)} and b = {[round(v, 4) for v in b.tolist()]}."
    )


def _read_sizes(layer_sizes: object) -> list[int]:
    """A learner's ``layer_sizes`` as a list of ints (a 1-D array or tensor is a list too).

    Any integers are read (a wrong size is a wrong answer, said by the check); ``2.0`` and
    ``True`` are not integers (``[True, ...]`` would compare equal to ``[1, ...]``).
    """
    if isinstance(layer_sizes, (np.ndarray, torch.Tensor)) and layer_sizes.ndim == 1:
        layer_sizes = layer_sizes.tolist()
    if isinstance(layer_sizes, (str, bytes)) or not isinstance(layer_sizes, Sequence):
        raise TypeError(f"layer_sizes must be a list of integers, got {short_repr(layer_sizes)}")
    for i, size in enumerate(layer_sizes):
        if not is_integer(size):
            raise TypeError(
                f"layer_sizes[{i}] must be an integer, got {size!r} ({type(size).__name__}) "
                f"in {list(layer_sizes)!r}"
            )
    return [int(size) for size in layer_sizes]


def check_02_wider_net(layer_sizes: Sequence[int], parameters: int, shortcuts: int) -> None:
    """Lesson 02, exercise 2: sizes, parameter count and shortcuts of the wider network.

    Args:
        layer_sizes: your ``layer_sizes`` for a 2-feature input, six hidden layers of
            width 8 and one output.
        parameters: your predicted number of parameters.
        shortcuts: your predicted number of layers with a shortcut.
    """
    sizes = _read_sizes(layer_sizes)
    if sizes != WIDER_NET_SIZES:
        hidden = sizes[1:-1]
        raise AssertionError(
            f"layer_sizes: yours {sizes}, expected {WIDER_NET_SIZES} — the input size first "
            "(2), then one entry per hidden layer (six 8s), then the output size (1)"
            + (f"; yours has {len(hidden)} hidden layers" if len(hidden) != 6 else "")
        )
    expected = parameter_count(sizes)
    parameters = read_number("parameters", parameters)
    if parameters != expected:
        raise AssertionError(
            f"parameters: yours {parameters:g}, expected {expected} — each layer has "
            "n_in·n_out weights and n_out biases: (2·8 + 8) + 5·(8·8 + 8) + (8·1 + 1); "
            "check with parameter_count(layer_sizes)"
        )
    expected_shortcuts = sum(shortcut_mask(sizes))
    shortcuts = read_number("shortcuts", shortcuts)
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
