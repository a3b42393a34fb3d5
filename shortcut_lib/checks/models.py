"""Checks of a built model: a fair pair (``check_same_initial_weights``) and a network that
computes a non-linear function (``check_has_activation``, student notebook B's slip)."""

from __future__ import annotations

import torch
from torch import nn

from ..isolation import isolated
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
    """Check that a deep MLP applies activations: that what it computes is not affine.

    Judged by running the model (in eval mode, on a private random state): the whole model
    must not be affine, i.e. ``f((a + b) / 2) != (f(a) + f(b)) / 2`` for some inputs. Any
    structure passes that computes a non-linear function: ``layers`` as the book nests them
    (an ``nn.ModuleList`` of ``nn.Sequential(Linear, activation)``), a flat ``nn.Sequential``
    or ``nn.ModuleList`` of Linear and activation modules, or activations applied in
    ``forward`` (``F.gelu``).

    The classic slip ``nn.Linear(3, 3, GELU())`` passes the activation as ``bias`` (the
    third argument), so the layer silently has a bias and no activation. Where ``layers``
    holds ``nn.Sequential`` blocks, as in the book, each block whose Linear ends it (or is
    followed by another Linear) is also run with its Linear's output replaced: if that
    output reaches the next Linear through an affine map, the block has no activation and
    the check names it, even when other blocks make the network non-linear. The last block
    may be linear (an output layer), unless the other blocks hold their activation inside
    them (``nn.Sequential(nn.Linear(a, b), GELU())``) and it alone does not: the slip again.

    Raises:
        AssertionError: the model is affine, a block of ``layers`` has no activation, or
            the model returns NaN or infinite values for random inputs.
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
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not linears:
        return
    check_has_values(linears[0].weight, f"{name} (its first nn.Linear's weight)")
    # Eval mode: a dropout mask drawn per call would make an affine network look non-linear.
    with isolated(model, training=False), torch.no_grad():
        a, b, f_mid, what = _first_run(model, name, linears)
        f_avg = (_call(model, what, a) + _call(model, what, b)) / 2
        for output in (f_mid, f_avg):
            if not bool(torch.isfinite(output).all()):
                raise AssertionError(
                    f"{name} returned NaN or infinite values for random inputs of scale 3, so "
                    "whether it applies an activation cannot be judged; are its weights finite?"
                )
        blocks, activated = _blocks_ending_in_a_linear(model)
        if torch.allclose(f_mid, f_avg, atol=1e-5, rtol=1e-4):
            if blocks:
                raise AssertionError(_no_activation_message(name, *blocks[0][:2], whole=True))
            raise AssertionError(
                f"{name} is affine: f((a + b) / 2) equals (f(a) + f(b)) / 2 for random inputs, "
                "so no layer applies a non-linear activation; check how each layer is built "
                "(nn.Linear(n_in, n_out, GELU()) passes GELU() as the `bias` argument: write "
                "nn.Linear(n_in, n_out), GELU())"
            )
        for index, block, linear in blocks:
            if _passes_on_affinely(model, linear, linears, a, what, last_too=activated):
                raise AssertionError(_no_activation_message(name, index, block, whole=False))


def _first_run(
    model: nn.Module, name: str, linears: list[nn.Linear]
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, str]:
    """Two random inputs ``a``, ``b`` the model accepts and ``f((a + b) / 2)``."""
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
        if not isinstance(f_mid, torch.Tensor):
            raise AssertionError(_tensor_hint(f_mid, f"{name}'s forward", "return x"))
        return a, b, f_mid, what
    in_features, error = failures[0]
    raise AssertionError(
        f"{name} failed on input of width {' or '.join(str(w) for w, _ in failures)} "
        f"(the in_features of its Linear layers): {type(error).__name__}: {error}"
    ) from error


def _blocks_ending_in_a_linear(
    model: nn.Module,
) -> tuple[list[tuple[int, nn.Module, nn.Linear]], bool]:
    """``(i, model.layers[i], linear)`` for each ``nn.Sequential`` block of ``model.layers``
    (the book's nesting) whose ``linear`` ends it or is followed by another Linear: where
    ``nn.Linear(n_in, n_out, GELU())`` leaves a block; and whether some other block holds a
    module after each of its Linears (an activation inside the block, as the book has it).
    Bare modules in ``layers`` (a flat structure) are not blocks: what follows them is up
    to ``forward``."""
    layers = getattr(model, "layers", None)
    if not isinstance(layers, (nn.ModuleList, nn.Sequential)):
        return [], False
    found, activated = [], False
    for index, block in enumerate(layers):
        if not isinstance(block, nn.Sequential):
            continue
        children = list(block.children())
        for position, child in enumerate(children):
            if isinstance(child, nn.Linear) and (
                position + 1 == len(children) or isinstance(children[position + 1], nn.Linear)
            ):
                found.append((index, block, child))
                break
        else:
            activated = activated or any(isinstance(c, nn.Linear) for c in children)
    return found, activated


def _no_activation_message(name: str, index: int, block: nn.Module, whole: bool) -> str:
    consequence = (
        "(and the whole network is linear)"
        if whole
        else "(its output goes on to the next layer, or out, through an affine map)"
    )
    return (
        f"{name}.layers[{index}] is {' '.join(repr(block).split())}: nothing follows its "
        f"Linear, so the layer has no activation {consequence}. "
        "nn.Linear(n_in, n_out, GELU()) passes GELU() as the `bias` argument; "
        "write nn.Sequential(nn.Linear(n_in, n_out), GELU())"
    )


def _passes_on_affinely(
    model: nn.Module,
    linear: nn.Linear,
    linears: list[nn.Linear],
    x: torch.Tensor,
    what: str,
    last_too: bool,
) -> bool:
    """Does ``linear``'s output reach what follows it (the input of the next Linear the
    forward calls, else, if ``last_too``, the model's output) through an affine map? Its
    output is replaced by random ``u``, ``v`` and ``(u + v) / 2``; a Linear called other
    than once, or whose output nothing downstream depends on (a parallel branch), is not
    judged."""
    plain = _downstream(model, linear, linears, x, what)
    if plain is None or (plain[2] and not last_too):
        return False
    generator = torch.Generator().manual_seed(1)
    out = plain[0]
    u, v = (
        3.0 * torch.randn(out.shape, generator=generator, dtype=out.dtype).to(out.device)
        for _ in range(2)
    )
    runs = [_downstream(model, linear, linears, x, what, r) for r in (u, v, (u + v) / 2)]
    if any(run is None for run in runs):
        return False
    f_u, f_v, f_mid = (run[1] for run in runs)
    if not f_u.shape == f_v.shape == f_mid.shape or torch.allclose(f_u, f_v):
        return False
    return torch.allclose(f_mid, (f_u + f_v) / 2, atol=1e-5, rtol=1e-4)


def _downstream(
    model: nn.Module,
    linear: nn.Linear,
    linears: list[nn.Linear],
    x: torch.Tensor,
    what: str,
    replacement: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, bool] | None:
    """Run ``model(x)`` (``linear``'s output replaced, if given); return ``linear``'s
    output, what follows it and whether that is the model's output (no Linear ran after
    it); or ``None`` if ``linear`` ran other than once."""
    seen: dict = {"calls": 0, "output": None, "next": None}

    def after(module: nn.Module, args: tuple, output: torch.Tensor) -> torch.Tensor | None:
        seen["calls"] += 1
        seen["output"] = output
        return replacement

    def before(module: nn.Module, args: tuple) -> None:
        if seen["calls"] and seen["next"] is None and args and isinstance(args[0], torch.Tensor):
            seen["next"] = args[0].clone()

    handles = [linear.register_forward_hook(after)]
    handles += [m.register_forward_pre_hook(before) for m in linears if m is not linear]
    try:
        output = _call(model, what, x)
    finally:
        for handle in handles:
            handle.remove()
    follows = seen["next"] if seen["next"] is not None else output
    if seen["calls"] != 1 or not isinstance(follows, torch.Tensor):
        return None
    return seen["output"], follows, seen["next"] is None
