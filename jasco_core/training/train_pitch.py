"""Train the codec's `PitchPredictor` (mel bands -> semitone bands) on a rendered data set.

    python -m jasco_core.training.train_pitch --data data/pitch_a.npz --out runs/pitch_predictor --minutes 20

The data set must have been built with a codec that has semitone bands (`--codec-json` of
`jasco_core.training.dataset`); its latents hold both, so this needs no audio: the input is the
first `n_mels` channels, the target the rest. Loss: mean squared error on the normalised bands.
The input is perturbed with Gaussian noise of a random level (0 to `noise`), because at
generation time the predictor sees the flow model's mel frames, which are close to but not
exactly those of real audio. `--bundle DIR` then installs it in a bundle. Writes
`pitch_predictor.safetensors`, `pitch_predictor.json` (its config, the codec it belongs to and
the steps so far) and `loss.csv` into `--out`; resumes from them.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import time
import typing as tp

import numpy as np
import torch

from ..codecs.mel import MelCodecConfig
from ..codecs.pitch_predictor import PitchPredictor

logger = logging.getLogger(__name__)


def load_latents(paths: tp.Sequence[str]) -> tp.Tuple[torch.Tensor, float, float, dict]:
    """uint8 latents [N, T, D] of the data sets, their quantisation range and codec config."""
    from .dataset import load_dataset
    parts = [load_dataset(p) for p in paths]
    codecs = {str(p["codec_config_json"]) for p in parts}
    if len(codecs) != 1:
        raise ValueError("the data sets were built with different codecs")
    codec = json.loads(codecs.pop())
    if not MelCodecConfig.from_dict(codec).n_pitch:
        raise ValueError("the data set's codec has no semitone bands: build it with --codec-json of a codec that has them")
    latents = torch.from_numpy(np.concatenate([p["latents"] for p in parts]))
    return latents, float(parts[0]["latent_lo"]), float(parts[0]["latent_hi"]), codec


def train_pitch_predictor(data: tp.Sequence[str], out: str, minutes: float = 20.0, batch_size: int = 32,
                          frames: int = 200, lr: float = 1e-3, noise: float = 0.3, seed: int = 0,
                          threads: tp.Optional[int] = None) -> str:
    """Train (or resume) for `minutes`; returns the weights' path. The weights kept are those of
    the best validation loss."""
    from safetensors.torch import load_file, save_file
    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(seed)
    latents_q, lo, hi, codec = load_latents(data)
    bands = MelCodecConfig.from_dict(codec)
    n_mels, n_pitch = bands.n_mels, bands.n_pitch
    if latents_q.shape[-1] != n_mels + n_pitch:
        raise ValueError(f"latents have {latents_q.shape[-1]} channels, the codec {n_mels} + {n_pitch}")
    scale = (hi - lo) / 255.0
    n = latents_q.shape[0]
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    n_val = max(1, n * 3 // 100)
    val_idx, train_idx = perm[:n_val], perm[n_val:]

    os.makedirs(out, exist_ok=True)
    weights_path = os.path.join(out, "pitch_predictor.safetensors")
    net = PitchPredictor(n_mels=n_mels, n_pitch=n_pitch)
    meta_path = os.path.join(out, "pitch_predictor.json")
    step = 0
    if os.path.exists(weights_path):
        net.load_state_dict(load_file(weights_path))
        if os.path.exists(meta_path):  # continue the step count so loss.csv stays in order
            with open(meta_path) as f:
                step = int(json.load(f).get("steps", 0))
        logger.info("resumed from %s at step %d", weights_path, step)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=0.01)
    log_path = os.path.join(out, "loss.csv")
    log = open(log_path, "a")
    if log.tell() == 0:
        log.write("step,loss,val_loss,seconds\n")

    def batch(idx: torch.Tensor, length: int, gen: torch.Generator) -> tp.Tuple[torch.Tensor, torch.Tensor]:
        total = latents_q.shape[1]
        start = torch.randint(0, total - length + 1, (len(idx),), generator=gen)
        cols = start[:, None] + torch.arange(length)[None]
        z = lo + latents_q[idx[:, None], cols].float() * scale
        return z[..., :n_mels], z[..., n_mels:]

    def validate() -> float:
        net.eval()
        with torch.no_grad():
            losses = [torch.nn.functional.mse_loss(net(x), y).item()
                      for x, y in (batch(chunk, latents_q.shape[1], torch.Generator().manual_seed(0))
                                   for chunk in val_idx.split(batch_size))]
        net.train()
        return float(np.mean(losses))

    best = validate()
    logger.info("validation loss at start: %.4f", best)
    started, first_step = time.time(), step
    gen = torch.Generator().manual_seed(seed + 1 + step)
    budget = minutes * 60
    while time.time() - started < budget:
        progress = (time.time() - started) / budget
        for group in opt.param_groups:
            group["lr"] = lr * min(1.0, (step - first_step + 1) / 100) * (0.05 + 0.95 * 0.5 * (1 + np.cos(np.pi * progress)))
        idx = train_idx[torch.randint(len(train_idx), (batch_size,), generator=gen)]
        x, y = batch(idx, frames, gen)
        x = x + torch.randn(x.shape, generator=gen) * (torch.rand(len(idx), 1, 1, generator=gen) * noise)
        loss = torch.nn.functional.mse_loss(net(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        step += 1
        if step % 100 == 0:
            val = validate()
            log.write(f"{step},{loss.item():.5f},{val:.5f},{time.time() - started:.1f}\n")
            log.flush()
            logger.info("step %d loss %.4f val %.4f", step, loss.item(), val)
            if val < best:
                best = val
                save_file({k: v.contiguous() for k, v in net.state_dict().items()}, weights_path)
    log.close()
    if not os.path.exists(weights_path):
        save_file({k: v.contiguous() for k, v in net.state_dict().items()}, weights_path)
    with open(meta_path, "w") as f:
        json.dump({"config": net.config, "codec": codec, "best_val_loss": best, "steps": step}, f, indent=1)
    logger.info("at step %d after %.1f min (%d steps this run), best validation loss %.4f", step,
                (time.time() - started) / 60, step - first_step, best)
    return weights_path


def install_in_bundle(run: str, bundle: str) -> None:
    """Make a bundle's mel codec decode through the predictor trained in `run`. The bundle's codec
    must be the mel part of the predictor's codec (same settings and statistics), so the bundle's
    model needs no change."""
    import shutil

    from ..checkpoints import PITCH_PREDICTOR_FILE
    with open(os.path.join(run, "pitch_predictor.json")) as f:
        meta = json.load(f)
    with open(os.path.join(bundle, "codec.json")) as f:
        current = json.load(f)
    codec = dict(meta["codec"])
    n_mels = int(codec["n_mels"])
    band_keys = ("mean", "std", "pitch_lowest", "pitch_highest")
    same = all(current.get(k) == v for k, v in codec.items() if k not in band_keys)
    if (not same or current.get("n_mels") != n_mels or list(current["mean"][:n_mels]) != codec["mean"][:n_mels]
            or list(current["std"][:n_mels]) != codec["std"][:n_mels]):
        raise ValueError(f"the bundle's codec in {bundle} is not the mel part of the predictor's codec")
    shutil.copy(os.path.join(run, "pitch_predictor.safetensors"), os.path.join(bundle, PITCH_PREDICTOR_FILE))
    with open(os.path.join(bundle, "codec.json"), "w") as f:
        json.dump({"type": "mel", **codec, "pitch_predictor": meta["config"]}, f, indent=1)


def main(argv: tp.Optional[tp.Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m jasco_core.training.train_pitch", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, nargs="+", help="data sets built with a semitone-band codec")
    parser.add_argument("--out", required=True)
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--noise", type=float, default=0.3)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--bundle", default=None, help="afterwards, install the predictor in this bundle folder")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    path = train_pitch_predictor(args.data, args.out, args.minutes, args.batch_size, args.frames, args.lr,
                                 args.noise, threads=args.threads)
    print(f"weights written to {path}")
    if args.bundle:
        install_in_bundle(args.out, args.bundle)
        print(f"installed in {args.bundle}")


if __name__ == "__main__":
    main()
