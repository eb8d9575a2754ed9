"""Training the codec's pitch predictor on a real (tiny) rendered data set, and installing it."""
import json
import shutil

import pytest
import torch

from jasco_core.checkpoints import EMBEDDED_DIR, load_bundle
from jasco_core.codecs import PredictedPitchCodec
from jasco_core.training.dataset import build_dataset
from jasco_core.training.train_pitch import install_in_bundle, train_pitch_predictor


@pytest.fixture(scope="module")
def pitch_data(tmp_path_factory):
    path = tmp_path_factory.mktemp("pitch") / "data.npz"
    build_dataset(str(path), 4, first_seed=21, workers=1, duration=4.0, codec=load_bundle("embedded").codec.inner)
    return str(path)


def test_training_lowers_the_loss_and_installs(pitch_data, tmp_path):
    run = tmp_path / "run"
    train_pitch_predictor([pitch_data], str(run), minutes=0.25, batch_size=4, frames=100, threads=1)
    meta = json.loads((run / "pitch_predictor.json").read_text())
    rows = [line.split(",") for line in (run / "loss.csv").read_text().splitlines()[1:]]
    assert meta["steps"] > 0 and meta["best_val_loss"] < 1.5
    if rows:  # validation every 100 steps: when reached, the best loss is what was kept
        assert meta["best_val_loss"] == pytest.approx(min(float(r[2]) for r in rows), abs=1e-4)
    # resuming continues the step count
    train_pitch_predictor([pitch_data], str(run), minutes=0.02, batch_size=4, frames=100, threads=1)
    assert json.loads((run / "pitch_predictor.json").read_text())["steps"] > meta["steps"]
    bundle = tmp_path / "bundle"
    shutil.copytree(EMBEDDED_DIR, bundle)
    install_in_bundle(str(run), str(bundle))
    codec = load_bundle(str(bundle)).codec
    assert isinstance(codec, PredictedPitchCodec)
    from safetensors.torch import load_file
    trained = load_file(str(run / "pitch_predictor.safetensors"))
    assert all(torch.equal(v, trained[k]) for k, v in codec.predictor.state_dict().items())


def test_install_refuses_another_codec(pitch_data, tmp_path):
    run = tmp_path / "run"
    train_pitch_predictor([pitch_data], str(run), minutes=0.02, batch_size=2, frames=100, threads=1)
    bundle = tmp_path / "bundle"
    shutil.copytree(EMBEDDED_DIR, bundle)
    codec = json.loads((bundle / "codec.json").read_text())
    codec["mean"] = [m + 0.5 for m in codec["mean"]]
    (bundle / "codec.json").write_text(json.dumps(codec))
    with pytest.raises(ValueError, match="mel part"):
        install_in_bundle(str(run), str(bundle))
