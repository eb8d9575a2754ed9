"""A small learnt decoder stage for the mel codec: normalised log-mel latents -> log STFT magnitude.

Griffin-Lim needs a linear-frequency magnitude, and inverting a 64-band mel filterbank by least
squares spreads each band's energy over its whole width, which blurs pitch (chords suffer most).
`MagnitudeRefiner` starts from that pseudo-inverse and adds a correction predicted by a 1-D
convolutional net that sees +-8 frames of context; it is trained on rendered music
(`jasco_core.training.train_refiner`) with an L1 loss on log magnitude. Phase is still
reconstructed by Griffin-Lim.
"""
from __future__ import annotations

import torch
from torch import nn


class MagnitudeRefiner(nn.Module):
    def __init__(self, n_mels: int = 64, n_freq: int = 1025, channels: int = 256, layers: int = 4,
                 kernel: int = 5, max_log_magnitude: float = 6.5):
        super().__init__()
        self.config = dict(n_mels=n_mels, n_freq=n_freq, channels=channels, layers=layers, kernel=kernel,
                           max_log_magnitude=max_log_magnitude)
        self.max_log_magnitude = max_log_magnitude
        pad = kernel // 2
        self.inp = nn.Conv1d(n_mels, channels, kernel, padding=pad)
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.GELU(), nn.Conv1d(channels, channels, kernel, padding=pad)) for _ in range(layers))
        self.out = nn.Conv1d(channels, n_freq, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, latents: torch.Tensor, base_log_magnitude: torch.Tensor) -> torch.Tensor:
        """latents [B, T, n_mels] (normalised), base [B, n_freq, T] -> log magnitude [B, n_freq, T]."""
        h = self.inp(latents.transpose(1, 2))
        for block in self.blocks:
            h = h + block(h)
        return base_log_magnitude + self.out(torch.nn.functional.gelu(h))

    def magnitude(self, latents: torch.Tensor, base_log_magnitude: torch.Tensor) -> torch.Tensor:
        """Linear magnitude for Griffin-Lim, capped at the loudest level seen in training (a latent
        far outside the training data must not turn into a burst of noise)."""
        log_mag = self(latents, base_log_magnitude).clamp(max=self.max_log_magnitude)
        return torch.exp(log_mag)
