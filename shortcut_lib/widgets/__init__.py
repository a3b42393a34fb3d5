"""Interactive explorers for the lessons (ipywidgets 8).

Every explorer is an :class:`Explorer`: controls on top, a plot underneath that
is redrawn in place on every change. One module per lesson's explorer, as in
``shortcut_lib.plots``: ``gelu`` (01), ``network`` (02), ``gradients`` (03),
``depth`` (04), ``transformer`` (06).
"""

from .depth import DEPTH_EXPLORER_RANGES, NORMALISATIONS, depth_explorer
from .explorer import Explorer
from .gelu import GELU_EXPLORER_RANGES, gelu_explorer
from .gradients import GRADIENT_EXPLORER_RANGES, gradient_explorer
from .network import ARCHITECTURE_EXPLORER_RANGES, architecture_explorer
from .transformer import TRANSFORMER_EXPLORER_RANGES, transformer_explorer

__all__ = [
    "ARCHITECTURE_EXPLORER_RANGES",
    "DEPTH_EXPLORER_RANGES",
    "Explorer",
    "GELU_EXPLORER_RANGES",
    "GRADIENT_EXPLORER_RANGES",
    "NORMALISATIONS",
    "TRANSFORMER_EXPLORER_RANGES",
    "architecture_explorer",
    "depth_explorer",
    "gelu_explorer",
    "gradient_explorer",
    "transformer_explorer",
]
