"""Activation functions: the tanh-approximated GELU and a registry of names.

Anywhere ``shortcut_lib`` accepts an activation it takes either a registered
name (see :data:`ACTIVATIONS`) or a zero-argument callable that returns a fresh
``nn.Module`` (a class such as ``nn.ReLU`` or ``lambda: GELU(0.004715)``).
Each layer calls the factory once, so no two layers share a module.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from .validation import ERRORS_OF_THEIR_OWN, check_real, described, short_repr

__all__ = [
    "GELU",
    "GELU_CUBIC_COEFFICIENT",
    "SQRT_2_OVER_PI",
    "tanh_normal_cdf",
    "ACTIVATIONS",
    "ActivationSpec",
    "make_activation",
    "activation_label",
]

#: The cubic coefficient of the tanh approximation (Hendrycks & Gimpel, 2016).
GELU_CUBIC_COEFFICIENT = 0.044715

#: The factor s inside the tanh: it makes the approximation's slope at 0, s/2, equal Φ's, 1/√(2π).
SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)

#: Largest ``|c|`` :class:`GELU` accepts. Far past any useful value (at ``c = 1`` the curve is
#: already nearly a step), and small enough that ``c`` stays finite in float16 (max 65504):
#: a coefficient that overflows the input's dtype turns ``GELU(0)`` into ``inf * 0 = NaN``.
MAX_CUBIC_COEFFICIENT = 1000.0


def _check_cubic_coefficient(value: object, name: str = "cubic_coefficient") -> float:
    """A cubic coefficient as a float: finite, with ``|value| <= MAX_CUBIC_COEFFICIENT``."""
    value = check_real(value, name)
    if abs(value) > MAX_CUBIC_COEFFICIENT:
        raise ValueError(
            f"{name} must be between -{MAX_CUBIC_COEFFICIENT:g} and {MAX_CUBIC_COEFFICIENT:g}, "
            f"got {value!r}: the published value is {GELU_CUBIC_COEFFICIENT}, and a far larger "
            "one overflows the input's dtype (float16 above 65504, float32 above 3.4e38), "
            "which makes GELU(0) NaN"
        )
    return value


def _vanishes(coefficient: float, dtype: torch.dtype) -> bool:
    """Does ``coefficient * x**3`` compute as ``0 * x**3`` for an ``x`` of this dtype?

    Reduced-precision inputs are multiplied in float32, so a coefficient below float32's
    smallest number counts as 0 for them too.
    """
    if coefficient == 0:
        return True
    # abs() first: np.float32 of a huge coefficient would warn about overflowing.
    return dtype != torch.float64 and abs(coefficient) < 1e-44 and np.float32(coefficient) == 0


def tanh_normal_cdf(
    x: torch.Tensor,
    cubic_coefficient: float | torch.Tensor = GELU_CUBIC_COEFFICIENT,
    scale: float = SQRT_2_OVER_PI,
) -> torch.Tensor:
    r"""The tanh approximation of the standard normal CDF, :math:`\Phi_c(x)`.

    .. math::
        \Phi_c(x) = \tfrac12\Bigl(1 + \tanh\bigl(s\,(x + c\,x^3)\bigr)\Bigr),
        \qquad s = \sqrt{2/\pi},\; c = 0.044715

    The one place the formula is written: :class:`GELU` is :math:`x\,\Phi_c(x)`, and the
    approximation's error (:mod:`shortcut_lib.approximation`) and the assignments' hints
    (:mod:`shortcut_lib.checks`) call this. ``cubic_coefficient`` may be a tensor that
    broadcasts against ``x`` (many constants at once); ``scale`` is :math:`s`, changed only
    to show what a wrong factor does.

    Example::

        >>> tanh_normal_cdf(torch.tensor([0.0, 1.0]))
        tensor([0.5000, 0.8412])
    """
    # Python-float constants take the input's dtype and device, so float64
    # inputs stay float64 and no CPU tensor is created for a GPU input.
    # Where x**3 overflows, a coefficient of 0 would give 0 * inf = NaN; x + 0 * x**3 is x
    # bit for bit wherever it is finite, so the term is simply left out.
    if isinstance(cubic_coefficient, torch.Tensor):
        cubic = torch.where(cubic_coefficient == 0, 0.0, cubic_coefficient * x.pow(3))
        return 0.5 * (1.0 + torch.tanh(scale * (x + cubic)))
    if _vanishes(cubic_coefficient, x.dtype):
        return 0.5 * (1.0 + torch.tanh(scale * x))
    return 0.5 * (1.0 + torch.tanh(scale * (x + cubic_coefficient * x.pow(3))))


class GELU(nn.Module):
    r"""Gaussian Error Linear Unit, tanh approximation.

    .. math::
        \text{GELU}(x) \approx 0.5\,x\,\Bigl(1 + \tanh\bigl(\sqrt{2/\pi}\,
        (x + c\,x^3)\bigr)\Bigr), \qquad c = 0.044715

    The exact GELU is :math:`x\,\Phi(x)` with :math:`\Phi` the standard normal
    CDF (``nn.GELU()``); this approximation stays within 4.8e-4 of it and equals
    ``torch.nn.functional.gelu(x, approximate="tanh")``.

    Args:
        cubic_coefficient: the constant :math:`c`, between -1000 and 1000
            (:data:`MAX_CUBIC_COEFFICIENT`). Only change it to see why 0.044715 is the
            right value (student notebook A typed 0.004715, which is up to 0.029 off the
            exact GELU).

    Shape:
        - Input: :math:`(*)`, any shape, floating point.
        - Output: :math:`(*)`, same shape, dtype and device as the input.

    Example::

        >>> act = GELU()
        >>> act(torch.tensor([-1.0, 0.0, 1.0]))
        tensor([-0.1588,  0.0000,  0.8412])
    """

    def __init__(self, cubic_coefficient: float = GELU_CUBIC_COEFFICIENT) -> None:
        super().__init__()
        self.cubic_coefficient = _check_cubic_coefficient(cubic_coefficient)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor):
            raise TypeError(
                f"GELU's input must be a torch.Tensor, got {described(x)}; "
                "e.g. GELU()(torch.tensor([1.0, 2.0]))"
            )
        if x.is_complex():  # the formula runs on complex numbers, but GELU is not defined there
            raise TypeError(
                f"GELU's input must hold real numbers, got a {x.dtype} tensor; pass its real "
                "part (x.real) or a float tensor"
            )
        return x * tanh_normal_cdf(x, self.cubic_coefficient)

    def extra_repr(self) -> str:
        if self.cubic_coefficient == GELU_CUBIC_COEFFICIENT:
            return ""
        return f"cubic_coefficient={self.cubic_coefficient}"


ActivationSpec = str | Callable[[], nn.Module] | Callable[[torch.Tensor], torch.Tensor]


class Elementwise(nn.Module):
    """A plain elementwise function (``F.gelu``, ``torch.tanh``) wrapped as a module.

    Lets ``activation=F.gelu`` mean what a learner expects: that function after every layer.
    """

    def __init__(self, function: Callable[[torch.Tensor], torch.Tensor]) -> None:
        super().__init__()
        self.function = function

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.function(x)

    def extra_repr(self) -> str:
        return getattr(self.function, "__name__", repr(self.function))


def _is_elementwise_function(spec: Callable) -> bool:
    """Does ``spec`` map a tensor to a tensor of the same shape (so it is not a factory)?"""
    probe = torch.linspace(-1.0, 1.0, 3)
    try:
        # A random function (F.dropout, torch.rand_like) must not draw from the caller's RNG.
        with torch.no_grad(), torch.random.fork_rng(devices=[]):
            result = spec(probe)
    except Exception:  # noqa: BLE001 - anything that fails here is simply not a function of x
        return False
    return isinstance(result, torch.Tensor) and result.shape == probe.shape


#: Modules whose functions take numbers or arrays, not tensors autograd can follow.
_NON_TORCH_MODULES = ("numpy", "math", "cmath", "scipy")


def _non_torch_function(function: object) -> str | None:
    """``"numpy"`` for ``np.tanh`` (``"math"`` for ``math.tanh``, ...), else ``None``.

    Such a function may even return a tensor without gradients, so it has to be refused
    by where it comes from, before a backward pass fails inside torch.
    """
    if isinstance(function, np.ufunc):
        return "numpy"
    module = (getattr(function, "__module__", None) or "").split(".")[0]
    return module if module in _NON_TORCH_MODULES else None


def _reject_non_torch_function(function: object, name: str) -> None:
    module = _non_torch_function(function)
    if module is not None:
        label = f"{module}.{getattr(function, '__name__', '?')}"
        raise TypeError(
            f"{name} {label} is a {module} function, which autograd cannot differentiate "
            "(it does not work on torch tensors that require grad); pass the torch version "
            "instead, such as torch.tanh for np.tanh or math.tanh"
            + (", or a name such as 'tanh'" if name == "activation" else "")
        )


def _check_tensor_function(function: object, name: str = "function") -> Callable:
    """A callable of a tensor: a function (``torch.tanh``) or a module *instance*.

    The class itself (``GELU`` where ``GELU()`` was meant) and numpy's or math's
    functions are refused with what to pass instead.
    """
    if isinstance(function, type):
        hint = f"build one first, e.g. {function.__name__}()"
        raise TypeError(
            f"{name} must be a function of a tensor or a module instance, got the class "
            f"{function.__name__} itself; "
            + (hint if issubclass(function, nn.Module) else "pass e.g. torch.tanh or GELU()")
        )
    _reject_non_torch_function(function, name)
    if not callable(function):
        raise TypeError(
            f"{name} must be callable (a function of a tensor or a module such as GELU()), "
            f"got {described(function)}"
        )
    return function


def _call_on_tensor(function: Callable, x: torch.Tensor, name: str = "function") -> torch.Tensor:
    """``function(x)``, with a failure inside it (a list method called on a tensor, a
    matmul of the wrong shape) reported as this call's mistake, naming ``x``'s shape.

    ``function`` gets a copy: one that works in place (``nn.ReLU(inplace=True)``) would
    otherwise overwrite the caller's tensor, or autograd's leaf."""
    try:
        result = function(x.clone())
    except ERRORS_OF_THEIR_OWN:
        raise
    except (TypeError, AttributeError) as error:
        raise TypeError(
            f"{name} could not be applied to x (a {x.dtype} tensor of shape "
            f"{tuple(x.shape)}): {type(error).__name__}: {error}; {name} must take a "
            "torch.Tensor and return one, e.g. torch.tanh or GELU()"
        ) from error
    except (RuntimeError, IndexError) as error:  # a ValueError is already this library's own
        raise ValueError(
            f"{name} failed on x of shape {tuple(x.shape)} ({x.dtype}, {x.device.type}): "
            f"{type(error).__name__}: {error}; pass an x that {name} accepts (a model "
            "needs x of shape (batch, in_features), with its parameters' dtype and device)"
        ) from error
    except ValueError:  # this library's own checks (a model's input), or torch's plain ones
        raise
    except Exception as error:  # noqa: BLE001 - the learner's own code failed: say where
        raise ValueError(
            f"{name}(x) raised {type(error).__name__}: {error} (x: a {x.dtype} tensor of "
            f"shape {tuple(x.shape)})"
        ) from error
    if not isinstance(result, torch.Tensor):
        raise TypeError(
            f"{name} must return a torch.Tensor, got {short_repr(result)} "
            f"({type(result).__name__}); e.g. lambda x: 3 * x, not lambda x: 3"
        )
    return result


#: Registered activation names and the factories that build them.
ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "gelu": GELU,
    "gelu_exact": nn.GELU,
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "identity": nn.Identity,
}


def make_activation(spec: ActivationSpec) -> nn.Module:
    """Build a fresh activation module from a registered name or a factory.

    Args:
        spec: one of ``ACTIVATIONS`` (``"gelu"``, ``"gelu_exact"``, ``"relu"``,
            ``"tanh"``, ``"sigmoid"``, ``"identity"``) or a zero-argument
            callable returning an ``nn.Module``, or a plain elementwise function
            of a tensor (``F.gelu``, ``torch.tanh``), which is wrapped in a module.

    Raises:
        ValueError: an unknown name (the message lists the valid ones).
        TypeError: anything else, including an ``nn.Module`` *instance*, which
            would be shared by every layer, and numpy's or math's functions
            (``np.tanh``: autograd cannot differentiate them; pass ``torch.tanh``).
    """
    if isinstance(spec, str):
        try:
            factory = ACTIVATIONS[spec]
        except KeyError:
            valid = ", ".join(repr(name) for name in ACTIVATIONS)
            raise ValueError(
                f"unknown activation {spec!r}; expected one of {valid}, "
                "or a zero-argument callable returning an nn.Module"
            ) from None
        return factory()
    if isinstance(spec, nn.Module):
        raise TypeError(
            f"activation must be a name or a zero-argument callable, got the module instance "
            f"{spec!r}; pass its class (e.g. {type(spec).__name__}) or a factory such as "
            f"`lambda: {type(spec).__name__}()` so that each layer gets its own module"
        )
    if not callable(spec):
        valid = ", ".join(repr(name) for name in ACTIVATIONS)
        raise TypeError(
            f"activation must be one of {valid} or a zero-argument callable returning an "
            f"nn.Module, got {spec!r} ({type(spec).__name__})"
        )
    _reject_non_torch_function(spec, "activation")
    if not isinstance(spec, type) and _is_elementwise_function(spec):
        return Elementwise(spec)
    try:
        module = spec()
    except TypeError as error:
        raise TypeError(
            f"activation {spec!r} could not be called without arguments ({error}); pass a "
            "registered name such as 'gelu', a module class such as nn.GELU, or an "
            "elementwise function of a tensor such as torch.tanh"
        ) from None
    if not isinstance(module, nn.Module):
        raise TypeError(
            f"the activation factory {spec!r} returned {module!r} "
            f"({type(module).__name__}); expected an nn.Module"
        )
    return module


def activation_label(spec: ActivationSpec) -> str:
    """A short human-readable name for an activation spec, for titles and legends."""
    if isinstance(spec, str):
        return spec
    return getattr(spec, "__name__", type(spec).__name__)
