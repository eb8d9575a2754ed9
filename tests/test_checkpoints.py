"""Released audiocraft JASCO checkpoints: safe reading, xp.cfg mapping, strict loading, name
resolution, the `inspect` CLI, the EnCodec codec, the T5 encoder and an end-to-end generation
with tiny random T5 / EnCodec / JASCO models laid out like the local Hugging Face cache."""
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from jasco_core import checkpoints as ck
from jasco_core.checkpoints import CheckpointError
from jasco_core.checkpoints.__main__ import main as ck_main
from jasco_core.model import ConditionInputs
from tests.conftest import reference_dir

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REFERENCE = os.path.join(reference_dir(), "checkpoint_format")
REF_STATE = os.path.join(REFERENCE, "state_dict.bin")


@pytest.fixture
def reference_state():
    if not os.path.exists(REF_STATE):
        pytest.skip(f"reference checkpoint not found at {REF_STATE}")
    return REF_STATE


@pytest.fixture
def empty_cache(tmp_path, monkeypatch):
    cache = tmp_path / "hub"
    cache.mkdir()
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("AUDIOCRAFT_CACHE_DIR", raising=False)
    return str(cache)


# ---------------------------------------------------------------------------------------------
# reference checkpoint (exact released format, tiny sizes)
# ---------------------------------------------------------------------------------------------

def test_reference_checkpoint_rebuilds_with_all_parameters(reference_state):
    state, settings = ck.read_released(reference_state)
    cfg = settings.model_config
    assert (cfg.dim, cfg.num_heads, cfg.num_layers, cfg.flow_dim) == (64, 4, 2, 128)
    assert (cfg.chords_dim, cfg.drums_dim, cfg.melody_dim, cfg.text_dim) == (16, 2, 0, 768)
    assert cfg.cross_attention and cfg.time_embedding_hidden == 512 and cfg.sequence_length == 500
    assert cfg.chords_card == cfg.null_chord_index == 194 and cfg.drums_blurring_factor == 3
    assert cfg.temporal_conditions == ("chords", "self_wav")
    assert settings.text_encoder == "t5-base" and settings.sample_rate == 32000 and settings.frame_rate == 50
    assert (settings.latent_mean, settings.latent_std, settings.segment_duration) == (-0.0074, 4.0102, 10.0)
    assert settings.defaults().guidance.weights() == {"all": 5.0, "text": 0.0, "null": -4.0}

    model = ck.build_released_model(state, settings)
    in_model = sum(p.numel() for p in model.parameters()) + sum(b.numel() for b in model.buffers())
    assert in_model == sum(v.numel() for v in state.values()) == ck.parameter_counts(state)["total"]
    for key, value in model.state_dict().items():
        assert torch.equal(value, state[key]), key

    with open(os.path.join(REFERENCE, "param_list.txt")) as f:
        rows = [line.split("\t") for line in f if line.strip()]
    assert len(rows) == len(state) == 43
    assert sum(int(np.prod(eval(shape))) for _, shape, _ in rows) == in_model
    assert {name for name, _, _ in rows} == set(state)


def test_reference_forward_with_random_conditions(reference_state):
    state, settings = ck.read_released(reference_state)
    model = ck.build_released_model(state, settings)
    cfg = model.cfg
    g = torch.Generator().manual_seed(0)
    B, T = 2, 30
    inputs = ConditionInputs(text=torch.randn(B, 5, cfg.text_dim, generator=g),
                             text_mask=torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]]),
                             chords=torch.randint(0, 194, (B, T), generator=g),
                             drums=torch.randn(B, T, cfg.drums_latent_dim, generator=g))
    with torch.no_grad():
        tensors = model.condition_provider(inputs, B, T)
        v = model(torch.randn(B, T, cfg.flow_dim, generator=g), torch.tensor([0.3]), tensors)
    assert v.shape == (B, T, 128) and torch.isfinite(v).all()


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


# ---------------------------------------------------------------------------------------------
# safety and errors
# ---------------------------------------------------------------------------------------------

