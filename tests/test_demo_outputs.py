"""What results become on the page: download folders, WAV and JSON files, players and tables,
from real generations and a real comparison of the tiny model."""
from __future__ import annotations

import json
import os
import types

import numpy as np
import pytest
import soundfile as sf

from demo import outputs as O
from demo.examples import load_examples
from demo.edit import EXTEND_PARAMS, REPAINT_PARAMS
from demo.handlers import GENERATE_PARAMS
from demo_fixtures import TINY_DURATION
from jasco_core.adherence import adherence_scores
from jasco_core.compare import compare_solvers
from jasco_core.guidance import Guidance
from jasco_core.longform import WindowResult
from jasco_core.solvers import SolverConfig

SOLVER = SolverConfig("euler", steps=3, max_nfe=50)
GUIDANCE = Guidance(3, 0)


@pytest.fixture(scope="module")
def example() -> dict:
    return next(e for e in load_examples() if e["drums"] and e["melody"])


@pytest.fixture(scope="module")
def result(tiny_handlers, example):
    """Two samples with chords, drums and melody."""
    return tiny_handlers.pipeline.generate("jazz trio", chords="C:0 Am:1", drums=example["drums"],
                                           melody=example["melody"], guidance=GUIDANCE, solver=SOLVER, seed=4,
                                           num_samples=2, duration=TINY_DURATION)


def test_output_folders_are_bounded(tmp_path):
    store = O.OutputStore(str(tmp_path), keep=2)
    made = [store.new_dir() for _ in range(4)]
    assert sorted(os.listdir(tmp_path)) == sorted(os.path.basename(p) for p in made[-2:])
    assert all(os.path.isdir(p) for p in made[-2:])


def test_a_request_that_fails_while_writing_leaves_no_folder(tmp_path):
    store = O.OutputStore(str(tmp_path))
    with pytest.raises(OSError):
        with store.request_dir() as folder:
            open(os.path.join(folder, "half.wav"), "w").write("RIFF")
            raise OSError("disk full")
    assert os.listdir(tmp_path) == []
    with store.request_dir() as folder:
        pass
    assert os.listdir(tmp_path) == [os.path.basename(folder)]


def test_wavs_hold_the_generated_audio(result, tmp_path):
    paths = O.write_wavs(str(tmp_path), ["take 1", "take/2"], result.audio, result.sample_rate)
    assert [os.path.basename(p) for p in paths] == ["take_1.wav", "take_2.wav"]
    for path, clip in zip(paths, result.audio):
        audio, sr = sf.read(path, dtype="float32")
        assert sr == result.sample_rate and audio.shape == clip.shape
        np.testing.assert_allclose(audio, clip, atol=1.5 / 32768)  # 16-bit PCM


def test_json_record_replays_the_result_without_server_paths(result, example, tmp_path):
    inputs = O.replay_inputs(dict(text="jazz trio", chords="C:0 Am:1", drums=example["drums"], melody=example["melody"],
                                  duration=TINY_DURATION, bpm=120.0, meter="4/4", seed=4),
                             GUIDANCE, SOLVER, 2, result, "tiny", normalize=True)
    assert set(inputs) == set(GENERATE_PARAMS) - {"adherence"}
    assert (inputs["solver"], inputs["steps"], inputs["seed"], inputs["random_seed"]) == ("euler", 3, 4, False)
    assert (inputs["w_all"], inputs["w_null"], inputs["null_auto"]) == (3.0, -2.0, True)
    assert inputs["log10_rtol"] == pytest.approx(-5.0)
    path = O.write_record(str(tmp_path / "run.json"), result, inputs, ["/srv/a.wav", "/srv/b.wav"])
    record = json.load(open(path))
    assert record["parameters"]["drums"] == os.path.basename(example["drums"])
    assert record["parameters"]["melody"] == os.path.basename(example["melody"])
    assert example["drums"] not in open(path).read()
    assert record["parameters"]["seed"] == 4 and record["parameters"]["chords"] == [["C", 0.0], ["Am", 1.0]]
    assert record["result"]["files"] == ["a.wav", "b.wav"] and record["result"]["nfe"] == 3
    assert record["result"]["accepted_steps"] == 3 and record["demo_inputs"] == json.loads(json.dumps(inputs))
    # a model's fitted solver is replayed by its preset name (the page has no 'bns' method to choose)
    from jasco_core.solvers import SolverConfig
    bespoke = SolverConfig("bns", steps=1, schedule=(0.0, 1.0), coefficients=(((1.0,), (1.0,)),))
    again = O.replay_inputs(dict(text="x", chords=None, drums=None, melody=None, duration=1.0, bpm=120.0, meter="4/4",
                                 seed=1),
                            GUIDANCE, bespoke, 1, result, "tiny")
    assert again["solver"] == "fast"


def test_an_edit_record_replays_it_through_its_endpoint(result, tmp_path):
    request = dict(text="jazz", chords="C:0", drums=None, melody=None, bpm=120.0, meter="4/4", seed=None)
    inputs = O.replay_edit_inputs("/tmp/gradio/abc/take.wav", dict(start=0.5, end=1.5), request, GUIDANCE, SOLVER,
                                  result, "tiny")
    assert list(inputs) == REPAINT_PARAMS and inputs["audio"] == "take.wav" and inputs["seed"] == 4
    extend = O.replay_edit_inputs("take.wav", dict(seconds=3.0), request, GUIDANCE, SOLVER, result, "tiny")
    assert list(extend) == EXTEND_PARAMS
    record = json.load(open(O.write_record(str(tmp_path / "edit.json"), result, inputs, [])))
    assert record["parameters"]["audio"] == "take.wav" and "/tmp/gradio" not in open(tmp_path / "edit.json").read()


