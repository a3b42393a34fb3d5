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

__all__ = [
    "GELU",
    "GELU_CUBIC_COEFFICIENT",
    "ACTIVATIONS",
    "ActivationSpec",
    "make_activation",
    "activation_label",
]

#: The cubic coefficient of the tanh approximation (Hendrycks & Gimpel, 2016).
GELU_CUBIC_COEFFICIENT = 0.044715

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


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
            0.044715 is the right value (seed ``000`` typed 0.004715, which is
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
        if isinstance(cubic_coefficient, bool) or not isinstance(cubic_coefficient, (int, float)):
            raise TypeError(
                f"cubic_coefficient must be a real number, got {cubic_coefficient!r} "
                f"({type(cubic_coefficient).__name__})"
            )
        if not math.isfinite(cubic_coefficient):
            raise ValueError(f"cubic_coefficient must be finite, got {cubic_coefficient!r}")
        self.cubic_coefficient = float(cubic_coefficient)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Python-float constants take the input's dtype and device, so float64
        # inputs stay float64 and no CPU tensor is created for a GPU input.
        inner = _SQRT_2_OVER_PI * (x + self.cubic_coefficient * x.pow(3))
        return 0.5 * x * (1.0 + torch.tanh(inner))

    def extra_repr(self) -> str:
        if self.cubic_coefficient == GELU_CUBIC_COEFFICIENT:
            return ""
        return f"cubic_coefficient={self.cubic_coefficient}"


ActivationSpec = str | Callable[[], nn.Module]

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
            callable returning an ``nn.Module``.

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
    module = spec()
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