class _Payload:
    """Unpickling this would create a directory (a stand-in for arbitrary code)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def _hook():  # a module-level function: pickled by reference, needs an import to load
    return 42


@pytest.mark.parametrize("payload", ["reduce", "function"])
def test_pickled_code_is_refused_and_not_executed(tmp_path, payload):
    marker = str(tmp_path / "executed")
    path = tmp_path / "state_dict.bin"
    obj = _Payload(marker) if payload == "reduce" else _hook
    torch.save({"best_state": {"w": torch.zeros(2)}, "xp.cfg": "a: 1", "hook": obj}, str(path))
    with pytest.raises(CheckpointError) as err:
        ck.read_checkpoint(str(path))
    assert str(path) in str(err.value) and "run code" in str(err.value)
    assert err.value.field == "model"
    assert not os.path.exists(marker)
    with pytest.raises(CheckpointError):
        ck.load_bundle(str(tmp_path))


def test_not_a_checkpoint(tmp_path):
    bad = tmp_path / "state_dict.bin"
    bad.write_bytes(b"this is not a torch file")
    with pytest.raises(CheckpointError, match="not a readable torch checkpoint"):
        ck.read_checkpoint(str(bad))
    torch.save({"weights": {}}, str(bad))
    with pytest.raises(CheckpointError, match="missing \\['best_state', 'xp.cfg'\\]"):
        ck.read_released(str(bad))


def test_missing_and_unexpected_keys_are_listed(reference_state, tmp_path):
    pkg = torch.load(reference_state, map_location="cpu", weights_only=True)
    state = dict(pkg["best_state"])
    del state["transformer.layers.1.linear2.weight"]
    state["transformer.layers.9.extra.weight"] = torch.zeros(3)
    path = tmp_path / "state_dict.bin"
    torch.save({**pkg, "best_state": state}, str(path))
    with pytest.raises(CheckpointError) as err:
        ck.describe(str(tmp_path))
    msg = str(err.value)
    assert "transformer.layers.1.linear2.weight" in msg and "transformer.layers.9.extra.weight" in msg
    assert "missing (1)" in msg and "unexpected (1)" in msg


def test_config_mismatches_are_clear(reference_state, tmp_path):
    from omegaconf import OmegaConf

    pkg = torch.load(reference_state, map_location="cpu", weights_only=True)
    cfg = OmegaConf.create(pkg["xp.cfg"])
    cfg.transformer_lm.chords_dim = 8            # conditioner out_dim stays 16
    with pytest.raises(CheckpointError, match="out_dim=16 but transformer_lm.chords_dim=8"):
        ck.parse_xp_config(OmegaConf.to_yaml(cfg))
    cfg = OmegaConf.create(pkg["xp.cfg"])
    cfg.transformer_lm.dim = 32                  # shapes no longer match the tensors
    torch.save({**pkg, "xp.cfg": OmegaConf.to_yaml(cfg)}, str(tmp_path / "state_dict.bin"))
    with pytest.raises(CheckpointError, match="does not match its xp.cfg"):
        ck.describe(str(tmp_path))


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


# ---------------------------------------------------------------------------------------------
# tiny T5 / EnCodec / JASCO in a Hugging Face cache layout
# ---------------------------------------------------------------------------------------------

WORDS = "upbeat jazz piano with drums calm ambient pad rock guitar text".split()
T5_REPO, ENCODEC_REPO = "tiny-org/tiny-t5", "tiny-org/tiny-encodec"
LATENT_DIM, MODEL_DIM, T5_DIM = 8, 32, 16

XP_CFG = f"""
lm_model: flow_matching
sample_rate: 32000
channels: 1
compression_model_checkpoint: //pretrained/{ENCODEC_REPO}
compression_model_framerate: 50
compression_model_latent_dim: {LATENT_DIM}
compression_model_latent_mean: -0.01
compression_model_latent_std: 2.0
dora:
  dir: /nowhere/${{oc.env:JASCO_TEST_UNSET_VARIABLE}}
datasource:
  train: ???
dataset:
  segment_duration: 2
classifier_free_guidance: {{training_dropout: 0.2, inference_coef: 3.0}}
attribute_dropout:
  text: {{}}
  symbolic: {{chords: 0.5, melody: 0.5}}
  wav: {{self_wav: 0.5}}
