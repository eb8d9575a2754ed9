"""Long-form generation and editing: joins between windows, repaint, extend.

    python bench/eval_longform.py [--clips 4] [--duration 60] [--repaints 4] [--extends 2]
        [--first-seed 1000000] [--model embedded] [--threads 2]

Material: held-out rendered pieces (render seeds >= 1,000,000, never used in training). A piece's
10 s of conditions are repeated to fill a long clip, as a musician would loop a progression:
chords shifted by 10 s per repeat, melody pitches repeated, and the 10 s drum stem given as it is
(the pipeline loops it).

Joins (`--clips` pieces, each as two clips of `--duration` s: with the piece's conditions
repeated, and with its description only): `jasco_core.seams.seam_profile` at the frame where
each window's generated part starts (`start + known_frames` of `result.windows`): the 99th
percentile of the log-mel frame-to-frame change within +-2 analysis frames (~23 ms) of the joins
against the 99th percentile everywhere else (target ratio <= 1.5), and the level of every 2 s block
against the clip's median block (target within +-6 dB). Two references on the same material: the
same long clip at times halfway between its joins (what an arbitrary moment of the music scores),
and the naive alternative, independent 10 s clips (seeds seed..seed+5) butted together.

Repaint (`--repaints`): a generated 20 s clip (piece A), [6, 14) s repainted with the chords and
melody of another piece B (A's chords and melody kept outside the region; A's text and drums). Outside
the region (minus half the 50 ms crossfade each side) the output must be the input; inside, the
chord accuracy against the new chords is compared with a 10 s clip generated with B's chords and
melody (A's text and drums, same seed), scored on the same 8 s of progression (target >= 0.6 x); the original
clip's region scored against the new chords is the floor. Seams at 6 and 14 s as above.

Extend (`--extends`): a generated 10 s clip extended by 20 s (conditions repeated). The first 10 s
must be the input; seam at the join; chord accuracy of the new 20 s against the repeated chords vs
the 10 s clip's.
Last line: machine-readable `key=value` pairs.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

PART = 10.0


def looped_conditions(piece, duration: float, melody: bool = True, drums: bool = True) -> dict:
    """A 10 s piece's conditions repeated over `duration` seconds (the drum stem as it is: the
    pipeline loops it)."""
    from jasco_core.conditions import pitches_to_salience

    repeats = int(np.ceil(duration / PART - 1e-9))
    chords = [[label, start + k * PART] for k in range(repeats) for label, start in piece.chords
              if start + k * PART < duration]
    out = dict(chords=chords)
    if melody:
        frames = int(round(duration * 50))
        out["melody"] = pitches_to_salience(np.tile(piece.melody_pitch, repeats)[:frames])
    if drums and np.abs(piece.drums).max() > 0:
        out["drums"] = (piece.drums, piece.sample_rate)
    return out


def chords_in(chords, start: float, end: float):
    """The progression over [start, end) seconds, times relative to `start`."""
    chords = sorted(((label, float(t)) for label, t in chords), key=lambda c: c[1])
    out = [(label, t - start) for label, t in chords if start <= t < end]
    before = [(label, t) for label, t in chords if t < start]
    if before and (not out or out[0][1] > 0):
        out.insert(0, (before[-1][0], 0.0))
    return out


def joins_of(result, frame_rate: float):
    """Times (s) where a window's generated frames start after known ones."""
    return [(w.start + w.known_frames) / frame_rate for w in result.windows if w.known_frames > 0]


