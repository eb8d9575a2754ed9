"""Tensor side of the conditioners: per-request condition inputs -> condition tensors.

Names and maths follow audiocraft's JASCO conditioners so released `best_state` dicts load as they
are (`condition_provider.conditioners.<name>.*`):

| name        | input (per row)                           | tensor                              |
|-------------|-------------------------------------------|-------------------------------------|
| description | text-encoder states [L, text_dim] + mask  | `output_proj(states) * mask`        |
| chords      | frame chord ids [T]                       | `emb(ids)` (row `null_chord_index` = no chords / dropped) |
| melody      | salience [bins, T]                        | `output_proj(salience^T)`           |
| self_wav    | drum latents [T, drums_latent_dim]        | `output_proj(temporal_blur(latents))` |

What turning a condition *off* means (absent, or dropped by a guidance term) is defined here too,
in `null_inputs`; the guidance module only decides which rows are off.
"""
from __future__ import annotations

import dataclasses
import typing as tp

import torch
import torch.nn.functional as F
from torch import nn

from .config import ModelConfig

ConditionTensors = tp.Dict[str, tp.Tuple[torch.Tensor, torch.Tensor]]


@dataclasses.dataclass
class ConditionInputs:
    """Encoded conditions of a batch of B rows, before the conditioners' learnt projections.

    `text`/`text_mask`: [B, L, text_dim] / [B, L] (int); rows with an all-zero mask have no text.
    `chords`: [B, T] int64 frame chord ids. `melody`: [B, bins, T] salience. `drums`: [B, T, C] drum
    latents; `drums_present`: [B] bool, False for rows without drums. `drums_silence`: [C] or [T, C],
    the drum latents that a silent stem gives (what null rows receive when other rows have drums).
    A field left to None means "off" for every row.
    """
    text: tp.Optional[torch.Tensor] = None
    text_mask: tp.Optional[torch.Tensor] = None
    chords: tp.Optional[torch.Tensor] = None
    melody: tp.Optional[torch.Tensor] = None
    drums: tp.Optional[torch.Tensor] = None
    drums_present: tp.Optional[torch.Tensor] = None
    drums_silence: tp.Optional[torch.Tensor] = None

    def to(self, device) -> "ConditionInputs":
        return ConditionInputs(**{k: (v.to(device) if isinstance(v, torch.Tensor) else v)
                                  for k, v in dataclasses.asdict(self).items()})


class TensorBag(nn.Module):
    """Holds tensors under arbitrary dotted names as buffers, so that the weights of a codec that a
    checkpoint stores inside the drums conditioner (`self_wav.compression_model.*`) load strictly and
    stay available (e.g. the first RVQ codebook that maps drum codes to latents)."""

    def add(self, name: str, tensor: torch.Tensor) -> None:
        module: nn.Module = self
        *path, leaf = name.split(".")
        for part in path:
            if not hasattr(module, part):
                module.add_module(part, nn.Module())
            module = getattr(module, part)
        module.register_buffer(leaf, tensor.clone())

    def get(self, name: str) -> torch.Tensor:
        return self.get_buffer(name)


class TextConditioner(nn.Module):
    def __init__(self, text_dim: int, dim: int):
        super().__init__()
        self.output_proj = nn.Linear(text_dim, dim)

    def forward(self, states: torch.Tensor, mask: torch.Tensor) -> tp.Tuple[torch.Tensor, torch.Tensor]:
        embeds = self.output_proj(states.to(self.output_proj.weight.dtype))
        return embeds * mask.unsqueeze(-1), mask


class ChordsConditioner(nn.Module):
    def __init__(self, card: int, out_dim: int):
        super().__init__()
        self.emb = nn.Embedding(card + 1, out_dim)  # last row: the null chord

    def forward(self, frame_chords: torch.Tensor) -> tp.Tuple[torch.Tensor, torch.Tensor]:
        embeds = self.emb(frame_chords)
        return embeds, torch.ones_like(embeds[..., 0])


class MelodyConditioner(nn.Module):
    def __init__(self, bins: int, out_dim: int):
        super().__init__()
        self.output_proj = nn.Linear(bins, out_dim)

    def forward(self, salience: torch.Tensor) -> tp.Tuple[torch.Tensor, torch.Tensor]:
        embeds = self.output_proj(salience.transpose(1, 2).to(self.output_proj.weight.dtype))
        return embeds, torch.ones_like(embeds[..., 0])


class DrumsConditioner(nn.Module):
    """Blurs drum latents over blocks of `blurring_factor` frames, then projects them."""

    def __init__(self, latent_dim: int, out_dim: int, blurring_factor: int):
        super().__init__()
        self.output_proj = nn.Linear(latent_dim, out_dim)
        self.blurring_factor = blurring_factor
        self.compression_model = TensorBag()

    def codes_to_latents(self, codes: torch.Tensor) -> torch.Tensor:
        """Coarsest-codebook codes [B, T] -> latents [B, T, C] through the stored first codebook."""
        codebook = self.compression_model.get("model.quantizer.layers.0.codebook.embed")
        return F.embedding(codes.long(), codebook)

    def temporal_blur(self, z: torch.Tensor) -> torch.Tensor:
        """Mean over consecutive blocks of `blurring_factor` frames (end reflect-padded), repeated."""
        f = self.blurring_factor
        B, T, C = z.shape
        if f <= 1:
            return z
        if T % f:
            z = F.pad(z, (0, 0, 0, f - T % f), mode="reflect")
        z = z.reshape(B, -1, f, C).sum(dim=2) / f
        return z.repeat_interleave(f, dim=1)[:, :T]

    def forward(self, latents: torch.Tensor, blur: bool = True) -> tp.Tuple[torch.Tensor, torch.Tensor]:
        x = self.temporal_blur(latents) if blur else latents
        embeds = self.output_proj(x.to(self.output_proj.weight.dtype))
        return embeds, torch.ones_like(embeds[..., 0])


