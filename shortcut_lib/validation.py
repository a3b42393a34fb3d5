"""Checks at the boundary where a user hands us something, with messages that say
what was wrong and what was expected (instead of torch's matmul errors)."""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Mapping, Sequence

import numpy as np
import torch

__all__ = [
    "ERRORS_OF_THEIR_OWN",
    "described",
    "short_repr",
    "type_name",
    "check_module",
    "check_trainable",
    "check_parameters",
    "check_matches_parameters",
    "check_device",
    "check_has_values",
    "check_finite_result",
    "check_reals",
    "check_precision",
    "check_choice",
    "check_layer_sizes",
    "check_input",
    "check_target",
    "is_integer",
    "check_integer",
    "check_positive_int",
    "check_seed",
    "check_real",
    "check_bool",
    "check_finite",
    "check_memory",
    "check_gradient_means",
    "check_mapping",
    "memory_limit_bytes",
]

#: Seeds ``torch.manual_seed`` and ``torch.Generator.manual_seed`` accept: 0 .. 2**64 - 1.
SEED_RANGE = (0, 2**64 - 1)


#: Errors a user's code raises on its own account, never because of the input it was given: an
#: unfinished stub (``raise NotImplementedError``) or endless recursion. They pass unchanged where
#: other errors from inside a user's model or function are re-worded as a bad input.
ERRORS_OF_THEIR_OWN = (NotImplementedError, RecursionError)


def type_name(value: object) -> str:
    return type(value).__name__


def described(value: object) -> str:
    """``value`` as a message shows what was passed: its (short) repr and its type."""
    return f"{short_repr(value)} ({type_name(value)})"


def short_repr(value: object, limit: int = 60) -> str:
    """``repr(value)``, cut to ``limit`` characters: a tensor's repr can run to pages."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def is_integer(value: object) -> bool:
    """Is ``value`` a Python or numpy integer? ``True``, ``3.0`` and ``"3"`` are not (they are
    almost always a slip): the one test every integer argument goes through."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_integer(
    value: object, name: str, minimum: int | None = None, maximum: int | None = None
) -> int:
    """Return ``value`` as an ``int``, or raise a clear error.

    Python and numpy integers are accepted; ``True``, ``3.0`` and ``"3"`` are not
    (they are almost always a slip).
    """
    if not is_integer(value):
        raise TypeError(f"{name} must be an integer, got {value!r} ({type_name(value)})")
    value = int(value)
    if minimum is not None and value < minimum:
        if maximum is not None:
            raise ValueError(f"{name} must be between {minimum} and {maximum}, got {value!r}")
        raise ValueError(f"{name} must be at least {minimum}, got {value!r}")
    if maximum is not None and value > maximum:
        if minimum is not None:
            raise ValueError(f"{name} must be between {minimum} and {maximum}, got {value!r}")
        raise ValueError(f"{name} must be at most {maximum}, got {value!r}")
    return value


def check_positive_int(value: object, name: str, where: str = "") -> int:
    """Return ``value`` as a positive ``int`` (numpy integers too), or raise a clear error.

    ``where`` is appended to the message, e.g. ``" in [3, 0, 1]"`` for one entry of a list.
    """
    if not is_integer(value):
        raise TypeError(
            f"{name} must be a positive integer, got {value!r} ({type_name(value)}){where}"
        )
    if value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}{where}")
    return int(value)


def check_seed(value: object, name: str = "seed") -> int:
    """A random seed: an integer from 0 to 2**64 - 1 (what ``torch.manual_seed`` accepts)."""
    if not is_integer(value):
        raise TypeError(f"{name} must be an integer, got {value!r} ({type_name(value)})")
    low, high = SEED_RANGE
    if not low <= value <= high:
        raise ValueError(f"{name} must be an integer from 0 to 2**64 - 1, got {value!r}")
    return int(value)


def check_float_dtype(dtype: object, none_means_default: bool = False) -> torch.dtype:
    """A floating-point ``torch.dtype``; with ``none_means_default``, ``None`` stands for
    torch's default dtype."""
    if dtype is None and none_means_default:
        return torch.get_default_dtype()
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        allowed = " or None" if none_means_default else ""
        raise TypeError(
            f"dtype must be a floating-point torch.dtype such as torch.float64{allowed}, "
            f"got {dtype!r}"
        )
    return dtype


