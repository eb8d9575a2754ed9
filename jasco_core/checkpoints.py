"""Reading model bundles and released JASCO checkpoints, and resolving model names.

Three kinds of models load through the same `ModelBundle` and the same `build_model`:

- the **embedded bundle** (`'embedded'` or a folder with `bundle.json`): `bundle.json` (name, limits,
  defaults, which text and drum encoders), `model_config.json` (`ModelConfig`), `model.safetensors`
  (audiocraft parameter names), `codec.json` (`MelCodec` config with its normalisation statistics);
- a **released audiocraft JASCO checkpoint**: a folder holding `state_dict.bin` (and usually
  `compression_state_dict.bin`), or the `state_dict.bin` file itself. `state_dict.bin` is a
  `torch.save`d dict with `best_state` (the model's tensors, audiocraft names) and `xp.cfg` (the
  experiment configuration as YAML text). It is read with `weights_only=True`: a file that needs
  code to be unpickled is refused. The text encoder is T5 (`jasco_core.text_encoders_t5`), the codec
  EnCodec 32 kHz (`jasco_core.codecs.encodec`), the drum encoder `jasco_core.drums_released`;
- a **Hugging Face repository id** such as `facebook/jasco-chords-drums-400M`, looked up in the
  local Hugging Face cache only (nothing is downloaded; a missing model gives the command to run).

`available_models()` lists the embedded model and the released ones with whether they can be
loaded here. `python -m jasco_core.checkpoints inspect PATH` prints what a checkpoint contains.
The chord vocabulary is `assets/chords/chord_vocabulary.json`.
"""
from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import logging
import math
import os
import re
import sys
import typing as tp
import zipfile

import torch

from .bundle import FeatureDrumEncoder, GenerationDefaults, ModelBundle
from .model import FlowMatchingModel, ModelConfig, build_model

logger = logging.getLogger(__name__)

ASSETS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "assets")
EMBEDDED_DIR = os.path.join(ASSETS, "embedded")
BUNDLE_FILE = "bundle.json"
STATE_FILE = "state_dict.bin"
COMPRESSION_FILE = "compression_state_dict.bin"

#: The JASCO checkpoints Meta released on the Hugging Face hub.
RELEASED_MODELS = (
    "facebook/jasco-chords-drums-400M",
    "facebook/jasco-chords-drums-1B",
    "facebook/jasco-chords-drums-melody-400M",
    "facebook/jasco-chords-drums-melody-1B",
)
#: Text encoder of every released model.
RELEASED_TEXT_ENCODER = "t5-base"

CODEC_PREFIX = "condition_provider.conditioners.self_wav.compression_model."
_REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9_.-]+$")


class CheckpointError(ValueError):
    """A model name or path cannot be loaded (field `model`)."""

    field = "model"


# ==================================================================================================
# Embedded bundle
# ==================================================================================================

def save_embedded_bundle(path: str, model: FlowMatchingModel, codec, *, name: str = "embedded",
                         defaults: tp.Optional[GenerationDefaults] = None, max_duration: float = 10.0,
                         info: tp.Optional[dict] = None) -> None:
    """Write a bundle folder atomically enough for a demo: each file is written then renamed."""
    from safetensors.torch import save_file

    os.makedirs(path, exist_ok=True)
    state = {k: v.detach().float().cpu().contiguous() for k, v in model.state_dict().items()}
    _atomic(os.path.join(path, "model.safetensors"), lambda p: save_file(state, p))
    _write_json(os.path.join(path, "model_config.json"), model.cfg.to_dict())
    _write_json(os.path.join(path, "codec.json"), {"type": "mel", **codec.to_dict()})
    _write_json(os.path.join(path, BUNDLE_FILE), {
        "format": "jasco-demo-bundle/1", "name": name, "text_encoder": {"type": "minilm"},
        "drum_encoder": {"type": "features"}, "max_duration": max_duration,
        "defaults": (defaults or GenerationDefaults()).to_dict(), "info": info or {}})


