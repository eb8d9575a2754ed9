"""A released checkpoint's `xp.cfg` (audiocraft's experiment configuration) -> `ReleasedSettings`.

Only the keys the model needs are resolved; the network's settings become a `ModelConfig` whose
names are audiocraft's, so `best_state` loads as it is.
"""
from __future__ import annotations

import dataclasses
import logging
import math
import typing as tp

import torch

from ..errors import CheckpointError
from ..model import ModelConfig
from .bundle import GenerationDefaults

__all__ = ["ReleasedSettings", "parse_xp_config", "RELEASED_TEXT_ENCODER"]

logger = logging.getLogger(__name__)

#: Text encoder of every released model.
RELEASED_TEXT_ENCODER = "t5-base"


@dataclasses.dataclass(frozen=True)
class ReleasedSettings:
    """What a released checkpoint's `xp.cfg` says, beyond the network (`model_config`)."""

    model_config: ModelConfig
    text_encoder: str                  # T5 name, e.g. 't5-base'
    sample_rate: int                   # 32000
    frame_rate: float                  # latent frames per second (50)
    latent_dim: int                    # EnCodec latent channels (128)
    latent_mean: float                 # latents are normalised as (z - mean) / std
    latent_std: float
    segment_duration: float            # training segment (10 s): the longest generation
    compression_checkpoint: str        # e.g. '//pretrained/facebook/encodec_32khz'
    cfg_coef_all: float = 5.0          # the original API's guidance defaults
    cfg_coef_txt: float = 0.0
    version: str = ""

    def defaults(self) -> GenerationDefaults:
        from ..guidance import Guidance
        from ..solvers import SolverConfig
        return GenerationDefaults(guidance=Guidance(all=self.cfg_coef_all, text=self.cfg_coef_txt),
                                  solver=SolverConfig(), duration=self.segment_duration)


_CONDITIONER_TYPES = {"description": "t5", "chords": "chords_emb", "self_wav": "drum_latents", "melody": "melody"}


