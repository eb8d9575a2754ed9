"""Turn a training run into the shipped embedded bundle.

    python -m jasco_core.training.export --run runs/embedded --data data/train.npz \
        --text data/train_text.npz --out assets/embedded [--guidance 3 0] [--solver euler --steps 10] \
        [--codec-options '{"decode_fmin": 60}']

Loads the EMA weights (`ema.safetensors`, or the shards `ema-*.safetensors` a remote run returns),
folds the PCA of the text features into the text projection (so the bundle takes raw MiniLM states),
and writes the bundle with the codec (and its normalisation statistics) the data set was built with.
"""
from __future__ import annotations

import argparse
import json
import os
import typing as tp

import numpy as np

from ..checkpoints import GenerationDefaults, save_embedded_bundle
from ..guidance import Guidance
from ..model import ModelConfig, build_model
from ..solvers import SolverConfig
from .shards import load_run_weights, save_sharded  # noqa: F401 (re-exported)
from .text_features import TEXT_PROJECTION, fold_text_projection

def export_bundle(run: str, data: str, text: str, out: str, defaults: GenerationDefaults,
                  info: tp.Optional[dict] = None, codec_options: tp.Optional[dict] = None) -> None:
    """`codec_options` replace fields of the data set's codec config (decoding options such as
    `decode_fmin`; the encoding fields must stay those the model was trained on)."""
    import dataclasses

    from ..codecs.mel import MelCodec
    from .dataset import codec_from_dataset
    with open(os.path.join(run, "model_config.json")) as f:
        cfg_train = ModelConfig.from_dict(json.load(f))
    state = load_run_weights(run)
    with np.load(text) as t:
        mean, components = t["pca_mean"], t["pca_components"]
    weight, bias = TEXT_PROJECTION + "weight", TEXT_PROJECTION + "bias"
    state[weight], state[bias] = fold_text_projection(state[weight].float(), state[bias].float(), mean, components)
    cfg = ModelConfig.from_dict({**cfg_train.to_dict(), "text_dim": int(components.shape[1]), "dropout": 0.0})
    model = build_model(cfg, state)
    codec = codec_from_dataset(data)
    if codec_options:
        codec = MelCodec(dataclasses.replace(codec.config, **codec_options))
    save_embedded_bundle(out, model, codec, defaults=defaults, max_duration=10.0, info=info or {})


def main(argv: tp.Optional[tp.Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m jasco_core.training.export", description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--text", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--guidance", type=float, nargs=2, default=(3.0, 0.0), metavar=("ALL", "TEXT"))
    parser.add_argument("--solver", default="euler")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--info", default="{}", help="JSON merged into bundle.json's info")
    parser.add_argument("--codec-options", default="{}",
                        help='JSON of codec decoding options, e.g. \'{"decode_fmin": 60}\'')
    args = parser.parse_args(argv)
    defaults = GenerationDefaults(guidance=Guidance(all=args.guidance[0], text=args.guidance[1]),
                                  solver=SolverConfig(method=args.solver, steps=args.steps), duration=10.0)
    export_bundle(args.run, args.data, args.text, args.out, defaults, json.loads(args.info),
                  json.loads(args.codec_options))
    print(f"bundle written to {args.out}")


if __name__ == "__main__":
    main()
