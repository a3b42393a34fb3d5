"""Checks of a built model: a fair pair (``check_same_initial_weights``) and a network that
is not secretly affine (``check_has_activation``, student notebook B's slip)."""

from __future__ import annotations

import torch
from torch import nn

from ..validation import check_has_values, check_module, short_repr
from ._student_code import _call, _student_facing, _tensor_hint


@_student_facing
def check_same_initial_weights(
    model_a: nn.Module,
    model_b: nn.Module,
    *,
    names: tuple[str, str] = ("model_without_shortcut", "model_with_shortcut"),
) -> None:
    """Check that two models hold exactly the same parameters (a fair comparison).

    Comparing a network with and without shortcuts only says something about
    the shortcuts if both start from the same weights.

    Args:
        model_a, model_b: the two models.
        names: what to call them in the message.

    Raises:
        AssertionError: the parameter names differ, or the first parameter
            that differs (in shape, dtype, device or value: the largest difference).
        TypeError: either argument is not an ``nn.Module`` (or is the class itself), or
            ``names`` is not two strings.
        ValueError: a model is on the meta device (no values to compare).
    """
    names = _check_names(names)
    for model, label in zip((model_a, model_b), names, strict=True):
        check_module(model, label)
    state_a, state_b = model_a.state_dict(), model_b.state_dict()
    if list(state_a) != list(state_b):
        raise AssertionError(
            f"{names[0]} has parameters {list(state_a)} but {names[1]} has {list(state_b)}; "
            "build both from the same class and layer sizes"
        )
    for key, tensor_a in state_a.items():
        tensor_b = state_b[key]
        if tensor_a.shape != tensor_b.shape:
            raise AssertionError(
                f"{key} has shape {tuple(tensor_a.shape)} in {names[0]} but "
                f"{tuple(tensor_b.shape)} in {names[1]}"
            )
        for tensor, label in ((tensor_a, names[0]), (tensor_b, names[1])):
            check_has_values(tensor, f"{key} of {label}")
        if (tensor_a.dtype, tensor_a.device) != (tensor_b.dtype, tensor_b.device):
            fix = tensor_a.dtype if tensor_a.dtype != tensor_b.dtype else repr(str(tensor_a.device))
            raise AssertionError(
                f"{key} is {tensor_a.dtype} on {tensor_a.device} in {names[0]} but "
                f"{tensor_b.dtype} on {tensor_b.device} in {names[1]}: compare models of one "
                f"dtype and device (a .half(), .double() or .to() on one of them?), e.g. "
                f"{names[1]}.to({fix})"
            )
        for tensor, label in ((tensor_a, names[0]), (tensor_b, names[1])):
            if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
                raise AssertionError(
                    f"{key} of {label} holds NaN or infinite values: the weights were "
                    "overwritten after the model was built (seeding is not the problem)"
                )
        if not torch.equal(tensor_a, tensor_b):
            largest = float((tensor_a - tensor_b).abs().max())
            raise AssertionError(
                f"{key} differs between {names[0]} and {names[1]} (largest difference "
                f"{largest:.2g}): the two models did not start from the same weights, so their "
                "gradients are not comparable — call torch.manual_seed(123) right before "
                f"building each, or copy the weights: {names[1]}.load_state_dict("
                f"{names[0]}.state_dict())"
            )


def _check_names(names: object) -> tuple[str, str]:
    """``names``: the two models' labels for the messages, e.g. ``("plain", "shortcut")``."""
    example = "('model_without_shortcut', 'model_with_shortcut')"
    if isinstance(names, (str, bytes)) or not isinstance(names, (tuple, list)):
        raise TypeError(
            f"names must be a pair of labels such as {example}, got {short_repr(names)} "
            f"({type(names).__name__})"
        )
    if len(names) != 2 or not all(isinstance(name, str) for name in names):
        raise ValueError(
            f"names must be two strings, one per model, such as {example}, got {names!r}"
        )
    return names[0], names[1]


