"""shortcut_lib: the code shared by the Shortcut Lessons notebooks.

Shortcut (residual) connections and the vanishing-gradient problem, after
chapter 4 of *Build a Large Language Model (From Scratch)*. One module per idea:

- ``activations``: the tanh GELU and the activation registry (lesson 01)
- ``approximation``: how far the tanh GELU is from the exact one (lesson 01)
- ``model``, ``architecture``: the deep MLP with shortcuts and its shape (lesson 02)
- ``gradients``, ``comparison``: per-layer gradients, plain vs shortcut (lesson 03)
- ``population``: the same for many networks at once, batched (lesson 04)
- ``training``: what vanishing gradients do to training (lesson 05)
- ``plotting``, ``widgets``: the lessons' figures and explorers
- ``checks``: friendly feedback for students' assignments
"""

from .activations import ACTIVATIONS, GELU, GELU_CUBIC_COEFFICIENT, make_activation
from .approximation import (
    approximation_error,
    max_approximation_error,
    max_error_vs_coefficient,
    minimax_cubic_coefficient,
)
from .architecture import architecture_summary, count_parameters, linearity_gap, shortcut_mask
from .comparison import (
    compare_gradients,
    deep_layer_sizes,
    default_input,
    format_gradient_table,
    max_weight_difference,
    vanishing_ratio,
)
from .gradients import layer_gradient_means, print_gradients
from .model import ExampleDeepNeuralNetwork, make_model_pair
from .population import (
    first_layer_gradients_by_depth,
    gradient_quantiles,
    population_gradient_means,
)
from .training import decision_grid, evaluate, make_classifier_pair, make_spirals, train

__version__ = "0.1.0"

__all__ = [
    "ACTIVATIONS",
    "GELU",
    "GELU_CUBIC_COEFFICIENT",
    "ExampleDeepNeuralNetwork",
    "approximation_error",
    "architecture_summary",
    "compare_gradients",
    "count_parameters",
    "decision_grid",
    "deep_layer_sizes",
    "default_input",
    "evaluate",
    "first_layer_gradients_by_depth",
    "format_gradient_table",
    "gradient_quantiles",
    "layer_gradient_means",
    "linearity_gap",
    "make_activation",
    "make_classifier_pair",
    "make_model_pair",
    "make_spirals",
    "max_approximation_error",
    "max_error_vs_coefficient",
    "max_weight_difference",
    "minimax_cubic_coefficient",
    "population_gradient_means",
    "print_gradients",
    "shortcut_mask",
    "train",
    "vanishing_ratio",
]
