"""Leaving the caller's state as it was: a model's train/eval modes, torch's random state and
its grad mode.

Training, measuring or evaluating a model runs it in the mode it needs (dropout on or off),
but a learner's model must come back in the mode it had, and the learner's own random draws
must not shift because a library call drew from the global generator.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

from .validation import type_name

__all__ = [
    "isolated",
    "gradients_on",
    "for_autograd",
    "check_autograd_parameters",
    "batch_statistics_checked",
]


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


@contextmanager
def batch_statistics_checked(model: nn.Module, advice: str) -> Iterator[None]:
    """While the block runs, a BatchNorm of ``model`` in training mode that is given one
    value per channel raises a ValueError naming it and ending with ``advice``; torch's own
    message ("Expected more than 1 value per channel") names no module and no argument."""
    handles = [
        module.register_forward_pre_hook(functools.partial(_enough_values, key, advice))
        for key, module in model.named_modules()
        if isinstance(module, nn.modules.batchnorm._BatchNorm) and module.training
    ]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def _enough_values(key: str, advice: str, module: nn.Module, inputs: tuple) -> None:
    (batch,) = inputs[:1]
    if isinstance(batch, torch.Tensor) and batch.ndim >= 2 and batch.numel() <= batch.shape[1]:
        which = f"model's {type_name(module)} {key!r}" if key else f"model ({type_name(module)})"
        raise ValueError(
            f"{which} is in training mode, where it normalises each channel over the batch "
            f"and needs more than one value per channel, but its input has shape "
            f"{tuple(batch.shape)}; {advice}"
        )
