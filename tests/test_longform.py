"""Windowed solving with known frames: the constraint, the window plan, and long clips end to end."""
import numpy as np
import pytest
import torch

from jasco_core.longform import (SIGMA_MIN, KnownFrameField, count_windows, next_window, slice_inputs, solve_windows,
                                 window_progress)
from jasco_core.solvers import SolverConfig, integrate
from tests.conftest import tiny_inputs, tiny_model


def _random_field(seed=0):
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(6, 3, generator=g) * 0.5

    def field(t, z):                      # a non-linear field that mixes frames (like attention would)
        return torch.tanh(z @ a[:3] + z.mean(dim=1, keepdim=True)) * (1 + t) + z.roll(1, dims=1) * 0.3
    return field


@pytest.mark.parametrize("solver", [SolverConfig("euler", steps=4), SolverConfig("midpoint", steps=3),
                                    SolverConfig("rk4", steps=2), SolverConfig("dopri5", rtol=1e-5, atol=1e-5),
                                    SolverConfig("bosh3", rtol=1e-4, atol=1e-4)])
def test_known_frames_end_exactly_on_their_latents_with_every_solver(solver):
    g = torch.Generator().manual_seed(1)
    z0, x1 = torch.randn(2, 10, 3, generator=g), torch.randn(2, 10, 3, generator=g)
    known = torch.zeros(10, dtype=torch.bool)
    known[:4] = True
    known[8] = True
    out = integrate(KnownFrameField(_random_field(), known, x1, z0), z0, solver, trajectory_times=[0.5])
    end = solver.end_time
    expected = (1 - (1 - SIGMA_MIN) * end) * z0 + end * x1          # the straight path at the end time
    torch.testing.assert_close(out.z1[:, known], expected[:, known], rtol=0, atol=5e-5)   # float32 sums of steps
    mid = out.trajectory.latents[out.trajectory.times.index(0.5)]
    torch.testing.assert_close(mid[:, known], ((1 - (1 - SIGMA_MIN) * 0.5) * z0 + 0.5 * x1)[:, known], rtol=0, atol=5e-5)
    free = integrate(_random_field(), z0, solver).z1
    assert not torch.allclose(out.z1[:, ~known], free[:, ~known])     # the unknown frames see the known ones


def test_window_plan():
    window, context = 500, 125
    long = np.zeros(3000, bool)
    assert count_windows(long, window, context) == 8
    assert next_window(long, window, context) == (0, 500)
    long[:500] = True
    assert next_window(long, window, context) == (375, 875)
    long[:2800] = True
    assert next_window(long, window, context) == (2500, 3000)          # the last window ends at the clip's end
    short = np.zeros(300, bool)
    assert next_window(short, window, context) == (0, 300) and count_windows(short, window, context) == 1
    region = np.ones(1500, bool)
    region[600:800] = False                                             # repaint: centred, context both sides
    assert next_window(region, window, context) == (450, 950)
    region[:] = True
    assert next_window(region, window, context) is None and count_windows(region, window, context) == 0
    extension = np.concatenate([np.ones(400, bool), np.zeros(300, bool)])
    assert next_window(extension, window, context) == (200, 700)


def test_solve_windows_keeps_known_frames_and_reports_progress():
    g = torch.Generator().manual_seed(2)
    z0, given = torch.randn(1, 23, 3, generator=g), torch.randn(1, 23, 3, generator=g)
    known = np.zeros(23, bool)
    known[5:9] = True
    seen = []
    z1, windows = solve_windows(lambda s, e: _random_field(s), z0, known, given, SolverConfig("euler", steps=2),
                                window=10, context=3, progress=lambda i, n, t, nfe: seen.append((i, n, nfe)))
    assert torch.equal(z1[:, 5:9], given[:, 5:9]) and torch.isfinite(z1).all()
    assert [(w.start, w.end) for w in windows] == [(0, 10), (7, 17), (13, 23)] and windows[1].known_frames == 3
    assert seen[0] == (0, 3, 0) and seen[-1] == (2, 3, 6) and sum(w.nfe for w in windows) == 6


