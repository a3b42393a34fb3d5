"""shortcut_lib: the code shared by the Shortcut Lessons notebooks.

Shortcut (residual) connections and the vanishing-gradient problem, after
chapter 4 of *Build a Large Language Model (From Scratch)*. One module per idea:

- ``activations``: the tanh GELU and the activation registry (lesson 01)
- ``approximation``: how far the tanh GELU is from the exact one (lesson 01)
- ``model``, ``architecture``: the deep MLP with shortcuts and its shape (lesson 02)
- ``gradients``, ``comparison``: per-layer gradients, plain vs shortcut (lesson 03)
- ``population``, ``population_backward``: the same for many networks at once, batched,
  with the backward pass derived by hand (lesson 04)
- ``training``: what vanishing gradients do to training (lesson 05)
- ``transformer``: the GPT block and where its shortcuts sit (lesson 06)
- ``plots``, ``widgets``: the lessons' figures and explorers
- ``exercises``: the lessons' self-checks; ``checks``: feedback for the assignments

Everything a lesson uses is importable from here: ``from shortcut_lib import GELU``.
"""

from .activations import ACTIVATIONS, GELU, GELU_CUBIC_COEFFICIENT, make_activation
from .approximation import (
    approximation_error,
    max_approximation_error,
    max_error_vs_coefficient,
    minimax_cubic_coefficient,
    value_and_derivative,
    x_grid,
)
from .architecture import (
    architecture_summary,
    count_parameters,
    deep_layer_sizes,
    linearity_gap,
    parameter_count,
    shortcut_mask,
)
from .comparison import (
    compare_gradients,
    default_input,
    format_gradient_table,
    layer_jacobians,
    max_weight_difference,
    residual_stream,
    vanishing_ratio,
)
from .gradients import layer_gradient_means, print_gradients
from .model import ExampleDeepNeuralNetwork, make_model_pair
from .plots import (
    CLASS_COLORS,
    COLORS,
    OKABE_ITO,
    VARIANT_COLORS,
    figure_to_png,
    new_figure,
    plot_activations,
    plot_block_gradients,
    plot_coefficient_scan,
    plot_decision_boundaries,
    plot_depth_and_dead,
    plot_depth_panels,
    plot_gelu_error,
    plot_gradient_bands,
    plot_gradient_comparison,
    plot_loss_curves,
    plot_network_diagram,
)
from .population import (
    dead_network_causes,
    first_layer_gradients_by_depth,
    gradient_quantiles,
    init_population_weights,
    population_gradient_means,
    population_input,
    stack_model_weights,
)
from .training import (
    CHANCE_LOSS,
    decision_grid,
    evaluate,
    input_signal,
    make_classifier_pair,
    make_spirals,
    train,
    train_depths,
)
from .transformer import (
    TINY_CONFIG,
    VARIANTS,
    TinyGPT,
    TransformerBlock,
    block_gradient_means,
    make_stacks,
    reversal_accuracy,
    reversal_task,
    stack_input,
    train_reversal,
)
from .widgets import (
    architecture_explorer,
    depth_explorer,
    gelu_explorer,
    gradient_explorer,
    transformer_explorer,
)

__version__ = "0.1.0"

__all__ = [
    # lesson 01: GELU
    "ACTIVATIONS",
    "GELU",
    "GELU_CUBIC_COEFFICIENT",
    "approximation_error",
    "make_activation",
    "max_approximation_error",
    "max_error_vs_coefficient",
    "minimax_cubic_coefficient",
    "value_and_derivative",
    "x_grid",
    "plot_activations",
    "plot_coefficient_scan",
    "plot_gelu_error",
    "gelu_explorer",
    # lesson 02: the deep MLP
    "ExampleDeepNeuralNetwork",
    "architecture_summary",
    "count_parameters",
    "linearity_gap",
    "make_model_pair",
    "parameter_count",
    "shortcut_mask",
    "plot_network_diagram",
    "architecture_explorer",
    # lesson 03: gradients, plain vs shortcut
    "compare_gradients",
    "deep_layer_sizes",
    "default_input",
    "format_gradient_table",
    "layer_gradient_means",
    "layer_jacobians",
    "max_weight_difference",
    "print_gradients",
    "residual_stream",
    "vanishing_ratio",
    "plot_gradient_comparison",
    "gradient_explorer",
    # lesson 04: depth and seeds
    "dead_network_causes",
    "first_layer_gradients_by_depth",
    "gradient_quantiles",
    "init_population_weights",
    "population_gradient_means",
    "population_input",
    "stack_model_weights",
    "plot_depth_and_dead",
    "plot_depth_panels",
    "plot_gradient_bands",
    "depth_explorer",
    # lesson 05: training
    "CHANCE_LOSS",
    "decision_grid",
    "evaluate",
    "input_signal",
    "make_classifier_pair",
    "make_spirals",
    "train",
    "train_depths",
    "plot_decision_boundaries",
    "plot_loss_curves",
    # lesson 06: the transformer block
    "TINY_CONFIG",
    "VARIANTS",
    "TinyGPT",
    "TransformerBlock",
    "block_gradient_means",
    "make_stacks",
    "reversal_accuracy",
    "reversal_task",
    "stack_input",
    "train_reversal",
    "VARIANT_COLORS",
    "plot_block_gradients",
    "transformer_explorer",
    # figures shared by every lesson
    "CLASS_COLORS",
    "COLORS",
    "OKABE_ITO",
    "figure_to_png",
    "new_figure",
]
