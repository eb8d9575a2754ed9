"""`python -m jasco_core.conditions check` on real inputs."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pretty_midi
import pytest
import soundfile as sf

from jasco_core.conditions.__main__ import main

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    pm = pretty_midi.PrettyMIDI()
    lead = pretty_midi.Instrument(program=73, name="Flute")
    lead.notes = [pretty_midi.Note(velocity=100, pitch=p, start=0.5 * k, end=0.5 * k + 0.45)
                  for k, p in enumerate([60, 62, 64, 65, 67, 69, 71, 72])]
    kit = pretty_midi.Instrument(program=0, is_drum=True, name="Kit")
    kit.notes = [pretty_midi.Note(velocity=110, pitch=36 if k % 2 == 0 else 38, start=0.5 * k, end=0.5 * k + 0.1)
                 for k in range(8)]
    pm.instruments.append(lead)
    melody_path = folder / "tune.mid"
    pm.write(str(melody_path))
    drums_only = pretty_midi.PrettyMIDI()
    drums_only.instruments.append(kit)
    drums_path = folder / "drums.wav"
    sf.write(str(drums_path), drums_only.fluidsynth(fs=44100), 44100)
    silent_path = folder / "silent.wav"
    sf.write(str(silent_path), np.zeros(44100, np.float32), 44100)
    bad_matrix = folder / "bad.npy"
    np.save(bad_matrix, np.zeros((12, 500), np.float32))
    return {"melody": str(melody_path), "drums": str(drums_path), "silent": str(silent_path), "bad": str(bad_matrix)}


def test_module_entry_point_on_real_inputs(inputs):
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    run = subprocess.run(
        [sys.executable, "-m", "jasco_core.conditions", "check", "--chords", "| C | Am | Fmaj9 | G7 C |",
         "--melody", inputs["melody"], "--drums", inputs["drums"], "--duration", "8", "--bpm", "120"],
        capture_output=True, text=True, cwd=str(ROOT), env=env, timeout=120)
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert "clip: 8 s = 400 frames" in out
    assert "  0.000 -   2.000 s  C" in out and "  4.000 -   6.000 s  Fmaj7" in out
    assert "  7.000 -   8.000 s  C" in out
    assert "frame chords: shape [400] int64" in out
    assert "melody: salience shape [53, 400]" in out and "MIDI 60..72" in out
    assert "drums: 256000 samples at 32000 Hz" in out
    assert "'Fmaj9'" in out and "'Fmaj7'" in out          # the substitution is reported


def test_chords_only_with_meter(capsys):
    assert main(["check", "--chords", "| Am | Dm E7 |", "--bpm", "90", "--meter", "3/4", "--duration", "4"]) == 0
    out = capsys.readouterr().out
    assert "  0.000 -   2.000 s  Am" in out and "  3.000 -   4.000 s  E7" in out
    assert "frame chords: shape [200] int64, 0 frames before" in out
    assert "warnings: none" in out


def test_late_chords_and_null_frames_reported(capsys):
    assert main(["check", "--chords", "C@1 G@12", "--duration", "10"]) == 0
    out = capsys.readouterr().out
    assert "50 frames before the first chord (null index 194)" in out
    assert "starts at or after the end of the clip" in out


@pytest.mark.parametrize("key,args,field", [
    (None, ["--chords", "C:0 F:x"], "chords:"),
    (None, ["--chords", "| C | F |", "--meter", "4-4"], "meter:"),
    ("bad", ["--melody"], "melody:"),
    ("silent", ["--drums"], "drums:"),
    (None, ["--drums", "/nonexistent/drums.wav"], "drums:"),
    (None, [], "inputs:"),
    (None, ["--chords", "C:0", "--duration", "-3"], "duration:"),
])
def test_bad_input_exits_2_with_message(inputs, capsys, key, args, field):
    argv = ["check"] + args + ([inputs[key]] if key else [])
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"error: {field}")
