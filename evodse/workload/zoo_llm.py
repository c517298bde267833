"""Decoder-only LLMs for the zoo: Llama-3-style dense models, Mistral-7B, Mixtral-8x7B.

One block per layer (HuggingFace ``LlamaDecoderLayer`` / ``MistralDecoderLayer`` /
``MixtralDecoderLayer``; layer names are its module paths under ``model.``):

* ``input_layernorm``: RMS norm (``Norm(mode="rms")``);
* ``self_attn.q_proj`` with RoPE fused on its way out (``self_attn.q_rope``: 3 vector ops per
  element, ``x * cos + rotate(x) * sin``), ``self_attn.k_proj`` and ``self_attn.k_rope``, whose
  output is appended to the KV cache, ``self_attn.v_proj`` (appended to the KV cache);
* grouped-query attention: the ``heads / kv_heads`` query heads that share a key-value head
  are one GEMM against that head's cached keys, ``MatMul(m=tokens * group, k=head_dim,
  n=keys, count=kv_heads, kv_cache=True)`` (``self_attn.qk``), ``self_attn.softmax`` over
  ``heads * tokens`` rows, and ``self_attn.av`` against the cached values; ``self_attn.o_proj``;
  the residual add (``add1``);
* ``post_attention_layernorm``; SwiGLU: ``mlp.gate_proj`` (SiLU fused), ``mlp.up_proj``,
  ``mlp.mul`` (gate times up), ``mlp.down_proj``; the residual add (``add2``). Mixtral
  replaces the MLP with ``block_sparse_moe``: the router ``gate`` (hidden -> experts) and its
  ``softmax``, the experts' ``w1`` (SiLU fused), ``w3``, ``mul`` and ``w2`` as
  :class:`~evodse.workload.ops.ExpertLinear` (each token through ``top_k`` experts), and
  ``combine``, the routing-weighted sum of the ``top_k`` expert outputs;

then the final ``norm`` and ``lm_head``. No operation has a bias; embedding lookups are free.

Phases. ``prefill`` runs ``seq_len`` prompt tokens per sample after ``kv_len`` cached ones
(default 0: a fresh prompt), attending to ``kv_len + seq_len`` keys, counted as the dense
product (as dense kernels compute a causal mask); ``decode`` runs one token per sample
attending to ``kv_len + 1`` keys (``kv_len`` defaults to ``seq_len``: the first token after a
``seq_len`` prompt). Sliding-window attention (Mistral) attends to at most ``window`` keys and
keeps a rolling cache of that many. ``logits="last"`` runs the LM head on each sample's last
token (``"all"``: every token; ``"none"``: no head). ``batch`` samples run together: weights
are read once for the batch, each sample has its own KV cache.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from evodse.errors import InputError
from evodse.workload.network import Network
from evodse.workload.ops import Elementwise, ExpertLinear, Linear, MatMul, Norm, Op, Softmax

PHASES = ("prefill", "decode")
_LOGITS = ("last", "all", "none")
ROPE_OPS_PER_ELEMENT = 3
"""RoPE: ``x * cos + rotate_half(x) * sin``, two multiplies and an add per element."""


@dataclass(frozen=True)
class DecoderConfig:
    """A decoder's published shape (HuggingFace ``config.json`` keys in the comments)."""

    name: str
    hidden: int  # hidden_size
    layers: int  # num_hidden_layers
    heads: int  # num_attention_heads
    kv_heads: int  # num_key_value_heads
    ffn: int  # intermediate_size (per expert for a mixture of experts)
    vocab: int  # vocab_size
    tied_embeddings: bool  # tie_word_embeddings: the LM head is the token embedding
    window: int | None = None  # sliding_window
    experts: int = 1  # num_local_experts
    top_k: int = 1  # num_experts_per_tok
    reference: str = ""
    published_params: int = 0  # HuggingFace safetensors parameter count
    published_active_params: int = 0  # per token (mixture of experts)
    card_params: float = 0.0  # as the model card or paper rounds it
    card_active_params: float = 0.0


CONFIGS: dict[str, DecoderConfig] = {
    "llama3_2_1b": DecoderConfig(
        name="llama3_2_1b",
        hidden=2048,
        layers=16,
        heads=32,
        kv_heads=8,
        ffn=8192,
        vocab=128256,
        tied_embeddings=True,
        reference="HF meta-llama/Llama-3.2-1B config.json; model card: 1.24B parameters",
        published_params=1_235_814_400,
        card_params=1.24e9,
    ),
    "llama3_1_8b": DecoderConfig(
        name="llama3_1_8b",
        hidden=4096,
        layers=32,
        heads=32,
        kv_heads=8,
        ffn=14336,
        vocab=128256,
        tied_embeddings=False,
        reference="HF meta-llama/Llama-3.1-8B config.json; model card: 8.03B parameters",
        published_params=8_030_261_248,
        card_params=8.03e9,
    ),
    "mistral_7b": DecoderConfig(
        name="mistral_7b",
        hidden=4096,
        layers=32,
        heads=32,
        kv_heads=8,
        ffn=14336,
        vocab=32000,
        tied_embeddings=False,
        window=4096,
        reference="HF mistralai/Mistral-7B-v0.1 config.json (sliding_window 4096); "
        "Jiang et al. 2023, arXiv:2310.06825, Table 1: 7.24B parameters",
        published_params=7_241_732_096,
        card_params=7.24e9,
    ),
    "mixtral_8x7b": DecoderConfig(
        name="mixtral_8x7b",
        hidden=4096,
        layers=32,
        heads=32,
        kv_heads=8,
        ffn=14336,
        vocab=32000,
        tied_embeddings=False,
        experts=8,
        top_k=2,
        reference="HF mistralai/Mixtral-8x7B-v0.1 config.json; Jiang et al. 2024, "
        "arXiv:2401.04088: 46.7B parameters, 12.9B active per token",
        published_params=46_702_792_704,
        published_active_params=12_879_925_248,
        card_params=46.7e9,
        card_active_params=12.9e9,
    ),
}
"""The zoo's decoders at their published shapes."""