def test_window_progress_passes_the_window_when_asked():
    plain, windowed = [], []
    window_progress(lambda t, nfe: plain.append((t, nfe)))(1, 3, 0.5, 7)
    window_progress(lambda t, nfe, window=None: windowed.append((t, nfe, window)))(1, 3, 0.5, 7)
    assert plain == [(0.5, 7)] and windowed == [(0.5, 7, (1, 3))] and window_progress(None) is None


def test_slice_inputs_cuts_every_temporal_condition():
    model = tiny_model()
    inputs = tiny_inputs(model, batch=2, frames=20)
    part = slice_inputs(inputs, 5, 12)
    assert part.chords.shape == (2, 7) and part.melody.shape[-1] == 7 and part.drums.shape[1] == 7
    assert torch.equal(part.chords, inputs.chords[:, 5:12]) and torch.equal(part.text, inputs.text)


@pytest.fixture(scope="module")
def pipe():
    import jasco_core
    return jasco_core.load_pipeline("embedded", device="cpu")


def test_a_25_second_clip_has_the_right_length_and_no_nan(pipe):
    r = pipe.generate("warm lo-fi piano", chords="| C | Am | F | G |", duration=25.0, seed=0,
                      drums="assets/examples/jazz_1000201_drums.wav", trajectory=True)
    assert r.audio.shape == (1, 25 * pipe.sample_rate) and np.isfinite(r.audio).all() and np.abs(r.audio).max() > 0.01
    assert r.latents.shape[1] == 1250 and [(w.start, w.end) for w in r.windows] == [(0, 500), (420, 920), (750, 1250)]
    assert r.nfe == 3 * 4 and all(w.trajectory is not None for w in r.windows)
    # without drums (which a long clip loops) the first window is exactly the 10 s clip: same noise,
    # same conditions on its frames; later windows only add frames after it (and crossfade its end)
    long = pipe.generate("warm lo-fi piano", chords="| C | Am | F | G |", duration=12.0, seed=3)
    short = pipe.generate("warm lo-fi piano", chords="| C | Am | F | G |", duration=10.0, seed=3)
    kept = 500 - pipe.crossfade_frames
    assert long.windows[1].known_frames == kept - long.windows[1].start
    assert torch.equal(long.latents[:, :kept], short.latents[:, :kept])
    assert not torch.equal(long.latents[:, kept:500], short.latents[:, kept:])
    with pytest.raises(ValueError, match="duration"):
        pipe.generate("x", duration=pipe.max_duration + 1)


def test_crossfade_regenerates_the_end_of_a_window_and_blends_it():
    g = torch.Generator().manual_seed(5)
    z0, given = torch.randn(1, 30, 3, generator=g), torch.randn(1, 30, 3, generator=g)
    solver = SolverConfig("euler", steps=2)
    plain, _ = solve_windows(lambda s, e: _random_field(s), z0, np.zeros(30, bool), None, solver, window=12, context=2)
    faded, windows = solve_windows(lambda s, e: _random_field(s), z0, np.zeros(30, bool), None, solver, window=12,
                                   context=2, crossfade=4)
    assert [(w.start, w.end) for w in windows] == [(0, 12), (6, 18), (12, 24), (18, 30)]
    assert count_windows(np.zeros(30, bool), 12, 2, crossfade=4) == 4 and torch.isfinite(faded).all()
    assert torch.equal(faded[:, :8], plain[:, :8])              # before the first crossfade: the first window's
    assert not torch.allclose(faded[:, 8:12], plain[:, 8:12])   # the crossfaded frames are a blend
    known = np.zeros(30, bool)
    known[10:14] = True                                         # given frames are never generated again
    kept, _ = solve_windows(lambda s, e: _random_field(s), z0, known, given, solver, window=12, context=2, crossfade=4)
    assert torch.equal(kept[:, 10:14], given[:, 10:14])
