"""The transformer of the flow-matching model: audiocraft-compatible parameter names, plain PyTorch.

Read top to bottom: positional embeddings, attention, one layer, the stack (with optional U-Net skip
connections). Attention uses `scaled_dot_product_attention` (fused kernels on CPU and CUDA). The
cross-attention keys and values are split into a per-request part (text) and a per-call part (the
time embedding) so that the text side is projected once per request, see `CrossAttentionCache`.
"""
from __future__ import annotations

import math
import typing as tp

import torch
import torch.nn.functional as F
from torch import nn

from .config import ModelConfig


# -- positional embeddings ----------------------------------------------------------------------
def sin_embedding(length: int, dim: int, max_period: float = 10_000.0, *, device=None,
                  dtype=torch.float32) -> torch.Tensor:
    """[length, dim] sinusoidal embedding, cos half first, positions from 0 (audiocraft layout).

    Computed in float32 whatever `dtype` (bf16 cannot even represent every position up to 500)."""
    half = dim // 2
    positions = torch.arange(length, device=device, dtype=torch.float32).view(-1, 1)
    index = torch.arange(half, device=device, dtype=torch.float32).view(1, -1)
    phase = positions / (torch.full([], max_period, device=device, dtype=torch.float32) ** (index / (half - 1)))
    return torch.cat([torch.cos(phase), torch.sin(phase)], dim=-1).to(dtype)


class XPosDecay(nn.Module):
    """xPos exponential decay rates of the rotary embedding (buffer `decay_rates`)."""

    def __init__(self, head_dim: int, smoothing: float = 0.4, base_scale: int = 512):
        super().__init__()
        half = head_dim // 2
        self.base_scale = base_scale
        self.register_buffer("decay_rates", (torch.arange(half, dtype=torch.float32) / half + smoothing) / (1.0 + smoothing))

    def forward(self, positions: torch.Tensor) -> torch.Tensor:  # [T] -> [T, hd/2]
        return self.decay_rates ** (positions / self.base_scale).unsqueeze(-1)


