"""`T5TextEncoder`: the text encoder of the released JASCO models (T5 encoder, last hidden state).

Same conventions as the original conditioner: the prompt is tokenised with the model's tokenizer
(end-of-sequence token appended, batch padded to its longest prompt, no truncation), the encoder
runs with the attention mask, and an empty prompt keeps its single token but gets an all-zero mask
row. States of masked positions are returned as zeros; the checkpoint's own projection
(`conditioners.description.output_proj`, part of the flow-matching model) maps them to the
transformer width.

Weights are read from the local Hugging Face cache only (`local_files_only`); nothing is
downloaded. One tokenizer/model pair is loaded per process for each (folder, device).
"""
from __future__ import annotations

import json
import logging
import os
import threading
import typing as tp

import torch

from ..errors import CheckpointError, FieldError
from ..hub import DownloadProgress, download_hint, fetch, find_cached_snapshot

logger = logging.getLogger(__name__)

__all__ = ["T5TextEncoder", "T5_DIMS", "t5_repo_candidates"]

#: Hidden width of the T5 variants the original conditioner accepts.
T5_DIMS = {
    "t5-small": 512, "t5-base": 768, "t5-large": 1024, "t5-3b": 1024, "t5-11b": 1024,
    "google/flan-t5-small": 512, "google/flan-t5-base": 768, "google/flan-t5-large": 1024,
    "google/flan-t5-xl": 2048, "google/flan-t5-xxl": 4096,
}


#: The files of a T5 repository the encoder needs: its configuration, tokenizer and safetensors weights
#: (not the TensorFlow, Flax or Rust copies).
T5_FILES = ("config.json", "spiece.model", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
            "model.safetensors")


def t5_repo_candidates(name: str) -> tp.List[str]:
    """Hub repositories under which `name` may be cached: the original T5 checkpoints moved from
    `t5-base` to `google-t5/t5-base`, and either may be in a user's cache."""
    names = [name]
    if "/" not in name and name.startswith("t5-"):
        names.append(f"google-t5/{name}")
    elif name.startswith("google-t5/"):
        names.append(name.split("/", 1)[1])
    return names


_LOADED: tp.Dict[tp.Tuple[str, str], tp.Tuple[tp.Any, torch.nn.Module]] = {}
_LOAD_LOCK = threading.Lock()


class T5TextEncoder:
    """`encode(texts) -> (states [B, L, dim] float32, mask [B, L] int64)` with a cached T5 encoder.

    `name` is a T5 repository name (`t5-base`, `google/flan-t5-base`, ...) looked up in the local
    Hugging Face cache, or a local folder. Raises `CheckpointError` (field `model`) when absent,
    with the command that downloads it.
    """

    def __init__(self, name: str = "t5-base", device: tp.Union[str, torch.device] = "cpu",
                 cache_dirs: tp.Optional[tp.Sequence[str]] = None, *, download: bool = False,
                 progress: tp.Optional[DownloadProgress] = None):
        self.name = name
        self.device = torch.device(device)
        if os.path.isdir(name):
            folder = name
        else:
            folder = None
            for repo in t5_repo_candidates(name):
                folder = find_cached_snapshot(repo, ("config.json",), cache_dirs)
                if folder:
                    break
            if folder is None and download:
                folder = fetch(t5_repo_candidates(name)[-1], T5_FILES, required=("config.json",), progress=progress,
                               what="text encoder")
            if folder is None:
                raise CheckpointError(
                    f"model: the text encoder {name!r} is not in the local Hugging Face cache. "
                    + download_hint(t5_repo_candidates(name)[-1], include=T5_FILES))
        self.folder = folder
        self.dim = _hidden_size(folder)

    def load(self) -> "T5TextEncoder":
        """Load the tokenizer and encoder now (otherwise on the first `encode`)."""
        self._parts()
        return self

    def _parts(self) -> tp.Tuple[tp.Any, torch.nn.Module]:
        key = (self.folder, str(self.device))
        with _LOAD_LOCK:
            if key not in _LOADED:
                from transformers import AutoTokenizer, T5EncoderModel
                try:
                    tokenizer = AutoTokenizer.from_pretrained(self.folder, local_files_only=True)
                    model = T5EncoderModel.from_pretrained(self.folder, local_files_only=True).float()
                except (OSError, ValueError) as e:
                    raise CheckpointError(f"model: cannot load the text encoder {self.name!r} from "
                                          f"{self.folder}: {e}") from e
                model.eval().requires_grad_(False).to(self.device)
                _LOADED[key] = (tokenizer, model)
                logger.info("loaded T5 text encoder %s from %s on %s", self.name, self.folder, self.device)
            return _LOADED[key]

    @torch.inference_mode()
    def encode(self, texts: tp.Sequence[str]) -> tp.Tuple[torch.Tensor, torch.Tensor]:
        if isinstance(texts, str) or not all(t is None or isinstance(t, str) for t in texts) or not len(texts):
            raise FieldError("text", f"expected a non-empty list of strings, got {texts!r}")
        tokenizer, model = self._parts()
        entries = ["" if t is None else t for t in texts]
        batch = tokenizer(entries, return_tensors="pt", padding=True)
        mask = batch["attention_mask"].long()
        for i, entry in enumerate(entries):
            if not entry.strip():
                mask[i] = 0            # no text: the whole row is masked out
        ids = batch["input_ids"].to(self.device)
        states = model(input_ids=ids, attention_mask=mask.to(self.device)).last_hidden_state.float()
        states = states * mask.to(self.device).unsqueeze(-1)
        return states, mask.to(self.device)


def _hidden_size(folder: str) -> int:
    try:
        with open(os.path.join(folder, "config.json")) as f:
            return int(json.load(f)["d_model"])
    except (OSError, ValueError, KeyError) as e:
        raise CheckpointError(f"model: {folder}/config.json is not a T5 configuration (no d_model): {e}") from e
