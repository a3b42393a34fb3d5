"""Lesson 05's exercise self-checks: they accept the right answer and reject wrong ones."""

import math

import pytest
import torch

from shortcut_lib import exercises
from shortcut_lib.training import input_signal, make_classifier_pair, make_spirals


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_decades_per_layer_is_the_slope_between_the_lessons_printed_ends():
    # Independent of the fit: the two ends of the range, 4 and 16 layers, give the
    # average slope; a least-squares line through 7 depths is within 0.05 of it.
    X, y = make_spirals(256, noise=0.04, seed=0, turns=1.5)
    ends = [input_signal(make_classifier_pair(d, 16, seed=0)[0], X, y)[1] for d in (4, 16)]
    average = math.log10(ends[0] / ends[1]) / 12
    assert exercises.lesson_05_decades_per_layer() == pytest.approx(average, abs=0.05)


def test_check_decades_per_layer_wants_a_positive_loss_in_log10(capsys):
    # Lesson 04's convention: decades *lost* per layer are positive.
    expected = exercises.lesson_05_decades_per_layer()
    exercises.check_05_decades_per_layer(round(expected, 2))
    assert capsys.readouterr().out.startswith("Right: about")
    with pytest.raises(AssertionError, match="that is the slope itself"):
        exercises.check_05_decades_per_layer(-round(expected, 2))
    for natural in (expected * math.log(10), -expected * math.log(10)):
        with pytest.raises(AssertionError, match=r"natural log \(np.log\), ln 10 = 2.30"):
            exercises.check_05_decades_per_layer(natural)
    for factor in (10**expected, 10**-expected):  # the factor per layer, not its log10
        with pytest.raises(AssertionError, match="that is the factor per layer"):
            exercises.check_05_decades_per_layer(round(factor, 3))
    with pytest.raises(AssertionError, match="fit a line to log10"):
        exercises.check_05_decades_per_layer(expected + 0.2)
    with pytest.raises(TypeError, match="decades must be a number"):
        exercises.check_05_decades_per_layer("0.5")


def by_hand(gradient, lr, eps):
    return -lr * gradient / (gradient.abs() + eps)


def test_check_adam_first_step_accepts_the_formula(capsys):
    exercises.check_05_adam_first_step(by_hand)
    assert "Right: your step matches torch.optim.Adam" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda g, lr, eps: -by_hand(g, lr, eps), "the sign"),
        (lambda g, lr, eps: -lr * g.sign(), "eps: it is added"),
        (lambda g, lr, eps: -lr * g / (g**2 + eps).sqrt(), "outside the square root"),
        (lambda g, lr, eps: -lr * g, r"m̂ = g and v̂ = g²"),
        (lambda g, lr, eps: by_hand(g, lr, eps)[:3], "one step per gradient entry"),
        (lambda g, lr: g, "raised TypeError"),
    ],
)
def test_check_adam_first_step_rejects_wrong_steps(wrong, hint):
    with pytest.raises(AssertionError, match=hint):
        exercises.check_05_adam_first_step(wrong)


def test_check_adam_first_step_needs_a_function():
    with pytest.raises(TypeError, match="expected your function adam_first_step"):
        exercises.check_05_adam_first_step(0.003)