def load_embedded_bundle(path: str = EMBEDDED_DIR, device: tp.Union[str, torch.device] = "cpu") -> ModelBundle:
    from safetensors.torch import load_file

    from .codecs.mel import MelCodec
    from .conditions import load_vocabulary
    from .text_encoders import MiniLMTextEncoder

    meta = _read_json(os.path.join(path, BUNDLE_FILE))
    cfg = ModelConfig.from_dict(_read_json(os.path.join(path, "model_config.json")))
    state = load_file(os.path.join(path, "model.safetensors"))
    model = build_model(cfg, state, device=device)
    codec_cfg = _read_json(os.path.join(path, "codec.json"))
    codec_cfg.pop("type", None)
    codec = MelCodec.from_dict(codec_cfg)
    return ModelBundle(
        name=meta.get("name", "embedded"), model=model, codec=codec, text_encoder=MiniLMTextEncoder(),
        drum_encoder=FeatureDrumEncoder(cfg.drums_latent_dim) if cfg.drums_dim else None,
        vocabulary=load_vocabulary() if cfg.chords_dim else None,
        defaults=GenerationDefaults.from_dict(meta.get("defaults", {})),
        max_duration=float(meta.get("max_duration", 10.0)), info=meta.get("info", {}))


# ==================================================================================================
# Safe reading of torch files
# ==================================================================================================

def read_checkpoint(path: str) -> tp.Dict[str, tp.Any]:
    """`torch.load` restricted to tensors and plain containers (`weights_only=True`).

    A file whose unpickling would import or call code (a pickled class, function, `__reduce__`
    payload) is refused with `CheckpointError` before anything runs. Zip-format files are
    memory-mapped, so a multi-gigabyte checkpoint is not read into memory twice.
    """
    if not os.path.isfile(path):
        raise CheckpointError(f"model: no such checkpoint file: {path}")
    try:
        pkg = torch.load(path, map_location="cpu", weights_only=True, mmap=zipfile.is_zipfile(path))
    except Exception as e:  # pickle.UnpicklingError, RuntimeError, EOFError, ...
        text = str(e)
        if "weights_only" in text or "Unsupported global" in text or "Unsupported operand" in text:
            detail = [ln.strip() for ln in text.splitlines() if "nsupported" in ln] or [type(e).__name__]
            raise CheckpointError(
                f"model: {path} refused: loading it would run code stored in the file (it holds pickled "
                f"objects other than tensors and plain containers). Only checkpoints made of tensors, dicts, "
                f"lists, strings and numbers are loaded. Detail: {detail[0][:300]}") from None
        raise CheckpointError(f"model: {path} is not a readable torch checkpoint: "
                              f"{type(e).__name__}: {text[:300]}") from None
    if not isinstance(pkg, dict):
        raise CheckpointError(f"model: {path}: expected a dict at the top level, got {type(pkg).__name__}")
    return pkg


# ==================================================================================================
# xp.cfg -> ModelConfig and bundle settings
# ==================================================================================================

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
        from .guidance import Guidance
        from .solvers import SolverConfig
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

    from .text_encoders_t5 import T5_DIMS
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


def read_released(path: str) -> tp.Tuple[tp.Dict[str, torch.Tensor], ReleasedSettings]:
    """(`best_state`, settings) of a released `state_dict.bin`; the format is checked."""
    pkg = read_checkpoint(path)
    missing = [k for k in ("best_state", "xp.cfg") if k not in pkg]
    if missing:
        raise CheckpointError(f"model: {path}: not an exported JASCO checkpoint (missing {missing}; found "
                              f"{sorted(map(str, pkg))[:10]})")
    state = pkg["best_state"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"model: {path}: best_state must map names to tensors")
    settings = parse_xp_config(pkg["xp.cfg"], state, source=f"{path} (xp.cfg)")
    return state, dataclasses.replace(settings, version=str(pkg.get("version", "")))


def build_released_model(state: tp.Mapping[str, torch.Tensor], settings: ReleasedSettings, source: str = "",
                         device: tp.Union[str, torch.device, None] = None) -> FlowMatchingModel:
    """`build_model` with the checkpoint's configuration; a key or shape mismatch is a `CheckpointError`."""
    try:
        return build_model(settings.model_config, state, device=device)
    except KeyError as e:
        raise CheckpointError(f"model: {source}: best_state does not match its xp.cfg: {e.args[0]}") from None
    except RuntimeError as e:  # shape mismatch from load_state_dict
        raise CheckpointError(f"model: {source}: best_state does not match its xp.cfg: {e}") from None