def parse_xp_config(xp_cfg: tp.Union[str, tp.Mapping[str, tp.Any]],
                    best_state: tp.Optional[tp.Mapping[str, torch.Tensor]] = None,
                    source: str = "xp.cfg") -> ReleasedSettings:
    """Map an audiocraft JASCO experiment config (YAML text or a dict) to `ReleasedSettings`.

    Only the keys the model needs are resolved (interpolations such as `${sample_rate}` included),
    so unrelated training settings that cannot be resolved here (environment variables, `???`)
    do not matter. `best_state`, when given, settles the text encoder width from the projection's
    shape and is cross-checked against the T5 name.
    """
    from omegaconf import OmegaConf

    try:
        cfg = OmegaConf.create(xp_cfg if isinstance(xp_cfg, str) else dict(xp_cfg))
    except Exception as e:
        raise CheckpointError(f"model: {source}: the experiment config is not valid YAML: {e}") from None

    def get(key: str, default: tp.Any = KeyError) -> tp.Any:
        try:
            node = OmegaConf.select(cfg, key, throw_on_missing=True, default=None)
            if node is None:
                if default is KeyError:
                    raise CheckpointError(f"model: {source}: required key {key!r} is missing")
                return default
            return OmegaConf.to_container(node, resolve=True) if OmegaConf.is_config(node) else node
        except CheckpointError:
            raise
        except Exception as e:
            raise CheckpointError(f"model: {source}: cannot resolve {key!r}: {e}") from None

    if get("lm_model", "flow_matching") != "flow_matching":
        raise CheckpointError(f"model: {source}: lm_model is {get('lm_model')!r}; only JASCO flow_matching "
                              "checkpoints are supported")
    tl = dict(get("transformer_lm"))
    conds = {k: v for k, v in (get("conditioners", {}) or {}).items() if k != "args"}
    fuser = get("fuser", {}) or {}
    framerate = float(get("compression_model_framerate"))
    segment = float(get("dataset.segment_duration"))
    sample_rate = int(get("sample_rate"))
    if int(get("channels", 1)) != 1:
        raise CheckpointError(f"model: {source}: only mono models are supported, channels={get('channels')}")

    flat: tp.Dict[str, tp.Any] = {k: v for k, v in tl.items() if k not in ("n_q", "card")}
    for width in ("chords_dim", "drums_dim", "melody_dim"):   # audiocraft's default width is 0
        flat.setdefault(width, 0)
    flat["time_embedding_hidden"] = 4 * int(flat.get("time_embedding_dim", 128))
    if fuser.get("cross"):
        flat["cross_attention"] = True     # the builder forces it when a condition is cross-attended
    flat["fuser"] = fuser
    flat["cfg_dropout"] = float((get("classifier_free_guidance", {}) or {}).get("training_dropout", 0.0))
    flat["attribute_dropout"] = {k: dict(v or {}) for k, v in (get("attribute_dropout", {}) or {}).items()}
    flat["sequence_length"] = int(framerate * segment)
    flat["conditioners"] = list(conds)

    unknown = sorted(set(conds) - set(_CONDITIONER_TYPES))
    if unknown:
        raise CheckpointError(f"model: {source}: unsupported conditioners {unknown}; expected some of "
                              f"{sorted(_CONDITIONER_TYPES)}")
    args: tp.Dict[str, dict] = {}
    for name, c in conds.items():
        kind = (c or {}).get("model")
        if kind != _CONDITIONER_TYPES[name]:
            raise CheckpointError(f"model: {source}: conditioner {name!r} is {kind!r}, expected "
                                  f"{_CONDITIONER_TYPES[name]!r}")
        args[name] = dict(c.get(kind) or {})
    if "description" not in args:
        raise CheckpointError(f"model: {source}: no 'description' (T5 text) conditioner")

    from ..encoders.text_t5 import T5_DIMS
    text_name = str(args["description"].get("name", RELEASED_TEXT_ENCODER))
    if args["description"].get("normalize_text"):
        logger.warning("%s: normalize_text=True (lemmatised text) is not reproduced; the raw text is encoded", source)
    proj = (best_state or {}).get("condition_provider.conditioners.description.output_proj.weight")
    text_dim = int(proj.shape[1]) if proj is not None else T5_DIMS.get(text_name)
    if text_dim is None:
        raise CheckpointError(f"model: {source}: unknown text encoder {text_name!r} and no projection weights "
                              "to read its width from")
    if text_name in T5_DIMS and T5_DIMS[text_name] != text_dim:
        raise CheckpointError(f"model: {source}: the text projection takes {text_dim} features but {text_name} "
                              f"produces {T5_DIMS[text_name]}")
    flat["text_dim"] = text_dim

    def check_width(cond: str, out_dim: tp.Any, key: str) -> None:
        if out_dim is not None and int(out_dim) != int(flat[key]):
            raise CheckpointError(f"model: {source}: conditioners.{cond} out_dim={out_dim} but transformer_lm.{key}="
                                  f"{flat[key]}; they must be equal")

    if "chords" in args:
        card = int(args["chords"].get("card", 194))
        flat["chords_card"] = card
        flat["null_chord_index"] = card     # the extra embedding row = "no chord condition"
        check_width("chords", args["chords"].get("out_dim"), "chords_dim")
    if "self_wav" in args:
        flat["drums_latent_dim"] = int(args["self_wav"].get("compression_model_latent_dim", 128))
        flat["drums_blurring_factor"] = int(args["self_wav"].get("blurring_factor", 3))
        check_width("self_wav", args["self_wav"].get("out_dim"), "drums_dim")
    if "melody" in args:
        flat["melody_bins"] = int(args["melody"].get("card", 53))
        check_width("melody", args["melody"].get("out_dim"), "melody_dim")
    for cond, key in (("chords", "chords_dim"), ("self_wav", "drums_dim"), ("melody", "melody_dim")):
        if cond in args and not flat[key]:
            raise CheckpointError(f"model: {source}: conditioner {cond!r} exists but transformer_lm.{key} is 0")

    try:
        model_config = ModelConfig.from_flat(flat)
    except ValueError as e:
        raise CheckpointError(f"model: {source}: {e}") from None
    latent_dim = int(get("compression_model_latent_dim", model_config.flow_dim))
    if latent_dim != model_config.flow_dim:
        raise CheckpointError(f"model: {source}: flow_dim={model_config.flow_dim} differs from the codec latent "
                              f"dimension {latent_dim}")
    std = float(get("compression_model_latent_std", 1.0))
    mean = float(get("compression_model_latent_mean", 0.0))
    if not (math.isfinite(std) and std > 0 and math.isfinite(mean)):
        raise CheckpointError(f"model: {source}: invalid latent statistics mean={mean}, std={std}")
    return ReleasedSettings(
        model_config=model_config, text_encoder=text_name, sample_rate=sample_rate, frame_rate=framerate,
        latent_dim=latent_dim, latent_mean=mean, latent_std=std, segment_duration=segment,
        compression_checkpoint=str(get("compression_model_checkpoint", "")))


