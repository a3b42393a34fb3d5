"""shortcut_lib: the code shared by the Shortcut Lessons notebooks.

Shortcut (residual) connections and the vanishing-gradient problem, after
chapter 4 of *Build a Large Language Model (From Scratch)*.
"""

from .activations import ACTIVATIONS, GELU, GELU_CUBIC_COEFFICIENT, make_activation
from .gradients import layer_gradient_means, print_gradients
from .model import ExampleDeepNeuralNetwork, make_model_pair

__version__ = "0.1.0"

__all__ = [
    "ACTIVATIONS",
    "GELU",
    "GELU_CUBIC_COEFFICIENT",
    "ExampleDeepNeuralNetwork",
    "layer_gradient_means",
    "make_activation",
    "make_model_pair",
    "print_gradients",
]
