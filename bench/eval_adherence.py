"""Condition adherence of a model on held-out rendered pieces, with ceiling and floor.

    python bench/eval_adherence.py [--pieces 50] [--first-seed 1000000] [--model embedded] [--sweep 10]
        [--guidance ALL TEXT] [--solver euler --steps 4]

For each held-out piece (render seeds never used in training: training uses seeds below 1,000,000)
the model generates from the piece's own description, chords, melody and drum stem. Metrics
(`jasco_core.metrics`): chord accuracy, melody agreement, drum onset F1. Ceiling: the metrics of
the reference rendering itself. Floor: a generation with no conditions at all.
Text adherence: the clip generated with the true description is compared with the one generated
with another piece's description (same chords, melody, drums, seed): the fraction of pieces where
the true description's clip is closer to the reference, in mean log-mel spectrum distance (the
time-averaged log-mel spectrum, i.e. the instrumentation's spectral envelope).
`--sweep N`: the same metrics and timings on N pieces for several solvers.
Last line: machine-readable `key=value` pairs.
"""
from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np


SWEEP = [("euler", 4, None), ("euler", 8, None), ("euler", 16, None), ("midpoint", 8, None),
         ("dopri5", None, 1e-3), ("dopri5", None, 1e-4)]


def piece_conditions(piece):
    from jasco_core.conditions import pitches_to_salience
    return dict(chords=[list(c) for c in piece.chords], melody=pitches_to_salience(piece.melody_pitch),
                drums=(piece.drums, piece.sample_rate) if np.abs(piece.drums).max() > 0 else None)


def scores(audio, sr, piece) -> dict:
    from jasco_core import metrics
    out = {"chords": metrics.chord_accuracy(audio, sr, piece.chords, len(audio) / sr),
           "melody": metrics.melody_agreement(audio, sr, piece.melody_pitch)}
    if np.abs(piece.drums).max() > 0:
        out["drums"] = metrics.drum_onset_f1(audio, sr, piece.drums, piece.sample_rate)
    return out


def mean_logmel(codec, audio) -> np.ndarray:
    import torch
    mel = codec.mel_spectrogram(torch.from_numpy(np.asarray(audio, np.float32))[None])  # mel bands only
    return torch.log(mel + codec.config.log_eps).mean(dim=-1).squeeze(0).numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pieces", type=int, default=50)
    parser.add_argument("--first-seed", type=int, default=1_000_000)
    parser.add_argument("--model", default="embedded")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--sweep", type=int, default=10, help="pieces for the solver sweep (0: skip)")
    parser.add_argument("--seed", type=int, default=0, help="generation seed")
    parser.add_argument("--guidance", type=float, nargs=2, default=None, metavar=("ALL", "TEXT"),
                        help="guidance weights instead of the bundle's defaults (null = 1 - all - text)")
    parser.add_argument("--solver", default=None, help="solver method instead of the bundle's default")
    parser.add_argument("--steps", type=int, default=None, help="fixed-step solver steps instead of the default")
    args = parser.parse_args()

    import torch

    import jasco_core as j
    from jasco_core.guidance import Guidance
    from jasco_core.solvers import SolverConfig
    from jasco_core.training.render import render_piece

    torch.set_num_threads(args.threads)
    pipe = j.load_pipeline(args.model, device="cpu")
    d = pipe.bundle.defaults
    guidance = Guidance(all=args.guidance[0], text=args.guidance[1]) if args.guidance else d.guidance
    solver = dataclasses.replace(d.solver, **{k: v for k, v in (("method", args.solver), ("steps", args.steps)) if v is not None})
    sr = pipe.sample_rate
    pieces = [render_piece(args.first_seed + i, duration=10.0, sample_rate=sr) for i in range(args.pieces)]
    rows = {"ceiling": [], "model": [], "floor": []}
    closer, started = [], time.perf_counter()
    for i, piece in enumerate(pieces):
        cond = piece_conditions(piece)
        gen = pipe.generate(piece.description, seed=args.seed, guidance=guidance, solver=solver, **cond)
        rows["ceiling"].append(scores(piece.audio, sr, piece))
        rows["model"].append(scores(gen.audio[0], sr, piece))
        rows["floor"].append(scores(pipe.generate("", seed=args.seed).audio[0], sr, piece))
        other = pieces[(i + 1) % len(pieces)].description
        swapped = pipe.generate(other, seed=args.seed, guidance=guidance, solver=solver, **cond)
        ref = mean_logmel(pipe.bundle.codec, piece.audio)
        d_true = np.abs(mean_logmel(pipe.bundle.codec, gen.audio[0]) - ref).mean()
        d_other = np.abs(mean_logmel(pipe.bundle.codec, swapped.audio[0]) - ref).mean()
        closer.append(d_true < d_other)
        print(f"piece {i + 1}/{len(pieces)}: model {rows['model'][-1]} ceiling {rows['ceiling'][-1]} "
              f"text closer={d_true < d_other} ({time.perf_counter() - started:.0f}s)", flush=True)

    def mean(kind, metric):
        vals = [r[metric] for r in rows[kind] if metric in r]
        return float(np.mean(vals)) if vals else float("nan")

    print(f"\n# model={args.model} pieces={len(pieces)} seeds={args.first_seed}..{args.first_seed + len(pieces) - 1} "
          f"solver={solver.method}/{solver.steps} guidance={guidance.weights()} threads={args.threads}")
    print("| metric | ceiling | model | floor | model / ceiling |\n|---|---|---|---|---|")
    summary = {}
    for metric in ("chords", "melody", "drums"):
        c, m, f = mean("ceiling", metric), mean("model", metric), mean("floor", metric)
        print(f"| {metric} | {c:.3f} | {m:.3f} | {f:.3f} | {m / c:.2f} |")
        summary.update({f"{metric}_ceiling": c, f"{metric}_model": m, f"{metric}_floor": f, f"{metric}_ratio": m / c})
    text_rate = float(np.mean(closer))
    print(f"| text: true description closer than another's | | {text_rate:.0%} | | |")
    summary["text_closer"] = text_rate

    if args.sweep:
        print("\n| solver | NFE | seconds | chords | melody | drums |\n|---|---|---|---|---|---|")
        for method, steps, tol in SWEEP:
            cfg = SolverConfig(method=method, steps=steps or 10, rtol=tol or 1e-5, atol=tol or 1e-5)
            res, nfe, secs = [], [], []
            for piece in pieces[:args.sweep]:
                gen = pipe.generate(piece.description, solver=cfg, guidance=guidance, seed=args.seed,
                                    **piece_conditions(piece))
                res.append(scores(gen.audio[0], sr, piece))
                nfe.append(gen.nfe)
                secs.append(gen.timings["sampling"])
            avg = lambda k: np.mean([r[k] for r in res if k in r])  # noqa: E731
            label = f"{method} {steps} steps" if steps else f"{method} tol {tol:g}"
            print(f"| {label} | {np.mean(nfe):.0f} | {np.mean(secs):.2f} | {avg('chords'):.3f} | "
                  f"{avg('melody'):.3f} | {avg('drums'):.3f} |", flush=True)
    print(" ".join(f"{k}={v:.3f}" for k, v in summary.items()))


if __name__ == "__main__":
    main()
