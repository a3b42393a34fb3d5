"""Activation functions: the tanh-approximated GELU and a registry of names.

Anywhere ``shortcut_lib`` accepts an activation it takes either a registered
name (see :data:`ACTIVATIONS`) or a zero-argument callable that returns a fresh
``nn.Module`` (a class such as ``nn.ReLU`` or ``lambda: GELU(0.004715)``).
Each layer calls the factory once, so no two layers share a module.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from .validation import check_real

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
        cubic_coefficient: the constant :math:`c`. Only change it to see why
            0.044715 is the right value (student notebook A typed 0.004715, which is
            up to 0.029 off the exact GELU).

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
        self.cubic_coefficient = check_real(cubic_coefficient, "cubic_coefficient")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
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
        with torch.no_grad():
            result = spec(probe)
    except Exception:  # noqa: BLE001 - anything that fails here is simply not a function of x
        return False
    return isinstance(result, torch.Tensor) and result.shape == probe.shape


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
            would be shared by every layer.
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
