"""Lesson 05: the spiral data, the classifiers, the training loop and its figures."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from matplotlib.colors import to_hex
from torch import nn

from shortcut_lib.plots import COLORS, plot_decision_boundaries, plot_loss_curves
from shortcut_lib.training import (
    ADAM_EPS,
    TrainingHistory,
    classifier_layer_sizes,
    decision_grid,
    evaluate,
    input_signal,
    make_classifier_pair,
    make_spirals,
    train,
    train_depths,
)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """These networks are tiny: a second thread only adds hand-off cost (and on a busy
    machine, a lot of it). The thread count is restored for the other test modules."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def two_blobs(n: int = 40) -> tuple[torch.Tensor, torch.Tensor]:
    """An easy, linearly separable task: class 0 around (-1, 0), class 1 around (1, 0)."""
    generator = torch.Generator().manual_seed(7)
    y = (torch.arange(n) >= n // 2).float()
    X = 0.3 * torch.randn(n, 2, generator=generator)
    X[:, 0] += 2 * y - 1
    return X, y


# --- make_spirals ----------------------------------------------------------------------


def test_spirals_shapes_dtypes_and_balanced_classes():
    X, y = make_spirals(100, seed=3)
    assert X.shape == (100, 2) and y.shape == (100,)
    assert X.dtype == torch.float32 and y.dtype == torch.float32
    assert y[:50].eq(0).all() and y[50:].eq(1).all()


def test_spirals_without_noise_lie_on_the_two_arms():
    # Independent check of the formula: r = 0.1 + 0.9 t, angle = 2π·turns·t + kπ (mod 2π).
    turns = 1.25
    X, y = make_spirals(200, noise=0.0, seed=5, turns=turns)
    r = X.norm(dim=1)
    assert r.min() >= 0.1 - 1e-6 and r.max() <= 1.0 + 1e-6
    t = (r - 0.1) / 0.9
    expected = 2 * math.pi * turns * t + math.pi * y
    angle = torch.atan2(X[:, 1], X[:, 0])
    wrapped = torch.remainder(angle - expected + math.pi, 2 * math.pi) - math.pi
    assert wrapped.abs().max() < 1e-4


def test_spirals_noise_is_the_jitter_around_the_arms():
    clean, _ = make_spirals(2000, noise=0.0, seed=2)
    noisy, _ = make_spirals(2000, noise=0.1, seed=2)
    jitter = noisy - clean  # same generator stream: same t, then the noise
    assert jitter.std().item() == pytest.approx(0.1, rel=0.05)
    assert jitter.mean().abs().item() < 0.01


def test_spirals_are_seeded_and_leave_the_global_rng_alone():
    state = torch.get_rng_state()
    first = make_spirals(64, seed=11)
    second = make_spirals(64, seed=11)
    other = make_spirals(64, seed=12)
    assert torch.equal(torch.get_rng_state(), state)
    assert torch.equal(first[0], second[0]) and torch.equal(first[1], second[1])
    assert not torch.equal(first[0], other[0])


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"n_points": 7}, ValueError, "even"),
        ({"n_points": 0}, ValueError, "at least 2"),
        ({"n_points": 10.0}, TypeError, "n_points must be an integer"),
        ({"n_points": True}, TypeError, "n_points must be an integer"),
        ({"noise": -0.1}, ValueError, "noise must be a finite number >= 0"),
        ({"noise": float("nan")}, ValueError, "noise"),
        ({"turns": 0}, ValueError, "turns must be a finite number > 0"),
        ({"seed": -1}, ValueError, "seed"),
        ({"seed": "0"}, TypeError, "seed must be an integer"),
    ],
)
def test_spirals_bad_input(kwargs, error, message):
    with pytest.raises(error, match=message):
        make_spirals(**kwargs)


# --- classifiers -----------------------------------------------------------------------


def test_classifier_layer_sizes():
    assert classifier_layer_sizes(4, 16) == [2, 16, 16, 16, 1]
    assert classifier_layer_sizes(2, 3) == [2, 3, 1]
    with pytest.raises(ValueError, match="depth must be at least 2"):
        classifier_layer_sizes(1, 3)
    with pytest.raises(TypeError, match="width must be an integer"):
        classifier_layer_sizes(4, 2.5)


