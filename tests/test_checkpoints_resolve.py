"""Model names -> sources, and which models can be loaded here."""
import pytest

from jasco_core import checkpoints as ck
from jasco_core.checkpoints import CheckpointError


def test_name_resolution_errors(empty_cache, tmp_path):
    name = "facebook/jasco-chords-drums-400M"
    with pytest.raises(CheckpointError) as err:
        ck.load_bundle(name)
    msg = str(err.value)
    assert f"hf download {name}" in msg and f"huggingface-cli download {name}" in msg and empty_cache in msg
    with pytest.raises(CheckpointError, match="no such file or folder"):
        ck.load_bundle(str(tmp_path / "missing" / "state_dict.bin"))
    with pytest.raises(CheckpointError, match="neither bundle.json"):
        ck.load_bundle(str(tmp_path))
    with pytest.raises(CheckpointError, match="expected 'embedded'"):
        ck.load_bundle("")
    listed = {n: (ok, why) for n, ok, why in ck.available_models()}
    assert set(ck.RELEASED_MODELS) <= set(listed) and "embedded" in listed
    for repo in ck.RELEASED_MODELS:
        ok, why = listed[repo]
        assert not ok and f"hf download {repo}" in why


def test_sources_by_kind(hub_env, tmp_path):
    embedded = ck.resolve_model("embedded")
    assert (embedded.kind, embedded.name) == ("bundle", "embedded") and embedded.path == ck.EMBEDDED_DIR
    folder = ck.resolve_model(ck.EMBEDDED_DIR)
    assert folder.kind == "bundle"                                   # any bundle folder, not just the embedded one
    full = ck.resolve_model(hub_env["full"])
    assert full.kind == "released" and full.path.endswith("state_dict.bin") and full.compression_path
    assert full.name == "jasco-full"
    file = ck.resolve_model(full.path)
    assert (file.kind, file.name, file.path) == ("released", "jasco-full", full.path)
    cached = ck.resolve_model("tiny-org/jasco-tiny")
    assert cached.kind == "released" and cached.name == "tiny-org/jasco-tiny"
    assert cached.path.startswith(hub_env["cache"]) and cached.compression_path
