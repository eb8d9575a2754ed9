"""Warm start from trained weights: widening the latent, and reading an earlier run's weights."""
import json

import pytest
import torch

from jasco_core.model import FlowMatchingModel
from jasco_core.training.train import embedded_model_config
from jasco_core.training.warm_start import load_warm_start, widen_flow_dim
from tests.conftest import tiny_inputs


def small_config(**overrides):
    return embedded_model_config(dim=64, num_layers=2, num_heads=4, text_dim=8, dropout=0.0, **overrides)


def test_widened_model_keeps_the_old_velocity():
    """Warm start for a latent that gained channels: the widened model gives exactly the old
    velocity on the old channels, whatever the new channels hold, and 0 on the new ones."""
    torch.manual_seed(0)
    old = FlowMatchingModel(small_config())
    old.init_weights()
    new = FlowMatchingModel(small_config(flow_dim=64 + 5))
    new.load_state_dict(widen_flow_dim(old.state_dict(), 64, 69))
    old.eval(), new.eval()
    inputs = tiny_inputs(old, batch=3, frames=100)
    t = torch.full((3,), 0.3)
    z = torch.randn(3, 100, 64)
    extra = torch.randn(3, 100, 5)
    with torch.no_grad():
        v_old = old(z, t, old.condition_provider(inputs, 3, 100))
        v_new = new(torch.cat([z, extra], -1), t, new.condition_provider(inputs, 3, 100))
    assert float(v_old.abs().mean()) > 0.01  # a real velocity, not a zero output layer
    assert torch.allclose(v_new[..., :64], v_old, atol=1e-4)
    assert torch.equal(v_new[..., 64:], torch.zeros_like(v_new[..., 64:]))
    with pytest.raises(ValueError, match="narrow"):
        widen_flow_dim(old.state_dict(), 64, 32)


def test_load_warm_start_reads_a_run_and_widens_it(tmp_path):
    from safetensors.torch import save_file

    torch.manual_seed(0)
    cfg = small_config()
    model = FlowMatchingModel(cfg)
    model.init_weights()
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(tmp_path / "ema.safetensors"))
    (tmp_path / "model_config.json").write_text(json.dumps(cfg.to_dict()))

    same = load_warm_start(str(tmp_path), cfg)
    assert same.keys() == state.keys() and all(torch.equal(same[k], state[k]) for k in state)
    wider = load_warm_start(str(tmp_path), small_config(flow_dim=70))
    assert wider["emb.weight"].shape[1] == state["emb.weight"].shape[1] + 6
    assert wider["linear.weight"].shape[0] == 70
    FlowMatchingModel(small_config(flow_dim=70)).load_state_dict(wider)  # loads strictly


def test_a_bundle_needs_the_text_features(tmp_path):
    (tmp_path / "model_config.json").write_text(json.dumps(small_config().to_dict()))
    (tmp_path / "bundle.json").write_text("{}")
    with pytest.raises(ValueError, match="text features"):
        load_warm_start(str(tmp_path), small_config())
