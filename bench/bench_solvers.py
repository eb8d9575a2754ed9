"""The solver frontier: NFE, seconds, error and adherence of solvers and time grids on held-out pieces.

    python bench/bench_solvers.py [--pieces 20] [--first-seed 1000000] [--model embedded]
        [--solvers "Euler 4" euler:8 ... ] [--intervals 0.1,1 0,0.9] [--plot docs/solver_frontier.png]
        [--work runs/bench_solvers] [--guidance ALL TEXT]

For each held-out piece (render seeds from 1,000,000: never used in training (< 1,000,000) nor by
the solver fit (2,000,000 +)) the model generates from the piece's description, chords, melody
and drum stem, with its default guidance and one generation seed per piece, once with the
reference solver (dopri5, rtol = atol = 1e-5, cached in `--work`) and once per solver. Per solver:
mean NFE, mean sampling seconds (this machine, this run: compare the ratios), mean RMSE of the
final latents to the reference latents, and the adherence metrics of `bench/eval_adherence.py`
(chord accuracy, melody agreement, drum onset F1), plus the reference's own adherence.
`--intervals a,b ...`: the `"fast"` solver and the default solver again with full guidance only for
t in [a, b] (the conditioned term alone elsewhere), each interval its own row; the error is
measured against the same reference (full guidance).
`--guidance ALL TEXT`: every run (the reference too) at these weights instead of the model's
default (a model's `"fast"` is then the solver it was fitted nearest them).
The error-vs-NFE figure, with the lower envelope (the frontier), goes to `--plot`.
Last line: machine-readable `key=value` pairs of the "fast" row.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

DEFAULT_SOLVERS = ["Euler 4", "euler:8", "euler:16", "midpoint:4", "midpoint:8", "rk4:4", "euler:10/sway=-1",
                   "midpoint:5/sway=-0.8", "rk4:2/sway=-1", "fast", "dopri5:1e-3"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pieces", type=int, default=20)
    ap.add_argument("--first-seed", type=int, default=1_000_000)
    ap.add_argument("--model", default="embedded")
    ap.add_argument("--seed", type=int, default=0, help="generation seed of the first piece (+1 per piece)")
    ap.add_argument("--solvers", nargs="+", default=DEFAULT_SOLVERS)
    ap.add_argument("--intervals", nargs="*", default=["0.2,1", "0,0.8"])
    ap.add_argument("--no-adherence", action="store_true", help="skip decoding and the adherence metrics")
    ap.add_argument("--plot", default="docs/solver_frontier.png")
    ap.add_argument("--work", default="runs/bench_solvers", help="cache of the reference latents")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--guidance", nargs=2, type=float, metavar=("ALL", "TEXT"), default=None)
    args = ap.parse_args()

    import torch

    import jasco_core as j
    from eval_adherence import scores
    from jasco_core.guidance import Guidance
    from jasco_core.solvers import SolverConfig
    from jasco_core.training.render import render_piece

    torch.set_num_threads(args.threads)
    pipe = j.load_pipeline(args.model, device="cpu")
    presets, default = pipe.bundle.presets, pipe.defaults
    guidance = default.guidance if args.guidance is None else Guidance(all=args.guidance[0], text=args.guidance[1])
    runs = [(spec, SolverConfig.parse(spec, presets=presets), guidance) for spec in args.solvers]
    for text in args.intervals:
        a, b = (float(x) for x in text.split(","))
        for name, cfg in (("fast", presets["fast"]), (default.solver.label, default.solver)):
            runs.append((f"{name} + interval [{a:g}, {b:g}]", cfg, dataclasses.replace(guidance, interval=(a, b))))
    os.makedirs(args.work, exist_ok=True)
    rows = {label: {"nfe": [], "seconds": [], "rmse": [], "chords": [], "melody": [], "drums": []}
            for label, _, _ in [("reference", None, None), *runs]}
    started = time.perf_counter()
    for i in range(args.pieces):
        seed = args.first_seed + i
        piece = render_piece(seed, duration=pipe.defaults.duration, sample_rate=pipe.sample_rate)
        cond = dict(piece.conditions(), seed=args.seed + i)
        tag = "" if args.guidance is None else "_g" + "_".join(f"{w:g}" for w in guidance.weights().values())
        cache = os.path.join(args.work, f"{pipe.name}_{seed}_{args.seed + i}{tag}.pt")
        if os.path.exists(cache):
            ref = torch.load(cache)
        else:
            res = pipe.generate(piece.description, solver="reference", guidance=guidance, **cond)
            ref = {"latents": res.latents, "nfe": res.nfe, "seconds": res.timings["sampling"],
                   "scores": {} if args.no_adherence else scores(res.audio[0], pipe.sample_rate, piece)}
            torch.save(ref, cache)
        _add(rows["reference"], ref["nfe"], ref["seconds"], 0.0, ref["scores"])
        for label, cfg, guidance in runs:
            res = pipe.generate(piece.description, solver=cfg, guidance=guidance, **cond)
            err = float(torch.sqrt(torch.mean((res.latents - ref["latents"]) ** 2)))
            _add(rows[label], res.nfe, res.timings["sampling"], err,
                 {} if args.no_adherence else scores(res.audio[0], pipe.sample_rate, piece))
        print(f"piece {i + 1}/{args.pieces} (seed {seed}) done, {time.perf_counter() - started:.0f} s", flush=True)

    fast = pipe.bundle.solver_for(presets["fast"], guidance)
    print(f"\n# model={pipe.name} pieces={args.pieces} seeds={args.first_seed}..{args.first_seed + args.pieces - 1} "
          f"guidance={guidance.weights()} reference=dopri5 1e-5 threads={args.threads}")
    print(f"# fast = {fast.label}" + (f" (times {', '.join(f'{t:.3f}' for t in fast.schedule)})"
                                      if isinstance(fast.schedule, tuple) else ""))
    print("| solver | NFE | seconds | RMSE to reference | chords | melody | drums |\n|---|---|---|---|---|---|---|")
    for label, r in rows.items():
        m = {k: (float(np.mean(v)) if v else float("nan")) for k, v in r.items()}
        print(f"| {label} | {m['nfe']:.1f} | {m['seconds']:.2f} | {m['rmse']:.4f} | {m['chords']:.3f} | "
              f"{m['melody']:.3f} | {m['drums']:.3f} |")
    if args.plot:
        write_plot(rows, args.plot, f"{pipe.name}, {args.pieces} held-out conditioned pieces")
        print(f"\nwrote {args.plot}")
    f, e4 = rows["fast"], rows.get("Euler 4")
    summary = {"fast_nfe": np.mean(f["nfe"]), "fast_rmse": np.mean(f["rmse"]), "fast_chords": np.mean(f["chords"])}
    if e4 and e4["chords"]:
        summary["fast_chords_over_euler4"] = np.mean(f["chords"]) / np.mean(e4["chords"])
    print(" ".join(f"{k}={v:.4f}" for k, v in summary.items()))


def _add(row, nfe, seconds, err, scores) -> None:
    row["nfe"].append(nfe)
    row["seconds"].append(seconds)
    row["rmse"].append(err)
    for k, v in scores.items():
        row[k].append(v)


def write_plot(rows: dict, path: str, title: str) -> None:
    """Mean RMSE against mean NFE, one point per solver, the frontier (lower envelope) drawn."""
    from matplotlib.figure import Figure

    points = [(float(np.mean(r["nfe"])), float(np.mean(r["rmse"])), label) for label, r in rows.items()
              if label != "reference" and "interval" not in label]
    fig = Figure(figsize=(7.5, 4.8), dpi=120)
    ax = fig.add_subplot()
    for k, (nfe, err, label) in enumerate(points):
        special = label == "fast"
        ax.plot(nfe, err, "o", color="C3" if special else "C0", markersize=8 if special else 5)
        # labels go right of their point; left when another point sits close to the right of it, and
        # lower when an earlier point has (about) the same place
        crowded_right = any(1.0 < n / nfe < 2.0 and abs(np.log(e / err)) < 0.15 for n, e, _ in points)
        below = sum(n == nfe and abs(np.log(e / err)) < 0.15 for n, e, _ in points[:k])
        ax.annotate(label, (nfe, err), fontsize=7, xytext=(-4 if crowded_right else 4, 3 - 10 * below),
                    textcoords="offset points", ha="right" if crowded_right else "left")
    frontier, best = [], float("inf")
    for nfe, err, _ in sorted(points):
        if err < best:
            frontier.append((nfe, err))
            best = err
    ax.plot(*zip(*frontier), "-", color="C2", alpha=0.6, label="frontier (fewest NFE for an error)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("NFE (guided field evaluations)")
    ax.set_ylabel("mean RMSE of final latents vs dopri5 1e-5")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)


if __name__ == "__main__":
    main()
