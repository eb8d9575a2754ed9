"""Round trip of held-out rendered pieces through the embedded codec: what survives encoding and decoding?

    python bench/eval_codec.py [--pieces 12] [--first-seed 1000000] [--model embedded]

For each piece the reference audio is encoded and decoded again (no flow model involved), and the
adherence metrics of `jasco_core.metrics` are computed on the result:
  - all bands: the codec's whole latent (mel bands and, if it has them, semitone bands),
  - mel only: the mel bands alone (`MelCodec.without_pitch_bands`), when the codec has semitone
    bands: what they add.
This bounds what any flow model generating these latents can reach. Spectral convergence against
the reference is printed too. Last line: `key=value` pairs.
"""
from __future__ import annotations

import argparse
import time

import numpy as np



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pieces", type=int, default=12)
    parser.add_argument("--first-seed", type=int, default=1_000_000)
    parser.add_argument("--model", default="embedded")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    import torch

    from eval_adherence import scores
    from jasco_core.checkpoints import load_bundle
    from jasco_core.codecs import spectral_convergence
    from jasco_core.training.render import render_piece

    torch.set_num_threads(args.threads)
    codec = load_bundle(args.model).codec
    n_mels = getattr(getattr(codec, "config", None), "n_mels", codec.dim)
    mel_only = codec.without_pitch_bands() if n_mels < codec.dim else None
    ways = ["reference", "all bands"] + (["mel only"] if mel_only is not None else [])
    rows = {w: [] for w in ways}
    sc = {w: [] for w in ways[1:]}
    started = time.perf_counter()
    for i in range(args.pieces):
        piece = render_piece(args.first_seed + i, duration=10.0, sample_rate=codec.sample_rate)
        audio = torch.from_numpy(piece.audio.astype(np.float32))[None]
        with torch.no_grad():
            latents = codec.encode(audio)
            decoded = {"all bands": codec.decode(latents)}
            if mel_only is not None:
                decoded["mel only"] = mel_only.decode(latents[..., :n_mels])
        rows["reference"].append(scores(piece.audio, codec.sample_rate, piece))
        for way, out in decoded.items():
            rows[way].append(scores(out[0].numpy(), codec.sample_rate, piece))
            sc[way].append(spectral_convergence(audio, out))
        print(f"piece {i + 1}/{args.pieces}: " + ", ".join(
            f"{w} {rows[w][-1]['chords']:.2f}" for w in ways) + f" (chords, {time.perf_counter() - started:.0f}s)", flush=True)

    def mean(way: str, key: str) -> float:
        values = [r[key] for r in rows[way] if key in r]
        return float(np.mean(values)) if values else float("nan")

    print(f"\n# model={args.model} pieces={args.pieces} seeds={args.first_seed}..{args.first_seed + args.pieces - 1}")
    print("| decode | chords | melody | drums | spectral convergence |")
    print("|---|---|---|---|---|")
    for way in ways:
        conv = f"{np.mean(sc[way]):.3f}" if way in sc else "-"
        print(f"| {way} | {mean(way, 'chords'):.3f} | {mean(way, 'melody'):.3f} | {mean(way, 'drums'):.3f} | {conv} |")
    print(" ".join(f"{w.replace(' ', '_')}_{k}={mean(w, k):.4f}" for w in ways for k in ("chords", "melody", "drums")))


if __name__ == "__main__":
    main()
