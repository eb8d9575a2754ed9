"""End-to-end speed of the embedded model on this machine.

    python bench/bench_embedded.py [--threads 2] [--repeats 3] [--model embedded] [--duration 10]

Prints, for a 10 s clip at the bundle's default settings (text + chords + melody + drums): seconds
for conditions (parsing, text encoder, drum features), sampling (with NFE), decoding and total
(median of `--repeats` warm runs), the cold start of `load_pipeline` in a fresh process (imports
included), and the peak RSS. Last line: machine-readable `key=value` pairs.

`--duration D` (> 10; default 10: the above only): long-form cost. The same conditions repeated
over D s (the chord progression every 10 s, the MIDI melody repeated, the 10 s drum loop looped by
the pipeline); 10 s and D s clips are timed alternately in the same run (median of `--repeats`
warm runs each) and the ratio printed (of the medians; also of the fastest runs and of the process
CPU time), with the peak RSS after them. Runs during which other processes kept this one waiting
for a CPU (Linux PSI stall above `--max-stall`, default 10% of the run) are retried, up to
`--max-tries` rounds; the table reports the stall and warns when the machine stayed busy. Then, unless `--no-max`, one
clip of the pipeline's longest duration (300 s) is timed once, with the peak RSS after it.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import typing as tp

HERE = os.path.dirname(os.path.abspath(__file__))

PROMPT = "mellow jazz piano with brushed drums"
CHORDS = "C:0 Am:2.5 F:5 G:7.5"


def cold_start(model: str, threads: int) -> float:
    code = ("import time, torch; t=time.perf_counter(); torch.set_num_threads(%d); import jasco_core as j; "
            "p=j.load_pipeline(%r, device='cpu'); p.bundle.text_encoder.encode(['warm']); "
            "print(time.perf_counter()-t)" % (threads, model))
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], cwd=os.path.dirname(HERE), capture_output=True, text=True, check=True,
                         env={**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"})
    wall = time.perf_counter() - start
    return wall, float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--model", default="embedded")
    parser.add_argument("--duration", type=float, default=10.0, help="also time clips of this many seconds")
    parser.add_argument("--no-max", action="store_true", help="with --duration: skip the 300 s clip")
    parser.add_argument("--max-stall", type=float, default=0.1,
                        help="with --duration: retry runs during which tasks waited for a CPU more than this share")
    parser.add_argument("--max-tries", type=int, default=None, help="with --duration: rounds of runs at most "
                        "(default 4 x --repeats)")
    args = parser.parse_args()
    if args.max_tries is None:
        args.max_tries = 4 * args.repeats

    import torch

    import jasco_core as j
    from jasco_core.training.render import piece_to_midi, render_piece

    torch.set_num_threads(args.threads)
    cold_wall, cold_inproc = cold_start(args.model, args.threads)
    pipe = j.load_pipeline(args.model, device="cpu")
    # conditions a musician would give: chords (text), a melody (MIDI file), a drum loop (audio)
    piece = render_piece(424242, duration=10.0, sample_rate=pipe.sample_rate)
    tmp = os.path.join(HERE, ".bench_tmp")
    os.makedirs(tmp, exist_ok=True)
    midi_path = os.path.join(tmp, "melody.mid")
    piece_to_midi(piece.spec, parts=("lead",)).write(midi_path)
    drums = (piece.drums, piece.sample_rate)
    if args.duration != 10.0:
        return long_form(args, pipe, piece, drums, cold_wall, cold_inproc)
    runs = []
    for i in range(args.repeats + 1):
        start = time.perf_counter()
        r = pipe.generate(PROMPT, chords=CHORDS, melody=midi_path, drums=drums, seed=i)
        total = time.perf_counter() - start
        if i:  # the first run warms caches
            runs.append({**r.timings, "total": total, "nfe": r.nfe})
    med = {k: statistics.median(run[k] for run in runs) for k in runs[0]}
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    d = pipe.bundle.defaults
    print(f"# device=cpu threads={torch.get_num_threads()} model={args.model} clip=10s "
          f"solver={d.solver.method}/{d.solver.steps} guidance={json.dumps(d.guidance.to_dict())}")
    print("| stage | seconds (median of %d) |\n|---|---|" % args.repeats)
    for k in ("conditions", "sampling", "decoding", "total"):
        print(f"| {k} | {med[k]:.3f} |")
    print(f"| NFE | {int(med['nfe'])} |")
    print(f"| cold start (fresh process: imports + load_pipeline + text encoder) | {cold_wall:.2f} (in-process {cold_inproc:.2f}) |")
    print(f"| peak RSS | {rss_mb:.0f} MB |")
    print(f"conditions_s={med['conditions']:.3f} sampling_s={med['sampling']:.3f} decoding_s={med['decoding']:.3f} "
          f"total_s={med['total']:.3f} nfe={int(med['nfe'])} cold_start_s={cold_wall:.2f} peak_rss_mb={rss_mb:.0f}")


def repeated(seconds: float) -> str:
    """CHORDS repeated every 10 s over `seconds`."""
    items = [(label, float(t)) for label, t in (c.split(":") for c in CHORDS.split())]
    return " ".join(f"{label}:{t + 10 * k:g}" for k in range(int(-(-seconds // 10))) for label, t in items
                    if t + 10 * k < seconds)


def long_midi(piece, seconds: float, path: str) -> str:
    """The piece's lead line repeated every 10 s over `seconds`, written to `path`."""
    from jasco_core.training.render import piece_to_midi

    pm = piece_to_midi(piece.spec, parts=("lead",))
    for inst in pm.instruments:
        notes = list(inst.notes)
        inst.notes = [type(n)(n.velocity, n.pitch, n.start + 10 * k, n.end + 10 * k)
                      for k in range(int(-(-seconds // 10))) for n in notes if n.start + 10 * k < seconds]
    pm.write(path)
    return path


def cpu_stall_us() -> tp.Optional[int]:
    """Microseconds some task on this machine has waited for a CPU (Linux PSI), or None."""
    try:
        with open("/proc/pressure/cpu") as f:
            return int(f.readline().split("total=")[1])
    except (OSError, IndexError, ValueError):
        return None


def long_form(args, pipe, piece, drums, cold_wall: float, cold_inproc: float) -> None:
    """10 s and `args.duration` s clips timed alternately; then one clip of `pipe.max_duration` s.

    On a shared machine other processes slow some runs down; each run's CPU stall (Linux PSI: the
    time some task waited for a CPU, as a share of the run) is measured, and runs stalled more than
    `--max-stall` are set aside and retried (up to `--max-tries` rounds); when too few clean runs
    come, the least stalled are kept and the table says so."""
    import torch

    durations = (10.0, float(args.duration))
    tmp = os.path.join(HERE, ".bench_tmp")
    requests = {d: dict(chords=repeated(d), melody=long_midi(piece, d, os.path.join(tmp, f"melody_{d:g}.mid")),
                        drums=drums, duration=d) for d in durations + (pipe.max_duration,)}
    windows = {}

    def timed(d: float, seed: int) -> dict:
        stall, start, cpu = cpu_stall_us(), time.perf_counter(), time.process_time()
        r = pipe.generate(PROMPT, seed=seed, **requests[d])
        total, cpu = time.perf_counter() - start, time.process_time() - cpu
        after = cpu_stall_us()
        windows[d] = len(r.windows)
        return {**r.timings, "total": total, "cpu": cpu, "nfe": r.nfe, "windows": len(r.windows),
                "stall": 0.0 if stall is None or after is None else (after - stall) / 1e6 / total,
                "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "seconds": r.audio.shape[-1] / pipe.sample_rate}

    for d in durations:                     # warm-up runs: caches, allocator
        timed(d, 0)
    clean = {d: [] for d in durations}
    stalled = {d: [] for d in durations}
    tries = 0
    while any(len(clean[d]) < args.repeats for d in durations) and tries < args.max_tries:
        tries += 1
        for d in durations:
            if len(clean[d]) < args.repeats:
                run = timed(d, tries)
                (clean if run["stall"] <= args.max_stall else stalled)[d].append(run)
    runs = {d: clean[d] + sorted(stalled[d], key=lambda r: r["stall"])[:args.repeats - len(clean[d])]
            for d in durations}
    med = {d: {k: statistics.median(run[k] for run in runs[d]) for k in runs[d][0]} for d in durations}
    fastest = {d: min(run["total"] for run in runs[d]) for d in durations}
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    longest = None if args.no_max else timed(pipe.max_duration, 0)
    d = pipe.bundle.defaults
    short, long_ = durations
    print(f"# device=cpu threads={torch.get_num_threads()} model={args.model} clips={short:g}s,{long_:g}s "
          f"solver={d.solver.method}/{d.solver.steps} guidance={json.dumps(d.guidance.to_dict())} "
          f"window={pipe.window_seconds:g}s context={pipe.context_frames / pipe.frame_rate:g}s")
    print(f"| stage | {short:g} s clip | {long_:g} s clip | ratio |\n|---|---|---|---|")
    for k in ("conditions", "sampling", "decoding", "total"):
        print(f"| {k} (s, median of {args.repeats}) | {med[short][k]:.3f} | {med[long_][k]:.3f} | "
              f"{med[long_][k] / med[short][k]:.2f} |")
    print(f"| NFE | {int(med[short]['nfe'])} | {int(med[long_]['nfe'])} | |")
    print(f"| windows | {windows[short]} | {windows[long_]} | |")
    ratio = med[long_]["total"] / med[short]["total"]
    print(f"| total time ratio, medians (target <= 8 for 60 s) | | | {ratio:.2f} |")
    print(f"| fastest run (s) | {fastest[short]:.3f} | {fastest[long_]:.3f} | {fastest[long_] / fastest[short]:.2f} |")
    print(f"| process CPU time (s, median) | {med[short]['cpu']:.3f} | {med[long_]['cpu']:.3f} | "
          f"{med[long_]['cpu'] / med[short]['cpu']:.2f} |")
    print(f"| CPU stall of the runs kept (median; a task waited for a CPU) | {med[short]['stall']:.0%} | "
          f"{med[long_]['stall']:.0%} | |")
    kept = " ".join(f"{len(clean[x])}/{len(clean[x]) + len(stalled[x])}" for x in durations)
    print(f"| runs with stall <= {args.max_stall:.0%} / runs timed | {kept.split()[0]} | {kept.split()[1]} | |")
    print(f"| peak RSS after both | {rss_mb:.0f} MB | | |")
    print(f"| cold start (fresh process) | {cold_wall:.2f} (in-process {cold_inproc:.2f}) | | |")
    contended = any(len(clean[x]) < args.repeats for x in durations)
    if contended:
        print(f"| WARNING | too few runs stalled <= {args.max_stall:.0%}: the machine was busy, the times are inflated | | |")
    line = (f"short_total_s={med[short]['total']:.3f} long_total_s={med[long_]['total']:.3f} long_s={long_:g} "
            f"ratio={ratio:.2f} ratio_fastest={fastest[long_] / fastest[short]:.2f} "
            f"ratio_cpu={med[long_]['cpu'] / med[short]['cpu']:.2f} long_sampling_s={med[long_]['sampling']:.3f} "
            f"long_decoding_s={med[long_]['decoding']:.3f} peak_rss_mb={rss_mb:.0f} cold_start_s={cold_wall:.2f} "
            f"stall_short={med[short]['stall']:.2f} stall_long={med[long_]['stall']:.2f} contended={int(contended)}")
    if longest is not None:
        print(f"\n| {longest['seconds']:g} s clip (once) | seconds |\n|---|---|")
        for k in ("conditions", "sampling", "decoding", "total"):
            print(f"| {k} | {longest[k]:.2f} |")
        print(f"| windows / NFE | {longest['windows']} / {longest['nfe']} |")
        print(f"| CPU stall during it | {longest['stall']:.0%} |")
        print(f"| peak RSS after it | {longest['rss_mb']:.0f} MB |")
        line += (f" max_s={longest['seconds']:g} max_total_s={longest['total']:.2f} "
                 f"max_peak_rss_mb={longest['rss_mb']:.0f} max_stall={longest['stall']:.2f}")
    print(line + f" threads={torch.get_num_threads()}")

if __name__ == "__main__":
    main()