class RotaryEmbedding(nn.Module):
    """Rotary position embedding (optionally with xPos decay) applied to queries and keys.

    Buffers are persistent, as in the original, so released state dicts carry `rope.frequencies`."""

    def __init__(self, head_dim: int, max_period: float, xpos: bool, scale: float):
        super().__init__()
        index = torch.arange(0, head_dim, 2, dtype=torch.float32)[: head_dim // 2]
        self.register_buffer("frequencies", 1.0 / (max_period ** (index / head_dim)))
        self.scale = scale
        self.xpos = XPosDecay(head_dim) if xpos else None

    def _rotate(self, x: torch.Tensor, invert_decay: bool) -> torch.Tensor:  # x [B, H, T, hd]
        T = x.shape[2]
        idx = torch.arange(T, device=x.device, dtype=torch.float32)
        rotation = torch.polar(torch.ones(T, self.frequencies.numel(), device=x.device),
                               torch.outer(idx, self.frequencies))
        if self.xpos is not None:
            decay = self.xpos(idx)
            rotation = rotation * (1.0 / decay if invert_decay else decay)
        rotation = rotation * self.scale + (1.0 - self.scale)
        xc = torch.view_as_complex(x.float().reshape(*x.shape[:-1], -1, 2))
        return torch.view_as_real(xc * rotation).view_as(x).type_as(x)

    def forward(self, q: torch.Tensor, k: torch.Tensor) -> tp.Tuple[torch.Tensor, torch.Tensor]:
        return self._rotate(q, invert_decay=False), self._rotate(k, invert_decay=True)


class LayerScale(nn.Module):
    """Learnt per-channel scale of a residual branch (parameter name `scale`)."""

    def __init__(self, channels: int, init: float):
        super().__init__()
        self.scale = nn.Parameter(torch.full((channels,), init))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale * x


# -- attention ----------------------------------------------------------------------------------
class MultiheadAttention(nn.Module):
    """Multi-head attention with one packed `in_proj_weight` ([q; k; v] rows) and `out_proj`.

    No attention mask is applied (as in the original: padded text tokens are attended to).
    """

    def __init__(self, cfg: ModelConfig, cross: bool, rope: tp.Optional[RotaryEmbedding] = None):
        super().__init__()
        dim, heads = cfg.dim, cfg.num_heads
        self.num_heads = heads
        self.cross = cross
        self.kv_repeat = 1 if cross else cfg.kv_repeat
        self.causal = cfg.causal and not cross
        self.past_context = cfg.past_context if self.causal else None
        self.as_float32 = cfg.attention_as_float32
        self.dropout = cfg.dropout if cfg.attention_dropout is None else cfg.attention_dropout
        kv_dim = (dim // heads) * (heads // self.kv_repeat)
        self.in_proj_weight = nn.Parameter(torch.empty(dim + 2 * kv_dim, dim))
        self.in_proj_bias = nn.Parameter(torch.zeros(dim + 2 * kv_dim)) if cfg.bias_attn else None
        self.out_proj = nn.Linear(dim, dim, bias=cfg.bias_attn)
        nn.init.xavier_uniform_(self.in_proj_weight)
        self.rope = rope
        qk_norm = cfg.qk_layer_norm_cross if cross else cfg.qk_layer_norm
        if qk_norm:
            self.q_layer_norm = nn.LayerNorm(dim)
            self.k_layer_norm = nn.LayerNorm(kv_dim)
        self.qk_norm = qk_norm

    def _split(self, x: torch.Tensor, heads: int) -> torch.Tensor:  # [B, T, h*d] -> [B, h, T, d]
        B, T, _ = x.shape
        return x.view(B, T, heads, -1).transpose(1, 2)

    def project_kv(self, src: torch.Tensor) -> tp.Tuple[torch.Tensor, torch.Tensor]:
        """Keys and values of a source sequence, before the head split: ([B, S, kv], [B, S, kv])."""
        dim = self.out_proj.in_features
        kv_dim = (self.in_proj_weight.shape[0] - dim) // 2
        w_k, w_v = self.in_proj_weight[dim:dim + kv_dim], self.in_proj_weight[dim + kv_dim:]
        b_k = b_v = None
        if self.in_proj_bias is not None:
            b_k, b_v = self.in_proj_bias[dim:dim + kv_dim], self.in_proj_bias[dim + kv_dim:]
        return F.linear(src, w_k, b_k), F.linear(src, w_v, b_v)

    def attend(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """q [B, T, dim], k/v [B, S, kv] (already projected) -> output [B, T, dim]."""
        heads = self.num_heads
        if self.qk_norm:
            q, k = self.q_layer_norm(q), self.k_layer_norm(k)
        q, k, v = self._split(q, heads), self._split(k, heads // self.kv_repeat), self._split(v, heads // self.kv_repeat)
        if self.rope is not None:
            q, k = self.rope(q, k)
        if self.kv_repeat > 1:
            k = k.repeat_interleave(self.kv_repeat, dim=1)
            v = v.repeat_interleave(self.kv_repeat, dim=1)
        dtype = q.dtype
        if self.as_float32:
            q, k, v = q.float(), k.float(), v.float()
        mask = None
        if self.causal:
            T, S = q.shape[2], k.shape[2]
            delta = torch.arange(T, device=q.device).view(-1, 1) - torch.arange(S, device=q.device).view(1, -1)
            mask = delta >= 0
            if self.past_context is not None:
                mask &= delta <= self.past_context
        p = self.dropout if self.training else 0.0
        x = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p).to(dtype)
        B, H, T, d = x.shape
        return self.out_proj(x.transpose(1, 2).reshape(B, T, H * d))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Self-attention of x [B, T, dim]."""
        projected = F.linear(x, self.in_proj_weight, self.in_proj_bias)
        dim = x.shape[-1]
        kv_dim = (projected.shape[-1] - dim) // 2
        q, k, v = projected.split([dim, kv_dim, kv_dim], dim=-1)
        return self.attend(q, k, v)

    def query(self, x: torch.Tensor) -> torch.Tensor:
        dim = x.shape[-1]
        bias = None if self.in_proj_bias is None else self.in_proj_bias[:dim]
        return F.linear(x, self.in_proj_weight[:dim], bias)


class CrossAttentionCache(tp.NamedTuple):
    """Per-request cross-attention inputs of one layer: K and V of the text source ([B, L, dim]),
    plus the key/value projection of the time term, which is added per call."""
    k_text: torch.Tensor
    v_text: torch.Tensor


# -- one layer ----------------------------------------------------------------------------------
class TransformerLayer(nn.Module):
    """Self-attention, cross-attention to the text(+time) source, feed-forward; pre- or post-norm."""

    def __init__(self, cfg: ModelConfig, rope: tp.Optional[RotaryEmbedding]):
        super().__init__()
        dim, hidden = cfg.dim, int(cfg.hidden_scale * cfg.dim)
        self.norm_first = cfg.norm_first
        self.self_attn = MultiheadAttention(cfg, cross=False, rope=rope)
        self.cross_attention = MultiheadAttention(cfg, cross=True)
        self.linear1 = nn.Linear(dim, hidden, bias=cfg.bias_ff)
        self.linear2 = nn.Linear(hidden, dim, bias=cfg.bias_ff)
        self.norm1 = nn.LayerNorm(dim, eps=1e-5)
        self.norm2 = nn.LayerNorm(dim, eps=1e-5)
        self.norm_cross = nn.LayerNorm(dim, eps=1e-5)
        if cfg.layer_scale is None:
            self.layer_scale_1 = self.layer_scale_2 = self.layer_scale_cross = nn.Identity()
        else:
            self.layer_scale_1 = LayerScale(dim, cfg.layer_scale)
            self.layer_scale_2 = LayerScale(dim, cfg.layer_scale)
            self.layer_scale_cross = LayerScale(dim, cfg.layer_scale)
        self.activation = F.gelu if cfg.activation == "gelu" else F.relu
        self.dropout = nn.Dropout(cfg.dropout)

    def _cross(self, x: torch.Tensor, cache: CrossAttentionCache, kv_time: tp.Tuple[torch.Tensor, torch.Tensor]):
        k_time, v_time = kv_time  # [B or 1, 1, dim]: projection of the time term, shared by all L keys
        return self.cross_attention.attend(self.cross_attention.query(x), cache.k_text + k_time, cache.v_text + v_time)

    def _ff(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear2(self.dropout(self.activation(self.linear1(x))))

    def forward(self, x: torch.Tensor, cache: CrossAttentionCache, kv_time) -> torch.Tensor:
        if self.norm_first:
            x = x + self.dropout(self.layer_scale_1(self.self_attn(self.norm1(x))))
            x = x + self.dropout(self.layer_scale_cross(self._cross(self.norm_cross(x), cache, kv_time)))
            return x + self.dropout(self.layer_scale_2(self._ff(self.norm2(x))))
        # Post-norm. As in the original, the cross-attention queries come from the layer *input*.
        src = x
        x = self.norm1(x + self.dropout(self.layer_scale_1(self.self_attn(x))))
        x = self.norm_cross(x + self.dropout(self.layer_scale_cross(self._cross(src, cache, kv_time))))
        return self.norm2(x + self.dropout(self.layer_scale_2(self._ff(x))))


# -- the stack ----------------------------------------------------------------------------------
class Transformer(nn.Module):
    """`layers` (+ `skip_projections` when U-Net skip connections are on). The sinusoidal positional
    embedding is added by the caller (it is folded into the per-request input term)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.rope = None
        if cfg.positional_embedding in ("rope", "sin_rope"):
            self.rope = RotaryEmbedding(cfg.dim // cfg.num_heads, cfg.max_period, cfg.xpos, cfg.positional_scale)
        self.layers = nn.ModuleList(TransformerLayer(cfg, self.rope) for _ in range(cfg.num_layers))
        self.skip_connections = cfg.skip_connections
        self.layer_dropout_p = min(max(cfg.layer_dropout_p or 0.0, 0.0), 1.0)
        if cfg.skip_connections:
            self.skip_projections = nn.ModuleList(
                nn.Linear(2 * cfg.dim, cfg.dim) for _ in range(cfg.num_layers // 2))

    def cross_attention_caches(self, text: torch.Tensor) -> tp.List[CrossAttentionCache]:
        return [CrossAttentionCache(*layer.cross_attention.project_kv(text)) for layer in self.layers]

    def time_kv(self, time_term: torch.Tensor) -> tp.List[tp.Tuple[torch.Tensor, torch.Tensor]]:
        """Key/value projections (no bias) of the time term [B or 1, 1, dim], per layer."""
        out = []
        for layer in self.layers:
            attn = layer.cross_attention
            dim = attn.out_proj.in_features
            kv_dim = (attn.in_proj_weight.shape[0] - dim) // 2
            w = attn.in_proj_weight[dim:]
            kv = F.linear(time_term, w)
            out.append((kv[..., :kv_dim], kv[..., kv_dim:]))
        return out

    def forward(self, x: torch.Tensor, caches: tp.Sequence[CrossAttentionCache], kv_time) -> torch.Tensor:
        n = len(self.layers)
        skips: tp.List[torch.Tensor] = []
        for i, layer in enumerate(self.layers):
            if self.skip_connections and i >= n // 2:
                x = self.skip_projections[i % len(self.skip_projections)](torch.cat([x, skips.pop()], dim=-1))
            x = layer(x, caches[i], kv_time[i])
            if self.skip_connections and i < n // 2:
                drop = self.training and torch.rand(1).item() < self.layer_dropout_p
                skips.append(torch.zeros_like(x) if drop else x)
        return x


def init_weights_gaussian(model: nn.Module, depthwise: bool = True) -> None:
    """Training init in the spirit of the original (`weight_init=gaussian`, `depthwise_init=current`,
    zero biases): N(0, std) with std = 1/sqrt(fan_in), divided by sqrt(2 * depth) inside layer `depth`."""
    for depth, layer in enumerate(getattr(model, "layers", []), start=1):
        for m in layer.modules():
            weight = getattr(m, "in_proj_weight", None)
            if weight is None and isinstance(m, nn.Linear):
                weight = m.weight
            if weight is None:
                continue
            std = 1.0 / math.sqrt(weight.shape[1])
            if depthwise:
                std /= math.sqrt(2 * depth)
            nn.init.trunc_normal_(weight, std=std, a=-3 * std, b=3 * std)
            for name in ("bias", "in_proj_bias"):
                b = getattr(m, name, None)
                if isinstance(b, torch.Tensor):
                    nn.init.zeros_(b)
