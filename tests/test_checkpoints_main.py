"""`python -m jasco_core.checkpoints inspect | list` (and `describe`, which `inspect` prints)."""
import os
import subprocess
import sys

from jasco_core.checkpoints.__main__ import main as ck_main

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_inspect_cli(reference_state, capsys):
    assert ck_main(["inspect", reference_state]) == 0
    out = capsys.readouterr().out
    assert "accepts:       text, chords, drums" in out
    assert "571,826" in out and "t5-base" in out and "50 frames/s" in out and "32000 Hz" in out
    assert ck_main(["inspect", reference_state, "--json"]) == 0
    assert '"codec_in_state": 8192' in capsys.readouterr().out


def test_inspect_module_entry_point_bad_path(tmp_path):
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_HUB_CACHE=str(tmp_path))
    bad = subprocess.run([sys.executable, "-m", "jasco_core.checkpoints", "inspect", str(tmp_path / "nope" / "x.bin")],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2
    assert "error: model: no such file or folder" in bad.stderr and "Traceback" not in bad.stderr