def midpoints(joins, duration: float):
    edges = [0.0] + list(joins) + [duration]
    return [(a + b) / 2 for a, b in zip(edges[:-1], edges[1:]) if b - a > 1.0 and 0.5 < (a + b) / 2 < duration - 0.5]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", type=int, default=4, help="long clips for the join measurement")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per long clip")
    parser.add_argument("--repaints", type=int, default=4)
    parser.add_argument("--extends", type=int, default=2)
    parser.add_argument("--first-seed", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0, help="generation seed")
    parser.add_argument("--model", default="embedded")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    import torch

    import jasco_core as j
    from jasco_core.conditions import pitches_to_salience
    from jasco_core.editing import CROSSFADE_SECONDS, encode_audio
    from jasco_core.metrics import chord_accuracy
    from jasco_core.seams import LEVEL_RANGE_DB, SEAM_RATIO_LIMIT, seam_profile
    from jasco_core.training.render import render_piece

    torch.set_num_threads(args.threads)
    pipe = j.load_pipeline(args.model, device="cpu")
    sr, fr = pipe.sample_rate, pipe.frame_rate
    d = pipe.bundle.defaults
    piece = lambda i: render_piece(args.first_seed + i, duration=PART, sample_rate=sr)  # noqa: E731
    summary, started = {}, time.perf_counter()
    print(f"# device={pipe.device} threads={torch.get_num_threads()} model={args.model} "
          f"solver={d.solver.method}/{d.solver.steps} window={pipe.window_seconds:g}s "
          f"context={pipe.context_frames / fr:g}s crossfade={CROSSFADE_SECONDS * 1000:g}ms", flush=True)

    # ------------------------------------------------------------------ joins of long clips
    seam_rows = []
    for i in range(args.clips):
        p = piece(i)
        parts = int(round(args.duration / PART))
        for material, cond, short in (("conditions", looped_conditions(p, args.duration), looped_conditions(p, PART)),
                                      ("text only", {}, {})):
            gen = pipe.generate(p.description, seed=args.seed, duration=args.duration, **cond)
            audio = gen.audio[0]
            joins = joins_of(gen, fr)
            at_joins = seam_profile(audio, sr, joins)
            between = seam_profile(audio, sr, midpoints(joins, args.duration))
            naive = np.concatenate([pipe.generate(p.description, seed=args.seed + k, duration=PART, **short).audio[0]
                                    for k in range(parts)])
            butted = seam_profile(naive, sr, [k * PART for k in range(1, parts)])
            seam_rows.append((i, material, at_joins, between, butted))
            print(f"clip {i + 1}/{args.clips} ({material}): joins {', '.join(f'{t:g}' for t in joins)} s: ratio "
                  f"{at_joins['ratio']:.2f} (between joins {between['ratio']:.2f}, butted 10 s clips "
                  f"{butted['ratio']:.2f}), level range {at_joins['level_range_db']:.1f} dB "
                  f"({time.perf_counter() - started:.0f}s)", flush=True)
    if seam_rows:
        print(f"\n## joins: {args.clips} pieces x 2 materials, clips of {args.duration:g} s (target: ratio <= "
              f"{SEAM_RATIO_LIMIT}, blocks within +-{LEVEL_RANGE_DB:g} dB of the median)")
        print("| clip | material | p99 change at joins (dB) | p99 elsewhere (dB) | ratio | ratio halfway between joins | "
              "ratio of butted 10 s clips | level range (dB) | level range, butted | ok |\n"
              "|---|---|---|---|---|---|---|---|---|---|")
        for i, material, a, b, c in seam_rows:
            ok = a["seam_ok"] and a["level_ok"]
            print(f"| {i + 1} | {material} | {a['join_p99']:.2f} | {a['rest_p99']:.2f} | {a['ratio']:.2f} | "
                  f"{b['ratio']:.2f} | {c['ratio']:.2f} | {a['level_range_db']:.1f} | {c['level_range_db']:.1f} | "
                  f"{'yes' if ok else 'NO'} |")
        for material in ("conditions", "text only"):
            rows = [(a, b, c) for _, m, a, b, c in seam_rows if m == material]
            print(f"| mean | {material} | | | {np.mean([a['ratio'] for a, _, _ in rows]):.2f} | "
                  f"{np.mean([b['ratio'] for _, b, _ in rows]):.2f} | {np.mean([c['ratio'] for _, _, c in rows]):.2f} | "
                  f"{max(a['level_range_db'] for a, _, _ in rows):.1f} (max) | "
                  f"{max(c['level_range_db'] for _, _, c in rows):.1f} (max) | |")
        ratios = [a["ratio"] for _, _, a, _, _ in seam_rows]
        summary.update(seam_ratio_max=max(ratios), seam_ratio_mean=float(np.mean(ratios)),
                       seam_ratio_between_mean=float(np.mean([b["ratio"] for _, _, _, b, _ in seam_rows])),
                       seam_ratio_butted_mean=float(np.mean([c["ratio"] for _, _, _, _, c in seam_rows])),
                       level_range_max_db=max(a["level_range_db"] for _, _, a, _, _ in seam_rows))

    # ------------------------------------------------------------------ repaint
    rp_rows = []
    region = (6.0, 14.0)
    for i in range(args.repaints):
        a, b = piece(100 + 2 * i), piece(101 + 2 * i)
        source = pipe.generate(a.description, seed=args.seed, duration=20.0, **looped_conditions(a, 20.0))
        src = source.audio[0]
        new_chords = chords_in(b.chords, 0.0, region[1] - region[0])
        chords = ([c for c in chords_in(looped_conditions(a, 20.0)["chords"], 0.0, region[0])] +
                  [(label, t + region[0]) for label, t in new_chords] +
                  [(label, t + region[1]) for label, t in chords_in(looped_conditions(a, 20.0)["chords"], region[1], 20.0)])
        drums = looped_conditions(a, 20.0, melody=False).get("drums")
        pitches = np.tile(a.melody_pitch, 2)                       # A's melody, B's inside the region
        first, last = int(region[0] * 50), int(region[1] * 50)
        pitches[first:last] = b.melody_pitch[:last - first]
        out = pipe.repaint((src, sr), *region, text=a.description, chords=chords, drums=drums,
                           melody=pitches_to_salience(pitches), seed=args.seed + 1)
        edited = out.audio[0]
        half = CROSSFADE_SECONDS / 2
        lo, hi = int(round((region[0] - half) * sr)), int(round((region[1] + half) * sr))
        outside = np.concatenate([edited[:lo] - src[:lo], edited[hi:] - src[hi:len(edited)]])
        frames = out.latents.shape[1]
        known = np.ones(frames, bool)
        known[int(np.floor(region[0] * fr)):int(np.ceil(region[1] * fr))] = False
        with torch.inference_mode():
            enc = encode_audio(pipe.bundle.codec, src, frames)[0].numpy()
        latent_diff = float(np.abs(out.latents[0].numpy()[known] - enc[known]).max())
        inside = edited[int(region[0] * sr):int(region[1] * sr)]
        span = region[1] - region[0]
        score_new = chord_accuracy(inside, sr, new_chords, span)
        score_old = chord_accuracy(src[int(region[0] * sr):int(region[1] * sr)], sr, new_chords, span)
        ref = pipe.generate(a.description, seed=args.seed + 1, chords=[list(c) for c in b.chords],
                            melody=pitches_to_salience(b.melody_pitch), **({"drums": drums} if drums is not None else {}))
        score_10s = chord_accuracy(ref.audio[0][:int(span * sr)], sr, new_chords, span)
        seams = seam_profile(edited, sr, list(region))
        rp_rows.append(dict(outside_max=float(np.abs(outside).max()), latent_diff=latent_diff, new=score_new,
                            old=score_old, ref=score_10s, ratio=seams["ratio"], level=seams["level_range_db"],
                            source_level=seam_profile(src, sr, [])["level_range_db"], seconds=out.seconds,
                            windows=len(out.windows)))
        print(f"repaint {i + 1}/{args.repaints}: {rp_rows[-1]} ({time.perf_counter() - started:.0f}s)", flush=True)
    if rp_rows:
        print(f"\n## repaint [{region[0]:g}, {region[1]:g}) s of a 20 s clip with another piece's chords and melody "
              "(target: outside = input; chords inside >= 0.6 x the 10 s clip's)")
        print("| clip | max abs diff outside | max latent diff, known frames | chords inside vs new | "
              "10 s clip, same chords | inside / 10 s | original region vs new chords | seam ratio at 6, 14 s | "
              "level range (dB), source -> repainted | windows | seconds |\n|---|---|---|---|---|---|---|---|---|---|---|")
        for i, r in enumerate(rp_rows):
            rel = r["new"] / r["ref"] if r["ref"] > 0 else float("nan")
            print(f"| {i + 1} | {r['outside_max']:.1e} | {r['latent_diff']:.1e} | {r['new']:.3f} | {r['ref']:.3f} | "
                  f"{rel:.2f} | {r['old']:.3f} | {r['ratio']:.2f} | {r['source_level']:.1f} -> {r['level']:.1f} | "
                  f"{r['windows']} | {r['seconds']:.1f} |")
        m = lambda k: float(np.mean([r[k] for r in rp_rows]))  # noqa: E731
        print(f"| mean | {max(r['outside_max'] for r in rp_rows):.1e} (max) | | {m('new'):.3f} | {m('ref'):.3f} | "
              f"{m('new') / m('ref'):.2f} | {m('old'):.3f} | {m('ratio'):.2f} | {m('source_level'):.1f} -> "
              f"{m('level'):.1f} | | {m('seconds'):.1f} |")
        summary.update(repaint_outside_max=max(r["outside_max"] for r in rp_rows), repaint_chords=m("new"),
                       repaint_chords_10s=m("ref"), repaint_chords_ratio=m("new") / m("ref"),
                       repaint_chords_floor=m("old"), repaint_seam_ratio_max=max(r["ratio"] for r in rp_rows))

    # ------------------------------------------------------------------ extend
    ex_rows = []
    for i in range(args.extends):
        p = piece(200 + i)
        first = pipe.generate(p.description, seed=args.seed, **looped_conditions(p, PART))
        src = first.audio[0]
        more = 2 * PART
        out = pipe.extend((src, sr), more, text=p.description, seed=args.seed + 1,
                          **looped_conditions(p, PART + more))
        ext = out.audio[0]
        keep = int(round((PART - CROSSFADE_SECONDS / 2 - 1.0 / fr) * sr))
        same = float(np.abs(ext[:keep] - src[:keep]).max())
        chords = looped_conditions(p, PART + more)["chords"]
        new_score = np.mean([chord_accuracy(ext[int(t * sr):int((t + PART) * sr)], sr, chords_in(chords, t, t + PART), PART)
                             for t in (PART, 2 * PART)])
        base = chord_accuracy(src, sr, p.chords, PART)
        seams = seam_profile(ext, sr, joins_of(out, fr))
        ex_rows.append(dict(same=same, chords=float(new_score), chords_10s=base, ratio=seams["ratio"],
                            level=seams["level_range_db"], seconds=out.seconds))
        print(f"extend {i + 1}/{args.extends}: {ex_rows[-1]} ({time.perf_counter() - started:.0f}s)", flush=True)
    if ex_rows:
        print(f"\n## extend a 10 s clip by {2 * PART:g} s (conditions repeated)")
        print("| clip | max abs diff, first 10 s | chords of the new 20 s | chords of the 10 s clip | seam ratio | "
              "level range (dB) | seconds |\n|---|---|---|---|---|---|---|")
        for i, r in enumerate(ex_rows):
            print(f"| {i + 1} | {r['same']:.1e} | {r['chords']:.3f} | {r['chords_10s']:.3f} | {r['ratio']:.2f} | "
                  f"{r['level']:.1f} | {r['seconds']:.1f} |")
        summary.update(extend_same_max=max(r["same"] for r in ex_rows),
                       extend_chords=float(np.mean([r["chords"] for r in ex_rows])),
                       extend_chords_10s=float(np.mean([r["chords_10s"] for r in ex_rows])),
                       extend_seam_ratio_max=max(r["ratio"] for r in ex_rows))
    summary.update(threads=torch.get_num_threads())
    print(" ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in summary.items()))


if __name__ == "__main__":
    main()