def parameter_counts(state: tp.Mapping[str, torch.Tensor]) -> tp.Dict[str, int]:
    """Numbers of values in a state dict by part: transformer (with its input/output projections and
    time embedding), conditioners (their learnt projections), the codec copy kept in the drums
    conditioner, and the total."""
    counts = {"total": 0, "transformer": 0, "conditioners": 0, "codec_in_state": 0}
    for key, value in state.items():
        n = int(value.numel())
        counts["total"] += n
        if key.startswith(CODEC_PREFIX):
            counts["codec_in_state"] += n
        elif key.startswith("condition_provider."):
            counts["conditioners"] += n
        else:
            counts["transformer"] += n
    return counts


# ==================================================================================================
# The local Hugging Face cache
# ==================================================================================================

def hub_cache_dirs() -> tp.List[str]:
    """Caches searched for hub models, read from the environment at call time: `AUDIOCRAFT_CACHE_DIR`
    (where audiocraft itself stores them, when set) and the Hugging Face hub cache (`HF_HUB_CACHE`,
    else `$HF_HOME/hub`, else `~/.cache/huggingface/hub`)."""
    dirs = []
    if os.environ.get("AUDIOCRAFT_CACHE_DIR"):
        dirs.append(os.environ["AUDIOCRAFT_CACHE_DIR"])
    hub = os.environ.get("HF_HUB_CACHE") or os.environ.get("HUGGINGFACE_HUB_CACHE")
    if not hub and os.environ.get("HF_HOME"):
        hub = os.path.join(os.environ["HF_HOME"], "hub")
    if not hub:
        from huggingface_hub import constants
        hub = constants.HF_HUB_CACHE
    dirs.append(os.path.expanduser(hub))
    return dirs


def find_cached_file(repo_id: str, filename: str, cache_dirs: tp.Optional[tp.Sequence[str]] = None) -> tp.Optional[str]:
    """Path of `filename` of hub repository `repo_id` in a local cache, or None (never downloads)."""
    from huggingface_hub import hf_hub_download

    for cache in cache_dirs or hub_cache_dirs():
        try:
            return hf_hub_download(repo_id, filename, cache_dir=cache, local_files_only=True)
        except (OSError, ValueError):
            continue
    return None


def find_cached_snapshot(repo_id: str, required: tp.Sequence[str] = (),
                         cache_dirs: tp.Optional[tp.Sequence[str]] = None) -> tp.Optional[str]:
    """Folder of the cached snapshot of `repo_id` holding every file in `required`, or None."""
    from huggingface_hub import snapshot_download

    for cache in cache_dirs or hub_cache_dirs():
        try:
            folder = snapshot_download(repo_id, cache_dir=cache, local_files_only=True)
        except (OSError, ValueError):
            continue
        if all(os.path.exists(os.path.join(folder, f)) for f in required):
            return folder
    return None


def download_hint(repo_id: str, include: tp.Sequence[str] = ()) -> str:
    """The command that puts a hub repository into the cache this code reads."""
    cache = hub_cache_dirs()[-1]
    repeated = "".join(f" --include '{p}'" for p in include)                      # `hf` takes one per flag
    listed = (" --include " + " ".join(f"'{p}'" for p in include)) if include else ""  # the older CLI: one flag
    return (f"Download it with `hf download {repo_id}{repeated}` (older huggingface_hub: "
            f"`huggingface-cli download {repo_id}{listed}`); it is then stored under {cache} "
            f"(set HF_HUB_CACHE or HF_HOME to use another cache).")


# ==================================================================================================
# Name resolution
# ==================================================================================================

@dataclasses.dataclass(frozen=True)
class ModelSource:
    """Where a model name points: `kind` is 'embedded' (a bundle folder) or 'released'."""

    kind: str
    name: str
    path: str                                   # bundle folder, or the state_dict.bin file
    compression_path: tp.Optional[str] = None   # compression_state_dict.bin next to it, when present


