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

`--duration D` (a multiple of 10 s, up to 300; default 10: the evaluation above): long-form
adherence. Consecutive held-out pieces are joined D/10 at a time into D-second timelines (chords
shifted by 10 s per piece, melody pitches and drum stems concatenated; the text is the first
piece's description, for the long clip and for the 10 s clips alike, so that every 10 s part has
the same conditions both ways). Each timeline is generated once as one D-second clip (overlapping
windows) and once as D/10 separate 10 s clips; both are scored on the same 10 s parts, the long
clip cut into 10 s segments, each against its own piece's chords, melody and drum stem. A part
whose piece has no drums is given no drums as a 10 s clip and a silent stretch of the joined stem
in the long clip. `--pieces` counts 10 s pieces (50 -> 8 timelines of 60 s); the solver sweep,
ceiling, floor and text test are skipped.
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
    return piece.conditions()


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
    parser.add_argument("--duration", type=float, default=10.0,
                        help="seconds per clip: 10 (default) or a multiple of 10 up to 300 (long-form: pieces joined)")
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
    if args.duration != 10.0:
        return evaluate_long(args, pipe, guidance, solver)
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


# --------------------------------------------------------------------------- long-form (--duration)
def joined_conditions(pieces, part_seconds: float = 10.0):
    """Conditions of consecutive pieces joined into one timeline: chords shifted by `part_seconds`
    per piece, melody pitches and drum stems concatenated (None when no piece has drums)."""
    from jasco_core.conditions import pitches_to_salience
    chords = [[label, start + k * part_seconds] for k, piece in enumerate(pieces) for label, start in piece.chords]
    pitches = np.concatenate([p.melody_pitch for p in pieces])
    stems = [p.drums for p in pieces]
    drums = (np.concatenate(stems), pieces[0].sample_rate) if any(np.abs(d).max() > 0 for d in stems) else None
    return dict(chords=chords, melody=pitches_to_salience(pitches), drums=drums)


def evaluate_long(args, pipe, guidance, solver) -> None:
    """Each D-second timeline as one long clip and as D/10 separate 10 s clips, scored per 10 s part."""
    import torch

    from jasco_core.training.render import render_piece

    part = 10.0
    parts = int(round(args.duration / part))
    if abs(parts * part - args.duration) > 1e-6 or not 1 < parts <= int(pipe.max_duration // part):
        raise SystemExit(f"--duration: expected a multiple of {part:g} s from 20 to {pipe.max_duration:g}, "
                         f"got {args.duration:g}")
    count = args.pieces // parts
    if count < 1:
        raise SystemExit(f"--pieces: need at least {parts} pieces for one {args.duration:g} s timeline")
    sr = pipe.sample_rate
    n = int(round(part * sr))
    rows = {"short": [], "long": []}     # per part: {"part": k, metric: score}
    windows, started = None, time.perf_counter()
    long_seconds, short_seconds = [], []
    for i in range(count):
        pieces = [render_piece(args.first_seed + i * parts + k, duration=part, sample_rate=sr) for k in range(parts)]
        text = pieces[0].description
        gen = pipe.generate(text, seed=args.seed, guidance=guidance, solver=solver, duration=parts * part,
                            **joined_conditions(pieces, part))
        long_seconds.append(gen.seconds)
        windows = gen.windows
        audio = gen.audio[0]
        for k, piece in enumerate(pieces):
            short = pipe.generate(text, seed=args.seed, guidance=guidance, solver=solver, **piece_conditions(piece))
            short_seconds.append(short.seconds)
            rows["short"].append({"part": k, **scores(short.audio[0], sr, piece)})
            rows["long"].append({"part": k, **scores(audio[k * n:(k + 1) * n], sr, piece)})
        last = lambda kind: {m: round(float(np.mean([r[m] for r in rows[kind][-parts:] if m in r])), 3)  # noqa: E731
                             for m in ("chords", "melody", "drums")}
        print(f"timeline {i + 1}/{count}: {parts * part:g} s clip {last('long')} 10 s clips {last('short')} "
              f"({time.perf_counter() - started:.0f}s)", flush=True)

    def mean(kind, metric, k=None):
        vals = [r[metric] for r in rows[kind] if metric in r and (k is None or r["part"] == k)]
        return float(np.mean(vals)) if vals else float("nan")

    plan = " ".join(f"[{w.start / pipe.frame_rate:g}-{w.end / pipe.frame_rate:g})" for w in windows)
    print(f"\n# device={pipe.device} threads={torch.get_num_threads()} model={args.model} "
          f"timelines={count} x {parts * part:g} s ({count * parts} pieces, seeds {args.first_seed}.."
          f"{args.first_seed + count * parts - 1}) solver={solver.method}/{solver.steps} "
          f"guidance={guidance.weights()} window={pipe.window_seconds:g}s context={pipe.context_frames / pipe.frame_rate:g}s")
    print(f"# windows of each {parts * part:g} s clip (s): {plan}")
    print(f"| metric | {part:g} s clips | {parts * part:g} s clip, per {part:g} s part | long / short | >= 0.9 |\n"
          "|---|---|---|---|---|")
    summary = {}
    for metric in ("chords", "melody", "drums"):
        s, lg = mean("short", metric), mean("long", metric)
        ratio = lg / s if s > 0 else float("nan")
        print(f"| {metric} | {s:.3f} | {lg:.3f} | {ratio:.2f} | {'yes' if ratio >= 0.9 else 'NO'} |")
        summary.update({f"{metric}_short": s, f"{metric}_long": lg, f"{metric}_ratio": ratio})
    print(f"| seconds per clip | {np.mean(short_seconds):.2f} | {np.mean(long_seconds):.2f} | | |")
    print("\n| part | " + " | ".join(f"{m} 10 s / long" for m in ("chords", "melody", "drums")) + " |\n|---|---|---|---|")
    for k in range(parts):
        cells = " | ".join(f"{mean('short', m, k):.3f} / {mean('long', m, k):.3f}" for m in ("chords", "melody", "drums"))
        print(f"| {k * part:g}-{(k + 1) * part:g} s | {cells} |")
    summary.update(duration=parts * part, timelines=count, threads=torch.get_num_threads())
    print(" ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in summary.items()))


if __name__ == "__main__":
    main()
