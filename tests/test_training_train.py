"""Training objective, optimiser step and the text-projection fold, on real rendered data."""
import numpy as np
import pytest
import torch

from jasco_core.model import FlowMatchingModel
from jasco_core.training.text_features import fit_pca, reduce
from jasco_core.training.train import TrainConfig, TrainingData, embedded_model_config, flow_matching_loss, make_batch


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    from jasco_core.conditions.melody import midi_to_bin
    from jasco_core.training.dataset import build_dataset
    root = tmp_path_factory.mktemp("train")
    data = root / "data.npz"
    build_dataset(str(data), 3, first_seed=7, workers=1, duration=3.0)
    with np.load(data) as d:
        n = len(d["descriptions"])
    rng = np.random.default_rng(0)
    states = rng.standard_normal((n, 6, 384)).astype(np.float32)
    mask = np.ones((n, 6), np.int8)
    mean, comps, _ = fit_pca(states, mask, 8)
    text = root / "text.npz"
    np.savez(text, states=reduce(states, mask, mean, comps).astype(np.float16), mask=mask,
             pca_mean=mean, pca_components=comps, pca_variance_kept=np.float32(1))
    lut = np.array([midi_to_bin(p) for p in range(128)])
    return TrainingData([str(data)], [str(text)], torch.device("cpu"), lut)


def test_one_step_lowers_the_loss_on_a_fixed_batch(tiny_data):
    torch.manual_seed(0)
    cfg = embedded_model_config(dim=64, num_layers=2, num_heads=4, text_dim=8, dropout=0.0)
    model = FlowMatchingModel(cfg)
    model.init_weights()
    tc = TrainConfig(batch_size=3, min_frames=100)
    idx = torch.arange(3)
    z1, inputs = make_batch(tiny_data, idx, 150, cfg, tc, torch.Generator().manual_seed(1))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)

    def loss():
        return flow_matching_loss(model, z1, inputs, torch.Generator().manual_seed(2))  # same noise and t

    before = loss()
    opt.zero_grad()
    before.backward()
    opt.step()
    with torch.no_grad():
        after = loss()
    assert after.item() < before.item()


def test_batches_carry_the_real_conditions(tiny_data):
    cfg = embedded_model_config(dim=64, num_layers=2, num_heads=4, text_dim=8)
    tc = TrainConfig(min_frames=150)
    z1, inputs = make_batch(tiny_data, torch.arange(3), 150, cfg, tc, torch.Generator().manual_seed(0), drop=False)
    assert z1.shape == (3, 150, 64)
    assert inputs.chords.shape == (3, 150) and (inputs.chords < 194).all()
    voiced = inputs.melody.sum(1)  # one-hot per voiced frame
    assert set(voiced.unique().tolist()) <= {0.0, 1.0} and voiced.sum() > 0
    assert inputs.drums.shape == (3, 150, 4)
