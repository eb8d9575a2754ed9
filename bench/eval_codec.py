"""Round trip of held-out rendered pieces through the embedded codec: what survives encoding and decoding?

    python bench/eval_codec.py [--pieces 12] [--first-seed 1000000] [--model embedded]

For each piece the reference audio is encoded and decoded again (no flow model involved) in three
ways, and the adherence metrics of `jasco_core.metrics` are computed on the result:
  - mel only: the 64 mel bands alone (NNLS + Griffin-Lim),
  - predicted: the mel bands completed by the codec's learnt `PitchPredictor`,
  - true bands: the mel bands and the true semitone bands of the audio (the predictor's ceiling).
Spectral convergence against the reference is printed too. Last line: `key=value` pairs.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


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
    from jasco_core.codecs.pitch_predictor import PredictedPitchCodec
    from jasco_core.training.render import render_piece

    torch.set_num_threads(args.threads)
    codec = load_bundle(args.model).codec
    if not isinstance(codec, PredictedPitchCodec):
        raise SystemExit(f"{args.model}: its codec has no pitch predictor")
    inner, n_mels, mel_only = codec.inner, codec.dim, codec.mel_only()
    ways = ["reference", "mel only", "predicted", "true bands"]
    rows = {w: [] for w in ways}
    sc = {w: [] for w in ways[1:]}
    started = time.perf_counter()
    for i in range(args.pieces):
        piece = render_piece(args.first_seed + i, duration=10.0, sample_rate=codec.sample_rate)
        audio = torch.from_numpy(piece.audio.astype(np.float32))[None]
        with torch.no_grad():
            full = codec.encode_full(audio)
            decoded = {"mel only": mel_only.decode(full[..., :n_mels]), "predicted": codec.decode(full[..., :n_mels]),
                       "true bands": inner.decode(full)}
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