fuser:
  cross_attention_pos_emb: false
  cross_attention_pos_emb_scale: 1
  sum: []
  prepend: []
  cross: [description]
  ignore: [chords, self_wav, melody]
  input_interpolate: []
conditioners:
  self_wav:
    model: drum_latents
    drum_latents:
      sample_rate: ${{sample_rate}}
      out_dim: 2
      blurring_factor: 3
      compression_model_latent_dim: ${{compression_model_latent_dim}}
      compression_model_framerate: ${{compression_model_framerate}}
      segment_duration: ${{dataset.segment_duration}}
  description:
    model: t5
    t5: {{name: {T5_REPO}, finetune: false, word_dropout: 0.3, normalize_text: false}}
  chords:
    model: chords_emb
    chords_emb: {{card: 194, out_dim: 4}}
  melody:
    model: melody
    melody: {{card: 53, out_dim: 4}}
transformer_lm:
  dim: {MODEL_DIM}
  num_heads: 4
  num_layers: 2
  hidden_scale: 2
  n_q: 4
  card: 2048
  norm_first: true
  bias_ff: false
  bias_attn: false
  bias_proj: false
  positional_embedding: sin
  cross_attention: false
  skip_connections: false
  time_embedding_dim: 16
  flow_dim: ${{compression_model_latent_dim}}
  chords_dim: ${{conditioners.chords.chords_emb.out_dim}}
  drums_dim: ${{conditioners.self_wav.drum_latents.out_dim}}
  melody_dim: ${{conditioners.melody.melody.out_dim}}
