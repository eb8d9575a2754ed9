"""The shipped embedded bundle through `load_pipeline` / `Pipeline.generate`, offline."""
import os
import subprocess
import sys

import numpy as np
import pytest

import jasco_core as j
from jasco_core.conditions import ConditionError
from jasco_core.pipeline import GenerationError
from jasco_core.solvers import SolverConfig

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def pipe():
    return j.load_pipeline("embedded", device="cpu")


def test_shipped_bundle_generates_and_is_deterministic(pipe):
    a = pipe.generate("mellow jazz piano with brushed drums", chords="C:0 Am:0.5 F:1 G:1.5", duration=2.0, seed=3)
    b = pipe.generate("mellow jazz piano with brushed drums", chords="C:0 Am:0.5 F:1 G:1.5", duration=2.0, seed=3)
    c = pipe.generate("mellow jazz piano with brushed drums", chords="C:0 Am:0.5 F:1 G:1.5", duration=2.0, seed=4)
    assert a.audio.shape == (1, 2 * a.sample_rate) and a.audio.dtype == np.float32
    assert np.isfinite(a.audio).all() and np.abs(a.audio).max() > 1e-3
    assert np.array_equal(a.audio, b.audio)
    assert not np.array_equal(a.audio, c.audio)
    assert a.nfe == pipe.bundle.defaults.solver.steps and a.seed == 3
    assert a.parameters["chords"] == [["C", 0.0], ["Am", 0.5], ["F", 1.0], ["G", 1.5]]


def test_shipped_model_follows_the_chords(pipe):
    """Held-out rendered pieces (seeds never used in training), generated from their own chords
    only: the output's chords match far better than an unconditioned generation's, and reach most
    of the reference rendering's accuracy (bench/eval_adherence.py measures this on 50 pieces)."""
    from jasco_core import metrics
    from jasco_core.training.render import render_piece

    ref, gen, floor = [], [], []
    for seed in (1_000_310, 1_000_311, 1_000_312):
        piece = render_piece(seed, duration=6.0, sample_rate=pipe.sample_rate)
        chords = [list(c) for c in piece.chords]
        score = lambda audio: metrics.chord_accuracy(audio, piece.sample_rate, piece.chords, 6.0)  # noqa: E731
        ref.append(score(piece.audio))
        gen.append(score(pipe.generate(piece.description, chords=chords, duration=6.0, seed=0).audio[0]))
        floor.append(score(pipe.generate("", duration=6.0, seed=0).audio[0]))
    ref, gen, floor = map(np.mean, (ref, gen, floor))
    assert gen >= 0.5 * ref, (gen, ref)
    assert gen > floor + 0.2, (gen, floor)


def test_same_seed_is_bit_identical_across_processes():
    code = ("import hashlib, jasco_core as j; r = j.load_pipeline('embedded', device='cpu').generate("
            "'warm lo-fi piano', chords='C:0 F:1', duration=2.0, seed=11); "
            "print(hashlib.sha256(r.audio.tobytes()).hexdigest())")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    digests = {subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                              check=True).stdout.split()[-1] for _ in range(2)}
    assert len(digests) == 1


def test_all_conditions_and_trajectory(pipe, tmp_path):
    from jasco_core.training.render import piece_to_midi, render_piece
    piece = render_piece(1000401, duration=3.0, sample_rate=pipe.sample_rate)
    midi = tmp_path / "melody.mid"
    piece_to_midi(piece.spec, parts=("lead",)).write(str(midi))
    seen = []
    r = pipe.generate(piece.description, chords=[list(c) for c in piece.chords], melody=str(midi),
                      drums=(piece.drums, piece.sample_rate), duration=3.0, seed=0, trajectory=True,
                      solver=SolverConfig("midpoint", steps=2), progress=lambda t, n: seen.append(n))
    assert r.nfe == 4 and seen == [1, 2, 3, 4]
    assert r.trajectory.latents.shape[:2] == (3, 1) and r.trajectory.times[-1] == 1.0
    assert r.latents.shape == (1, 150, pipe.bundle.codec.dim) == (1, 150, pipe.bundle.model.cfg.flow_dim)
    assert set(r.conditions) >= {"chords", "melody_pitches", "drums"}


@pytest.mark.parametrize("kwargs, field", [
    (dict(duration=301.0), "duration"), (dict(num_samples=0), "num_samples"), (dict(seed=-1), "seed"),
    (dict(chords="C:0 H:1"), "chords"), (dict(chords="C:2 F:1"), "chords"), (dict(melody="/no/such.mid"), "melody"),
])
def test_bad_input_names_the_field(pipe, kwargs, field):
    with pytest.raises((GenerationError, ConditionError)) as err:
        pipe.generate("piano", duration=kwargs.pop("duration", 2.0), **kwargs)
    assert err.value.field == field
    assert field in str(err.value)


def test_bf16_precision_stays_close_to_fp32(pipe):
    fp32 = pipe.generate("soft piano", chords="C:0 G:1", duration=2.0, seed=5)
    bf16 = j.load_pipeline("embedded", device="cpu", precision="bf16").generate(
        "soft piano", chords="C:0 G:1", duration=2.0, seed=5)
    err = (bf16.latents - fp32.latents).abs().max() / fp32.latents.abs().max()
    assert 0 < err < 0.05
    with pytest.raises(GenerationError, match="precision"):
        j.load_pipeline("embedded", device="cpu", precision="fp8")
