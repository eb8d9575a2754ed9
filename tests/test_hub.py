"""`jasco_core.hub`: which caches are searched, cache look-ups (never a download), download hints."""
import os

from jasco_core import hub


def test_cache_dirs_follow_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.delenv("HUGGINGFACE_HUB_CACHE", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("AUDIOCRAFT_CACHE_DIR", str(tmp_path / "ac"))
    assert hub.hub_cache_dirs() == [str(tmp_path / "ac"), str(tmp_path / "home" / "hub")]
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("AUDIOCRAFT_CACHE_DIR")
    assert hub.hub_cache_dirs() == [str(tmp_path / "cache")]


def test_cached_files_and_snapshots_are_found_offline(hub_env):
    state = hub.find_cached_file("tiny-org/jasco-tiny", "state_dict.bin")
    assert state and os.path.isfile(state) and state.startswith(hub_env["cache"])
    assert hub.find_cached_file("tiny-org/jasco-tiny", "missing.bin") is None
    assert hub.find_cached_file("nobody/nothing", "state_dict.bin") is None
    folder = hub.find_cached_snapshot("tiny-org/tiny-t5", ("config.json",))
    assert folder and os.path.isfile(os.path.join(folder, "config.json"))
    assert hub.find_cached_snapshot("tiny-org/tiny-t5", ("config.json", "absent.bin")) is None
    # an explicit list of caches overrides the environment
    assert hub.find_cached_file("tiny-org/jasco-tiny", "state_dict.bin", cache_dirs=[str(hub_env["cache"]) + "-x"]) is None


def test_download_hint_names_both_clis_and_the_cache(empty_cache):
    text = hub.download_hint("facebook/jasco-chords-drums-400M", include=("*.json", "model.safetensors"))
    assert "hf download facebook/jasco-chords-drums-400M --include '*.json' --include 'model.safetensors'" in text
    assert "huggingface-cli download facebook/jasco-chords-drums-400M --include '*.json' 'model.safetensors'" in text
    assert empty_cache in text
