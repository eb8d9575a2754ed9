"""End-to-end speed of the embedded model on this machine.

    python bench/bench_embedded.py [--threads 2] [--repeats 3] [--model embedded]

Prints, for a 10 s clip at the bundle's default settings (text + chords + melody + drums): seconds
for conditions (parsing, text encoder, drum features), sampling (with NFE), decoding and total
(median of `--repeats` warm runs), the cold start of `load_pipeline` in a fresh process (imports
included), and the peak RSS. Last line: machine-readable `key=value` pairs.
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
    args = parser.parse_args()

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


if __name__ == "__main__":
    main()
