"""`T5TextEncoder`: the released models' text encoder, on a tiny random T5 in a hub cache layout."""
import pytest
import torch

from jasco_core.checkpoints import CheckpointError
from tests.released_fixtures import T5_DIM, T5_REPO


def test_t5_encoder_masks_empty_text(hub_env):
    from jasco_core.encoders.text_t5 import T5TextEncoder

    enc = T5TextEncoder(T5_REPO)
    assert enc.dim == T5_DIM
    states, mask = enc.encode(["upbeat jazz piano", ""])
    assert states.shape == (2, 4, T5_DIM) and mask.dtype == torch.int64
    assert mask.tolist() == [[1, 1, 1, 1], [0, 0, 0, 0]]
    assert torch.all(states[1] == 0) and torch.isfinite(states).all() and states[0].abs().sum() > 0
    with pytest.raises(CheckpointError, match="hf download google-t5/t5-base"):
        T5TextEncoder("t5-base")
