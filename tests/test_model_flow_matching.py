"""FlowMatchingModel: forward, per-request caching of the conditions, time embedding."""

import torch

from jasco_core.model import null_inputs
from jasco_core.model.flow_matching import align_frames, timestep_embedding
from tests.conftest import tiny_inputs, tiny_model


def test_prepared_forward_equals_plain_forward_and_depends_on_t():
    model = tiny_model()
    inputs = tiny_inputs(model)
    tensors = model.condition_provider(inputs, 2, 20)
    z = torch.randn(2, 20, model.cfg.flow_dim)
    with torch.no_grad():
        prepared = model.prepare(tensors, 20)
        a = model(z, torch.tensor([0.3]), tensors)
        b = model.forward_prepared(z, torch.tensor([0.3]), prepared)
        c = model.forward_prepared(z, torch.tensor([0.9]), prepared)
        per_sample = model.forward_prepared(z, torch.tensor([0.3, 0.9]), prepared)
    torch.testing.assert_close(a, b)
    assert not torch.allclose(b, c)
    torch.testing.assert_close(per_sample[0], b[0], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(per_sample[1], c[1], rtol=1e-5, atol=1e-6)


def test_conditions_change_the_field():
    model = tiny_model()
    inputs = tiny_inputs(model)
    z = torch.randn(2, 20, model.cfg.flow_dim)
    t = torch.tensor([0.5])
    with torch.no_grad():
        base = model(z, t, model.condition_provider(inputs, 2, 20))
        for name in ("description", "chords", "melody", "self_wav"):
            off = null_inputs(model.cfg, inputs, (name,))
            assert not torch.allclose(base, model(z, t, model.condition_provider(off, 2, 20))), name


def test_small_helpers():
    emb = timestep_embedding(torch.tensor([0.0, 1.0]), 8)
    assert emb.shape == (2, 8) and torch.equal(emb[0, :4], torch.zeros(4)) and torch.equal(emb[0, 4:], torch.ones(4))
    c = torch.ones(1, 5, 3)
    assert align_frames(c, 3).shape == (1, 3, 3)
    padded = align_frames(c, 7)
    assert padded.shape == (1, 7, 3) and padded[:, 5:].abs().sum() == 0
