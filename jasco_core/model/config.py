"""`ModelConfig`: every option of the flow-matching transformer and its conditioners.

The field names follow the flat `model_config` of the parity fixtures, which in turn follow
audiocraft's `transformer_lm.*` and conditioner settings, so a released experiment config maps onto
this dataclass key by key. Building a model reads only this object: nothing is hard-coded.
"""
from __future__ import annotations

import dataclasses
import logging
import typing as tp

logger = logging.getLogger(__name__)

TEMPORAL_CONDITIONS = ("chords", "self_wav", "melody")  # audiocraft JascoCondConst.ALL order

# Keys of the flat fixture / experiment format that do not change the network's maths at inference
# (training-only settings, codec bookkeeping, or values implied by other keys).
_IGNORED_FLAT_KEYS = frozenset({
    "n_q", "card", "checkpointing", "custom", "memory_efficient", "weight_init", "depthwise_init",
    "zero_bias_init", "cfg_coef", "emb_in_features", "drums_codebook_bins", "drums_codebook_n_q",
    "compression_model_framerate", "segment_duration", "sample_rate", "compression_model_latent_std",
    "compression_model_latent_mean", "efficient_attention_backend_at_inference", "conditioners",
    "text_encoder", "lr", "weight_decay", "emb_lr", "two_step_cfg",
})


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """Architecture of a `FlowMatchingModel` and the tensor side of its conditioners."""

    # transformer
    dim: int = 1024
    num_heads: int = 16
    num_layers: int = 24
    hidden_scale: float = 4
    flow_dim: int = 128  # latent channels D
    norm: str = "layer_norm"
    norm_first: bool = True
    bias_ff: bool = False
    bias_attn: bool = False
    bias_proj: bool = False
    activation: str = "gelu"
    dropout: float = 0.0
    attention_dropout: tp.Optional[float] = None
    positional_embedding: str = "sin"  # sin | rope | sin_rope
    max_period: float = 10_000.0
    positional_scale: float = 1.0
    xpos: bool = False
    skip_connections: bool = False
    layer_dropout_p: tp.Optional[float] = None
    causal: bool = False
    past_context: tp.Optional[int] = None
    layer_scale: tp.Optional[float] = None
    qk_layer_norm: bool = False
    qk_layer_norm_cross: bool = False
    kv_repeat: int = 1
    attention_as_float32: bool = False
    cross_attention: bool = True
    cross_attention_pos_emb: bool = False
    cross_attention_pos_emb_scale: float = 1.0
    # time embedding: sinusoid(time_embedding_dim) -> dense(hidden) -> swish -> dense(hidden) -> proj(dim)
    time_embedding_dim: int = 128
    time_embedding_hidden: int = 512
    # temporal conditions: widths concatenated to z_t (0 = the model has no such condition)
    chords_dim: int = 16
    drums_dim: int = 2
    melody_dim: int = 16
    temporal_condition_order: tp.Tuple[str, ...] = TEMPORAL_CONDITIONS
    # conditioners
    text_dim: int = 768  # width of the text encoder's hidden states
    chords_card: int = 194
    null_chord_index: int = 194
    melody_bins: int = 53
    drums_latent_dim: int = 128  # width of the drum features before `output_proj`
    drums_blurring_factor: int = 3
    sequence_length: int = 500
    # classifier-free guidance training settings; `attribute_dropout` also says which conditions the
    # text-only guidance term drops (every symbolic and wav attribute listed there)
    cfg_dropout: float = 0.0
    attribute_dropout: tp.Mapping[str, tp.Mapping[str, float]] = dataclasses.field(
        default_factory=lambda: {"symbolic": {"chords": 0.5, "melody": 0.5}, "wav": {"self_wav": 0.5}})

    def __post_init__(self):
        if self.dim % self.num_heads:
            raise ValueError(f"model config: dim ({self.dim}) must be divisible by num_heads ({self.num_heads})")
        if self.norm != "layer_norm":
            raise ValueError(f"model config: norm {self.norm!r} is not supported (only 'layer_norm')")
        if self.activation not in ("gelu", "relu"):
            raise ValueError(f"model config: activation {self.activation!r} is not supported (gelu, relu)")
        if self.positional_embedding not in ("sin", "rope", "sin_rope", "none"):
            raise ValueError(f"model config: positional_embedding {self.positional_embedding!r} unknown")
        if self.num_heads % self.kv_repeat:
            raise ValueError("model config: kv_repeat must divide num_heads")
        if not self.cross_attention or self.text_dim <= 0:
            raise ValueError("model config: the time embedding enters through cross-attention, "
                             "so a text condition with cross_attention=True is required")
        unknown = set(self.temporal_condition_order) - set(TEMPORAL_CONDITIONS)
        if unknown:
            raise ValueError(f"model config: unknown temporal conditions {sorted(unknown)}")

    # -- derived -------------------------------------------------------------------------------
    def temporal_width(self, name: str) -> int:
        return {"chords": self.chords_dim, "self_wav": self.drums_dim, "melody": self.melody_dim}[name]

    @property
    def temporal_conditions(self) -> tp.Tuple[str, ...]:
        """Temporal conditions this model takes, in concatenation order."""
        return tuple(n for n in self.temporal_condition_order if self.temporal_width(n) > 0)

    @property
    def emb_in_features(self) -> int:
        return self.flow_dim + sum(self.temporal_width(n) for n in self.temporal_conditions)

    @property
    def text_term_drops(self) -> tp.Tuple[str, ...]:
        """Conditions the text-only guidance term replaces by their null value."""
        drops = [*self.attribute_dropout.get("symbolic", {}), *self.attribute_dropout.get("wav", {})]
        return tuple(n for n in self.temporal_conditions if n in drops)

    # -- (de)serialisation ---------------------------------------------------------------------
    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["temporal_condition_order"] = list(self.temporal_condition_order)
        d["attribute_dropout"] = {k: dict(v) for k, v in self.attribute_dropout.items()}
        return d

    @classmethod
    def from_dict(cls, d: tp.Mapping[str, tp.Any]) -> "ModelConfig":
        """Strict constructor: an unknown key is an error (it would otherwise be silently ignored)."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"model config: unknown keys {sorted(unknown)}")
        d = dict(d)
        if "temporal_condition_order" in d:
            d["temporal_condition_order"] = tuple(d["temporal_condition_order"])
        return cls(**d)

    @classmethod
    def from_flat(cls, flat: tp.Mapping[str, tp.Any]) -> "ModelConfig":
        """Build from the flat `model_config` of a parity fixture / exported experiment.

        Keys that do not affect inference maths are skipped (listed in `_IGNORED_FLAT_KEYS`); any
        other unknown key is reported with a warning so a new option is never dropped silently.
        """
        names = {f.name for f in dataclasses.fields(cls)}
        out: dict = {}
        for key, value in flat.items():
            if key == "fuser":
                out["cross_attention_pos_emb"] = bool(value.get("cross_attention_pos_emb", False))
                out["cross_attention_pos_emb_scale"] = float(value.get("cross_attention_pos_emb_scale", 1.0))
                if list(value.get("cross", ["description"])) != ["description"]:
                    raise ValueError(f"model config: only 'description' can be fused by cross-attention, got {value}")
                for method in ("sum", "prepend", "input_interpolate"):
                    if value.get(method):
                        raise ValueError(f"model config: fuser method {method!r} is not supported")
            elif key == "chords_out_dim":
                out.setdefault("chords_dim", value)
            elif key == "melody_out_dim":
                out.setdefault("melody_dim", value)
            elif key == "drums_out_dim":
                out.setdefault("drums_dim", value)
            elif key in names:
                out[key] = value
            elif key not in _IGNORED_FLAT_KEYS:
                logger.warning("model config: key %r is not used by this implementation", key)
        if "conditioners" in flat:  # a condition the model lacks has width 0
            present = set(flat["conditioners"])
            for name, width_key in (("chords", "chords_dim"), ("self_wav", "drums_dim"), ("melody", "melody_dim")):
                if name not in present:
                    out[width_key] = 0
        return cls.from_dict(out)
