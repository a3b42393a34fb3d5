r"""The shortcut where it lives: the GPT transformer block, at toy size (lesson 06).

The book's chapter-4 block, with its parameter names and order of operations::

    x = x + drop_shortcut(att(norm1(x)))   # causal multi-head self-attention
    x = x + drop_shortcut(ff(norm2(x)))    # Linear -> GELU -> Linear

plus three variants of the same block for the comparison of lesson 06 (:data:`VARIANTS`):
no shortcuts at all, post-LN (the 2017 transformer, ``x = norm(x + f(x))``) and pre-LN with
a final LayerNorm after the last block (GPT-2 and the book's ``GPTModel``). Every variant
has the same parameters, so stacks of all four can start from the same weights
(:func:`make_stacks`). :func:`block_gradient_means` is lesson 03's measurement per block.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
from torch import nn

from .activations import GELU
from .validation import check_bool, check_choice, check_positive_int, check_real, check_seed

__all__ = [
    "VARIANTS",
    "TINY_CONFIG",
    "LayerNorm",
    "FeedForward",
    "MultiHeadAttention",
    "TransformerBlock",
    "TransformerStack",
    "TinyGPT",
    "make_stacks",
    "block_gradient_means",
    "stack_input",
    "reversal_task",
    "train_reversal",
    "reversal_accuracy",
]

#: The four ways of wiring the block: name -> (shortcuts, where the LayerNorms sit, final LN).
VARIANTS: dict[str, tuple[bool, str, bool]] = {
    "plain": (False, "pre", False),
    "post-LN": (True, "post", False),
    "pre-LN": (True, "pre", False),
    "pre-LN + final LN": (True, "pre", True),
}

#: The lesson's toy configuration, in the book's ``GPT_CONFIG_124M`` keys (that one has
#: emb_dim 768, n_heads 12, context_length 1024, n_layers 12).
TINY_CONFIG: dict[str, object] = {
    "emb_dim": 16,
    "context_length": 8,
    "n_heads": 2,
    "drop_rate": 0.0,
    "qkv_bias": False,
}


def _check_variant(variant: object) -> str:
    check_choice("variant", variant, VARIANTS)
    return variant  # type: ignore[return-value]


def _check_config(cfg: object) -> dict[str, object]:
    if not isinstance(cfg, Mapping):
        raise TypeError(f"cfg must be a dict like TINY_CONFIG, got {type(cfg).__name__}")
    missing = [key for key in TINY_CONFIG if key not in cfg]
    if missing:
        raise ValueError(f"cfg lacks {missing}; expected the keys of TINY_CONFIG")
    emb_dim = check_positive_int(cfg["emb_dim"], "cfg['emb_dim']")
    n_heads = check_positive_int(cfg["n_heads"], "cfg['n_heads']")
    check_positive_int(cfg["context_length"], "cfg['context_length']")
    if emb_dim % n_heads:
        raise ValueError(
            f"cfg['emb_dim'] ({emb_dim}) must be divisible by cfg['n_heads'] ({n_heads})"
        )
    check_real(cfg["drop_rate"], "cfg['drop_rate']", minimum=0.0, maximum=1.0)
    check_bool(cfg["qkv_bias"], "cfg['qkv_bias']")
    return dict(cfg)


class LayerNorm(nn.Module):
    r"""The book's LayerNorm: each token's features to mean 0, variance 1, then scale and shift.

    .. math:: \mathrm{LN}(x) = \text{scale} \odot \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}}
              + \text{shift}

    with :math:`\mu, \sigma^2` the mean and the biased variance over the last dimension
    (lesson 04's LayerNorm, with the learnable ``scale`` and ``shift`` that start at 1 and 0).
    Equals ``nn.LayerNorm(emb_dim)`` with ``weight = scale``, ``bias = shift``.

    Shape:
        - Input: :math:`(*, \text{emb\_dim})`. Output: the same.

    Example::

        >>> LayerNorm(3)(torch.tensor([[1.0, 2.0, 3.0]]))
        tensor([[-1.2247,  0.0000,  1.2247]], grad_fn=<AddBackward0>)
    """

    def __init__(self, emb_dim: int, eps: float = 1e-5) -> None:
        super().__init__()
        emb_dim = check_positive_int(emb_dim, "emb_dim")
        self.eps = check_real(eps, "eps")
        self.scale = nn.Parameter(torch.ones(emb_dim))
        self.shift = nn.Parameter(torch.zeros(emb_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(dim=-1, keepdim=True)
        var = x.var(dim=-1, keepdim=True, unbiased=False)  # biased, as nn.LayerNorm
        return self.scale * (x - mean) / torch.sqrt(var + self.eps) + self.shift


class FeedForward(nn.Module):
    r"""Linear(emb, 4·emb) → GELU (lesson 01's tanh approximation) → Linear(4·emb, emb).

    Example::

        >>> FeedForward(TINY_CONFIG)
        FeedForward(
          (layers): Sequential(
            (0): Linear(in_features=16, out_features=64, bias=True)
            (1): GELU()
            (2): Linear(in_features=64, out_features=16, bias=True)
          )
        )
    """

    def __init__(self, cfg: Mapping[str, object]) -> None:
        super().__init__()
        emb_dim = _check_config(cfg)["emb_dim"]
        self.layers = nn.Sequential(
            nn.Linear(emb_dim, 4 * emb_dim), GELU(), nn.Linear(4 * emb_dim, emb_dim)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)  # (b, t, emb) -> (b, t, 4 emb) -> (b, t, emb)


class MultiHeadAttention(nn.Module):
    r"""Causal multi-head self-attention, written out as in the book.

    Token :math:`t` attends to tokens :math:`0..t` only (the mask hides the future):

    .. math:: \mathrm{head}_h = \mathrm{softmax}\Bigl(\frac{Q_h K_h^\top}{\sqrt{d_h}}
              + M\Bigr) V_h, \qquad M_{ts} = -\infty \text{ for } s > t

    and ``out_proj`` mixes the concatenated heads.

    Args:
        d_in, d_out: features in and out (``d_out`` divisible by ``num_heads``).
        context_length: the longest sequence (size of the causal mask).
        dropout: dropout on the attention weights.
        num_heads: number of heads, each ``d_out // num_heads`` wide.
        qkv_bias: whether ``W_query``, ``W_key``, ``W_value`` have a bias (the book: no).

    Shape:
        - Input: :math:`(B, T, d_\text{in})` with :math:`T \le` ``context_length``.
        - Output: :math:`(B, T, d_\text{out})`.
    """

    def __init__(
        self,
        d_in: int,
        d_out: int,
        context_length: int,
        dropout: float,
        num_heads: int,
        qkv_bias: bool = False,
    ) -> None:
        super().__init__()
        d_in = check_positive_int(d_in, "d_in")
        d_out = check_positive_int(d_out, "d_out")
        num_heads = check_positive_int(num_heads, "num_heads")
        if d_out % num_heads:
            raise ValueError(f"d_out ({d_out}) must be divisible by num_heads ({num_heads})")
        self.d_out, self.num_heads, self.head_dim = d_out, num_heads, d_out // num_heads
        self.W_query = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.W_key = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.W_value = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.out_proj = nn.Linear(d_out, d_out)
        self.dropout = nn.Dropout(dropout)
        mask = torch.triu(torch.ones(context_length, context_length, dtype=torch.bool), diagonal=1)
        self.register_buffer("mask", mask, persistent=False)  # True above the diagonal: future

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, num_tokens, _ = x.shape
        if num_tokens > self.mask.shape[0]:
            raise ValueError(
                f"x has {num_tokens} tokens, more than context_length={self.mask.shape[0]}"
            )

        def heads(t: torch.Tensor) -> torch.Tensor:  # (b, T, d_out) -> (b, heads, T, head_dim)
            return t.view(b, num_tokens, self.num_heads, self.head_dim).transpose(1, 2)

        queries, keys, values = heads(self.W_query(x)), heads(self.W_key(x)), heads(self.W_value(x))
        scores = queries @ keys.transpose(2, 3)  # (b, heads, T, T)
        scores = scores.masked_fill(self.mask[:num_tokens, :num_tokens], -math.inf)
        weights = self.dropout(torch.softmax(scores / self.head_dim**0.5, dim=-1))
        context = (weights @ values).transpose(1, 2)  # (b, T, heads, head_dim)
        return self.out_proj(context.reshape(b, num_tokens, self.d_out))


class TransformerBlock(nn.Module):
    r"""The book's transformer block, in one of the four :data:`VARIANTS` of wiring.

    With :math:`A` the attention, :math:`F` the feed-forward and :math:`D` ``drop_shortcut``:

    ================  ==================================================================
    ``"pre-LN"``      :math:`x \leftarrow x + D(A(\mathrm{LN}_1 x))`, then
                      :math:`x \leftarrow x + D(F(\mathrm{LN}_2 x))` (the book, GPT-2)
    ``"post-LN"``     :math:`x \leftarrow \mathrm{LN}_1(x + D(A(x)))`, then
                      :math:`x \leftarrow \mathrm{LN}_2(x + D(F(x)))` (2017)
    ``"plain"``       :math:`x \leftarrow D(A(\mathrm{LN}_1 x))`, then
                      :math:`x \leftarrow D(F(\mathrm{LN}_2 x))` (pre-LN, no shortcut)
    ================  ==================================================================

    (``"pre-LN + final LN"`` uses the pre-LN block; the final LayerNorm is the stack's.)
    ``drop_shortcut`` drops elements of the branch :math:`f(x)` only, never of the stream
    :math:`x`.

    Args:
        cfg: a dict with the keys of :data:`TINY_CONFIG`.
        variant: a key of :data:`VARIANTS`.

    Shape:
        - Input: :math:`(B, T, \text{emb\_dim})`. Output: the same.

    Example::

        >>> block = TransformerBlock(TINY_CONFIG)
        >>> block(torch.zeros(2, 8, 16)).shape
        torch.Size([2, 8, 16])
    """

    def __init__(self, cfg: Mapping[str, object], variant: str = "pre-LN") -> None:
        super().__init__()
        cfg = _check_config(cfg)
        self.variant = _check_variant(variant)
        self.shortcut, self.norm_position, _ = VARIANTS[variant]
        self.att = MultiHeadAttention(
            d_in=cfg["emb_dim"],
            d_out=cfg["emb_dim"],
            context_length=cfg["context_length"],
            num_heads=cfg["n_heads"],
            dropout=cfg["drop_rate"],
            qkv_bias=cfg["qkv_bias"],
        )
        self.ff = FeedForward(cfg)
        self.norm1 = LayerNorm(cfg["emb_dim"])
        self.norm2 = LayerNorm(cfg["emb_dim"])
        self.drop_shortcut = nn.Dropout(cfg["drop_rate"])

    def _sublayer(self, x: torch.Tensor, f: nn.Module, norm: nn.Module) -> torch.Tensor:
        if self.norm_position == "post":
            return norm(x + self.drop_shortcut(f(x)))
        branch = self.drop_shortcut(f(norm(x)))
        return x + branch if self.shortcut else branch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self._sublayer(x, self.att, self.norm1)  # (b, T, emb)
        return self._sublayer(x, self.ff, self.norm2)

    def extra_repr(self) -> str:
        return f"variant={self.variant!r}"


class TransformerStack(nn.Module):
    r"""``n_layers`` blocks of one variant in ``trf_blocks``, then ``final_norm``.

    ``final_norm`` is a :class:`LayerNorm` for ``"pre-LN + final LN"`` and ``nn.Identity``
    otherwise. No embeddings and no output head: the input is already a stream of
    vectors, which is all the gradient measurement needs (:class:`TinyGPT` adds them).

    Shape:
        - Input: :math:`(B, T, \text{emb\_dim})`. Output: the same.
    """

    def __init__(self, cfg: Mapping[str, object], n_layers: int, variant: str = "pre-LN") -> None:
        super().__init__()
        cfg = _check_config(cfg)
        n_layers = check_positive_int(n_layers, "n_layers")
        self.variant = _check_variant(variant)
        self.trf_blocks = nn.Sequential(*[TransformerBlock(cfg, variant) for _ in range(n_layers)])
        final = VARIANTS[variant][2]
        self.final_norm = LayerNorm(cfg["emb_dim"]) if final else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.final_norm(self.trf_blocks(x))


class TinyGPT(nn.Module):
    r"""Token and position embeddings, a :class:`TransformerStack`, a linear output head.

    The book's ``GPTModel`` in miniature (no embedding dropout, the head without bias),
    for lesson 06's training run.

    Shape:
        - Input: token ids :math:`(B, T)`, ``T <= context_length``.
        - Output: logits :math:`(B, T, \text{vocab\_size})`.
    """

    def __init__(
        self, cfg: Mapping[str, object], vocab_size: int, n_layers: int, variant: str = "pre-LN"
    ) -> None:
        super().__init__()
        cfg = _check_config(cfg)
        vocab_size = check_positive_int(vocab_size, "vocab_size")
        self.tok_emb = nn.Embedding(vocab_size, cfg["emb_dim"])
        self.pos_emb = nn.Embedding(cfg["context_length"], cfg["emb_dim"])
        self.stack = TransformerStack(cfg, n_layers, variant)
        self.out_head = nn.Linear(cfg["emb_dim"], vocab_size, bias=False)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(idx.shape[1], device=idx.device)
        x = self.tok_emb(idx) + self.pos_emb(positions)  # (b, T, emb)
        return self.out_head(self.stack(x))  # (b, T, vocab)


def make_stacks(
    n_layers: int,
    seed: int,
    cfg: Mapping[str, object] = TINY_CONFIG,
    variants: tuple[str, ...] = tuple(VARIANTS),
    dtype: torch.dtype = torch.float64,
) -> dict[str, TransformerStack]:
    """One :class:`TransformerStack` per variant, all with the same initial weights.

    Each stack is built right after ``torch.manual_seed(seed)``, inside a forked RNG (the
    caller's random state is left alone).

    Example::

        >>> stacks = make_stacks(2, seed=0)
        >>> a, b = stacks["plain"], stacks["post-LN"]
        >>> torch.equal(a.trf_blocks[1].att.W_query.weight, b.trf_blocks[1].att.W_query.weight)
        True
    """
    n_layers = check_positive_int(n_layers, "n_layers")
    seed = check_seed(seed)
    for variant in variants:
        _check_variant(variant)
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating-point torch.dtype, got {dtype!r}")
    stacks = {}
    for variant in variants:
        # Every variant creates the same modules in the same order (a LayerNorm draws no
        # random numbers), so the same seed gives every variant the same weights.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            stacks[variant] = TransformerStack(cfg, n_layers, variant).to(dtype)
    return stacks


def stack_input(
    seed: int,
    cfg: Mapping[str, object] = TINY_CONFIG,
    batch: int = 2,
    dtype: torch.dtype = torch.float64,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(x, target)``: a random input stream and a random target, both ``(batch, T, emb)``.

    Standard normal, from a generator seeded with ``seed`` (the global RNG is not touched).
    The target is random, not zero: after a final LayerNorm the output's size is fixed (up to
    LayerNorm's ``eps``), so an MSE against zeros would be almost constant and its gradient
    almost zero.
    """
    cfg = _check_config(cfg)
    seed = check_seed(seed)
    batch = check_positive_int(batch, "batch")
    generator = torch.Generator().manual_seed(seed)
    shape = (batch, cfg["context_length"], cfg["emb_dim"])
    x = torch.randn(shape, generator=generator, dtype=dtype)
    target = torch.randn(shape, generator=generator, dtype=dtype)
    return x, target


@torch.enable_grad()
def block_gradient_means(
    stack: TransformerStack, x: torch.Tensor, target: torch.Tensor
) -> dict[str, float]:
    r"""Lesson 03's measurement per block: mean :math:`|\partial L/\partial W|` of its weights.

    ``loss = MSE(stack(x), target)``, one backward pass; for block :math:`i` the mean absolute
    gradient over all elements of its six weight matrices (``W_query``, ``W_key``,
    ``W_value``, ``out_proj`` and the feed-forward's two), keyed ``"block i"`` in order
    (block 0 next to the input). Biases and LayerNorm ``scale``/``shift`` are left out, as
    lesson 03 leaves out biases.

    Raises:
        TypeError: ``stack`` is not a :class:`TransformerStack` or ``x``/``target`` not tensors.
        ValueError: ``target`` has not the output's shape, or a gradient is not finite.
    """
    if not isinstance(stack, TransformerStack):
        raise TypeError(f"stack must be a TransformerStack, got {type(stack).__name__}")
    for name, tensor in (("x", x), ("target", target)):
        if not isinstance(tensor, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(tensor).__name__}")
    stack.zero_grad(set_to_none=True)
    output = stack(x.detach())
    if target.shape != output.shape:
        raise ValueError(
            f"target has shape {tuple(target.shape)}; expected the output's {tuple(output.shape)}"
        )
    nn.functional.mse_loss(output, target).backward()
    means = {}
    for i, block in enumerate(stack.trf_blocks):
        grads = [p.grad.flatten() for n, p in block.named_parameters() if n.endswith("weight")]
        means[f"block {i}"] = torch.cat(grads).abs().mean().item()
    bad = [name for name, value in means.items() if not math.isfinite(value)]
    if bad:
        raise ValueError(f"the gradient of {bad[0]} is not finite; use float64 or fewer blocks")
    return means


def reversal_task(
    n_sequences: int, n_symbols: int = 8, length: int = 4, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Sequences ``a b c d | d c b a`` as next-token prediction, made in code.

    Each sequence is ``length`` random symbols, the separator (token ``n_symbols``) and the
    symbols reversed: ``2·length + 1`` tokens. Returns ``(inputs, targets)``, each
    ``(n_sequences, 2·length)``: ``inputs`` the sequence without its last token, ``targets``
    without its first; targets before the reversal are ``-100`` (ignored by
    ``F.cross_entropy``): the first half is random, only the reversal can be learnt.

    Example::

        >>> inputs, targets = reversal_task(1, seed=0)
        >>> inputs
        tensor([[4, 7, 5, 0, 8, 0, 5, 7]])
        >>> targets
        tensor([[-100, -100, -100, -100,    0,    5,    7,    4]])
    """
    n_sequences = check_positive_int(n_sequences, "n_sequences")
    n_symbols = check_positive_int(n_symbols, "n_symbols")
    length = check_positive_int(length, "length")
    seed = check_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    symbols = torch.randint(n_symbols, (n_sequences, length), generator=generator)
    separator = torch.full((n_sequences, 1), n_symbols)
    sequence = torch.cat([symbols, separator, symbols.flip(1)], dim=1)  # (n, 2 length + 1)
    inputs, targets = sequence[:, :-1], sequence[:, 1:].clone()
    targets[:, : length - 1] = -100  # predicting the random symbols: nothing to learn
    targets[:, length - 1] = -100  # predicting the separator: trivially always the same
    return inputs, targets


def train_reversal(
    model: TinyGPT,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    steps: int = 300,
    lr: float = 3e-3,
) -> list[float]:
    """Full-batch Adam on next-token cross-entropy; returns the loss of every step."""
    if not isinstance(model, TinyGPT):
        raise TypeError(f"model must be a TinyGPT, got {type(model).__name__}")
    steps = check_positive_int(steps, "steps")
    lr = check_real(lr, "lr")
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    model.train()
    for _ in range(steps):
        logits = model(inputs)  # (n, T, vocab)
        loss = nn.functional.cross_entropy(logits.flatten(0, 1), targets.flatten())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    model.eval()
    return losses


@torch.no_grad()
def reversal_accuracy(model: TinyGPT, inputs: torch.Tensor, targets: torch.Tensor) -> float:
    """Share of the reversed symbols predicted right (the argmax), teacher-forced."""
    predicted = model(inputs).argmax(-1)
    scored = targets != -100
    return (predicted[scored] == targets[scored]).double().mean().item()
