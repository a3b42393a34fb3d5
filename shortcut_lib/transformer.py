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
from collections.abc import Iterable, Mapping

import torch
from torch import nn

from .activations import GELU
from .isolation import check_autograd_parameters, for_autograd, gradients_on, isolated
from .training import check_steps, warn_if_diverged
from .validation import (
    check_bool,
    check_choice,
    check_finite,
    check_finite_result,
    check_float_dtype,
    check_has_values,
    check_mapping,
    check_memory,
    check_module,
    check_parameters,
    check_positive_int,
    check_precision,
    check_real,
    check_seed,
    check_trainable,
)

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


def _check_variants(variants: object) -> tuple[str, ...]:
    if isinstance(variants, (str, bytes)) or not isinstance(variants, Iterable):
        one = ""
        if isinstance(variants, str) and variants in VARIANTS:
            one = f"; for one variant write variants=[{variants!r}]"
        raise TypeError(
            f"variants must be a list of names such as ['plain', 'pre-LN'], got "
            f"{variants!r} ({type(variants).__name__}){one}"
        )
    variants = tuple(variants)
    if not variants:
        raise ValueError(
            "variants is empty, so there is nothing to build; name at least one, such as "
            "['plain', 'pre-LN'] (the default builds all four)"
        )
    for variant in variants:
        _check_variant(variant)
    repeated = [variant for variant in VARIANTS if variants.count(variant) > 1]
    if repeated:
        raise ValueError(f"variants names {repeated[0]!r} twice, got {list(variants)!r}")
    return variants


def _check_config(cfg: object) -> dict[str, object]:
    check_mapping(cfg, "cfg", "TINY_CONFIG")
    missing = [key for key in TINY_CONFIG if key not in cfg]
    if missing:
        raise ValueError(
            f"cfg lacks the key(s) {missing}; it needs all of TINY_CONFIG's keys "
            f"{list(TINY_CONFIG)}, e.g. {{**TINY_CONFIG, 'emb_dim': 32}}"
        )
    emb_dim = check_positive_int(cfg["emb_dim"], "cfg['emb_dim']")
    n_heads = check_positive_int(cfg["n_heads"], "cfg['n_heads']")
    context_length = check_positive_int(cfg["context_length"], "cfg['context_length']")
    if emb_dim % n_heads:
        raise ValueError(
            f"cfg['emb_dim'] ({emb_dim}) must be divisible by cfg['n_heads'] ({n_heads})"
        )
    check_real(cfg["drop_rate"], "cfg['drop_rate']", minimum=0.0, maximum=1.0)
    check_bool(cfg["qkv_bias"], "cfg['qkv_bias']")
    # Python ints: a numpy size would wrap around in the memory estimates.
    return {**cfg, "emb_dim": emb_dim, "n_heads": n_heads, "context_length": context_length}


# Memory estimates, so that a size that cannot fit fails at once instead of in the allocator.
_SIZE_ADVICE = (
    "use fewer blocks or a smaller cfg['emb_dim'] or cfg['context_length'] "
    "(TINY_CONFIG has 16 and 8)"
)


def _block_bytes(emb_dim: int, context_length: int, itemsize: int = 4) -> int:
    """One block: 12·emb² + 13·emb parameters and the causal mask (1 byte per entry, twice
    while it is built)."""
    return (12 * emb_dim**2 + 13 * emb_dim) * itemsize + 2 * context_length**2


def _check_blocks_memory(cfg: Mapping[str, object], n_blocks: int) -> None:
    emb_dim, context_length = cfg["emb_dim"], cfg["context_length"]
    check_memory(
        n_blocks * _block_bytes(emb_dim, context_length),
        f"{n_blocks:,} transformer block(s) with emb_dim={emb_dim:,}, "
        f"context_length={context_length:,}",
        _SIZE_ADVICE,
    )


