"""Conditioners: null semantics of each condition, the drums blur."""

import pytest
import torch

from jasco_core.model import null_inputs
from tests.conftest import tiny_inputs, tiny_model


def test_null_semantics():
    model = tiny_model()
    inputs = tiny_inputs(model)
    off = null_inputs(model.cfg, inputs, ("description", "chords", "melody", "self_wav"))
    assert off.text.abs().sum() == 0 and off.text_mask.sum() == 0 and off.text.shape == inputs.text.shape
    assert (off.chords == model.cfg.null_chord_index).all() and off.melody.abs().sum() == 0
    assert not off.drums_present.any()
    tensors = model.condition_provider(off, 2, 20)
    bias = model.condition_provider.conditioners["self_wav"].output_proj.bias
    torch.testing.assert_close(tensors["self_wav"][0], bias.expand(2, 20, -1))  # no drums anywhere: bias
    assert tensors["description"][0].abs().sum() == 0


def test_blur_matches_block_means():
    model = tiny_model()
    drums = model.condition_provider.conditioners["self_wav"]
    z = torch.arange(8, dtype=torch.float32).view(1, 8, 1)
    out = drums.temporal_blur(z)[0, :, 0].tolist()
    assert out[:6] == [1.0, 1.0, 1.0, 4.0, 4.0, 4.0]
    # last partial block reflect-padded: frames 6, 7 and 6 again
    assert out[6:] == pytest.approx([19 / 3, 19 / 3])
