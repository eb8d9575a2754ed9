"""`FlowMatchingModel`: the vector field v_theta(z_t, t | conditions) of JASCO.

    x      = emb([z_t, chords, drums, melody])  + positional embedding       # [B, T, dim]
    src    = text_proj(text) * mask + temb_proj(temb(t))                      # [B, L, dim]
    v      = linear(out_norm(transformer(x, cross_attention_src=src)))        # [B, T, D]

Everything that does not depend on (z, t) is computed once per request by `prepare()`: the
condition tensors' share of the input projection (`emb` is linear, so emb([z, c]) = W_z z + W_c c),
the positional embedding, and the text keys/values of every cross-attention layer (the time term
is added to all text positions, so its key/value projections are added per call). `forward()`
keeps the original signature and simply runs `prepare()` then `forward_prepared()`.
"""
from __future__ import annotations

import math
import typing as tp

import torch
import torch.nn.functional as F
from torch import nn

from .conditioners import ConditionProvider, ConditionTensors
from .config import ModelConfig
from .transformer import CrossAttentionCache, Transformer, init_weights_gaussian, sin_embedding


class PreparedConditions(tp.NamedTuple):
    """Per-request, (z, t)-independent inputs of `forward_prepared` (batch B*, T frames)."""
    input_term: torch.Tensor                    # [B*, T, dim]: W_c c + positional embedding
    cross_caches: tp.List[CrossAttentionCache]  # per layer: text K, V [B*, L, dim]
    frames: int


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embedding of raw t in [0, 1] (no scaling): [sin | cos], frequencies 10000^(-i/(half-1))."""
    half = dim // 2
    freqs = torch.exp(torch.arange(half, dtype=torch.float32, device=t.device) * -(math.log(10000) / (half - 1)))
    args = t.float().reshape(-1, 1) * freqs.view(1, -1)
    emb = torch.cat([torch.sin(args), torch.cos(args)], dim=1)
    return F.pad(emb, (0, 1)) if dim % 2 else emb


class FlowMatchingModel(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.condition_provider = ConditionProvider(cfg)
        self.emb = nn.Linear(cfg.emb_in_features, cfg.dim, bias=False)
        self.transformer = Transformer(cfg)
        self.out_norm = nn.LayerNorm(cfg.dim, eps=1e-5) if cfg.norm_first else None
        self.linear = nn.Linear(cfg.dim, cfg.flow_dim, bias=cfg.bias_proj)
        self.temb = nn.Module()
        self.temb.dense = nn.ModuleList([nn.Linear(cfg.time_embedding_dim, cfg.time_embedding_hidden),
                                         nn.Linear(cfg.time_embedding_hidden, cfg.time_embedding_hidden)])
        self.temb_proj = nn.Linear(cfg.time_embedding_hidden, cfg.dim)

    @property
    def flow_dim(self) -> int:
        return self.cfg.flow_dim

    def init_weights(self) -> None:
        """Training initialisation (gaussian, depth-scaled, zero biases)."""
        init_weights_gaussian(self.transformer)
        for lin in (self.emb, self.linear):
            nn.init.trunc_normal_(lin.weight, std=1 / math.sqrt(lin.weight.shape[1]))
            if lin.bias is not None:
                nn.init.zeros_(lin.bias)

    # -- time -----------------------------------------------------------------------------------
    def time_term(self, t: torch.Tensor) -> torch.Tensor:
        """temb_proj(dense1(swish(dense0(sinusoid(t))))) as [B or 1, 1, dim]."""
        h = self.temb.dense[0](timestep_embedding(t, self.cfg.time_embedding_dim).to(self.temb_proj.weight.dtype))
        h = self.temb.dense[1](h * torch.sigmoid(h))
        return self.temb_proj(h)[:, None, :]

    # -- per request ----------------------------------------------------------------------------
    def prepare(self, condition_tensors: ConditionTensors, frames: int) -> PreparedConditions:
        """Everything of the forward pass that depends only on the conditions."""
        cfg = self.cfg
        w = self.emb.weight
        parts, col = [], cfg.flow_dim
        for name in cfg.temporal_conditions:
            width = cfg.temporal_width(name)
            c = align_frames(condition_tensors[name][0], frames)
            parts.append(F.linear(c.to(w.dtype), w[:, col:col + width]))
            col += width
        text, _ = condition_tensors["description"]
        batch = text.shape[0]
        input_term = torch.zeros(batch, frames, cfg.dim, device=w.device, dtype=w.dtype)
        for p in parts:
            input_term = input_term + p
        if cfg.positional_embedding in ("sin", "sin_rope"):
            pos = sin_embedding(frames, cfg.dim, cfg.max_period, device=w.device, dtype=w.dtype)
            input_term = input_term + cfg.positional_scale * pos
        src = text.to(w.dtype)
        if cfg.cross_attention_pos_emb:
            src = src + cfg.cross_attention_pos_emb_scale * sin_embedding(src.shape[1], cfg.dim, device=w.device, dtype=w.dtype)
        return PreparedConditions(input_term, self.transformer.cross_attention_caches(src), frames)

    # -- per call -------------------------------------------------------------------------------
    def forward_prepared(self, z: torch.Tensor, t: torch.Tensor, prepared: PreparedConditions) -> torch.Tensor:
        """v_theta for latents z [B*, T, D] at time t (scalar, [1] or [B*])."""
        w = self.emb.weight
        x = F.linear(z.to(w.dtype), w[:, :self.cfg.flow_dim]) + prepared.input_term
        t = torch.as_tensor(t, device=z.device)
        kv_time = self.transformer.time_kv(self.time_term(t))
        out = self.transformer(x, prepared.cross_caches, kv_time)
        if self.out_norm is not None:
            out = self.out_norm(out)
        return self.linear(out)

    def forward(self, z: torch.Tensor, t: torch.Tensor, condition_tensors: ConditionTensors) -> torch.Tensor:
        return self.forward_prepared(z, t, self.prepare(condition_tensors, z.shape[1]))

    # -- loading --------------------------------------------------------------------------------
    def load_audiocraft_state_dict(self, state: tp.Mapping[str, torch.Tensor], strict: bool = True) -> None:
        """Load a `best_state` with audiocraft names. Tensors of a codec stored inside the drums
        conditioner are kept as buffers; `.mha.` names (non-fused attention) are accepted too.
        A missing or unexpected key raises `KeyError` listing them."""
        state = {k.replace(".mha.", "."): v for k, v in state.items()}
        bag_prefix = "condition_provider.conditioners.self_wav.compression_model."
        if "self_wav" in self.condition_provider.conditioners:
            bag = self.condition_provider.conditioners["self_wav"].compression_model
            for key, value in state.items():
                if key.startswith(bag_prefix) and not _has_buffer(bag, key[len(bag_prefix):]):
                    bag.add(key[len(bag_prefix):], value)
        result = self.load_state_dict(state, strict=False)
        missing = list(result.missing_keys)
        if strict and (missing or result.unexpected_keys):
            raise KeyError("state dict does not match the model config:"
                           f"\n  missing ({len(missing)}): {missing[:20]}"
                           f"\n  unexpected ({len(result.unexpected_keys)}): {result.unexpected_keys[:20]}")


def align_frames(c: torch.Tensor, frames: int) -> torch.Tensor:
    """Trim or zero-pad a temporal condition [B, T', C] to `frames` frames."""
    c = c[:, :frames]
    if c.shape[1] < frames:
        c = F.pad(c, (0, 0, 0, frames - c.shape[1]))
    return c


def _has_buffer(module: nn.Module, name: str) -> bool:
    try:
        module.get_buffer(name)
        return True
    except AttributeError:
        return False