def _activation_bytes(model: TinyGPT, n_tokens: int, context: int, training: bool) -> int:
    """What a forward pass on ``n_tokens`` tokens keeps: with autograd, every block's
    intermediates (GELU's alone are several 4·emb-wide tensors), else about one block's."""
    emb_dim, vocab_size = model.tok_emb.embedding_dim, model.tok_emb.num_embeddings
    blocks = len(model.stack.trf_blocks) if training else 1
    n_heads = getattr(model.stack.trf_blocks[0].att, "num_heads", 1)
    per_token = blocks * (40 * emb_dim + 3 * n_heads * context) + 3 * vocab_size
    return n_tokens * per_token * model.tok_emb.weight.element_size()


def _check_features(x: object, weight: torch.Tensor, owner: str, same_dtype: bool = True) -> None:
    """``x`` fits a module whose features are ``weight``'s last dimension: a float tensor of
    shape (*, features) on the same device (and dtype). Only metadata, so no synchronisation."""
    width = weight.shape[-1]
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor of shape (*, {width}), got {type(x).__name__}")
    if x.ndim == 0 or x.shape[-1] != width:
        raise ValueError(
            f"x must have shape (*, {width}) (its last dimension the {owner}'s {width} "
            f"features), got shape {tuple(x.shape)}"
        )
    _check_not_empty(x, "x")
    _check_like(x, weight, owner, same_dtype)


def _check_like(x: torch.Tensor, weight: torch.Tensor, owner: str, same_dtype: bool) -> None:
    if not x.is_floating_point():
        raise TypeError(
            f"x must be a floating-point tensor, got dtype {x.dtype}; e.g. x.to({weight.dtype})"
        )
    if same_dtype and x.dtype != weight.dtype:
        raise TypeError(
            f"x has dtype {x.dtype} but the {owner}'s parameters are {weight.dtype}; convert "
            f"one of them: x.to({weight.dtype}), or the {owner} with .to({x.dtype})"
        )
    if x.device != weight.device:
        raise ValueError(
            f"x is on device {str(x.device)!r} but the {owner}'s parameters are on "
            f"{str(weight.device)!r}; put both on one device: x.to({str(weight.device)!r}), "
            f"or the {owner} with .to({str(x.device)!r})"
        )


def _check_sequence(x: object, weight: torch.Tensor, context_length: int, owner: str) -> None:
    """``x`` is a stream ``(batch, T, features)`` with ``T <= context_length`` for ``owner``."""
    width = weight.shape[-1]
    expected = f"(batch, T, {width}) with T <= context_length={context_length}"
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor of shape {expected}, got {type(x).__name__}")
    if x.ndim != 3 or x.shape[-1] != width:
        one = "; for one sequence write x.unsqueeze(0)" if x.shape[-1:] == (width,) else ""
        raise ValueError(f"x must have shape {expected}, got shape {tuple(x.shape)}{one}")
    if x.shape[1] > context_length:
        raise ValueError(
            f"x has {x.shape[1]} tokens, more than context_length={context_length}; use at "
            f"most {context_length}, e.g. x[:, :{context_length}], or a larger "
            "cfg['context_length']"
        )
    _check_not_empty(x, "x")
    _check_like(x, weight, owner, same_dtype=True)


def _check_not_empty(x: torch.Tensor, name: str) -> None:
    if x.numel() == 0:
        raise ValueError(
            f"{name} is empty (shape {tuple(x.shape)}); expected at least one sequence of at "
            "least one token"
        )