class ConditionProvider(nn.Module):
    """The model's conditioners (`conditioners.<name>`) and the rules for switching them off."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        conditioners: tp.Dict[str, nn.Module] = {"description": TextConditioner(cfg.text_dim, cfg.dim)}
        if cfg.chords_dim:
            conditioners["chords"] = ChordsConditioner(cfg.chords_card, cfg.chords_dim)
        if cfg.drums_dim:
            conditioners["self_wav"] = DrumsConditioner(cfg.drums_latent_dim, cfg.drums_dim, cfg.drums_blurring_factor)
        if cfg.melody_dim:
            conditioners["melody"] = MelodyConditioner(cfg.melody_bins, cfg.melody_dim)
        self.conditioners = nn.ModuleDict(conditioners)

    def forward(self, inputs: ConditionInputs, batch: int, frames: int) -> ConditionTensors:
        """Condition tensors for `batch` rows of `frames` frames; None fields are treated as off."""
        cfg = self.cfg
        device = self.conditioners["description"].output_proj.weight.device
        out: ConditionTensors = {}
        if inputs.text is None:
            text = torch.zeros(batch, 1, cfg.text_dim, device=device)
            mask = torch.zeros(batch, 1, dtype=torch.long, device=device)
        else:
            text, mask = inputs.text, inputs.text_mask
        out["description"] = self.conditioners["description"](text, mask)
        if "chords" in self.conditioners:
            chords = inputs.chords
            if chords is None:
                chords = torch.full((batch, frames), cfg.null_chord_index, dtype=torch.long, device=device)
            out["chords"] = self.conditioners["chords"](chords)
        if "self_wav" in self.conditioners:
            drums = inputs.drums
            if drums is None or (inputs.drums_present is not None and not bool(inputs.drums_present.any())):
                # No row has drums: the original's shortcut, zero latents without blur (-> bias).
                zeros = torch.zeros(batch, frames, cfg.drums_latent_dim, device=device)
                out["self_wav"] = self.conditioners["self_wav"](zeros, blur=False)
            else:
                if inputs.drums_present is not None and not bool(inputs.drums_present.all()):
                    silence = _silence_like(inputs.drums_silence, drums)
                    drums = torch.where(inputs.drums_present.view(-1, 1, 1), drums, silence)
                out["self_wav"] = self.conditioners["self_wav"](drums)
        if "melody" in self.conditioners:
            melody = inputs.melody
            if melody is None:
                melody = torch.zeros(batch, cfg.melody_bins, frames, device=device)
            out["melody"] = self.conditioners["melody"](melody)
        return out


def _silence_like(silence: tp.Optional[torch.Tensor], drums: torch.Tensor) -> torch.Tensor:
    if silence is None:
        return torch.zeros_like(drums[:1])
    silence = silence.to(drums)
    if silence.dim() == 1:
        silence = silence.view(1, 1, -1).expand(1, drums.shape[1], -1)
    elif silence.dim() == 2:
        silence = silence[: drums.shape[1]].unsqueeze(0)
    return silence


def null_inputs(cfg: ModelConfig, inputs: ConditionInputs, drop: tp.Collection[str]) -> ConditionInputs:
    """The same rows with the conditions in `drop` switched off ("description" = text).

    Text: zero states with an all-zero mask, keeping the padded length L of the request (the
    original batches all guidance terms together, so null text rows carry the request's L).
    Chords: every frame the null index. Melody: zero salience. Drums: marked absent (the row then
    receives the latents of a silent stem, or zeros when no row of the batch has drums).
    """
    out = dataclasses.replace(inputs)
    if "description" in drop and inputs.text is not None:
        out.text = torch.zeros_like(inputs.text)
        out.text_mask = torch.zeros_like(inputs.text_mask)
    if "chords" in drop and inputs.chords is not None:
        out.chords = torch.full_like(inputs.chords, cfg.null_chord_index)
    if "melody" in drop and inputs.melody is not None:
        out.melody = torch.zeros_like(inputs.melody)
    if "self_wav" in drop and inputs.drums is not None:
        out.drums_present = torch.zeros(inputs.drums.shape[0], dtype=torch.bool, device=inputs.drums.device)
    return out


def concat_inputs(parts: tp.Sequence[ConditionInputs]) -> ConditionInputs:
    """Stack the rows of several `ConditionInputs` (guidance terms) into one batch."""
    def cat(name):
        values = [getattr(p, name) for p in parts]
        if all(v is None for v in values):
            return None
        if any(v is None for v in values):
            raise ValueError(f"cannot batch condition inputs: {name!r} is set for some terms only")
        return torch.cat(values, dim=0)

    drums_present = None
    if any(p.drums is not None for p in parts):
        drums_present = torch.cat([
            p.drums_present if p.drums_present is not None
            else torch.ones(p.drums.shape[0], dtype=torch.bool, device=p.drums.device) for p in parts])
    return ConditionInputs(text=cat("text"), text_mask=cat("text_mask"), chords=cat("chords"),
                           melody=cat("melody"), drums=cat("drums"), drums_present=drums_present,
                           drums_silence=parts[0].drums_silence)