def test_window_rows_list_each_window_with_its_nfe():
    windows = [WindowResult(0, 500, 0, 8, 1.0, [], [], None), WindowResult(375, 875, 125, 6, 1.0, [], [], None)]
    long = types.SimpleNamespace(windows=windows)
    assert O.window_rows(long, 50.0) == [["windows", "2 (0.0\u201310.0, 7.5\u201317.5 s)"], ["NFE per window", "8, 6"],
                                         ["frames kept per window (context)", "0 of 500, 125 of 500"]]
    assert O.in_windows(long) == " in 2 windows"
    one = types.SimpleNamespace(windows=[WindowResult(0, 100, 0, 4, 1.0, [], [], None)])
    assert O.window_rows(one, 50.0) == [["windows", "1 (0.0\u20132.0 s)"], ["NFE per window", "4"]]
    assert O.in_windows(one) == ""


def test_players_are_plain_values_then_shown_and_labelled_on_the_page(tmp_path):
    wavs = O.write_wavs(str(tmp_path), ["a", "b"], np.zeros((2, 2205), np.float32), 22050)
    values = O.players(wavs, 4)
    assert values == [wavs[0], wavs[1], None, None]        # what an API caller gets: paths, None
    shown = O.player_updates(values, ["Sample 1", "Sample 2", "Sample 3", "Sample 4"])
    assert [(u.get("visible"), u.get("label")) for u in shown] == [
        (True, "Sample 1 \u00b7 22050 Hz"), (True, "Sample 2 \u00b7 22050 Hz"), (False, None), (False, None)]
    assert O.player_updates([None, None], ["A", "B"])[0]["visible"] is True   # the first player stays, empty
    assert O.audio_facts(wavs[0]) == (0.1, 22050) and O.audio_facts(str(tmp_path / "none.wav")) is None


def test_stats_rows_describe_the_run(result):
    rows = dict(O.stats_rows(result, "tiny", SOLVER, GUIDANCE))
    assert rows["NFE (field evaluations)"] == "3" and rows["accepted steps"] == "3"
    assert rows["solver"] == "euler, 3 steps, NFE cap 50"
    assert rows["guidance"] == "w_all 3, w_text 0, w_null -2"
    assert rows["audio"] == f"2 \u00d7 {TINY_DURATION:.2f} s at 22050 Hz"
    assert rows["seed"] == "4" and rows["model"] == "tiny" and rows["device"] == "cpu"
    assert rows["warnings"] == "; ".join(result.warnings)  # e.g. the drum loop is cut to the clip


def test_adherence_rows_score_each_sample_for_each_condition(result, tiny_handlers):
    rows = O.adherence_rows(result)
    assert [name for name, _ in rows] == ["chord accuracy", "melody agreement", "drum onset F1"]
    for k, clip in enumerate(result.audio):
        scores = adherence_scores(clip, result.sample_rate, result.previews)
        assert [value.split(", ")[k] for _, value in rows] == [f"{scores[name]:.2f}" for name, _ in rows]
    plain = tiny_handlers.pipeline.generate("piano", solver=SOLVER, guidance=GUIDANCE, seed=0, duration=1.0)
    assert O.adherence_rows(plain) == [["adherence scores", "no chords, melody or drums given"]]


def test_compare_rows_and_traces(tiny_handlers):
    comparison = compare_solvers(tiny_handlers.pipeline, ["euler:2", "euler:4", "dopri5:1e-5"], text="beat",
                                 seed=1, duration=1.0, guidance=GUIDANCE)
    runs = comparison.runs
    comparison_capped = compare_solvers(tiny_handlers.pipeline, ["euler:2", SolverConfig("dopri5", rtol=1e-8,
                                        atol=1e-8, max_nfe=5)], text="beat", seed=1, duration=1.0, guidance=GUIDANCE)
    rows = O.compare_rows(["E2", "E4", "D"], comparison)
    assert len(O.COMPARE_HEADERS) == len(O.COMPARE_WIDTHS) == 4 and all(len(r) == 4 for r in rows)
    assert [r[:2] for r in rows] == [["E2", "2"], ["E4", "4"], ["D", str(runs[2].nfe)]]
    assert rows[2][2] == "0 (reference)" and float(rows[0][2]) == pytest.approx(runs[0].rmse, rel=0.01)
    assert float(rows[0][2]) > float(rows[1][2]) > 0
    assert float(rows[0][3]) == pytest.approx(runs[0].result.timings["sampling"], abs=0.006)
    capped = O.compare_rows(["E2", "D"], comparison_capped)
    assert capped[1] == ["D", "> 5", "stopped at the NFE cap", ""]
    assert capped[0][2] == "0 (reference)"
    assert O.compare_warnings(comparison) == list(runs[0].result.warnings)
    traces = O.run_traces(["E2", "E4", "D"], comparison)
    assert [(t.label, t.method, t.nfe, t.is_reference) for t in traces] == [
        ("E2", "euler", 2, False), ("E4", "euler", 4, False), ("D", "dopri5", runs[2].nfe, True)]
    assert traces[0].latents.shape[0] == 3 and traces[0].latents.ndim == 3  # z_t at 2 steps and the end
    assert [t.label for t in O.run_traces(["E2", "D"], comparison_capped)] == ["E2"]
