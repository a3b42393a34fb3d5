"""Leaving the caller's state as it was: a model's train/eval modes, torch's random state and
its grad mode.

Training, measuring or evaluating a model runs it in the mode it needs (dropout on or off),
but a learner's model must come back in the mode it had, and the learner's own random draws
must not shift because a library call drew from the global generator.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

__all__ = ["isolated", "gradients_on", "for_autograd", "check_autograd_parameters"]


@contextmanager
def isolated(model: nn.Module, training: bool) -> Iterator[None]:
    """Run ``model`` in train (``True``) or eval mode on a private copy of the global random
    state; afterwards every submodule has its own mode back (mixed modes survive) and the
    caller's random state is as it was.

    Dropout draws its masks from the global state as it is at the call, so a call repeats.
    """
    modes = [(module, module.training) for module in model.modules()]
    with torch.random.fork_rng(devices=[]):
        model.train(training)
        try:
            yield
        finally:
            for module, mode in modes:
                module.training = mode


@contextmanager
def gradients_on() -> Iterator[None]:
    """Autograd on inside, even where the caller turned it off: ``torch.no_grad()`` and
    ``torch.inference_mode()`` (the notebook habits around an evaluation) are left as they
    were once the block ends. Inputs made inside inference mode go through
    :func:`for_autograd` first."""
    with torch.inference_mode(False), torch.enable_grad():
        yield


def for_autograd(tensor: torch.Tensor) -> torch.Tensor:
    """``tensor`` as data for a measurement: cut from the caller's graph (a backward pass
    must not fill the caller's ``.grad``, e.g. of an ``X`` that requires grad), and copied if
    it was made inside inference mode (an "inference tensor" cannot take part in one)."""
    return tensor.clone() if tensor.is_inference() else tensor.detach()


def check_autograd_parameters(module: object, name: str = "model") -> None:
    """``module``'s parameters are ones autograd can use. A module built inside
    ``torch.inference_mode()`` holds "inference tensors", and torch's message for them blames
    neither the module nor the mode."""
    if not isinstance(module, nn.Module):
        return
    for key, parameter in module.named_parameters():
        if parameter.is_inference():
            raise ValueError(
                f"{name}'s parameter {key} was made inside torch.inference_mode() (the {name} "
                "was built there), and autograd cannot use such a tensor; build it outside "
                "the `with torch.inference_mode():` block (torch.no_grad() is enough to turn "
                "gradients off)"
            )