@_student_facing
def check_has_activation(model: nn.Module, *, name: str = "model") -> None:
    """Check that every layer of a deep MLP applies an activation after its ``nn.Linear``.

    Two tests. Structure: in a model with ``layers`` (an ``nn.ModuleList`` of
    ``nn.Sequential``), every ``Linear`` must be followed by a module that is not
    a ``Linear``. Behaviour: the whole model must not be affine, i.e.
    ``f((a + b) / 2) != (f(a) + f(b)) / 2`` for some inputs. The classic slip
    ``nn.Linear(3, 3, GELU())`` passes the activation as ``bias`` (the third
    argument), so the layer silently has a bias and no activation.

    Raises:
        AssertionError: a layer lacks an activation or the model is affine.
        TypeError: ``model`` is not an ``nn.Module`` (or is the class itself), or ``name``
            not a string.
        ValueError: the model is on the meta device (it cannot be run).
    """
    if not isinstance(name, str):
        raise TypeError(
            f"name must be a string (what to call the model in messages), got {short_repr(name)} "
            f"({type(name).__name__})"
        )
    check_module(model, name)
    layers = getattr(model, "layers", None)
    if isinstance(layers, (nn.ModuleList, nn.Sequential)):
        for index, layer in enumerate(layers):
            children = list(layer.children()) if isinstance(layer, nn.Sequential) else [layer]
            for position, child in enumerate(children):
                if isinstance(child, nn.Linear) and (
                    position + 1 == len(children) or isinstance(children[position + 1], nn.Linear)
                ):
                    raise AssertionError(
                        f"{name}.layers[{index}] is {' '.join(repr(layer).split())}: nothing "
                        "follows its Linear, so "
                        "the layer has no activation (and the whole network is linear). "
                        "nn.Linear(n_in, n_out, GELU()) passes GELU() as the `bias` argument; "
                        "write nn.Sequential(nn.Linear(n_in, n_out), GELU())"
                    )
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not linears:
        return
    check_has_values(linears[0].weight, f"{name} (its first nn.Linear's weight)")
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        _check_not_affine(model, name, linears)


def _check_not_affine(model: nn.Module, name: str, linears: list[nn.Linear]) -> None:
    # The input width is the in_features of whichever Linear the forward meets first, which
    # need not be the first registered (an output layer may be defined before the others).
    widths = list(dict.fromkeys(linear.in_features for linear in linears))
    dtype, device = linears[0].weight.dtype, linears[0].weight.device
    generator = torch.Generator().manual_seed(0)
    failures = []
    for in_features in widths:
        a = 3.0 * torch.randn(8, in_features, generator=generator, dtype=dtype).to(device)
        b = 3.0 * torch.randn(8, in_features, generator=generator, dtype=dtype).to(device)
        what = f"{name} on input of shape {tuple(a.shape)}"
        try:
            f_mid = _call(model, what, (a + b) / 2)
        except AssertionError as error:
            cause = error.__cause__
            if not isinstance(cause, (RuntimeError, ValueError, IndexError)) or isinstance(
                cause, NotImplementedError
            ):
                raise  # not implemented, too slow, or a bug unrelated to the input's width
            failures.append((in_features, cause))
            continue
        break
    else:
        in_features, error = failures[0]
        raise AssertionError(
            f"{name} failed on input of width {' or '.join(str(w) for w, _ in failures)} "
            f"(the in_features of its Linear layers): {type(error).__name__}: {error}"
        ) from error
    if not isinstance(f_mid, torch.Tensor):
        raise AssertionError(_tensor_hint(f_mid, f"{name}'s forward", "return x"))
    f_avg = (_call(model, what, a) + _call(model, what, b)) / 2
    if torch.allclose(f_mid, f_avg, atol=1e-5, rtol=1e-4):
        raise AssertionError(
            f"{name} is affine: f((a + b) / 2) equals (f(a) + f(b)) / 2 for random inputs, so "
            "no layer applies a non-linear activation; check how each layer is built"
        )
