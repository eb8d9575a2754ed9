"""`jasco_core.paths`: the one place that locates `assets/`."""
import importlib
import os

from jasco_core import paths


def test_assets_are_found_next_to_the_package():
    assert os.path.isfile(os.path.join(paths.EMBEDDED_DIR, "bundle.json"))
    assert os.path.isfile(paths.CHORD_VOCABULARY_PATH)
    assert os.path.isfile(os.path.join(paths.EXAMPLES_DIR, "examples.json"))


def test_environment_overrides_the_assets_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("JASCO_ASSETS_DIR", str(tmp_path))
    try:
        moved = importlib.reload(paths)
        assert moved.ASSETS_DIR == str(tmp_path) and moved.EMBEDDED_DIR == str(tmp_path / "embedded")
    finally:
        monkeypatch.delenv("JASCO_ASSETS_DIR")
        importlib.reload(paths)
    assert paths.ASSETS_DIR != str(tmp_path)