def test_classifier_pair_shares_weights_and_ends_in_a_linear_readout():
    plain, shortcut = make_classifier_pair(depth=5, width=6, seed=4)
    for (name, a), (_, b) in zip(
        plain.named_parameters(), shortcut.named_parameters(), strict=True
    ):
        assert torch.equal(a, b), name
    assert shortcut.shortcut_mask == [False, True, True, True, False]
    assert plain.shortcut_mask == [False] * 5
    for model in (plain, shortcut):
        assert isinstance(model.layers[-1][1], nn.Identity)
        assert all(type(layer[1]).__name__ == "GELU" for layer in model.layers[:-1])
    # The readout is linear: its output is the last hidden state times W plus b.
    X, _ = make_spirals(32, seed=0)
    hidden = X
    for layer in plain.layers[:-1]:
        hidden = layer(hidden)
    readout = plain.layers[-1][0]
    assert torch.allclose(plain(X), hidden @ readout.weight.T + readout.bias)


def test_classifier_pair_leaves_the_global_rng_alone():
    state = torch.get_rng_state()
    make_classifier_pair(depth=3, width=4, seed=9)
    assert torch.equal(torch.get_rng_state(), state)


# --- train and evaluate ------------------------------------------------------------------


def test_first_recorded_loss_is_the_hand_computed_cross_entropy():
    X, y = make_spirals(20, seed=1)
    plain, _ = make_classifier_pair(depth=3, width=5, seed=2)
    with torch.no_grad():
        p = torch.sigmoid(plain(X).squeeze(-1))
    by_hand = -(y * torch.log(p) + (1 - y) * torch.log(1 - p)).mean().item()
    accuracy_by_hand = ((p > 0.5).float() == y).float().mean().item()
    history = train(plain, X, y, steps=1, lr=1e-3)
    assert history.losses[0] == pytest.approx(by_hand, rel=1e-5)
    assert history.accuracies[0] == pytest.approx(accuracy_by_hand)


def test_one_sgd_step_on_logistic_regression_matches_the_formula():
    # For z = w·x + b: dL/dw = mean((σ(z) - y) x), dL/db = mean(σ(z) - y).
    X, y = two_blobs(10)
    model = nn.Linear(2, 1)
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[0.3, -0.2]]))
        model.bias.fill_(0.1)
        error = torch.sigmoid(X @ model.weight[0] + model.bias) - y
        expected_w = model.weight[0] - 0.5 * (error[:, None] * X).mean(0)
        expected_b = model.bias - 0.5 * error.mean()
    train(model, X, y, steps=1, lr=0.5, optimizer="sgd")
    assert torch.allclose(model.weight[0], expected_w, atol=1e-6)
    assert torch.allclose(model.bias, expected_b, atol=1e-6)


def test_one_adam_step_on_logistic_regression_matches_the_formula():
    # Adam's first step, with bias correction: m̂ = g and v̂ = g², so
    # Δw = -lr · g / (|g| + eps). A large eps makes the eps term visible in every digit.
    X, y = two_blobs(10)
    for eps in (ADAM_EPS, 0.05):
        model = nn.Linear(2, 1)
        with torch.no_grad():
            model.weight.copy_(torch.tensor([[0.3, -0.2]]))
            model.bias.fill_(0.1)
            error = torch.sigmoid(X @ model.weight[0] + model.bias) - y
            g_w, g_b = (error[:, None] * X).mean(0), error.mean()
            expected_w = model.weight[0] - 0.01 * g_w / (g_w.abs() + eps)
            expected_b = model.bias - 0.01 * g_b / (g_b.abs() + eps)
        train(model, X, y, steps=1, lr=0.01, eps=eps)
        assert torch.allclose(model.weight[0], expected_w, rtol=0, atol=1e-7), eps
        assert torch.allclose(model.bias, expected_b, rtol=0, atol=1e-7), eps


def test_adam_eps_is_torch_optim_adams_eps_over_many_steps():
    X, y = make_spirals(32, seed=2)
    for eps in (None, 1e-14, 1e-3):
        plain, _ = make_classifier_pair(depth=5, width=4, seed=1)
        reference, _ = make_classifier_pair(depth=5, width=4, seed=1)
        train(plain, X, y, steps=20, lr=1e-2, eps=eps)
        opt = torch.optim.Adam(reference.parameters(), lr=1e-2, eps=eps or 1e-8, foreach=False)
        for _ in range(20):
            opt.zero_grad()
            F.binary_cross_entropy_with_logits(reference(X).squeeze(-1), y).backward()
            opt.step()
        for a, b in zip(plain.parameters(), reference.parameters(), strict=True):
            assert torch.equal(a, b), eps


