"""MiniLMTextEncoder: offline loading from the bundled package, shapes, masks, meaning, speed."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import pytest
import torch

from jasco_core.encoders import TextEncoder
from jasco_core.encoders.text_minilm import MiniLMTextEncoder, TextEncoderError

ROCK = "energetic rock song with distorted electric guitars and loud drums"


@pytest.fixture(scope="module")
def encoder() -> MiniLMTextEncoder:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    return MiniLMTextEncoder(max_length=64).load()


def _pooled(states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    summed = (states * mask[..., None]).sum(1) / mask.sum(1, keepdim=True).clamp_min(1)
    return torch.nn.functional.normalize(summed, dim=-1)


def test_loads_with_no_hub_cache_and_offline(tmp_path):
    """A fresh process with an empty hub cache and offline flags still loads the model."""
    code = textwrap.dedent("""
        from jasco_core.encoders.text_minilm import MiniLMTextEncoder
        states, mask = MiniLMTextEncoder().encode(["a calm piano piece"])
        print(tuple(states.shape), int(mask.sum()))
    """)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_HOME": str(tmp_path),
           "PYTHONPATH": os.pathsep.join([os.getcwd(), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "(1, 6, 384) 6"  # [CLS] a calm piano piece [SEP]
    assert not any(tmp_path.iterdir()), "the encoder wrote into the hub cache"


def test_shapes_padding_and_empty_prompt(encoder):
    assert isinstance(encoder, TextEncoder) and encoder.dim == 384
    states, mask = encoder.encode([ROCK, "", "piano"])
    assert states.dtype == torch.float32 and mask.dtype == torch.int64
    assert states.shape[0] == 3 and states.shape[2] == 384 and mask.shape == states.shape[:2]
    lengths = mask.sum(1).tolist()
    assert lengths[0] == states.shape[1] > lengths[2] == 3  # [CLS] piano [SEP]
    assert lengths[1] == 0 and not states[1].any()
    assert not states[2, 3:].any()  # padding is zeroed
    assert torch.isfinite(states).all()
    only_empty, empty_mask = encoder.encode(["", "   "])
    assert only_empty.shape == (2, 1, 384) and not empty_mask.any() and not only_empty.any()


def test_prompts_differ_and_meaning_is_kept(encoder):
    texts = [ROCK, "hard rock track, heavy guitar riffs and pounding drums", "soft solo piano lullaby"]
    states, mask = encoder.encode(texts)
    assert not torch.allclose(states[0, :4], states[2, :4])
    pooled = _pooled(states, mask)
    similar, different = float(pooled[0] @ pooled[1]), float(pooled[0] @ pooled[2])
    assert similar > different + 0.2, (similar, different)
    # a prompt's states do not depend on what else is in the batch
    alone, alone_mask = encoder.encode([texts[2]])
    n = int(alone_mask.sum())
    assert torch.allclose(alone[0, :n], states[2, :n], atol=1e-4)


def test_truncation_and_bad_input(encoder):
    short = MiniLMTextEncoder(max_length=8)
    states, mask = short.encode([ROCK + " " + ROCK])
    assert states.shape[1] == 8 and int(mask.sum()) == 8
    with pytest.raises(TextEncoderError):
        encoder.encode("not a list")
    with pytest.raises(ValueError):
        encoder.encode([])
    with pytest.raises(ValueError):
        MiniLMTextEncoder(max_length=1)


def test_one_prompt_is_fast(encoder):
    """One prompt in under 50 ms after loading, measured as single-threaded CPU time so that the
    check does not depend on what else the machine is running."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        encoder.encode([ROCK])
        best = float("inf")
        for _ in range(5):
            start = time.process_time()
            encoder.encode(["80s pop track with bassy drums and synth"])
            best = min(best, time.process_time() - start)
    finally:
        torch.set_num_threads(threads)
    assert best < 0.05, f"encoding one prompt took {best * 1000:.1f} ms of CPU time"