def check_real(
    value: object,
    name: str,
    minimum: float | None = None,
    positive: bool = False,
    maximum: float | None = None,
) -> float:
    """Return ``value`` as a finite ``float`` (numpy floats too), or raise a clear error.

    ``minimum``, ``maximum``: the smallest and largest allowed values (with both, the
    message says "between"); ``positive``: the value must be > 0.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r} ({type_name(value)})")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if positive and value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    if minimum is not None and maximum is not None and not minimum <= value <= maximum:
        raise ValueError(f"{name} must be between {minimum} and {maximum}, got {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be a finite number >= {minimum}, got {value!r}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be a finite number <= {maximum}, got {value!r}")
    return value


def check_bool(value: object, name: str) -> bool:
    """``True`` or ``False`` (numpy's ``bool_`` too); ``1`` and ``"yes"`` are rejected."""
    if isinstance(value, np.bool_):
        return bool(value)
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r} ({type_name(value)})")
    return value


def check_module(value: object, name: str = "model") -> torch.nn.Module:
    """A built ``torch.nn.Module``. The class itself (``ExampleDeepNeuralNetwork`` where
    ``ExampleDeepNeuralNetwork([3, 3, 1], True)`` was meant) is told apart from other slips."""
    if isinstance(value, type) and issubclass(value, torch.nn.Module):
        raise TypeError(
            f"{name} must be a built model (an instance of a torch.nn.Module), got the "
            f"class {value.__name__} itself; build one first, e.g. {value.__name__}(...)"
        )
    if not isinstance(value, torch.nn.Module):
        raise TypeError(f"{name} must be a torch.nn.Module, got {described(value)}")
    return value


def check_trainable(model: torch.nn.Module, name: str = "model") -> None:
    """``model`` has at least one parameter that takes a gradient, or a clear ValueError."""
    if not any(p.requires_grad for p in model.parameters()):
        count = sum(1 for _ in model.parameters())
        why = (
            "it has no parameters"
            if count == 0
            else f"all {count} of its parameters have requires_grad=False"
        )
        raise ValueError(
            f"{name} has nothing to train or measure: {why}; "
            "give it parameters that require grad (model.requires_grad_(True))"
        )


def check_parameters(
    model: torch.nn.Module, name: str = "model", advice: str = "", finite: bool = True
) -> None:
    """Every parameter of ``model`` holds numbers (not on the meta device), finite ones
    unless ``finite`` is False.

    ``advice`` ends the message for non-finite weights (e.g. how to build a fresh model).
    """
    advice = advice or (
        "the weights are already NaN or infinite (a previous run diverged?): build a new model"
    )
    for key, parameter in model.named_parameters():
        check_has_values(parameter, f"{name}'s parameter {key}")
        if finite:
            check_finite(parameter.detach(), f"{name}'s parameter {key}", advice)


def check_matches_parameters(
    module: torch.nn.Module, x: torch.Tensor, name: str = "x", owner: str = "model"
) -> None:
    """``x`` is on the device, and of the dtype, of ``module``'s parameters (if it has any),
    which hold values (not on the meta device): else torch's matmul error, said plainly."""
    parameter = next(module.parameters(), None)
    if parameter is None:
        return
    if parameter.device.type == "meta":
        raise ValueError(
            f"{owner}'s parameters are on the meta device, which holds shapes but no "
            f"values; build the {owner} on the CPU (or move it: {owner}.to_empty(device='cpu') "
            "and load its weights)"
        )
    if x.device != parameter.device:
        where = " (a meta tensor holds no values: build it on the CPU)" if x.is_meta else ""
        raise ValueError(
            f"{name} is on {x.device.type}, the {owner}'s parameters on "
            f"{parameter.device.type}; move one: {name}.to({parameter.device.type!r}){where}"
        )
    if x.dtype != parameter.dtype:
        raise TypeError(
            f"{name} dtype {x.dtype} does not match the {owner}'s parameters "
            f"({parameter.dtype}); convert one of them, e.g. {name}.to({parameter.dtype}) "
            f"or {owner}.to({x.dtype})"
        )


def check_device(device: object, name: str = "device") -> torch.device:
    """A device this torch can compute on: ``"cpu"``, ``torch.device("cpu")``, or an
    accelerator that is really there (asking for ``"cuda"`` on a CPU-only torch says so)."""
    if not isinstance(device, (str, torch.device)):
        raise TypeError(
            f"{name} must be a device name such as 'cpu' or a torch.device, got {described(device)}"
        )
    try:
        parsed = torch.device(device)
    except RuntimeError:
        raise ValueError(
            f"{name}={device!r} is not a device name; expected e.g. 'cpu' or 'cuda'"
        ) from None
    if parsed.type == "meta":
        raise ValueError(
            f"{name}={device!r}: the meta device holds shapes but no values, and these "
            "computations need values; use 'cpu'"
        )
    available = {"cuda": torch.cuda.is_available, "mps": torch.backends.mps.is_available}
    if parsed.type != "cpu" and not available.get(parsed.type, lambda: True)():
        raise ValueError(
            f"{name}={device!r} is not available on this machine (this torch has no "
            f"{parsed.type.upper()} device); use 'cpu'"
        )
    return parsed