def resolve_model(name_or_path: str, cache_dirs: tp.Optional[tp.Sequence[str]] = None) -> ModelSource:
    """'embedded'; a bundle folder; a folder with `state_dict.bin` or that file; or a hub repository
    id found in the local cache. Anything else raises `CheckpointError` saying what was expected."""
    if not isinstance(name_or_path, str) or not name_or_path.strip():
        raise CheckpointError(f"model: expected 'embedded', a checkpoint path or a Hugging Face repo id, "
                              f"got {name_or_path!r}")
    name = name_or_path.strip()
    if name == "embedded":
        if not os.path.exists(os.path.join(EMBEDDED_DIR, BUNDLE_FILE)):
            raise CheckpointError(f"model: the embedded bundle is missing from {EMBEDDED_DIR}")
        return ModelSource("embedded", "embedded", EMBEDDED_DIR)
    path = os.path.expanduser(name)
    if os.path.isdir(path):
        if os.path.exists(os.path.join(path, BUNDLE_FILE)):
            return ModelSource("embedded", os.path.basename(os.path.normpath(path)), path)
        state = os.path.join(path, STATE_FILE)
        if not os.path.isfile(state):
            raise CheckpointError(f"model: the folder {path} holds neither {BUNDLE_FILE} (a bundle) nor "
                                  f"{STATE_FILE} (a released JASCO checkpoint)")
        return ModelSource("released", os.path.basename(os.path.normpath(path)), state, _sibling(state))
    if os.path.isfile(path):
        folder = os.path.basename(os.path.dirname(os.path.abspath(path)))
        label = folder if os.path.basename(path) == STATE_FILE and folder else os.path.basename(path)
        return ModelSource("released", label, path, _sibling(path))
    if _REPO_ID.match(name) and not name.startswith((".", "~")):
        state = find_cached_file(name, STATE_FILE, cache_dirs)
        if state is None:
            raise CheckpointError(
                f"model: {name!r} is not a local file or folder, and the Hugging Face repository {name} is not in "
                f"the local cache (no downloads are made). " + download_hint(name))
        return ModelSource("released", name, state, find_cached_file(name, COMPRESSION_FILE, cache_dirs))
    raise CheckpointError(f"model: no such file or folder: {name!r} (expected 'embedded', a bundle folder, a folder "
                          f"with {STATE_FILE}, that file, or a Hugging Face repo id such as {RELEASED_MODELS[0]})")


def _sibling(state_path: str) -> tp.Optional[str]:
    p = os.path.join(os.path.dirname(os.path.abspath(state_path)), COMPRESSION_FILE)
    return p if os.path.isfile(p) else None


def available_models(cache_dirs: tp.Optional[tp.Sequence[str]] = None) -> tp.List[tp.Tuple[str, bool, str]]:
    """(name, loadable here, reason) for 'embedded' and each released model, without loading any.

    A released model needs its `state_dict.bin` and the T5 text encoder in the local cache.
    """
    from .text_encoders_t5 import t5_repo_candidates

    out = []
    if os.path.exists(os.path.join(EMBEDDED_DIR, BUNDLE_FILE)):
        out.append(("embedded", True, "bundled with the application"))
    else:
        out.append(("embedded", False, f"the embedded bundle is missing from {EMBEDDED_DIR}"))
    t5 = None
    for repo in t5_repo_candidates(RELEASED_TEXT_ENCODER):
        t5 = find_cached_snapshot(repo, ("config.json",), cache_dirs)
        if t5 and any(os.path.exists(os.path.join(t5, w)) for w in ("model.safetensors", "pytorch_model.bin")):
            break
        t5 = None
    drums_note = "" if importlib.util.find_spec("demucs") else (
        "; drums: demucs is not installed, so the uploaded audio is used as the drum stem")
    for repo in RELEASED_MODELS:
        if find_cached_file(repo, STATE_FILE, cache_dirs) is None:
            out.append((repo, False, "not downloaded. " + download_hint(repo)))
        elif t5 is None:
            out.append((repo, False, f"its text encoder {RELEASED_TEXT_ENCODER} is not downloaded. " + download_hint(
                t5_repo_candidates(RELEASED_TEXT_ENCODER)[-1], include=("*.json", "*.model", "model.safetensors"))))
        else:
            out.append((repo, True, "in the local Hugging Face cache" + drums_note))
    return out


# ==================================================================================================
# Loading a released checkpoint as a bundle
# ==================================================================================================