class LayerNorm(nn.Module):
    r"""The book's LayerNorm: each token's features to mean 0, variance 1, then scale and shift.

    .. math:: \mathrm{LN}(x) = \text{scale} \odot \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}}
              + \text{shift}

    with :math:`\mu, \sigma^2` the mean and the biased variance over the last dimension
    (lesson 04's LayerNorm, with the learnable ``scale`` and ``shift`` that start at 1 and 0).
    Equals ``nn.LayerNorm(emb_dim)`` with ``weight = scale``, ``bias = shift``. ``eps`` must
    be a finite number > 0 (it keeps a constant token, of variance 0, from dividing by 0).

    Shape:
        - Input: :math:`(*, \text{emb\_dim})`. Output: the same.

    Example::

        >>> LayerNorm(3)(torch.tensor([[1.0, 2.0, 3.0]]))
        tensor([[-1.2247,  0.0000,  1.2247]], grad_fn=<AddBackward0>)
    """

    def __init__(self, emb_dim: int, eps: float = 1e-5) -> None:
        super().__init__()
        emb_dim = check_positive_int(emb_dim, "emb_dim")
        # eps > 0: with eps <= 0 a constant token (variance 0) divides 0 by 0, or by the root
        # of a negative number: NaN, silently.
        self.eps = check_real(eps, "eps", positive=True)
        check_memory(8 * emb_dim, f"LayerNorm({emb_dim:,})", "use a smaller emb_dim")
        self.scale = nn.Parameter(torch.ones(emb_dim))
        self.shift = nn.Parameter(torch.zeros(emb_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Another float dtype is allowed: it promotes, as the book's LayerNorm does.
        _check_features(x, self.scale, "LayerNorm", same_dtype=False)
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
        check_memory(
            4 * (8 * emb_dim**2 + 5 * emb_dim),
            f"a FeedForward with emb_dim={emb_dim:,}",
            "use a smaller cfg['emb_dim'] (TINY_CONFIG has 16)",
        )
        self.layers = nn.Sequential(
            nn.Linear(emb_dim, 4 * emb_dim), GELU(), nn.Linear(4 * emb_dim, emb_dim)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_features(x, self.layers[0].weight, "FeedForward")
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
        context_length = check_positive_int(context_length, "context_length")
        dropout = check_real(dropout, "dropout", minimum=0.0, maximum=1.0)
        qkv_bias = check_bool(qkv_bias, "qkv_bias")
        check_memory(
            4 * (3 * d_in * d_out + d_out**2 + 4 * d_out) + 2 * context_length**2,
            f"a MultiHeadAttention with d_in={d_in:,}, d_out={d_out:,}, "
            f"context_length={context_length:,}",
            "use smaller sizes (TINY_CONFIG has emb_dim 16, context_length 8)",
        )
        self.d_out, self.num_heads, self.head_dim = d_out, num_heads, d_out // num_heads
        self.W_query = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.W_key = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.W_value = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.out_proj = nn.Linear(d_out, d_out)
        self.dropout = nn.Dropout(dropout)
        mask = torch.triu(torch.ones(context_length, context_length, dtype=torch.bool), diagonal=1)
        self.register_buffer("mask", mask, persistent=False)  # True above the diagonal: future

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_sequence(x, self.W_query.weight, self.mask.shape[0], "attention")
        b, num_tokens, _ = x.shape

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
        - Input: :math:`(B, T, \text{emb\_dim})`, :math:`T \le` ``context_length``, not empty,
          with the parameters' dtype and device (checked: a ``TypeError`` or ``ValueError``
          says what differs). Output: the same.

    Example::

        >>> block = TransformerBlock(TINY_CONFIG)
        >>> block(torch.zeros(2, 8, 16)).shape
        torch.Size([2, 8, 16])
    """

    def __init__(self, cfg: Mapping[str, object], variant: str = "pre-LN") -> None:
        super().__init__()
        cfg = _check_config(cfg)
        self.variant = _check_variant(variant)
        _check_blocks_memory(cfg, 1)
        self.shortcut, self.norm_position, _ = VARIANTS[variant]
        self.context_length = cfg["context_length"]
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
        _check_sequence(x, self.norm1.scale, self.context_length, "block")
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
        _check_blocks_memory(cfg, n_layers)
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
        - Input: token ids :math:`(B, T)`, ``T <= context_length``, each from 0 to
          ``vocab_size - 1`` (checked with one min/max per call: the embedding's own error
          names neither).
        - Output: logits :math:`(B, T, \text{vocab\_size})`.
    """

    def __init__(
        self, cfg: Mapping[str, object], vocab_size: int, n_layers: int, variant: str = "pre-LN"
    ) -> None:
        super().__init__()
        cfg = _check_config(cfg)
        vocab_size = check_positive_int(vocab_size, "vocab_size")
        n_layers = check_positive_int(n_layers, "n_layers")
        emb_dim, context_length = cfg["emb_dim"], cfg["context_length"]
        check_memory(
            n_layers * _block_bytes(emb_dim, context_length)
            + (2 * vocab_size + context_length) * emb_dim * 4,  # embeddings and output head
            f"a TinyGPT with vocab_size={vocab_size:,}, n_layers={n_layers:,}, "
            f"emb_dim={emb_dim:,}, context_length={context_length:,}",
            "use a smaller vocab_size, fewer n_layers or a smaller cfg",
        )
        self.tok_emb = nn.Embedding(vocab_size, cfg["emb_dim"])
        self.pos_emb = nn.Embedding(cfg["context_length"], cfg["emb_dim"])
        self.stack = TransformerStack(cfg, n_layers, variant)
        self.out_head = nn.Linear(cfg["emb_dim"], vocab_size, bias=False)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        self._check_tokens(idx, "idx")
        positions = torch.arange(idx.shape[1], device=idx.device)
        x = self.tok_emb(idx) + self.pos_emb(positions)  # (b, T, emb)
        return self.out_head(self.stack(x))  # (b, T, vocab)

    def _check_tokens(self, idx: object, name: str) -> None:
        """Token ids ``(B, T)`` the embeddings can look up. One min/max is the only
        synchronisation: the embedding's own error ("index out of range in self") names
        neither the tensor nor the limit."""
        vocab_size, context_length = self.tok_emb.num_embeddings, self.pos_emb.num_embeddings
        expected = f"(batch, T) with T <= context_length={context_length}"
        if not isinstance(idx, torch.Tensor):
            raise TypeError(
                f"{name} must be a torch.Tensor of token ids, shape {expected}, such as "
                f"reversal_task(4)[0]; got {type(idx).__name__}"
            )
        if idx.ndim != 2:
            one = f"; for one sequence write {name}.unsqueeze(0)" if idx.ndim == 1 else ""
            raise ValueError(f"{name} must have shape {expected}, got {tuple(idx.shape)}{one}")
        if idx.dtype not in (torch.long, torch.int):
            raise TypeError(
                f"{name} must hold integer token ids (torch.long), got dtype {idx.dtype}; "
                f"token ids index the embedding, e.g. {name}.long() if they are whole numbers"
            )
        _check_not_empty(idx, name)
        if idx.shape[1] > context_length:
            raise ValueError(
                f"{name} has {idx.shape[1]} tokens per sequence, more than the model's "
                f"context_length={context_length} (its position embedding has that many rows); "
                f"use at most {context_length} tokens (reversal_task(n, length=L) makes 2·L) "
                "or build the model with a larger cfg['context_length']"
            )
        device = self.tok_emb.weight.device
        if idx.device != device:
            raise ValueError(
                f"{name} is on device {str(idx.device)!r} but the model's parameters are on "
                f"{str(device)!r}; put both on one device, e.g. {name}.to({str(device)!r})"
            )
        if device.type == "meta":
            return
        low, high = (int(v) for v in torch.aminmax(idx))
        if low < 0:
            raise ValueError(
                f"{name} holds the token id {low}, but token ids index the embedding: they "
                f"must be from 0 to vocab_size - 1 = {vocab_size - 1}"
            )
        if high >= vocab_size:
            raise ValueError(
                f"{name} holds the token id {high}, but the model's vocab_size={vocab_size} "
                f"allows ids 0 to {vocab_size - 1}; build the model with vocab_size={high + 1} "
                "(reversal_task(n, n_symbols=S) uses S + 1 tokens) or keep the ids in range"
            )


def make_stacks(
    n_layers: int,
    seed: int,
    cfg: Mapping[str, object] = TINY_CONFIG,
    variants: tuple[str, ...] = tuple(VARIANTS),
    dtype: torch.dtype = torch.float64,
) -> dict[str, TransformerStack]:
    """One :class:`TransformerStack` per variant, all with the same initial weights.

    Each stack is built right after ``torch.manual_seed(seed)``, inside a forked RNG (the
    caller's random state is left alone). ``variants`` is a list of names from
    :data:`VARIANTS` (a single name goes in a list: ``variants=["pre-LN"]``).

    Example::

        >>> stacks = make_stacks(2, seed=0)
        >>> a, b = stacks["plain"], stacks["post-LN"]
        >>> torch.equal(a.trf_blocks[1].att.W_query.weight, b.trf_blocks[1].att.W_query.weight)
        True
    """
    n_layers = check_positive_int(n_layers, "n_layers")
    seed = check_seed(seed)
    cfg = _check_config(cfg)
    variants = _check_variants(variants)
    dtype = check_float_dtype(dtype)
    # All stacks are kept; each is built in float32, then converted.
    one = _block_bytes(cfg["emb_dim"], cfg["context_length"], 4 + dtype.itemsize)
    check_memory(
        len(variants) * n_layers * one,
        f"{len(variants)} stack(s) of {n_layers:,} blocks with emb_dim={cfg['emb_dim']:,}, "
        f"context_length={cfg['context_length']:,}",
        _SIZE_ADVICE,
    )
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
    almost zero. ``dtype`` is a floating-point ``torch.dtype``.
    """
    cfg = _check_config(cfg)
    seed = check_seed(seed)
    batch = check_positive_int(batch, "batch")
    dtype = check_float_dtype(dtype)
    shape = (batch, cfg["context_length"], cfg["emb_dim"])
    check_memory(
        2 * math.prod(shape) * dtype.itemsize,
        f"stack_input with batch={batch:,} and shape {shape}",
        "use a smaller batch or cfg",
    )
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(shape, generator=generator, dtype=dtype)
    target = torch.randn(shape, generator=generator, dtype=dtype)
    return x, target


def _check_stack_data(stack: TransformerStack, x: object, target: object) -> None:
    first = stack.trf_blocks[0]
    _check_sequence(x, first.norm1.scale, first.context_length, "stack")
    if not isinstance(target, torch.Tensor):
        raise TypeError(f"target must be a torch.Tensor, got {type(target).__name__}")
    if target.shape != x.shape:
        raise ValueError(
            f"target has shape {tuple(target.shape)}; expected the output's {tuple(x.shape)}"
        )
    if target.dtype != x.dtype:
        raise TypeError(
            f"target must have x's dtype {x.dtype}, got {target.dtype}; e.g. target.to(x)"
        )
    if target.device != x.device:
        raise ValueError(
            f"target must be on x's device {str(x.device)!r}, got {str(target.device)!r}; "
            "e.g. target.to(x)"
        )
    check_has_values(x, "x")
    check_finite(x, "x", "stack_input(seed) makes a finite one")
    check_finite(target, "target", "stack_input(seed) makes a finite one")


@gradients_on()
def block_gradient_means(
    stack: TransformerStack, x: torch.Tensor, target: torch.Tensor
) -> dict[str, float]:
    r"""Lesson 03's measurement per block: mean :math:`|\partial L/\partial W|` of its weights.

    ``loss = MSE(stack(x), target)``, one backward pass; for block :math:`i` the mean absolute
    gradient over all elements of its six weight matrices (``W_query``, ``W_key``,
    ``W_value``, ``out_proj`` and the feed-forward's two), keyed ``"block i"`` in order
    (block 0 next to the input). Biases and LayerNorm ``scale``/``shift`` are left out, as
    lesson 03 leaves out biases.

    Gradients are on inside, even in ``torch.no_grad()`` or ``torch.inference_mode()``
    (``x`` and ``target`` made there are copied). With dropout (``drop_rate > 0``) in
    train mode the masks come from a copy of the global random state, which is left as it was.

    Raises:
        TypeError: ``stack`` is not a :class:`TransformerStack` or ``x``/``target`` not tensors
            of the stack's dtype.
        ValueError: ``x`` is empty or not ``(batch, T, emb_dim)``, ``target`` has not its
            shape, ``x``/``target``/the weights are not finite, a weight is frozen, the stack
            is float16 or bfloat16 (too coarse: use float32 or float64) or was built inside
            ``torch.inference_mode()``, or the output or a gradient overflowed.
    """
    if isinstance(stack, Mapping):
        raise TypeError(
            f"stack must be one TransformerStack, got a dict with keys {list(stack)!r} (what "
            "make_stacks returns); pick one, e.g. make_stacks(2, 0)['pre-LN']"
        )
    stack = check_module(stack, "stack")
    if not isinstance(stack, TransformerStack):
        raise TypeError(
            f"stack must be a TransformerStack, e.g. make_stacks(2, 0)['pre-LN'], got "
            f"{type(stack).__name__}"
        )
    check_parameters(stack, "stack")
    dtype = next(stack.parameters()).dtype
    check_precision(
        dtype,
        f"stack's dtype={dtype}",
        "use float64 (make_stacks' default) or float32, e.g. "
        "make_stacks(n_layers, seed, dtype=torch.float64)",
    )
    check_autograd_parameters(stack, "stack")
    frozen = [
        key
        for key, p in stack.trf_blocks.named_parameters()
        if key.endswith("weight") and not p.requires_grad
    ]
    if frozen:
        raise ValueError(
            f"stack's weight trf_blocks.{frozen[0]} has requires_grad=False, so it gets no "
            "gradient to measure; unfreeze it, e.g. stack.requires_grad_(True)"
        )
    _check_stack_data(stack, x, target)
    batch, context = x.shape[:2]
    n_heads = getattr(stack.trf_blocks[0].att, "num_heads", 1)
    per_token = len(stack.trf_blocks) * (40 * x.shape[2] + 3 * n_heads * context)
    check_memory(
        batch * context * per_token * x.element_size(),
        f"block_gradient_means on a batch of {batch:,}",
        "use a smaller batch",
    )
    x, target = for_autograd(x), for_autograd(target)
    with torch.random.fork_rng(devices=[]):
        stack.zero_grad(set_to_none=True)
        output = stack(x.detach())
        check_finite_result(output, "the stack's output", _OVERFLOW_ADVICE)
        nn.functional.mse_loss(output, target).backward()
    means = {}
    for i, block in enumerate(stack.trf_blocks):
        grads = [p.grad.flatten() for n, p in block.named_parameters() if n.endswith("weight")]
        means[f"block {i}"] = torch.cat(grads).abs().mean().item()
    bad = [name for name, value in means.items() if not math.isfinite(value)]
    if bad:
        raise ValueError(
            f"the gradient of {bad[0]} is not finite (the numbers overflowed); {_OVERFLOW_ADVICE}"
        )
    return means


_OVERFLOW_ADVICE = (
    "use float64 (make_stacks' default), fewer blocks, or an input of a smaller scale "
    "(stack_input's is standard normal)"
)


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
    check_memory(
        n_sequences * (2 * length + 1) * 8 * 5,  # int64: symbols, flipped, joined, the halves
        f"reversal_task with n_sequences={n_sequences:,}, length={length:,}",
        "use fewer or shorter sequences",
    )
    generator = torch.Generator().manual_seed(seed)
    symbols = torch.randint(n_symbols, (n_sequences, length), generator=generator)
    separator = torch.full((n_sequences, 1), n_symbols)
    sequence = torch.cat([symbols, separator, symbols.flip(1)], dim=1)  # (n, 2 length + 1)
    inputs, targets = sequence[:, :-1], sequence[:, 1:].clone()
    targets[:, : length - 1] = -100  # predicting the random symbols: nothing to learn
    targets[:, length - 1] = -100  # predicting the separator: trivially always the same
    return inputs, targets


def _check_gpt(model: object) -> TinyGPT:
    model = check_module(model)
    if not isinstance(model, TinyGPT):
        raise TypeError(
            f"model must be a TinyGPT, e.g. TinyGPT(TINY_CONFIG, vocab_size=9, n_layers=2), "
            f"got {type(model).__name__}"
        )
    check_parameters(model, "model")
    return model


def _check_reversal_data(
    model: TinyGPT, inputs: object, targets: object, training: bool
) -> torch.Tensor:
    """Token ids and next-token targets as :func:`reversal_task` makes them; returns the
    mask of scored targets."""
    model._check_tokens(inputs, "inputs")
    if not isinstance(targets, torch.Tensor):
        raise TypeError(
            f"targets must be a torch.Tensor of token ids shaped like inputs, such as "
            f"reversal_task(4)[1]; got {type(targets).__name__}"
        )
    if targets.shape != inputs.shape:
        raise ValueError(
            f"targets must have the inputs' shape {tuple(inputs.shape)} (the next token of "
            f"every input token), got {tuple(targets.shape)}"
        )
    if targets.dtype != torch.long:
        raise TypeError(
            f"targets must hold token ids as torch.long (-100 where not scored), got dtype "
            f"{targets.dtype}; e.g. targets.long() if they are whole numbers"
        )
    if targets.device != inputs.device:
        raise ValueError(
            f"targets is on device {str(targets.device)!r}, inputs on "
            f"{str(inputs.device)!r}; put both on one device"
        )
    vocab_size = model.tok_emb.num_embeddings
    scored = targets != -100
    if not bool(scored.any()):
        raise ValueError(
            "targets are all -100 (not scored), so there is nothing to learn or measure; "
            "at least one must be a token id, as in reversal_task's targets"
        )
    wrong = scored & ((targets < 0) | (targets >= vocab_size))
    if bool(wrong.any()):
        raise ValueError(
            f"targets holds the value {int(targets[wrong][0])}; each must be -100 (not scored) "
            f"or a token id from 0 to vocab_size - 1 = {vocab_size - 1}"
        )
    check_memory(
        _activation_bytes(model, inputs.numel(), inputs.shape[1], training),
        f"a forward pass on {inputs.shape[0]:,} sequences",
        "use fewer sequences",
    )
    return scored


def train_reversal(
    model: TinyGPT,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    steps: int = 300,
    lr: float = 3e-3,
) -> list[float]:
    """Full-batch Adam on next-token cross-entropy; returns the loss of every step.

    ``inputs`` and ``targets`` as :func:`reversal_task` makes them, with token ids below
    the model's ``vocab_size`` and at most ``context_length`` tokens; ``steps`` from 1
    to :data:`~shortcut_lib.training.MAX_STEPS` (10,000), ``lr > 0``. Gradients are on
    inside, even in ``torch.no_grad()`` or ``torch.inference_mode()`` (the model must be
    built outside it); the model trains in
    train mode and gets its mode back. With dropout (``drop_rate > 0``) the masks come
    from a copy of the global random state, which is left as it was. A run that blows up
    warns (``RuntimeWarning``), as :func:`~shortcut_lib.training.train` does.
    """
    model = _check_gpt(model)
    check_trainable(model)
    check_autograd_parameters(model, "model")
    steps = check_steps(steps)
    lr = check_real(lr, "lr", positive=True)
    _check_reversal_data(model, inputs, targets, training=True)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    with isolated(model, training=True), gradients_on():
        inputs, targets = for_autograd(inputs), for_autograd(targets)
        for _ in range(steps):
            logits = model(inputs)  # (n, T, vocab)
            loss = nn.functional.cross_entropy(logits.flatten(0, 1), targets.flatten())
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    warn_if_diverged(
        losses, lr, chance_loss=math.log(model.tok_emb.num_embeddings), who="train_reversal"
    )
    return losses


@torch.no_grad()
def reversal_accuracy(model: TinyGPT, inputs: torch.Tensor, targets: torch.Tensor) -> float:
    """Share of the reversed symbols predicted right (the argmax), teacher-forced.

    Evaluated in eval mode (dropout off), and the model's mode is restored afterwards.
    ``targets`` must score at least one token (not all ``-100``).
    """
    model = _check_gpt(model)
    scored = _check_reversal_data(model, inputs, targets, training=False)
    with isolated(model, training=False):
        predicted = model(inputs).argmax(-1)
    return (predicted[scored] == targets[scored]).double().mean().item()