def check_has_values(tensor: torch.Tensor, name: str) -> None:
    """A tensor whose numbers can be read: not on the meta device (shapes only)."""
    if tensor.device.type == "meta":
        raise ValueError(
            f"{name} is on the meta device, which holds shapes but no values; "
            "these computations need values: use a CPU tensor"
        )


def check_finite_result(tensor: torch.Tensor, what: str, advice: str) -> None:
    """Report a result that overflowed (or became NaN) instead of returning it.

    ``what`` names the result (``"the gradient means"``); ``advice`` says what to change.
    """
    if tensor.device.type == "meta" or not tensor.is_floating_point():
        return
    finite = torch.isfinite(tensor)
    if not bool(finite.all()):
        bad = int((~finite).sum())
        raise ValueError(
            f"{what} came out NaN or infinite ({bad} of {tensor.numel()} value(s): the "
            f"numbers overflowed or were undefined); {advice}"
        )


def check_sequence(values: object, name: str, example: str, items: str, item: str) -> list:
    """``values`` as a non-empty Python list: a list, tuple, range, or 1-D array or tensor.

    ``items`` and ``item`` name what it should hold ("integers", "depth") in the messages;
    checking each item is left to the caller."""
    if isinstance(values, torch.Tensor | np.ndarray):
        if values.ndim != 1:
            raise ValueError(
                f"{name} must be one-dimensional, such as {example}, got shape "
                f"{tuple(values.shape)}"
            )
        if isinstance(values, torch.Tensor):
            check_has_values(values, name)
        values = values.tolist()
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise TypeError(
            f"{name} must be a list of {items} such as {example}, got {short_repr(values)} "
            f"({type_name(values)})"
        )
    if len(values) == 0:
        raise ValueError(f"{name} must hold at least one {item}, such as {example}; got none")
    return list(values)


def check_reals(values: object, name: str, example: str = "[0.1, 0.5, 0.9]") -> list[float]:
    """A non-empty list, tuple, 1-D array or tensor of finite real numbers, as floats.

    Bools and strings are rejected (``[True]`` is almost always a slip for a number).
    """
    values = check_sequence(values, name, example, "numbers", "number")
    return [check_real(value, f"{name}[{i}]") for i, value in enumerate(values)]


def check_precision(dtype: torch.dtype, what: str, advice: str) -> None:
    """Refuse float16 and bfloat16 for measuring gradients: they shrink (or grow) by a factor
    per layer, and in 16 bits they round to exactly 0 or to the format's smallest step, or
    overflow, within a few dozen layers: silent numbers that look measured."""
    info = torch.finfo(dtype)
    if info.bits < 32:
        raise ValueError(
            f"{what} is too coarse to measure gradients: they round to exactly 0 (or to its "
            f"smallest step, {info.tiny * info.eps:.2g}), or overflow, within a few dozen "
            f"layers; {advice}"
        )


def check_choice(kind: str, value: object, options) -> None:
    """``value`` is one of ``options`` (a name from a registry), or a clear ``ValueError``."""
    try:
        known = value in options
    except TypeError:  # an unhashable value (a list, a dict) is no name either
        known = False
    if not known:
        valid = ", ".join(repr(option) for option in options)
        raise ValueError(f"unknown {kind} {value!r}; expected one of {valid}")


def check_finite(tensor: torch.Tensor, name: str, advice: str = "") -> None:
    """Raise a ValueError naming ``name`` if ``tensor`` holds NaN or infinite values."""
    if tensor.device.type == "meta" or not tensor.is_floating_point():
        return
    finite = torch.isfinite(tensor)
    if not bool(finite.all()):
        bad = int((~finite).sum())
        nan = int(torch.isnan(tensor).sum())
        raise ValueError(
            f"{name} must be finite, but {bad} of its {tensor.numel()} value(s) are "
            f"NaN or infinite ({nan} NaN)" + (f"; {advice}" if advice else "")
        )