def test_a_tiny_eps_lets_adam_move_a_layer_whose_gradient_vanishes():
    # The first layer of a 16-layer plain net gets a gradient ~1e-11: with the default
    # eps its first Adam step is ~1e-3 · lr, with eps = 1e-14 about lr.
    X, y = make_spirals(64, seed=0)
    moved = {}
    for eps in (None, 1e-14):
        plain, _ = make_classifier_pair(depth=16, width=8, seed=0)
        before = plain.layers[0][0].weight.detach().clone()
        train(plain, X, y, steps=1, lr=1e-3, eps=eps)
        moved[eps] = (plain.layers[0][0].weight - before).abs().mean().item() / 1e-3
    assert moved[None] < 0.05 and moved[1e-14] > 0.5


def test_training_is_deterministic_and_leaves_the_global_rng_alone():
    X, y = make_spirals(64, seed=0)
    results = []
    state = torch.get_rng_state()
    for _ in range(2):
        _, model = make_classifier_pair(depth=4, width=8, seed=1)
        history = train(model, X, y, steps=15, lr=1e-2, batch_size=16, seed=3)
        results.append((history, [p.detach().clone() for p in model.parameters()]))
    assert torch.equal(torch.get_rng_state(), state)
    (h1, p1), (h2, p2) = results
    assert h1.losses == h2.losses and h1.accuracies == h2.accuracies
    assert all(torch.equal(a, b) for a, b in zip(p1, p2, strict=True))


def test_batch_order_depends_on_the_seed():
    X, y = make_spirals(64, seed=0)
    losses = []
    for seed in (0, 1):
        _, model = make_classifier_pair(depth=3, width=8, seed=1)
        losses.append(train(model, X, y, steps=4, lr=1e-2, batch_size=8, seed=seed).losses)
    assert losses[0] != losses[1]


def test_one_batch_of_everything_is_full_batch_training():
    X, y = make_spirals(32, seed=0)
    histories = []
    for batch_size in (None, 32):
        plain, _ = make_classifier_pair(depth=3, width=4, seed=0)
        histories.append(
            train(plain, X, y, steps=5, lr=0.1, optimizer="sgd", batch_size=batch_size)
        )
    # Same points, another order: equal up to float summation order.
    assert np.allclose(histories[0].losses, histories[1].losses, rtol=1e-5)


def test_training_reduces_the_loss_on_an_easy_task():
    X, y = two_blobs()
    _, model = make_classifier_pair(depth=3, width=4, seed=0)
    loss_before, _ = evaluate(model, X, y)
    history = train(model, X, y, steps=60, lr=0.05)
    loss_after, accuracy_after = evaluate(model, X, y)
    assert isinstance(history, TrainingHistory)
    assert len(history.losses) == len(history.accuracies) == 60
    assert history.losses[0] == pytest.approx(loss_before, rel=1e-5)
    assert loss_after < 0.1 * loss_before
    assert accuracy_after == 1.0


def test_evaluate_matches_torch():
    X, y = make_spirals(30, seed=4)
    plain, _ = make_classifier_pair(depth=3, width=4, seed=5)
    with torch.no_grad():
        logits = plain(X).squeeze(-1)
    loss, accuracy = evaluate(plain, X, y)
    assert loss == pytest.approx(F.binary_cross_entropy_with_logits(logits, y).item(), rel=1e-6)
    assert accuracy == pytest.approx(((logits > 0).float() == y).float().mean().item())


def test_train_depths_trains_fair_pairs_with_one_budget():
    X, y = two_blobs(20)
    runs = train_depths(X, y, depths=(2, 4), width=4, steps=3, lr=1e-2, eps=1e-6)
    assert set(runs) == {"plain", "shortcut"}
    for kind in runs:
        assert list(runs[kind]) == [2, 4]
        for run in runs[kind].values():
            assert len(run.history.losses) == 3
            assert (run.final_loss, run.final_accuracy) == evaluate(run.model, X, y)
    # Depth 2 has no layer where shapes match: plain and shortcut are the same network.
    assert runs["plain"][2].history.losses == runs["shortcut"][2].history.losses
    assert runs["plain"][4].history.losses[0] != runs["shortcut"][4].history.losses[0]


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        ({"model": "net"}, TypeError, "model must be a torch.nn.Module"),
        ({"X": [[0.0, 1.0]]}, TypeError, "torch.Tensor"),
        ({"y": torch.zeros(5)}, ValueError, r"y must have shape \(N,\) = \(8,\)"),
        ({"y": torch.full((8,), 2.0)}, ValueError, "labels 0 and 1"),
        ({"steps": 0}, ValueError, "steps must be at least 1"),
        ({"lr": -1.0}, ValueError, "lr must be a finite number > 0"),
        ({"lr": float("inf")}, ValueError, "lr"),
        ({"optimizer": "rmsprop"}, ValueError, "unknown optimizer 'rmsprop'; expected one of"),
        ({"batch_size": 9}, ValueError, "batch_size must be at most N = 8"),
        ({"batch_size": 0}, ValueError, "batch_size must be at least 1"),
        ({"model": nn.Linear(2, 2)}, ValueError, r"one logit per point, shape \(8, 1\)"),
        ({"eps": 0.0}, ValueError, "eps must be a finite number > 0"),
        ({"eps": "1e-8"}, TypeError, "eps must be a real number"),
        ({"optimizer": "sgd", "eps": 1e-8}, ValueError, "eps is Adam's; optimizer 'sgd'"),
    ],
)
def test_train_bad_input(change, error, message):
    X, y = make_spirals(8, seed=0)
    plain, _ = make_classifier_pair(depth=2, width=3)
    arguments = {"model": plain, "X": X, "y": y, "steps": 2, "lr": 1e-2, **change}
    with pytest.raises(error, match=message):
        train(**arguments)


