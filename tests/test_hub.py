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


# ---------------------------------------------------------------------------------------------
# Downloads, through the real huggingface_hub client, from a Hub served on 127.0.0.1
# ---------------------------------------------------------------------------------------------
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import jasco_core  # noqa: E402
from jasco_core import checkpoints as ck  # noqa: E402
from jasco_core.errors import CheckpointError  # noqa: E402
from tests.released_fixtures import ENCODEC_32K_REPO, RELEASED_REPO, T5_BASE_REPO  # noqa: E402

TOKEN = "hf_test_token_with_access"


@pytest.fixture
def served(fake_hub, released_repos, tmp_path, monkeypatch):
    """The Hub serves the released model (gated), t5-base and encodec_32khz; a fresh HF_HOME."""
    fake_hub.add_repo(RELEASED_REPO, released_repos[RELEASED_REPO], gated=True, token=TOKEN)
    fake_hub.add_repo(T5_BASE_REPO, released_repos[T5_BASE_REPO])
    fake_hub.add_repo(ENCODEC_32K_REPO, released_repos[ENCODEC_32K_REPO])
    monkeypatch.setenv("HF_ENDPOINT", fake_hub.url)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.delenv("HUGGINGFACE_HUB_CACHE", raising=False)
    monkeypatch.delenv("AUDIOCRAFT_CACHE_DIR", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    return fake_hub


def _files_fetched(hub):
    return sorted({path.rsplit("/", 1)[-1] for method, path in hub.requests if method == "GET" and "/resolve/" in path})


def _offline(monkeypatch):
    from huggingface_hub import constants
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)


def test_first_load_downloads_the_needed_files_then_the_cache_and_offline_make_no_request(served, monkeypatch, tmp_path):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    reports = []
    pipe = jasco_core.load_pipeline(RELEASED_REPO, device="cpu", progress=lambda done, total, what: reports.append(
        (done, total, what)))
    fetched = _files_fetched(served)
    assert {"state_dict.bin", "compression_state_dict.bin", "config.json", "model.safetensors",
            "tokenizer.json"} <= set(fetched)
    assert not any(name.endswith((".h5", ".msgpack", ".ot")) for name in fetched)        # only what is needed
    assert all(str(tmp_path / "hf_home" / "hub") in p for p in (pipe.bundle.info["source"],))
    assert reports and reports[-1][0] == reports[-1][1] > 0 and "downloading" in reports[-1][2]
    result = pipe.generate("upbeat jazz piano", chords="C:0 F:0.5", duration=1.0, seed=0,
                           solver=jasco_core.SolverConfig("euler", steps=2))
    assert result.audio.shape == (1, 32000) and np.isfinite(result.audio).all() and result.sample_rate == 32000

    jasco_core.pipeline.unload_pipeline(pipe)
    served.clear_requests()
    again = jasco_core.load_pipeline(RELEASED_REPO, device="cpu")                 # the cache: no request
    assert served.requests == [] and again is not pipe
    jasco_core.pipeline.unload_pipeline(again)

    _offline(monkeypatch)
    monkeypatch.delenv("HF_TOKEN")
    offline = jasco_core.load_pipeline(RELEASED_REPO, device="cpu")
    assert served.requests == []
    b = offline.generate("upbeat jazz piano", chords="C:0 F:0.5", duration=1.0, seed=0,
                         solver=jasco_core.SolverConfig("euler", steps=2))
    np.testing.assert_array_equal(result.audio, b.audio)
    jasco_core.pipeline.unload_pipeline(offline)


def test_gated_repo_names_hf_token_and_the_model_page(served, monkeypatch):
    with pytest.raises(CheckpointError) as err:
        ck.load_bundle(RELEASED_REPO)
    assert err.value.field == "model" and "HF_TOKEN" in str(err.value) and err.value.code == "gated"
    assert f"{served.url}/{RELEASED_REPO}" in str(err.value) and "request access" in str(err.value)
    monkeypatch.setenv("HF_TOKEN", "hf_a_token_without_access")
    with pytest.raises(CheckpointError, match="has no access") as err:
        ck.load_bundle(RELEASED_REPO)
    assert f"{served.url}/{RELEASED_REPO}" in str(err.value)
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    assert ck.load_bundle(RELEASED_REPO).name == RELEASED_REPO


