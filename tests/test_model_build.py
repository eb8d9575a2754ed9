"""build_model: strict loading of state dicts (missing and unexpected keys named)."""

import pytest
import torch

from jasco_core.model import build_model
from tests.conftest import tiny_model


def test_state_dict_round_trip_and_key_errors():
    model = tiny_model(seed=1)
    state = model.state_dict()
    rebuilt = build_model(model.cfg, state)
    for key, value in rebuilt.state_dict().items():
        assert torch.equal(value, state[key])
    missing = {k: v for k, v in state.items() if not k.startswith("temb_proj")}
    with pytest.raises(KeyError, match="missing .*temb_proj"):
        build_model(model.cfg, missing)
    with pytest.raises(KeyError, match="unexpected .*extra.weight"):
        build_model(model.cfg, {**state, "extra.weight": torch.zeros(1)})