"""


def _put_in_cache(cache, repo, save):
    """Lay out `repo` like the Hugging Face hub cache: models--ORG--NAME/{refs/main, snapshots/<hash>/}."""
    commit = "0123456789abcdef0123456789abcdef01234567"
    root = os.path.join(cache, "models--" + repo.replace("/", "--"))
    folder = os.path.join(root, "snapshots", commit)
    os.makedirs(folder)
    os.makedirs(os.path.join(root, "refs"))
    with open(os.path.join(root, "refs", "main"), "w") as f:
        f.write(commit)
    save(folder)
    return folder


def _tiny_t5(folder):
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast, T5Config, T5EncoderModel

    vocab = {"<pad>": 0, "</s>": 1, "<unk>": 2, **{w: i + 3 for i, w in enumerate(WORDS)}}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>",
                            unk_token="<unk>").save_pretrained(folder)
    torch.manual_seed(0)
    config = T5Config(vocab_size=len(vocab), d_model=T5_DIM, d_kv=4, d_ff=32, num_layers=2, num_heads=4,
                      relative_attention_num_buckets=8, pad_token_id=0, eos_token_id=1, decoder_start_token_id=0)
    T5EncoderModel(config).save_pretrained(folder)


def _tiny_encodec_model():
    from transformers import EncodecConfig, EncodecModel

    torch.manual_seed(1)
    config = EncodecConfig(upsampling_ratios=[8, 5, 4, 4], target_bandwidths=[2.2], num_filters=4,
                           sampling_rate=32000, codebook_size=2048, hidden_size=LATENT_DIM, codebook_dim=LATENT_DIM,
                           num_lstm_layers=1, use_causal_conv=False, normalize=False, use_conv_shortcut=False)
    model = EncodecModel(config).eval()
    with torch.no_grad():  # EnCodec starts with all-zero codebooks; make them distinct
        for layer in model.quantizer.layers:
            layer.codebook.embed.normal_()
    return model


def _tiny_jasco_state(codec_state):
    from jasco_core.model import FlowMatchingModel

    settings = ck.parse_xp_config(XP_CFG, {"condition_provider.conditioners.description.output_proj.weight":
                                           torch.zeros(MODEL_DIM, T5_DIM)})
    torch.manual_seed(2)
    model = FlowMatchingModel(settings.model_config)
    model.init_weights()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    state.update({ck.CODEC_PREFIX + "model." + k: v.clone() for k, v in codec_state.items()})
    return state


def build_tiny_hub(root):
    """Tiny T5 / EnCodec / JASCO models under `root`: a hub cache and two checkpoint folders."""
    cache = str(root / "hub")
    _put_in_cache(cache, T5_REPO, _tiny_t5)
    encodec = _tiny_encodec_model()
    _put_in_cache(cache, ENCODEC_REPO, encodec.save_pretrained)
    codec_state = encodec.state_dict()
    # 1) EnCodec weights inside best_state (as in the released files), saved under the old
    #    weight-norm names to check both spellings load
    old_names = {k.replace("parametrizations.weight.original0", "weight_g")
                  .replace("parametrizations.weight.original1", "weight_v"): v for k, v in codec_state.items()}
    full = root / "jasco-full"
    full.mkdir()
    torch.save({"best_state": _tiny_jasco_state(old_names), "xp.cfg": XP_CFG, "version": "test", "exported": True},
               str(full / "state_dict.bin"))
    torch.save({"pretrained": ENCODEC_REPO, "exported": True}, str(full / "compression_state_dict.bin"))
    # 2) only the codebooks in best_state (like the reference file): the codec comes from the cache
    slim = root / "jasco-slim"
    slim.mkdir()
    books = {k: v for k, v in codec_state.items() if k.endswith("codebook.embed")}
    torch.save({"best_state": _tiny_jasco_state(books), "xp.cfg": XP_CFG, "version": "test", "exported": True},
               str(slim / "state_dict.bin"))
    torch.save({"pretrained": ENCODEC_REPO, "exported": True}, str(slim / "compression_state_dict.bin"))
    # 3) the same checkpoint as a cached hub repository
    _put_in_cache(cache, "tiny-org/jasco-tiny", lambda f: [
        torch.save(torch.load(str(full / n), weights_only=True), os.path.join(f, n))
        for n in ("state_dict.bin", "compression_state_dict.bin")])
    return {"cache": cache, "full": str(full), "slim": str(slim), "encodec": encodec}


@pytest.fixture(scope="module")
def tiny_hub(tmp_path_factory):
    return build_tiny_hub(tmp_path_factory.mktemp("tiny_hub"))


@pytest.fixture
def hub_env(tiny_hub, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", tiny_hub["cache"])
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("AUDIOCRAFT_CACHE_DIR", raising=False)
    return tiny_hub


def test_t5_encoder_masks_empty_text(hub_env):
    from jasco_core.encoders.text_t5 import T5TextEncoder

    enc = T5TextEncoder(T5_REPO)
    assert enc.dim == T5_DIM
    states, mask = enc.encode(["upbeat jazz piano", ""])
    assert states.shape == (2, 4, T5_DIM) and mask.dtype == torch.int64
    assert mask.tolist() == [[1, 1, 1, 1], [0, 0, 0, 0]]
    assert torch.all(states[1] == 0) and torch.isfinite(states).all() and states[0].abs().sum() > 0
    with pytest.raises(CheckpointError, match="hf download google-t5/t5-base"):
        T5TextEncoder("t5-base")


def test_encodec_codec_latents_and_drums(hub_env):
    from jasco_core.codecs.encodec import EncodecCodec
    from jasco_core.encoders.drums_released import NO_DEMUCS_NOTE, ReleasedDrumEncoder

    ref = hub_env["encodec"]
    codec = EncodecCodec.from_state_dict(ref.state_dict(), latent_mean=0.5, latent_std=2.0)
    assert (codec.sample_rate, codec.frame_rate, codec.dim, codec.hop_length) == (32000, 50.0, LATENT_DIM, 640)
    assert codec.frames_for(2.0) == 100 and codec.frames_for(0.01) == 1
    audio = 0.1 * torch.randn(2, 6400)
    with torch.no_grad():
        raw = ref.encoder(audio[:, None]).transpose(1, 2)
        z = codec.encode(audio)
        assert z.shape == (2, 10, LATENT_DIM)
        torch.testing.assert_close(z, (raw - 0.5) / 2.0)                 # continuous, pre-quantisation
        torch.testing.assert_close(codec.decode(z), ref.decoder((z * 2.0 + 0.5).transpose(1, 2))[:, 0])
        codes = ref.quantizer.layers[0].encode(ref.encoder(audio[:1, None]))
        torch.testing.assert_close(codec.coarse_latents(audio[:1])[0], ref.quantizer.layers[0].codebook.embed[codes[0]])
    drums = ReleasedDrumEncoder(codec, segment_duration=0.4)
    assert drums.separator is None and drums.notes == [NO_DEMUCS_NOTE]   # demucs is not installed here
    lat = drums.encode(audio[0].numpy(), 32000, 8)
    assert lat.shape == (8, LATENT_DIM) and lat.dtype == np.float32
    np.testing.assert_allclose(drums.silence(8), drums.encode(np.zeros(100, np.float32), 32000, 8))


def test_encodec_32khz_config_is_inferred_from_tensor_shapes():
    from transformers import EncodecConfig, EncodecModel

    from jasco_core.codecs.encodec import ENCODEC_32KHZ, encodec_config_from_state

    reference = EncodecConfig(**ENCODEC_32KHZ)
    with torch.device("meta"):  # shapes only
        state = EncodecModel(reference).state_dict()
    inferred = encodec_config_from_state(state)
    for key in ("upsampling_ratios", "num_filters", "hidden_size", "codebook_size", "codebook_dim", "num_lstm_layers",
                "num_residual_layers", "kernel_size", "last_kernel_size", "residual_kernel_size", "compress",
                "use_conv_shortcut", "norm_type", "audio_channels", "sampling_rate", "num_quantizers"):
        assert getattr(inferred, key) == getattr(reference, key), key
    assert inferred.num_quantizers == 4 and inferred.hop_length == 640


def test_load_released_bundle_from_folder_file_and_cache(hub_env):
    full = ck.load_bundle(hub_env["full"])
    assert full.accepts == ("text", "chords", "drums", "melody")
    assert (full.sample_rate, full.frame_rate, full.max_duration) == (32000, 50.0, 2.0)
    assert "stored in the checkpoint" in full.codec.source
    assert full.defaults.guidance.weights()["all"] == 5.0 and full.defaults.duration == 2.0
    assert full.info["warnings"] and full.vocabulary.null_index == 194
    # the codec shares the tensors the model keeps in its drums conditioner (no second copy)
    bag = full.model.condition_provider.conditioners["self_wav"].compression_model
    assert bag.get("model.quantizer.layers.0.codebook.embed").data_ptr() == \
        full.codec.model.quantizer.layers[0].codebook.embed.data_ptr()

    slim = ck.load_bundle(os.path.join(hub_env["slim"], "state_dict.bin"))
    assert ENCODEC_REPO in slim.codec.source
    audio = 0.1 * torch.randn(1, 6400)
    torch.testing.assert_close(slim.codec.encode(audio), full.codec.encode(audio))

    cached = ck.load_bundle("tiny-org/jasco-tiny")
    assert cached.name == "tiny-org/jasco-tiny" and cached.model.cfg == full.model.cfg


def test_end_to_end_generation(hub_env):
    import jasco_core
    from jasco_core.solvers import SolverConfig

    pipe = jasco_core.load_pipeline(hub_env["full"], device="cpu")
    solver = SolverConfig(method="euler", steps=2)
    a = pipe.generate("upbeat jazz piano", chords="C:0 F:1", duration=2.0, solver=solver, seed=0)
    assert a.sample_rate == 32000 and a.audio.shape == (1, 64000) and np.isfinite(a.audio).all()
    assert a.latents.shape == (1, 100, LATENT_DIM) and a.nfe == 2
    b = pipe.generate("upbeat jazz piano", chords="C:0 F:1", duration=2.0, solver=solver, seed=0)
    np.testing.assert_array_equal(a.audio, b.audio)
    rng = np.random.default_rng(0)
    drums = (0.3 * rng.standard_normal(64000)).astype(np.float32)
    d = pipe.generate("rock guitar with drums", drums=(drums, 32000), duration=2.0, solver=solver, seed=0)
    assert d.audio.shape == (1, 64000) and np.isfinite(d.audio).all()
    assert not np.array_equal(d.latents.numpy(), a.latents.numpy())