def load_released_bundle(source: tp.Union[str, ModelSource], device: tp.Union[str, torch.device] = "cpu",
                         cache_dirs: tp.Optional[tp.Sequence[str]] = None) -> ModelBundle:
    """A `ModelBundle` for an audiocraft JASCO checkpoint (path, folder, repo id or `ModelSource`).

    Text encoder: T5 named in `xp.cfg`, from the local cache. Codec: EnCodec built from the tensors
    stored in the drums conditioner when present, else the pretrained EnCodec named by
    `compression_state_dict.bin` (or `xp.cfg`), from the local cache.
    """
    from .conditions import MELODY_BINS, load_vocabulary
    from .drums_released import ReleasedDrumEncoder
    from .text_encoders_t5 import T5TextEncoder

    if not isinstance(source, ModelSource):
        source = resolve_model(source, cache_dirs)
    if source.kind != "released":
        raise CheckpointError(f"model: {source.path} is a bundle folder, not a released checkpoint")
    state, settings = read_released(source.path)
    cfg = settings.model_config
    if "melody" in cfg.temporal_conditions and cfg.melody_bins != MELODY_BINS:
        raise CheckpointError(f"model: {source.path}: the melody conditioner takes {cfg.melody_bins} bins; the "
                              f"melody input produces {MELODY_BINS} (MIDI 43..95)")
    vocabulary = None
    if "chords" in cfg.temporal_conditions:
        vocabulary = load_vocabulary()
        if len(vocabulary) != cfg.chords_card or vocabulary.null_index != cfg.null_chord_index:
            raise CheckpointError(f"model: {source.path}: the chord embedding has {cfg.chords_card} chords + null row "
                                  f"{cfg.null_chord_index}, the chord vocabulary {len(vocabulary)} + "
                                  f"{vocabulary.null_index}")
    text_encoder = T5TextEncoder(settings.text_encoder, device=device, cache_dirs=cache_dirs)  # fails fast if absent
    if text_encoder.dim != cfg.text_dim:
        raise CheckpointError(f"model: {source.path}: the text projection takes {cfg.text_dim} features but "
                              f"{settings.text_encoder} produces {text_encoder.dim}")
    counts = parameter_counts(state)
    model = build_released_model(state, settings, source.path)
    del state
    codec = _released_codec(model, settings, source, device, cache_dirs)
    text_encoder.load()
    drum_encoder = None
    if "self_wav" in cfg.temporal_conditions:
        if cfg.drums_latent_dim != codec.dim:
            raise CheckpointError(f"model: {source.path}: the drums conditioner takes {cfg.drums_latent_dim}-dim "
                                  f"latents, the codec produces {codec.dim}")
        drum_encoder = ReleasedDrumEncoder(codec, settings.segment_duration, device=device)
    notes = list(getattr(drum_encoder, "notes", []))
    info = {"format": "audiocraft JASCO checkpoint", "source": source.path, "version": settings.version,
            "text_encoder": f"{settings.text_encoder} ({text_encoder.folder})", "codec": codec.source,
            "latent_mean": settings.latent_mean, "latent_std": settings.latent_std,
            "drum_stem": drum_encoder.stem_source if drum_encoder else None,
            "parameters": counts, "warnings": notes}
    logger.info("loaded released JASCO model %s (%d parameters)", source.name, counts["total"])
    return ModelBundle(name=source.name, model=model, codec=codec, text_encoder=text_encoder,
                       drum_encoder=drum_encoder, vocabulary=vocabulary, defaults=settings.defaults(),
                       max_duration=settings.segment_duration, info=info)