def _int(value: object, key: str, minimum: int = 1) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        kind = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise InputError(f"{key} must be {kind}, got {value!r}", key=key)
    return value


@dataclass(frozen=True)
class _Shape:
    """Validated builder arguments."""

    hidden: int
    layers: int
    heads: int
    kv_heads: int
    ffn: int
    vocab: int
    tokens: int
    keys: int
    logits: str

    @property
    def head_dim(self) -> int:
        return self.hidden // self.heads

    @property
    def group(self) -> int:
        return self.heads // self.kv_heads


def _shape(
    cfg: DecoderConfig,
    *,
    phase: object,
    seq_len: object,
    kv_len: object,
    hidden: object,
    layers: object,
    heads: object,
    kv_heads: object,
    ffn: object,
    vocab: object,
    logits: object,
) -> _Shape:
    if phase not in PHASES:
        raise InputError(f"phase must be one of {PHASES}, got {phase!r}", key="phase")
    if logits not in _LOGITS:
        raise InputError(f"logits must be one of {_LOGITS}, got {logits!r}", key="logits")
    seq = _int(seq_len, "seq_len")
    kv = (0 if phase == "prefill" else seq) if kv_len is None else _int(kv_len, "kv_len", 0)
    dims = {"hidden": hidden, "layers": layers, "heads": heads, "kv_heads": kv_heads}
    dims |= {"ffn": ffn, "vocab": vocab}
    for key, value in dims.items():
        _int(value, key)
    if hidden % heads:
        raise InputError(f"hidden={hidden} must be divisible by heads={heads}", key="heads")
    if heads % kv_heads:
        raise InputError(f"heads={heads} must be divisible by kv_heads={kv_heads}", key="kv_heads")
    tokens = seq if phase == "prefill" else 1
    keys = kv + tokens
    if cfg.window is not None:
        keys = min(keys, cfg.window)
    return _Shape(tokens=tokens, keys=keys, logits=str(logits), **dims)  # type: ignore[arg-type]


def _attention(p: str, s: _Shape) -> list[Op]:
    t, hd = s.tokens, s.head_dim
    q, kv = s.heads * hd, s.kv_heads * hd
    rope = ROPE_OPS_PER_ELEMENT
    return [
        Norm(name=f"{p}.input_layernorm", elements=t * s.hidden, channels=s.hidden, mode="rms"),
        Linear(
            name=f"{p}.self_attn.q_proj", in_features=s.hidden, out_features=q, tokens=t, bias=False
        ),
        Elementwise(
            name=f"{p}.self_attn.q_rope", elements=t * q, ops_per_element=rope, function="rope"
        ),
        Linear(
            name=f"{p}.self_attn.k_proj",
            in_features=s.hidden,
            out_features=kv,
            tokens=t,
            bias=False,
        ),
        Elementwise(
            name=f"{p}.self_attn.k_rope",
            elements=t * kv,
            ops_per_element=rope,
            function="rope",
            kv_cache=True,
        ),
        Linear(
            name=f"{p}.self_attn.v_proj",
            in_features=s.hidden,
            out_features=kv,
            tokens=t,
            bias=False,
            kv_cache=True,
        ),
        MatMul(
            name=f"{p}.self_attn.qk",
            m=t * s.group,
            k=hd,
            n=s.keys,
            count=s.kv_heads,
            kv_cache=True,
        ),
        Softmax(name=f"{p}.self_attn.softmax", rows=s.heads * t, row_length=s.keys),
        MatMul(
            name=f"{p}.self_attn.av",
            m=t * s.group,
            k=s.keys,
            n=hd,
            count=s.kv_heads,
            kv_cache=True,
        ),
        Linear(
            name=f"{p}.self_attn.o_proj", in_features=q, out_features=s.hidden, tokens=t, bias=False
        ),
        Elementwise(name=f"{p}.add1", elements=t * s.hidden, inputs=2),
        Norm(
            name=f"{p}.post_attention_layernorm",
            elements=t * s.hidden,
            channels=s.hidden,
            mode="rms",
        ),
    ]


