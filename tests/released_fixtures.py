"""Tiny released-format models for the tests: a random T5, EnCodec and JASCO checkpoint laid out
like the local Hugging Face cache, built once per test session (`build_tiny_hub`).

The checkpoints have the released files' exact structure (`state_dict.bin` with `best_state` and
`xp.cfg`, `compression_state_dict.bin`) and real `transformers` T5 / EnCodec classes, with a few
thousand random parameters, so loading and generating take well under a second.
"""
import os

import torch

from jasco_core import checkpoints as ck

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


def _tiny_t5(folder, d_model=T5_DIM, d_ff=32, num_layers=2, num_heads=4, seed=0):
    """A tiny random T5 encoder with a word-level tokenizer of `WORDS`, saved like a Hub repository."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast, T5Config, T5EncoderModel

    vocab = {"<pad>": 0, "</s>": 1, "<unk>": 2, **{w: i + 3 for i, w in enumerate(WORDS)}}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>",
                            unk_token="<unk>").save_pretrained(folder)
    torch.manual_seed(seed)
    config = T5Config(vocab_size=len(vocab), d_model=d_model, d_kv=4, d_ff=d_ff, num_layers=num_layers, num_heads=num_heads,
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


# ---------------------------------------------------------------------------------------------
# The released repositories as the Hub serves them: the reference checkpoint (the released format,
# tiny sizes: t5-base width 768, EnCodec 32 kHz latents of 128) plus a tiny random T5 with t5-base's
# width and a tiny random EnCodec with encodec_32khz's rate, hop and latent width.
# ---------------------------------------------------------------------------------------------
RELEASED_REPO = "facebook/jasco-chords-drums-400M"
T5_BASE_REPO = "google-t5/t5-base"          # where `t5-base` lives on the Hub now
ENCODEC_32K_REPO = "facebook/encodec_32khz"


def _tiny_t5_base_width(folder):
    _tiny_t5(folder, d_model=768, d_ff=16, num_layers=1, num_heads=2, seed=3)


def _tiny_encodec_32khz(folder):
    from transformers import EncodecConfig, EncodecModel

    torch.manual_seed(4)
    config = EncodecConfig(upsampling_ratios=[8, 5, 4, 4], target_bandwidths=[0.55], num_filters=2,
                           sampling_rate=32000, codebook_size=2048, hidden_size=128, codebook_dim=128,
                           num_lstm_layers=1, use_causal_conv=False, normalize=False, use_conv_shortcut=False)
    model = EncodecModel(config).eval()
    with torch.no_grad():
        for layer in model.quantizer.layers:
            layer.codebook.embed.normal_()
    model.save_pretrained(folder)


def build_released_repos(root, reference_dir: str):
    """{repo id: {filename: path}} for a released model repository (the reference checkpoint), its
    T5 text encoder and its pretrained EnCodec, written under `root`."""
    repos = {RELEASED_REPO: {name: os.path.join(reference_dir, name)
                             for name in ("state_dict.bin", "compression_state_dict.bin")}}
    for repo, build in ((T5_BASE_REPO, _tiny_t5_base_width), (ENCODEC_32K_REPO, _tiny_encodec_32khz)):
        folder = os.path.join(str(root), repo.replace("/", "--"))
        os.makedirs(folder)
        build(folder)
        repos[repo] = {name: os.path.join(folder, name) for name in sorted(os.listdir(folder))}
    return repos
