"""Speed benchmarks, measured side by side in one run: `python benchmarks/run.py` (`make bench`).

1. The population engine against a loop over models: per-layer gradients of 64
   networks x 100 layers (GELU, width 3, shortcuts), one thread. Targets: engine
   <= 10 ms and >= 100x faster than the loop.
2. The explorers: one slider change -> new figure rendered to PNG, p50/p95 over
   >= 50 changes, for lesson 03's gradient explorer and lesson 04's depth
   explorer, each against a naive `interact`-style function that rebuilds the
   models (or the population) and a new figure every time. Target p95 <= 50 ms.

Timings are wall-clock medians/percentiles of repeats; other processes on the
machine show up in them, so the load average is printed with the machine.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from collections.abc import Callable

import torch

from shortcut_lib import ExampleDeepNeuralNetwork, layer_gradient_means, make_model_pair
from shortcut_lib.plots import figure_to_png, plot_gradient_bands, plot_gradient_comparison
from shortcut_lib.population import (
    dead_networks,
    gradient_quantiles,
    population_gradient_means,
    population_input,
)

ENGINE_TARGET_MS = 10.0
SPEEDUP_TARGET = 100.0
EXPLORER_P95_TARGET_MS = 50.0
DEPTH, POPULATION = 100, 64


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def timed(function: Callable[[], object], repeats: int, warmup: int = 1) -> list[float]:
    """Wall time of each of ``repeats`` calls, in milliseconds."""
    for _ in range(warmup):
        function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1e3)
    return times


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    return (
        f"{cpu}; {os.cpu_count()} logical CPUs, torch threads {torch.get_num_threads()}; "
        f"torch {torch.__version__}; Python {platform.python_version()}; "
        f"load average {load}"
    )


# --- 1. engine vs loop ------------------------------------------------------------------


def loop_over_models() -> torch.Tensor:
    x = population_input(3)
    rows = []
    for seed in range(POPULATION):
        torch.manual_seed(seed)
        model = ExampleDeepNeuralNetwork([3] * DEPTH + [1], use_shortcut=True)
        rows.append(list(layer_gradient_means(model, x).values()))
    return torch.tensor(rows)


def bench_engine() -> list[tuple[str, str, str]]:
    engine = timed(lambda: population_gradient_means(DEPTH, population=POPULATION), repeats=50)
    autograd = timed(
        lambda: population_gradient_means(DEPTH, population=POPULATION, method="autograd"),
        repeats=20,
    )
    loop = timed(loop_over_models, repeats=3)
    engine_ms, autograd_ms, loop_ms = (statistics.median(t) for t in (engine, autograd, loop))
    speedup = loop_ms / engine_ms

    def verdict(ok: bool, miss: str) -> str:
        return "met" if ok else f"MISSED ({miss})"

    return [
        (
            "engine, manual backward (median of 50)",
            f"{engine_ms:.2f} ms",
            f"target <= {ENGINE_TARGET_MS:.0f} ms: "
            + verdict(engine_ms <= ENGINE_TARGET_MS, f"{engine_ms / ENGINE_TARGET_MS:.2f}x over"),
        ),
        (
            "engine, autograd backward (median of 20)",
            f"{autograd_ms:.2f} ms",
            f"manual is {autograd_ms / engine_ms:.2f}x faster",
        ),
        (
            "loop: 64 x ExampleDeepNeuralNetwork + layer_gradient_means (median of 3)",
            f"{loop_ms:.0f} ms",
            "",
        ),
        (
            "speed-up engine vs loop",
            f"{speedup:.0f}x",
            f"target >= {SPEEDUP_TARGET:.0f}x: "
            + verdict(speedup >= SPEEDUP_TARGET, f"{speedup / SPEEDUP_TARGET:.2f} of it"),
        ),
    ]


# --- 2. explorers -----------------------------------------------------------------------


def slider_updates(explorer, name: str, values: list) -> list[float]:
    """Set ``explorer.controls[name]`` to each value; wall time per change in ms."""
    times = []
    for value in values:
        start = time.perf_counter()
        explorer.controls[name].value = value
        times.append((time.perf_counter() - start) * 1e3)
    return times


def naive_gradient_update(depth: int, width: int = 3, activation: str = "gelu", seed: int = 123):
    # What an `interact` callback would do: rebuild both models and a new figure, render it.
    plain, shortcut = make_model_pair([width] * depth + [1], seed=seed, activation=activation)
    x = population_input(width)
    figure = plot_gradient_comparison(
        layer_gradient_means(plain, x), layer_gradient_means(shortcut, x)
    )
    return figure_to_png(figure)


def naive_depth_update(depth: int, width: int = 3, seeds: int = 64, activation: str = "gelu"):
    # Rebuild the population model by model, then a new figure, then render it.
    x = population_input(width, dtype=torch.float64)
    bands = {}
    for kind, shortcut in (("plain", False), ("shortcut", True)):
        rows = []
        for seed in range(seeds):
            torch.manual_seed(seed)
            model = ExampleDeepNeuralNetwork([width] * depth + [1], shortcut, activation).double()
            rows.append(list(layer_gradient_means(model, x).values()))
        means = torch.tensor(rows, dtype=torch.float64)
        bands[kind] = gradient_quantiles(means, exclude=dead_networks(means)[:, None])
    return figure_to_png(plot_gradient_bands(range(depth), bands, title=f"{depth} layers"))


def summary(times: list[float]) -> tuple[float, float]:
    return percentile(times, 50), percentile(times, 95)


def bench_explorers() -> list[tuple[str, str, str]]:
    from shortcut_lib.widgets import depth_explorer

    rows = []
    try:
        from shortcut_lib.widgets import gradient_explorer
    except ImportError:  # lesson 03 not there: say so instead of failing
        gradient_explorer = None

    def row(label: str, times: list[float], target: bool) -> tuple[str, str, str]:
        p50, p95 = summary(times)
        note = f"n={len(times)}"
        if target:
            ok = p95 <= EXPLORER_P95_TARGET_MS
            note += f"; target p95 <= {EXPLORER_P95_TARGET_MS:.0f} ms: " + (
                "met" if ok else f"MISSED by {p95 - EXPLORER_P95_TARGET_MS:.0f} ms"
            )
        return label, f"p50 {p50:.1f} ms, p95 {p95:.1f} ms", note

    # Lesson 03: drag the depth slider 2 -> 30 -> 2 (56 changes).
    sweep_03 = [*range(3, 31), *range(29, 1, -1)]
    if gradient_explorer is not None:
        explorer = gradient_explorer()
        explorer_times = slider_updates(explorer, "depth", sweep_03)
        rows.append(row("lesson 03 gradient_explorer: depth slider", explorer_times, True))
        full = explorer.render.full_renders - 1
        rows.append(("  of which full redraws (axes changed)", f"{full}", ""))
        naive = [
            timed(lambda d=d: naive_gradient_update(d), repeats=1, warmup=0)[0] for d in sweep_03
        ]
        rows.append(row("  naive interact: new models + new figure", naive, False))
        rows.append(
            (
                "  explorer vs naive (p50)",
                f"{summary(naive)[0] / summary(explorer_times)[0]:.1f}x",
                "",
            )
        )
    else:
        rows.append(
            ("lesson 03 gradient_explorer", "not available", "shortcut_lib.widgets has none")
        )

    # Lesson 04: drag the depth slider 20 -> 70 (50 changes), 64 networks of each kind.
    explorer = depth_explorer(depth=20)
    sweep_04 = list(range(21, 71))
    explorer_times = slider_updates(explorer, "depth", sweep_04)
    rows.append(row("lesson 04 depth_explorer: depth slider 21..70", explorer_times, True))
    full = explorer.render.full_renders - 1
    rows.append(("  of which full redraws (axes changed)", f"{full}", ""))
    explorer.controls["depth"].value = 50
    activation_times = slider_updates(
        explorer, "activation", ["relu", "tanh", "sigmoid", "gelu"] * 13
    )
    rows.append(
        row("lesson 04 depth_explorer: activation dropdown, depth 50", activation_times, True)
    )
    naive_sweep = sweep_04[::5]
    naive = [timed(lambda d=d: naive_depth_update(d), repeats=1, warmup=0)[0] for d in naive_sweep]
    rows.append(row("  naive interact: 128 models + new figure", naive, False))
    rows.append(
        ("  explorer vs naive (p50)", f"{summary(naive)[0] / summary(explorer_times)[0]:.0f}x", "")
    )
    return rows


def print_table(title: str, rows: list[tuple[str, str, str]]) -> None:
    width_a = max(len(r[0]) for r in rows)
    width_b = max(len(r[1]) for r in rows)
    print(f"\n{title}")
    print("-" * (width_a + width_b + 40))
    for a, b, c in rows:
        print(f"{a:<{width_a}}  {b:>{width_b}}  {c}")


def main() -> int:
    torch.set_num_threads(1)
    print("Shortcut Lessons benchmarks")
    print(f"machine: {machine()}")
    print_table(
        f"1. population engine: {POPULATION} networks x {DEPTH} layers, GELU, width 3, "
        "shortcuts, float32, one thread",
        bench_engine(),
    )
    print_table(
        "2. explorers: slider change -> figure -> PNG (wall time per change)", bench_explorers()
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
