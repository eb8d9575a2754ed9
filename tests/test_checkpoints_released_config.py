"""`parse_xp_config`: an audiocraft `xp.cfg` -> `ReleasedSettings`, and its clear errors."""
import pytest
import torch

from jasco_core import checkpoints as ck
from jasco_core.checkpoints import CheckpointError


def test_config_mismatches_are_clear(reference_state, tmp_path):
    from omegaconf import OmegaConf

    pkg = torch.load(reference_state, map_location="cpu", weights_only=True)
    cfg = OmegaConf.create(pkg["xp.cfg"])
    cfg.transformer_lm.chords_dim = 8            # conditioner out_dim stays 16
    with pytest.raises(CheckpointError, match="out_dim=16 but transformer_lm.chords_dim=8"):
        ck.parse_xp_config(OmegaConf.to_yaml(cfg))
    cfg = OmegaConf.create(pkg["xp.cfg"])
    cfg.transformer_lm.dim = 32                  # shapes no longer match the tensors
    torch.save({**pkg, "xp.cfg": OmegaConf.to_yaml(cfg)}, str(tmp_path / "state_dict.bin"))
    with pytest.raises(CheckpointError, match="does not match its xp.cfg"):
        ck.describe(str(tmp_path))