def _released_codec(model: FlowMatchingModel, settings: ReleasedSettings, source: ModelSource,
                    device: tp.Union[str, torch.device], cache_dirs: tp.Optional[tp.Sequence[str]]):
    from .codecs.base import CodecError
    from .codecs.encodec import ENCODEC_32KHZ, EncodecCodec, encodec_config_from_state

    kwargs = dict(latent_mean=settings.latent_mean, latent_std=settings.latent_std, device=device)
    pretrained = _pretrained_codec_name(settings, source)
    conditioners = model.condition_provider.conditioners
    tensors: tp.Dict[str, torch.Tensor] = {}
    if "self_wav" in conditioners:
        tensors = {k[len("model."):]: v for k, v in conditioners["self_wav"].compression_model.named_buffers()
                   if k.startswith("model.")}
    try:
        if any(k.startswith("encoder.") for k in tensors) and any(k.startswith("decoder.") for k in tensors):
            base = dict(ENCODEC_32KHZ)
            folder = find_cached_snapshot(pretrained, ("config.json",), cache_dirs) if pretrained else None
            if folder:  # the pretrained codec's settings, when its config happens to be cached
                with open(os.path.join(folder, "config.json")) as f:
                    cached = json.load(f)
                keys = ("sampling_rate", "pad_mode", "use_causal_conv", "dilation_growth_rate", "trim_right_ratio",
                        "normalize", "target_bandwidths")
                base.update({k: cached[k] for k in keys if k in cached})
            codec = EncodecCodec.from_state_dict(tensors, encodec_config_from_state(tensors, base), share=True,
                                                 source=f"EnCodec weights stored in the checkpoint ({source.path})",
                                                 **kwargs)
        else:
            if not pretrained:
                raise CheckpointError(f"model: {source.path}: no codec weights in the checkpoint and no pretrained "
                                      "codec named by compression_state_dict.bin or xp.cfg")
            folder = find_cached_snapshot(pretrained, ("config.json",), cache_dirs)
            if folder is None:
                raise CheckpointError(f"model: the codec {pretrained} is not in the local Hugging Face cache. "
                                      + download_hint(pretrained))
            codec = EncodecCodec.from_pretrained(folder, source=f"{pretrained} ({folder})", **kwargs)
    except CodecError as e:
        raise CheckpointError(f"model: {source.path}: {e}") from None
    if codec.sample_rate != settings.sample_rate or abs(codec.frame_rate - settings.frame_rate) > 1e-6 \
            or codec.dim != settings.latent_dim:
        raise CheckpointError(f"model: {source.path}: the codec ({codec.sample_rate} Hz, "
                              f"{codec.frame_rate:g} frames/s, {codec.dim} dims) does not match xp.cfg ({settings.sample_rate} Hz, "
                              f"{settings.frame_rate:g} frames/s, {settings.latent_dim} dims)")
    return codec


def _pretrained_codec_name(settings: ReleasedSettings, source: ModelSource) -> tp.Optional[str]:
    """Hub name of the pretrained codec: `compression_state_dict.bin` -> {'pretrained': name}, else
    xp.cfg's `compression_model_checkpoint: //pretrained/<name>`."""
    if source.compression_path:
        pkg = read_checkpoint(source.compression_path)
        if isinstance(pkg.get("pretrained"), str):
            return pkg["pretrained"]
        if "best_state" in pkg:
            raise CheckpointError(f"model: {source.compression_path}: a trained audiocraft compression model is not "
                                  "supported; only the pretrained transformers EnCodec ({'pretrained': name})")
    prefix = "//pretrained/"
    if settings.compression_checkpoint.startswith(prefix):
        return settings.compression_checkpoint[len(prefix):]
    return None


# ==================================================================================================
# Dispatch
# ==================================================================================================

def load_bundle(name_or_path: str = "embedded", device: tp.Union[str, torch.device] = "cpu",
                cache_dirs: tp.Optional[tp.Sequence[str]] = None) -> ModelBundle:
    """Load any model by name (see `resolve_model`): 'embedded', a bundle folder, a released
    checkpoint folder or file, or a hub repository id in the local cache."""
    source = resolve_model(name_or_path, cache_dirs)
    if source.kind == "embedded":
        return load_embedded_bundle(source.path, device)
    return load_released_bundle(source, device, cache_dirs)


# ==================================================================================================
# inspect
# ==================================================================================================