# --- decision_grid -----------------------------------------------------------------------


def test_decision_grid_shapes_and_orientation():
    # P(class 1) = σ(4x): it must grow along the columns (x) and not along the rows (y).
    model = nn.Linear(2, 1)
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[4.0, 0.0]]))
        model.bias.zero_()
    xs, ys, probabilities = decision_grid(model, extent=2.0, resolution=5)
    assert xs.tolist() == ys.tolist() == [-2.0, -1.0, 0.0, 1.0, 2.0]
    assert probabilities.shape == (5, 5)
    expected_row = torch.sigmoid(4 * xs)
    assert torch.allclose(probabilities, expected_row.expand(5, 5))
    assert not model.weight.requires_grad or model.weight.grad is None


def test_decision_grid_bad_input():
    plain, _ = make_classifier_pair(depth=2, width=3)
    with pytest.raises(ValueError, match="resolution must be at least 2"):
        decision_grid(plain, resolution=1)
    with pytest.raises(ValueError, match="extent must be a finite number > 0"):
        decision_grid(plain, extent=0)
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        decision_grid(lambda x: x)


def test_decision_grid_and_training_follow_the_model_dtype():
    X, y = make_spirals(16, seed=0)
    plain, _ = make_classifier_pair(depth=3, width=4, seed=0)
    plain = plain.double()
    history = train(plain, X.double(), y.double(), steps=2, lr=1e-2)
    assert len(history.losses) == 2
    xs, ys, probabilities = decision_grid(plain, resolution=3)
    assert xs.dtype == ys.dtype == probabilities.dtype == torch.float64


# --- input_signal ------------------------------------------------------------------------


def test_input_signal_matches_a_direct_computation_and_touches_nothing():
    X, y = make_spirals(32, seed=0)
    _, shortcut = make_classifier_pair(depth=4, width=6, seed=3)
    before = [p.detach().clone() for p in shortcut.parameters()]
    spread, gradient = input_signal(shortcut, X, y)
    assert all(p.grad is None for p in shortcut.parameters())
    assert all(torch.equal(a, b) for a, b in zip(before, shortcut.parameters(), strict=True))
    logits = shortcut(X).squeeze(-1)
    F.binary_cross_entropy_with_logits(logits, y).backward()
    assert spread == pytest.approx(logits.std().item(), rel=1e-6)
    assert gradient == pytest.approx(shortcut.layers[0][0].weight.grad.abs().mean().item())


def test_input_signal_shows_the_deep_plain_net_ignoring_its_input():
    X, y = make_spirals(64, seed=0)
    plain, shortcut = make_classifier_pair(depth=16, width=16, seed=0)
    plain_spread, plain_gradient = input_signal(plain, X, y)
    shortcut_spread, shortcut_gradient = input_signal(shortcut, X, y)
    assert plain_spread < 1e-5 < 0.01 < shortcut_spread
    assert plain_gradient < 1e-6 * shortcut_gradient
    with pytest.raises(TypeError, match="must be an ExampleDeepNeuralNetwork"):
        input_signal(nn.Linear(2, 1), X, y)


# --- figures -----------------------------------------------------------------------------

LOSSES = {
    "plain": {4: [0.7, 0.3, 0.1], 16: [0.69, 0.69, 0.69]},
    "shortcut": {4: [0.7, 0.2, 0.05], 16: [0.7, 0.1, 0.01]},
}