def memory_limit_bytes() -> int:
    """This machine's physical memory: a size needing more than this cannot fit."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # not POSIX: assume a laptop
        return 16 * 2**30


def check_memory(n_bytes: float, what: str, advice: str) -> None:
    """Fail at once, with the estimate, if ``what`` would need more memory than there is.

    ``n_bytes`` is an estimate of the peak memory; ``advice`` says which argument to reduce.
    """
    limit = memory_limit_bytes()
    if n_bytes > limit:
        raise ValueError(
            f"{what} would need about {n_bytes / 1e9:.3g} GB of memory, more than this "
            f"machine's {limit / 1e9:.3g} GB; {advice}"
        )


def check_mapping(value: object, name: str, example: str) -> Mapping:
    """Raise a TypeError unless ``value`` is a dict-like mapping (``example`` shows one)."""
    if not isinstance(value, Mapping):
        raise TypeError(f"{name} must be a dict such as {example}, got {type_name(value)}")
    return value


def check_gradient_means(means: object, name: str) -> dict[str, float]:
    """A table ``{"layers.0.0.weight": mean |grad|, ...}`` as a dict of floats, or a clear error.

    Values may be Python or numpy numbers or one-element tensors; they must be finite
    and >= 0 (a mean absolute value).
    """
    if not isinstance(means, Mapping):
        raise TypeError(
            f"{name} must be a dict of layer name -> gradient mean (e.g. from "
            f"compare_gradients), got {type_name(means)}"
        )
    table = {}
    for key, value in means.items():
        if isinstance(value, torch.Tensor) and value.numel() == 1:
            value = value.item()
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(
                f"{name}[{key!r}] must be a number (a gradient mean), got {value!r} "
                f"({type_name(value)})"
            )
        value = float(value)
        if not (math.isfinite(value) and value >= 0):
            raise ValueError(
                f"{name}[{key!r}] must be a finite number >= 0 (a mean |gradient|), got {value!r}"
            )
        table[key] = value
    return table


def check_layer_sizes(layer_sizes: Sequence[int]) -> list[int]:
    """Return ``layer_sizes`` as a list of ints, or raise a clear error.

    A network needs at least an input and an output size, and every size must
    be a positive integer (``True`` and ``3.0`` are rejected: they are almost
    always a slip).
    """
    if isinstance(layer_sizes, (str, bytes)) or not isinstance(layer_sizes, Sequence):
        raise TypeError(
            f"layer_sizes must be a list or tuple of positive integers, e.g. [3, 3, 1], "
            f"got {layer_sizes!r} ({type(layer_sizes).__name__})"
        )
    if len(layer_sizes) < 2:
        raise ValueError(
            f"layer_sizes needs at least two sizes (input and output), got {list(layer_sizes)!r}"
        )
    where = f" in {list(layer_sizes)!r}"
    return [
        check_positive_int(size, f"layer_sizes[{i}]", where) for i, size in enumerate(layer_sizes)
    ]


def check_input(x: torch.Tensor, in_features: int, dtype: torch.dtype | None = None) -> None:
    """Raise a clear error unless ``x`` is a finite float tensor of shape ``(*, in_features)``."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(
            f"input must be a torch.Tensor of shape (batch, {in_features}), got {type(x).__name__}"
        )
    if x.ndim == 0 or x.shape[-1] != in_features:
        raise ValueError(
            f"input's last dimension must be layer_sizes[0] = {in_features}, "
            f"got shape {tuple(x.shape)}"
        )
    if not x.is_floating_point():
        raise TypeError(
            f"input must be a floating-point tensor, got dtype {x.dtype}; "
            "write e.g. torch.tensor([[1., 0., -1.]]) with decimal points"
        )
    if x.numel() == 0:
        raise ValueError(
            f"input is empty (shape {tuple(x.shape)}); expected at least one sample of "
            f"{in_features} features"
        )
    if dtype is not None and x.dtype != dtype:
        raise TypeError(
            f"input dtype {x.dtype} does not match the model's parameters ({dtype}); "
            f"convert one of them, e.g. x.to({dtype}) or model.to({x.dtype})"
        )
    if x.device.type != "meta" and not bool(torch.isfinite(x).all()):
        bad = (~torch.isfinite(x)).sum().item()
        raise ValueError(f"input must be finite, but {bad} value(s) are NaN or infinite")


def check_target(target: torch.Tensor, output: torch.Tensor) -> None:
    """Raise a clear error unless ``target`` has the model output's shape."""
    if not isinstance(target, torch.Tensor):
        raise TypeError(f"target must be a torch.Tensor, got {type(target).__name__}")
    if target.shape != output.shape:
        raise ValueError(
            f"target shape {tuple(target.shape)} does not match the model's output shape "
            f"{tuple(output.shape)}"
        )
    check_finite(target, "target")
