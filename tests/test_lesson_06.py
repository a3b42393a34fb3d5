"""Lesson 06: the transformer block against torch.nn's, its wiring by hand, the measurement."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from shortcut_lib import exercises
from shortcut_lib.comparison import vanishing_ratio
from shortcut_lib.transformer import (
    TINY_CONFIG,
    VARIANTS,
    LayerNorm,
    MultiHeadAttention,
    TinyGPT,
    TransformerBlock,
    TransformerStack,
    block_gradient_means,
    make_stacks,
    reversal_task,
    stack_input,
)

E, T = TINY_CONFIG["emb_dim"], TINY_CONFIG["context_length"]


def tanh_gelu(x: torch.Tensor) -> torch.Tensor:
    return F.gelu(x, approximate="tanh")


def torch_layer_like(block: TransformerBlock) -> nn.TransformerEncoderLayer:
    """torch's pre-LN encoder layer with the block's weights copied in (float64, no dropout)."""
    layer = nn.TransformerEncoderLayer(
        E, TINY_CONFIG["n_heads"], dim_feedforward=4 * E, dropout=0.0,
        activation=tanh_gelu, batch_first=True, norm_first=True, dtype=torch.float64,
    )  # fmt: skip
    att = block.att
    with torch.no_grad():
        layer.self_attn.in_proj_weight.copy_(
            torch.cat([att.W_query.weight, att.W_key.weight, att.W_value.weight])
        )
        layer.self_attn.in_proj_bias.zero_()  # the book's qkv_bias=False
        layer.self_attn.out_proj.weight.copy_(att.out_proj.weight)
        layer.self_attn.out_proj.bias.copy_(att.out_proj.bias)
        layer.linear1.weight.copy_(block.ff.layers[0].weight)
        layer.linear1.bias.copy_(block.ff.layers[0].bias)
        layer.linear2.weight.copy_(block.ff.layers[2].weight)
        layer.linear2.bias.copy_(block.ff.layers[2].bias)
        for ours, theirs in ((block.norm1, layer.norm1), (block.norm2, layer.norm2)):
            theirs.weight.copy_(ours.scale)
            theirs.bias.copy_(ours.shift)
    return layer


def random_block(variant: str = "pre-LN", seed: int = 0) -> TransformerBlock:
    torch.manual_seed(seed)
    block = TransformerBlock(TINY_CONFIG, variant).double()
    with torch.no_grad():  # LayerNorm's 1 and 0 would hide a swapped scale and shift
        for norm in (block.norm1, block.norm2):
            norm.scale.uniform_(0.5, 1.5)
            norm.shift.uniform_(-0.5, 0.5)
    return block


CAUSAL = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)


def test_block_matches_torch_encoder_layer_output_and_gradients():
    block = random_block()
    layer = torch_layer_like(block)
    x = torch.randn(3, T, E, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    x1, x2 = x.clone().requires_grad_(), x.clone().requires_grad_()
    ours = block(x1)
    theirs = layer(x2, src_mask=CAUSAL, is_causal=True)
    assert torch.allclose(ours, theirs, atol=1e-6, rtol=0)
    weights = torch.randn_like(ours)
    (ours * weights).sum().backward()
    (theirs * weights).sum().backward()
    assert torch.allclose(x1.grad, x2.grad, atol=1e-6, rtol=0)
    in_proj = torch.cat([block.att.W_query.weight.grad, block.att.W_key.weight.grad,
                         block.att.W_value.weight.grad])  # fmt: skip
    pairs = [
        (in_proj, layer.self_attn.in_proj_weight.grad),
        (block.att.out_proj.weight.grad, layer.self_attn.out_proj.weight.grad),
        (block.ff.layers[0].weight.grad, layer.linear1.weight.grad),
        (block.ff.layers[2].weight.grad, layer.linear2.weight.grad),
        (block.norm1.scale.grad, layer.norm1.weight.grad),
        (block.norm2.shift.grad, layer.norm2.bias.grad),
    ]
    for a, b in pairs:
        assert torch.allclose(a, b, atol=1e-6, rtol=0)


def test_attention_is_causal_and_matches_sdpa():
    torch.manual_seed(0)
    att = MultiHeadAttention(E, E, T, dropout=0.0, num_heads=2).double()
    x = torch.randn(2, T, E, dtype=torch.float64)
    b, h, d = 2, 2, E // 2

    def heads(t):
        return t.view(b, T, h, d).transpose(1, 2)

    q, k, v = heads(att.W_query(x)), heads(att.W_key(x)), heads(att.W_value(x))
    context = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    expected = att.out_proj(context.transpose(1, 2).reshape(b, T, E))
    assert torch.allclose(att(x), expected, atol=1e-12)
    # The future does not leak: changing the last token leaves the earlier outputs alone.
    changed = x.clone()
    changed[:, -1] += 1.0
    assert torch.equal(att(changed)[:, :-1], att(x)[:, :-1])


def test_layer_norm_is_torchs():
    norm = LayerNorm(E).double()
    with torch.no_grad():
        norm.scale.uniform_(0.5, 1.5)
        norm.shift.uniform_(-1, 1)
    x = torch.randn(4, E, dtype=torch.float64) * 30 + 100
    expected = F.layer_norm(x, (E,), norm.scale, norm.shift, eps=1e-5)
    assert torch.allclose(norm(x), expected, atol=1e-10)


class Zero(nn.Module):
    def forward(self, x):
        return torch.zeros_like(x)


def ln(x):  # LayerNorm with scale 1 and shift 0, as the blocks start
    return F.layer_norm(x, (E,), eps=1e-5)


@pytest.mark.parametrize(
    "variant, sublayer, by_hand",
    [
        ("pre-LN", Zero, lambda x: x),  # x + 0 + 0: the stream passes untouched
        ("post-LN", Zero, lambda x: ln(ln(x))),
        ("plain", Zero, lambda x: torch.zeros_like(x)),  # no shortcut: nothing passes
        ("pre-LN", nn.Identity, lambda x: (x + ln(x)) + ln(x + ln(x))),
        ("post-LN", nn.Identity, lambda x: ln(2 * ln(2 * x))),
        ("plain", nn.Identity, lambda x: ln(ln(x))),
    ],
)
def test_wiring_with_known_sublayers(variant, sublayer, by_hand):
    block = TransformerBlock(TINY_CONFIG, variant).double()
    block.att, block.ff = sublayer(), sublayer()
    x = torch.randn(2, T, E, dtype=torch.float64) * 3 + 1
    assert torch.allclose(block(x), by_hand(x), atol=1e-12)


def test_final_norm_only_in_its_variant():
    stacks = make_stacks(2, seed=0)
    assert isinstance(stacks["pre-LN + final LN"].final_norm, LayerNorm)
    for variant in ("plain", "post-LN", "pre-LN"):
        assert isinstance(stacks[variant].final_norm, nn.Identity)
    x = torch.randn(1, T, E, dtype=torch.float64)
    with torch.no_grad():
        assert torch.allclose(stacks["pre-LN + final LN"](x), ln(stacks["pre-LN"](x)), atol=1e-12)


def test_make_stacks_same_weights_and_leaves_global_rng_alone():
    state = torch.random.get_rng_state()
    stacks = make_stacks(3, seed=7)
    assert torch.equal(torch.random.get_rng_state(), state)
    reference = stacks["plain"].trf_blocks.state_dict()
    for stack in stacks.values():
        for name, tensor in stack.trf_blocks.state_dict().items():
            assert torch.equal(tensor, reference[name]), name
    assert not torch.equal(
        make_stacks(3, seed=8)["plain"].trf_blocks[0].att.W_key.weight,
        stacks["plain"].trf_blocks[0].att.W_key.weight,
    )


def test_block_gradient_means_matches_autograd_on_torch_layers():
    stack = make_stacks(4, seed=3, variants=("pre-LN",))["pre-LN"]
    x, target = stack_input(3)
    means = block_gradient_means(stack, x, target)
    layers = [torch_layer_like(block) for block in stack.trf_blocks]
    h = x
    for layer in layers:
        h = layer(h, src_mask=CAUSAL, is_causal=True)
    F.mse_loss(h, target).backward()
    for i, layer in enumerate(layers):
        grads = [layer.self_attn.in_proj_weight.grad, layer.self_attn.out_proj.weight.grad,
                 layer.linear1.weight.grad, layer.linear2.weight.grad]  # fmt: skip
        expected = torch.cat([g.flatten() for g in grads]).abs().mean().item()
        assert means[f"block {i}"] == pytest.approx(expected, rel=1e-9)
    assert list(means) == [f"block {i}" for i in range(4)]


def test_measurement_shows_plain_vanishing_and_pre_ln_not():
    stacks = make_stacks(12, seed=0, variants=("plain", "pre-LN"))
    x, target = stack_input(0)
    plain = vanishing_ratio(block_gradient_means(stacks["plain"], x, target))
    pre = vanishing_ratio(block_gradient_means(stacks["pre-LN"], x, target))
    assert plain < 0.3 < 0.5 < pre


def test_drop_shortcut_drops_the_branch_not_the_stream():
    cfg = dict(TINY_CONFIG, drop_rate=0.5)
    torch.manual_seed(0)
    block = TransformerBlock(cfg, "pre-LN").double()
    block.att.dropout.p = 0.0
    block.drop_shortcut.p = 1.0  # every branch element dropped: only the stream is left
    x = torch.randn(2, T, E, dtype=torch.float64)
    block.train()
    assert torch.equal(block(x), x)
    block.eval()  # dropout off: the branches are back
    assert not torch.allclose(block(x), x)
    assert torch.equal(block(x), block(x))


def test_reversal_task_and_tiny_gpt_shapes():
    inputs, targets = reversal_task(5, n_symbols=8, length=4, seed=0)
    assert inputs.shape == targets.shape == (5, 8)
    assert (inputs[:, 4] == 8).all()  # the separator
    assert torch.equal(targets[:, 4:], inputs[:, :4].flip(1))
    assert (targets[:, :4] == -100).all()
    model = TinyGPT(TINY_CONFIG, vocab_size=9, n_layers=2)
    assert model(inputs).shape == (5, 8, 9)


def test_bad_arguments_name_themselves():
    with pytest.raises(ValueError, match="variant"):
        TransformerBlock(TINY_CONFIG, "pre-ln")
    with pytest.raises(ValueError, match="divisible"):
        TransformerBlock(dict(TINY_CONFIG, n_heads=3))
    with pytest.raises(TypeError, match="cfg"):
        TransformerStack([16], 2)
    with pytest.raises(ValueError, match="context_length"):
        MultiHeadAttention(E, E, 4, 0.0, 2)(torch.zeros(1, 5, E))
    with pytest.raises(ValueError, match="target"):
        stack = make_stacks(1, 0, variants=("plain",))["plain"]
        block_gradient_means(stack, torch.zeros(1, T, E, dtype=torch.float64), torch.zeros(3))


def test_explorer_redraws_what_the_measurement_gives():
    from shortcut_lib.widgets import transformer_explorer

    explorer = transformer_explorer(depth=3, variant="plain", seed=1)
    stack = make_stacks(3, 1, variants=("plain",))["plain"]
    expected = list(block_gradient_means(stack, *stack_input(1)).values())
    assert explorer.data["means"] == pytest.approx(expected, rel=1e-12)
    def shown(explorer):
        return [bar.get_height() for bar in explorer.figure.axes[0].patches if bar.get_visible()]

    assert shown(explorer) == pytest.approx(expected, rel=1e-12)
    png = explorer.png
    explorer.controls["variant"].value = "pre-LN"
    assert explorer.png != png and len(shown(explorer)) == 3
    explorer.controls["depth"].value = 5
    assert len(explorer.data["means"]) == 5 and shown(explorer) == explorer.data["means"]
    with pytest.raises(ValueError, match="variant"):
        transformer_explorer(variant="post-ln")


def test_explorer_lowers_its_axis_when_a_bar_would_fall_below():
    from shortcut_lib.widgets import transformer_explorer

    explorer = transformer_explorer(depth=48, variant="plain", seed=10)  # smallest bar 1.4e-8
    low, high = explorer.figure.axes[0].get_ylim()
    assert low <= min(explorer.data["means"]) / 2 and high == 1.0
    explorer.controls["variant"].value = "pre-LN"  # larger bars: the axes stay as they were
    assert explorer.figure.axes[0].get_ylim() == (low, high)


def test_check_06_block_parameters():
    block = TransformerBlock(TINY_CONFIG)
    exercises.check_06_block_parameters(sum(p.numel() for p in block.parameters()))
    with pytest.raises(AssertionError, match="no bias"):
        exercises.check_06_block_parameters(3232 + 48)
    with pytest.raises(AssertionError, match="expected 3232"):
        exercises.check_06_block_parameters(3000)


def test_check_06_post_ln_ratio():
    expected = exercises.lesson_06_post_ln_ratio()
    exercises.check_06_post_ln_ratio(round(expected, 3))
    with pytest.raises(AssertionError, match="first block over the last"):
        exercises.check_06_post_ln_ratio(1 / expected)
    with pytest.raises(AssertionError):
        exercises.check_06_post_ln_ratio(expected * 2)
    assert set(VARIANTS) == {"plain", "post-LN", "pre-LN", "pre-LN + final LN"}


def test_plot_block_gradients_legend_per_panel_and_lines_when_deep():
    from shortcut_lib.plots.transformer import MAX_BAR_BLOCKS, VARIANT_COLORS, plot_block_gradients

    few = {v: [1e-3 * (i + 1) for i in range(3)] for v in VARIANTS}
    many = {v: [1e-3] * (MAX_BAR_BLOCKS + 1) for v in VARIANTS}
    figure = plot_block_gradients({"3 blocks": few, "deep": many})
    shallow, deep = figure.axes
    assert len(shallow.patches) == 3 * len(VARIANTS) and not shallow.lines
    assert not deep.patches and len(deep.lines) == len(VARIANTS)
    for ax in figure.axes:
        assert [t.get_text() for t in ax.get_legend().get_texts()] == list(VARIANTS)
    assert len(set(VARIANT_COLORS.values())) == len(VARIANTS)