def test_plot_loss_curves_draws_each_history_in_its_colour():
    figure = plot_loss_curves(LOSSES)
    assert len(figure.axes) == 2
    for ax, kind in zip(figure.axes, ("plain", "shortcut"), strict=True):
        assert ax.get_yscale() == "log"
        assert ax.get_xlabel() == "training step"
        curves = [line for line in ax.get_lines() if line.get_label() in ("4 layers", "16 layers")]
        assert [line.get_label() for line in curves] == ["4 layers", "16 layers"]
        for line, depth in zip(curves, (4, 16), strict=True):
            assert list(line.get_ydata()) == LOSSES[kind][depth]
            assert list(line.get_xdata()) == [1, 2, 3]
            assert to_hex(line.get_color()) == COLORS[kind].lower()
        assert curves[1].get_linestyle() == "-"  # the deepest net is solid
        chance = [line for line in ax.get_lines() if line not in curves]
        assert len(chance) == 1 and chance[0].get_ydata()[0] == pytest.approx(math.log(2))
    assert figure.axes[0].get_ylabel().startswith("training loss")


def test_plot_loss_curves_keeps_coinciding_curves_visible():
    # Two nets stuck at chance draw the same line; each must still show markers of its
    # own, at steps where the other has none.
    stuck = [math.log(2)] * 600
    figure = plot_loss_curves({"plain": {16: stuck, 32: stuck}, "shortcut": {16: stuck, 32: stuck}})
    for ax in figure.axes:
        a, b = (line for line in ax.get_lines() if line.get_label().endswith("layers"))
        assert a.get_marker() != b.get_marker()
        assert a.get_marker() not in ("None", "", None) and b.get_marker() not in ("None", "")
        marked = [
            set(range(600)[line.get_markevery()[0] :: line.get_markevery()[1]]) for line in (a, b)
        ]
        assert marked[0] and marked[1] and not marked[0] & marked[1]
        assert a.get_zorder() > b.get_zorder()  # the shallower one is drawn on top


def test_plot_loss_curves_without_chance_line_and_bad_input():
    figure = plot_loss_curves(LOSSES, chance_loss=None)
    assert len(figure.axes[0].get_lines()) == 2
    with pytest.raises(ValueError, match='keys "plain" and "shortcut"'):
        plot_loss_curves({"plain": LOSSES["plain"]})
    with pytest.raises(ValueError, match="same non-empty depths"):
        plot_loss_curves({"plain": {4: [1.0]}, "shortcut": {8: [1.0]}})
    with pytest.raises(ValueError, match="non-empty list of numbers"):
        plot_loss_curves({"plain": {4: []}, "shortcut": {4: [1.0]}})


def test_plot_decision_boundaries_grid_of_panels():
    X, y = make_spirals(40, seed=0)
    grids, accuracies = {}, {}
    for kind, model in zip(("plain", "shortcut"), make_classifier_pair(3, 4, seed=0), strict=True):
        grids[kind] = {depth: decision_grid(model, resolution=11) for depth in (2, 3, 5)}
        accuracies[kind] = {2: 0.5, 3: 0.75, 5: 1.0}
    # One panel certainly crosses 0.5 (a boundary line), one never does (no boundary).
    xs, ys, _ = grids["shortcut"][5]
    grids["shortcut"][5] = (xs, ys, torch.sigmoid(4 * xs).expand(11, 11))
    grids["plain"][2] = (xs, ys, torch.full((11, 11), 0.3))
    figure = plot_decision_boundaries(grids, X, y, accuracies=accuracies)
    axes = figure.axes
    assert len(axes) == 6
    assert [ax.get_title() for ax in axes[:3]] == ["2 layers", "3 layers", "5 layers"]
    assert [axes[0].get_ylabel(), axes[3].get_ylabel()] == ["plain", "with shortcuts"]
    texts = [t.get_text() for t in axes[5].texts]
    assert texts == ["accuracy 100%"]
    assert "no boundary: one class everywhere" in [t.get_text() for t in axes[0].texts]
    assert "no boundary: one class everywhere" not in texts
    assert len(axes[5].collections) > len(axes[0].collections)  # the boundary's contour
    # Two point clouds of 20 (one per class) in every panel.
    for ax in axes:
        offsets = [len(c.get_offsets()) for c in ax.collections if hasattr(c, "get_sizes")]
        assert sorted(offsets)[-2:] == [20, 20]
    with pytest.raises(ValueError, match=r"X must have shape \(N, 2\)"):
        plot_decision_boundaries(grids, X[:, :1], y)
    grids["plain"][2] = (xs, ys, torch.zeros(3, 3))
    with pytest.raises(ValueError, match="probabilities must have shape"):
        plot_decision_boundaries(grids, X, y)