def test_offline_without_the_files_says_how_to_get_them(served, monkeypatch):
    _offline(monkeypatch)
    with pytest.raises(CheckpointError) as err:
        ck.load_bundle(RELEASED_REPO)
    assert "HF_HUB_OFFLINE=1" in str(err.value) and f"hf download {RELEASED_REPO}" in str(err.value)
    assert served.requests == []


def test_an_interrupted_download_leaves_nothing_that_breaks_the_next_load(served, monkeypatch, tmp_path):
    from huggingface_hub import file_download
    monkeypatch.setattr(file_download.time, "sleep", lambda s: None)           # the client's retry pauses
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    served.interrupt_next("state_dict.bin", after_bytes=100_000, times=20, repo_id=RELEASED_REPO)
    with pytest.raises(CheckpointError, match="Run again to resume|run again"):
        ck.load_bundle(RELEASED_REPO)
    snapshots = list((tmp_path / "hf_home" / "hub").glob("models--facebook--jasco*/snapshots/*/state_dict.bin"))
    assert snapshots == []                                                      # no half file under the real name
    served.clear_interrupts()                                                   # the connection is back
    bundle = ck.load_bundle(RELEASED_REPO)
    assert bundle.model.cfg.flow_dim == 128


def test_a_corrupt_file_on_the_hub_is_a_clear_error(served, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    served.truncate(RELEASED_REPO, "state_dict.bin", 50_000)
    with pytest.raises(CheckpointError) as err:
        ck.load_bundle(RELEASED_REPO)
    assert "not a readable torch checkpoint" in str(err.value) and "hf cache rm" in str(err.value)


def test_a_download_that_does_not_fit_is_refused_before_it_starts(served, monkeypatch):
    import collections
    from jasco_core import hub as jhub
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    usage = collections.namedtuple("usage", "total used free")
    monkeypatch.setattr(jhub.shutil, "disk_usage", lambda path: usage(10**9, 10**9 - 10**6, 10**6))
    with pytest.raises(CheckpointError, match="GB are free"):
        ck.load_bundle(RELEASED_REPO)
    assert _files_fetched(served) == []


def test_model_states_and_the_download_command(served, monkeypatch, capsys):
    from jasco_core.checkpoints.__main__ import main
    monkeypatch.setattr(ck.resolve, "RELEASED_MODELS", (RELEASED_REPO,))
    anonymous = {m.name: m for m in ck.model_status()}
    assert anonymous["embedded"].state == "ready"
    assert anonymous[RELEASED_REPO].state == "unavailable" and "HF_TOKEN" in anonymous[RELEASED_REPO].reason
    assert anonymous[RELEASED_REPO].code == "gated"
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    status = {m.name: m for m in ck.model_status()}[RELEASED_REPO]
    assert status.state == "download" and status.download_bytes > 2_000_000
    assert status.summary == f"downloads {status.download_bytes / 1e6:.1f} MB on first use"
    assert _files_fetched(served) == []                                             # sizes only, nothing downloaded
    assert main(["download", RELEASED_REPO]) == 0
    assert "ready:" in capsys.readouterr().out
    assert {m.name: m for m in ck.model_status()}[RELEASED_REPO].state == "ready"
    assert main(["list", "--offline"]) == 0
    assert any(line.startswith("ready") and RELEASED_REPO in line for line in capsys.readouterr().out.splitlines())


def test_a_repository_the_hub_does_not_have_is_said_to_be_missing(served, monkeypatch):
    monkeypatch.setattr(ck.resolve, "RELEASED_MODELS", ("facebook/jasco-nothing-1B",))
    status = {m.name: m for m in ck.model_status()}["facebook/jasco-nothing-1B"]
    assert status.state == "unavailable" and status.code == "missing" and "no model" in status.reason
    with pytest.raises(CheckpointError) as err:
        ck.load_bundle("facebook/jasco-nothing-1B")
    assert err.value.code == "missing" and "HF_HUB_OFFLINE" not in str(err.value)