def describe(name_or_path: str, cache_dirs: tp.Optional[tp.Sequence[str]] = None) -> tp.Dict[str, tp.Any]:
    """What a model contains, without loading its text encoder or codec: configuration, parameter
    counts, latent format and accepted conditions. The network is rebuilt to check the weights."""
    from safetensors.torch import load_file

    source = resolve_model(name_or_path, cache_dirs)
    if source.kind == "embedded":
        meta = _read_json(os.path.join(source.path, BUNDLE_FILE))
        cfg = ModelConfig.from_dict(_read_json(os.path.join(source.path, "model_config.json")))
        state = load_file(os.path.join(source.path, "model.safetensors"))
        codec = _read_json(os.path.join(source.path, "codec.json"))
        build_model(cfg, state)
        hop = codec.get("hop_length")
        sr = codec.get("sample_rate")
        out = {"name": meta.get("name", source.name), "source": source.path, "format": "embedded bundle",
               "version": meta.get("format", ""),
               "text_encoder": meta.get("text_encoder", {}).get("type"), "codec": codec.get("type", "mel"),
               "sample_rate": sr, "frame_rate": (sr / hop) if sr and hop else None,
               "max_duration": meta.get("max_duration")}
    else:
        state, settings = read_released(source.path)
        cfg = settings.model_config
        build_released_model(state, settings, source.path)
        out = {"source": source.path, "format": "audiocraft JASCO checkpoint", "version": settings.version,
               "text_encoder": settings.text_encoder,
               "codec": ("EnCodec stored in the checkpoint" if any(k.startswith(CODEC_PREFIX + "model.encoder.")
                                                                   for k in state)
                         else f"pretrained {_pretrained_codec_name(settings, source) or '?'}"),
               "sample_rate": settings.sample_rate, "frame_rate": settings.frame_rate,
               "max_duration": settings.segment_duration,
               "latent_mean": settings.latent_mean, "latent_std": settings.latent_std}
    names = {"chords": "chords", "self_wav": "drums", "melody": "melody"}
    out.setdefault("name", source.name)
    out.update({"latent_dim": cfg.flow_dim, "tensors": len(state),
                "parameters": parameter_counts(state),
                "accepts": ["text", *(names[n] for n in cfg.temporal_conditions)],
                "model_config": cfg.to_dict()})
    return out


def _format_description(d: tp.Dict[str, tp.Any]) -> str:
    p = d["parameters"]
    lines = [
        f"model:         {d['name']}",
        f"source:        {d['source']}",
        f"format:        {d['format']}" + (f" (version {d['version']})" if d.get("version") else ""),
        f"accepts:       {', '.join(d['accepts'])}",
        f"text encoder:  {d['text_encoder']}",
        f"codec:         {d['codec']}",
        f"latents:       {d['latent_dim']} dims at {d['frame_rate']:g} frames/s, audio {d['sample_rate']} Hz, "
        f"up to {d['max_duration']:g} s" if d.get("frame_rate") else f"latents:       {d['latent_dim']} dims",
    ]
    if "latent_std" in d:
        lines.append(f"normalisation: z = (latents - ({d['latent_mean']:g})) / {d['latent_std']:g}")
    lines += [
        f"tensors:       {d['tensors']}",
        "parameters:",
        f"  total           {p['total']:>14,}",
        f"  transformer     {p['transformer']:>14,}  (with input/output projections and time embedding)",
        f"  conditioners    {p['conditioners']:>14,}",
        f"  codec in state  {p['codec_in_state']:>14,}",
        "model configuration:",
    ]
    for key, value in d["model_config"].items():
        lines.append(f"  {key:<30} {value}")
    return "\n".join(lines)


def main(argv: tp.Optional[tp.Sequence[str]] = None) -> int:
    """`inspect NAME_OR_PATH [--json]` or `list`. Exit status 2 when a model cannot be read."""
    parser = argparse.ArgumentParser(prog="python -m jasco_core.checkpoints",
                                     description="Inspect JASCO checkpoints and list the models available here.")
    sub = parser.add_subparsers(dest="command", required=True)
    p_inspect = sub.add_parser("inspect", help="print a checkpoint's configuration and parameter counts")
    p_inspect.add_argument("model", help="'embedded', a checkpoint folder or state_dict.bin, or a cached repo id")
    p_inspect.add_argument("--json", action="store_true", help="print JSON")
    sub.add_parser("list", help="list the embedded and released models and whether they can be loaded here")
    args = parser.parse_args(argv)
    if args.command == "list":
        for name, ok, reason in available_models():
            print(f"{'yes' if ok else 'no ':<4} {name:<42} {reason}")
        return 0
    try:
        d = describe(args.model)
    except ValueError as e:  # CheckpointError and configuration errors
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(json.dumps(d, indent=1, default=str) if args.json else _format_description(d))
    return 0


def _read_json(path: str) -> dict:
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        raise CheckpointError(f"model: missing bundle file {path}") from None


def _write_json(path: str, data: dict) -> None:
    def write(p):
        with open(p, "w") as f:
            json.dump(data, f, indent=1)
    _atomic(path, write)


def _atomic(path: str, write: tp.Callable[[str], None]) -> None:
    tmp = path + ".tmp"
    write(tmp)
    os.replace(tmp, path)


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    sys.exit(main())