def _mlp(p: str, s: _Shape) -> list[Op]:
    t, h, f = s.tokens, s.hidden, s.ffn
    return [
        Linear(name=f"{p}.mlp.gate_proj", in_features=h, out_features=f, tokens=t, bias=False),
        Linear(name=f"{p}.mlp.up_proj", in_features=h, out_features=f, tokens=t, bias=False),
        Elementwise(name=f"{p}.mlp.mul", elements=t * f, inputs=2, function="mul"),
        Linear(name=f"{p}.mlp.down_proj", in_features=f, out_features=h, tokens=t, bias=False),
    ]


def _moe(p: str, s: _Shape, experts: int, top_k: int) -> list[Op]:
    t, h, f = s.tokens, s.hidden, s.ffn
    e = f"{p}.block_sparse_moe"
    routed = {"experts": experts, "top_k": top_k, "tokens": t}
    return [
        Linear(name=f"{e}.gate", in_features=h, out_features=experts, tokens=t, bias=False),
        Softmax(name=f"{e}.softmax", rows=t, row_length=experts),
        ExpertLinear(name=f"{e}.experts.w1", in_features=h, out_features=f, **routed),
        ExpertLinear(name=f"{e}.experts.w3", in_features=h, out_features=f, **routed),
        Elementwise(name=f"{e}.experts.mul", elements=t * top_k * f, inputs=2, function="mul"),
        ExpertLinear(name=f"{e}.experts.w2", in_features=f, out_features=h, **routed),
        # routing weight times each chosen expert's output, summed: k multiplies, k - 1 adds
        Elementwise(
            name=f"{e}.combine",
            elements=t * h,
            inputs=top_k,
            ops_per_element=2 * top_k - 1,
            function="weighted_sum",
        ),
    ]


def build_decoder(
    cfg: DecoderConfig,
    *,
    phase: str,
    seq_len: int,
    kv_len: int | None,
    batch: int,
    hidden: int,
    layers: int,
    heads: int,
    kv_heads: int,
    ffn: int,
    vocab: int,
    logits: str,
) -> Network:
    """The decoder ``cfg`` with its shape overridden by the keywords (module docstring)."""
    s = _shape(
        cfg,
        phase=phase,
        seq_len=seq_len,
        kv_len=kv_len,
        hidden=hidden,
        layers=layers,
        heads=heads,
        kv_heads=kv_heads,
        ffn=ffn,
        vocab=vocab,
        logits=logits,
    )
    _int(batch, "batch")
    ops: list[Op] = []
    for i in range(s.layers):
        p = f"layers.{i}"
        ops += _attention(p, s)
        ops += _moe(p, s, cfg.experts, cfg.top_k) if cfg.experts > 1 else _mlp(p, s)
        ops.append(Elementwise(name=f"{p}.add2", elements=s.tokens * s.hidden, inputs=2))
    ops.append(Norm(name="norm", elements=s.tokens * s.hidden, channels=s.hidden, mode="rms"))
    if s.logits != "none":
        head_tokens = s.tokens if s.logits == "all" else 1
        ops.append(
            Linear(
                name="lm_head",
                in_features=s.hidden,
                out_features=s.vocab,
                tokens=head_tokens,
                bias=False,
            )
        )
    return Network(name=f"{cfg.name}_{phase}", ops=tuple(ops), batch=batch)


def untied_embedding_params(cfg: DecoderConfig) -> int:
    """Parameters of the published model that are no operation here: the token-embedding
    table when the LM head does not share it (a lookup is free; a tied head counts it)."""
    return 0 if cfg.tied_embeddings else cfg.vocab * cfg.hidden


def _make(cfg: DecoderConfig) -> Callable[..., Network]:
    def build(
        *,
        phase: str = "prefill",
        seq_len: int = 1024,
        kv_len: int | None = None,
        batch: int = 1,
        hidden: int = cfg.hidden,
        layers: int = cfg.layers,
        heads: int = cfg.heads,
        kv_heads: int = cfg.kv_heads,
        ffn: int = cfg.ffn,
        vocab: int = cfg.vocab,
        logits: str = "last",
    ) -> Network:
        return build_decoder(
            cfg,
            phase=phase,
            seq_len=seq_len,
            kv_len=kv_len,
            batch=batch,
            hidden=hidden,
            layers=layers,
            heads=heads,
            kv_heads=kv_heads,
            ffn=ffn,
            vocab=vocab,
            logits=logits,
        )

    build.__name__ = build.__qualname__ = cfg.name
    build.__doc__ = (
        f"{cfg.name}: {cfg.reference}. Keywords: ``phase`` (prefill | decode), ``seq_len``, "
        "``kv_len``, ``batch``, ``logits`` and the shape (``hidden``, ``layers``, ``heads``, "
        "``kv_heads``, ``ffn``, ``vocab``); see :mod:`evodse.workload.zoo_llm`."
    )
    return build


DECODERS: dict[str, Callable[..., Network]] = {name: _make(c) for name, c in CONFIGS.items()}
"""Zoo name -> builder of each decoder in :data:`CONFIGS`."""

__all__ = ["CONFIGS", "DECODERS", "PHASES", "DecoderConfig", "build_decoder"]
