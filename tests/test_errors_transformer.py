"""Bad input to shortcut_lib.transformer: clear TypeErrors/ValueErrors, no silent results,
no change to torch's global state (findings 20-21, 45, 54-71 of the hostile-input sweep)."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest
import torch

from shortcut_lib.transformer import (
    TINY_CONFIG,
    FeedForward,
    LayerNorm,
    MultiHeadAttention,
    TinyGPT,
    TransformerBlock,
    TransformerStack,
    block_gradient_means,
    make_stacks,
    reversal_accuracy,
    reversal_task,
    stack_input,
    train_reversal,
)

DROP = {**TINY_CONFIG, "drop_rate": 0.1}


def gpt(vocab_size=9, cfg=TINY_CONFIG, n_layers=1):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return TinyGPT(cfg, vocab_size, n_layers)


def stack(cfg=TINY_CONFIG, variant="pre-LN"):
    return make_stacks(2, 0, cfg=cfg, variants=[variant])[variant]


def block():
    with torch.random.fork_rng(devices=[]):
        return TransformerBlock(TINY_CONFIG)


INP, TGT = reversal_task(4)
X, T = stack_input(0)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: train_reversal(TinyGPT, INP, TGT, steps=1), r"model.*class TinyGPT itself"),
        (lambda: reversal_accuracy(TinyGPT, INP, TGT), r"model.*class TinyGPT itself"),
        (lambda: block_gradient_means(TransformerStack, X, T), r"stack.*TransformerStack itself"),
        (lambda: reversal_accuracy("gpt", INP, TGT), r"model must be .*'gpt' \(str\)"),
        (lambda: train_reversal(torch.nn.Linear(2, 2), INP, TGT), r"model must be a TinyGPT.*Li"),
        (
            lambda: block_gradient_means(make_stacks(2, 0), X, T),
            r"stack must be one Tr.*dict with keys \['plain'",
        ),
        (lambda: block_gradient_means(block(), X, T), r"stack must be a Trans.*TransformerBlock"),
    ],
)
def test_a_model_of_the_wrong_kind_is_named(call, message):
    with pytest.raises(TypeError, match=message):
        call()


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: block().to("meta")(torch.zeros(1, 8, 16)), r"x is on device 'cpu'.*'meta'"),
        (lambda: block()(torch.zeros(1, 8, 16, device="meta")), r"x is on device 'meta'.*'cpu'"),
        (lambda: gpt().to("meta")(INP), r"idx is on device 'cpu'.*'meta'"),
        (lambda: block_gradient_means(stack().to("meta"), X, T), r"stack's parameter .*meta"),
        (lambda: block_gradient_means(stack(), X.to("meta"), T), r"x is on device 'meta'"),
        (lambda: block_gradient_means(stack(), X, T.to("meta")), r"target must be on x's dev"),
        (lambda: train_reversal(gpt().to("meta"), INP, TGT), r"model's parameter .*meta"),
    ],
)
def test_devices_that_do_not_match_are_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_training_and_measuring_work_inside_no_grad():
    model = gpt()
    with torch.no_grad():
        losses = train_reversal(model, INP, TGT, steps=2)
        means = block_gradient_means(stack(), X, T)
        assert not torch.is_grad_enabled()
    assert len(losses) == 2 and losses[1] < losses[0] and len(means) == 2


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: train_reversal(gpt(8), INP, TGT, steps=1), r"inputs holds the token id 8.*=8"),
        (lambda: reversal_accuracy(gpt(8), INP, TGT), r"inputs holds the token id 8.*size=9"),
        (lambda: gpt()(torch.full((1, 8), -1)), r"idx holds the token id -1.*0 to .* 8"),
        (lambda: gpt()(torch.full((1, 8), 9)), r"idx holds the token id 9.*vocab_size=9"),
        (lambda: train_reversal(gpt(), INP, TGT.masked_fill(TGT == 7, 9)), r"targets .*9.*-100"),
        (lambda: reversal_accuracy(gpt(), INP, TGT.masked_fill(TGT == 7, -3)), r"targets .*-3"),
        (lambda: train_reversal(gpt(), *reversal_task(4, length=5)), r"inputs has 10 tok.*=8"),
        (lambda: reversal_accuracy(gpt(), *reversal_task(4, length=5)), r"inputs has 10 tok.*=8"),
        (lambda: gpt()(torch.tensor([1, 2, 3])), r"idx must have shape \(batch, T\).*\(3,\)"),
        (lambda: gpt()(torch.zeros(1, 2, 3, dtype=torch.long)), r"idx must have shape.*\(1, 2, 3"),
        (lambda: train_reversal(gpt(), INP[:, :0], TGT[:, :0]), r"inputs is empty.*\(4, 0\)"),
        (lambda: train_reversal(gpt(), INP, TGT[:, :4]), r"targets must have .*\(4, 8\).*\(4, 4"),
        (lambda: reversal_accuracy(gpt(), INP, torch.full((4, 8), -100)), r"targets are all -100"),
    ],
)
def test_token_ids_and_targets_that_do_not_fit_the_model_are_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: gpt()(INP.float()), r"idx must hold integer token ids.*float32"),
        (lambda: gpt()(INP.tolist()), r"idx must be a torch.Tensor .*got list"),
        (lambda: train_reversal(gpt(), INP.tolist(), TGT), r"inputs must be a torch.Ten.*list"),
        (lambda: train_reversal(gpt(), INP, TGT.float()), r"targets must hold .*long.*float32"),
        (lambda: reversal_accuracy(gpt(), INP, TGT.tolist()), r"targets must be a torch.*list"),
    ],
)
def test_token_tensors_of_the_wrong_kind_are_named(call, message):
    with pytest.raises(TypeError, match=message):
        call()


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: block()(torch.zeros(8, 16)), ValueError, r"x must have shape \(batch, T, 16\)"),
        (lambda: block()(torch.zeros(1, 8, 15)), ValueError, r"x must .*16.*got shape \(1, 8, 15"),
        (lambda: block()(torch.zeros(1, 9, 16)), ValueError, r"x has 9 tokens.*context_length=8"),
        (lambda: block()(X), TypeError, r"x has dtype torch.float64 .*torch.float32"),
        (lambda: block()(X.long()), TypeError, r"x must be a floating-point .*torch.int64"),
        (lambda: block()(X.tolist()), TypeError, r"x must be a torch.Tensor .*got list"),
        (lambda: block()(torch.zeros(0, 8, 16)), ValueError, r"x is empty \(shape \(0, 8, 16\)\)"),
        (lambda: gpt()(INP[:0]), ValueError, r"idx is empty \(shape \(0, 8\)\)"),
        (lambda: block_gradient_means(stack(), X[0], T[0]), ValueError, r"x must .*\(8, 16\)"),
        (lambda: block_gradient_means(stack(), X[..., :15], T), ValueError, r"x must.*\(2, 8, 15"),
        (lambda: block_gradient_means(stack(), X.float(), T), TypeError, r"x has dtype .*float32"),
        (lambda: block_gradient_means(stack(), X, T.float()), TypeError, r"target must .*float32"),
        (lambda: block_gradient_means(stack(), X, None), TypeError, r"target must be .*NoneType"),
        (lambda: LayerNorm(16)(torch.zeros(3, 1)), ValueError, r"x must have shape \(\*, 16\)"),
        (lambda: FeedForward(TINY_CONFIG)(torch.zeros(2, 15)), ValueError, r"x must .*\(2, 15\)"),
        (
            lambda: MultiHeadAttention(16, 16, 8, 0.0, 2)(torch.zeros(8, 16)),
            ValueError,
            r"x must have shape \(batch, T, 16\).*unsqueeze",
        ),
    ],
)
def test_a_stream_of_the_wrong_shape_or_dtype_is_named(call, error, message):
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize(
    "x, target, message",
    [
        (X * float("nan"), T, r"x must be finite, but 256 of its 256"),
        (X, T.clone().fill_(float("nan")), r"target must be finite"),
        (X[:0], T[:0], r"x is empty \(shape \(0, 8, 16\)\)"),
    ],
)
def test_block_gradient_means_rejects_nan_and_empty_input_before_blaming_depth(x, target, message):
    with pytest.raises(ValueError, match=message):
        block_gradient_means(stack(), x, target)


def state():
    return torch.get_rng_state(), torch.is_grad_enabled(), torch.get_default_dtype()


def assert_same_state(before):
    rng, grad, dtype = state()
    assert torch.equal(rng, before[0]) and grad == before[1] and dtype == before[2]


@pytest.mark.parametrize(
    "call",
    [
        lambda: block_gradient_means(make_stacks(1, 0, cfg=DROP)["plain"], *stack_input(0)),
        lambda: train_reversal(gpt(cfg=DROP), INP, TGT, steps=1),
        lambda: reversal_accuracy(gpt(cfg=DROP).train(), INP, TGT),
    ],
)
def test_dropout_leaves_the_global_random_state_alone(call):
    torch.manual_seed(3)
    before = state()
    call()
    assert_same_state(before)


def test_accuracy_is_measured_without_dropout_and_modes_are_restored():
    model = gpt(cfg={**TINY_CONFIG, "drop_rate": 0.9}).train()
    model.stack.trf_blocks[0].eval()  # a mixed set of modes comes back as it was
    modes = [m.training for m in model.modules()]
    first = reversal_accuracy(model, INP, TGT)
    assert [m.training for m in model.modules()] == modes
    assert reversal_accuracy(model, INP, TGT) == first == reversal_accuracy(model.eval(), INP, TGT)
    model.train()
    model.stack.trf_blocks[0].eval()
    train_reversal(model, INP, TGT, steps=1)
    assert [m.training for m in model.modules()] == modes


def test_a_diverging_run_warns_as_train_does():
    with pytest.warns(RuntimeWarning, match=r"train_reversal diverged: .*lr=1000000.0 .*smaller"):
        losses = train_reversal(gpt(), INP, TGT, steps=5, lr=1e6)
    assert len(losses) == 5
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        train_reversal(gpt(), INP, TGT, steps=5, lr=1e-2)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"lr": 0}, ValueError, r"lr must be a finite number > 0, got 0.0"),
        ({"lr": -1}, ValueError, r"lr must be a finite number > 0, got -1.0"),
        ({"lr": True}, TypeError, r"lr must be a real number, got True"),
        ({"steps": 0}, ValueError, r"steps must be at least 1, got 0"),
        ({"steps": 2.0}, TypeError, r"steps must be an integer, got 2.0 \(float\)"),
        # A 24-layer model takes 0.03 s a step: steps=100_000 would run for about an hour.
        ({"steps": 100_000}, ValueError, r"^steps must be at most MAX_STEPS = 10,000 .*100,000"),
    ],
)
def test_train_reversal_rejects_bad_steps_and_learning_rates(kwargs, error, message):
    with pytest.raises(error, match=message):
        train_reversal(gpt(), INP, TGT, **kwargs)


def test_numpy_numbers_are_accepted():
    losses = train_reversal(gpt(), INP, TGT, steps=np.int64(2), lr=np.float32(1e-2))
    assert len(losses) == 2


@pytest.mark.parametrize(
    "variants, error, message",
    [
        ("pre-LN", TypeError, r"variants must be a list .*'pre-LN'.*variants=\['pre-LN'\]"),
        ([], ValueError, r"variants is empty"),
        (None, TypeError, r"variants must be a list .*None"),
        (["plain", "plain"], ValueError, r"variants names 'plain' twice"),
        (["pre_LN"], ValueError, r"unknown variant 'pre_LN'"),
    ],
)
def test_make_stacks_wants_a_list_of_variant_names(variants, error, message):
    with pytest.raises(error, match=message):
        make_stacks(2, 0, variants=variants)


@pytest.mark.parametrize("dtype", [torch.int64, "float32", np.float32])
@pytest.mark.parametrize(
    "make", [stack_input, lambda seed, dtype: make_stacks(1, seed, dtype=dtype)]
)
def test_dtype_must_be_a_floating_point_torch_dtype(make, dtype):
    with pytest.raises(TypeError, match=r"dtype must be a floating-point torch.dtype.*got"):
        make(0, dtype=dtype)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: TransformerBlock({**TINY_CONFIG, "emb_dim": 10**7}), r"emb_dim=10,000,000"),
        (lambda: TransformerBlock({**TINY_CONFIG, "context_length": 10**7}), r"context_length="),
        (lambda: MultiHeadAttention(16, 16, 10**7, 0.0, 2), r"context_length=10,000,000"),
        (lambda: TinyGPT(TINY_CONFIG, 10**11, 1), r"vocab_size=100,000,000,000"),
        (lambda: TransformerStack(TINY_CONFIG, 10**9), r"1,000,000,000 transformer block"),
        (lambda: make_stacks(10**8, 0), r"4 stack\(s\) of 100,000,000 blocks"),
        (lambda: stack_input(0, batch=10**9), r"batch=1,000,000,000"),
        (lambda: reversal_task(10**7, length=10**7), r"n_sequences=10,000,000"),
    ],
)
def test_sizes_that_cannot_fit_fail_at_once_with_an_estimate(call, message):
    with pytest.raises(ValueError, match=message + r".*GB of memory"):
        call()


@pytest.mark.parametrize(
    "cfg, error, message",
    [
        ({"emb_dim": 16}, ValueError, r"cfg lacks the key\(s\) \['context_length', 'n_heads'"),
        ({**TINY_CONFIG, "emb_dim": 16.0}, TypeError, r"cfg\['emb_dim'\] must be .*16.0"),
        ({**TINY_CONFIG, "n_heads": 3}, ValueError, r"cfg\['emb_dim'\] \(16\) .*\['n_heads'\] \(3"),
        ({**TINY_CONFIG, "drop_rate": 1.5}, ValueError, r"cfg\['drop_rate'\] must be .*1.5"),
        ({**TINY_CONFIG, "qkv_bias": 1}, TypeError, r"cfg\['qkv_bias'\] must be True or False"),
        ([16, 8], TypeError, r"cfg must be a dict such as TINY_CONFIG, got list"),
    ],
)
def test_a_bad_config_names_its_key(cfg, error, message):
    for build in (TransformerBlock, lambda c: TinyGPT(c, 9, 1), lambda c: stack_input(0, c)):
        with pytest.raises(error, match=message):
            build(cfg)


def test_a_frozen_or_broken_stack_is_named():
    frozen = stack()
    frozen.trf_blocks[1].ff.requires_grad_(False)
    with pytest.raises(ValueError, match=r"trf_blocks.1.ff.layers.0.weight has requires_grad="):
        block_gradient_means(frozen, X, T)
    broken = copy.deepcopy(stack())
    with torch.no_grad():
        broken.trf_blocks[0].att.W_key.weight.fill_(float("nan"))
    with pytest.raises(ValueError, match=r"stack's parameter trf_blocks.0.att.W_key.weight must"):
        block_gradient_means(broken, X, T)


# --- second sweep: inference mode, 16-bit stacks, LayerNorm's eps, an overflowing output ---------


def test_measuring_and_training_work_inside_inference_mode():
    expected_means = block_gradient_means(stack(), X, T)
    expected_losses = train_reversal(gpt(), INP, TGT, steps=2)
    model, measured = gpt(), stack()
    with torch.inference_mode():
        x, target = stack_input(0)  # inference tensors, as a notebook makes them there
        inputs, targets = reversal_task(4)
        before = state()
        assert block_gradient_means(measured, x, target) == expected_means
        assert train_reversal(model, inputs, targets, steps=2) == expected_losses
        assert_same_state(before)
        assert torch.is_inference_mode_enabled()


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: block_gradient_means(stack(), X, T), r"^stack's parameter trf_blocks\.0\.att"),
        (lambda: train_reversal(gpt(), INP, TGT, steps=1), r"^model's parameter tok_emb\.weight"),
    ],
)
def test_a_model_built_inside_inference_mode_is_named(build, message):
    with torch.inference_mode(), pytest.raises(ValueError, match=message + r".*inference_mode"):
        build()


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_a_16_bit_stack_is_refused_as_the_population_functions_refuse_it(dtype):
    sixteen = make_stacks(3, 0, variants=["plain"], dtype=dtype)["plain"]
    pattern = rf"stack's dtype={dtype} is too coarse to measure gradients: .*use float64"
    with pytest.raises(ValueError, match=pattern):
        block_gradient_means(sixteen, *stack_input(0, dtype=dtype))


@pytest.mark.parametrize("eps", [-1, 0, 0.0, float("inf"), float("nan")])
def test_layer_norm_eps_must_be_a_finite_number_above_zero(eps):
    with pytest.raises(ValueError, match=rf"eps must be (finite|a finite number > 0), got {eps}"):
        LayerNorm(3, eps=eps)


def test_layer_norm_accepts_a_small_or_numpy_eps():
    out = LayerNorm(3, eps=np.float32(1e-12))(torch.tensor([[1.0, 1.0, 1.0]]))
    assert torch.equal(out, torch.zeros(1, 3))


def test_an_output_that_overflows_is_reported_not_measured():
    single = make_stacks(1, 0, variants=["plain"], dtype=torch.float32)["plain"]
    huge = torch.full((1, 2, 16), 1e30)
    pattern = r"^the stack's output came out NaN or infinite \(32 of 32 .*smaller scale"
    with pytest.raises(ValueError, match=pattern):
        block_gradient_means(single, huge, torch.zeros_like(huge))
