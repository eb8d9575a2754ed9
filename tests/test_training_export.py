"""`export_bundle`: a training run -> a bundle folder that loads, and that training can resume from."""
import numpy as np
import torch

from jasco_core.model import FlowMatchingModel
from jasco_core.training.train import embedded_model_config


def test_export_writes_a_loadable_bundle_with_codec_options(tmp_path):
    """A run's EMA weights + the data's codec + the text PCA -> a bundle `load_bundle` reads back,
    with the PCA folded (text_dim 384), dropout off and the decoding options applied."""
    import json

    from safetensors.torch import save_file

    from jasco_core.checkpoints import GenerationDefaults, load_embedded_bundle
    from jasco_core.codecs.mel import MelCodecConfig
    from jasco_core.guidance import Guidance
    from jasco_core.training.export import export_bundle

    cfg = embedded_model_config(dim=64, num_layers=2, num_heads=4, text_dim=8)
    model = FlowMatchingModel(cfg)
    model.init_weights()
    run = tmp_path / "run"
    run.mkdir()
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(run / "ema.safetensors"))
    (run / "model_config.json").write_text(json.dumps(cfg.to_dict()))
    codec_cfg = MelCodecConfig(mean=(0.5,) * 64, std=(2.0,) * 64)
    np.savez(tmp_path / "data.npz", codec_config_json=np.array(json.dumps(codec_cfg.to_dict())))
    rng = np.random.default_rng(0)
    comps = np.linalg.qr(rng.standard_normal((384, 8)))[0].T.astype(np.float32)
    np.savez(tmp_path / "text.npz", pca_mean=rng.standard_normal(384).astype(np.float32), pca_components=comps)
    export_bundle(str(run), str(tmp_path / "data.npz"), str(tmp_path / "text.npz"), str(tmp_path / "bundle"),
                  GenerationDefaults(guidance=Guidance(all=2.0, text=-1.5)), codec_options={"decode_fmin": 60.0})
    bundle = load_embedded_bundle(str(tmp_path / "bundle"))
    assert bundle.codec.config.decode_fmin == 60.0 and bundle.codec.config.mean == codec_cfg.mean
    assert bundle.model.cfg.text_dim == 384 and bundle.model.cfg.dropout == 0.0
    assert (bundle.defaults.guidance.all, bundle.defaults.guidance.text) == (2.0, -1.5)
    # and back: a bundle is a starting point for further training (the PCA fold undone exactly)
    from jasco_core.training.train import load_warm_start
    restored = load_warm_start(str(tmp_path / "bundle"), cfg, str(tmp_path / "text.npz"))
    for key, value in model.state_dict().items():
        torch.testing.assert_close(restored[key], value, rtol=1e-4, atol=1e-5)
