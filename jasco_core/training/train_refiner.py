"""Train the mel codec's learnt magnitude stage (`jasco_core.codecs.refiner.MagnitudeRefiner`).

    python -m jasco_core.training.train_refiner --codec-from data/train_a.npz --pieces 320 \
        --minutes 11 --bundle assets/embedded

Renders `--pieces` pieces (seeds from 3,000,000: disjoint from the flow model's training and
evaluation seeds), encodes them with the bundle's codec, and fits the refiner to the true log STFT
magnitude (L1 on log magnitude + spectral convergence on linear magnitude). With `--bundle`, the
weights are written into the bundle (`codec_refiner.safetensors`, config under "refiner" in
`codec.json`), and the bundle's codec decodes through it from then on.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import time
import typing as tp
from multiprocessing import Pool

import numpy as np
import torch

from ..codecs.refiner import MagnitudeRefiner

logger = logging.getLogger(__name__)
_CODEC = {}


def _example(args: tp.Tuple[int, str]) -> tp.Tuple[np.ndarray, np.ndarray]:
    """(normalised latents [T, M], log STFT magnitude [F, T]) of one rendered piece."""
    from .dataset import codec_from_dataset
    from .render import render_piece

    seed, codec_from = args
    torch.set_num_threads(1)
    codec = _CODEC.setdefault(codec_from, codec_from_dataset(codec_from))
    audio = torch.from_numpy(render_piece(seed, sample_rate=codec.sample_rate).audio)[None]
    frames = codec.frames_for_samples(audio.shape[-1])
    padded = torch.nn.functional.pad(audio, (0, frames * codec.hop_length - audio.shape[-1]))
    magnitude = codec._stft(padded).abs()[0, :, :frames]
    return codec.encode(audio)[0].numpy(), torch.log(magnitude + 1e-5).numpy()


def train_refiner(codec_from: str, pieces: int, first_seed: int, minutes: float, workers: int = 2,
                  seed: int = 0) -> tp.Tuple[MagnitudeRefiner, dict]:
    from .dataset import codec_from_dataset

    codec = codec_from_dataset(codec_from)
    with Pool(workers) as pool:
        examples = pool.map(_example, [(first_seed + i, codec_from) for i in range(pieces)], chunksize=8)
    z = torch.from_numpy(np.stack([e[0] for e in examples]))        # [N, T, M]
    target = torch.from_numpy(np.stack([e[1] for e in examples]))   # [N, F, T]
    torch.manual_seed(seed)
    n_val = max(1, pieces // 20)
    net = MagnitudeRefiner(n_mels=codec.dim, n_freq=target.shape[1],
                           max_log_magnitude=float(target.max()) + 0.5)
    opt = torch.optim.AdamW(net.parameters(), lr=2e-3, weight_decay=0.0)

    def loss_of(zz, tt):
        pred = net(zz, codec.pinv_log_magnitude(zz))
        lin_p, lin_t = torch.exp(pred), torch.exp(tt)
        sc = torch.linalg.vector_norm(lin_p - lin_t, dim=(1, 2)) / torch.linalg.vector_norm(lin_t, dim=(1, 2))
        return (pred - tt).abs().mean() + sc.mean()

    start, step, crop = time.time(), 0, min(160, z.shape[1])
    while time.time() - start < minutes * 60:
        frac = (time.time() - start) / (minutes * 60)
        for group in opt.param_groups:
            group["lr"] = 2e-3 * min(1.0, (step + 1) / 100) * max(0.05, 1 - frac)
        idx = torch.randint(n_val, z.shape[0], (8,))
        at = int(torch.randint(0, z.shape[1] - crop + 1, (1,)))
        loss = loss_of(z[idx, at:at + crop], target[idx, :, at:at + crop])
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        if step % 500 == 0:
            logger.info("step %d loss %.4f", step, loss.item())
    with torch.no_grad():
        val = loss_of(z[:n_val], target[:n_val]).item()
        base = (codec.pinv_log_magnitude(z[:n_val]) - target[:n_val]).abs().mean().item()
    report = {"steps": step, "minutes": minutes, "pieces": pieces, "first_seed": first_seed,
              "validation_loss": val, "pinv_log_l1": base}
    return net.eval(), report


def install(bundle: str, net: MagnitudeRefiner, report: dict) -> None:
    from safetensors.torch import save_file
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, os.path.join(bundle, "codec_refiner.safetensors"))
    path = os.path.join(bundle, "codec.json")
    with open(path) as f:
        codec = json.load(f)
    codec["refiner"] = {"config": net.config, "training": report}
    with open(path + ".tmp", "w") as f:
        json.dump(codec, f, indent=1)
    os.replace(path + ".tmp", path)


def main(argv: tp.Optional[tp.Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m jasco_core.training.train_refiner", description=__doc__.split("\n\n")[0])
    parser.add_argument("--codec-from", required=True, help="data set .npz whose codec (statistics) to use")
    parser.add_argument("--pieces", type=int, default=320)
    parser.add_argument("--first-seed", type=int, default=3_000_000)
    parser.add_argument("--minutes", type=float, default=11.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--bundle", help="write the refiner into this bundle folder")
    parser.add_argument("--out", help="also save the weights here (.safetensors)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    torch.set_num_threads(args.threads)
    net, report = train_refiner(args.codec_from, args.pieces, args.first_seed, args.minutes, args.workers)
    print(json.dumps(report))
    if args.out:
        from safetensors.torch import save_file
        save_file(net.state_dict(), args.out)
        with open(os.path.splitext(args.out)[0] + ".json", "w") as f:
            json.dump({"config": net.config, "training": report}, f, indent=1)
    if args.bundle:
        install(args.bundle, net, report)


if __name__ == "__main__":
    main()
